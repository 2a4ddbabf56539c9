"""Sound bounds on spike times (SNN) and pre-activations (ReLU) over an input box.

Entry points:

* :func:`relu_preactivation_bounds` -> list of ``(lo, hi)`` arrays, one per layer
  (methods in ``METHODS``: ``interval``, ``symbolic``, ``lp``);
* :func:`snn_time_bounds` -> :class:`SpikeTimeBounds` (per-neuron lo/hi and may-not-fire flags).
"""
from .relu import METHODS, relu_preactivation_bounds, symbolic_bounds_batch
from .snn import SNN_METHODS, SpikeTimeBounds, snn_time_bounds

__all__ = ["relu_preactivation_bounds", "METHODS", "symbolic_bounds_batch", "snn_time_bounds", "SNN_METHODS",
           "SpikeTimeBounds"]
