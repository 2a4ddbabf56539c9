"""The refinement engine (srmverify.regions.refine2d, issue 13) against the traversal, z3, MILP,
the theorems of model.md §1.1, dense grids of the peer's networks and the kinetic walk."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from srmverify.formats import load_network
from srmverify.network import SNN
from srmverify.regions import (Domain, count_causal_pieces, count_regions, masked_patterns, pattern_bits, refine,
                               theory_for, traverse, walk_line)
from srmverify.regions import refine_kernel
from srmverify.regions.refine2d import clip, first_crossing, measure
from srmverify.simulate import run_exact

PEER = Path("/work/shared/benchmarks/peer-nets")
if not PEER.exists():
    PEER = Path(__file__).resolve().parents[2] / "shared" / "benchmarks" / "peer-nets"
YY_SLICE = ([0.15, 0.15, 2, 2], [2, 0.15, 0.15, 2], [0.15, 2, 2, 0.15])
small = st.integers(0, 10_000)


def patterns(result):
    return {r.pattern for r in result.regions}


def grid_patterns(net, dom, g):
    s = (np.arange(g) + 0.5) / g
    Y = dom.lo + np.stack(np.meshgrid(s, s), -1).reshape(-1, 2) * (dom.hi - dom.lo)
    return {r.tobytes().hex() for r in np.packbits(pattern_bits(net, dom, Y), axis=1)}


def random_snn(rng, signs: bool, delays: bool, sizes=(2, 3, 2)) -> SNN:
    Ws, ths, Ds = [], [], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        W = rng.uniform(0.2, 1.5, (b, a))
        if signs:
            W *= np.where(rng.random(W.shape) < 0.35, -1.0, 1.0)
        Ws.append(W)
        ths.append(rng.uniform(0.3, 1.5, b))
        Ds.append(rng.uniform(0.0, 1.0, (b, a)) if delays else np.zeros((b, a)))
    return SNN.layered(Ws, ths, delays=Ds)


# ----------------------------------------------------------------------------- geometry
def test_clip_and_measure_are_exact_on_simple_shapes():
    sq = np.array([[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0]]])
    V, n = clip(sq, np.array([4]), np.array([[0.0, 1.0]]), np.array([1.0]), 1e-12)   # y <= 1
    assert n[0] == 4 and sorted(map(tuple, V[0, :4].tolist())) == [(0, 0), (0, 1), (2, 0), (2, 1)]
    assert measure(V, n)[0] == pytest.approx(2 * 2.0 / 6.0)                             # 2 area / perimeter
    V, n = clip(sq, np.array([4]), np.array([[1.0, 1.0]]), np.array([-1.0]), 1e-12)   # empty
    assert measure(V, n)[0] <= 0


@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e4])
def test_a_cut_is_decided_by_the_distance_of_the_line_not_by_its_scale(scale):
    # a line 1e-13 inside the right edge of the unit square does not cut it (eps = 1e-12), one
    # 1e-6 inside does, however its coefficients are scaled (a row of norm 5e3 once cut slivers
    # off a piece forever: the refinement of a yin-yang sub-network did not finish)
    sq = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    y, ra, rc = np.array([0.5, 0.5]), np.zeros((1, 2)), np.zeros(1)
    for gap, cuts in ((1e-13, 0), (1e-6, 1)):
        row = np.array([scale, 0.0])                       # x <= 1 - gap
        n = refine_kernel._keep_row(sq, 4, y, np.sqrt(0.5), row, scale * (1 - gap), 1e-12, ra, rc, 0)
        assert n == cuts
        if cuts:
            assert np.linalg.norm(ra[0]) == pytest.approx(1.0) and rc[0] == pytest.approx(1 - gap)


@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3),
       st.lists(st.floats(-2, 2).filter(lambda v: v == 0 or abs(v) > 1e-6), min_size=3, max_size=3),
       st.floats(0.1, 2))
@settings(max_examples=60, deadline=None)
def test_first_crossing_is_the_exact_first_crossing(a, w, theta):
    t = first_crossing(np.array([a]), np.array(w), theta)
    from fractions import Fraction
    from srmverify.simulate.exact import first_crossing as exact
    e = exact([(Fraction(x), Fraction(v)) for x, v in zip(a, w)], Fraction(theta))
    if e is None:
        assert not np.isfinite(t[0])
    else:
        assert t[0] == pytest.approx(float(e), rel=1e-9, abs=1e-9)


# ----------------------------------------------------------------------------- theorems
@pytest.mark.parametrize("m", [1, 2, 4])
def test_shared_layer_counts_hold_on_a_large_square(m):
    net = SNN.layered([np.tile([[1.0, 2.0]], (m, 1))], [1.0 + np.arange(m)])
    r = refine(net, Domain.box([[0, 40], [0, 40]]))
    assert r.complete and r.causal_regions == (m + 1) ** 2 - m ** 2 == theory_for(net)["value"]


# ----------------------------------------------------------------------------- other engines
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans(), st.booleans())
def test_refinement_equals_traversal_on_random_snns_of_both_signs(seed, signs, delays):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, signs, delays)
    dom = Domain.box([[0, 3], [0, 3]])
    a, b = traverse(net, dom), refine(net, dom)
    assert a.complete and b.complete and not b.warnings
    assert patterns(a) == patterns(b)
    assert a.linear_regions == b.linear_regions
    assert b.cells >= b.causal_regions and len(b.polygons) == b.cells
    # the pieces tile the square
    assert sum(0.5 * abs((P[:, 0] * np.roll(P[:, 1], -1) - P[:, 1] * np.roll(P[:, 0], -1)).sum()) for P in b.polygons) == pytest.approx(9.0)


def shared_segments(polygons, tol=1e-7):
    """Pairs of polygons with a common piece of edge longer than ``tol`` (brute force: every
    pair of edges, collinear within 1e-9, opposite, overlapping)."""
    edges = [(k, P[e], P[(e + 1) % len(P)]) for k, P in enumerate(polygons) for e in range(len(P))]
    pairs = set()
    for i, (k, a0, a1) in enumerate(edges):
        L = np.linalg.norm(a1 - a0)
        if L <= tol:
            continue
        u = (a1 - a0) / L
        for q, b0, b1 in edges[i + 1:]:
            dist = [abs(u[0] * (b[1] - a0[1]) - u[1] * (b[0] - a0[0])) for b in (b0, b1)]
            if q == k or max(dist) > 1e-9 or np.dot(b1 - b0, u) >= 0:
                continue
            s = sorted([np.dot(b0 - a0, u), np.dot(b1 - a0, u)])
            if min(L, s[1]) - max(0.0, s[0]) > tol:
                pairs.add((min(k, q), max(k, q)))
    return pairs


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans())
def test_adjacency_from_edge_tags_is_the_brute_force_adjacency_of_the_polygons(seed, signs):
    net = random_snn(np.random.default_rng(seed), signs, True)
    r = refine(net, Domain.box([[0, 3], [0, 3]]))
    assert {(min(u, v), max(u, v)) for u, v in r.graph.edges} == shared_segments(r.polygons)


def test_merged_fragments_leave_one_convex_piece_per_region_of_a_positive_network():
    # with positive weights every region is convex and so is every neuron's cell on a piece:
    # merging the fragments of each cell leaves exactly one piece per region
    merged = 0
    for seed in range(6):
        net = random_snn(np.random.default_rng(seed), False, True, sizes=(2, 6, 4, 2))
        r = refine(net, Domain.box([[0, 3], [0, 3]]))
        assert r.complete and r.cells == r.causal_regions
        merged += r.stats["merged"]
        for P in r.polygons:                           # convex, counter-clockwise
            e = np.roll(P, -1, axis=0) - P
            assert np.all(e[:, 0] * np.roll(e[:, 1], -1) - e[:, 1] * np.roll(e[:, 0], -1) >= -1e-12)
    assert merged >= 2                                 # fragments did occur and were merged


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans())
def test_refinement_z3_and_milp_give_the_same_patterns(seed, signs):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, signs, False, sizes=(2, 2, 1))
    dom = Domain.box([[0, 2], [0, 2]])
    engines = ("refine", "z3") if signs else ("refine", "z3", "milp")    # the MILP enumeration: positive only
    res = [count_regions(net, dom, e) for e in engines]
    assert all(r.complete for r in res)
    assert all(patterns(r) == patterns(res[0]) for r in res)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans())
def test_segment_refinement_equals_the_walk_and_the_traversal(seed, signs):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, signs, True, sizes=(3, 4, 2))
    x0, x1 = rng.uniform(0, 3, 3), rng.uniform(0, 3, 3)
    r = refine(net, Domain.segment(x0, x1))
    assert r.complete and patterns(r) == patterns(traverse(net, Domain.segment(x0, x1)))
    if not signs:
        assert r.causal_regions == walk_line(net, x0, x1).causal_regions


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small)
def test_pieces_of_a_plane_through_four_inputs_tile_it_and_hold_every_grid_pattern(seed):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, True, True, sizes=(4, 6, 2))
    dom = Domain.plane(*(rng.uniform(0, 2, 4) for _ in range(3)))
    r = refine(net, dom)
    assert r.complete and not r.warnings
    assert grid_patterns(net, dom, 80) <= patterns(r)
    area = sum(0.5 * abs((P[:, 0] * np.roll(P[:, 1], -1) - P[:, 1] * np.roll(P[:, 0], -1)).sum()) for P in r.polygons)
    assert area == pytest.approx(1.0)
    assert r.causal_regions <= r.cells


def test_every_piece_is_real_by_exact_simulation():
    net = random_snn(np.random.default_rng(3), True, True)
    dom = Domain.box([[0, 3], [0, 3]])
    r = refine(net, dom)
    for reg in r.regions[:30]:                        # on a box, domain coordinates are the data
        ex = run_exact(net, reg.point).output_values()
        for t, m in zip(ex, reg.output_map):
            assert (t is None or t == float("inf")) == (m is None)
            if m is not None:
                assert float(t) == pytest.approx(np.dot(m[:-1], reg.point) + m[-1], abs=1e-9)


# ----------------------------------------------------------------------------- the peer's networks
@pytest.mark.skipif(not PEER.exists(), reason="peer networks not available")
@pytest.mark.parametrize("name, exact", [("s1", 294), ("s3", 999), ("xordel", None)])
def test_peer_slices_cover_every_grid_pattern(name, exact):
    net = load_network(PEER / f"{name}.json")
    dom = Domain.plane(*YY_SLICE)
    r = refine(net, dom, adjacency=False)
    g = grid_patterns(net, dom, 200)
    assert r.complete and not r.warnings
    assert g <= patterns(r) and r.causal_regions >= len(g)
    if exact is not None:
        assert r.causal_regions == exact


@pytest.mark.skipif(not PEER.exists(), reason="peer networks not available")
def test_causal_pieces_are_the_masked_grid_patterns_and_at_most_the_regions():
    net = load_network(PEER / "xordel.json")
    dom = Domain.plane(*YY_SLICE)
    r = count_regions(net, dom, "refine")
    s = (np.arange(150) + 0.5) / 150
    bits = pattern_bits(net, dom, np.stack(np.meshgrid(s, s), -1).reshape(-1, 2))
    grid = {b.tobytes() for b in np.packbits(masked_patterns(net, bits), axis=1)}
    assert len(grid) <= r.causal_pieces <= r.causal_regions
    exact = {np.packbits(masked_patterns(net, np.unpackbits(np.frombuffer(bytes.fromhex(x.pattern), np.uint8))
                                         [None, :bits.shape[1]].astype(bool)), axis=1).tobytes() for x in r.regions}
    assert grid <= exact and len(exact) == r.causal_pieces


def test_causal_pieces_of_one_always_firing_layer_are_its_regions():
    net = SNN.layered([np.tile([[1.0, 2.0]], (3, 1))], [1.0 + np.arange(3)])
    r = count_regions(net, Domain.box([[0, 40], [0, 40]]), "refine")
    assert r.causal_pieces == r.causal_regions == 7


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=small)
def test_causal_pieces_of_one_level_of_outputs_are_its_patterns(seed):
    """One level whose neurons are all outputs: counting the distinct patterns (the shortcut of
    count_causal_pieces) is counting the masked ones, whatever the signs, delays and constants."""
    rng = np.random.default_rng(seed)
    d, m = int(rng.integers(1, 4)), int(rng.integers(1, 5))
    W = rng.normal(0.3, 1.0, (m, d + 1))
    D = rng.uniform(0, 1, (m, d + 1)) * (rng.random((m, d + 1)) < 0.5)
    net = SNN.layered([W], [rng.uniform(0.2, 2.0, m)], delays=[D], constants=[float(rng.uniform(0, 1))])
    bits = pattern_bits(net, Domain.box([[0, 3]] * d), rng.uniform(0, 3, (300, d)))
    full = [b.tobytes().hex() for b in np.packbits(bits, axis=1)]
    masked = {b.tobytes() for b in np.packbits(masked_patterns(net, bits), axis=1)}
    assert count_causal_pieces(net, full) == len(masked) == len(set(full))


def test_timeout_gives_a_partial_result():
    net = random_snn(np.random.default_rng(0), True, True)
    r = count_regions(net, Domain.box([[0, 3], [0, 3]]), "refine", timeout=1e-9)
    assert not r.complete and r.stopped == "timeout"
