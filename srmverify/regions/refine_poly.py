"""Exact partitions of a box (or an affine slice) of dimension 2 to 4 by refinement, any signs.

The 2-D refinement of :mod:`.refine2d` in more dimensions: on a convex piece on which every
upstream causal set is fixed, the arrivals are affine, so the next neuron's causal set is fixed
on a convex sub-piece cut out by hyperplanes (the rows of :func:`.refine2d._neuron_rows`). Each
neuron refines every piece: its pattern is read at the piece's vertex average, the piece is cut
by the rows of that pattern (the inside keeps it), and the parts outside
(``P ∩ {row_1..row_{j-1} hold, row_j fails}``: convex, disjoint) are refined again. The pieces
are convex polytopes in vertex-and-row form (:mod:`.polytope`), cut by the double-description
step, vectorised over all pieces; no LP is solved except for a piece whose thickness the two
bounds below cannot decide.

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

import time
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..network import SNN
from ..results import Progress, no_progress
from ..settings import DEFAULT
from .polyhedron import ChebyshevLP, Domain, pattern_bits
from .polytope import Polytopes, _pad, _unpack, box, centroid, clip, half_width, thickness
from .refine2d import MAX_ROUNDS, VERTEX_TOL, Pieces, _finish_level, _neuron_rows, start_maps
from .result import Region, RegionsResult, output_maps, stop_reason

#: The largest domain dimension refined (vertex counts grow fast with the dimension).
MAX_DIM = 4


@dataclass
class _Cells:
    """Pieces: their geometry ``geo`` and, as in :class:`.refine2d.Pieces`, the affine maps
    ``maps`` (N, n_known, d + 1) and firing flags ``fire`` of the neurons known so far, the
    pattern bits of the finished levels and, while a level is refined, ``mask`` and ``fires``."""

    geo: Polytopes
    maps: np.ndarray
    fire: np.ndarray
    bits: list
    mask: np.ndarray | None = None
    fires: np.ndarray | None = None
    #: while a neuron is refined: the index of the piece each piece was cut from
    parent: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.geo)

    @property
    def V(self) -> np.ndarray:
        return self.geo.V

    @property
    def n(self) -> np.ndarray:
        return self.geo.n

    def take(self, idx: np.ndarray) -> "_Cells":
        return _Cells(self.geo.take(idx), self.maps[idx], self.fire[idx], [b[idx] for b in self.bits],
                      None if self.mask is None else self.mask[idx], None if self.fires is None else self.fires[idx],
                      None if self.parent is None else self.parent[idx])

    @staticmethod
    def cat(parts: list["_Cells"]) -> "_Cells":
        return _Cells(Polytopes.cat([p.geo for p in parts]), np.concatenate([p.maps for p in parts]),
                      np.concatenate([p.fire for p in parts]), [np.concatenate(b) for b in zip(*[p.bits for p in parts])],
                      None if parts[0].mask is None else np.concatenate([p.mask for p in parts]),
                      None if parts[0].fires is None else np.concatenate([p.fires for p in parts]),
                      None if parts[0].parent is None else np.concatenate([p.parent for p in parts]))


def _replace(geo: Polytopes, idx: np.ndarray, new: Polytopes) -> Polytopes:
    """``geo`` (modified in place where no array grows) with the polytopes ``idx`` replaced by ``new``."""
    K, C = max(geo.V.shape[1], new.V.shape[1]), max(geo.rid.shape[1], new.rid.shape[1])
    W = max(geo.Z.shape[2], new.Z.shape[2])
    out = Polytopes(_pad(geo.V, 1, K), geo.n, _pad(_pad(geo.Z, 1, K), 2, W), _pad(geo.rid, 1, C), geo.m, geo.rows)
    out.V[idx] = _pad(new.V, 1, K)
    out.Z[idx] = _pad(_pad(new.Z, 1, K), 2, W)
    out.rid[idx] = _pad(new.rid, 1, C)
    out.n[idx], out.m[idx] = new.n, new.m
    return out


def _cut(geo: Polytopes, rp: np.ndarray, ra: np.ndarray, rc: np.ndarray, tol: float, eps: float,
         stats: dict) -> tuple[Polytopes, np.ndarray, list[tuple[np.ndarray, Polytopes]]]:
    """Cut every piece ``p`` of ``geo`` by its rows ``ra[rp == p] · y <= rc[rp == p]`` in turn.

    Returns the pieces' insides (all rows hold), whether each inside is thicker than ``tol``
    (a thin one is dropped), and the thick outside parts ``(piece index, geometry)``:
    ``P ∩ {rows 1..j-1 hold, row j fails}``, disjoint. A row cuts only if some vertex is more
    than ``eps`` outside; a side is thin when half its width along the row is at most ``tol``.
    """
    norm = np.linalg.norm(ra, axis=1)
    ok = norm > DEFAULT.zero_row
    rp, ra, rc = rp[ok], ra[ok] / norm[ok, None], rc[ok] / norm[ok]
    order = np.argsort(rp, kind="stable")
    rp, ra, rc = rp[order], ra[order], rc[order]
    rank = np.arange(len(rp)) - np.searchsorted(rp, rp, side="left")
    alive = np.ones(len(geo), dtype=bool)
    outs = []
    for j in range(int(rank.max(initial=-1)) + 1):
        sel = np.flatnonzero(rank == j)
        sel = sel[alive[rp[sel]]]
        p, a, c = rp[sel], ra[sel], rc[sel]
        sub = geo.take(p)
        kv = np.arange(sub.V.shape[1])[None, :] < sub.n[:, None]
        s = np.einsum("rkd,rd->rk", sub.V, a) - c[:, None]
        smax = np.where(kv, s, -np.inf).max(axis=1)
        cuts = np.flatnonzero(smax > eps)
        if not len(cuts):
            continue
        p, a, c, sub, smax = p[cuts], a[cuts], c[cuts], sub.take(cuts), smax[cuts]
        smin = np.where(kv[cuts], s[cuts], np.inf).min(axis=1)
        stats["cuts"] += len(p)
        inside, outside = clip(sub, a, c, eps)
        thick_out = (outside.n > 0) & (0.5 * smax > tol)
        if thick_out.any():
            outs.append((p[thick_out], outside.take(np.flatnonzero(thick_out))))
        thin_in = (inside.n == 0) | (-0.5 * smin <= tol)
        alive[p[thin_in]] = False
        stats["dropped"] += int(thin_in.sum()) + int(((outside.n > 0) & ~thick_out).sum())
        geo = _replace(geo, p, inside)
    return geo, alive, outs


def _rows(work: _Cells, lv, i: int, src_cols: np.ndarray, y: np.ndarray, scale: float):
    """Neuron ``i``'s pattern at the points ``y`` of the pieces and its rows there
    (:func:`.refine2d._neuron_rows`)."""
    d = work.geo.dim
    G = work.maps[:, src_cols, :d]
    H = work.maps[:, src_cols, d] + lv.D[i]
    live = work.fire[:, src_cols] & lv.present[i]
    return _neuron_rows(G, H, live, lv.W[i], float(lv.thresholds[i]), y, None, work.V, work.n, scale)


def _split_neuron(pc: _Cells, lv, i: int, src_cols: np.ndarray, tol: float, eps: float, scale: float,
                  stats: dict) -> tuple[_Cells, bool]:
    """Refine ``pc`` until neuron ``i`` of level ``lv`` has one causal set on every piece; then
    merge the pieces of one causal set of a convex cell that came from one piece (:func:`_merge`)."""
    done: list[_Cells] = []
    work = pc.take(np.arange(len(pc)))
    work.parent = np.arange(len(pc))
    finished = False
    for _ in range(MAX_ROUNDS):
        if not len(work):
            finished = True
            break
        stats["rounds"] += 1
        causal, fires, rp, ra, rc = _rows(work, lv, i, src_cols, centroid(work.geo), scale)
        assert work.mask is not None and work.fires is not None          # set for the level
        work.mask[:, i], work.fires[:, i] = causal, fires
        geo, alive, outs = _cut(work.geo, rp, ra, rc, tol, eps, stats)
        keep = np.flatnonzero(alive)
        if len(keep):
            f = work.take(keep)
            f.geo = geo.take(keep)
            done.append(f)
        parts = []
        for p, g in outs:
            o = work.take(p)
            o.geo = g
            parts.append(o)
        work = _Cells.cat(parts) if parts else work.take(np.zeros(0, dtype=np.int64))
    if not finished:
        done.append(work)
    out = _Cells.cat(done) if done else pc.take(np.zeros(0, dtype=np.int64))
    if finished and len(out):
        out = _merge(pc, out, lv, i, src_cols, tol, eps, scale, stats)
    out.parent = None
    return out, finished


def _merge(pc: _Cells, out: _Cells, lv, i: int, src_cols: np.ndarray, tol: float, eps: float, scale: float,
           stats: dict) -> _Cells:
    """Replace the pieces of ``out`` that came from one parent piece of ``pc`` and lie in one cell
    of neuron ``i`` by one piece: the parent cut by that cell's rows.

    The refinement cuts a cell into several pieces where the plane of another cell's row crosses
    it; merged, the next neuron refines one piece instead of several. The cell is the one of a
    representative piece, its rows written on the parent (so every arrival order the parent leaves
    open is fixed); a piece with the same causal set joins it when all its vertices satisfy those
    rows (with mixed signs one causal set can have several cells: the others stay as they are)."""
    assert out.parent is not None and out.mask is not None and out.fires is not None
    key = np.concatenate([out.parent[:, None].view(np.uint8).reshape(len(out), -1),
                          np.packbits(np.column_stack([out.mask[:, i], out.fires[:, i]]), axis=1)], axis=1)
    _, first, inv, cnt = np.unique(np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1]))).ravel(),
                                   return_index=True, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    multi = np.flatnonzero(cnt > 1)
    if not len(multi):
        return out
    reps = first[multi]
    base = pc.take(out.parent[reps])
    base.parent = out.parent[reps]
    assert base.mask is not None and base.fires is not None
    base.mask[:, i], base.fires[:, i] = out.mask[reps, i], out.fires[reps, i]
    # the rows of the representatives' cells, written on their parent piece
    _, _, rp, ra, rc = _rows(base, lv, i, src_cols, centroid(out.geo.take(reps)), scale)
    norm = np.linalg.norm(ra, axis=1)
    ok = norm > DEFAULT.zero_row
    rp, ra, rc = rp[ok], ra[ok] / norm[ok, None], rc[ok] / norm[ok]
    geo, alive, _ = _cut(base.geo, rp, ra, rc, tol, eps, stats)
    # members: pieces of a group whose vertices all satisfy the group's rows
    grp = np.full(len(cnt), -1)
    grp[multi] = np.arange(len(multi))
    frag = np.flatnonzero(grp[inv] >= 0)
    g = grp[inv[frag]]
    order = np.argsort(rp, kind="stable")
    rp, ra, rc = rp[order], ra[order], rc[order]
    nrow = np.bincount(rp, minlength=len(reps))
    start = np.concatenate([[0], np.cumsum(nrow)[:-1]])
    pf = np.repeat(np.arange(len(frag)), nrow[g])
    row = np.repeat(start[g], nrow[g]) + np.arange(len(pf)) - np.repeat(np.cumsum(nrow[g]) - nrow[g], nrow[g])
    V = out.geo.V[frag[pf]]
    kv = np.arange(V.shape[1])[None, :] < out.geo.n[frag[pf]][:, None]
    viol = np.where(kv, np.einsum("pkd,pd->pk", V, ra[row]) - rc[row][:, None], -np.inf).max(axis=1)
    outside = np.zeros(len(frag), dtype=bool)
    outside[pf[viol > 1e3 * eps]] = True
    member = frag[~outside]
    stats["merged"] = stats.get("merged", 0) + len(member) - int(np.unique(inv[member]).size)
    used = np.zeros(len(reps), dtype=bool)
    used[grp[inv[member]]] = True
    rest = np.ones(len(out), dtype=bool)
    rest[member] = False
    base.geo = geo
    keep = np.flatnonzero(alive & used)
    return _Cells.cat([out.take(np.flatnonzero(rest)), base.take(keep)]) if len(keep) else out.take(np.flatnonzero(rest))


def _finish(pc: _Cells, lv, src_cols: np.ndarray, d: int) -> _Cells:
    """The level's affine maps and pattern bits (:func:`.refine2d._finish_level`), geometry kept."""
    f = _finish_level(Pieces(pc.V, pc.n, pc.maps, pc.fire, pc.bits, pc.mask, pc.fires), lv, src_cols, d)
    return _Cells(pc.geo, f.maps, f.fire, f.bits)


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

    pc = _Cells(box(domain.lo, domain.hi), maps0, np.ones((1, net.first_neuron), dtype=bool), [])
    for li, lv in enumerate(net.levels):
        src_cols = col_of[lv.sources]
        pc.mask = np.zeros((len(pc), *lv.W.shape), dtype=bool)
        pc.fires = np.zeros((len(pc), len(lv.neurons)), dtype=bool)
        for i in range(len(lv.neurons)):
            if stop():
                break
            pc, ok = _split_neuron(pc, lv, i, src_cols, tol, eps, scale, stats)
            if not ok:
                state["complete"], state["rounds_exceeded"] = False, True
            progress(i + 1, len(lv.neurons), f"level {li + 1}, neuron {i + 1}/{len(lv.neurons)}: {len(pc)} pieces")
        if state["stopped"]:
            pc = pc.take(np.zeros(0, dtype=np.int64))     # an unfinished level has no patterns
            break
        pc = _finish(pc, lv, src_cols, d)
    return _result(net, domain, pc, col_of, tol, eps, adjacency, max_regions, stats, state, t0)


def _result(net: SNN, domain: Domain, fin: _Cells, col_of: np.ndarray, tol: float, eps: float, adjacency: bool,
            max_regions: int | None, stats: dict, state: dict, t0: float) -> RegionsResult:
    d = domain.dim
    warnings: list[str] = []
    if state.get("rounds_exceeded"):
        warnings.append(f"a neuron needed more than {MAX_ROUNDS} refinement rounds: some pieces are unfinished")
    y = centroid(fin.geo)
    rho = thickness(fin.geo, y)
    # a piece neither provably thick nor provably thin: the Chebyshev LP on its rows decides
    keep = rho > tol
    unsure = np.flatnonzero(~keep)
    for k in unsure[half_width(fin.geo.take(unsure)) > tol]:
        R = fin.geo.R[k, : fin.geo.m[k]]
        c, r = ChebyshevLP(R[:, :d], R[:, d], domain.lo, domain.hi).centre()
        stats["lps"] += 1
        if c is not None and r > tol:
            keep[k], y[k], rho[k] = True, c, r
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
    # same; a piece whose map no other piece has is one by itself, so only the others are probed
    maps = np.where(of[:, :, None], np.concatenate([oG, oh[:, :, None]], axis=2), np.inf)
    mid = _ids(np.round(maps, 7).reshape(N, maps[0].size if N else 0))
    shared = np.flatnonzero(np.bincount(mid, minlength=N)[mid] > 1)
    probe = np.arange(N) if adjacency else shared
    u, v, cont, same = _adjacency(net, domain, fin, packed, pid, probe, oG, oh, of, eps, stats, warnings)
    link = nx.Graph()
    link.add_nodes_from(shared.tolist())
    link.add_edges_from(zip(u[same].tolist(), v[same].tolist()))
    linear = N - link.number_of_nodes() + nx.number_connected_components(link)
    graph = None
    if adjacency:
        graph = nx.Graph()
        graph.add_nodes_from(range(N))
        graph.add_edges_from((a, b, {"continuous": c, "same_map": s})
                             for a, b, c, s in zip(u.tolist(), v.tolist(), cont.tolist(), same.tolist()))
    X = domain.point(y) if N else np.zeros((0, len(domain.c)))
    regions = [Region(key.tobytes().hex(), x, r, om)
               for key, x, r, om in zip(packed, X.tolist(), rho.tolist(), output_maps(oG, oh, of))]
    return RegionsResult(
        engine="refine", kind="snn", dim=d, causal_regions=int(pid.max(initial=-1)) + 1, cells=N,
        linear_regions=linear, complete=state["complete"], time=time.perf_counter() - t0, tolerance=tol,
        stopped=state["stopped"], discontinuities=int((~cont).sum()) if adjacency else None,
        regions=regions, graph=graph, stats=stats, warnings=warnings)


def _ids(rows: np.ndarray) -> np.ndarray:
    """An id per distinct row of ``rows`` (N, k): ``0..#distinct - 1``."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    return np.unique(rows, axis=0, return_inverse=True)[1].ravel()


def _adjacency(net: SNN, domain: Domain, fin: _Cells, packed: np.ndarray, pid: np.ndarray, probe: np.ndarray,
               oG: np.ndarray, oh: np.ndarray, of: np.ndarray, eps: float, stats: dict,
               warnings: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pieces sharing a facet with the pieces ``probe``: probe just across the vertex average of
    each of their facets, locate the piece there by its simulated pattern (and, where a pattern
    has several pieces, by their rows). Returns the edges ``u < v`` and whether the output is
    continuous across each and has the same map on both sides."""
    d = domain.dim
    empty = np.zeros(0, dtype=np.int64)
    if not len(probe):
        return empty, empty, empty.astype(bool), empty.astype(bool)
    geo = fin.geo.take(probe)
    K, C = geo.V.shape[1], geo.rid.shape[1]
    valid = np.arange(K)[None, :] < geo.n[:, None]
    inc = _unpack(geo.Z)[:, :, :C] & valid[:, :, None]                       # (P, K, C)
    cnt = inc.sum(axis=1)
    pi, ri = np.nonzero((cnt >= d) & (np.arange(C)[None, :] < geo.m[:, None]))
    fpt = np.einsum("pk,pkd->pd", inc[pi, :, ri].astype(float), geo.V[pi]) / cnt[pi, ri][:, None]
    q = fpt + 1e2 * eps * fin.geo.rows[geo.rid[pi, ri]][:, :d]
    inb = np.all((q > domain.lo) & (q < domain.hi), axis=1)
    pi, q, fpt = probe[pi[inb]], q[inb], fpt[inb]
    found = np.full(len(q), -1)
    if len(q):
        qid = np.full(len(q), -1)
        pb = np.packbits(pattern_bits(net, domain, q), axis=1)
        both = _ids(np.concatenate([packed, pb]))
        first = np.full(both.max() + 1, -1)
        first[pid[::-1]] = np.arange(len(pid))[::-1]                 # a piece of every pattern id
        qpat = both[len(packed):]
        known = np.zeros(both.max() + 1, dtype=bool)
        known[both[: len(packed)]] = True
        remap = np.full(both.max() + 1, -1)
        remap[both[: len(packed)]] = pid
        qid[known[qpat]] = remap[qpat[known[qpat]]]
        count = np.bincount(pid)
        one = (qid >= 0) & (count[np.maximum(qid, 0)] == 1)
        by = np.argsort(pid, kind="stable")
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        found[one] = by[start[qid[one]]]
        many = np.flatnonzero((qid >= 0) & ~one)
        if len(many):
            reps = count[qid[many]]
            qq = np.repeat(many, reps)
            cand = by[np.repeat(start[qid[many]], reps) + np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)]
            Rc = fin.geo.R[cand]
            viol = np.einsum("pcd,pd->pc", Rc[:, :, :d], q[qq]) - Rc[:, :, d]
            inside = np.where(np.arange(Rc.shape[1])[None, :] < fin.geo.m[cand][:, None], viol, -np.inf).max(axis=1) \
                <= 1e3 * eps
            qi, ci = qq[inside], cand[inside]
            first = np.unique(qi, return_index=True)[1]                 # the first containing candidate
            found[qi[first]] = ci[first]
    miss = found < 0
    stats["adjacency_misses"] = stats.get("adjacency_misses", 0) + int(miss.sum())
    if miss.any():
        warnings.append(f"{int(miss.sum())} facet probes found no piece (thin pieces below the tolerance?)")
    u, v, p = pi[~miss], found[~miss], fpt[~miss]
    sel = u != v
    u, v, p = np.minimum(u, v)[sel], np.maximum(u, v)[sel], p[sel]
    _, first = np.unique(u * len(fin) + v, return_index=True)
    u, v, p = u[first], v[first], p[first]
    same_f = np.all(of[u] == of[v], axis=1)
    f = of[u] & of[v]
    ya = np.einsum("eod,ed->eo", oG[u], p) + oh[u]
    yb = np.einsum("eod,ed->eo", oG[v], p) + oh[v]
    cont = same_f & np.all(~f | (np.abs(ya - yb) <= 1e-7 * (1 + np.abs(ya))), axis=1)
    Ma = np.concatenate([oG[u], oh[u][:, :, None]], axis=2)
    Mb = np.concatenate([oG[v], oh[v][:, :, None]], axis=2)
    same = same_f & np.all(~f | np.all(np.abs(Ma - Mb) <= 1e-9 * (1 + np.abs(Ma)), axis=2), axis=1)
    return u, v, cont, same
