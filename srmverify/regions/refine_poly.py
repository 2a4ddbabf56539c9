"""Exact partitions of a box (or an affine slice) of dimension 2 to 6 by refinement, any signs.

The 2-D refinement of :mod:`.refine2d` in more dimensions: on a convex piece on which every
upstream causal set is fixed, the arrivals are affine, so the next neuron's causal set is fixed
on a convex sub-piece cut out by hyperplanes (the rows of :func:`.refine_kernel.rows_at`). Each
neuron refines every piece:
its pattern is read at the piece's vertex average, the piece is cut by the rows of that pattern
(the inside keeps it), and the parts outside (``P ∩ {row_1..row_{j-1} hold, row_j fails}``:
convex, disjoint) are refined again. The pieces are convex polytopes in vertex-and-facet form,
stored flat (:class:`.polytope.Flat`) and cut by the compiled double-description step
(:func:`.polytope.cut_one`); one neuron's refinement of all pieces is one compiled call
(:func:`_split_kernel`, the rows from :func:`.refine_kernel._piece_rows`), and so are the cuts of
the fragment merge, the witnesses, the facet probes and their location. No LP is solved except
for a piece whose thickness the two bounds below cannot decide.

Soundness (model.md §2, "Refinement in d dimensions"): the pieces partition the box (every cut
sends each point of a piece to exactly one side), so no region is missed but those whose pieces
are all thinner than the tolerance. A piece is dropped only when it is provably thin: half its
width along a row normal is at most the tolerance (then no ball of a larger radius fits). A
region is reported only with a witness: the piece's vertex average ``y``, at which the certified
simulation reproduces the piece's pattern, and around which the smallest slack of the piece's
rows is a radius of a ball inside the piece (larger than the tolerance; else a Chebyshev LP on the
rows decides, and its centre is the witness). A pattern mismatch at a witness is reported as a
warning and makes the result incomplete.
"""
from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import networkx as nx
import numba as nb
import numpy as np

from ..network import SNN
from ..results import Progress, no_progress
from ..settings import DEFAULT
from .polyhedron import ChebyshevLP, Domain, pattern_bits
from . import refine_kernel as K
from .polytope import Flat, _pad, cut_one, half_width, split_one
from .refine2d import MAX_ROUNDS, VERTEX_TOL, float_keys, start_maps
from .pieces import count_causal_pieces
from .result import RegionsResult, region_table, stop_reason

#: The largest domain dimension refined (vertex counts grow fast with the dimension).
MAX_DIM = 6


@dataclass
class _Cells:
    """Finished pieces: their geometry ``geo``, the affine spike-time maps ``maps`` (N, n_total,
    d + 1) and firing flags ``fire`` of every neuron and the pattern bits of every level."""

    geo: Flat
    maps: np.ndarray
    fire: np.ndarray
    bits: list

    def __len__(self) -> int:
        return len(self.geo)

    def take(self, idx: np.ndarray) -> "_Cells":
        return _Cells(self.geo.take(idx), self.maps[idx], self.fire[idx], [b[idx] for b in self.bits])


@dataclass
class _Level:
    """Pieces while a level is refined: geometry, the index ``par`` of the level-start piece each
    lies in (whose maps ``G @ y + H`` and firing flags ``F`` of the level's sources it shares) and
    the causal masks ``mask`` (N, n_level, n_src) and ``fires`` of the level's neurons so far."""

    geo: Flat
    par: np.ndarray
    mask: np.ndarray
    fires: np.ndarray

    def take(self, idx: np.ndarray) -> "_Level":
        return _Level(self.geo.take(idx), self.par[idx], self.mask[idx], self.fires[idx])


# ----------------------------------------------------------------------------- compiled kernels
@nb.njit(cache=True)
def _push(V, Z, R, vst, vct, rst, rct, nv, nr, npc, PV, PZ, PR):
    """Append the polytope ``(PV, PZ, PR)`` to a flat store with ``npc`` polytopes, ``nv``
    vertices and ``nr`` rows; returns the (grown) store and the new counts."""
    n, m = PV.shape[0], PR.shape[0]
    if nv + n > V.shape[0]:
        V, Z = K._grow_rows(V, nv + n), K._grow_rows(Z, nv + n)
    if nr + m > R.shape[0]:
        R = K._grow_rows(R, nr + m)
    if npc + 1 > vst.shape[0]:
        vst, vct, rst, rct = K._grow(vst, npc + 1), K._grow(vct, npc + 1), K._grow(rst, npc + 1), K._grow(rct, npc + 1)
    for k in range(n):                       # element-wise: no slice views (their refcounts cost more)
        for e in range(PV.shape[1]):
            V[nv + k, e] = PV[k, e]
        for e in range(PZ.shape[1]):
            Z[nv + k, e] = PZ[k, e]
    for k in range(m):
        for e in range(PR.shape[1]):
            R[nr + k, e] = PR[k, e]
    vst[npc], vct[npc], rst[npc], rct[npc] = nv, n, nr, m
    return V, Z, R, vst, vct, rst, rct, nv + n, nr + m, npc + 1


@nb.njit(cache=True)
def _store(d, nw, n):
    """An empty flat store with room for ``n`` polytopes."""
    n = max(n, 16)
    return (np.empty((8 * n, d)), np.zeros((8 * n, nw), dtype=np.uint64), np.empty((8 * n, d + 1)),
            np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64))


@nb.njit(cache=True)
def _spread(V, ra, rc, r):
    """Largest and smallest ``ra[r] · v - rc[r]`` over the vertices ``V``."""
    hi, lo = -np.inf, np.inf
    for k in range(V.shape[0]):
        s = -rc[r]
        for e in range(V.shape[1]):
            s += V[k, e] * ra[r, e]
        hi, lo = max(hi, s), min(lo, s)
    return hi, lo


@nb.njit(cache=True)
def _split_kernel(V, Z, vst, vct, R, rst, rct, par, G, H, F, D, present, w, theta, eps, vtol, tol, max_rounds):
    """One neuron's refinement of the flat polytopes ``(V, Z, vst, vct, R, rst, rct)`` (the compiled
    :func:`.refine_kernel.split_neuron` in d dimensions): the pattern of every piece is read at its
    vertex average (:func:`.refine_kernel._piece_rows`), the piece is cut by the rows of that
    pattern in turn, the outside parts ``P ∩ {rows 1..j-1 hold, row j fails}`` are refined again.
    A part is dropped when half its width along the cutting row is at most ``tol``.

    Returns the finished store, the input piece ``org`` each comes from, its causal set and firing
    flag, ``(rounds, cuts, dropped, unfinished)`` and whether some piece had no free row slot
    (then nothing else is meaningful: call again with more incidence words)."""
    d, nw, m = V.shape[1], Z.shape[1], G.shape[1]
    cV, cZ, cR, cvst, cvct, crst, crct = V.copy(), Z.copy(), R.copy(), vst.copy(), vct.copy(), rst.copy(), rct.copy()
    nc = len(vst)
    corg = np.arange(nc)
    oV, oZ, oR, ovst, ovct, orst, orct = _store(d, nw, nc)
    onv, onr, no = 0, 0, 0
    oorg = np.empty(max(nc, 16), dtype=np.int64)
    ocau = np.zeros((max(nc, 16), m), dtype=np.bool_)
    ofire = np.zeros(max(nc, 16), dtype=np.bool_)
    cap = m + m * (m + 1)
    ra, rc = np.empty((cap, d)), np.empty(cap)
    y, a, h = np.empty(d), np.empty(m), np.empty(m)
    order = np.empty(m, dtype=np.int64)
    cau, live = np.zeros(m, dtype=np.bool_), np.zeros(m, dtype=np.bool_)
    rounds, cuts, dropped = 0, 0, 0
    for _ in range(max_rounds):
        if nc == 0:
            break
        rounds += 1
        nV, nZ, nR, nvst, nvct, nrst, nrct = _store(d, nw, nc)
        nnv, nnr, nn = 0, 0, 0
        norg = np.empty(max(nc, 16), dtype=np.int64)
        for p in range(nc):
            k0, kn, r0, rn = cvst[p], cvct[p], crst[p], crct[p]
            PV, PZ, PR = cV[k0: k0 + kn], cZ[k0: k0 + kn], cR[r0: r0 + rn]
            q = par[corg[p]]
            for j in range(m):
                live[j] = F[q, j] and present[j]
                h[j] = H[q, j] + D[j]
            fires, nr = K._piece_rows(PV, kn, G[q], h, live, w, theta, eps, vtol, y, a, order, cau, ra, rc)
            alive = True
            for r in range(nr):
                smax, smin = _spread(PV, ra, rc, r)
                if smax <= eps:
                    continue
                if PR.shape[0] >= 64 * nw:
                    return (oV[:onv], oZ[:onv], ovst[:no], ovct[:no], oR[:onr], orst[:no], orct[:no], oorg[:no], ocau[:no],
                            ofire[:no], rounds, cuts, dropped, nc, True)
                cuts += 1
                outside, inside = 0.5 * smax > tol, -0.5 * smin > tol
                if outside:
                    if inside:
                        (PV, PZ, PR), (XV, XZ, XR) = split_one(PV, PZ, PR, ra[r], rc[r], eps)
                    else:
                        XV, XZ, XR = cut_one(PV, PZ, PR, -ra[r], -rc[r], eps)
                    nV, nZ, nR, nvst, nvct, nrst, nrct, nnv, nnr, nn = _push(
                        nV, nZ, nR, nvst, nvct, nrst, nrct, nnv, nnr, nn, XV, XZ, XR)
                    norg = K._grow(norg, nn)
                    norg[nn - 1] = corg[p]
                else:
                    dropped += 1
                    if inside:
                        PV, PZ, PR = cut_one(PV, PZ, PR, ra[r], rc[r], eps)
                if not inside:
                    alive = False
                    dropped += 1
                    break
            if alive and PV.shape[0]:
                oV, oZ, oR, ovst, ovct, orst, orct, onv, onr, no = _push(
                    oV, oZ, oR, ovst, ovct, orst, orct, onv, onr, no, PV, PZ, PR)
                if no > oorg.shape[0]:
                    oorg, ofire, ocau = K._grow(oorg, no), K._grow(ofire, no), K._grow_rows(ocau, no)
                oorg[no - 1], ofire[no - 1] = corg[p], fires
                ocau[no - 1] = cau
        cV, cZ, cR, cvst, cvct, crst, crct, corg = nV, nZ, nR, nvst, nvct, nrst, nrct, norg
        nc = nn
    for p in range(nc):                      # unfinished after max_rounds: no causal set
        k0, kn, r0, rn = cvst[p], cvct[p], crst[p], crct[p]
        oV, oZ, oR, ovst, ovct, orst, orct, onv, onr, no = _push(
            oV, oZ, oR, ovst, ovct, orst, orct, onv, onr, no, cV[k0: k0 + kn], cZ[k0: k0 + kn],
            cR[r0: r0 + rn])
        oorg, ofire, ocau = K._grow(oorg, no), K._grow(ofire, no), K._grow_rows(ocau, no)
        oorg[no - 1], ofire[no - 1] = corg[p], False
        ocau[no - 1] = False
    return (oV[:onv], oZ[:onv], ovst[:no], ovct[:no], oR[:onr], orst[:no], orct[:no], oorg[:no], ocau[:no],
            ofire[:no], rounds, cuts, dropped, nc, False)


@nb.njit(cache=True)
def _groups(org, causal, fires):
    """Group of every piece: the pieces with one parent ``org`` and one causal set and firing flag
    (numbered in the order of their parents, then of their first piece); the group count."""
    N, m = causal.shape
    grp = np.full(N, -1, dtype=np.int64)
    order = np.argsort(org, kind="mergesort")
    reps = np.empty(N, dtype=np.int64)
    ng, k = 0, 0
    while k < N:
        first = ng
        e = k
        while e < N and org[order[e]] == org[order[k]]:
            p = order[e]
            for g in range(first, ng):
                r = reps[g]
                same = fires[p] == fires[r]
                for j in range(m):
                    same = same and causal[p, j] == causal[r, j]
                if same:
                    grp[p] = g
                    break
            if grp[p] < 0:
                reps[ng], grp[p] = p, ng
                ng += 1
            e += 1
        k = e
    return grp, reps[:ng].copy()


@nb.njit(cache=True)
def _merge_kernel(V, Z, vst, vct, R, rst, rct, oV, oZ, ovst, ovct, oR, orst, orct, org, causal, fires, par,
                  G, H, F, D, present, w, theta, eps, vtol, tol):
    """The pieces ``(oV, ..., orct)`` of one neuron's refinement of the pieces ``(V, ..., rct)``
    (``org``: the piece each comes from) with every group of pieces of one parent and one causal
    set and firing flag (:func:`_groups`) replaced by one piece: the parent cut by the rows of the
    cell of the group's first piece, read at its vertex average (:func:`.refine_kernel.rows_at`),
    which holds every piece of the group whose vertices satisfy those rows up to ``1e3 eps`` (the
    members go when the cell is thinner than ``tol`` along a cutting row). With mixed signs one
    causal set can have several cells: the other pieces of the group stay when one of the rows
    leaves them outside the cell, else (a piece that may overlap the cell) the whole group stays
    unmerged, so the pieces stay a partition.

    Returns the flat store (the pieces kept, in order, then the merged ones), the piece of the
    input each takes its causal data from, the pieces merged away, the groups of more than one
    piece and whether some piece had no free row slot (then call again with more incidence words)."""
    N, d, nw, m = len(org), V.shape[1], Z.shape[1], G.shape[1]
    grp, reps = _groups(org, causal, fires)
    ng = len(reps)
    cnt = np.zeros(ng, dtype=np.int64)
    for p in range(N):
        cnt[grp[p]] += 1
    mst = np.zeros(ng + 1, dtype=np.int64)
    for g in range(ng):
        mst[g + 1] = mst[g] + cnt[g]
    members = np.empty(N, dtype=np.int64)
    fill = mst[:ng].copy()
    for p in range(N):
        members[fill[grp[p]]] = p
        fill[grp[p]] += 1
    member = np.zeros(N, dtype=np.bool_)
    cap = m + m * (m + 1)
    ra, rc = np.empty((cap, d)), np.empty(cap)
    y, a, h = np.empty(d), np.empty(m), np.empty(m)
    order = np.empty(m, dtype=np.int64)
    cau, live = np.zeros(m, dtype=np.bool_), np.zeros(m, dtype=np.bool_)
    nV, nZ, nR, nvst, nvct, nrst, nrct = _store(d, nw, 16)
    nnv, nnr, nn = 0, 0, 0
    nsrc = np.empty(16, dtype=np.int64)
    merged, multi = 0, 0
    for g in range(ng):
        if cnt[g] < 2:
            continue
        multi += 1
        r = reps[g]
        y[:] = 0.0
        for k in range(ovst[r], ovst[r] + ovct[r]):
            for e in range(d):
                y[e] += oV[k, e]
        for e in range(d):
            y[e] /= max(ovct[r], 1)
        p = org[r]
        k0, kn, r0, rn = vst[p], vct[p], rst[p], rct[p]
        PV, PZ, PR = V[k0: k0 + kn], Z[k0: k0 + kn], R[r0: r0 + rn]
        q = par[p]
        for j in range(m):
            live[j] = F[q, j] and present[j]
            h[j] = H[q, j] + D[j]
        _, nr = K.rows_at(PV, kn, y, K.reach(PV, kn, y), G[q], h, live, w, theta, eps, vtol, a, order, cau, ra, rc)
        alive = True
        for t in range(nr):
            smax, smin = _spread(PV, ra, rc, t)
            if smax <= eps:
                continue
            if -0.5 * smin <= tol:
                alive = False
                break
            if PR.shape[0] >= 64 * nw:
                return (nV[:0], nZ[:0], nvst[:0], nvct[:0], nR[:0], nrst[:0], nrct[:0], nsrc[:0], 0, 0, True)
            PV, PZ, PR = cut_one(PV, PZ, PR, ra[t], rc[t], eps)
        used, straddles = 0, False
        for c in range(mst[g], mst[g + 1]):
            f = members[c]
            inside, apart = True, False
            for t in range(nr):
                hi, lo = _spread(oV[ovst[f]: ovst[f] + ovct[f]], ra, rc, t)
                inside = inside and hi <= 1e3 * eps
                apart = apart or lo >= -eps
            if inside:
                member[f] = True
                used += 1
            straddles = straddles or not (inside or apart)
        if straddles:        # a piece of the group that may overlap the cell: the group stays as it is
            for c in range(mst[g], mst[g + 1]):
                member[members[c]] = False
        elif used:
            merged += used - 1
            if alive:
                nV, nZ, nR, nvst, nvct, nrst, nrct, nnv, nnr, nn = _push(
                    nV, nZ, nR, nvst, nvct, nrst, nrct, nnv, nnr, nn, PV, PZ, PR)
                nsrc = K._grow(nsrc, nn)
                nsrc[nn - 1] = r
    nkeep = N - member.sum()
    src = np.empty(nkeep + nn, dtype=np.int64)
    xV, xZ, xR, xvst, xvct, xrst, xrct = _store(d, nw, nkeep + nn)
    xnv, xnr, nx_ = 0, 0, 0
    for p in range(N):
        if not member[p]:
            xV, xZ, xR, xvst, xvct, xrst, xrct, xnv, xnr, nx_ = _push(
                xV, xZ, xR, xvst, xvct, xrst, xrct, xnv, xnr, nx_, oV[ovst[p]: ovst[p] + ovct[p]],
                oZ[ovst[p]: ovst[p] + ovct[p]], oR[orst[p]: orst[p] + orct[p]])
            src[nx_ - 1] = p
    for t in range(nn):
        xV, xZ, xR, xvst, xvct, xrst, xrct, xnv, xnr, nx_ = _push(
            xV, xZ, xR, xvst, xvct, xrst, xrct, xnv, xnr, nx_, nV[nvst[t]: nvst[t] + nvct[t]],
            nZ[nvst[t]: nvst[t] + nvct[t]], nR[nrst[t]: nrst[t] + nrct[t]])
        src[nx_ - 1] = nsrc[t]
    return (xV[:xnv], xZ[:xnv], xvst[:nx_], xvct[:nx_], xR[:xnr], xrst[:nx_], xrct[:nx_], src, merged, multi, False)


def _widen(geo: Flat) -> Flat:
    """``geo`` with one more incidence word per vertex."""
    return Flat(geo.V, _pad(geo.Z, 1, geo.Z.shape[1] + 1), geo.vst, geo.vct, geo.R, geo.rst, geo.rct)


def _split_neuron(pc: _Level, G: np.ndarray, H: np.ndarray, F: np.ndarray, lv, i: int, tol: float, eps: float,
                  scale: float, stats: dict) -> tuple[_Level, bool]:
    """Refine ``pc`` until neuron ``i`` of level ``lv`` has one causal set on every piece; then
    merge the pieces of one causal set of a convex cell that came from one piece (:func:`_merge_kernel`:
    the refinement cuts a cell into several pieces where the plane of another cell's row crosses
    it; merged, the next neuron refines one piece instead of several)."""
    geo = pc.geo
    neuron = (np.ascontiguousarray(lv.D[i], dtype=float), np.ascontiguousarray(lv.present[i]),
              np.ascontiguousarray(lv.W[i], dtype=float), float(lv.thresholds[i]), eps, VERTEX_TOL * scale)
    while True:
        out = _split_kernel(geo.V, geo.Z, geo.vst, geo.vct, geo.R, geo.rst, geo.rct, pc.par, G, H, F, *neuron,
                            tol, MAX_ROUNDS)
        if not out[-1]:
            break
        geo = _widen(geo)
    V, Z, vst, vct, R, rst, rct, org, causal, fires, rounds, cuts, dropped, left, _ = out
    stats["rounds"] += int(rounds)
    stats["cuts"] += int(cuts)
    stats["dropped"] += int(dropped)
    res = Flat(V, Z, vst, vct, R, rst, rct)
    if left == 0 and len(org):
        while True:
            m = _merge_kernel(geo.V, geo.Z, geo.vst, geo.vct, geo.R, geo.rst, geo.rct, res.V, res.Z, res.vst, res.vct,
                              res.R, res.rst, res.rct, org, causal, fires, pc.par, G, H, F, *neuron, tol)
            if not m[-1]:
                break
            geo, res = _widen(geo), _widen(res)
        res, src = Flat(*m[:7]), m[7]
        org, causal, fires = org[src], causal[src], fires[src]
        if m[9]:
            stats["merged"] = stats.get("merged", 0) + int(m[8])
    mask, fi = pc.mask[org], pc.fires[org]
    mask[:, i], fi[:, i] = causal, fires
    return _Level(res, pc.par[org], mask, fi), left == 0


def refine_nd(net: SNN, domain: Domain, *, tolerance: float | None = None, adjacency: bool = True,
              max_regions: int | None = None, timeout: float | None = None,
              progress: Progress = no_progress) -> RegionsResult:
    """Every full-dimensional region of ``net`` on a ``domain`` of dimension 2 to :data:`MAX_DIM`.

    The same counts as :func:`srmverify.regions.traverse` (regions = distinct causal patterns;
    ``cells`` = convex pieces, at least as many); with ``adjacency`` the graph of pieces sharing
    a facet and the linear regions. ``timeout`` (checked after every neuron) and ``max_regions``
    stop early: the result is then incomplete (lower bounds).

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 2.0, 1.5]] * 3], [[1.0, 2.0, 3.0]])      # (m+1)^d - m^d
    >>> r = refine_nd(net, Domain.box([[0, 100]] * 3))
    >>> r.causal_regions, r.linear_regions, r.complete
    (37, 37, True)
    """
    t0 = time.perf_counter()
    d = domain.dim
    if not 2 <= d <= MAX_DIM:
        raise ValueError(f"the d-dimensional refinement handles dimensions 2 to {MAX_DIM}")
    scale = domain.scale
    tol = DEFAULT.region_radius_tol * scale if tolerance is None else float(tolerance)
    eps = VERTEX_TOL * scale
    maps0, col_of = start_maps(net, domain)
    stats = {"rounds": 0, "cuts": 0, "dropped": 0, "lps": 0}
    state: dict = {"complete": True, "stopped": None}

    def stop() -> bool:
        why = state["stopped"] or stop_reason(0, None, t0, timeout)
        if why:
            state["complete"], state["stopped"] = False, why
        return why is not None

    geo, maps, fire = Flat.box(domain.lo, domain.hi), maps0, np.ones((1, net.first_neuron), dtype=bool)
    bits: list[np.ndarray] = []
    for li, lv in enumerate(net.levels):
        src_cols = col_of[lv.sources]
        G, H = np.ascontiguousarray(maps[:, src_cols, :d]), np.ascontiguousarray(maps[:, src_cols, d])
        F = np.ascontiguousarray(fire[:, src_cols])
        N = len(geo)
        pc = _Level(geo, np.arange(N), np.zeros((N, *lv.W.shape), dtype=bool), np.zeros((N, len(lv.neurons)), dtype=bool))
        for i in range(len(lv.neurons)):
            if stop():
                break
            pc, ok = _split_neuron(pc, G, H, F, lv, i, tol, eps, scale, stats)
            if not ok:
                state["complete"], state["rounds_exceeded"] = False, True
            progress(i + 1, len(lv.neurons), f"level {li + 1}, neuron {i + 1}/{len(lv.neurons)}: {len(pc.par)} pieces")
        if state["stopped"]:
            geo = geo.take(np.zeros(0, dtype=np.int64))     # an unfinished level has no patterns
            maps, fire, bits = maps[:0], fire[:0], [b[:0] for b in bits]
            break
        new = K.level_maps(G, H, pc.par, pc.mask, pc.fires, np.ascontiguousarray(lv.W, dtype=float),
                           np.ascontiguousarray(lv.D, dtype=float), np.ascontiguousarray(lv.thresholds, dtype=float))
        geo, maps = pc.geo, np.concatenate([maps[pc.par], new], axis=1)
        fire, bits = np.concatenate([fire[pc.par], pc.fires], axis=1), [b[pc.par] for b in bits] + [pc.mask[:, lv.present]]
    return _result(net, domain, _Cells(geo, maps, fire, bits), col_of, tol, eps, adjacency, max_regions,
                   stats, state, t0)


def _result(net: SNN, domain: Domain, fin: _Cells, col_of: np.ndarray, tol: float, eps: float, adjacency: bool,
            max_regions: int | None, stats: dict, state: dict, t0: float) -> RegionsResult:
    d = domain.dim
    warnings: list[str] = []
    if state.get("rounds_exceeded"):
        warnings.append(f"a neuron needed more than {MAX_ROUNDS} refinement rounds: some pieces are unfinished")
    geo = fin.geo
    y, rho = _centres(geo.V, geo.vst, geo.vct, geo.R, geo.rst, geo.rct)
    # a piece neither provably thick nor provably thin: the Chebyshev LP on its rows decides
    keep = rho > tol
    unsure = np.flatnonzero(~keep)
    for k in unsure[half_width(geo.take(unsure).padded()) > tol] if len(unsure) else unsure:
        R = geo.R[geo.rst[k]: geo.rst[k] + geo.rct[k]]
        c, r = ChebyshevLP(R[:, :d], R[:, d], domain.lo, domain.hi).centre()
        stats["lps"] += 1
        if c is not None and r > tol:
            keep[k], y[k], rho[k] = True, c, r
    if not keep.all():
        fin, y, rho = fin.take(np.flatnonzero(keep)), y[keep], rho[keep]
    if fin.fire.shape[1] < net.n_total:                     # stopped before the last level: nothing finished
        none = fin.take(np.zeros(0, dtype=np.int64))
        fin = _Cells(none.geo, np.zeros((0, net.n_total, d + 1)), np.zeros((0, net.n_total), dtype=bool), [])
    bits = np.concatenate(fin.bits + [fin.fire[:, col_of[net.first_neuron:]]], axis=1)
    if len(fin):
        bad = np.any(pattern_bits(net, domain, y) != bits, axis=1)
        if bad.any():
            warnings.append(f"{int(bad.sum())} pieces have another pattern at their witness point (rounding?): "
                            "counts may be off")
            state["complete"] = False
    packed = np.packbits(bits, axis=1)
    pid = _ids(packed)
    if max_regions is not None and int(pid.max(initial=-1)) >= max_regions:
        sel = np.flatnonzero(pid < max_regions)
        fin, y, rho, packed, pid = fin.take(sel), y[sel], rho[sel], packed[sel], pid[sel]
        state["complete"], state["stopped"] = False, "max-regions"
    N = len(fin)
    out_cols = col_of[net.outputs]
    oG, oh, of = fin.maps[:, out_cols, :d], fin.maps[:, out_cols, d], fin.fire[:, out_cols]
    if net.decoder is not None:
        oG = oG / net.decoder.scale[None, :, None]
        oh = (oh - net.decoder.offset) / net.decoder.scale
    # linear regions: components of pieces joined across facets where the output map is the
    # same; a piece whose map no other piece has is one by itself, so only the others are probed.
    # Maps (rounded to 7 decimals, -0.0 made 0.0) are compared by a hash of their bits in integer
    # arithmetic (exact, so equal maps hash alike in any summation order); a collision only probes
    # a piece more.
    maps = np.where(of[:, :, None], np.concatenate([oG, oh[:, :, None]], axis=2), np.inf)
    words = (np.round(maps, 7) + 0.0).reshape(N, maps.shape[1] * (d + 1)).view(np.uint64)
    key = (words * _multipliers(words.shape[1])).sum(axis=1, dtype=np.uint64)
    if adjacency:
        probe, group = np.arange(N), None
    else:
        group = np.unique(key, return_inverse=True)[1].ravel()
        probe = np.flatnonzero(np.bincount(group)[group] > 1)       # the pieces whose map another piece has
    u, v, cont, same = _adjacency(net, domain, fin, packed, pid, probe, group, oG, oh, of, eps, stats, warnings)
    linear = int(K.components(N, u[same], v[same]))
    graph = None
    if adjacency:
        graph = nx.Graph()
        graph.add_nodes_from(range(N))
        graph.add_edges_from((a, b, {"continuous": c, "same_map": s})
                             for a, b, c, s in zip(u.tolist(), v.tolist(), cont.tolist(), same.tolist()))
    return RegionsResult(
        engine="refine", kind="snn", dim=d, causal_regions=int(pid.max(initial=-1)) + 1, cells=N,
        linear_regions=linear, complete=state["complete"], time=time.perf_counter() - t0, tolerance=tol,
        stopped=state["stopped"], discontinuities=int((~cont).sum()) if adjacency else None,
        regions=region_table(packed, lambda: domain.point(y) if N else np.zeros((0, len(domain.c))), rho, oG, oh, of),
        causal_pieces=count_causal_pieces(net, packed), graph=graph, stats=stats, warnings=warnings)


@functools.lru_cache(maxsize=64)
def _multipliers(n: int) -> np.ndarray:
    """``n`` fixed odd 64-bit multipliers of the output-map hash of :func:`_result` (read-only)."""
    mult = np.random.default_rng(13).integers(1, 2 ** 63, n, dtype=np.uint64) | np.uint64(1)
    mult.flags.writeable = False
    return mult


@nb.njit(cache=True)
def _centres(V, vst, vct, R, rst, rct):
    """Vertex average ``y`` of every flat polytope and the smallest slack of its rows there (a
    ball of that radius around ``y`` is inside: a lower bound of the inradius)."""
    N, d = len(vst), V.shape[1]
    y, rho = np.zeros((N, d)), np.full(N, np.inf)
    for p in range(N):
        for k in range(vst[p], vst[p] + vct[p]):
            for e in range(d):
                y[p, e] += V[k, e]
        for e in range(d):
            y[p, e] /= max(vct[p], 1)
        for r in range(rst[p], rst[p] + rct[p]):
            s = R[r, d]
            for e in range(d):
                s -= R[r, e] * y[p, e]
            rho[p] = min(rho[p], s)
    return y, rho


@nb.njit(cache=True)
def _facet_probes(V, Z, vst, vct, R, rst, rct, probe, lo, hi, step):
    """For every facet (row tight at ``d`` or more vertices) of the flat polytopes ``probe``: the
    polytope, a point ``step`` beyond the facet's vertex average, and that average (facets whose
    point is outside the box ``lo, hi`` left out)."""
    d = V.shape[1]
    tot = 0
    for p in probe:
        tot += rct[p]
    pi, q, f = np.empty(tot, dtype=np.int64), np.empty((tot, d)), np.empty((tot, d))
    c = 0
    x = np.empty(d)
    for p in probe:
        for r in range(rct[p]):
            w, b = r >> 6, np.uint64(1) << np.uint64(r & 63)
            cnt = 0
            x[:] = 0.0
            for k in range(vst[p], vst[p] + vct[p]):
                if Z[k, w] & b:
                    cnt += 1
                    for e in range(d):
                        x[e] += V[k, e]
            if cnt < d:
                continue
            inb = True
            for e in range(d):
                f[c, e] = x[e] / cnt
                q[c, e] = f[c, e] + step * R[rst[p] + r, e]
                inb = inb and lo[e] < q[c, e] < hi[e]
            if inb:
                pi[c] = p
                c += 1
    return pi[:c], q[:c], f[:c]


@nb.njit(cache=True)
def _locate(q, own, cand_start, cand_count, members, R, rst, rct, tol):
    """For every probe ``q[i]`` (just across a facet of polytope ``own[i]``) the flat polytope
    among ``members[cand_start[i] : + cand_count[i]]`` but ``own[i]`` whose largest row
    violation at ``q[i]`` is smallest, if at most ``tol`` (the only candidate without a test),
    else -1. (The first within ``tol`` would depend on the order: the probe is within ``tol`` of
    its own polytope and of every polytope at a corner of the facet.)"""
    out = np.full(len(q), -1, dtype=np.int64)
    d = q.shape[1]
    for i in range(len(q)):
        c0, cn = cand_start[i], cand_count[i]
        if cn == 1:
            out[i] = members[c0]
            continue
        best = tol
        for c in range(c0, c0 + cn):
            k = members[c]
            if k == own[i]:
                continue
            worst = -np.inf
            for r in range(rst[k], rst[k] + rct[k]):
                s = -R[r, d]
                for e in range(d):
                    s += R[r, e] * q[i, e]
                worst = max(worst, s)
                if worst > best:
                    break
            if worst <= best:
                best, out[i] = worst, k
    return out


@nb.njit(cache=True)
def _word_ids(r):
    """:func:`_ids` of byte rows of at most 8 bytes (each read as one big-endian word)."""
    N, k = r.shape
    key = np.zeros(N, dtype=np.uint64)
    for i in range(N):
        for j in range(k):
            key[i] |= np.uint64(r[i, j]) << np.uint64(8 * (7 - j))
    order = np.argsort(key, kind="mergesort")
    ids = np.empty(N, dtype=np.int64)
    c = -1
    for t in range(N):
        if t == 0 or key[order[t]] != key[order[t - 1]]:
            c += 1
        ids[order[t]] = c
    return ids


def _ids(rows: np.ndarray) -> np.ndarray:
    """An id per distinct row of ``rows`` (N, k) (bytes compared; ids in the rows' byte order)."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    r = np.ascontiguousarray(rows)
    if r.dtype == np.uint8 and r.shape[1] <= 8:        # one big-endian word a row: the same order, compiled
        return _word_ids(r)
    return np.unique(r.view(np.dtype((np.void, r.dtype.itemsize * r.shape[1]))).ravel(), return_inverse=True)[1].ravel()


def _adjacency(net: SNN, domain: Domain, fin: _Cells, packed: np.ndarray, pid: np.ndarray,
               probe: np.ndarray, group: np.ndarray | None, oG: np.ndarray, oh: np.ndarray, of: np.ndarray,
               eps: float, stats: dict, warnings: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pieces sharing a facet with the pieces ``probe``: probe just across (``1e2 eps``) the vertex
    average of each of their facets and locate the piece there among the candidates (its rows,
    :func:`_locate`). With ``group`` None every neighbour is wanted: the candidates are the pieces
    of the pattern at the probe (a float simulation, :func:`.refine2d.float_keys`), and a probe
    within ``1e3 eps`` of one of them counts. Else only the neighbours of a piece's own group
    (the pieces of one output-map hash: what the linear regions need): the candidates are that
    group, no simulation runs, and a probe counts only inside a candidate (no tolerance: the
    pieces partition the domain, so no other piece holds a point ``1e2 eps`` inside the
    neighbour). Returns the edges ``u < v`` and whether the output is continuous across each
    and has the same map on both sides."""
    empty = np.zeros(0, dtype=np.int64)
    if not len(probe):
        return empty, empty, empty.astype(bool), empty.astype(bool)
    geo = fin.geo
    pi, q, fpt = _facet_probes(geo.V, geo.Z, geo.vst, geo.vct, geo.R, geo.rst, geo.rct, probe, domain.lo,
                               domain.hi, 1e2 * eps)
    found = np.full(len(q), -1)
    if len(q):
        if group is None:
            ids, qid, tol = pid, np.full(len(q), -1), 1e3 * eps
            both = _ids(np.concatenate([packed, float_keys(net, domain, q)]))
            qpat = both[len(packed):]
            known = np.zeros(both.max() + 1, dtype=bool)
            known[both[: len(packed)]] = True
            remap = np.full(both.max() + 1, -1)
            remap[both[: len(packed)]] = pid
            qid[known[qpat]] = remap[qpat[known[qpat]]]
        else:
            ids, qid, tol = group, group[pi], 0.0
        count = np.bincount(ids)
        by = np.argsort(ids, kind="stable")
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        hit = qid >= 0
        found = _locate(q, pi, np.where(hit, start[np.maximum(qid, 0)], 0), np.where(hit, count[np.maximum(qid, 0)], 0),
                        by, geo.R, geo.rst, geo.rct, tol)
    miss = found < 0
    if group is None:
        stats["adjacency_misses"] = stats.get("adjacency_misses", 0) + int(miss.sum())
        if miss.any():
            warnings.append(f"{int(miss.sum())} facet probes found no piece (thin pieces below the tolerance?)")
    u, v, p = pi[~miss], found[~miss], fpt[~miss]
    sel = u != v
    u, v, p = np.minimum(u, v)[sel], np.maximum(u, v)[sel], p[sel]
    _, first = np.unique(u * len(fin) + v, return_index=True)
    u, v, p = u[first], v[first], p[first]
    return (u, v) + K.edge_kinds(u, v, p, oG, oh, of)
