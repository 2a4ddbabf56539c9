"""The typed map from a network to the program variables that encode it (cvxpy's ``invert``
data): answers are decoded through it, and the regions code enumerates causal patterns with it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: A binary variable index, or a constant truth value decided by the bounds.
Indicator = int | bool


@dataclass
class VarMap:
    """Where a network lives in a :class:`~srmverify.encode.program.Program`.

    Attributes
    ----------
    inputs : data-space input variables (before the encoder), one per network input.
    outputs : decoded output variables (data space); for an output that never fires on the box,
        ``None``.
    output_fire : per output, the fire indicator (``True`` = surely fires, ``False`` = never).
    times : SNN: global neuron id -> raw spike-time variable (computing neurons that may fire).
    fire : SNN: global neuron id -> fire indicator.
    causal : SNN: ``causal[v][k]`` for synapse index ``k`` into ``v`` -> indicator of
        "arrival ``k`` < ``t_v``" (only synapses with nonzero weight from neurons that may fire).
    active : ReLU: per hidden layer, per unit, the indicator of ``z >= 0`` (constants when stable).
    relaxed : SNN: neurons encoded without their first-crossing constraints (see
        :mod:`srmverify.encode.snn`); empty for an exact encoding.
    """

    inputs: list[int]
    outputs: list[int | None] = field(default_factory=list)
    output_fire: list[Indicator] = field(default_factory=list)
    times: dict[int, int] = field(default_factory=dict)
    fire: dict[int, Indicator] = field(default_factory=dict)
    causal: dict[int, dict[int, Indicator]] = field(default_factory=dict)
    active: list[list[Indicator]] = field(default_factory=list)
    relaxed: set[int] = field(default_factory=set)

    def binaries(self) -> list[int]:
        """Every decision variable of the encoding (fire, causal and activation binaries)."""
        out = [v for v in self.fire.values() if not isinstance(v, bool)]
        out += [z for d in self.causal.values() for z in d.values() if not isinstance(z, bool)]
        out += [a for layer in self.active for a in layer if not isinstance(a, bool)]
        return out

    def input_point(self, values: np.ndarray) -> np.ndarray:
        """The input vector (data space) of a solver point."""
        return np.asarray(values, dtype=float)[self.inputs]
