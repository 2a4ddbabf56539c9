"""Size and magnitude limits, checked before anything is allocated.

A file can *declare* a size it does not contain (``"inputs": 10000000000`` in a 100-byte DAG file, a
``declare-const X_999999999 Real`` in VNN-LIB); building the network would take minutes and
gigabytes or never end. Every such declared size is compared with these limits first and refused
with an :class:`~srmverify.errors.InputError` (exit 3). Magnitudes are limited so that float64
bound propagation cannot overflow to ``inf`` on a user's box or radius.

Examples
--------
>>> check_count(784, "net.json", "inputs", "MAX_INPUTS")
784
>>> check_count(10**12, "net.json", "inputs", "MAX_INPUTS")
Traceback (most recent call last):
...
srmverify.errors.InputError: net.json: inputs = 1000000000000: more than the limit of 1048576 (srmverify.limits.MAX_INPUTS)
"""
from __future__ import annotations

from .errors import InputError

#: Inputs of one network (VNN-COMP's largest, 3x224x224 images, have 150528).
MAX_INPUTS = 1 << 20
#: Variables X_i / Y_j of one VNN-LIB property.
MAX_VNNLIB_VARIABLES = MAX_INPUTS
#: Nesting depth of VNN-LIB s-expressions (real files need < 20; JSON: what its parser manages).
MAX_NESTING = 200
#: Largest |coordinate| of a box or ball (and largest radius) a query accepts.
MAX_MAGNITUDE = 1e12
#: Points a sampling option (``regions --samples``) may ask for.
MAX_SAMPLES = 10**8


def check_count(n: int, source: str, field: str, limit: str) -> int:
    """Refuse a declared size ``n`` above the limit named ``limit`` (a constant of this module)."""
    bound = globals()[limit]
    if n > bound:
        raise InputError(source, field, n, f"more than the limit of {bound} (srmverify.limits.{limit})")
    return n


def check_magnitude(value: float, source: str, field: str) -> float:
    """Refuse a coordinate or radius with ``|value| > MAX_MAGNITUDE``."""
    if abs(value) > MAX_MAGNITUDE:
        raise InputError(source, field, value, f"|value| exceeds {MAX_MAGNITUDE:g} (srmverify.limits.MAX_MAGNITUDE); "
                                               "rescale the inputs")
    return value
