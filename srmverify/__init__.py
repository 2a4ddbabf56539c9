"""srmverify: formal verification, conversion and exact region counting for spiking neural
networks of the linear Spike Response Model (time-to-first-spike coding).

Every public name is imported from its submodule on first use (:mod:`srmverify.lazy`), so that
``import srmverify`` and the CLI start fast: numpy loads with the networks, the solvers (z3,
HiGHS, PuLP) with the verification API, networkx with conversion and region counting.

>>> import srmverify
>>> srmverify.Verdict.SAT.value, "robustness" in srmverify.__all__
('sat', True)
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    ".network": ("SNN", "ReLUNet", "Affine"),
    ".results": ("Verdict",),
    ".formats": ("load_network", "save_network"),
    ".simulate": ("simulate", "simulate_exact", "spike_times"),
    ".errors": ("SrmverifyError", "InputError", "SolverError", "UnsupportedNetwork"),
    ".convert": ("convert_relu_to_snn", "convert_snn_to_relu", "certify", "check_certificate"),
    ".regions": ("count_regions", "Domain"),
    ".verify": ("output_bounds", "robustness", "equivalence", "check_property", "check_vnnlib"),
    ".settings": ("Settings", "DEFAULT_SETTINGS=DEFAULT"),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from .convert import certify, check_certificate, convert_relu_to_snn, convert_snn_to_relu
    from .errors import InputError, SolverError, SrmverifyError, UnsupportedNetwork
    from .formats import load_network, save_network
    from .network import SNN, Affine, ReLUNet
    from .regions import Domain, count_regions
    from .results import Verdict
    from .settings import DEFAULT as DEFAULT_SETTINGS, Settings
    from .simulate import simulate, simulate_exact, spike_times
    from .verify import check_property, check_vnnlib, equivalence, output_bounds, robustness
