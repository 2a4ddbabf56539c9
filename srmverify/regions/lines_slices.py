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
use the tolerance :attr:`~srmverify.settings.Settings.event_tol` (events closer than that in ``s`` are one event).

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
from .result import RegionsResult, stop_reason
from .traverse import traverse
from ..settings import DEFAULT


@dataclass
class LineWalk:
    """Result of the exact walk along a segment.

    ``events`` are the parameters ``s`` in (0, 1) where the causal pattern changes (sorted,
    merged within :attr:`~srmverify.settings.Settings.event_tol`); ``output_breaks`` where the output's affine piece changes.
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


def _merge(s: np.ndarray, tol: float = DEFAULT.event_tol) -> np.ndarray:
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
    # arrival-without-delay pieces of every neuron: initial (alpha, beta) and breakpoints
    alpha0 = np.zeros(net.n_total)
    beta0 = np.zeros(net.n_total)
    alpha0[: net.n_inputs] = off + sc * x0
    beta0[: net.n_inputs] = sc * (x1 - x0)
    alpha0[net.n_inputs: net.first_neuron] = net.constants
    bp_s, bp_v, bp_a, bp_b = (np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
    crossings, out_breaks = [], []
    stats = {"iterations": 0, "crossings": 0, "exact_checks": 0}
    outputs = net.outputs
    needed = {int(u) for lv in net.levels for u in lv.sources}      # neurons some level reads
    stopped = None
    for li, lv in enumerate(net.levels):
        mask = np.isin(bp_v, lv.sources)
        col = np.searchsorted(lv.sources, bp_v[mask])
        keep = np.array([int(v) in needed for v in lv.neurons])
        sw = _Sweep(lv, alpha0[lv.sources], beta0[lv.sources], bp_s[mask], col, bp_a[mask], bp_b[mask], keep)
        stop = sw.run(t0, timeout, stats)
        alpha0[lv.neurons], beta0[lv.neurons] = sw.a_init, sw.b_init
        ev_s, ev_i, ev_a, ev_b = sw.pieces()
        gid = lv.neurons[ev_i]
        bp_s, bp_v = np.concatenate([bp_s, ev_s]), np.concatenate([bp_v, gid])
        bp_a, bp_b = np.concatenate([bp_a, ev_a]), np.concatenate([bp_b, ev_b])
        order = np.argsort(bp_s, kind="stable")
        bp_s, bp_v, bp_a, bp_b = bp_s[order], bp_v[order], bp_a[order], bp_b[order]
        cr_s, _ = sw.crossings()
        crossings.append(cr_s)
        out_breaks.append(sw.breaks_of(np.isin(lv.neurons, outputs)))
        progress(li + 1, len(net.levels), f"level {li + 1}/{len(net.levels)}: {sum(len(c) for c in crossings)} events")
        if stop:
            stopped = stop
            break
    events = _merge(np.concatenate(crossings))
    stats["crossings"] = int(sum(len(c) for c in crossings))
    return LineWalk(events, _merge(np.concatenate(out_breaks)), stopped is None, stopped,
                    time.perf_counter() - t0, stats)


class _Sweep:
    """Sweep one level along ``s`` in [0, 1] for all of its neurons at once.

    Sources: arrival-without-delay pieces ``a_src + b_src s`` at ``s = 0`` and breakpoints
    ``(sb_s, sb_col, sb_a, sb_b)`` sorted by ``sb_s`` (new piece of source column ``sb_col``).
    Each neuron advances through the source breakpoints one at a time. An exact crossing check
    (``O(n_src)``) is only needed once its *horizon* is reached: every relative slope
    ``|beta_j - q_i|`` is at most ``R = 2 max |beta|`` (a spike time's slope is a positive
    average of its causal sources' slopes), so no arrival can meet the spike time before
    ``s + min_j |gap_j| / R``. ``keep`` marks neurons whose pieces a later level reads.
    """

    def __init__(self, lv, a_src, b_src, sb_s, sb_col, sb_a, sb_b, keep) -> None:
        n_out, n_src = lv.W.shape
        self.lv, self.keep = lv, keep
        self.W, self.D, self.th = lv.W, lv.D, lv.thresholds
        self.sb_s, self.sb_col, self.sb_a, self.sb_b = sb_s, sb_col, sb_a, sb_b
        self.sb_ext = np.concatenate([sb_s, [np.inf]])
        # change of the source's piece at every breakpoint (the same for every neuron)
        order = np.lexsort((np.arange(len(sb_s)), sb_col))
        c = sb_col[order]
        first = np.concatenate([[True], c[1:] != c[:-1]]) if len(c) else np.zeros(0, dtype=bool)
        self.dA, self.dB = np.empty(len(sb_s)), np.empty(len(sb_s))
        if len(c):
            self.dA[order] = sb_a[order] - np.where(first, a_src[c], np.concatenate([[0.0], sb_a[order][:-1]]))
            self.dB[order] = sb_b[order] - np.where(first, b_src[c], np.concatenate([[0.0], sb_b[order][:-1]]))
        self.A = np.broadcast_to(a_src, (n_out, n_src)) + self.D
        self.B = np.array(np.broadcast_to(b_src, (n_out, n_src)))
        self.s = np.zeros(n_out)
        self.ptr = np.zeros(n_out, dtype=np.int64)
        self.S = _causal_at(self.A, self.W, self.th)
        self.R = 2 * max(np.abs(b_src).max(initial=0.0), np.abs(sb_b).max(initial=0.0))
        self.H = np.zeros(n_out)                 # horizon: no crossing before H
        self.num_a = np.zeros(n_out)
        self.num_b = np.zeros(n_out)
        self.WS = np.zeros(n_out)
        self._refresh(np.arange(n_out))
        self.a_init, self.b_init = self.p(slice(None)), self.q(slice(None))
        self._pieces: list = []
        self._cross: list = []
        self._breaks: list = []

    def p(self, rows):
        return self.num_a[rows] / self.WS[rows]

    def q(self, rows):
        return self.num_b[rows] / self.WS[rows]

    def _refresh(self, rows: np.ndarray) -> None:
        """Recompute the spike-time pieces of ``rows`` from scratch (no drift)."""
        Wm = np.where(self.S[rows], self.W[rows], 0.0)
        self.WS[rows] = Wm.sum(axis=1)
        self.num_a[rows] = self.th[rows] + (Wm * self.A[rows]).sum(axis=1)
        self.num_b[rows] = (Wm * self.B[rows]).sum(axis=1)

    def run(self, t0: float, timeout: float | None, stats: dict) -> str | None:
        it = 0
        rows_all = np.arange(len(self.s))
        while True:
            nb = self.sb_ext[self.ptr]
            active = np.minimum(self.H, nb) <= 1.0
            if not active.any():
                return None
            it += 1
            stats["iterations"] += 1
            if it % 256 == 0 and (reason := stop_reason(0, None, t0, timeout)):
                return reason
            check = rows_all[active & (self.H <= nb)]
            advance = active & (self.H > nb)
            if len(check):
                stats["exact_checks"] += len(check)
                crossed = self._check(check, nb[check])
                advance[check[~crossed]] = True
            self._advance(rows_all[advance & (nb <= 1.0)])
            done = advance & (nb > 1.0)
            self.ptr[done] = len(self.sb_s)
            self.H[done] = np.inf

    def _check(self, rows: np.ndarray, nb: np.ndarray) -> np.ndarray:
        """Exact next crossing of ``rows`` before their next source breakpoint ``nb``. Crossing
        rows flip their causal bits; the others get a new horizon. Returns the crossing mask."""
        self._refresh(rows)
        s = self.s[rows]
        A, B, S = self.A[rows], self.B[rows], self.S[rows]
        p, q = self.p(rows), self.q(rows)
        C = _pair_crossing(S, A, B, p[:, None], q[:, None], s[:, None])
        j = np.argmin(C, axis=1)
        c = C[np.arange(len(rows)), j]
        crossed = (c < nb) & (c <= 1.0)
        ci, cj = rows[crossed], j[crossed]
        if len(ci):
            s_c = c[crossed]
            self.s[ci] = s_c
            self.H[ci] = s_c                      # check again from the crossing on
            tie = (self.A[ci] == self.A[ci, cj][:, None]) & (self.B[ci] == self.B[ci, cj][:, None]) & \
                  (self.S[ci] == self.S[ci, cj][:, None])
            self.S[ci] ^= tie                     # sources with the very same arrival cross together
            self._refresh(ci)
            self._cross.append((s_c, ci))
            self._record(ci, s_c)
        nc = ~crossed
        if nc.any():
            r, e = rows[nc], np.minimum(nb[nc], 1.0)
            gap = np.abs(A[nc] + B[nc] * e[:, None] - (p[nc] + q[nc] * e)[:, None]).min(axis=1)
            self.H[r] = np.inf if self.R == 0 else e + gap / self.R
        return crossed

    def _advance(self, rows: np.ndarray) -> None:
        """Move each of ``rows`` through every source breakpoint before its horizon (at least
        one) and take the sources' new pieces; the spike-time pieces change only through causal
        sources, with the causal sets fixed meanwhile."""
        if not len(rows):
            return
        start = self.ptr[rows]
        stop = np.minimum(np.searchsorted(self.sb_s, self.H[rows], side="left"),
                          np.searchsorted(self.sb_s, 1.0, side="right"))
        cnt = np.maximum(stop - start, 1)
        ends = np.cumsum(cnt)
        seg = np.repeat(ends - cnt, cnt)                       # first position of each row's run
        R = np.repeat(rows, cnt)
        K = np.repeat(start, cnt) + np.arange(ends[-1]) - seg
        J = self.sb_col[K]
        w = np.where(self.S[R, J], self.W[R, J], 0.0)
        ca, cb = np.cumsum(w * self.dA[K]), np.cumsum(w * self.dB[K])
        before_a = np.where(seg > 0, ca[seg - 1], 0.0)
        before_b = np.where(seg > 0, cb[seg - 1], 0.0)
        num_a = self.num_a[R] + ca - before_a                  # after each breakpoint of the run
        num_b = self.num_b[R] + cb - before_b
        last = ends - 1
        self.num_a[rows], self.num_b[rows] = num_a[last], num_b[last]
        key = R * self.W.shape[1] + J                          # each (row, source): its last piece
        _, idx = np.unique(key[::-1], return_index=True)
        lp = len(key) - 1 - idx
        self.A[R[lp], J[lp]] = self.sb_a[K[lp]] + self.D[R[lp], J[lp]]
        self.B[R[lp], J[lp]] = self.sb_b[K[lp]]
        self.ptr[rows] = start + cnt
        self.s[rows] = self.sb_s[K[last]]
        ev = (w != 0) & (self.dB[K] != 0)
        if ev.any():
            r, s_ev = R[ev], self.sb_s[K[ev]]
            self._breaks.append((s_ev, r))
            kept = self.keep[r]
            if kept.any():
                rk = r[kept]
                self._pieces.append((s_ev[kept], rk, num_a[ev][kept] / self.WS[rk], num_b[ev][kept] / self.WS[rk]))

    def _record(self, rows: np.ndarray, s: np.ndarray) -> None:
        """The spike-time piece of ``rows`` changes at ``s``."""
        self._breaks.append((s, rows))
        kept = self.keep[rows]
        if kept.any():
            r = rows[kept]
            self._pieces.append((s[kept], r, self.p(r), self.q(r)))

    def pieces(self):
        if not self._pieces:
            return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
        return tuple(np.concatenate([p[k] for p in self._pieces]) for k in range(4))

    def crossings(self):
        if not self._cross:
            return np.zeros(0), np.zeros(0, dtype=np.int64)
        return np.concatenate([c[0] for c in self._cross]), np.concatenate([c[1] for c in self._cross])

    def breaks_of(self, mask: np.ndarray) -> np.ndarray:
        """Parameters where the piece of a neuron in ``mask`` changes."""
        out = [s[mask[r]] for s, r in self._breaks]
        return np.concatenate(out) if out else np.zeros(0)


def _causal_at(A: np.ndarray, W: np.ndarray, th: np.ndarray) -> np.ndarray:
    """Causal sets (n_out, n_src) for arrivals ``A`` (positive weights: the prefix rule)."""
    order = np.argsort(A, axis=1, kind="stable")
    As = np.take_along_axis(A, order, axis=1)
    Ws = np.take_along_axis(W, order, axis=1)
    Wk = np.cumsum(Ws, axis=1)
    tk = (th[:, None] + np.cumsum(Ws * As, axis=1)) / Wk
    nxt = np.concatenate([As[:, 1:], np.full((len(A), 1), np.inf)], axis=1)
    k = np.argmax(tk <= nxt, axis=1)
    return A < tk[np.arange(len(A)), k][:, None]


def _pair_crossing(causal, a, b, p, q, s):
    """Next ``s' >= s`` where arrival ``a + b s`` crosses ``p + q s`` in the flipping direction."""
    g = a + b * s - (p + q * s)             # arrival minus spike time now
    r = b - q                               # its slope
    rtol = 1e-12 * (1 + np.abs(b) + np.abs(q))   # parallel within rounding: no crossing
    with np.errstate(divide="ignore", invalid="ignore"):
        ds = np.where(causal, np.where(r > rtol, -g / r, np.inf), np.where(r < -rtol, -g / r, np.inf))
    return s + np.maximum(ds, 0.0)


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
                             tolerance=DEFAULT.event_tol, cells=w.causal_regions, stopped=w.stopped, discontinuities=0,
                             stats={**w.stats, "narrowest": float(w.widths.min())})
    return traverse(net, dom, max_regions=max_regions, timeout=timeout, progress=progress)


def count_slice(net: SNN | ReLUNet, x0, x1, x2, **kw) -> RegionsResult:
    """Exact regions on the 2-D slice through ``x0, x1, x2`` (see :meth:`Domain.plane`)."""
    dom = Domain.plane(x0, x1, x2)
    dom.check(net.n_inputs)
    return traverse(net, dom, **kw)
