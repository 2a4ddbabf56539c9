"""SNN properties decided on the exact ReLU lift (verify/lift.py): the lift of a converted network
keeps its structure, its deviation bound holds against exact arithmetic, verdicts agree with the
ReLU original and with the exact z3 route, and a non-liftable SNN falls back."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from srmverify.bounds.relu import symbolic_bounds
from srmverify.convert import convert_relu_to_snn, convert_snn_to_relu
from srmverify.network import SNN
from srmverify.simulate import relu_exact, simulate_exact
from srmverify.verify import check_property
from srmverify.verify.lift import check_lifted
from srmverify.verify.pipeline import Atom, dnf_holds_exact
import engine_nets  # noqa: E402  (tests/ on sys.path: conftest.py)


def _unstable(net, box):
    return [int(((lo < 0) & (hi > 0)).sum()) for lo, hi in symbolic_bounds(net, box)[:-1]]


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), width=st.integers(2, 6), depth=st.integers(1, 3))
def test_lift_of_converted_net_keeps_structure_and_its_deviation_bound_holds(seed, width, depth):
    rng = np.random.default_rng(seed)
    relu = engine_nets.random_relu(rng, [3] + [width] * depth + [2], weight_scale=1.0, bias_scale=0.5)
    box = engine_nets.random_box(rng, 3)
    snn, rep = convert_relu_to_snn(relu, box)
    lift, back = convert_snn_to_relu(snn, box, samples=0)
    # at most one ReLU layer per ReLU layer; every unstable unit of the original is one unstable unit of the
    # lift (a kink: min of two pieces); everything else the lift adds is stable (carries)
    assert len(lift.layers) <= len(relu.layers)          # (fewer when a whole layer is stable)
    assert sum(_unstable(lift, box)) <= rep.unstable
    assert all(w <= v for w, v in zip(lift.widths, relu.widths))
    dev = np.asarray(back.deviation_bound)
    for x in engine_nets.sample_box(rng, box, 3).tolist():
        exact = simulate_exact(snn, x)        # the SNN, exactly; the lift's float weights, exactly
        gap = [abs(float(a - b)) for a, b in zip(relu_exact(lift, x), exact)]
        assert all(g <= d for g, d in zip(gap, dev))
        assert exact == relu_exact(relu, x)


def _dnf(rng, m, conj):
    return [[Atom(rng.normal(0, 1, m), float(rng.normal(0, 1))) for _ in range(conj)]]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), width=st.integers(2, 5), conj=st.integers(1, 3))
def test_twin_verdicts_agree_with_the_relu_original(seed, width, conj):
    rng = np.random.default_rng(seed)
    relu = engine_nets.random_relu(rng, [2, width, width, 2], weight_scale=1.0, bias_scale=0.5)
    box = engine_nets.random_box(rng, 2)
    snn, _ = convert_relu_to_snn(relu, box)
    dnf = _dnf(rng, 2, conj)
    out = [[(a.c, a.d) for a in c] for c in dnf]
    r_relu = check_property(relu, [box], out, timeout=30)
    r_snn = check_property(snn, [box], out, timeout=30)
    assert r_snn.details.get("route") == "relu lift"
    assert r_snn.verdict == r_relu.verdict
    if r_snn.verdict.value == "sat":       # re-checked exactly on the SNN
        x = [Fraction(v) for v in r_snn.counterexample.input]
        assert dnf_holds_exact(dnf, simulate_exact(snn, x))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_positive_snn_lift_agrees_with_exact_z3_route(seed):
    rng = np.random.default_rng(seed)
    snn = engine_nets.random_snn(rng, (2, 3, 2), positive=True, delays=True)
    box = engine_nets.random_box(rng, 2, 0.5)
    Y = np.array([simulate_exact(snn, x) for x in engine_nets.sample_box(rng, box, 20).tolist()], dtype=float)
    c = rng.normal(0, 1, 2)
    v = Y @ c
    d = float(v.min() + rng.uniform(-0.2, 0.3) * (np.ptp(v) + 0.1))   # near the attained minimum: both outcomes
    lifted = check_lifted(snn, [box], [[Atom(c, d)]])
    assert lifted is not None
    z3 = check_property(snn, [box], [[(c, d)]], engine="z3", timeout=60)
    assert z3.details.get("route") != "relu lift"
    assert lifted.verdict == z3.verdict


def test_discontinuous_snn_falls_back_to_the_snn_route():
    snn = SNN.layered([[[1.0, -2.0, 2.0]]], [[0.5]], delays=[[[0.0, 0.0, 2.0]]], constants=[0.0])
    box = np.array([[0.0, 1.0], [0.0, 1.0]])
    assert check_lifted(snn, [box], [[Atom(np.array([1.0]), 0.0)]]) is None
    res = check_property(snn, [box], [[(np.array([-1.0]), -10.0)]], timeout=30)    # t >= 10 ?
    assert res.details.get("route") != "relu lift"
    assert res.verdict.value == "unsat"


def test_sat_of_the_lift_rejected_by_the_exact_snn_is_never_reported():
    # y = |x| on [-1, 2]; the property "y <= -1e-12" is false everywhere; the lift's deviation
    # bound is folded in, so the loosened atom may admit float points: each is re-checked exactly
    from srmverify.network import ReLUNet
    relu = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])
    box = np.array([[-1.0, 2.0]])
    snn, _ = convert_relu_to_snn(relu, box)
    res = check_lifted(snn, [box], [[Atom(np.array([1.0]), -1e-12)]])
    assert res is not None and res.verdict.value in ("unsat", "unknown")
    res = check_lifted(snn, [box], [[Atom(np.array([1.0]), 0.0)]])          # |x| <= 0 at x = 0
    assert res is not None and res.verdict.value == "sat"
    assert simulate_exact(snn, [Fraction(v) for v in res.counterexample.input])[0] <= 0


@pytest.mark.parametrize("conj", [1, 2])
def test_multi_box_property_checks_every_box(conj):
    rng = np.random.default_rng(7)
    relu = engine_nets.random_relu(rng, [2, 4, 2], weight_scale=1.0)
    boxes = [np.array([[-1.0, 0.0], [0.0, 1.0]]), np.array([[0.0, 1.0], [-1.0, 0.0]])]
    hull = np.array([[-1.0, 1.0], [-1.0, 1.0]])
    snn, _ = convert_relu_to_snn(relu, hull)
    dnf = _dnf(rng, 2, conj)
    out = [[(a.c, a.d) for a in c] for c in dnf]
    assert check_property(snn, boxes, out).verdict == check_property(relu, boxes, out).verdict
