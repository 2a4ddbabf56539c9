"""Exact quantities shared by the ReLU→SNN construction and its certificate (model.md §3–§4).

* :func:`exact_interval_bounds`: interval bounds of every pre-activation, computed exactly
  (dyadic rationals, no rounding) so a certificate can re-derive them bit for bit.
* :func:`affine_terms`: for a layer of neurons that fire after all their inputs arrived, the exact
  weight sums, the §3 threshold bound and the constant part of the firing time.
"""
from __future__ import annotations

from fractions import Fraction  # noqa: F401  (doctests)

import numpy as np

from ..network import ReLUNet
from .dyadic import Dyadic


def exact_interval_bounds(net: ReLUNet, box: np.ndarray) -> list[tuple[Dyadic, Dyadic]]:
    """Exact interval arithmetic: ``[(lo, hi)]`` per layer of ``z^l`` over ``box`` (``(n, 2)``).

    >>> net = ReLUNet([([[1.0, -1.0]], [0.1]), ([[2.0]], [0.0])])
    >>> lo, hi = exact_interval_bounds(net, np.array([[0, 1], [0, 1]]))[1]
    >>> lo.fractions(), hi.fractions() == [2 * (1 + Fraction(0.1))]   # exact: the float 0.1, not 1/10
    ([Fraction(0, 1)], True)
    """
    box = np.asarray(box, dtype=float)
    lo, hi = Dyadic.from_floats(box[:, 0]), Dyadic.from_floats(box[:, 1])
    out = []
    for W, b in net.layers:
        Wd = Dyadic.from_floats(W)
        Wp = Wd.pos()
        Wn = Wd - Wp
        bd = Dyadic.from_floats(b)
        zl = Wp.dot(lo) + Wn.dot(hi) + bd
        zu = Wp.dot(hi) + Wn.dot(lo) + bd
        out.append((zl, zu))
        lo, hi = zl.pos(), zu.pos()
    return out


def affine_terms(W: np.ndarray, D: np.ndarray, present: np.ndarray, L: Dyadic, U: Dyadic,
                 C: Dyadic) -> tuple[Dyadic, Dyadic, Dyadic]:
    """Exact terms of neurons meant to fire after every input arrived (model.md §3).

    Row ``i`` of ``W``/``D`` holds the weights/delays of neuron ``i`` from sources ``k`` whose spike
    times lie in ``[L_k, U_k]`` and equal ``C_k`` plus a part that depends on the input.

    Returns ``(wsum, rhs, csum)`` per neuron: ``wsum = Σ_k w_k``; ``rhs = Σ_{w_k>0} w_k (M − L_k − d_k)``
    with ``M`` the latest possible arrival (a threshold ``θ > rhs`` guarantees the neuron fires after
    every input arrived); ``csum = Σ_k w_k (C_k + d_k)``, so that with ``wsum = 1`` the firing time
    is ``θ + csum + Σ_k w_k (t_k − C_k)``.

    >>> W = np.array([[2.0, -1.5, 0.5]]); D = np.zeros_like(W); P = W != 0
    >>> L, U = Dyadic.from_floats([1.0, 2.0, 0.0]), Dyadic.from_floats([3.0, 5.0, 0.0])
    >>> [t.fractions() for t in affine_terms(W, D, P, L, U, Dyadic.from_floats([2.0, 3.0, 0.0]))]
    [[Fraction(1, 1)], [Fraction(21, 2)], [Fraction(-1, 2)]]
    """
    Wd, Dd = Dyadic.from_floats(W), Dyadic.from_floats(D)
    wsum = Wd.sum(axis=1)
    late = Dyadic(U.n[None, :], U.exp) + Dd
    M = late.max(axis=1, mask=present)
    Wp = Wd.pos()
    WpD = (Wp * Dd).sum(axis=1)
    rhs = M * Wp.sum(axis=1) - Wp.dot(L) - WpD
    csum = Wd.dot(C) + (Wd * Dd).sum(axis=1)
    return wsum, rhs, csum


def sum_bounds(W: np.ndarray, D: np.ndarray, L: Dyadic, U: Dyadic) -> tuple[Dyadic, Dyadic]:
    """Exact interval of ``Σ_k w_k (a_k + d_k)`` per row for arrivals ``a_k ∈ [L_k, U_k]``.

    >>> lo, hi = sum_bounds(np.array([[1.0, -2.0]]), np.zeros((1, 2)), Dyadic.from_floats([0.0, 1.0]),
    ...                     Dyadic.from_floats([1.0, 3.0]))
    >>> lo.fractions(), hi.fractions()
    ([Fraction(-6, 1)], [Fraction(-1, 1)])
    """
    Wd, Dd = Dyadic.from_floats(W), Dyadic.from_floats(D)
    Wp = Wd.pos()
    Wn = Wd - Wp
    WD = (Wd * Dd).sum(axis=1)
    return Wp.dot(L) + Wn.dot(U) + WD, Wp.dot(U) + Wn.dot(L) + WD
