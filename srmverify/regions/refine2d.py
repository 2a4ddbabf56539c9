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
convex and disjoint) are refined again. No LP is solved. FlatPieces whose inradius is below the
tolerance (``2·area/perimeter``, within a factor 2 of the Chebyshev radius; on a segment the
half-length) are dropped (``Settings.region_radius_tol``), as the traversal drops thinner regions. Every finished piece is
re-checked by simulating the network at its centroid: a different pattern there is reported as a
warning and the result marked incomplete. Float64 throughout; the stated tolerance is that of
the full-dimensionality test.

After every neuron the fragments of one cell (one parent piece, one causal set) are merged into
one convex piece where their union is one, so the next neuron refines cells, not fragments.
Adjacency (for linear regions and the plot) comes from the pieces' own geometry: every edge
carries the tag of the cut that made it, and pieces on opposite sides of one cut whose edges
overlap are neighbours (no probe, no simulation).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..network import SNN
from ..results import Progress, no_progress
from ..settings import DEFAULT
from .polyhedron import Domain, pattern_bits
from . import refine_kernel as K
from .pieces import count_causal_pieces
from .result import Lazy, RegionsResult, no_gc, region_table, stop_reason

#: A vertex closer than ``VERTEX_TOL * domain.scale`` to a cutting line lies on it.
VERTEX_TOL = 1e-12
#: FlatPieces processed together after a level (bounds the memory of the affine maps).
CHUNK = 4096
#: FlatPieces finished together after the last level (bounds the memory of the arrival maps).
FINISH_CHUNK = 8192
#: Points simulated together for the centre check.
PROBE_CHUNK = 1 << 16
#: Refinement rounds per neuron before giving up (the result is then incomplete).
MAX_ROUNDS = 400


@dataclass
class FlatPieces:
    """A batch of convex pieces, flat: the vertices of piece ``k`` are ``Vf[st[k] : st[k] + ct[k]]``
    (counter-clockwise in 2-D; ``[lo, hi]`` in 1-D); ``Tf`` the tag of the edge from each vertex
    to the next (the cut that made it, :func:`.refine_kernel.clip_one`; ``-1``: the domain's
    boundary)."""

    Vf: np.ndarray
    Tf: np.ndarray
    st: np.ndarray
    ct: np.ndarray

    def __len__(self) -> int:
        return len(self.st)

    def take(self, idx: np.ndarray) -> "FlatPieces":
        ct = self.ct[idx]
        st = np.concatenate([[0], np.cumsum(ct)[:-1]]).astype(np.int64) if len(ct) else np.zeros(0, np.int64)
        rows = np.repeat(self.st[idx] - st, ct) + np.arange(int(ct.sum()))
        return FlatPieces(self.Vf[rows], self.Tf[rows], st, ct)

    @staticmethod
    def cat(parts: list["FlatPieces"]) -> "FlatPieces":
        off = np.cumsum([0] + [len(p.Vf) for p in parts[:-1]])
        return FlatPieces(np.concatenate([p.Vf for p in parts]), np.concatenate([p.Tf for p in parts]),
                          np.concatenate([p.st + o for p, o in zip(parts, off)]), np.concatenate([p.ct for p in parts]))


@dataclass
class Known:
    """What the pieces at the start of a level know of the levels above: the affine maps
    ``maps`` (N, n_known, d + 1) and firing flags ``fire`` (N, n_known) of every neuron so far and
    the pattern bits ``bits`` (N, n_bits) of the finished levels."""

    maps: np.ndarray
    fire: np.ndarray
    bits: np.ndarray


@dataclass
class Finished:
    """FlatPieces after the last level: geometry, packed pattern ``keys`` (N, n_bytes) and the output
    maps ``omaps`` (N, n_outputs, d + 1) with firing flags ``ofire``."""

    pieces: FlatPieces
    keys: np.ndarray
    omaps: np.ndarray
    ofire: np.ndarray


def clip(V: np.ndarray, n: np.ndarray, a: np.ndarray, c: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip convex pieces ``V`` (N, K, d) (``n`` valid vertices) by the half-planes ``a_i · y <= c_i``.

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
    V = np.asarray(V, dtype=float)
    out = np.zeros((len(V), V.shape[1] + 1 if V.shape[2] == 2 else 2, V.shape[2]))
    tags = np.zeros(out.shape[1], dtype=np.int64)
    m = np.array([K.clip_one(V[i], int(n[i]), np.asarray(a[i], dtype=float), float(c[i]), eps, out[i], tags, tags, 0)
                  for i in range(len(V))], dtype=np.int64)
    return out[:, : max(int(m.max(initial=1)), 1)], m


def measure(V: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Inradius proxy of every piece: ``2·area/perimeter`` (2-D), half the length (1-D).

    >>> float(measure(np.array([[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]]), np.array([4]))[0])
    1.0
    """
    return np.array([K.measure_one(np.asarray(V[i], dtype=float), int(n[i])) for i in range(len(V))])


def first_crossing(a: np.ndarray, w: np.ndarray, theta: float) -> np.ndarray:
    """First-crossing time (model.md §1.2) for arrivals ``a`` (N, m) (``inf``: the source does
    not fire) and weights ``w`` (m,).

    >>> first_crossing(np.array([[0.0, 1.0, np.inf]]), np.array([2.0, -1.0, 5.0]), 1.0).tolist()
    [0.5]
    """
    return K.first_crossing_batch(np.ascontiguousarray(a, dtype=float), np.ascontiguousarray(w, dtype=float),
                                  float(theta))


def _split_neuron(pc: FlatPieces, par: np.ndarray, G: np.ndarray, H: np.ndarray, F: np.ndarray, lv, i: int,
                  tol: float, eps: float, stats: dict) -> tuple[FlatPieces, np.ndarray, np.ndarray, np.ndarray, bool]:
    """Refine ``pc`` until neuron ``i`` of level ``lv`` has one causal set on every piece, then
    (2-D) merge the fragments of each cell (:func:`.refine_kernel.merge_cells`). Returns the
    pieces, the piece of ``pc`` each comes from, its causal set and firing flag, and whether
    every piece finished within ``MAX_ROUNDS`` (else nothing is merged)."""
    Vf, Tf, st, ct, org, causal, fires, rounds, dropped, left, tag = K.split_neuron(
        pc.Vf, pc.Tf, pc.st, pc.ct, par, G, H, F, np.ascontiguousarray(lv.D[i]), np.ascontiguousarray(lv.present[i]),
        np.ascontiguousarray(lv.W[i], dtype=float), float(lv.thresholds[i]), eps, eps, tol, MAX_ROUNDS,
        stats["cuts"])                                   # the cuts are numbered: the tag of the next one
    if Vf.shape[1] == 2 and left == 0:
        Vf, Tf, st, ct, org, causal, fires, merged = K.merge_cells(Vf, Tf, st, ct, org, causal, fires, stats["cuts"], eps)
        stats["merged"] += int(merged)
    stats["rounds"] += int(rounds)
    stats["cuts"] = int(tag)
    stats["dropped"] += int(dropped)
    return FlatPieces(Vf, Tf, st, ct), org, causal, fires, left == 0


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
        V0 = np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]], dtype=float)
    else:
        V0 = np.array([[lo[0]], [hi[0]]], dtype=float)
    maps0, col_of = start_maps(net, domain)
    neuron_cols = col_of[net.first_neuron:]
    out_cols = col_of[net.outputs]
    stats = {"rounds": 0, "cuts": 0, "dropped": 0, "merged": 0}
    state: dict = {"complete": True, "stopped": None}
    finished = [0]

    def stop() -> bool:
        why = state["stopped"] or stop_reason(finished[0], max_regions, t0, timeout)
        if why:
            state["complete"], state["stopped"] = False, why
        return why is not None

    def run(pc: FlatPieces, known: Known, li: int) -> list[Finished]:
        if stop():
            return []
        lv = net.levels[li]
        src_cols = col_of[lv.sources]
        G = np.ascontiguousarray(known.maps[:, src_cols, :d])
        H = np.ascontiguousarray(known.maps[:, src_cols, d])
        F = np.ascontiguousarray(known.fire[:, src_cols])
        par = np.arange(len(pc))
        hist = []
        for i in range(len(lv.neurons)):
            if stop():
                return []
            pc, org, causal, fires, ok = _split_neuron(pc, par, G, H, F, lv, i, tol, eps, stats)
            if not ok:
                state["complete"], state["rounds_exceeded"] = False, True
            par = par[org]
            hist.append((org, causal, fires))
            if li == 0:
                progress(i + 1, len(lv.neurons), f"level 1, neuron {i + 1}/{len(lv.neurons)}: {len(pc)} pieces")
        mask, fires = _masks(hist, len(pc), lv)
        last = li == len(net.levels) - 1
        step = FINISH_CHUNK if last else CHUNK
        out: list[Finished] = []
        for k in range(0, len(pc), step):
            sl = slice(k, min(k + step, len(pc)))
            p, m, f = par[sl], mask[sl], fires[sl]
            new = K.level_maps(G, H, p, m, f, np.ascontiguousarray(lv.W, dtype=float), np.ascontiguousarray(lv.D, dtype=float),
                               np.ascontiguousarray(lv.thresholds, dtype=float))
            fire = np.concatenate([known.fire[p], f], axis=1)
            bits = np.concatenate([known.bits[p], m[:, lv.present]], axis=1)
            sub = pc if len(pc) <= step else pc.take(np.arange(sl.start, sl.stop))     # one chunk: no copy
            if last:
                n_known = known.maps.shape[1]
                old = out_cols < n_known
                omaps = np.empty((len(p), len(out_cols), d + 1))
                omaps[:, old] = known.maps[:, out_cols[old]][p]
                omaps[:, ~old] = new[:, out_cols[~old] - n_known]
                keys = np.packbits(np.concatenate([bits, fire[:, neuron_cols]], axis=1), axis=1)
                out.append(Finished(sub, keys, omaps, fire[:, out_cols]))
                finished[0] += len(sub)
            else:
                out += run(sub, Known(np.concatenate([known.maps[p], new], axis=1), fire, bits), li + 1)
            if li == 0:
                progress(min(k + step, len(pc)), len(pc), f"deeper levels: {sum(len(o.pieces) for o in out)} pieces")
            if stop():
                break
        return out

    known0 = Known(maps0, np.ones((1, net.first_neuron), dtype=bool), np.zeros((1, 0), dtype=bool))
    start = FlatPieces(V0, np.full(len(V0), -1, dtype=np.int64), np.zeros(1, np.int64), np.array([len(V0)]))
    parts = [p for p in run(start, known0, 0) if len(p.pieces)]
    if len(parts) == 1:
        fin = parts[0]
    elif parts:
        fin = Finished(FlatPieces.cat([p.pieces for p in parts]), np.concatenate([p.keys for p in parts]),
                       np.concatenate([p.omaps for p in parts]), np.concatenate([p.ofire for p in parts]))
    else:
        nbytes = (sum(int(lv.present.sum()) for lv in net.levels) + net.n_neurons + 7) // 8
        fin = Finished(FlatPieces(np.zeros((0, d)), np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)),
                       np.zeros((0, nbytes), np.uint8), np.zeros((0, len(out_cols), d + 1)),
                       np.zeros((0, len(out_cols)), dtype=bool))
    return _result(net, domain, fin, tol, eps, adjacency, stats, state, t0)


def float_keys(net: SNN, domain: Domain, Y: np.ndarray) -> np.ndarray:
    """Packed causal-pattern bits (the layout of :func:`.pattern_bits`) at the points ``Y`` of
    ``domain`` by a float forward simulation (compiled, no error bound, no exact settling).

    >>> net = SNN.layered([[[1.0, -1.0], [1.0, 1.0]]], [[1.0, 0.5]])
    >>> dom = Domain.box([[0, 3], [0, 3]])
    >>> Y = np.array([[0.5, 2.5], [2.5, 0.5]])
    >>> bool((float_keys(net, dom, Y) == np.packbits(pattern_bits(net, dom, Y), axis=1)).all())
    True
    """
    X = net.encode(domain.point(np.atleast_2d(Y)))
    T = np.empty((len(X), net.n_total))
    T[:, : net.n_inputs] = X
    T[:, net.n_inputs: net.first_neuron] = net.constants
    n_syn = [int(lv.present.sum()) for lv in net.levels]
    bits = np.empty((len(X), sum(n_syn) + net.n_neurons), dtype=bool)
    off = 0
    for lv, n in zip(net.levels, n_syn):
        T[:, lv.neurons] = K.level_float(T, np.ascontiguousarray(lv.sources), np.ascontiguousarray(lv.W, dtype=float),
                                         np.ascontiguousarray(lv.D, dtype=float),
                                         np.ascontiguousarray(lv.thresholds, dtype=float),
                                         np.ascontiguousarray(lv.present), bits, off)
        off += n
    bits[:, off:] = np.isfinite(T[:, net.first_neuron:])
    return np.packbits(bits, axis=1)


def _masks(hist: list, N: int, lv) -> tuple[np.ndarray, np.ndarray]:
    """Causal masks (N, n_level, n_src) and firing flags (N, n_level) of a level's neurons on its
    final pieces, from each neuron's ``(org, causal, fires)`` (``org``: the piece before it)."""
    mask = np.zeros((N, *lv.W.shape), dtype=bool)
    fires = np.zeros((N, len(lv.neurons)), dtype=bool)
    idx = np.arange(N)
    for i in reversed(range(len(hist))):
        org, causal, f = hist[i]
        mask[:, i], fires[:, i] = causal[idx], f[idx]
        idx = org[idx]
    return mask, fires


def _result(net: SNN, domain: Domain, fin: Finished, tol, eps, adjacency, stats, state, t0) -> RegionsResult:
    d = domain.dim
    pc = fin.pieces
    N = len(pc)
    warnings: list[str] = []
    if state.get("rounds_exceeded"):
        warnings.append(f"a neuron needed more than {MAX_ROUNDS} refinement rounds: some pieces are unfinished")
    y = K.centre_all(pc.Vf, pc.st, pc.ct) if N else np.zeros((0, d))
    bad = 0
    for k in range(0, N, PROBE_CHUNK):
        yk, keys = y[k: k + PROBE_CHUNK], fin.keys[k: k + PROBE_CHUNK]
        off = np.flatnonzero(np.any(float_keys(net, domain, yk) != keys, axis=1))
        if len(off):                     # settled by the simulator (near-ties in exact arithmetic)
            bad += int(np.any(np.packbits(pattern_bits(net, domain, yk[off]), axis=1) != keys[off], axis=1).sum())
    if bad:
        warnings.append(f"{bad} pieces have another pattern at their centre (rounding?): counts may be off")
        state["complete"] = False
    kv = np.ascontiguousarray(fin.keys).view(f"S{fin.keys.shape[1]}").ravel() if N else np.zeros(0, "S1")
    n_patterns = len(np.unique(kv))
    rho = K.measure_all(pc.Vf, pc.st, pc.ct) if N else np.zeros(0)
    oG, oh, of = fin.omaps[:, :, :d], fin.omaps[:, :, d], fin.ofire
    if net.decoder is not None:
        oG = oG / net.decoder.scale[None, :, None]
        oh = (oh - net.decoder.offset) / net.decoder.scale
    with no_gc():
        graph = nx.Graph()
        graph.add_nodes_from(range(N))
        linear, jumps = _adjacency(net, domain, pc, oG, oh, of, graph, eps) if adjacency and N else (None, 0)
    return RegionsResult(
        engine="refine", kind="snn", dim=d, causal_regions=n_patterns, cells=N, linear_regions=linear,
        complete=state["complete"], time=time.perf_counter() - t0, tolerance=tol, stopped=state["stopped"],
        discontinuities=jumps if adjacency else None, graph=graph if adjacency else None,
        regions=region_table(fin.keys, lambda: domain.point(y), rho, oG, oh, of),
        causal_pieces=count_causal_pieces(net, fin.keys), stats=stats, warnings=warnings,
        polygons=Lazy(N, lambda: np.split(pc.Vf, pc.st[1:]) if N else []) if d == 2 else None)


def _adjacency(net, domain, pc: FlatPieces, oG, oh, of, graph, eps) -> tuple[int, int]:
    """Pieces sharing an edge (2-D: a part of a cut longer than ``1e3 · eps``, from the edge
    tags, :func:`.refine_kernel.shared_edges`) or an end point (1-D). Adds the edges to ``graph``
    and returns the number of linear regions and of edges where the output map jumps."""
    N = len(pc)
    if domain.dim == 1:
        order = np.argsort(pc.Vf[pc.st, 0])
        u, v = order[:-1], order[1:]
        p = pc.Vf[pc.st[u] + 1]
    else:
        u, v, p = K.shared_edges(pc.Vf, pc.Tf, pc.st, pc.ct, 1e3 * eps)
        first = K.first_pairs(u, v, N)
        u, v, p = u[first], v[first], p[first]
    cont, same = K.edge_kinds(u, v, p, oG, oh, of)
    graph.add_edges_from((a, b, {"continuous": c, "same_map": s})
                         for a, b, c, s in zip(u.tolist(), v.tolist(), cont.tolist(), same.tolist()))
    return int(K.components(N, u[same], v[same])), int((~cont).sum())
