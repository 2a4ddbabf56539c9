"""Simulation semantics (model.md §1) against independent oracles.

The oracles here do not share code with srmverify.simulate: ``ref_first_crossing`` scans the
potential at its breakpoints in exact rationals (no prefix sums), ``brute_min_subsets`` is the
min over all nonempty subsets of model.md §1.1, and the worked formula
``t = (theta + sum_S w a) / W_S`` is checked on every neuron's causal set.
"""
from __future__ import annotations

import itertools
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from srmverify.network import SNN, Affine, ReLUNet
from srmverify.simulate import causal_synapses, relu_exact, run_exact, simulate, simulate_exact, spike_times
from srmverify.simulate.exact import first_crossing
from srmverify.simulate.fast import candidate_matrix_times


# --------------------------------------------------------------------------- oracles
def potential(arrivals, t):
    return sum((w * max(F(0), t - a) for a, w in arrivals), F(0))


def ref_first_crossing(arrivals, theta):
    """First crossing by scanning the potential at its breakpoints (exact, no prefix sums)."""
    pts = sorted({a for a, _ in arrivals})
    for i, a in enumerate(pts):
        pa = potential(arrivals, a)
        assert pa < theta  # invariant: we would have returned on the previous segment
        if i + 1 < len(pts):
            pn = potential(arrivals, pts[i + 1])
            if pn >= theta:
                return a + (theta - pa) * (pts[i + 1] - a) / (pn - pa)
        else:
            slope = sum((w for _, w in arrivals), F(0))
            if slope > 0:
                return a + (theta - pa) / slope
    return None


def ref_run(net: SNN, t_inputs):
    """Every neuron's exact time (None = never fires) from the raw synapse arrays."""
    times = [F(t) for t in t_inputs] + [F(c) for c in net.constants]
    for v in range(net.first_neuron, net.n_total):
        k = np.flatnonzero(net.dst == v)
        arr = [(times[net.src[j]] + F(net.delay[j]), F(net.weight[j])) for j in k if times[net.src[j]] is not None]
        times.append(ref_first_crossing(arr, F(net.threshold(v))))
    return times


def brute_min_subsets(arrivals, theta):
    """model.md §1.1: min over nonempty subsets S of (theta + sum_S w a) / W_S (positive weights)."""
    best = None
    for r in range(1, len(arrivals) + 1):
        for S in itertools.combinations(arrivals, r):
            t = (theta + sum(w * a for a, w in S)) / sum(w for _, w in S)
            best = t if best is None or t < best else best
    return best


def close(x: float, exact) -> bool:
    if exact is None:
        return x == np.inf
    return bool(np.isfinite(x)) and abs(x - float(exact)) <= 1e-9 * (1 + abs(float(exact)))


# --------------------------------------------------------------------------- strategies
# Parameters on a dyadic grid: sums of weights are exact in float64, so float and exact
# simulations are comparable even with ties and cancellations (which the grid makes frequent).
GRID = st.integers(-32, 32).map(lambda k: k / 16)
POS = st.integers(1, 32).map(lambda k: k / 16)
DELAY = st.integers(0, 16).map(lambda k: k / 16)


@st.composite
def dag_nets(draw, positive: bool = False, delays: bool = True, max_neurons: int = 6) -> SNN:
    """A random DAG: every neuron reads a random subset of earlier neurons (skip synapses)."""
    n_in, n_c = draw(st.integers(1, 3)), draw(st.integers(0, 2))
    consts = draw(st.lists(GRID, min_size=n_c, max_size=n_c))
    n = draw(st.integers(1, max_neurons))
    src, dst, w, d, th = [], [], [], [], []
    for v in range(n_in + n_c, n_in + n_c + n):
        pre = draw(st.lists(st.integers(0, v - 1), min_size=1, max_size=min(5, v), unique=True))
        for u in pre:
            src.append(u)
            dst.append(v)
            w.append(draw(POS if positive else GRID))
            d.append(draw(DELAY) if delays else 0.0)
        th.append(draw(POS))
    total = n_in + n_c + n
    outputs = sorted({total - 1, draw(st.integers(n_in + n_c, total - 1))})
    return SNN(n_in, consts, th, src, dst, w, d, outputs)


@st.composite
def layered_nets(draw, positive: bool = False) -> SNN:
    widths = draw(st.lists(st.integers(1, 4), min_size=2, max_size=4))
    n_c = draw(st.integers(0, 2))
    ws, ths, ds = [], [], []
    for a, b in zip(widths[:-1], widths[1:]):
        ws.append([[draw(POS if positive else GRID) for _ in range(a + n_c)] for _ in range(b)])
        ds.append([[draw(DELAY) for _ in range(a + n_c)] for _ in range(b)])
        ths.append([draw(POS) for _ in range(b)])
    consts = draw(st.lists(GRID, min_size=n_c, max_size=n_c))
    return SNN.layered(ws, ths, ds if draw(st.booleans()) else None, consts)


nets = st.one_of(dag_nets(), layered_nets(), dag_nets(positive=True), layered_nets(positive=True))


def inputs_for(net: SNN):
    return st.lists(st.lists(GRID, min_size=net.n_inputs, max_size=net.n_inputs), min_size=1, max_size=3)


# --------------------------------------------------------------------------- hand-computed cases
def test_first_crossing_not_last_segment():
    # P rises (w=2 at 0), crosses theta=1 at 0.5, falls below after w=-4 at 0.75 (P(1) = 1, P(1.25) = 0.5)
    # and crosses again at 1.75 (w=+3 at 1.25). The firing time is the FIRST crossing, 0.5; solving
    # P = theta on the last segment would give (1 + 0 - 3 + 3.75) / 1 = 1.75.
    net = SNN.layered([[[2.0, -4.0, 3.0]]], [[1.0]])
    x = [0.0, 0.75, 1.25]
    arr = [(F(0), F(2)), (F(3, 4), F(-4)), (F(5, 4), F(3))]
    assert potential(arr, F(1, 2)) == 1 and potential(arr, F(5, 4)) == F(1, 2) and potential(arr, F(7, 4)) == 1
    assert run_exact(net, x).outputs == [F(1, 2)]
    assert spike_times(net, [x])[0, -1] == 0.5
    assert candidate_matrix_times(net, [x])[0, -1] == 0.5
    # the same potential without the first rise never reaches theta before the last segment
    net2 = SNN.layered([[[0.5, -4.0, 4.0]]], [[1.0]])
    # P: 0.5 t on [0, .75] (max 0.375), falls, then slope 0.5 from 1.25: P(1.25) = 0.625 - 2 = -1.375
    # -> reaches 1 at 1.25 + 2.375 / 0.5 = 6.0
    assert run_exact(net2, x).outputs == [F(6)]
    assert spike_times(net2, [x])[0, -1] == 6.0


def test_never_firing_neurons():
    # total weight <= 0 and no crossing before: never fires; a neuron fed only by it never fires either
    net = SNN(2, [], [1.0, 1.0, 1.0], [0, 1, 2, 2, 0], [2, 2, 3, 4, 4], [1.0, -2.0, 5.0, 1.0, 1.0],
              [0.0] * 5, [3, 4])
    r = run_exact(net, [0.0, 0.0])
    assert r.times[2] is None and r.outputs == [None, F(1)]  # neuron 4: x0 (w 1) fires it at 1; 2 adds nothing
    T = spike_times(net, [[0.0, 0.0]])
    assert T[0, 3] == np.inf and T[0, 4] == 1.0
    # x1 late enough: neuron 2 fires at 1 before x1 arrives, then neuron 3 at 1 + 1/5
    r = run_exact(net, [0.0, 2.0])
    assert r.times[2] == 1 and r.times[3] == F(6, 5)
    np.testing.assert_allclose(spike_times(net, [[0.0, 2.0]])[0, 2:4], [1.0, 1.2], rtol=1e-15)
    assert np.array_equal(candidate_matrix_times(net, [[0.0, 0.0]])[0, 2:], [np.inf, np.inf, 1.0])


def test_delays_and_constants_hand_computed():
    # x0 (w 2, delay 0.25), constant at -1 (w 0.5, delay 0); theta 1.
    net = SNN.layered([[[2.0, 0.5]]], [[1.0]], delays=[[[0.25, 0.0]]], constants=[-1.0])
    # x = 0: arrivals c@-1 (0.5), x0@0.25 (2). On [-1, 0.25]: 0.5 (t + 1) = 1 at t = 1 > 0.25 -> no.
    # after 0.25: 2.5 t - (2 * 0.25 - 0.5) = 2.5 t = 1 -> t = 0.4
    assert run_exact(net, [0.0]).outputs == [F(2, 5)]
    # x = 3: the constant alone crosses at t = 1 < 3.25
    assert run_exact(net, [3.0]).outputs == [F(1)]
    np.testing.assert_allclose(spike_times(net, [[0.0], [3.0]])[:, -1], [0.4, 1.0], rtol=1e-15)


@pytest.mark.parametrize("order", [(1.0, 2.0, -2.0), (1.0, -2.0, 2.0)])
def test_ties_merged(order):
    # x0@0 (w 1); x1, x2 arrive together at 0.5 with weights +2/-2 in either order; theta 1.
    # On [0, 0.5]: P = t < 1. After 0.5 the slope stays 1: P(0.5) = 0.5 -> t = 1.
    net = SNN.layered([[list(order)]], [[1.0]])
    x = [0.0, 0.5, 0.5]
    assert run_exact(net, x).outputs == [F(1)]
    assert spike_times(net, [x])[0, -1] == 1.0
    assert candidate_matrix_times(net, [x])[0, -1] == 1.0
    # a tie that brings P exactly to theta at the tie: fires at the tie
    net = SNN.layered([[[2.0, 3.0, -3.0]]], [[1.0]])
    assert run_exact(net, [0.0, 0.5, 0.5]).outputs == [F(1, 2)]
    assert spike_times(net, [[0.0, 0.5, 0.5]])[0, -1] == 0.5


def test_worked_formula_layered_example():
    # the layered example: weights (1, 3, 0.5), delays (0, 0.1, 0), constant at 0, theta 1
    net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.1, 0.0]]], constants=[0.0])
    d = F(0.1)
    # (0, 0): causal set {x0, c0, x1}: t = (1 + 3 d) / 4.5;  (1, 0): {c0, x1}: (1 + 3 d) / 3.5;
    # (0.5, 2): {c0, x0}: (1 + 0.5) / 1.5 = 1
    expect = [(1 + 3 * d) / F(9, 2), (1 + 3 * d) / F(7, 2), F(1)]
    xs = [[0, 0], [1, 0], [0.5, 2]]
    assert [run_exact(net, x).outputs[0] for x in xs] == expect
    assert [run_exact(net, x).causal[3] for x in xs] == [{0, 1, 2}, {1, 2}, {0, 2}]
    np.testing.assert_allclose(spike_times(net, xs)[:, 3], [float(e) for e in expect], rtol=1e-14)


# --------------------------------------------------------------------------- properties
@settings(max_examples=60, deadline=None)
@given(st.data())
def test_float_exact_candidate_agree(data):
    net = data.draw(nets)
    X = data.draw(inputs_for(net))
    T = spike_times(net, X)
    C = candidate_matrix_times(net, X)
    causal = causal_synapses(net, T)
    for b, x in enumerate(X):
        run = run_exact(net, x)
        assert run.times == ref_run(net, x)
        for v in range(net.first_neuron, net.n_total):
            assert close(T[b, v], run.times[v]), (v, T[b, v], run.times[v])
            assert close(C[b, v], run.times[v]), (v, C[b, v], run.times[v])
            sl = net.incoming(v)
            float_causal = {int(u) for u in net.src[sl][causal[b, sl]]}
            assert float_causal == run.causal[v]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_worked_formula_on_causal_set(data):
    """t_v = (theta + sum_{u in C} w a_u) / W_C on the causal set C = {u : a_u < t_v}."""
    net = data.draw(nets)
    x = data.draw(inputs_for(net))[0]
    run = run_exact(net, x)
    for v in range(net.first_neuron, net.n_total):
        t = run.times[v]
        sl = net.incoming(v)
        arr = {int(u): run.times[u] + F(dl) for u, dl in zip(net.src[sl], net.delay[sl]) if run.times[u] is not None}
        w = {int(u): F(wt) for u, wt in zip(net.src[sl], net.weight[sl])}
        if t is None:
            assert run.causal[v] == set(arr)
            continue
        C = {u for u, a in arr.items() if a < t}
        assert C == run.causal[v] and C
        WC = sum(w[u] for u in C)
        assert WC > 0 and t == (F(net.threshold(v)) + sum(w[u] * arr[u] for u in C)) / WC
        assert potential([(arr[u], w[u]) for u in arr], t) == F(net.threshold(v))


@settings(max_examples=60, deadline=None)
@given(ws=st.lists(POS, min_size=1, max_size=6), data=st.data(), theta=POS)
def test_positive_weights_min_over_subsets(ws, data, theta):
    a = data.draw(st.lists(GRID, min_size=len(ws), max_size=len(ws)))
    arr = [(F(ai), F(wi)) for ai, wi in zip(a, ws)]
    expect = brute_min_subsets(arr, F(theta))
    assert first_crossing(arr, F(theta)) == expect == ref_first_crossing(arr, F(theta))
    net = SNN.layered([[ws]], [[theta]])
    assert run_exact(net, a).outputs == [expect]
    assert close(spike_times(net, [a])[0, -1], expect)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_positive_networks_always_fire_and_are_monotone(data):
    net = data.draw(st.one_of(dag_nets(positive=True), layered_nets(positive=True)))
    x = np.array(data.draw(inputs_for(net))[0])
    T = spike_times(net, [x, x + 0.25])
    assert np.isfinite(T).all()
    assert np.all(T[1] >= T[0] - 1e-12)  # nondecreasing in every arrival time (model.md §1.1)


def test_random_generic_networks_float_vs_exact():
    """Generic (non-grid) floats, mixed signs, per-synapse delays, skip-free 3-layer net."""
    rng = np.random.default_rng(7)
    ws = [rng.normal(size=(12, 6 + 1)), rng.normal(size=(8, 12 + 1)), rng.normal(size=(3, 8 + 1))]
    ds = [rng.uniform(0, 0.5, w.shape) for w in ws]
    net = SNN.layered(ws, [rng.uniform(0.2, 1.5, w.shape[0]) for w in ws], ds, constants=[0.0])
    X = rng.uniform(0, 2, (6, 6))
    T = spike_times(net, X)
    C = candidate_matrix_times(net, X)
    n_inf = 0
    for b in range(len(X)):
        ex = run_exact(net, X[b]).times
        n_inf += sum(e is None for e in ex)
        for v in range(net.first_neuron, net.n_total):
            assert close(T[b, v], ex[v]) and close(C[b, v], ex[v])
    assert n_inf > 0  # the test exercises never-firing neurons


def test_encoder_decoder_and_relu_dispatch():
    net = SNN.layered([[[1.0, 1.0, 1.0]]], [[1.0]], constants=[0.0],
                      encoder=Affine([1.0, 2.0], [0.5, 0.25]), decoder=Affine([0.5], [2.0]))
    x = [0.5, 2.0]
    (y,) = simulate_exact(net, x)
    t = run_exact(net, [1.0 + 0.25, 2.0 + 0.5]).outputs[0]
    assert y == (t - F(1, 2)) / 2
    assert close(simulate(net, [x])[0, 0], y)
    relu = ReLUNet([([[1.0, -1.0], [0.5, 0.5]], [0.0, -1.0]), ([[1.0, 2.0]], [0.25])])
    assert relu_exact(relu, [1, 0.5]) == [F(3, 4)]
    assert simulate(relu, [[1, 0.5]]).tolist() == [[0.75]]


def test_never_firing_output_decodes_to_inf():
    net = SNN.layered([[[1.0, -2.0]]], [[1.0]], decoder=Affine([0.0], [2.0]))
    y = simulate(net, [[0.0, 0.0], [0.0, 5.0]])
    assert y[0, 0] == np.inf and y[1, 0] == 0.5
    assert simulate_exact(net, [0.0, 0.0]) == [None]


def test_spike_times_batch_chunks(monkeypatch):
    """Results do not depend on the chunk size (memory bound) nor on the batch composition."""
    from srmverify.simulate import fast

    rng = np.random.default_rng(3)
    net = SNN.layered([rng.normal(size=(7, 5)), rng.normal(size=(3, 8))], [rng.uniform(0.5, 1, 7), [1.0] * 3],
                      [rng.uniform(0, 1, (7, 5)), None], constants=[0.0])
    X = rng.uniform(0, 1, (23, 4))
    full = spike_times(net, X)
    monkeypatch.setattr(fast, "CHUNK_ENTRIES", 1)
    assert np.array_equal(spike_times(net, X), full)
    assert np.array_equal(np.vstack([spike_times(net, X[i:i + 1]) for i in range(len(X))]), full)
    with pytest.raises(ValueError):
        spike_times(net, X[:, :3])
