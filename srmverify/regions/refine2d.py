"""Exact partitions of a 2-D slice or a segment by refinement, for SNNs of any weight signs.

On a convex piece of the domain on which every upstream neuron's causal set is fixed, every
arrival time is affine in the domain coordinates ``y``; the next neuron's causal set is then
fixed on a convex sub-piece cut out by lines (model.md §1-2):

* ``a_u < t_S`` for every causal source, ``a_u > t_S`` for every other firing source (the
  causal set ``S`` and the first-crossing time ``t_S = (θ + Σ_S w a) / W_S``);
* where an inhibitory (negative) source ``u`` is relevant (causal, or firing when the neuron
  never fires), "the potential stays below threshold at its arrival", ``P(a_u) < θ``, which is
  linear once the order of ``a_u`` against the other relevant arrivals is fixed. Only the orders
  that can change on the piece are fixed, and only when an interval bound cannot prove
  ``P(a_u) < θ`` on the whole piece (the potential maximum can touch the threshold there).

The refinement goes level by level and neuron by neuron, vectorised over all pieces: the pattern
of every piece is read at its centroid, the piece is clipped by the lines of that pattern (the
inside keeps the pattern), and the parts outside (``P ∩ {row_1..row_{j-1} hold, row_j fails}``,
convex and disjoint) are refined again. No LP is solved. Pieces whose inradius is below the
tolerance (``2·area/perimeter``, within a factor 2 of the Chebyshev radius; on a segment the
half-length) are dropped (``Settings.region_radius_tol``), as the traversal drops thinner regions. Every finished piece is
re-checked by simulating the network at its centroid: a different pattern there is reported as a
warning and the result marked incomplete. Float64 throughout; the stated tolerance is that of
the full-dimensionality test.

Adjacency (for linear regions and the plot) is found by probing just across the midpoint of
every piece's edge and locating the piece there (by its simulated pattern).
"""
from __future__ import annotations

import time
from typing import Any
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..network import SNN
from ..results import Progress, no_progress
from ..settings import DEFAULT
from .polyhedron import Domain, pattern_bits
from .result import Region, RegionsResult, output_map, stop_reason

#: A vertex closer than ``VERTEX_TOL * domain.scale`` to a cutting line lies on it.
VERTEX_TOL = 1e-12
#: Pieces processed together after a level (bounds the memory of the affine maps).
CHUNK = 1024
#: Refinement rounds per neuron before giving up (the result is then incomplete).
MAX_ROUNDS = 400


@dataclass
class Pieces:
    """A batch of convex pieces: vertices ``V`` (N, K, d) (``n`` valid, counter-clockwise in
    2-D; ``[lo, hi]`` in 1-D), the affine maps ``maps`` (N, n_known, d + 1) and firing flags
    ``fire`` (N, n_known) of the neurons known so far, the pattern bits of the finished levels
    and, while a level is refined, its causal masks ``mask`` (N, n_out, n_src) and ``fires``."""

    V: np.ndarray
    n: np.ndarray
    maps: np.ndarray
    fire: np.ndarray
    bits: list
    mask: np.ndarray | None = None
    fires: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.n)

    def take(self, idx: np.ndarray) -> "Pieces":
        return Pieces(self.V[idx], self.n[idx], self.maps[idx], self.fire[idx], [b[idx] for b in self.bits],
                      None if self.mask is None else self.mask[idx], None if self.fires is None else self.fires[idx])

    @staticmethod
    def cat(parts: list["Pieces"]) -> "Pieces":
        K = max(p.V.shape[1] for p in parts)
        V = np.concatenate([_pad(p.V, K) for p in parts])
        return Pieces(V, np.concatenate([p.n for p in parts]), np.concatenate([p.maps for p in parts]),
                      np.concatenate([p.fire for p in parts]),
                      [np.concatenate(b) for b in zip(*[p.bits for p in parts])],
                      None if parts[0].mask is None else np.concatenate([p.mask for p in parts]),
                      None if parts[0].fires is None else np.concatenate([p.fires for p in parts]))


def _pad(V: np.ndarray, K: int) -> np.ndarray:
    if V.shape[1] >= K:
        return V
    return np.concatenate([V, np.repeat(V[:, :1], K - V.shape[1], axis=1)], axis=1)


# ----------------------------------------------------------------------------- geometry
def clip(V: np.ndarray, n: np.ndarray, a: np.ndarray, c: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip convex pieces by the half-planes ``a_i · y <= c_i`` (one per piece, vectorised).

    Vertices within ``eps`` of the line count as on it (kept, no new vertex).

    Examples
    --------
    >>> V = np.array([[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]])
    >>> W, m = clip(V, np.array([4]), np.array([[1.0, 1.0]]), np.array([1.0]), 1e-12)
    >>> W[0, :m[0]].tolist()
    [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    >>> clip(np.array([[[0.0], [1.0]]]), np.array([2]), np.array([[-2.0]]), np.array([-1.0]), 1e-12)[0].ravel().tolist()
    [0.5, 1.0]
    """
    if V.shape[2] == 1:
        lo, hi = V[:, 0, 0].copy(), V[:, 1, 0].copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            x = c / a[:, 0]
        pos, neg = a[:, 0] > 0, a[:, 0] < 0
        hi[pos] = np.minimum(hi[pos], x[pos])
        lo[neg] = np.maximum(lo[neg], x[neg])
        empty = (a[:, 0] == 0) & (c < 0)
        hi[empty] = lo[empty]
        return np.stack([lo, np.maximum(hi, lo)], axis=1)[:, :, None], n.copy()
    N, K, _ = V.shape
    k = np.arange(K)
    valid = k[None, :] < n[:, None]
    s = np.einsum("nkd,nd->nk", V, a) - c[:, None]
    s[np.abs(s) <= eps] = 0.0
    nxt = np.where(k[None, :] + 1 < n[:, None], k[None, :] + 1, 0)
    Vn = np.take_along_axis(V, nxt[:, :, None], axis=1)
    sn = np.take_along_axis(s, nxt, axis=1)
    keep = valid & (s <= 0)
    cross = valid & (((s < 0) & (sn > 0)) | ((s > 0) & (sn < 0)))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(cross, s / (s - sn), 0.0)
    X = V + f[:, :, None] * (Vn - V)
    P = np.stack([V, X], axis=2).reshape(N, 2 * K, 2)
    M = np.stack([keep, cross], axis=2).reshape(N, 2 * K)
    m = M.sum(axis=1)
    order = np.argsort(~M, axis=1, kind="stable")[:, : max(int(m.max(initial=1)), 1)]
    return np.take_along_axis(P, order[:, :, None], axis=1), m


def measure(V: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Inradius proxy of every piece: ``2·area/perimeter`` (2-D), half the length (1-D)."""
    if V.shape[2] == 1:
        return 0.5 * (V[:, 1, 0] - V[:, 0, 0])
    K = V.shape[1]
    k = np.arange(K)
    nxt = np.where(k[None, :] + 1 < n[:, None], k[None, :] + 1, 0)
    Vn = np.take_along_axis(V, nxt[:, :, None], axis=1)
    valid = k[None, :] < n[:, None]
    cross = np.where(valid, V[:, :, 0] * Vn[:, :, 1] - V[:, :, 1] * Vn[:, :, 0], 0.0)
    per = np.where(valid, np.linalg.norm(Vn - V, axis=2), 0.0).sum(axis=1)
    area = 0.5 * cross.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((n >= 3) & (per > 0), 2 * area / per, 0.0)


def centroid(V: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertex average of every piece (interior for a convex piece) and the largest distance
    from it to a vertex (the piece lies in that disk)."""
    valid = np.arange(V.shape[1])[None, :] < n[:, None]
    c = np.where(valid[:, :, None], V, 0.0).sum(axis=1) / n[:, None]
    R = np.where(valid, np.linalg.norm(V - c[:, None, :], axis=2), 0.0).max(axis=1)
    return c, R


# ----------------------------------------------------------------------------- one neuron
def first_crossing(a: np.ndarray, w: np.ndarray, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """First-crossing time (model.md §1.2) for arrivals ``a`` (N, m) (``inf``: the source does
    not fire) and weights ``w`` (m,); also ``P(a_u)`` at every arrival (N, m).

    >>> t, P = first_crossing(np.array([[0.0, 1.0, np.inf]]), np.array([2.0, -1.0, 5.0]), 1.0)
    >>> float(t[0]), P[0].tolist()
    (0.5, [0.0, 2.0, inf])
    """
    N, m = a.shape
    order = np.argsort(a, axis=1, kind="stable")
    As = np.take_along_axis(a, order, axis=1)
    fin = np.isfinite(As)
    Ws = np.where(fin, w[order], 0.0)
    Af = np.where(fin, As, 0.0)
    Wk = np.cumsum(Ws, axis=1)
    Bk = np.cumsum(Ws * Af, axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        tk = (theta + Bk) / Wk
    nxt = np.concatenate([As[:, 1:], np.full((N, 1), np.inf)], axis=1)
    valid = (Wk > 0) & fin & (tk >= As) & (tk <= nxt)
    has = valid.any(axis=1)
    t = np.where(has, tk[np.arange(N), np.argmax(valid, axis=1)], np.inf)
    Pk = np.where(fin, np.concatenate([np.zeros((N, 1)), Wk[:, :-1]], axis=1) * Af
                  - np.concatenate([np.zeros((N, 1)), Bk[:, :-1]], axis=1), np.inf)
    P = np.empty_like(Pk)
    np.put_along_axis(P, order, Pk, axis=1)
    return t, P


def ramp_sum(knots: np.ndarray, weights: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """``sum_j weights[r, j] * max(0, queries[r, q] - knots[r, j])`` for every row ``r`` and query
    ``q`` in ``O((m + Q) log(m + Q))`` per row (one merged sort and prefix sums).

    >>> ramp_sum(np.array([[0.0, 1.0]]), np.array([[2.0, -1.0]]), np.array([[0.5, 3.0]])).tolist()
    [[1.0, 4.0]]
    """
    N, m = knots.shape
    vals = np.concatenate([knots, queries], axis=1)
    order = np.argsort(vals, axis=1, kind="stable")
    vs = np.take_along_axis(vals, order, axis=1)
    wz = np.concatenate([weights, np.zeros_like(queries)], axis=1)
    cw = np.cumsum(np.take_along_axis(wz, order, axis=1), axis=1)
    cwk = np.cumsum(np.take_along_axis(wz * np.concatenate([knots, queries], axis=1), order, axis=1), axis=1)
    out = np.empty_like(vals)
    np.put_along_axis(out, order, vs * cw - cwk, axis=1)
    return out[:, m:]


def _neuron_rows(G, H, live, w, theta, y, R, V, n, scale):
    """Pattern of one neuron at the centroids ``y`` of pieces and the lines that bound it.

    ``G`` (N, m, d), ``H`` (N, m): affine arrivals of the sources; ``live`` which fire.
    Returns the causal mask (N, m), firing flags (N,) and rows ``(piece, a, c)`` meaning
    ``a · y <= c`` on the piece where the pattern holds."""
    N, m, d = G.shape
    a = np.einsum("nmd,nd->nm", G, y) + H
    a = np.where(live, a, np.inf)
    t, P = first_crossing(a, w, theta)
    fires = np.isfinite(t)
    causal = live & (a < t[:, None])
    Wm = np.where(causal, w, 0.0)
    WS = np.where(fires, Wm.sum(axis=1), 1.0)
    Gt = np.einsum("nm,nmd->nd", Wm, G) / WS[:, None]
    Ht = (theta + (Wm * np.where(causal, H, 0.0)).sum(axis=1)) / WS
    # causal: a_u - t <= 0 ; firing non-causal: t - a_u <= 0
    pi, uj = np.nonzero(live & fires[:, None])
    sg = np.where(causal[pi, uj], 1.0, -1.0)
    rows_a = [sg[:, None] * (G[pi, uj] - Gt[pi])]
    rows_c = [sg * (Ht[pi] - H[pi, uj])]
    rows_p = [pi]
    # inhibitory relevant sources: P(a_u) < theta, unless an interval bound proves it on the piece
    rel = np.where(fires[:, None], causal, live)
    neg = rel & (w[None, :] < 0)
    if neg.any():
        # interval bounds of every arrival over the piece's vertices
        kv = (np.arange(V.shape[1])[None, :] < n[:, None])[:, None, :]
        av = np.einsum("nmd,nkd->nmk", G, V) + H[:, :, None]
        alo_all = np.where(kv, av, np.inf).min(axis=2)
        ahi_all = np.where(kv, av, -np.inf).max(axis=2)
        # P(a_u) <= sum_{w > 0} w max(0, hi_u - lo_w) + sum_{w < 0} w max(0, lo_u - hi_w) on the piece
        wp = np.where(rel & (w > 0), w, 0.0)
        wn = np.where(rel & (w < 0), w, 0.0)
        lo_k = np.where(rel, alo_all, 0.0)
        hi_k = np.where(rel, ahi_all, 0.0)
        ub = ramp_sum(lo_k, wp, hi_k) + ramp_sum(hi_k, wn, lo_k)      # u's own term is 0
        fp, fu = np.nonzero(neg & (ub >= theta - 1e-7 * (1 + abs(theta))))
        if len(fp):
            alo, ahi = alo_all[fp], ahi_all[fp]
            ar = np.arange(len(fp))
            xlo = alo[ar, fu][:, None] - ahi                       # bounds of a_u - a_w
            xhi = ahi[ar, fu][:, None] - alo
            relf = rel[fp].copy()
            relf[ar, fu] = False
        if len(fp):
            au = a[fp, fu][:, None]
            Gu, Hu = G[fp, fu][:, None, :], H[fp, fu][:, None]
            diff = au - a[fp]                                      # a_u - a_w at the centroid
            before = relf & (diff > 0)
            # the order of a_u against a_w can change on the piece: fix it
            amb = relf & (xlo < VERTEX_TOL * scale) & (xhi > -VERTEX_TOL * scale)
            qi, qw = np.nonzero(amb)
            so = np.where(before[qi, qw], 1.0, -1.0)              # before: a_w - a_u <= 0
            rows_a.append(so[:, None] * (G[fp[qi], qw] - Gu[qi, 0]))
            rows_c.append(so * (Hu[qi, 0] - H[fp[qi], qw]))
            rows_p.append(fp[qi])
            wb = np.where(before, w[None, :], 0.0)
            rows_a.append(np.einsum("fm,fmd->fd", wb, Gu - G[fp]))
            rows_c.append(theta - (wb * (Hu - H[fp])).sum(axis=1))
            rows_p.append(fp)
    return causal, fires, np.concatenate(rows_p), np.concatenate(rows_a), np.concatenate(rows_c)


def _split_neuron(pc: Pieces, lv, i: int, src_cols: np.ndarray, tol: float, eps: float, scale: float,
                  stats: dict) -> tuple[Pieces, bool]:
    """Refine ``pc`` until neuron ``i`` of level ``lv`` has one causal set on every piece."""
    d = pc.V.shape[2]
    w, theta = lv.W[i], float(lv.thresholds[i])
    present = lv.present[i]
    Dl = lv.D[i]
    done: list[Pieces] = []
    work = pc
    for _ in range(MAX_ROUNDS):
        if not len(work):
            return (Pieces.cat(done) if done else pc.take(np.zeros(0, dtype=np.int64))), True
        stats["rounds"] += 1
        y, R = centroid(work.V, work.n)
        G = work.maps[:, src_cols, :d]
        H = work.maps[:, src_cols, d] + Dl
        live = work.fire[:, src_cols] & present
        causal, fires, rp, ra, rc = _neuron_rows(G, H, live, w, theta, y, R, work.V, work.n, scale)
        # keep only rows that can cut their piece (disk test, then the vertices)
        norm = np.linalg.norm(ra, axis=1)
        val = np.einsum("rd,rd->r", ra, y[rp]) - rc
        cand = (norm > 0) & (val + norm * R[rp] > eps)
        rp, ra, rc = rp[cand], ra[cand], rc[cand]
        s = np.einsum("rkd,rd->rk", work.V[rp], ra) - rc[:, None]
        kvalid = np.arange(work.V.shape[1])[None, :] < work.n[rp][:, None]
        cut = np.where(kvalid, s, -np.inf).max(axis=1) > eps
        rp, ra, rc = rp[cut], ra[cut], rc[cut]
        stats["cuts"] += len(rp)
        # pieces no row cuts keep the pattern of their centre as they are
        has = np.zeros(len(work), dtype=bool)
        has[rp] = True
        unc = np.flatnonzero(~has)
        if len(unc):
            u = work.take(unc)
            assert u.mask is not None and u.fires is not None     # set while a level is refined
            u.mask[:, i], u.fires[:, i] = causal[unc], fires[unc]
            done.append(u)
        cutp = np.flatnonzero(has)
        remap = np.cumsum(has) - 1
        work, causal, fires, rp = work.take(cutp), causal[cutp], fires[cutp], remap[rp]
        order = np.argsort(rp, kind="stable")
        rp, ra, rc = rp[order], ra[order], rc[order]
        first = np.searchsorted(rp, rp, side="left")
        rank = np.arange(len(rp)) - first
        V, n = work.V.copy(), work.n.copy()
        outs = []
        for j in range(int(rank.max(initial=-1)) + 1):
            sel = rank == j
            p = rp[sel]
            Vo, no = clip(V[p], n[p], -ra[sel], -rc[sel], eps)
            Vi, ni = clip(V[p], n[p], ra[sel], rc[sel], eps)
            ok = measure(Vo, no) > tol
            if ok.any():
                o = work.take(p[ok])
                o.V, o.n = Vo[ok], no[ok]
                outs.append(o)
            V = _pad(V, Vi.shape[1])
            V[p, : Vi.shape[1]] = Vi
            n[p] = ni
        keep = measure(V, n) > tol
        stats["dropped"] += int((~keep).sum())
        if keep.any():
            f = work.take(np.flatnonzero(keep))
            f.V, f.n = V[keep], n[keep]
            assert f.mask is not None and f.fires is not None     # set while a level is refined
            f.mask[:, i] = causal[keep]
            f.fires[:, i] = fires[keep]
            done.append(f)
        work = Pieces.cat(outs) if outs else work.take(np.zeros(0, dtype=np.int64))
    done.append(work)
    return Pieces.cat(done), False


def _finish_level(pc: Pieces, lv, src_cols: np.ndarray, d: int) -> Pieces:
    """Affine maps of a refined level's neurons, appended to ``pc.maps``; its pattern bits."""
    assert pc.mask is not None and pc.fires is not None         # set while a level is refined
    G = pc.maps[:, src_cols, :d]
    H = pc.maps[:, src_cols, d][:, None, :] + lv.D[None]
    Wm = np.where(pc.mask, lv.W[None], 0.0)
    WS = np.where(pc.fires, Wm.sum(axis=2), 1.0)
    Gv = np.einsum("nij,njd->nid", Wm, G) / WS[:, :, None]
    Hv = (lv.thresholds[None] + (Wm * np.where(pc.mask, H, 0.0)).sum(axis=2)) / WS
    new = np.where(pc.fires[:, :, None], np.concatenate([Gv, Hv[:, :, None]], axis=2), 0.0)
    return Pieces(pc.V, pc.n, np.concatenate([pc.maps, new], axis=1), np.concatenate([pc.fire, pc.fires], axis=1),
                  pc.bits + [pc.mask[:, lv.present]])


# ----------------------------------------------------------------------------- driver
def start_maps(net: SNN, domain: Domain) -> tuple[np.ndarray, np.ndarray]:
    """The affine maps ``(1, first_neuron, d + 1)`` of the input and constant spike times in
    the domain coordinates, and every neuron's column in the maps of a refinement (``col_of``)."""
    d = domain.dim
    sc = np.ones(net.n_inputs) if net.encoder is None else net.encoder.scale
    off = np.zeros(net.n_inputs) if net.encoder is None else net.encoder.offset
    maps0 = np.zeros((1, net.first_neuron, d + 1))
    maps0[0, : net.n_inputs, :d] = sc[:, None] * domain.M
    maps0[0, : net.n_inputs, d] = off + sc * domain.c
    maps0[0, net.n_inputs:, d] = net.constants
    col_of = np.full(net.n_total, -1, dtype=np.int64)
    col_of[: net.first_neuron] = np.arange(net.first_neuron)
    nxt = net.first_neuron
    for lv in net.levels:
        col_of[lv.neurons] = nxt + np.arange(len(lv.neurons))
        nxt += len(lv.neurons)
    return maps0, col_of


def refine(net: SNN, domain: Domain, *, tolerance: float | None = None, adjacency: bool = True,
           max_regions: int | None = None, timeout: float | None = None,
           progress: Progress = no_progress) -> RegionsResult:
    """Every full-dimensional region of ``net`` on a 1-D or 2-D ``domain``, by refinement.

    The same counts as :func:`srmverify.regions.traverse` (regions = distinct causal patterns;
    ``cells`` = convex pieces, which may be more than the traversal's cells); with ``adjacency``
    the graph of pieces sharing an edge and the linear regions. ``timeout`` (checked after every
    neuron and chunk) and ``max_regions`` (checked against the finished pieces after every chunk)
    stop early: the result is then incomplete and counts only finished pieces (lower bounds).

    Examples
    --------
    >>> net = SNN.layered([[[1.0, -1.0], [1.0, 1.0]]], [[1.0, 0.5]])
    >>> r = refine(net, Domain.box([[0, 3], [0, 3]]))     # the traversal and z3 find the same 4
    >>> r.causal_regions, r.complete
    (4, True)
    """
    t0 = time.perf_counter()
    d = domain.dim
    if d > 2:
        raise ValueError("refinement handles segments and 2-D slices")
    scale = domain.scale
    tol = DEFAULT.region_radius_tol * scale if tolerance is None else float(tolerance)
    eps = VERTEX_TOL * scale
    lo, hi = domain.lo, domain.hi
    if d == 2:
        V0 = np.array([[[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]]])
        n0 = np.array([4])
    else:
        V0 = np.array([[[lo[0]], [hi[0]]]])
        n0 = np.array([2])
    maps0, col_of = start_maps(net, domain)
    stats = {"rounds": 0, "cuts": 0, "dropped": 0}
    state: dict[str, Any] = {"complete": True, "stopped": None, "levels": []}

    finished = [0]

    def stop() -> bool:
        why = state["stopped"] or stop_reason(finished[0], max_regions, t0, timeout)
        if why:
            state["complete"], state["stopped"] = False, why
        return why is not None

    def run(pc: Pieces, li: int) -> list[Pieces]:
        if li == len(net.levels):
            finished[0] += len(pc)
            return [pc]
        if stop():
            return []
        lv = net.levels[li]
        src_cols = col_of[lv.sources]
        pc.mask = np.zeros((len(pc), *lv.W.shape), dtype=bool)
        pc.fires = np.zeros((len(pc), len(lv.neurons)), dtype=bool)
        for i in range(len(lv.neurons)):
            if stop():
                return []
            pc, ok = _split_neuron(pc, lv, i, src_cols, tol, eps, scale, stats)
            if not ok:
                state["complete"], state["rounds_exceeded"] = False, True
            if li == 0:
                progress(i + 1, len(lv.neurons), f"level 1, neuron {i + 1}/{len(lv.neurons)}: {len(pc)} pieces")
        out = []
        for k in range(0, len(pc), CHUNK):
            part = _finish_level(pc.take(np.arange(k, min(k + CHUNK, len(pc)))), lv, src_cols, d)
            out += run(part, li + 1)
            if li == 0:
                progress(min(k + CHUNK, len(pc)), len(pc), f"deeper levels: {sum(len(p) for p in out)} pieces")
        return out

    empty = np.zeros((1, 0), dtype=bool)
    parts = run(Pieces(V0, n0, maps0, np.ones((1, net.first_neuron), dtype=bool), []), 0)
    parts = [p for p in parts if len(p)]
    if not parts:
        fin = Pieces(V0[:0], n0[:0], maps0[:0], empty[:0], [])
    else:
        fin = Pieces.cat(parts)
    return _result(net, domain, fin, col_of, tol, eps, adjacency, stats, state, t0)


def _result(net: SNN, domain: Domain, fin: Pieces, col_of, tol, eps, adjacency, stats, state, t0) -> RegionsResult:
    d = domain.dim
    N = len(fin)
    warnings: list[str] = []
    if state.get("rounds_exceeded"):
        warnings.append(f"a neuron needed more than {MAX_ROUNDS} refinement rounds: some pieces are unfinished")
    neuron_cols = col_of[net.first_neuron:]
    if N:
        bits = np.concatenate(fin.bits + [fin.fire[:, neuron_cols]], axis=1)
    else:
        bits = np.zeros((0, 0), dtype=bool)
    y, _ = centroid(fin.V, fin.n) if N else (np.zeros((0, d)), None)
    if N:
        check = pattern_bits(net, domain, y)
        bad = np.any(check != bits, axis=1)
        if bad.any():
            warnings.append(f"{int(bad.sum())} pieces have another pattern at their centre (rounding?): counts may be off")
            state["complete"] = False
    packed = np.packbits(bits, axis=1) if N else np.zeros((0, 0), dtype=np.uint8)
    keys = [r.tobytes() for r in packed]
    rho = measure(fin.V, fin.n) if N else np.zeros(0)
    best: dict[bytes, int] = {}
    for k, key in enumerate(keys):
        if key not in best or rho[k] > rho[best[key]]:
            best[key] = k
    out_cols = col_of[net.outputs]
    oG, oh, of = (fin.maps[:, out_cols, :d], fin.maps[:, out_cols, d], fin.fire[:, out_cols]) if N else (None,) * 3
    if N and net.decoder is not None:
        oG = oG / net.decoder.scale[None, :, None]
        oh = (oh - net.decoder.offset) / net.decoder.scale
    graph = nx.Graph()
    graph.add_nodes_from(range(N))
    linear = None
    if adjacency and N:
        _adjacency(net, domain, fin, y, keys, oG, oh, of, graph, eps, stats, warnings)
        same = nx.Graph()
        same.add_nodes_from(graph.nodes)
        same.add_edges_from((u, v) for u, v, s in graph.edges(data="same_map") if s)
        linear = nx.number_connected_components(same)
    regions: list[Region] = []
    if oG is not None and oh is not None and of is not None:         # N > 0
        regions = [Region(packed[k].tobytes().hex(), domain.point(y[k]).tolist(), float(rho[k]),
                          output_map(oG[k], oh[k], of[k])) for k in range(N)]
    return RegionsResult(
        engine="refine", kind="snn", dim=d, causal_regions=len(best), cells=N, linear_regions=linear,
        complete=state["complete"], time=time.perf_counter() - t0, tolerance=tol, stopped=state["stopped"],
        discontinuities=sum(1 for _, _, c in graph.edges(data="continuous") if not c) if adjacency else None,
        regions=regions, graph=graph if adjacency else None, stats=stats, warnings=warnings,
        polygons=[fin.V[k, : fin.n[k]] for k in range(N)] if d == 2 else None)


def _adjacency(net, domain, fin: Pieces, y, keys, oG, oh, of, graph, eps, stats, warnings) -> None:
    """Pieces sharing an edge (2-D) or an end point (1-D): probe just across every edge."""
    d = domain.dim
    N = len(fin)
    if d == 1:
        order = np.argsort(fin.V[:, 0, 0])
        for u, v in zip(order[:-1], order[1:]):
            p = fin.V[u, 1]
            _add_edge(graph, int(u), int(v), p, oG, oh, of)
        return
    K = fin.V.shape[1]
    k = np.arange(K)
    valid = k[None, :] < fin.n[:, None]
    nx_ = np.where(k[None, :] + 1 < fin.n[:, None], k[None, :] + 1, 0)
    Vn = np.take_along_axis(fin.V, nx_[:, :, None], axis=1)
    e = Vn - fin.V
    L = np.linalg.norm(e, axis=2)
    ok = valid & (L > 1e3 * eps)
    pi, ki = np.nonzero(ok)
    mid = 0.5 * (fin.V[pi, ki] + Vn[pi, ki])
    nrm = np.stack([e[pi, ki, 1], -e[pi, ki, 0]], axis=1) / L[pi, ki][:, None]   # outward (counter-clockwise)
    inside_box = np.all((mid > domain.lo + 1e3 * eps) & (mid < domain.hi - 1e3 * eps), axis=1) | \
        np.all(np.abs(nrm) < 1 - 1e-12, axis=1)
    q = mid + 1e2 * eps * nrm
    inb = inside_box & np.all((q > domain.lo) & (q < domain.hi), axis=1)
    pi, q, mid = pi[inb], q[inb], mid[inb]
    by_key: dict[bytes, list[int]] = {}
    for j, key in enumerate(keys):
        by_key.setdefault(key, []).append(j)
    found = np.full(len(pi), -1)
    for lo in range(0, len(q), 1 << 16):
        pb = np.packbits(pattern_bits(net, domain, q[lo: lo + (1 << 16)]), axis=1)
        for j, row in enumerate(pb):
            cands = by_key.get(row.tobytes(), ())
            if len(cands) == 1:
                found[lo + j] = cands[0]
            else:
                for c in cands:
                    if _contains(fin.V[c, : fin.n[c]], q[lo + j], 1e3 * eps):
                        found[lo + j] = c
                        break
    miss = found < 0
    stats["adjacency_misses"] = int(miss.sum())
    if miss.any():
        warnings.append(f"{int(miss.sum())} edge probes found no piece (thin pieces below the tolerance?)")
    for u, v, p in zip(pi[~miss], found[~miss], mid[~miss]):
        if u != v and not graph.has_edge(int(u), int(v)):
            _add_edge(graph, int(u), int(v), p, oG, oh, of)


def _contains(P: np.ndarray, q: np.ndarray, tol: float) -> bool:
    e = np.roll(P, -1, axis=0) - P
    cr = e[:, 0] * (q[1] - P[:, 1]) - e[:, 1] * (q[0] - P[:, 0])
    return bool(np.all(cr >= -tol * np.linalg.norm(e, axis=1)))


def _add_edge(graph, u, v, p, oG, oh, of) -> None:
    same_f = bool(np.array_equal(of[u], of[v]))
    f = of[u] & of[v]
    ya, yb = oG[u][f] @ p + oh[u][f], oG[v][f] @ p + oh[v][f]
    cont = same_f and bool(np.all(np.abs(ya - yb) <= 1e-7 * (1 + np.abs(ya))))
    dm = np.abs(np.column_stack([oG[u] - oG[v], oh[u] - oh[v]]))[f]
    same = same_f and bool(np.all(dm <= 1e-9 * (1 + np.abs(np.column_stack([oG[u], oh[u]])[f]))))
    graph.add_edge(u, v, continuous=cont, same_map=same)
