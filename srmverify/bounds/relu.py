"""Bounds on the pre-activations of a ReLU network over an input box."""
from __future__ import annotations

import numpy as np

from ..network import ReLUNet


def interval_bounds(net: ReLUNet, box: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Interval arithmetic: sound but loose bounds of every layer's pre-activation ``z^l``.

    >>> net = ReLUNet([([[1.0, -1.0]], [0.0]), ([[1.0]], [0.0])])
    >>> [(lo.tolist(), hi.tolist()) for lo, hi in interval_bounds(net, np.array([[0, 1], [0, 1]]))]
    [([-1.0], [1.0]), ([0.0], [1.0])]
    """
    box = np.asarray(box, dtype=float)
    lo, hi = box[:, 0], box[:, 1]
    out = []
    for l, (W, b) in enumerate(net.layers):
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        zl, zu = Wp @ lo + Wn @ hi + b, Wp @ hi + Wn @ lo + b
        out.append((zl, zu))
        lo, hi = np.maximum(zl, 0), np.maximum(zu, 0)
    return out


def relu_preactivation_bounds(net: ReLUNet, box: np.ndarray, method: str = "interval") -> list[tuple[np.ndarray, np.ndarray]]:
    """Sound bounds ``[(lo, hi) per layer]`` of the pre-activations over ``box`` (``(n, 2)``).

    ``method``: ``"interval"`` (available now; tighter methods are registered in ``METHODS``).
    """
    try:
        fn = METHODS[method]
    except KeyError:
        raise ValueError(f"unknown bounds method {method!r}; choose from {sorted(METHODS)}") from None
    return fn(net, box)


METHODS = {"interval": interval_bounds}
