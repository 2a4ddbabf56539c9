"""Falsification of a DNF of linear atoms on a ReLU network by projected gradient descent.

The network ``net`` has one output per atom, ``f_a(x) = c_a @ Y(x) - d_a``; atom ``a`` holds when
``f_a(x) <= 0`` and a conjunction ``k`` (a list of atom indices) when its *margin*
``g_k(x) = max_{a in k} f_a(x)`` is ``<= 0``. A ReLU network is piecewise affine, so on the
linear region of a point its gradient is exact (the product of the weights masked by the active
ReLUs): :func:`pgd` takes sign-gradient steps of the atom attaining each start's margin, projected
back onto the start's box, from many starts at once (numpy over the batch), with the step
shrinking geometrically. Points returned are float candidates: the caller re-checks each exactly.
"""
from __future__ import annotations

import numpy as np

from ..network import ReLUNet

#: Sign-gradient steps of one attack.
STEPS = 24


def margins(net: ReLUNet, X: np.ndarray, conjs: list[list[int]]) -> np.ndarray:
    """``g_k(x)`` for every point (rows of ``X``) and conjunction: ``(len(X), len(conjs))``.

    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0])])          # f_0 = x, f_1 = -x
    >>> margins(net, np.array([[2.0], [0.0]]), [[0, 1], [1]]).tolist()
    [[2.0, -2.0], [0.0, 0.0]]
    """
    F = net.evaluate(X)
    return np.stack([F[:, k].max(axis=1) for k in conjs], axis=1)


def gradient(net: ReLUNet, X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Gradient of output ``rows[i]`` at ``X[i]`` (exact on the linear region of ``X[i]``;
    at a kink, one of the one-sided gradients).

    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])   # |x|
    >>> gradient(net, np.array([[2.0], [-3.0]]), np.array([0, 0])).tolist()
    [[1.0], [-1.0]]
    """
    _, pre = net.evaluate(X, return_preactivations=True)
    g = net.layers[-1][0][rows]
    for l in range(len(net.layers) - 2, -1, -1):
        g = (g * (pre[l] > 0)) @ net.layers[l][0]
    return g


def pgd(net: ReLUNet, X: np.ndarray, lo: np.ndarray, hi: np.ndarray, conjs: list[list[int]],
        steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Minimise each start's smallest conjunction margin over its box ``[lo[i], hi[i]]``.

    Returns ``(points, margins)``: per start the best point seen and its margin (the smallest
    ``g_k`` over the conjunctions). A margin ``<= 0`` is a float counterexample candidate.

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [-0.5])])  # f = |x| - 0.5 <= 0 ?
    >>> P, g = pgd(net, np.array([[0.9]]), np.array([[-1.0]]), np.array([[1.0]]), [[0]])
    >>> bool(g[0] <= 0 and abs(P[0, 0]) <= 0.5)
    True
    """
    X = np.clip(np.asarray(X, dtype=float), lo, hi)
    G = margins(net, X, conjs)
    k = np.argmin(G, axis=1)                       # each start attacks its most promising conjunction
    member = np.zeros((len(conjs), net.n_outputs), bool)
    for i, c in enumerate(conjs):
        member[i, c] = True
    best_x, best_g = X.copy(), G[np.arange(len(X)), k]
    step = 0.25 * (hi - lo)
    for it in range(steps):
        rows = np.argmax(np.where(member[k], net.evaluate(X), -np.inf), axis=1)
        X = np.clip(X - step * np.sign(gradient(net, X, rows)), lo, hi)
        g = margins(net, X, conjs)[np.arange(len(X)), k]
        better = g < best_g
        best_x[better], best_g[better] = X[better], g[better]
        step = step * 0.75
    return best_x, best_g
