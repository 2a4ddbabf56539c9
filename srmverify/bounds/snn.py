"""Sound bounds on every spike time of an SNN over an input box (data space).

* All weights > 0: every neuron fires and its time is nondecreasing in every input time
  (model.md §1.1), so simulating the two corners of the time box gives the EXACT range of every
  neuron (jointly over the box, not just layer by layer).
* Any signs: per neuron, with arrival intervals ``[L_k, U_k]`` the potential is squeezed
  between ``P-(t)`` (excitatory inputs as late as possible and only if they surely fire,
  inhibitory ones as early as possible) and ``P+(t)`` (the opposite), so
  ``first_crossing(P+) <= t_v <= first_crossing(P-)``. If ``P+`` never crosses, ``v`` never fires;
  if ``P-`` never crosses, ``v`` *may* not fire and a finite-time upper bound comes from the
  last segment (see :func:`_late_bound`).

Bounds are widened outward by a relative :attr:`~srmverify.settings.Settings.bound_margin` so float rounding cannot make them
unsound.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from ..errors import InputError
from ..network import SNN
from ..simulate import spike_times
from ..deadline import check
from ..settings import DEFAULT


@dataclass
class SpikeTimeBounds:
    """Per global neuron id: ``lo <= t <= hi`` whenever the neuron fires.

    ``may_not_fire[v]``: the neuron might never fire on some input of the box;
    ``never_fires[v]``: it fires on no input of the box (then ``lo = hi = inf``).
    ``exact``: the bounds are the exact range (positive weights, corner evaluation).
    """

    lo: np.ndarray
    hi: np.ndarray
    may_not_fire: np.ndarray
    never_fires: np.ndarray
    method: str
    exact: bool = False

    def outputs(self, net: SNN) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoded bounds ``(lo, hi, may_not_fire)`` of the network outputs (data space)."""
        o = net.outputs
        lo, hi = self.lo[o], self.hi[o]
        if net.decoder is not None:
            a, b = (lo - net.decoder.offset) / net.decoder.scale, (hi - net.decoder.offset) / net.decoder.scale
            lo, hi = np.minimum(a, b), np.maximum(a, b)
            lo, hi = _widen(lo, hi)
        return lo, hi, self.may_not_fire[o].copy()


def input_time_box(net: SNN, box: np.ndarray) -> np.ndarray:
    """Data box ``(n, 2)`` -> box of input spike times (the encoder may flip a coordinate)."""
    box = np.asarray(box, dtype=float)
    t = net.encode(box.T).T
    return np.sort(t, axis=1)


def _widen(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore"):
        lo = np.where(np.isfinite(lo), lo - DEFAULT.bound_margin * (1 + np.abs(lo)), lo)
        hi = np.where(np.isfinite(hi), hi + DEFAULT.bound_margin * (1 + np.abs(hi)), hi)
    return lo, hi


def first_crossing(a: np.ndarray, w: np.ndarray, theta: float) -> float:
    """First ``t`` with ``sum_k w_k max(0, t - a_k) >= theta`` (float; ``inf`` if never).

    >>> first_crossing(np.array([0.0, 1.0]), np.array([1.0, 3.0]), 1.0)
    1.0
    >>> first_crossing(np.array([0.0]), np.array([-1.0]), 1.0)
    inf
    """
    if len(a) == 0:
        return np.inf
    order = np.argsort(a, kind="stable")
    a, w = a[order], w[order]
    W, B = np.cumsum(w), np.cumsum(w * a)
    nxt = np.append(a[1:], np.inf)
    last = np.append(a[1:] != a[:-1], True)        # merge ties: only the last of equal arrivals
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (theta + B) / W
    ok = last & (W > 0) & (t >= a) & (t <= nxt)
    i = np.flatnonzero(ok)
    return float(max(t[i[0]], a[i[0]])) if len(i) else np.inf


def _potential(t: float, a: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * np.maximum(0.0, t - a)))


def _late_bound(theta: float, L: np.ndarray, U: np.ndarray, w: np.ndarray, sure: np.ndarray) -> float:
    """Upper bound of a *finite* firing time of a neuron that may not fire.

    Either it fires by the last possible arrival ``Umax``, or on the final segment with slope
    ``W_F`` (the weights of the sources that fire, F containing every sure one) at
    ``Umax + (theta - P(Umax)) / W_F``; ``P(Umax) >= P-(Umax)`` and ``W_F >= `` the smallest
    positive achievable slope (enumerated over the uncertain sources).
    """
    umax = float(U.max())
    maybe = w[~sure]
    if len(maybe) > DEFAULT.max_maybe_sources:
        return np.inf
    base = float(w[sure].sum())
    sums = [base + sum(c) for r in range(len(maybe) + 1) for c in combinations(maybe.tolist(), r)]
    pos = [s for s in sums if s > 0]
    if not pos:
        return umax
    lower_p = _potential(umax, np.where(w > 0, U, L)[sure | (w < 0)], w[sure | (w < 0)])
    return umax + max(0.0, theta - lower_p) / min(pos)


def _interval(net: SNN, tbox: np.ndarray, deadline: float | None = None) -> SpikeTimeBounds:
    n = net.n_total
    lo, hi = np.full(n, np.inf), np.full(n, np.inf)
    may_not, never = np.zeros(n, bool), np.zeros(n, bool)
    lo[: net.n_inputs], hi[: net.n_inputs] = tbox[:, 0], tbox[:, 1]
    lo[net.n_inputs: net.first_neuron] = hi[net.n_inputs: net.first_neuron] = net.constants
    for v in range(net.first_neuron, n):
        check(deadline)
        sl = net.incoming(v)
        src, w, d = net.src[sl], net.weight[sl], net.delay[sl]
        keep = (w != 0) & ~never[src]
        src, w, d = src[keep], w[keep], d[keep]
        L, U, sure = lo[src] + d, hi[src] + d, ~may_not[src]
        theta = net.threshold(v)
        # P+: excitatory early (even if unsure), inhibitory late and only if sure
        up = (w > 0) | sure
        t_lo = first_crossing(np.where(w > 0, L, U)[up], w[up], theta)
        # P-: excitatory late and only if sure, inhibitory early (even if unsure)
        dn = (w < 0) | sure
        t_hi = first_crossing(np.where(w > 0, U, L)[dn], w[dn], theta)
        if not np.isfinite(t_lo):
            never[v] = may_not[v] = True
            continue
        if not np.isfinite(t_hi):
            may_not[v] = True
            t_hi = max(t_lo, _late_bound(theta, L, U, w, sure))
        lo[v], hi[v] = t_lo, t_hi
    lo, hi = _widen(lo, hi)
    return SpikeTimeBounds(lo, hi, may_not, never, "interval")


def _corners(net: SNN, tbox: np.ndarray) -> SpikeTimeBounds:
    T = spike_times(net, tbox.T)
    lo, hi = _widen(T[0], T[1])
    z = np.zeros(net.n_total, bool)
    return SpikeTimeBounds(lo, hi, z, z.copy(), "corners", exact=True)


def snn_time_bounds(net: SNN, box: np.ndarray, method: str = "interval",
                    deadline: float | None = None) -> SpikeTimeBounds:
    """Sound bounds of every spike time over the DATA box ``box`` (``(n_inputs, 2)``).

    ``method``: ``"interval"`` (exact corner evaluation when all weights are positive, first-crossing
    bounds of the squeezing potentials otherwise). ``deadline``: see :mod:`.deadline` (raises
    :class:`~.deadline.DeadlineExpired`, checked per neuron).

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> b = snn_time_bounds(net, np.array([[0.0, 1.0], [0.0, 1.0]]))
    >>> round(float(b.lo[3]), 6), round(float(b.hi[3]), 6), bool(b.may_not_fire[3])
    (0.555556, 1.333333, False)
    """
    if method not in SNN_METHODS:
        raise InputError("bounds", "method", method, f"unknown spike-time bounds method; choose from {sorted(SNN_METHODS)}")
    tbox = input_time_box(net, box)
    if net.all_weights_positive:
        return _corners(net, tbox)
    return SNN_METHODS[method](net, tbox, deadline)


SNN_METHODS = {"interval": _interval}
