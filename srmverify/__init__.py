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

#: The verification API, imported on first use (it loads the solvers: z3, PuLP, HiGHS).
_VERIFY_API = ("output_bounds", "robustness", "equivalence", "check_property", "check_vnnlib")
__all__ += list(_VERIFY_API) + ["Settings", "DEFAULT_SETTINGS"]

from .settings import DEFAULT as DEFAULT_SETTINGS, Settings  # noqa: E402


def __getattr__(name: str):
    if name in _VERIFY_API:
        from . import verify
        return getattr(verify, name)
    raise AttributeError(f"module 'srmverify' has no attribute {name!r}")
