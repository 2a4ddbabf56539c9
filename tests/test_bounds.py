"""Sound bounds: every sampled spike time / pre-activation lies inside; corner bounds are exact
for positive weights; tighter methods are tighter."""
from fractions import Fraction

import numpy as np
from hypothesis import given, settings, strategies as st

from engine_nets import random_box, random_relu, random_snn, sample_box  # noqa: E402

from srmverify.bounds import METHODS, relu_preactivation_bounds, snn_time_bounds  # noqa: E402
from srmverify.bounds.snn import first_crossing  # noqa: E402
from srmverify.simulate import spike_times  # noqa: E402
from srmverify.simulate.exact import first_crossing as exact_first_crossing  # noqa: E402

seeds = st.integers(0, 2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(seeds, st.booleans(), st.booleans(), st.booleans())
def test_snn_bounds_contain_samples(seed, positive, delays, encoder):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (2, 3, 2), positive=positive, delays=delays, encoder=encoder)
    box = random_box(rng, 2)
    b = snn_time_bounds(net, box)
    X = np.vstack([sample_box(rng, box, 3000), box.T])
    T = spike_times(net, net.encode(X))
    fin = np.isfinite(T)
    assert np.all(~fin | ((T >= b.lo) & (T <= b.hi)))
    assert np.all(fin | b.may_not_fire)                  # a silent neuron is flagged
    assert not fin[:, b.never_fires].any()               # "never fires" is never contradicted


@settings(max_examples=30, deadline=None)
@given(seeds)
def test_positive_corner_bounds_are_attained(seed):
    rng = np.random.default_rng(seed)
    net = random_snn(rng, (3, 3, 2), positive=True)
    box = random_box(rng, 3)
    b = snn_time_bounds(net, box)
    assert b.exact and not b.may_not_fire.any()
    T = spike_times(net, box.T)        # lower and upper corner
    assert np.allclose(b.lo, T[0]) and np.allclose(b.hi, T[1])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-4, 4), st.integers(-3, 3)), min_size=1, max_size=6), st.integers(1, 4))
def test_float_first_crossing_matches_exact(arrivals, theta):
    a = np.array([float(x) for x, _ in arrivals])
    w = np.array([float(x) for _, x in arrivals])
    exact = exact_first_crossing([(Fraction(int(x)), Fraction(int(y))) for x, y in arrivals], Fraction(theta))
    got = first_crossing(a, w, float(theta))
    assert (exact is None and got == np.inf) or abs(float(exact) - got) < 1e-9


@settings(max_examples=25, deadline=None)
@given(seeds)
def test_relu_methods_sound_and_ordered(seed):
    rng = np.random.default_rng(seed)
    net = random_relu(rng, (3, 8, 8, 2))
    box = random_box(rng, 3)
    _, pre = net.evaluate(sample_box(rng, box, 4000), return_preactivations=True)
    got = {m: relu_preactivation_bounds(net, box, m) for m in METHODS}
    for m, bounds in got.items():
        for z, (lo, hi) in zip(pre, bounds):
            assert np.all((z >= lo) & (z <= hi)), m
    for (il, ih), (sl, sh), (ll, lh) in zip(got["interval"], got["symbolic"], got["lp"]):
        assert np.all(sl >= il - 1e-7) and np.all(sh <= ih + 1e-7)
        assert np.all(ll >= sl - 1e-6) and np.all(lh <= sh + 1e-6)
