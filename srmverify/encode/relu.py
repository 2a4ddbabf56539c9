"""Standard big-M encoding of a ReLU network: one binary per unstable unit, none for stable ones."""
from __future__ import annotations

import numpy as np

from ..deadline import check
from ..network import ReLUNet
from .program import Lin, Program
from .varmap import VarMap


def encode_relu(p: Program, net: ReLUNet, inputs: list[int], pre: list[tuple[np.ndarray, np.ndarray]],
                name: str = "r", deadline: float | None = None) -> VarMap:
    """Add ``net`` to ``p`` on the input variables ``inputs`` using pre-activation bounds ``pre``
    (one ``(lo, hi)`` per layer, e.g. from :func:`srmverify.bounds.relu_preactivation_bounds`).

    Examples
    --------
    >>> p = Program(); x = [p.var("x", -1, 1)]
    >>> net = ReLUNet([([[1.0]], [0.0]), ([[2.0]], [-1.0])])
    >>> vm = encode_relu(p, net, x, [(np.array([-1.0]), np.array([1.0])), (np.array([-1.0]), np.array([1.0]))])
    >>> len(vm.outputs), len(vm.active[0]), p.n_binaries
    (1, 1, 1)
    """
    vm = VarMap(list(inputs))
    h = list(inputs)
    L = len(net.layers)
    for l, (W, b) in enumerate(net.layers):
        check(deadline)             # per layer (see srmverify.deadline)
        lo, hi = pre[l]
        z = [Lin({h[j]: float(W[i, j]) for j in np.flatnonzero(W[i])}, float(b[i])) for i in range(W.shape[0])]
        if l == L - 1:
            for i, e in enumerate(z):
                y = p.var(f"{name}.y{i}", lo[i], hi[i])
                p.add(Lin.var(y) - e, "==", 0.0, f"{name}.y{i}")
                vm.outputs.append(y)
                vm.output_fire.append(True)
            break
        h, act = [], []
        for i, e in enumerate(z):
            y, bvar = p.relu(e, float(lo[i]), float(hi[i]), f"{name}.h{l}_{i}")
            h.append(y)
            act.append(bool(lo[i] >= 0) if bvar is None else bvar)
        vm.active.append(act)
    return vm
