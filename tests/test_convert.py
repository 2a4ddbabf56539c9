"""ReLU → SNN conversion (model.md §4): the converted SNN equals the ReLU network exactly on the box,
checked against the independent exact oracles ``simulate_exact`` (SNN) and ``relu_exact`` (ReLU)."""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from srmverify.convert import convert_relu_to_snn
from srmverify.errors import InputError
from srmverify.formats import network_from_dict, network_to_dict
from srmverify.network import ReLUNet
from srmverify.simulate import relu_exact, simulate, simulate_exact
import engine_nets  # noqa: E402  (tests/ on sys.path: conftest.py)


def random_relu(rng, widths, scale=1.0):
    return engine_nets.random_relu(rng, widths, weight_scale=scale, bias_scale=scale)


def random_box(rng, n):
    lo = rng.uniform(-3, 2, size=n)
    return np.stack([lo, lo + rng.uniform(0, 3, size=n)], axis=1)


def points(rng, box, k):
    """Random points, the lowest and highest corner and a random corner of the box."""
    pts = [rng.uniform(box[:, 0], box[:, 1]) for _ in range(k)]
    pts += [box[:, 0], box[:, 1], np.where(rng.random(len(box)) < 0.5, box[:, 0], box[:, 1])]
    return pts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), depth=st.integers(1, 4), width=st.integers(1, 5))
def test_converted_snn_equals_relu_exactly(seed, depth, width):
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 4))
    widths = [n_in] + [width] * (depth - 1) + [int(rng.integers(1, 3))]
    relu = random_relu(rng, widths)
    box = random_box(rng, n_in)
    snn, rep = convert_relu_to_snn(relu, box)
    assert rep.error_bound == 0.0
    assert rep.stable_active + rep.stable_dead + rep.unstable == relu.n_hidden
    assert snn.n_neurons == relu.n_hidden + relu.n_outputs + rep.unstable
    for x in points(rng, box, 6):
        assert simulate_exact(snn, x.tolist()) == relu_exact(relu, x.tolist())


def test_exact_at_the_kink_and_at_rational_points():
    """z = 0 exactly (the kink) and rationals that are not floats: still exact."""
    relu = ReLUNet([([[1.0, -1.0], [1.0, 1.0]], [0.0, -0.5]), ([[1.0, -2.0]], [0.0])])
    box = [[-1, 1], [-1, 1]]
    snn, rep = convert_relu_to_snn(relu, box)
    assert rep.unstable == 2
    for x in ([0.25, 0.25], [Fraction(1, 3), Fraction(1, 3)], [Fraction(1, 7), Fraction(-2, 7)], [0.25, 0.25]):
        assert simulate_exact(snn, x) == relu_exact(relu, x)


def test_stable_units_need_no_kink_and_sizes_are_reported():
    # unit 0 always active on the box (z >= 1), unit 1 always dead (z <= -1), unit 2 unstable
    relu = ReLUNet([([[1.0], [-1.0], [1.0]], [2.0, -2.0, 0.0]), ([[1.0, 1.0, 1.0]], [0.0])])
    snn, rep = convert_relu_to_snn(relu, [[-1, 1]])
    assert (rep.stable_active, rep.stable_dead, rep.unstable, rep.kink_neurons) == (1, 1, 1, 1)
    assert rep.snn_neurons == 5 and rep.snn_depth == 3 and rep.neurons_per_relu_neuron == 5 / 4
    assert "k1_2" in snn.names and "k1_0" not in snn.names and "k1_1" not in snn.names
    for x in np.linspace(-1, 1, 9):
        assert simulate_exact(snn, [x]) == relu_exact(relu, [x])


def test_float_simulation_and_json_round_trip():
    rng = np.random.default_rng(3)
    relu = random_relu(rng, [4, 8, 8, 3])
    box = random_box(rng, 4)
    snn, _ = convert_relu_to_snn(relu, box)
    X = rng.uniform(box[:, 0], box[:, 1], size=(200, 4))
    assert np.allclose(simulate(snn, X), relu.evaluate(X), atol=1e-9)
    again = network_from_dict(network_to_dict(snn))
    x = X[0].tolist()
    assert simulate_exact(again, x) == relu_exact(relu, x)


@pytest.mark.parametrize("method", ["symbolic", "lp"])
def test_tighter_bounds_remove_kinks_and_stay_exact(method):
    rng = np.random.default_rng(5)
    relu = random_relu(rng, [3, 10, 10, 2])
    box = np.array([[0.0, 0.05]] * 3)
    snn_i, rep_i = convert_relu_to_snn(relu, box, bounds="interval")
    snn_t, rep_t = convert_relu_to_snn(relu, box, bounds=method)
    assert rep_t.bounds_method == method and rep_i.bounds_method == "interval"
    assert rep_t.kink_neurons <= rep_i.kink_neurons
    for x in points(rng, box, 5):
        assert simulate_exact(snn_t, x.tolist()) == relu_exact(relu, x.tolist())


def test_best_resolves_and_bad_arguments_are_input_errors():
    relu = ReLUNet([([[1.0]], [0.0])])
    _, rep = convert_relu_to_snn(relu, [[0, 1]], bounds="best")
    assert rep.bounds_method == "symbolic"
    with pytest.raises(InputError, match="bounds"):
        convert_relu_to_snn(relu, [[0, 1]], bounds="magic")
    with pytest.raises(InputError, match="box"):
        convert_relu_to_snn(relu, [[1, 0]])
    with pytest.raises(InputError, match="box"):
        convert_relu_to_snn(relu, [[0, 1], [0, 1]])
