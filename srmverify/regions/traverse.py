"""Exact region enumeration by traversing the region adjacency graph.

Start in the cell at the centre of the domain; for every cell found: its Chebyshev centre (one
LP), each inequality's facet test (an in-place change and re-solve of the same highspy model),
and for each facet a step just across its relative-interior centre to read the neighbour's
pattern. A neighbour counts only if it is full-dimensional (Chebyshev radius > tolerance) and its
closure contains the facet point (else the step overshot and is retried shorter).

In a continuous network (positive-weight SNN, ReLU) the cell across a facet is the same along
the facet's relative interior, so one step per facet reaches every neighbour. A mixed-sign SNN
can jump across a facet; there the facet is covered piece by piece (each neighbour's
inequalities split off the part of the facet it does not cover, which is crossed again).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import networkx as nx
import numpy as np

from ..network import ReLUNet, SNN
from ..results import Progress, no_progress
from .polyhedron import Cell, ChebyshevLP, Domain, cell_at, pattern_bits
from .result import Region, RegionsResult, output_map, stop_reason
from ..settings import DEFAULT


@dataclass
class _Found:
    id: int
    cell: Cell
    centre: np.ndarray
    radius: float
    lp: ChebyshevLP | None = None


def traverse(
    net: SNN | ReLUNet,
    domain: Domain,
    *,
    tolerance: float | None = None,
    max_regions: int | None = None,
    timeout: float | None = None,
    progress: Progress = no_progress,
) -> RegionsResult:
    """Every full-dimensional region of ``net`` on ``domain``, with its adjacency graph.

    Parameters
    ----------
    net : an SNN (any weight signs) or a ReLU network.
    domain : the box, slice or segment (:class:`Domain`).
    tolerance : Chebyshev radius a region must exceed (default ``1e-9 * domain.scale``).
    max_regions, timeout : stop early (the result is then marked incomplete).
    progress : ``progress(found, max_regions, message)``.

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 1.0, 1.0]]], [[1.0]])
    >>> r = traverse(net, Domain.box([[0, 10]] * 3))
    >>> r.causal_regions, r.linear_regions, r.complete
    (7, 7, True)
    """
    t0 = time.perf_counter()
    tol = DEFAULT.region_radius_tol * domain.scale if tolerance is None else float(tolerance)
    ctol = DEFAULT.region_closure_tol * domain.scale
    mixed = isinstance(net, SNN) and not net.all_weights_positive
    found: dict[bytes, _Found] = {}
    graph = nx.Graph()
    queue: deque[_Found] = deque()
    warnings: list[str] = []
    stats = {"lps": 0, "facets": 0, "crossings": 0, "retries": 0, "failed_crossings": 0}

    def admit(cell: Cell) -> _Found | None:
        lp = ChebyshevLP(cell.A, cell.b, domain.lo, domain.hi)
        c, r = lp.centre()
        stats["lps"] += 1
        if c is None or r <= tol:
            return None
        f = _Found(len(found), cell, c, r, lp)
        found[cell.key] = f
        graph.add_node(f.id)
        queue.append(f)
        n = len(found)
        dt = time.perf_counter() - t0
        progress(n, max_regions, f"{n} regions, {n / max(dt, 1e-9):.0f}/s")
        return f

    start = _start(net, domain, admit)
    stopped = None
    if start is None:
        warnings.append("no full-dimensional region found at the start points")
    while queue:
        stopped = stop_reason(len(found), max_regions, t0, timeout)
        if stopped:
            break
        cur = queue.popleft()
        A, b = cur.cell.A, cur.cell.b
        lp, cur.lp = cur.lp, None
        assert lp is not None           # every queued cell carries the LP it was admitted with
        facets = []
        quick_p, quick_r = _projected_facet_points(A, b, cur.centre, domain)
        # a row that the box alone satisfies cannot cut the box's interior: not a facet
        box_max = np.maximum(A, 0) @ domain.hi + np.minimum(A, 0) @ domain.lo
        for i in range(len(b)):
            if box_max[i] <= b[i] + tol:
                continue
            if quick_r[i] > tol:
                p, rf = quick_p[i], quick_r[i]
            else:
                p, rf = lp.facet(i)
                stats["lps"] += 1
            if p is not None and rf > tol:
                facets.append((i, p, rf))
        stats["facets"] += len(facets)
        if not facets:
            continue
        if mixed:
            for i, p, rf in facets:
                _cover_facet(net, domain, cur, i, p, rf, found, admit, graph, tol, ctol, stats)
            continue
        # continuous network: one step per facet, all steps simulated in one batch
        idx = np.array([f[0] for f in facets])
        P = np.array([f[1] for f in facets])
        eps = np.minimum(0.5 * np.array([f[2] for f in facets]), min(0.5 * cur.radius, 1e-3 * domain.scale))
        bits = pattern_bits(net, domain, P + eps[:, None] * A[idx])
        stats["crossings"] += len(facets)
        for (i, p, rf), row in zip(facets, bits):
            nb = found.get(np.packbits(row).tobytes())
            if nb is None or nb is cur or not nb.cell.contains(p, ctol):
                nb = _cross(net, domain, cur, A[i], p, rf, found, admit, ctol, stats)
            if nb is None:
                stats["failed_crossings"] += 1
                continue
            if not graph.has_edge(cur.id, nb.id):
                graph.add_edge(cur.id, nb.id, continuous=not _jumps(cur.cell, nb.cell, p),
                               same_map=_same_map(cur.cell, nb.cell))
    if stats["failed_crossings"]:
        warnings.append(f"{stats['failed_crossings']} facet crossings found no full-dimensional neighbour "
                        "(regions thinner than the tolerance?): counts may be low")
    cells = sorted(found.values(), key=lambda f: f.id)
    same = nx.Graph()
    same.add_nodes_from(graph.nodes)
    same.add_edges_from((u, v) for u, v, s in graph.edges(data="same_map") if s)
    complete = stopped is None and start is not None and not stats["failed_crossings"]
    return RegionsResult(
        engine="traverse", kind="relu" if isinstance(net, ReLUNet) else "snn", dim=domain.dim,
        causal_regions=len({f.cell.pattern for f in cells}), cells=len(cells),
        linear_regions=nx.number_connected_components(same), complete=complete,
        time=time.perf_counter() - t0, tolerance=tol, stopped=stopped,
        discontinuities=sum(1 for _, _, c in graph.edges(data="continuous") if not c),
        regions=[Region(f.cell.pattern.hex(), domain.point(f.centre).tolist(), f.radius,
                        output_map(f.cell.out_G, f.cell.out_h, f.cell.out_fires)) for f in cells],
        graph=graph, stats=stats, warnings=warnings,
    )


def _projected_facet_points(A: np.ndarray, b: np.ndarray, c: np.ndarray, domain: Domain):
    """The centre projected onto every row's hyperplane, and the smallest slack of the other
    rows and the box there: a positive slack proves the row is a facet (no LP needed) and
    bounds the radius of a ball of the facet around the point from below."""
    P = c + (b - A @ c)[:, None] * A
    S = b[None, :] - P @ A.T
    np.fill_diagonal(S, np.inf)
    slack = np.minimum(S.min(axis=1, initial=np.inf),
                       np.minimum(domain.hi - P, P - domain.lo).min(axis=1, initial=np.inf))
    return P, slack


def _start(net, domain: Domain, admit) -> _Found | None:
    rng = np.random.default_rng(0)
    pts = [(domain.lo + domain.hi) / 2] + [domain.lo + rng.random(domain.dim) * (domain.hi - domain.lo)
                                           for _ in range(20)]
    for y in pts:
        f = admit(cell_at(net, domain, y))
        if f is not None:
            return f
    return None


def _cross(net, domain: Domain, cur: _Found, normal: np.ndarray, p: np.ndarray, rf: float,
           found: dict, admit, ctol: float, stats: dict) -> _Found | None:
    """The full-dimensional cell just across ``cur``'s facet at ``p`` (outward ``normal``)."""
    eps = min(0.5 * rf, 0.5 * cur.radius, 1e-3 * domain.scale)
    while eps > 1e-13 * domain.scale:
        stats["crossings"] += 1
        q = p + eps * normal
        cell = cell_at(net, domain, q)
        if cell.key != cur.cell.key and cell.contains(p, ctol):
            f = found.get(cell.key)
            if f is None:
                f = admit(cell)
            if f is not None:
                return f
        stats["retries"] += 1
        eps /= 16
    return None


def _cover_facet(net, domain: Domain, cur: _Found, i: int, p: np.ndarray, rf: float, found: dict, admit,
                 graph: nx.Graph, tol: float, ctol: float, stats: dict) -> None:
    """Cross facet ``i`` of ``cur`` as often as needed to meet every neighbour along it (in a
    mixed-sign network the far side of one facet can hold several cells)."""
    A, b = cur.cell.A, cur.cell.b
    # (extra rows eA y <= eb of the piece, its facet point and radius when known)
    pieces: list[tuple[np.ndarray, np.ndarray, tuple[np.ndarray, float] | None]] = [
        (np.zeros((0, domain.dim)), np.zeros(0), (p, rf))]
    while pieces:
        eA, eb, known = pieces.pop()
        if known is None:
            q, rq = ChebyshevLP(np.vstack([A, eA]), np.concatenate([b, eb]), domain.lo, domain.hi).facet(i)
            stats["lps"] += 1
            if q is None or rq <= tol:
                continue
            known = (q, rq)
        p, rf = known
        nb = _cross(net, domain, cur, A[i], p, rf, found, admit, ctol, stats)
        if nb is None:
            stats["failed_crossings"] += 1
            continue
        graph.add_edge(cur.id, nb.id, continuous=not _jumps(cur.cell, nb.cell, p),
                       same_map=_same_map(cur.cell, nb.cell))
        pieces += [(xA, xb, None) for xA, xb in _uncovered(cur.cell, i, nb.cell, eA, eb, domain)]


def _jumps(a: Cell, b: Cell, p: np.ndarray) -> bool:
    """Whether the output jumps between two adjacent cells at the facet point ``p``."""
    ya, yb = a.output_at(p), b.output_at(p)
    if not np.array_equal(np.isfinite(ya), np.isfinite(yb)):
        return True
    fin = np.isfinite(ya)
    return bool(np.any(np.abs(ya[fin] - yb[fin]) > 1e-7 * (1 + np.abs(ya[fin]))))


def _same_map(a: Cell, b: Cell) -> bool:
    """Whether two cells have the same affine output map (and the same silent outputs)."""
    if not np.array_equal(a.out_fires, b.out_fires):
        return False
    f = a.out_fires
    da = np.abs(np.column_stack([a.out_G[f] - b.out_G[f], a.out_h[f] - b.out_h[f]]))
    return bool(np.all(da <= 1e-9 * (1 + np.abs(np.column_stack([a.out_G[f], a.out_h[f]])))))


def _uncovered(cur: Cell, i: int, nb: Cell, eA: np.ndarray, eb: np.ndarray,
               domain: Domain) -> list[tuple[np.ndarray, np.ndarray]]:
    """Pieces of facet ``i`` of ``cur`` (within ``eA y <= eb``) that ``nb`` may not cover: one per
    row of ``nb`` (violated there, the earlier rows satisfied: the pieces are disjoint). Rows
    that ``cur`` has too, that are the facet itself, or that the box satisfies, hold on the whole
    facet and are skipped."""
    known = {r.tobytes() for r in np.round(np.column_stack([cur.A, cur.b]), 9) + 0.0}
    known.add((np.round(np.concatenate([-cur.A[i], [-cur.b[i]]]), 9) + 0.0).tobytes())
    rows = np.round(np.column_stack([nb.A, nb.b]), 9) + 0.0
    box_max = np.maximum(nb.A, 0) @ domain.hi + np.minimum(nb.A, 0) @ domain.lo
    out = []
    for j in range(len(nb.b)):
        if rows[j].tobytes() in known or box_max[j] <= nb.b[j]:
            continue
        out.append((np.vstack([eA, nb.A[:j], -nb.A[j:j + 1]]), np.concatenate([eb, nb.b[:j], -nb.b[j:j + 1]])))
    return out
