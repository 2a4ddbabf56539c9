"""Conversion between ReLU networks and SNNs, with exact compositional equivalence certificates
(model.md §4)."""
from .certificate import Certificate, certify, check_certificate, load_certificate, save_certificate
from .run import Conversion, convert_network
from .relu_to_snn import ConversionReport, Correspondence, convert_relu_to_snn
from .snn_to_relu import Discontinuous, SNNToReLUReport, Witness, convert_snn_to_relu, find_discontinuity

__all__ = ["convert_relu_to_snn", "ConversionReport", "Correspondence", "certify", "check_certificate",
           "Certificate", "convert_snn_to_relu", "SNNToReLUReport", "Discontinuous", "Witness", "find_discontinuity",
           "load_certificate", "save_certificate", "convert_network", "Conversion"]
