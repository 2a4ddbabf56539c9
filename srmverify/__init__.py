"""srmverify: formal verification, conversion and exact region counting for spiking neural
networks of the linear Spike Response Model (time-to-first-spike coding)."""
from .errors import InputError, SolverError, SrmverifyError, UnsupportedNetwork
from .formats import load_network, save_network
from .network import SNN, Affine, ReLUNet
from .results import Verdict
from .simulate import simulate, simulate_exact, spike_times

__version__ = "0.1.0"

__all__ = ["SNN", "ReLUNet", "Affine", "Verdict", "load_network", "save_network", "simulate", "simulate_exact",
           "spike_times", "SrmverifyError", "InputError", "SolverError", "UnsupportedNetwork"]

from .convert import certify, check_certificate, convert_relu_to_snn, convert_snn_to_relu  # noqa: E402

__all__ += ["convert_relu_to_snn", "convert_snn_to_relu", "certify", "check_certificate"]

from .regions import Domain, count_regions  # noqa: E402

__all__ += ["count_regions", "Domain"]
