"""The exact arithmetic under conversion and certificates: dyadic arrays, the digit-split matrix
product, exact interval bounds and exact stability proofs (against Fractions and brute force)."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from srmverify.convert import certify, convert_relu_to_snn
from srmverify.convert.dyadic import Dyadic, exact_matmul, float_expansion
from srmverify.convert.exact import exact_interval_bounds
from srmverify.network import ReLUNet
from srmverify.simulate import relu_exact, simulate_exact
import engine_nets  # noqa: E402  (tests/ on sys.path: conftest.py)

big = st.integers(-(2 ** 300), 2 ** 300)


@settings(max_examples=30, deadline=None)
@given(m=st.integers(8, 12), n=st.integers(1, 40), k=st.integers(2, 9), data=st.data())
def test_exact_matmul_equals_python_ints(m, n, k, data):
    a = np.array(data.draw(st.lists(st.lists(big, min_size=n, max_size=n), min_size=m, max_size=m)), dtype=object)
    b = np.array(data.draw(st.lists(st.lists(big, min_size=k, max_size=k), min_size=n, max_size=n)), dtype=object)
    import srmverify.convert.dyadic as dy
    old, dy.SMALL_PRODUCT = dy.SMALL_PRODUCT, 0          # force the digit-split path
    try:
        assert np.all(exact_matmul(a, b) == a.dot(b))
    finally:
        dy.SMALL_PRODUCT = old


@settings(max_examples=50, deadline=None)
@given(xs=st.lists(st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False), min_size=1, max_size=8))
def test_dyadic_sums_and_expansions_are_exact(xs):
    d = Dyadic.from_floats(xs)
    assert d.fractions() == [Fraction(x) for x in xs]
    total = sum(Fraction(x) for x in xs)
    assert d.sum().fraction() == total
    assert sum(map(Fraction, float_expansion(total)), Fraction(0)) == total


def random_relu(rng, widths):
    return engine_nets.random_relu(rng, widths, weight_scale=1.0, bias_scale=0.3)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), method=st.sampled_from(["symbolic", "lp", "interval"]))
def test_small_box_conversions_with_proofs_are_exact_and_certified(seed, method):
    rng = np.random.default_rng(seed)
    widths = [3, 6, 6, 2]
    relu = random_relu(rng, widths)
    x0 = rng.uniform(-1, 1, size=3)
    box = np.stack([x0 - 0.05, x0 + 0.05], axis=1)
    snn, rep = convert_relu_to_snn(relu, box, bounds=method)
    assert rep.stable_proven <= rep.stable_claimed
    assert certify(snn, relu, box).accepted
    for x in [rng.uniform(box[:, 0], box[:, 1]) for _ in range(4)] + [box[:, 0], box[:, 1]]:
        assert simulate_exact(snn, x.tolist()) == relu_exact(relu, x.tolist())


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_exact_bounds_and_proofs_are_sound(seed):
    """Every sampled pre-activation lies in the exact bounds, and proven signs hold everywhere sampled."""
    rng = np.random.default_rng(seed)
    relu = random_relu(rng, [2, 5, 5, 1])
    box = np.array([[-0.2, 0.1], [0.3, 0.4]])
    bounds, proofs = exact_interval_bounds(relu, box, lambda l, lo, hi: rng.choice([-1, 0, 1], size=len(lo.n)))
    X = np.concatenate([rng.uniform(box[:, 0], box[:, 1], size=(300, 2)),
                        np.array(np.meshgrid(*box)).reshape(2, -1).T])
    _, pre = relu.evaluate(X, return_preactivations=True)
    for l, (lo, hi) in enumerate(bounds):
        lo_f = np.array([float(f) for f in lo.fractions()])
        hi_f = np.array([float(f) for f in hi.fractions()])
        assert np.all(pre[l] >= lo_f - 1e-12) and np.all(pre[l] <= hi_f + 1e-12)
        for u, kind in proofs[l].items():
            assert np.all(pre[l][:, u] >= -1e-12) if kind == "active" else np.all(pre[l][:, u] <= 1e-12)


def test_dyadic_rejects_non_dyadic():
    with pytest.raises(ValueError):
        Dyadic.from_fractions([Fraction(1, 3)])
