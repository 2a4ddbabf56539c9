"""Simulation: vectorised float64 batches (:func:`simulate`) and the exact rational oracle."""
from .exact import ExactRun, decode_exact, encode_exact, relu_exact, run_exact, simulate_exact, to_fraction
from .fast import causal_synapses, simulate, spike_times

__all__ = ["simulate", "spike_times", "causal_synapses", "simulate_exact", "run_exact", "relu_exact",
           "encode_exact", "decode_exact", "to_fraction", "ExactRun"]
