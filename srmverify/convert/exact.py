"""Exact quantities shared by the ReLU→SNN construction and its certificate (model.md §3–§4).

* :func:`exact_interval_bounds`: interval bounds of every pre-activation, computed exactly
  (dyadic rationals, no rounding) so a certificate can re-derive them bit for bit; optionally
  refined by exact **stability proofs** (:func:`prove_sign`: CROWN-style back-substitution to the
  input box, in exact arithmetic) for the units a tighter float method claims stable.
* :func:`affine_terms`: for a layer of neurons that fire after all their inputs arrived, the exact
  weight sums, the §3 threshold bound and the constant part of the firing time.
"""
from __future__ import annotations

from fractions import Fraction  # noqa: F401  (doctests)
from typing import Callable

import numpy as np

from ..network import ReLUNet
from .dyadic import Dyadic


def exact_interval_bounds(net: ReLUNet, box: np.ndarray,
                          candidates: Callable[[int, Dyadic, Dyadic], np.ndarray] | None = None,
                          ) -> tuple[list[tuple[Dyadic, Dyadic]], list[dict[int, str]]]:
    """Exact interval bounds ``[(lo, hi)]`` per layer of ``z^l`` over ``box`` (``(n, 2)``), refined by
    stability proofs: ``candidates(l, lo, hi)`` gives one sign per hidden unit of layer ``l``: ``+1``
    try to prove it active (``z >= 0``, then ``lo := 0``), ``-1`` dead (``z <= 0``, then ``hi := 0``),
    ``0`` skip. Units that intervals already prove stable are skipped.

    Returns ``(bounds, proofs)`` with ``proofs[l] = {unit: "active" | "dead"}``.

    >>> net = ReLUNet([([[1.0, -1.0]], [0.1]), ([[2.0]], [0.0])])
    >>> (lo, hi), = exact_interval_bounds(net, np.array([[0, 1], [0, 1]]))[0][1:]
    >>> lo.fractions(), hi.fractions() == [2 * (1 + Fraction(0.1))]   # exact: the float 0.1, not 1/10
    ([Fraction(0, 1)], True)
    >>> twin = ReLUNet([([[1.0], [1.0]], [0.0, 0.0]), ([[1.0, -1.0]], [0.125]), ([[1.0]], [0.0])])
    >>> b, proofs = exact_interval_bounds(twin, np.array([[0.0, 1.0]]), lambda l, lo, hi: np.ones(len(lo.n)))
    >>> proofs, b[1][0].fractions()      # z2 = relu(x) - relu(x) + 1/8: interval only gives [-7/8, 9/8]
    ([{}, {0: 'active'}, {}], [Fraction(0, 1)])
    """
    box = np.asarray(box, dtype=float)
    lo, hi = Dyadic.from_floats(box[:, 0]), Dyadic.from_floats(box[:, 1])
    out: list[tuple[Dyadic, Dyadic]] = []
    proofs: list[dict[int, str]] = []
    for l, (W, b) in enumerate(net.layers):
        Wd = Dyadic.from_floats(W)
        Wp = Wd.pos()
        Wn = Wd - Wp
        bd = Dyadic.from_floats(b)
        zl = Wp.dot(lo) + Wn.dot(hi) + bd
        zu = Wp.dot(hi) + Wn.dot(lo) + bd
        found: dict[int, str] = {}
        if candidates is not None and l < len(net.layers) - 1:
            zero = Dyadic.zeros(zl.shape)
            unstable = (zl.cmp(zero) < 0) & (zu.cmp(zero) > 0)
            hint = np.where(unstable, np.asarray(candidates(l, zl, zu), dtype=np.int64), 0)
            for sign, kind in ((1, "active"), (-1, "dead")):
                units = np.flatnonzero(hint == sign)
                if units.size:
                    ok = prove_sign(net, box, out + [(zl, zu)], l, units, float(sign))
                    found.update({int(u): kind for u in units[ok]})
            mask_a = np.array([found.get(u) == "active" for u in range(len(zl.n))], dtype=bool)
            mask_d = np.array([found.get(u) == "dead" for u in range(len(zl.n))], dtype=bool)
            zl, zu = zero.where(mask_a, zl), zero.where(mask_d, zu)
        out.append((zl, zu))
        proofs.append(found)
        lo, hi = zl.pos(), zu.pos()
    return out, proofs


def _upper_slopes(lo: Dyadic, hi: Dyadic, unstable: np.ndarray, bits: int = 16) -> Dyadic:
    """Dyadic slopes ``s >= u / (u - l)`` of the triangle upper relaxation (rounded up)."""
    num = [0] * len(lo.n)
    for k in np.flatnonzero(unstable).tolist():
        u, l = hi.fraction(k), lo.fraction(k)
        s = u / (u - l)
        num[k] = -((-s.numerator << bits) // s.denominator)     # ceil(s * 2**bits)
    return Dyadic(np.array(num, dtype=object), -bits)


def prove_sign(net: ReLUNet, box: np.ndarray, bounds: list[tuple[Dyadic, Dyadic]], layer: int,
               units: np.ndarray, sign: float) -> np.ndarray:
    """Exact proof that ``sign * z^layer_u >= 0`` on ``box`` for each unit (a bool per unit).

    Back-substitution to the input box with the ReLU relaxations of the layers below, taken from
    ``bounds`` (sound bounds of layers ``< layer``): ``relu(z) >= λ z`` (``λ = 1`` if ``u >= -l``,
    else 0) and ``relu(z) <= s (z - l)`` with a dyadic ``s >= u/(u - l)``; stable units are exact.
    Every coefficient is dyadic, so the lower bound is computed exactly.
    """
    W, b = net.layers[layer]
    A = Dyadic.from_floats(sign * W[units])
    const = Dyadic.from_floats(sign * b[units])
    for j in range(layer - 1, -1, -1):
        lo, hi = bounds[j]
        zero = Dyadic.zeros(lo.shape)
        active, dead = lo.cmp(zero) >= 0, hi.cmp(zero) <= 0
        unstable = ~active & ~dead
        lam = Dyadic.from_ints(np.where(active | (unstable & ((hi + lo).cmp(zero) >= 0)), 1, 0).astype(object))
        s_up = _upper_slopes(lo, hi, unstable).where(unstable, Dyadic.from_ints(np.where(active, 1, 0).astype(object)))
        t_up = -(s_up * lo).where(unstable, zero)
        Ap = A.pos()
        An = A - Ap
        S = Ap * Dyadic(lam.n[None, :], lam.exp) + An * Dyadic(s_up.n[None, :], s_up.exp)
        const = const + An.dot(t_up)
        Wj, bj = net.layers[j]
        const = const + S.dot(Dyadic.from_floats(bj))
        A = S.dot(Dyadic.from_floats(Wj))
    box = np.asarray(box, dtype=float)
    Ap = A.pos()
    low = const + Ap.dot(Dyadic.from_floats(box[:, 0])) + (A - Ap).dot(Dyadic.from_floats(box[:, 1]))
    return low.cmp(Dyadic.zeros(low.shape)) >= 0


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
