"""Encode any supported network on a box: bounds first, then the per-neuron encoding."""
from __future__ import annotations

from typing import Collection, Mapping

import numpy as np

from ..bounds import relu_preactivation_bounds, snn_time_bounds
from ..network import ReLUNet, SNN
from .program import Program
from .relu import encode_relu
from .snn import encode_snn
from .varmap import VarMap


def input_vars(p: Program, box: np.ndarray, name: str = "x") -> list[int]:
    """One data-space variable per input, bounded by the box."""
    return [p.var(f"{name}{i}", float(lo), float(hi)) for i, (lo, hi) in enumerate(np.asarray(box, dtype=float))]


def encode_network(p: Program, net: SNN | ReLUNet, box: np.ndarray, inputs: list[int] | None = None,
                   relu_method: str = "symbolic", name: str = "n", deadline: float | None = None,
                   first_crossing: Mapping[int, Collection[int] | None] | None = None) -> VarMap:
    """Bounds over ``box`` (data space), then the encoding of ``net`` into ``p``. ``inputs``
    reuses existing input variables (several networks on the same input). ``deadline``: see
    :mod:`srmverify.deadline` (raises ``DeadlineExpired``). ``first_crossing``: SNN
    neuron -> synapses whose first-crossing rows are written (``None`` = all; see
    :func:`~srmverify.encode.snn.encode_snn`)."""
    box = np.asarray(box, dtype=float)
    if inputs is None:
        inputs = input_vars(p, box)
    if isinstance(net, ReLUNet):
        return encode_relu(p, net, inputs, relu_preactivation_bounds(net, box, relu_method, deadline), name, deadline)
    return encode_snn(p, net, inputs, snn_time_bounds(net, box, deadline=deadline), name, deadline,
                      first_crossing)
