"""Region counting (issue 5) against model.md theorems, brute force and independent engines."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, HealthCheck, given, settings, strategies as st

from srmverify.errors import InputError, UnsupportedNetwork
from srmverify.network import ReLUNet, SNN
from srmverify.regions import (Domain, cell_at, count_line, count_regions, count_slice, enumerate_patterns,
                               pattern_bits, refine, refine_nd, sample_line, theory_for, traverse, walk_line)
from srmverify.simulate import run_exact


def patterns(result):
    return {r.pattern for r in result.regions}


def sampled_patterns(net, domain, n=60_000, seed=0):
    rng = np.random.default_rng(seed)
    Y = domain.lo + rng.random((n, domain.dim)) * (domain.hi - domain.lo)
    return {np.packbits(b).tobytes().hex() for b in np.unique(pattern_bits(net, domain, Y), axis=0)}


# ----------------------------------------------------------------------------- theorems (model.md §1.1)
@pytest.mark.parametrize("d", range(1, 8))
def test_single_neuron_has_2_to_the_d_minus_1_regions(d):
    rng = np.random.default_rng(d)
    net = SNN.layered([[rng.uniform(0.5, 2.0, d).tolist()]], [[1.0]])
    r = traverse(net, Domain.box(np.array([[0.0, 100.0]] * d)))      # large enough to meet every region
    assert r.complete and r.causal_regions == 2 ** d - 1 == theory_for(net)["value"]
    assert r.linear_regions == 2 ** d - 1                                # every causal set has its own map


@pytest.mark.parametrize("m,d", [(2, 2), (3, 2), (2, 3), (3, 3), (4, 2)])
def test_shared_weight_layer_has_m_plus_1_to_the_d_minus_m_to_the_d(m, d):
    rng = np.random.default_rng(10 * m + d)
    w = rng.uniform(0.5, 2.0, d).tolist()
    net = SNN.layered([[w] * m], [np.arange(1, m + 1, dtype=float)])
    r = traverse(net, Domain.box(np.array([[0.0, 200.0]] * d)))
    assert r.complete and r.causal_regions == (m + 1) ** d - m ** d == theory_for(net)["value"]


def test_neighbours_of_a_single_neuron_differ_in_one_input():
    net = SNN.layered([[[1.0, 1.5, 2.0, 0.7]]], [[1.0]])
    r = traverse(net, Domain.box(np.array([[0.0, 100.0]] * 4)))
    bits = {i: np.unpackbits(np.frombuffer(bytes.fromhex(reg.pattern), dtype=np.uint8))[:4]
            for i, reg in enumerate(r.regions)}
    assert r.graph.number_of_edges() > 0
    for u, v in r.graph.edges:
        assert int(np.sum(bits[u] != bits[v])) == 1                     # |S delta T| = 1


def test_region_interior_points_reproduce_their_pattern_exactly():
    """Every reported region's Chebyshev centre is re-simulated in exact rationals."""
    rng = np.random.default_rng(3)
    net = SNN.layered([rng.uniform(0.2, 1.5, (3, 2)), rng.uniform(0.2, 1.5, (2, 3))],
                      [rng.uniform(0.3, 1.5, 3), rng.uniform(0.3, 1.5, 2)])
    dom = Domain.box(np.array([[0.0, 2.0]] * 2))
    r = traverse(net, dom)
    for reg in r.regions:
        run = run_exact(net, reg.point)
        causal = [[int(u) in run.causal[v] for u in net.src[net.incoming(v)]] for v in range(net.first_neuron, net.n_total)]
        cell = cell_at(net, dom, np.asarray(reg.point))
        assert cell.pattern.hex() == reg.pattern
        bits = np.unpackbits(np.frombuffer(bytes.fromhex(reg.pattern), dtype=np.uint8))[: net.n_synapses]
        assert np.array_equal(np.concatenate(causal), bits.astype(bool))   # layered: bits in synapse order
        out = float(run.outputs[0])
        assert out == pytest.approx(float(cell.output_at(np.asarray(reg.point))[0]), rel=1e-9)


# ----------------------------------------------------------------------------- ReLU: brute force
@pytest.mark.parametrize("seed,widths", [(0, (2, 4, 1)), (1, (2, 5, 1)), (2, (2, 3, 3, 1)), (3, (3, 4, 1))])
def test_relu_counts_agree_with_brute_force_sampling(seed, widths):
    rng = np.random.default_rng(seed)
    net = ReLUNet([(rng.normal(size=(b, a)), rng.normal(size=b)) for a, b in zip(widths[:-1], widths[1:])])
    dom = Domain.box(np.array([[-2.0, 2.0]] * widths[0]))
    r = traverse(net, dom)
    exact = patterns(r)
    seen = sampled_patterns(net, dom)
    assert seen <= exact                                       # sampling never finds a region we miss
    assert len(exact) - len(seen) <= 1                         # and dense sampling finds (almost) all
    for reg in r.regions:                                      # every exact region is real
        y = np.asarray(reg.point)
        assert np.packbits(pattern_bits(net, dom, y[None])[0]).tobytes().hex() == reg.pattern
    if len(widths) == 3:
        assert r.causal_regions <= theory_for(net)["value"]


# ----------------------------------------------------------------------------- three engines agree
small = st.integers(min_value=0, max_value=10_000)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small)
def test_traverse_z3_milp_agree_on_random_positive_snns(seed):
    rng = np.random.default_rng(seed)
    net = SNN.layered([rng.uniform(0.2, 1.5, (2, 3)), rng.uniform(0.2, 1.5, (1, 3))],
                      [rng.uniform(0.3, 1.5, 2), rng.uniform(0.3, 1.5, 1)], constants=[0.5])
    dom = Domain.box(np.array([[0.0, 2.0]] * 2))
    a, b, c = (count_regions(net, dom, e) for e in ("traverse", "z3", "milp"))
    assert a.complete and b.complete and c.complete
    assert patterns(a) == patterns(b) == patterns(c)
    assert b.tolerance is None and c.tolerance > 0


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small)
@example(1484)
@example(81)     # HiGHS without presolve ends in "Solve error" on the last MILP: retried with presolve
def test_traverse_z3_milp_agree_on_random_relu_nets(seed):
    rng = np.random.default_rng(seed)
    net = ReLUNet([(rng.normal(size=(3, 2)), rng.normal(size=3)), (rng.normal(size=(1, 3)), rng.normal(size=1))])
    dom = Domain.box(np.array([[-2.0, 2.0]] * 2))
    a, b, c = (count_regions(net, dom, e) for e in ("traverse", "z3", "milp"))
    assert patterns(a) == patterns(b) == patterns(c)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small)
def test_traverse_and_z3_agree_on_mixed_sign_snns(seed):
    rng = np.random.default_rng(seed)
    net = SNN.layered([rng.normal(0.5, 1.0, (2, 2)), rng.normal(0.5, 1.0, (1, 2))],
                      [rng.uniform(0.3, 1.5, 2), rng.uniform(0.3, 1.5, 1)])
    dom = Domain.box(np.array([[0.0, 2.0]] * 2))
    a, b = traverse(net, dom), enumerate_patterns(net, dom, "z3")
    assert a.complete and b.complete and patterns(a) == patterns(b)
    assert patterns(a) >= sampled_patterns(net, dom, 50_000)
    if not net.all_weights_positive:
        with pytest.raises(UnsupportedNetwork):
            enumerate_patterns(net, dom, "milp")


def test_mixed_sign_discontinuity_is_reported():
    # inhibitory x1: while x1 arrives before the excitatory drive has crossed, the neuron never fires
    net = SNN.layered([[[2.0, -3.0]]], [[1.0]])
    dom = Domain.box(np.array([[0.0, 2.0], [0.0, 2.0]]))
    r = traverse(net, dom)
    assert r.complete and r.discontinuities > 0
    assert patterns(r) == patterns(enumerate_patterns(net, dom, "z3"))


# ----------------------------------------------------------------------------- lines and slices
@pytest.mark.parametrize("seed", range(3))
def test_line_walk_agrees_with_dense_sampling(seed):
    rng = np.random.default_rng(seed)
    d, m = 5, 6
    Ws = [rng.uniform(0, 1, (m, d + 1))] + [rng.uniform(0, 1, (m, m + 1))] * seed + [rng.uniform(0, 1, (3, m + 1))]
    Ts = [rng.uniform(0.2, 1, m)] * (seed + 1) + [rng.uniform(0.2, 1, 3)]
    net = SNN.layered(Ws, Ts, delays=[rng.uniform(0, 0.3, (m, d + 1))] + [None] * (seed + 1),
                      constants=[0.5])                      # 2, 3 and 4 levels
    x0, x1 = rng.uniform(0, 1, d), rng.uniform(0, 1, d)
    w = walk_line(net, x0, x1)
    n, changes = sample_line(net, x0, x1, 20_000)
    assert w.causal_regions >= n
    step = 1 / (20_000 - 1)
    for c in changes:                                  # every change sampling sees is an exact event
        assert np.min(np.abs(w.events - c)) <= step
    if w.widths.min() > 2 * step:                      # no region narrower than the step: same count
        assert w.causal_regions == n
    mids = (np.concatenate([[0], w.events]) + np.concatenate([w.events, [1]])) / 2
    dom = Domain.segment(x0, x1)
    pats = pattern_bits(net, dom, mids[:, None])
    assert np.all(np.any(pats[1:] != pats[:-1], axis=1))   # consecutive exact regions really differ


def test_line_walk_finds_a_region_narrower_than_the_sampling_step():
    # t = (1 + x0 + x1) / 2 has both inputs causal only while |x0 - x1| < 1: width 1/L of the segment
    L = 1e6
    net = SNN.layered([[[1.0, 1.0]]], [[1.0]])
    x0, x1 = np.array([0.0, L]), np.array([L, 0.0])
    w = walk_line(net, x0, x1)
    n, _ = sample_line(net, x0, x1, 20_000)
    assert w.causal_regions == 3 and n == 2
    assert w.widths[1] == pytest.approx(1 / L, rel=1e-6)
    r = count_line(net, x0, x1)
    assert r.causal_regions == 3 and r.engine == "walk"


def test_line_traversal_matches_walk_and_handles_relu():
    rng = np.random.default_rng(5)
    net = SNN.layered([rng.uniform(0, 1, (4, 3)), rng.uniform(0, 1, (2, 4))], [rng.uniform(0.2, 1, 4), rng.uniform(0.2, 1, 2)])
    x0, x1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    assert traverse(net, Domain.segment(x0, x1)).causal_regions == walk_line(net, x0, x1).causal_regions
    relu = ReLUNet([(rng.normal(size=(6, 3)), rng.normal(size=6)), (rng.normal(size=(1, 6)), rng.normal(size=1))])
    r = count_line(relu, x0 * 4 - 2, x1 * 4 - 2)
    n, _ = sample_line(relu, x0 * 4 - 2, x1 * 4 - 2, 50_000)
    assert r.complete and r.causal_regions >= n and r.causal_regions <= 7


def test_slice_of_a_single_neuron():
    net = SNN.layered([[[1.0, 1.0, 1.0]]], [[1.0]])
    # the plane x2 = 50 (never causal) through the box: regions of the first two inputs only
    r = count_slice(net, [0.0, 0.0, 50.0], [10.0, 0.0, 50.0], [0.0, 10.0, 50.0])
    assert r.complete and r.causal_regions == 3 and r.dim == 2
    dom = Domain.plane([0.0, 0.0, 50.0], [10.0, 0.0, 50.0], [0.0, 10.0, 50.0])
    assert patterns(r) == sampled_patterns(net, dom, 50_000)


# ----------------------------------------------------------------------------- limits
def test_max_regions_and_timeout_stop_cleanly_with_partial_counts():
    net = SNN.layered([[[1.0, 1.2, 1.4, 1.6, 1.8]]], [[1.0]])
    dom = Domain.box(np.array([[0.0, 100.0]] * 5))
    r = count_regions(net, dom, "traverse", max_regions=5)
    assert not r.complete and r.stopped == "max-regions" and 5 <= r.causal_regions < 31
    r = count_regions(net, dom, "z3", max_regions=4)
    assert not r.complete and r.causal_regions == 4
    r = count_regions(net, dom, "traverse", timeout=1e-9)
    assert not r.complete and r.stopped == "timeout"
    d = r.to_dict()
    assert d["complete"] is False and d["partial"] is True and "causal_regions" in d and "linear_regions" in d


# ----------------------------------------------------------------------------- refinement in d dimensions
def _layer(rng, m, d, positive, constants=()):
    W = rng.uniform(0.3, 2.0, (m, d + len(constants))) if positive else rng.normal(0.5, 1.0, (m, d + len(constants)))
    return SNN.layered([W], [rng.uniform(0.3, 2.0, m)], constants=list(constants))


@pytest.mark.parametrize("d", [2, 3, 4, 5, 6])
def test_refinement_single_neuron_theorem(d):
    rng = np.random.default_rng(d)
    net = SNN.layered([[rng.uniform(0.5, 2.0, d).tolist()]], [[1.0]])
    r = count_regions(net, Domain.box(np.array([[0.0, 100.0]] * d)))          # auto: the refinement
    assert r.engine == "refine" and r.complete
    assert r.causal_regions == r.linear_regions == 2 ** d - 1 == r.theory["value"]


@pytest.mark.parametrize("m,d", [(3, 3), (4, 3), (2, 4), (3, 4), (3, 5), (2, 6)])
def test_refinement_shared_layer_theorem(m, d):
    rng = np.random.default_rng(10 * m + d)
    net = SNN.layered([[rng.uniform(0.5, 2.0, d).tolist()] * m], [np.arange(1, m + 1, dtype=float)])
    r = refine_nd(net, Domain.box(np.array([[0.0, 200.0]] * d)))
    assert r.complete and r.causal_regions == (m + 1) ** d - m ** d == theory_for(net)["value"]
    assert r.linear_regions == r.causal_regions and r.cells == r.causal_regions      # fragments merged


def _check_witnesses(net, dom, r):
    """Every region's point simulates (exactly, in rationals) to its pattern."""
    for reg in r.regions:
        run = run_exact(net, reg.point)
        causal = [[int(u) in run.causal[v] for u in net.src[net.incoming(v)]] for v in range(net.first_neuron, net.n_total)]
        fires = [run.times[v] is not None for v in range(net.first_neuron, net.n_total)]
        bits = np.unpackbits(np.frombuffer(bytes.fromhex(reg.pattern), dtype=np.uint8))
        assert np.array_equal(np.concatenate(causal + [fires]).astype(bool), bits[: net.n_synapses + net.n_neurons].astype(bool))


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans())
def test_refinement_traverse_z3_milp_agree_on_random_3d_layers(seed, positive):
    """Shared layers (neurons reading the same 3 inputs), both signs: the four engines (MILP:
    positive weights only) find the same pattern set; every witness is exact."""
    rng = np.random.default_rng(seed)
    net = _layer(rng, 2, 3, positive)
    dom = Domain.box(np.array([[0.0, 2.0]] * 3))
    engines = ("refine", "traverse", "z3") + (("milp",) if net.all_weights_positive else ())
    res = {e: count_regions(net, dom, e) for e in engines}
    assert all(x.complete for x in res.values())
    assert len({frozenset(patterns(x)) for x in res.values()}) == 1
    assert res["refine"].linear_regions == res["traverse"].linear_regions
    _check_witnesses(net, dom, res["refine"])


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans())
def test_refinement_agrees_with_traversal_and_z3_in_5d(seed, positive):
    """Five inputs, both signs: the refinement finds the traversal's patterns and linear regions
    (two positive neurons) or z3's all-SAT patterns (one neuron of mixed signs, whose cells the
    traversal walks slowly); every witness is exact."""
    rng = np.random.default_rng(seed)
    net = _layer(rng, 2 if positive else 1, 5, positive)
    dom = Domain.box(np.array([[0.0, 2.0]] * 5))
    r = count_regions(net, dom, graph=positive)
    other = traverse(net, dom) if positive else enumerate_patterns(net, dom, "z3")
    assert r.engine == "refine" and r.complete and other.complete and patterns(r) == patterns(other)
    if positive:
        assert r.linear_regions == other.linear_regions
    _check_witnesses(net, dom, r)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans())
def test_refinement_and_traverse_agree_on_random_two_level_3d_nets(seed, positive):
    rng = np.random.default_rng(seed)
    draw = (lambda s: rng.uniform(0.2, 1.5, s)) if positive else (lambda s: rng.normal(0.5, 1.0, s))
    net = SNN.layered([draw((2, 3)), draw((1, 2))], [rng.uniform(0.3, 1.5, 2), rng.uniform(0.3, 1.5, 1)])
    dom = Domain.box(np.array([[0.0, 2.0]] * 3))
    a, b = refine_nd(net, dom, adjacency=True), traverse(net, dom)
    assert a.complete and b.complete and patterns(a) == patterns(b)
    assert a.linear_regions == b.linear_regions
    # without the graph only pieces of one output map are probed, each among its own map's pieces
    assert refine_nd(net, dom, adjacency=False).linear_regions == b.linear_regions
    assert patterns(a) >= sampled_patterns(net, dom, 20_000)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small, st.booleans())
@example(2589, False)      # a merged cell overlapped a piece of its causal set: a piece twice, 32 linear regions
def test_refinement_in_2d_agrees_with_the_polygon_refinement(seed, positive):
    """The polytope refinement (double description) and the polygon refinement of refine2d are
    two geometries for the same cuts: the same pattern sets and linear regions."""
    rng = np.random.default_rng(seed)
    draw = (lambda s: rng.uniform(0.2, 1.5, s)) if positive else (lambda s: rng.normal(0.5, 1.0, s))
    net = SNN.layered([draw((4, 3)), draw((2, 5))], [rng.uniform(0.3, 1.5, 4), rng.uniform(0.3, 1.5, 2)],
                      constants=[0.3])
    dom = Domain.box(np.array([[0.0, 2.0]] * 2))
    a, b = refine_nd(net, dom, adjacency=True), refine(net, dom)
    assert a.complete and b.complete and patterns(a) == patterns(b)
    assert a.linear_regions == b.linear_regions == refine_nd(net, dom, adjacency=False).linear_regions


@settings(max_examples=15, deadline=None)
@given(small, st.integers(min_value=2, max_value=4))
def test_polytope_cuts_match_brute_force_vertex_enumeration(seed, d):
    """Vertices after random (and degenerate, through a vertex) cuts equal those of every
    d-subset of the rows that satisfies all rows."""
    from itertools import combinations

    from srmverify.regions.polytope import Flat, box, cut_one

    rng = np.random.default_rng(seed)
    b = Flat.of(box(np.zeros(d), np.ones(d)))
    pieces = [(b.V, b.Z, b.R)]
    for _ in range(4):
        nxt = []
        for V, Z, R in pieces:
            a = rng.normal(size=d)
            a /= np.linalg.norm(a)
            c = float(a @ (V[0] if rng.random() < 0.3 else V.mean(axis=0) + rng.normal(0, 0.2, d)))
            nxt += [p for p in (cut_one(V, Z, R, a, c, 1e-12), cut_one(V, Z, R, -a, -c, 1e-12)) if len(p[0])]
        pieces = nxt
    for V, Z, R in pieces:
        A, b = R[:, :d], R[:, d]
        brute = []
        for S in combinations(range(len(b)), d):
            M = A[list(S)]
            if abs(np.linalg.det(M)) > 1e-9:
                x = np.linalg.solve(M, b[list(S)])
                if np.all(A @ x <= b + 1e-9):
                    brute.append(x)
        got = np.unique(np.round(V, 6), axis=0)
        assert np.array_equal(got, np.unique(np.round(np.array(brute), 6), axis=0))
        # the incidence is exact and every row is a facet (tight at d or more vertices)
        bits = np.unpackbits(Z.astype("<u8").view(np.uint8), axis=1, bitorder="little")[:, : len(b)].astype(bool)
        assert np.array_equal(bits, np.abs(V @ A.T - b) <= 1e-9)
        assert np.all(bits.sum(axis=0) >= d)


def test_milp_patterns_are_polished_to_keep_their_margins():
    """HiGHS' MIP feasibility tolerance (1e-6) equals tau: unpolished, the MILP reported 46
    patterns here where the region has 43 (z3, traversal and refinement agree on 43)."""
    rng = np.random.default_rng(834)
    net = _layer(rng, 2, 3, False, constants=[0.5])
    dom = Domain.box(np.array([[0.0, 2.0]] * 3))
    a, b = count_regions(net, dom, "milp"), count_regions(net, dom, "refine")
    assert a.complete and patterns(a) == patterns(b) and b.causal_regions == 43


def test_refinement_limits_and_engine_errors():
    net = SNN.layered([[[1.0, 1.2, 1.4, 1.6]] * 3], [[1.0, 2.0, 3.0]])
    dom = Domain.box(np.array([[0.0, 100.0]] * 4))
    r = count_regions(net, dom, "refine", max_regions=10)
    assert not r.complete and r.stopped == "max-regions" and r.causal_regions == 10
    r = count_regions(net, dom, "refine", timeout=1e-9)
    assert not r.complete and r.stopped == "timeout"
    wide = SNN.layered([[[1.0] * 7]], [[1.0]])
    with pytest.raises(InputError):
        count_regions(wide, Domain.box(np.array([[0.0, 1.0]] * 7)), "refine")
    assert count_regions(wide, Domain.box(np.array([[0.0, 10.0]] * 7))).engine == "traverse"     # auto
