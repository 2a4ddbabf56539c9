"""One entry point for the ``convert`` command: either direction, optionally certified."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..network import SNN, ReLUNet
from ..results import Progress, no_progress
from .certificate import Certificate, certify
from .relu_to_snn import ConversionReport, convert_relu_to_snn
from .snn_to_relu import SNNToReLUReport, convert_snn_to_relu


@dataclass
class Conversion:
    """A converted network, its report and (ReLU→SNN with ``certify``) its certificate."""

    network: SNN | ReLUNet
    direction: str
    report: ConversionReport | SNNToReLUReport
    certificate: Certificate | None = None

    def to_dict(self) -> dict[str, Any]:
        d = {"direction": self.direction, "report": self.report.to_dict()}
        if self.certificate is not None:
            d["certificate"] = self.certificate.summary()
        return d


def convert_network(net: SNN | ReLUNet, box: Any, *, to: str = "auto", bounds: str = "best",
                    certify_result: bool = False, max_pieces: int = 256, max_units: int = 200_000,
                    progress: Progress = no_progress) -> Conversion:
    """Convert ``net`` on ``box``: ReLU → SNN (``to="snn"``) or SNN → ReLU (``to="relu"``);
    ``"auto"`` picks the other kind. ``certify_result`` checks a ReLU → SNN conversion with the
    compositional certificate.

    >>> conv = convert_network(ReLUNet([([[1.0, -1.0]], [0.0]), ([[2.0]], [1.0])]), [[0, 1], [0, 1]],
    ...                        certify_result=True)
    >>> conv.direction, conv.certificate.verdict
    ('relu->snn', 'accepted')
    """
    if to == "auto":
        to = "snn" if isinstance(net, ReLUNet) else "relu"
    if to not in ("snn", "relu"):
        raise InputError("<arguments>", "to", to, 'must be "snn", "relu" or "auto"')
    if to == "snn":
        if not isinstance(net, ReLUNet):
            raise InputError(net.source, "network", "snn", "already a spiking network (use --to relu)")
        snn, rep = convert_relu_to_snn(net, box, bounds=bounds, progress=progress)
        cert = certify(snn, net, box, rep.correspondence, progress=progress) if certify_result else None
        return Conversion(snn, "relu->snn", rep, cert)
    if not isinstance(net, SNN):
        raise InputError(net.source, "network", "relu", "already a ReLU network (use --to snn)")
    if certify_result:
        raise InputError("<arguments>", "certify", True, "certificates exist for ReLU→SNN conversions only")
    relu, back = convert_snn_to_relu(net, box, max_pieces=max_pieces, max_units=max_units, progress=progress)
    return Conversion(relu, "snn->relu", back)
