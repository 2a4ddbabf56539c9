"""Sound bounds on spike times (SNN) and pre-activations (ReLU) over an input box.

Entry points (extended by the verification engine with tighter methods):

* :func:`relu_preactivation_bounds` -> list of ``(lo, hi)`` arrays, one per layer.
"""
from .relu import relu_preactivation_bounds

__all__ = ["relu_preactivation_bounds"]
