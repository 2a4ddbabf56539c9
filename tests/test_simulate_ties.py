"""Near-ties: the float simulator never returns a time the exact definition would not give.

The oracle is ``run_exact`` (rationals). Networks are built so that thresholds sit exactly at,
or a few ulps around, the potential at an arrival (a potential maximum of a mixed-sign neuron),
with equal arrivals and cancelling weights. Every neuron is compared, and the simulator's own
error bound must hold: ``|t_float - t_exact| <= e``. Both backends run, and they must agree bit
for bit.
"""
from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from srmverify.errors import InputError
from srmverify.network import SNN, Affine
from srmverify.simulate import fast, kernel, kernel_numba, run_exact, simulate, simulate_exact, spike_times
from srmverify.simulate.kernel import BACKEND_ENV, TIME_TOL

BACKENDS = ["numpy", "numba"]


@pytest.fixture(params=BACKENDS)
def backend(request, monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, request.param)
    return request.param


def potential(arr, t):
    return sum((w * max(F(0), t - a) for a, w in arr), F(0))


def check_against_exact(net: SNN, X: np.ndarray) -> None:
    T, E, _ = fast._times(net, X, np.zeros_like(X), lambda i: X[i].tolist())
    for i, x in enumerate(X):
        ex = run_exact(net, x.tolist()).times
        for v in range(net.first_neuron, net.n_total):
            if ex[v] is None:
                assert T[i, v] == np.inf, (i, v, T[i, v])
            else:
                assert np.isfinite(T[i, v]), (i, v, ex[v])
                err = abs(F(T[i, v]) - ex[v])
                assert err <= F(E[i, v]), (i, v, T[i, v], ex[v], E[i, v])
                assert err <= F(TIME_TOL) * (1 + abs(ex[v]))


# --------------------------------------------------------------------------- the reported cases
def test_issue_repro_crossing_past_an_inhibitory_arrival(backend):
    net = SNN.layered([[[1.0, -2.0, 5.0]]], [[1 + 1e-13]])
    t = spike_times(net, [[0.0, 1.0, 3.0]])[0, -1]
    exact = simulate_exact(net, [0, 1, 3])[0]
    assert abs(F(t) - exact) <= abs(exact) * 2 ** -52 and abs(t - 3.5) < 1e-12   # old code: 1.0000000000001


def test_issue_repro_never_fires(backend):
    net = SNN.layered([[[1.0, -2.0]]], [[1 + 1e-13]])
    assert simulate_exact(net, [0, 1]) == [None]
    assert spike_times(net, [[0.0, 1.0]])[0, -1] == np.inf                           # old code: a finite time


def test_maximum_exactly_at_threshold_fires_there(backend):
    net = SNN.layered([[[1.0, -2.0]]], [[1.0]])                # P(1) = 1 = theta exactly
    assert spike_times(net, [[0.0, 1.0]])[0, -1] == 1.0
    below = SNN.layered([[[1.0, -2.0]]], [[np.nextafter(1.0, 2.0)]])
    assert spike_times(below, [[0.0, 1.0]])[0, -1] == np.inf


def test_cancelling_weights_on_the_last_segment(backend):
    # 0.1 + 0.2 - 0.3 is 5.55e-17 in float64 but the exact sum of these doubles is 2.78e-17 > 0:
    # the neuron fires, very late; a sloppy last-segment check says never, or a wrong time
    net = SNN.layered([[[0.1, 0.2, -0.3]]], [[1.0]])
    exact = run_exact(net, [0.0, 0.0, 0.0]).times[-1]
    t = spike_times(net, [[0.0, 0.0, 0.0]])[0, -1]
    assert exact is not None and t == float(exact)


def test_error_propagates_to_a_second_layer(backend):
    # layer 1 fires at 1 + tiny; layer 2's maximum sits at that arrival: settled exactly
    w1 = [[1.0, 0.0], [0.0, 1.0]]
    net = SNN.layered([w1, [[1.0, -3.0]]], [[1.0, 1 + 2 ** -40], [1.0]])
    check_against_exact(net, np.array([[0.0, 0.0], [0.0, 1e-300]]))


def test_encoder_rounding_is_an_input_error(backend):
    # the encoder maps 0.1 to 3 * 0.1 in float (0.30000000000000004), exactly 3/10 + tiny: the
    # maximum of P at the second arrival equals theta for one and not the other
    x = [0.0, 0.1]
    enc = Affine(np.zeros(2), np.array([1.0, 3.0]))
    theta = float(F(3) * F(0.1))                                 # P(a2) = a2 exactly in rationals
    net = SNN.layered([[[1.0, -2.0]]], [[theta]], encoder=enc)
    exact = simulate_exact(net, x)[0]
    y = simulate(net, np.array([x]))[0, 0]
    assert (exact is None and y == np.inf) or (exact is not None and abs(F(y) - exact) <= 2 ** -50)


# --------------------------------------------------------------------------- the hypothesis suite
WEIGHTS = st.sampled_from([-3.0, -2.0, -1.0, -0.5, -0.1, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0])
TIMES = st.sampled_from([0.0, 0.0, 0.1, 0.3, 0.5, 1.0, 1.0, 2.0, 1 / 3])
NUDGE = st.sampled_from([0, 0, 0, 1, -1, 2, -2, 2 ** 20, -(2 ** 20)])   # ulps around the tie


def near_tie_thresholds(weights, arrivals_per_neuron, nudges, pick):
    """A threshold per neuron at (a few ulps around) its potential at one chosen arrival."""
    out = []
    for w, arr, nudge, k in zip(weights, arrivals_per_neuron, nudges, pick):
        fin = [(a, F(wj)) for a, wj in zip(arr, w) if a is not None]
        vals = [potential(fin, a) for a, _ in fin]
        vals = [p for p in vals if p > 0] or [F(1)]
        th = float(vals[k % len(vals)])
        for _ in range(abs(nudge) if abs(nudge) < 8 else 0):
            th = np.nextafter(th, np.inf if nudge > 0 else -np.inf)
        if abs(nudge) >= 8:
            th = th * (1 + np.sign(nudge) * 2 ** -32)
        out.append(max(th, 1e-3))
    return out


@st.composite
def tie_networks(draw):
    n_in = draw(st.integers(1, 4))
    n_hid = draw(st.integers(1, 3))
    X = np.array([[draw(TIMES) for _ in range(n_in)] for _ in range(draw(st.integers(1, 3)))])
    delays = draw(st.booleans())
    W1 = [[draw(WEIGHTS) for _ in range(n_in)] for _ in range(n_hid)]
    D1 = [[draw(st.sampled_from([0.0, 0.5, 1.0])) for _ in range(n_in)] for _ in range(n_hid)] if delays else None
    x0 = [F(v) for v in X[0]]
    arr1 = [[x0[j] + (F(D1[i][j]) if delays else 0) for j in range(n_in)] for i in range(n_hid)]
    th1 = near_tie_thresholds(W1, arr1, [draw(NUDGE) for _ in range(n_hid)], [draw(st.integers(0, 5)) for _ in range(n_hid)])
    one = SNN.layered([W1], [th1], [D1] if delays else None)
    if not draw(st.booleans()):
        return one, X
    t1 = run_exact(one, X[0].tolist()).times[one.first_neuron:]
    W2 = [[draw(WEIGHTS) for _ in range(n_hid)]]
    th2 = near_tie_thresholds(W2, [t1], [draw(NUDGE)], [draw(st.integers(0, 5))])
    return SNN.layered([W1, W2], [th1, th2], [D1, None] if delays else None), X


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tie_networks())
def test_near_ties_float_agrees_with_exact(case):
    net, X = case
    for b in BACKENDS:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv(BACKEND_ENV, b)
            check_against_exact(net, X)


@settings(max_examples=60, deadline=None)
@given(tie_networks())
def test_backends_bit_identical_on_near_ties(case):
    net, X = case
    with pytest.MonkeyPatch.context() as mp:
        both_backends(mp, net, X)


# --------------------------------------------------------------------------- backends
def both_backends(mp, net: SNN, X: np.ndarray) -> np.ndarray:
    """Spike times of ``X`` with the numpy and the numba backend; asserts they are bit-identical."""
    mp.setenv(BACKEND_ENV, "numpy")
    a = spike_times(net, X)
    mp.setenv(BACKEND_ENV, "numba")
    assert np.array_equal(a, spike_times(net, X))
    return a


def random_net(rng, sizes, delays, mixed):
    ws, ths, ds = [], [], []
    for a, b in zip(sizes[:-1], sizes[1:]):
        w = rng.uniform(-1.0 if mixed else 0.0, 2.0, (b, a)) / a
        w[rng.random((b, a)) < 0.2] = 0.0                            # missing synapses
        ws.append(w)
        ths.append(rng.uniform(0.05, 0.5, b))
        ds.append(rng.uniform(0.0, 0.5, (b, a)) if delays else None)
    return SNN.layered(ws, ths, ds if delays else None)


@pytest.mark.parametrize("delays", [False, True])
@pytest.mark.parametrize("mixed", [False, True])
def test_backends_bit_identical_random(monkeypatch, delays, mixed):
    rng = np.random.default_rng(3 + 2 * delays + mixed)
    net = random_net(rng, (12, 9, 7, 3), delays, mixed)
    X = rng.uniform(0.0, 1.0, (40, 12))
    X[::5, 3] = X[::5, 4]                                              # equal arrivals
    a = both_backends(monkeypatch, net, X)
    # small work runs on the calling thread (kernel_numba.PARALLEL_WORK); the threads give the same times
    monkeypatch.setattr(kernel_numba, "PARALLEL_WORK", 0)
    assert np.array_equal(both_backends(monkeypatch, net, X), a)
    check_against_exact(net, X[:6])


@pytest.mark.parametrize("mixed", [False, True])
def test_block_walk_several_blocks_bit_identical(monkeypatch, mixed):
    # a shared order with more neurons than one block of the compiled walk (kernel.BLOCK), a
    # partial last block, equal arrivals and silent sources: lanes must not leak into each other
    rng = np.random.default_rng(11 + mixed)
    n_hidden = 2 * kernel.BLOCK + 5
    net = random_net(rng, (20, n_hidden, 3), False, mixed)
    X = rng.uniform(0.0, 1.0, (25, 20))
    X[::4, 2] = X[::4, 7]
    a = both_backends(monkeypatch, net, X)
    assert np.isinf(a[:, net.first_neuron:]).any() == mixed      # mixed signs: some neurons never fire
    check_against_exact(net, X[:3])


def test_delay_blocks_and_mixed_rows_bit_identical(monkeypatch):
    # per-neuron delays: more nonnegative-weight neurons than one block of the compiled
    # causal-set iteration, interleaved with mixed-sign neurons (walked one by one), equal arrivals
    rng = np.random.default_rng(5)
    net = random_net(rng, (24, 2 * kernel.BLOCK + 7, 3), True, False)
    W = net.levels[0].W.copy()
    W[1::3] -= 1.0 / 24                                           # every third row gets negative weights
    net = SNN.layered([W, net.levels[1].W], [net.levels[0].thresholds, net.levels[1].thresholds],
                      [net.levels[0].D, net.levels[1].D])
    X = rng.uniform(0.0, 1.0, (21, 24))
    X[::3, 5] = X[::3, 9]
    both_backends(monkeypatch, net, X)
    check_against_exact(net, X[:1])


def test_crowded_arrivals_bit_identical(monkeypatch):
    # the sort's value buckets: arrivals in a few tight clusters (crowded buckets, sorted by
    # quicksort), many exactly equal, one far outlier; the 8-step screening of the block walk
    rng = np.random.default_rng(8)
    n = 150
    net = random_net(rng, (n, 40, 2), False, False)
    X = rng.choice([0.1, 0.3, 0.30000000000000004], (12, n)) + rng.uniform(0.0, 1e-9, (12, n)) * (rng.random((12, n)) < 0.5)
    X[:, 0] = 50.0
    both_backends(monkeypatch, net, X)
    check_against_exact(net, X[:1])


def test_backend_setting(monkeypatch):
    monkeypatch.setenv(BACKEND_ENV, "numpy")
    assert kernel.backend() == "numpy"
    monkeypatch.setenv(BACKEND_ENV, "numba")
    assert kernel.backend() == "numba"
    monkeypatch.setenv(BACKEND_ENV, "fortran")
    with pytest.raises(InputError, match=BACKEND_ENV):
        kernel.backend()


def test_fallback_when_numba_is_missing(monkeypatch):
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    monkeypatch.setattr(kernel, "_numba_available", lambda: False)
    assert kernel.backend() == "numpy"
    net = SNN.layered([[[1.0, -2.0, 5.0]]], [[1 + 1e-13]])
    assert abs(spike_times(net, [[0.0, 1.0, 3.0]])[0, -1] - 3.5) < 1e-12
    monkeypatch.setenv(BACKEND_ENV, "numba")
    with pytest.raises(InputError, match="numba cannot be imported"):
        kernel.backend()
