"""Backend-neutral encodings: :class:`Program` (variables, rows, implications, objective), the
per-neuron SNN encoding (model.md §3), the big-M ReLU encoding, and :class:`VarMap`."""
from .network import encode_network
from .program import Lin, Program, float_arithmetic
from .relu import encode_relu
from .snn import encode_snn
from .varmap import VarMap

__all__ = ["Program", "Lin", "VarMap", "encode_snn", "encode_relu", "encode_network", "float_arithmetic"]
