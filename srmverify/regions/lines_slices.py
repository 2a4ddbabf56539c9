"""Exact region counts along a segment and on a 2-D slice, and the sampling baseline.

**Segment, positive-weight SNN** (any size; meant for hundreds of inputs): a kinetic walk,
level by level. On ``x(s) = x0 + s (x1 - x0)`` every input arrival is affine in ``s``; every
neuron's spike time is then piecewise affine in ``s`` and its causal set changes exactly where an
arrival crosses its spike time. Each level is swept for all of its neurons at once (numpy): a
neuron's state is its causal set and the current affine piece of each source's arrival; its next
event is the earliest of (a) a source arrival crossing its spike time (the causal set flips) and
(b) a breakpoint of a source's arrival (from the level below). The spike-time pieces found become
the arrivals of the next level. The causal pattern changes exactly at the crossing events, so the
number of regions met is one more than the number of distinct crossing positions. Comparisons
use the tolerance :data:`EVENT_TOL` (events closer than that in ``s`` are one event).

Other networks (mixed signs, ReLU) on a segment, and every network on a slice, use the
traversal of :mod:`.traverse` on the 1-D or 2-D domain.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import UnsupportedNetwork
from ..network import ReLUNet, SNN
from ..results import Progress, no_progress
from ..simulate import causal_synapses, spike_times
from .polyhedron import Domain, pattern_bits
from .result import RegionsResult
from .traverse import traverse

#: Crossing events closer than this (in the segment parameter ``s`` in [0, 1]) are one event.
EVENT_TOL = 1e-12


@dataclass
class LineWalk:
    """Result of the exact walk along a segment.

    ``events`` are the parameters ``s`` in (0, 1) where the causal pattern changes (sorted,
    merged within :data:`EVENT_TOL`); ``output_breaks`` where the output's affine piece changes.
    """

    events: np.ndarray
    output_breaks: np.ndarray
    complete: bool = True
    stopped: str | None = None
    time: float = 0.0
    stats: dict = field(default_factory=dict)

    @property
    def causal_regions(self) -> int:
        return len(self.events) + 1

    @property
    def linear_regions(self) -> int:
        return len(self.output_breaks) + 1

    @property
    def widths(self) -> np.ndarray:
        """Length (in ``s``) of every region met, in order."""
        return np.diff(np.concatenate([[0.0], self.events, [1.0]]))


def _merge(s: np.ndarray, tol: float = EVENT_TOL) -> np.ndarray:
    s = np.sort(s[(s > tol) & (s < 1 - tol)])
    if len(s) == 0:
        return s
    keep = np.concatenate([[True], np.diff(s) > tol])
    return s[keep]


def walk_line(net: SNN, x0: np.ndarray, x1: np.ndarray, *, timeout: float | None = None,
              progress: Progress = no_progress) -> LineWalk:
    """Exact causal-region walk of a positive-weight SNN along ``x0 -> x1`` (data space).

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 1.0]]], [[1.0]])
    >>> w = walk_line(net, [0.0, 3.0], [3.0, 0.0])   # {x0}, {x0, x1}, {x1}
    >>> w.causal_regions, [round(float(s), 6) for s in w.events]
    (3, [0.333333, 0.666667])
    """
    if not net.all_weights_positive:
        raise UnsupportedNetwork(net.source, "weights", "mixed signs",
                                 "the kinetic line walk needs positive weights (the traversal handles the rest)")
    t0 = time.perf_counter()
    x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
    sc = np.ones(net.n_inputs) if net.encoder is None else net.encoder.scale
    off = np.zeros(net.n_inputs) if net.encoder is None else net.encoder.offset
    # pieces[v] for the sources of the next level: initial (alpha, beta) and breakpoints
    alpha0 = np.zeros(net.n_total)
    beta0 = np.zeros(net.n_total)
    alpha0[: net.n_inputs] = off + sc * x0
    beta0[: net.n_inputs] = sc * (x1 - x0)
    alpha0[net.n_inputs: net.first_neuron] = net.constants
    bp_s, bp_v, bp_a, bp_b = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    crossings, out_breaks = [], []
    stats = {"iterations": 0, "crossings": 0}
    outputs = set(net.outputs.tolist())
    stopped = None
    for li, lv in enumerate(net.levels):
        mask = np.isin(bp_v, lv.sources)
        col = np.searchsorted(lv.sources, bp_v[mask])
        res = _sweep_level(lv, alpha0[lv.sources], beta0[lv.sources], bp_s[mask], col, bp_a[mask], bp_b[mask],
                           t0, timeout, stats)
        (a0, b0, ev_s, ev_i, ev_a, ev_b, cross_s, cross_i), stop = res
        alpha0[lv.neurons], beta0[lv.neurons] = a0, b0
        gid = lv.neurons[ev_i]
        bp_s, bp_v = np.concatenate([bp_s, ev_s]), np.concatenate([bp_v, gid])
        bp_a, bp_b = np.concatenate([bp_a, ev_a]), np.concatenate([bp_b, ev_b])
        order = np.argsort(bp_s, kind="stable")
        bp_s, bp_v, bp_a, bp_b = bp_s[order], bp_v[order], bp_a[order], bp_b[order]
        crossings.append(cross_s)
        is_out = np.isin(gid, list(outputs))
        out_breaks.append(ev_s[is_out])
        n_ev = sum(len(c) for c in crossings)
        progress(li + 1, len(net.levels), f"level {li + 1}/{len(net.levels)}: {n_ev} events")
        if stop:
            stopped = stop
            break
    events = _merge(np.concatenate(crossings))
    stats["crossings"] = int(sum(len(c) for c in crossings))
    return LineWalk(events, _merge(np.concatenate(out_breaks)), stopped is None, stopped,
                    time.perf_counter() - t0, stats)


def _sweep_level(lv, a_src, b_src, sb_s, sb_col, sb_a, sb_b, t0, timeout, stats):
    """Sweep one level along ``s`` in [0, 1] for all its neurons at once.

    Sources: initial arrivals-without-delay ``a_src + b_src s`` and breakpoints
    ``(sb_s, sb_col, sb_a, sb_b)`` sorted by ``sb_s`` (new piece of source column ``sb_col``).
    Returns the neurons' initial pieces, their breakpoints ``(s, neuron, alpha, beta)``, and the
    crossing events ``(s, neuron)``.
    """
    n_out, n_src = lv.W.shape
    W, D, th = lv.W, lv.D, lv.thresholds
    E = len(sb_s)
    sb_s_ext = np.concatenate([sb_s, [np.inf]])
    A = np.broadcast_to(a_src, (n_out, n_src)) + D          # arrival pieces seen by each neuron
    B = np.array(np.broadcast_to(b_src, (n_out, n_src)))
    s = np.zeros(n_out)
    ptr = np.zeros(n_out, dtype=np.int64)
    # initial causal sets from the exact prefix rule at s = 0
    S = _causal_at(A, W, th)
    p, q = _time_piece(S, W, A, B, th)
    a_init, b_init = p.copy(), q.copy()
    C = np.empty((n_out, n_src))
    rows = np.arange(n_out)
    _crossings(C, rows, S, A, B, p, q, s)
    cmin_j = np.argmin(C, axis=1)
    cmin = C[rows, cmin_j]
    ev_s, ev_i, ev_a, ev_b, cr_s, cr_i = [], [], [], [], [], []
    stop = None
    max_iter = 50 * (E + n_src) + 1000
    it = 0
    active = np.ones(n_out, dtype=bool)
    while True:
        nxt_bp = sb_s_ext[ptr]
        do_cross = cmin <= nxt_bp
        t_next = np.where(do_cross, cmin, nxt_bp)
        active = t_next <= 1.0
        if not active.any():
            break
        it += 1
        if it > max_iter:
            stop = "iteration limit"
            break
        if timeout is not None and it % 64 == 0 and time.perf_counter() - t0 > timeout:
            stop = "timeout"
            break
        # crossings: flip the causal bit of the crossing source
        ci = np.flatnonzero(active & do_cross)
        bi = np.flatnonzero(active & ~do_cross)
        recompute = [ci]
        if len(ci):
            j = cmin_j[ci]
            s[ci] = cmin[ci]
            # sources with the very same arrival piece (ties) cross together
            tie = (A[ci] == A[ci, j][:, None]) & (B[ci] == B[ci, j][:, None]) & (S[ci] == S[ci, j][:, None])
            S[ci] ^= tie
            cr_s.append(s[ci].copy())
            cr_i.append(ci)
        if len(bi):
            k = ptr[bi]
            j = sb_col[k]
            s[bi] = sb_s[k]
            A[bi, j] = sb_a[k] + D[bi, j]
            B[bi, j] = sb_b[k]
            ptr[bi] += 1
            causal = S[bi, j]
            recompute.append(bi[causal])
            nc, jn = bi[~causal], j[~causal]
            if len(nc):      # only the crossing with that source changes
                C[nc, jn] = _pair_crossing(False, A[nc, jn], B[nc, jn], p[nc], q[nc], s[nc])
                better = C[nc, jn] < cmin[nc]
                cmin_j[nc[better]] = jn[better]
                cmin[nc[better]] = C[nc[better], jn[better]]
                stale = ~better & (cmin_j[nc] == jn)
                if stale.any():
                    recompute.append(nc[stale])
        rc = np.unique(np.concatenate(recompute)) if len(recompute) > 1 else recompute[0]
        if len(rc):
            p_old, q_old = p[rc].copy(), q[rc].copy()
            p[rc], q[rc] = _time_piece(S[rc], W[rc], A[rc], B[rc], th[rc])
            moved = (np.abs(q[rc] - q_old) > 1e-12 * (1 + np.abs(q_old))) | \
                    (np.abs(p[rc] - p_old) > 1e-12 * (1 + np.abs(p_old)))
            if moved.any():
                m = rc[moved]
                ev_s.append(s[m].copy())
                ev_i.append(m)
                ev_a.append(p[m].copy())
                ev_b.append(q[m].copy())
            _crossings(C, rc, S, A, B, p, q, s)
            cmin_j[rc] = np.argmin(C[rc], axis=1)
            cmin[rc] = C[rc, cmin_j[rc]]
    stats["iterations"] += it
    cat = lambda parts, dt=float: np.concatenate(parts) if parts else np.zeros(0, dtype=dt)  # noqa: E731
    return (a_init, b_init, cat(ev_s), cat(ev_i, np.int64), cat(ev_a), cat(ev_b), cat(cr_s), cat(cr_i, np.int64)), stop


def _causal_at(A: np.ndarray, W: np.ndarray, th: np.ndarray) -> np.ndarray:
    """Causal sets (n_out, n_src) for arrivals ``A`` (positive weights: the prefix rule)."""
    order = np.argsort(A, axis=1, kind="stable")
    As = np.take_along_axis(A, order, axis=1)
    Ws = np.take_along_axis(W, order, axis=1)
    Wk = np.cumsum(Ws, axis=1)
    tk = (th[:, None] + np.cumsum(Ws * As, axis=1)) / Wk
    nxt = np.concatenate([As[:, 1:], np.full((len(A), 1), np.inf)], axis=1)
    valid = tk <= nxt
    k = np.argmax(valid, axis=1)
    t = tk[np.arange(len(A)), k]
    return A < t[:, None]


def _time_piece(S, W, A, B, th):
    Wm = np.where(S, W, 0.0)
    WS = Wm.sum(axis=1)
    return (th + (Wm * A).sum(axis=1)) / WS, (Wm * B).sum(axis=1) / WS


def _pair_crossing(causal, a, b, p, q, s):
    """Next ``s' >= s`` where arrival ``a + b s`` crosses ``p + q s`` in the flipping direction."""
    g = a + b * s - (p + q * s)             # arrival minus spike time now
    r = b - q                               # its slope
    rtol = 1e-12 * (1 + np.abs(b) + np.abs(q))   # parallel within rounding: no crossing
    with np.errstate(divide="ignore", invalid="ignore"):
        ds = np.where(causal, np.where(r > rtol, -g / r, np.inf), np.where(r < -rtol, -g / r, np.inf))
    return s + np.maximum(ds, 0.0)


def _crossings(C, rows, S, A, B, p, q, s):
    C[rows] = _pair_crossing(S[rows], A[rows], B[rows], p[rows, None], q[rows, None], s[rows, None])


# ----------------------------------------------------------------------------- sampling baseline
def sample_line(net: SNN | ReLUNet, x0: np.ndarray, x1: np.ndarray, n: int = 20000,
                chunk: int = 64) -> tuple[int, np.ndarray]:
    """The sampling estimate the literature uses: ``n`` equally spaced points on the segment,
    counting pattern changes between neighbours. Returns ``(regions seen, s of every change)``
    (a change at index ``k`` is reported at the midpoint of samples ``k`` and ``k + 1``)."""
    x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
    s = np.linspace(0.0, 1.0, n)
    dom = Domain.segment(x0, x1)
    change, last = [], None
    for lo in range(0, n, chunk):
        ss = s[lo: lo + chunk]
        if isinstance(net, ReLUNet):
            pat = pattern_bits(net, dom, ss[:, None])
        else:
            T = spike_times(net, net.encode(x0 + ss[:, None] * (x1 - x0)))
            pat = np.concatenate([causal_synapses(net, T), np.isfinite(T[:, net.first_neuron:])], axis=1)
        if last is not None:
            pat = np.vstack([last, pat])
            base = lo - 1
        else:
            base = lo
        diff = np.any(pat[1:] != pat[:-1], axis=1)
        change.append(base + np.flatnonzero(diff))
        last = pat[-1:]
    idx = np.concatenate(change)
    return len(idx) + 1, (s[idx] + s[idx + 1]) / 2


def count_line(net: SNN | ReLUNet, x0, x1, *, max_regions: int | None = None, timeout: float | None = None,
               progress: Progress = no_progress) -> RegionsResult:
    """Exact regions along the segment ``x0 -> x1``: the kinetic walk for positive-weight SNNs,
    the 1-D traversal otherwise."""
    dom = Domain.segment(x0, x1)
    dom.check(net.n_inputs)
    if isinstance(net, SNN) and net.all_weights_positive:
        w = walk_line(net, x0, x1, timeout=timeout, progress=progress)
        return RegionsResult(engine="walk", kind="snn", dim=1, causal_regions=w.causal_regions,
                             linear_regions=w.linear_regions, complete=w.complete, time=w.time,
                             tolerance=EVENT_TOL, cells=w.causal_regions, stopped=w.stopped, discontinuities=0,
                             stats={**w.stats, "narrowest": float(w.widths.min())})
    return traverse(net, dom, max_regions=max_regions, timeout=timeout, progress=progress)


def count_slice(net: SNN | ReLUNet, x0, x1, x2, **kw) -> RegionsResult:
    """Exact regions on the 2-D slice through ``x0, x1, x2`` (see :meth:`Domain.plane`)."""
    dom = Domain.plane(x0, x1, x2)
    dom.check(net.n_inputs)
    return traverse(net, dom, **kw)
