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

#: Imported on first use (PEP 562), so that ``import srmverify`` and the CLI start fast: conversion
#: and region counting pull in the solvers (z3, HiGHS, PuLP) and networkx.
_LAZY = {"convert_relu_to_snn": "convert", "convert_snn_to_relu": "convert", "certify": "convert",
         "check_certificate": "convert", "count_regions": "regions", "Domain": "regions"}
__all__ += list(_LAZY)

#: The verification API, imported on first use (it loads the solvers: z3, PuLP, HiGHS).
_VERIFY_API = ("output_bounds", "robustness", "equivalence", "check_property", "check_vnnlib")
__all__ += list(_VERIFY_API) + ["Settings", "DEFAULT_SETTINGS"]

from .settings import DEFAULT as DEFAULT_SETTINGS, Settings  # noqa: E402


def __getattr__(name: str):
    if name in _VERIFY_API:
        from . import verify
        return getattr(verify, name)
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'srmverify' has no attribute {name!r}")
