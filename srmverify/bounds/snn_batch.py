"""Sound spike-time bounds of an SNN of any weight signs on a BATCH of input boxes (numpy,
level by level), with linear (symbolic) bounds of every spike time in the data inputs.

Per box ``b`` and neuron ``v`` (all bounds hold wherever ``v`` fires on the box):

* **interval** ``lo <= t_v <= hi`` from the squeezing potentials of :mod:`.snn` (excitatory
  arrivals early / inhibitory late gives ``P+``, the opposite ``P-``;
  ``first_crossing(P+) <= t_v <= first_crossing(P-)``). The crossings are found robustly
  (:func:`crossing`): the potential is evaluated at every breakpoint and the crossing sought
  on the first segment whose end reaches the threshold, with the threshold moved by a margin
  covering float rounding (down for ``P+``, up for ``P-``), so a near-tie can only loosen a
  bound, never make it unsound;
* **linear** ``l_v(x) <= t_v(x) <= u_v(x)`` from ``P(t_v) = theta`` (docs/model.md §3.4): each
  synapse term ``w_k max(0, t_v - a_k)`` is relaxed like a ReLU on the bounds of ``t_v - a_k``
  (exact where the bounds decide the synapse's causality, the chord above, the slope ``0`` or
  ``1`` of the box centre's causality below), which gives ``G t_v <= theta - c0 + sum g_k a_k``
  and ``H t_v >= theta - c1 + sum h_k a_k``; dividing by ``G > 0`` / ``H > 0`` gives linear
  bounds of ``t_v`` in its sources' times (a :class:`Relaxation`), which are back-substituted
  level by level down to ``x`` (:func:`_back_substitute`, DeepPoly/CROWN style: the coefficients
  of a neuron reached on several paths are summed before its own upper or lower relaxation
  replaces it, so opposite-sign paths cancel; substituting each source's linear bound in ``x``
  separately, as before, bounds them one by one). Where the box fixes the causal
  set ``S`` both are the exact affine map ``(theta + sum_S w_k a_k) / W_S``; for positive weights
  the upper one is the affine piece of the centre's causal set (model.md §1.1); where neither
  ``G`` nor ``H`` is positive the interval serves as constant bounds. Concretising a linear bound
  over the box tightens the interval, which tightens the relaxations: two passes per level.

* **potential scan** (:func:`_scan_times`): the interval bounds treat the sources' times as
  independent, but on a small box they move together (most are affine in ``x``). At fixed times
  ``tau`` the potential ``P(tau, x) = sum_k w_k max(0, tau - a_k(x))`` is bounded by a linear
  function of ``x`` (each term relaxed like a ReLU in the sources' linear bounds) and
  concretised over the box: ``t_v`` is at least the start of the first segment of a grid on
  ``[lo, hi]`` where the upper bound of ``P`` (excitatory terms at the segment's end,
  inhibitory at its start: the largest ``P`` on the segment) reaches ``theta``, and at most the
  first grid time where the lower bound of ``P`` does (two rounds, the second on the segment
  the first found). A mixed-sign neuron whose potential nearly touches the threshold early in
  the interval bound, but not at any input of the box, gets its real earliest time.

``undecided[b]``: the number of synapses whose causality the bounds leave open (0: the network
is one affine map on the box), what an exact encoding of the box needs binaries for.

**Neuron restrictions** (``restrict``, a :class:`Restriction` per box): the part of the box where
chosen neurons fire in given time intervals (a branch and bound on a neuron's spike time,
:mod:`srmverify.verify.bab_snn`). Each neuron's interval is intersected with its restriction
before its relaxations, potential scan and successors use it (every bound then holds on that part
of the box); a neuron restricted to fire surely fires there, and a box whose restriction
contradicts the bounds (a neuron that must fire in an interval its bounds exclude) holds no
input: ``empty``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numba as nb
import numpy as np

from ..network import SNN
from ..settings import DEFAULT
from .snn import SpikeTimeBounds, _late_bound


@dataclass
class BatchTimeBounds:
    """Bounds of every neuron (global ids) on each of ``B`` data boxes.

    ``lo``, ``hi`` (B, n_total): interval bounds of the firing time; ``may_not`` / ``never``
    (B, n_total): may not fire / fires nowhere on the box; ``lin_lo``, ``lin_hi``
    (B, n_total, n + 1): ``t_v(x) >= lin_lo[b, v, :n] @ x + lin_lo[b, v, n]`` (and ``<=`` for
    ``lin_hi``) for ``x`` in box ``b`` where ``v`` fires; ``undecided`` (B,): synapses whose
    causality is open; ``fixed`` (B, n_total): the neuron surely fires and its causal set is
    fixed on the box (its linear bounds are then its exact affine map, up to the sources');
    ``empty`` (B,): the box's restriction holds no input (module doc; every other field is then
    meaningless); ``free_lo`` (B, n_total): ``lo``, except where the neuron's own restriction
    raised it: there the lower bound of its first threshold crossing before that (an exact
    encoding given ``lo`` takes "no crossing before ``lo``" for granted: it needs ``free_lo`` and
    the row ``t >= lo``, :meth:`box`); ``free_hi`` (B, n_total): ``hi``, except where the
    restriction *silenced* the neuron (it may not fire on the box, and its interval misses the
    restriction's: on the box's part it does not fire, ``never``): there its upper bound before
    (an exact encoding must keep such a neuron, with its fire indicator 0, or inputs where it
    fires would get in; :meth:`box`).
    """

    lo: np.ndarray
    hi: np.ndarray
    may_not: np.ndarray
    never: np.ndarray
    lin_lo: np.ndarray
    lin_hi: np.ndarray
    undecided: np.ndarray
    fixed: np.ndarray
    empty: np.ndarray
    free_lo: np.ndarray
    free_hi: np.ndarray

    def box(self, b: int) -> tuple[SpikeTimeBounds, np.ndarray, np.ndarray]:
        """The bounds of box ``b`` as :class:`~.snn.SpikeTimeBounds` for an encoding (``free_lo``
        as the lower bounds; a silenced neuron with its bounds before the restriction, as one
        that may not fire), the neurons whose time the encoding must bound below by ``lo`` by a
        row of its own (their restriction raised ``lo``) and the silenced neurons, whose fire
        indicator the encoding must set to 0."""
        silent = self.never[b] & np.isfinite(self.free_lo[b])
        raised = np.flatnonzero((self.free_lo[b] < self.lo[b]) & ~silent)
        return SpikeTimeBounds(self.free_lo[b].copy(), np.where(silent, self.free_hi[b], self.hi[b]),
                               self.may_not[b] | silent, self.never[b] & ~silent, "batch"), raised, np.flatnonzero(silent)


class Restriction(NamedTuple):
    """The part of a box where each neuron ``v`` (global id) fires, if at all, in
    ``[t_min[v], t_max[v]]``, and surely fires where ``fires[v]`` (arrays (n_total,), or
    (B, n_total) for a batch); ``splits[v]``: how many splits on ``v`` made it. The whole box:
    :meth:`none`."""

    t_min: np.ndarray
    t_max: np.ndarray
    fires: np.ndarray
    splits: np.ndarray

    @staticmethod
    def none(n_total: int) -> "Restriction":
        """No restriction."""
        return Restriction(np.full(n_total, -np.inf), np.full(n_total, np.inf), np.zeros(n_total, bool),
                           np.zeros(n_total, int))

    def split(self, v: int, at: float) -> tuple["Restriction", "Restriction"]:
        """Two restrictions covering this one: ``v`` fires in ``[t_min, at]``, and ``v`` fires in
        ``[at, t_max]`` or (unless it must fire) not at all.

        >>> a, b = Restriction.none(2).split(1, 0.5)
        >>> a.t_max.tolist(), bool(a.fires[1]), b.t_min.tolist(), bool(b.fires[1]), b.splits.tolist()
        ([inf, 0.5], True, [-inf, 0.5], False, [0, 1])
        """
        splits = self.splits.copy()
        splits[v] += 1
        lo = Restriction(self.t_min, self.t_max.copy(), self.fires.copy(), splits)
        hi = Restriction(self.t_min.copy(), self.t_max, self.fires, splits)
        lo.t_max[v], lo.fires[v] = at, True
        hi.t_min[v] = at
        return lo, hi


def crossing(a: np.ndarray, w: np.ndarray, theta: np.ndarray, side: int) -> np.ndarray:
    """Sound bound of the first ``t`` with ``sum_k w_k max(0, t - a_k) >= theta`` for each row
    (``a``, ``w`` of shape ``(..., m)``, ``a = inf``: absent source; ``theta`` ``(...)``):
    ``side = -1`` a lower bound, ``+1`` an upper bound (``inf``: never crosses, certainly for
    ``side = -1``; for ``side = +1`` the crossing may be missed only where it is within the
    rounding margin of not happening).

    >>> a = np.array([[0.0, 1.0], [0.0, 0.0]]); w = np.array([[1.0, 3.0], [-1.0, 0.5]])
    >>> crossing(a, w, np.array([1.0, 1.0]), -1).round(6).tolist()
    [1.0, inf]
    """
    order = np.argsort(a, axis=-1, kind="stable")
    a = np.take_along_axis(a, order, axis=-1)
    w = np.take_along_axis(np.broadcast_to(w, a.shape), order, axis=-1)
    fin = np.isfinite(a)
    w0, a0 = np.where(fin, w, 0.0), np.where(fin, a, 0.0)
    W, B = np.cumsum(w0, axis=-1), np.cumsum(w0 * a0, axis=-1)
    zero = np.zeros(a.shape[:-1] + (1,))
    Wp, Bp = np.concatenate([zero, W[..., :-1]], axis=-1), np.concatenate([zero, B[..., :-1]], axis=-1)
    scale = np.abs(w0).sum(axis=-1) * (1.0 + np.abs(a0).max(axis=-1, initial=0.0))
    th = theta + side * DEFAULT.bound_margin * (np.abs(theta) + scale)
    P = Wp * a0 - Bp                                  # potential at each arrival
    hit = fin & (P >= th[..., None])
    j = np.argmax(hit, axis=-1)
    any_hit = hit.any(axis=-1)
    take = (lambda M, k: np.take_along_axis(M, k[..., None], axis=-1)[..., 0])
    with np.errstate(divide="ignore", invalid="ignore"):
        jj = np.maximum(j, 1)
        seg = (th + take(Bp, j)) / take(Wp, j)         # crossing on the segment ending at a_j
        seg = np.clip(np.nan_to_num(seg, nan=-np.inf), take(a, jj - 1), take(a, j))
        n_fin = fin.sum(axis=-1)
        k = np.maximum(n_fin - 1, 0)
        Wl, Bl = take(W, k), take(B, k)
        tail = np.where((n_fin > 0) & (Wl > 0), np.maximum((th + Bl) / Wl, take(a0, k)), np.inf)
    return np.where(any_hit, seg, tail)


def concretise(lin: np.ndarray, boxes: np.ndarray, upper: bool) -> np.ndarray:
    """Max (``upper``) or min of ``lin[b, v, :n] @ x + lin[b, v, n]`` over box ``b``: (B, V).

    >>> concretise(np.array([[[1.0, -2.0, 0.5]]]), np.array([[[0.0, 1.0], [0.0, 1.0]]]), True).tolist()
    [[1.5]]
    """
    A, c = lin[..., :-1], lin[..., -1]
    lo, hi = boxes[:, None, :, 0], boxes[:, None, :, 1]
    pick = (A > 0) if upper else (A < 0)
    with np.errstate(invalid="ignore"):
        return c + np.where(pick, A * hi, A * lo).sum(axis=-1)


def _widen(v: np.ndarray, side: int) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(v), v + side * DEFAULT.bound_margin * (1 + np.abs(v)), v)


def _relaxed(W, D, theta, t_lo, t_hi, L, U, live, sure, exc, centre_causal):
    """Linear bounds of the firing times of one level in its sources' times from ``P(t_v) =
    theta`` (module doc): ``(lower, upper, has_lo, has_hi, stable)`` (two :class:`Relaxation`), ``stable`` (B, V, m): synapses whose
    causality the interval bounds decide."""
    fin = np.isfinite(t_lo) & np.isfinite(t_hi) & ~np.any(live & sure & ~np.isfinite(U), axis=2)
    lo_t, hi_t = np.where(fin, t_lo, 0.0)[..., None], np.where(fin, t_hi, 0.0)[..., None]
    live = live & np.isfinite(L) & (np.isfinite(U) | ~sure)
    L = np.where(live, L, 0.0)
    A_lo, A_hi = L, np.where(live & sure, U, L)                      # an unsure arrival counts as L
    ql, qu = lo_t - A_hi, hi_t - A_lo                                 # q = t_v - a_k
    active, inactive = ql >= 0, qu <= 0
    stable = active | inactive
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(active, 1.0, np.where(inactive, 0.0, qu / (qu - ql)))
    inter = np.where(active | inactive, 0.0, -slope * ql)            # relu(q) <= slope q + inter
    lam = np.where(active, 1.0, np.where(inactive, 0.0, centre_causal.astype(float)))   # relu(q) >= lam q
    live_f = live
    Wb = np.broadcast_to(W, live.shape)
    # lower bound of P: sum g (t - a) + c0; upper bound: sum h (t - a) + c1
    g = np.where(live_f, np.where(exc, np.where(sure, Wb * lam, 0.0), Wb * slope), 0.0)
    c0 = np.where(live_f & ~exc, Wb * inter, 0.0).sum(axis=2)
    h = np.where(live_f, np.where(exc, Wb * slope, np.where(sure, Wb * lam, 0.0)), 0.0)
    c1 = np.where(live_f & exc, Wb * inter, 0.0).sum(axis=2)
    G, H = g.sum(axis=2), h.sum(axis=2)
    # where the centre's slopes leave no positive total, the other valid ones: lam = 1 on the
    # undecided excitatory synapses (lower bound of P), lam = 0 on the inhibitory ones (upper)
    g = np.where((G <= 0)[..., None] & live_f & exc & sure & ~stable, Wb, g)
    h = np.where((H <= 0)[..., None] & live_f & ~exc & ~stable, 0.0, h)
    G, H = g.sum(axis=2), h.sum(axis=2)
    has_u, has_l = fin & (G > 0), fin & (H > 0)
    Gs, Hs = np.where(has_u, G, 1.0), np.where(has_l, H, 1.0)
    cu, cl = g / Gs[..., None], h / Hs[..., None]                     # coefficients of the arrivals
    shift = np.where(sure, D, 0.0)                                    # a = t_src + D for a sure source
    Lc = np.where(sure, 0.0, L)                                       # an unsure source: the constant L
    Sd = sure.astype(float)
    # t <= (theta - c0 + sum g a) / G, t >= (theta - c1 + sum h a) / H, in the sources' times
    up = Relaxation(cu * Sd, (theta - c0) / Gs + (cu * (shift + Lc)).sum(axis=2))
    dn = Relaxation(cl * Sd, (theta - c1) / Hs + (cl * (shift + Lc)).sum(axis=2))
    return dn, up, has_l, has_u, stable | ~live


#: Grid segments of each round of the potential scan (:func:`_scan_times`; two rounds).
SCAN_GRID = 8


def _potential_bound(t0: np.ndarray, t1: np.ndarray, W: np.ndarray, D: np.ndarray, lin_lo: np.ndarray,
                     lin_hi: np.ndarray, mask: np.ndarray, upper: bool, boxes: np.ndarray,
                     ranges: np.ndarray | None = None, stop: np.ndarray | None = None) -> np.ndarray:
    """Bound over ``t`` in ``[t0, t1]`` (B, V, G) and ``x`` in each box of ``sum_k mask_k w_k
    max(0, t - a_k(x))`` (``upper``: from above, else from below). Each term is relaxed like a
    ReLU jointly in ``(t, x)``: ``a_k`` is replaced by one of the source's linear bounds
    ``lin_k(x) + D_k`` (``lin_lo`` / ``lin_hi`` (B, m, n + 1); the lower one where the ReLU is
    bounded from above, excitatory terms of ``upper`` and inhibitory ones of not ``upper``: the
    ReLU is monotone in ``a``), then the chord from above or the slope 0 or 1 from below on the
    range of ``t - a_k`` over segment and box (compiled: :func:`_potential_kernel`). ``ranges``:
    :func:`_source_ranges` of the linear bounds, when known. ``stop`` (B, V): only the first
    segment whose bound reaches ``stop[b, v]`` matters to the caller; the segments after it are
    not bounded (``inf``). Returns (B, V, G)."""
    if ranges is None:
        ranges = _source_ranges(lin_lo, lin_hi, boxes)
    out = np.empty(t0.shape)
    stop = np.full(t0.shape[:2], np.inf) if stop is None else np.ascontiguousarray(np.broadcast_to(stop, t0.shape[:2]),
                                                                                  dtype=float)
    _potential_kernel(np.ascontiguousarray(t0, dtype=float), np.ascontiguousarray(t1, dtype=float),
                      np.ascontiguousarray(W, dtype=float), np.ascontiguousarray(D, dtype=float),
                      np.ascontiguousarray(lin_lo), np.ascontiguousarray(lin_hi), ranges,
                      np.ascontiguousarray(np.broadcast_to(mask, t0.shape[:2] + W.shape[1:])), bool(upper),
                      np.ascontiguousarray(boxes), stop, out)
    return out


def _source_ranges(lin_lo: np.ndarray, lin_hi: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(B, m, 4): min and max over each box of each source's lower, then upper linear bound."""
    return np.stack([concretise(lin_lo, boxes, False), concretise(lin_lo, boxes, True),
                     concretise(lin_hi, boxes, False), concretise(lin_hi, boxes, True)], axis=2)


@nb.njit(cache=True)
def _potential_kernel(t0, t1, W, D, lin_lo, lin_hi, ranges, mask, upper, boxes, stop, out):   # pragma: no cover (compiled)
    """The loops of :func:`_potential_bound` (``ranges[b, k]``: min and max of the source's lower,
    then upper linear bound over box ``b``; ``inf`` after the first segment reaching
    ``stop[b, v]``); writes ``out``."""
    B, V, G = t0.shape
    m, n = W.shape[1], boxes.shape[1]
    coef = np.empty(n)
    for b in range(B):
        for v in range(V):
            for g in range(G):
                ct, const = 0.0, 0.0
                coef[:] = 0.0
                for k in range(m):
                    if not mask[b, v, k]:
                        continue
                    w = W[v, k]
                    chord = (w > 0) == upper                   # the ReLU from above: its chord
                    lin = lin_lo[b, k] if chord else lin_hi[b, k]
                    r = 0 if chord else 2
                    ql = t0[b, v, g] - ranges[b, k, r + 1] - D[v, k]      # the range of t - a_k(x)
                    qu = t1[b, v, g] - ranges[b, k, r] - D[v, k]
                    inter = 0.0
                    if ql >= 0:
                        slope = 1.0
                    elif qu <= 0:
                        continue
                    elif chord:
                        slope = qu / (qu - ql)
                        inter = -slope * ql
                    elif qu > -ql:
                        slope = 1.0
                    else:
                        continue
                    beta = w * slope                           # term = beta (t - D - lin(x)) + w inter
                    ct += beta
                    const += w * inter - beta * (D[v, k] + lin[n])
                    for i in range(n):
                        coef[i] -= beta * lin[i]
                val = const + ct * (t1[b, v, g] if (ct > 0) == upper else t0[b, v, g])
                for i in range(n):
                    val += coef[i] * (boxes[b, i, 1] if (coef[i] > 0) == upper else boxes[b, i, 0])
                out[b, v, g] = val
                if val >= stop[b, v]:
                    out[b, v, g + 1:] = np.inf
                    break


def _scan_times(W: np.ndarray, D: np.ndarray, theta: np.ndarray, t_lo: np.ndarray, t_hi: np.ndarray,
                lin_lo: np.ndarray, lin_hi: np.ndarray, live: np.ndarray, sure: np.ndarray,
                boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The potential scan of the module doc: ``(t_lo, t_hi)`` (B, V) tightened from the linear
    bounds ``lin_lo``, ``lin_hi`` (B, m, n + 1) of the level's sources' times in ``x``."""
    ok = np.isfinite(t_lo) & np.isfinite(t_hi) & (t_hi > t_lo)
    if not ok.any():
        return t_lo, t_hi
    exc = W > 0
    lo, hi = np.where(ok, t_lo, 0.0), np.where(ok, t_hi, 0.0)
    ranges = _source_ranges(lin_lo, lin_hi, boxes)
    reach = np.abs(ranges).max(axis=(1, 2))
    scale = np.abs(W).sum(axis=1)[None] * (1.0 + np.abs(hi) + reach[:, None] + np.abs(D).max(axis=1)[None])
    margin = DEFAULT.bound_margin * (np.abs(theta) + scale)
    frac = np.linspace(0.0, 1.0, SCAN_GRID + 1)
    up_mask = live & (exc | sure)                  # P from above: an inhibitory source that may not fire is left out
    dn_mask = live & (~exc | sure)                 # P from below: an excitatory one is
    a, b = lo, hi
    for _ in range(2):                             # lower bound: P below theta on whole segments
        grid = a[..., None] + (b - a)[..., None] * frac
        p = _potential_bound(grid[..., :-1], grid[..., 1:], W, D, lin_lo, lin_hi, up_mask, True, boxes, ranges,
                             theta - margin)             # only the first segment that hits is used
        hit = p >= (theta - margin)[..., None]
        first = np.argmax(hit, axis=-1)
        a, b = np.where(hit.any(axis=-1), np.take_along_axis(grid, first[..., None], -1)[..., 0], b), \
            np.where(hit.any(axis=-1), np.take_along_axis(grid, first[..., None] + 1, -1)[..., 0], b)
    new_lo = np.maximum(lo, a)
    a, b = new_lo, hi
    for _ in range(2):                             # upper bound: P at theta at every input by a grid time
        grid = a[..., None] + (b - a)[..., None] * frac
        p = _potential_bound(grid, grid, W, D, lin_lo, lin_hi, dn_mask, False, boxes, ranges, theta + margin)
        hit = p >= (theta + margin)[..., None]
        first = np.argmax(hit, axis=-1)
        a, b = np.where(hit.any(axis=-1), np.take_along_axis(grid, np.maximum(first - 1, 0)[..., None], -1)[..., 0], a), \
            np.where(hit.any(axis=-1), np.take_along_axis(grid, first[..., None], -1)[..., 0], b)
    new_hi = np.maximum(np.minimum(hi, b), new_lo)
    # the grids' rounding: the new bounds widened, never beyond the old ones
    return np.where(ok, np.maximum(t_lo, _widen(new_lo, -1)), t_lo), np.where(ok, np.minimum(t_hi, _widen(new_hi, +1)), t_hi)


class Relaxation(NamedTuple):
    """Linear bound of each neuron of a level in its sources' firing times (B, V, m):
    ``t_v <=`` (or ``>=``) ``coef[b, v] @ t[sources] + const[b, v]`` wherever ``v`` fires."""

    coef: np.ndarray
    const: np.ndarray


def _back_substitute(net: SNN, rels: list, E: np.ndarray, c: np.ndarray, scale: np.ndarray,
                     offset: np.ndarray) -> np.ndarray:
    """Upper linear bounds in the data inputs ``x`` of ``E[b, r] @ t + c[b, r]`` (``E`` (B, R,
    n_total): coefficients of the firing times of the levels before ``len(rels)``), back-substituted
    level by level from the last: a neuron's positive coefficient takes its upper relaxation, a
    negative one its lower relaxation (``rels[i] = (lower, upper)`` of level ``i``), so the terms
    of one neuron reached on several paths cancel before they are bounded. Returns (B, R, n + 1)."""
    n = net.n_inputs
    for lv, (low, upp) in zip(reversed(net.levels[:len(rels)]), reversed(rels)):
        Ev = E[:, :, lv.neurons]
        pos, neg = np.maximum(Ev, 0.0), np.minimum(Ev, 0.0)
        E[:, :, lv.neurons] = 0.0
        E[:, :, lv.sources] += pos @ upp.coef + neg @ low.coef             # batched matmul: BLAS, unlike einsum
        with np.errstate(invalid="ignore"):
            c = c + np.where(pos > 0, pos * upp.const[:, None], 0.0).sum(axis=2) \
                + np.where(neg < 0, neg * low.const[:, None], 0.0).sum(axis=2)
    out = np.empty(E.shape[:2] + (n + 1,))
    out[..., :n] = E[:, :, :n] * scale
    consts = np.asarray(net.constants, dtype=float)
    out[..., n] = c + E[:, :, :n] @ offset + E[:, :, n:net.first_neuron] @ consts
    return out


def batch_time_bounds(net: SNN, boxes: np.ndarray, centre_times: np.ndarray | None = None,
                      restrict: Restriction | None = None) -> BatchTimeBounds:
    """Bounds of every spike time on each data box of ``boxes`` (B, n_inputs, 2) (module doc).
    ``centre_times`` (B, n_total): the spike times at the box centres (simulated when omitted;
    their causal sets choose the lower slopes of the synapse relaxations). ``restrict``: a
    :class:`Restriction` of (B, n_total) arrays, the part of each box bounded (module doc).

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> b = batch_time_bounds(net, np.array([[[0.0, 1.0], [0.0, 1.0]], [[0.0, 0.1], [0.9, 1.0]]]))   # 2nd: t = (1 + x0) / 1.5
    >>> b.lo[:, 3].round(6).tolist(), b.hi[:, 3].round(6).tolist(), b.undecided.tolist()
    ([0.555556, 0.666667], [1.333333, 0.733333], [2, 0])
    """
    from ..simulate import spike_times

    boxes = np.asarray(boxes, dtype=float)
    nb, n = boxes.shape[0], net.n_inputs
    N = net.n_total
    if centre_times is None:
        centre_times = spike_times(net, net.encode(boxes.mean(axis=2)))
    lo, hi = np.full((nb, N), np.inf), np.full((nb, N), np.inf)
    may_not, never = np.zeros((nb, N), bool), np.zeros((nb, N), bool)
    fixed = np.zeros((nb, N), bool)
    lin_lo, lin_hi = np.zeros((nb, N, n + 1)), np.zeros((nb, N, n + 1))
    scale = np.ones(n) if net.encoder is None else np.asarray(net.encoder.scale, dtype=float)
    offset = np.zeros(n) if net.encoder is None else np.asarray(net.encoder.offset, dtype=float)
    tb = offset[None, :, None] + scale[None, :, None] * boxes
    lo[:, :n], hi[:, :n] = tb.min(axis=2), tb.max(axis=2)
    idx = np.arange(n)
    lin_lo[:, idx, idx] = lin_hi[:, idx, idx] = scale
    lin_lo[:, idx, n] = lin_hi[:, idx, n] = offset
    consts = np.asarray(net.constants, dtype=float)
    lo[:, n:net.first_neuron] = hi[:, n:net.first_neuron] = consts
    lin_lo[:, n:net.first_neuron, n] = lin_hi[:, n:net.first_neuron, n] = consts
    undecided = np.zeros(nb, int)
    empty = np.zeros(nb, bool)
    free_lo, free_hi = lo.copy(), hi.copy()
    rels: list[tuple[Relaxation, Relaxation]] = []     # (lower, upper) of each level so far
    for lv in net.levels:
        s, vs = lv.sources, lv.neurons
        W, D = lv.W, lv.D                                               # (V, m)
        theta = np.broadcast_to(lv.thresholds, (nb, len(vs)))
        live = (W != 0)[None] & ~never[:, None, s]                      # (B, V, m)
        sure = np.broadcast_to(~may_not[:, None, s], live.shape)
        L, U = lo[:, None, s] + D, hi[:, None, s] + D
        exc = W > 0
        a_plus = np.where(live & (exc | sure), np.where(exc, L, U), np.inf)
        a_minus = np.where(live & (~exc | sure), np.where(exc, U, L), np.inf)
        t_lo = crossing(a_plus, W, theta, -1)
        t_hi = crossing(a_minus, W, theta, +1)
        nev = ~np.isfinite(t_lo)
        mnf = nev | ~np.isfinite(t_hi)
        for b, v in zip(*np.nonzero(mnf & ~nev)):                       # rare: may not fire
            k = live[b, v]
            t_hi[b, v] = max(t_lo[b, v], _late_bound(float(theta[b, v]), L[b, v][k], U[b, v][k], W[v][k],
                                                      sure[b, v][k]))
        t_lo, t_hi = _widen(t_lo, -1), _widen(t_hi, +1)
        t_lo[nev], t_hi[nev] = np.inf, np.inf
        free, free_t_hi = t_lo, t_hi
        if restrict is not None:
            t_lo, t_hi = np.maximum(t_lo, restrict.t_min[:, vs]), np.minimum(t_hi, restrict.t_max[:, vs])
            must = restrict.fires[:, vs]
            gone = ~(t_lo <= t_hi)                                      # fires nowhere in its interval
            empty |= np.any(gone & (must | ~mnf), axis=1)            # ... where it must fire, or surely fires
            nev, mnf = nev | gone, (mnf | gone) & ~must
            t_lo[nev], t_hi[nev] = np.inf, np.inf
        t_lo, t_hi = _scan_times(W, D, theta, t_lo, t_hi, lin_lo[:, s], lin_hi[:, s], live, sure, boxes)
        tc = centre_times[:, vs]
        ac = centre_times[:, None, s] + D
        centre_causal = np.isfinite(ac) & (ac < tc[..., None])
        V = len(vs)
        for _ in range(2):
            low, upp, has_l, has_u, stable = _relaxed(W, D, theta, t_lo, t_hi, L, U, live, sure, exc, centre_causal)
            E = np.zeros((nb, 2 * V, N))
            E[:, :V, s], E[:, V:, s] = upp.coef, -low.coef
            with np.errstate(invalid="ignore"):
                c = np.concatenate([np.where(has_u, upp.const, np.inf), -np.where(has_l, low.const, -np.inf)], axis=1)
            lin = _back_substitute(net, rels, E, c, scale, offset)
            lin_u, lin_l = lin[:, :V], -lin[:, V:]
            cu = _widen(concretise(lin_u, boxes, True), +1)
            cl = _widen(concretise(lin_l, boxes, False), -1)
            new_hi = np.where(has_u, np.minimum(t_hi, cu), t_hi)
            new_lo = np.where(has_l, np.maximum(t_lo, cl), t_lo)
            done = np.array_equal(new_hi, t_hi) and np.array_equal(new_lo, t_lo)
            t_lo, t_hi = np.minimum(new_lo, new_hi), new_hi
            if done:
                break
        # a linear bound is kept where it is not absurdly loose on the box, else the interval as a
        # constant one (0 where infinite: such a neuron may not fire and no linear bound uses it)
        with np.errstate(invalid="ignore"):
            width = t_hi - t_lo
        keep_u = has_u & (cu <= t_hi + width)
        keep_l = has_l & (cl >= t_lo - width)
        const_lo = np.zeros_like(lin_l)
        const_lo[..., -1] = np.where(np.isfinite(t_lo), t_lo, 0.0)
        const_hi = np.zeros_like(lin_u)
        const_hi[..., -1] = np.where(np.isfinite(t_hi), t_hi, 0.0)
        lin_lo[:, vs] = np.where(keep_l[..., None], lin_l, const_lo)
        lin_hi[:, vs] = np.where(keep_u[..., None], lin_u, const_hi)
        ku, kl = keep_u[..., None], keep_l[..., None]
        rels.append((Relaxation(np.where(kl, low.coef, 0.0), np.where(keep_l, low.const, t_lo)),
                     Relaxation(np.where(ku, upp.coef, 0.0), np.where(keep_u, upp.const, t_hi))))
        lo[:, vs], hi[:, vs] = t_lo, t_hi
        free_lo[:, vs] = t_lo if restrict is None else np.where(restrict.t_min[:, vs] > free, free, t_lo)
        free_hi[:, vs] = np.where(nev & np.isfinite(free_lo[:, vs]), free_t_hi, t_hi)
        fix = ~mnf & np.all(~live | (sure & stable), axis=2)
        may_not[:, vs], never[:, vs], fixed[:, vs] = mnf, nev, fix
        undecided += np.where(nev, 0, (live & ~stable).sum(axis=2)).sum(axis=1)
    free_lo[:, :net.first_neuron] = lo[:, :net.first_neuron]
    return BatchTimeBounds(lo, hi, may_not, never, lin_lo, lin_hi, undecided, fixed, empty, free_lo, free_hi)
