"""SNN → ReLU: CPWL spiking networks become ReLU networks computing the same map (float rounding
of the composed coefficients only); discontinuous ones are refused with an exactly re-checked witness."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from srmverify.convert import Discontinuous, convert_relu_to_snn, convert_snn_to_relu, find_discontinuity
from srmverify.errors import UnsupportedNetwork
from srmverify.formats import load_network, save_network
from srmverify.network import SNN, ReLUNet
from srmverify.simulate import relu_exact, simulate, simulate_exact
import engine_nets  # noqa: E402  (tests/ on sys.path: conftest.py)


def random_relu(rng, widths):
    return engine_nets.random_relu(rng, widths, weight_scale=1.0, bias_scale=1.0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), depth=st.integers(1, 3), width=st.integers(1, 5))
def test_round_trip_relu_snn_relu_agrees(seed, depth, width):
    rng = np.random.default_rng(seed)
    n_in = int(rng.integers(1, 4))
    relu = random_relu(rng, [n_in] + [width] * (depth - 1) + [2])
    lo = rng.uniform(-2, 1, size=n_in)
    box = np.stack([lo, lo + rng.uniform(0.1, 2, size=n_in)], axis=1)
    snn, _ = convert_relu_to_snn(relu, box)
    back, rep = convert_snn_to_relu(snn, box)
    assert rep.static_neurons == relu.n_hidden + relu.n_outputs      # every affine neuron proven affine
    X = rng.uniform(box[:, 0], box[:, 1], size=(100, n_in))
    scale = 1 + np.abs(relu.evaluate(X)).max()
    assert np.max(np.abs(back.evaluate(X) - relu.evaluate(X))) < 1e-9 * scale
    x = X[0].tolist()   # the ReLU network evaluated exactly on its float weights: rounding only
    assert max(abs(float(a - b)) for a, b in zip(relu_exact(back, x), relu_exact(relu, x))) < 1e-9 * scale


def test_positive_weight_snn_is_min_of_pieces():
    rng = np.random.default_rng(2)
    W1 = rng.uniform(0.2, 2, size=(4, 3 + 1))
    W2 = rng.uniform(0.2, 2, size=(2, 4 + 1))
    snn = SNN.layered([W1, W2], [rng.uniform(0.5, 2, 4), rng.uniform(0.5, 2, 2)],
                      delays=[rng.uniform(0, 1, W1.shape), rng.uniform(0, 1, W2.shape)], constants=[0.0])
    box = np.array([[0.0, 2.0]] * 3)
    relu, rep = convert_snn_to_relu(snn, box)
    assert rep.positive_neurons == 6 and rep.max_pieces >= 2
    X = rng.uniform(0, 2, size=(300, 3))
    assert np.max(np.abs(relu.evaluate(X) - simulate(snn, X))) < 1e-9
    x = X[1].tolist()
    assert max(abs(float(a - b)) for a, b in zip(relu_exact(relu, x), simulate_exact(snn, x))) < 1e-9


def test_piece_and_size_limits_refuse_blow_up():
    snn = SNN.layered([np.full((1, 9), 1.0)], [[1.0]], constants=[0.0])
    box = np.array([[0.0, 1.0]] * 8)
    with pytest.raises(UnsupportedNetwork, match="pieces"):
        convert_snn_to_relu(snn, box, max_pieces=10)
    with pytest.raises(UnsupportedNetwork, match="ReLU units"):
        convert_snn_to_relu(snn, box, max_units=5)
    relu, rep = convert_snn_to_relu(snn, box)
    assert rep.max_pieces <= 511


def test_discontinuous_snn_is_refused_with_exact_witness():
    # x0 excites (+1), x1 inhibits (-2), the reference arrives at 2 (+2): if x1 - x0 >= 0.5 the
    # potential reaches 0.5 before x1 arrives (t = x0 + 0.5 <= 1.5), else only after 2 -> a jump
    snn = SNN.layered([[[1.0, -2.0, 2.0]]], [[0.5]], delays=[[[0.0, 0.0, 2.0]]], constants=[0.0])
    box = np.array([[0.0, 1.0], [0.0, 1.0]])
    with pytest.raises(Discontinuous) as info:
        convert_snn_to_relu(snn, box)
    w = info.value.witness
    assert simulate_exact(snn, w.x0) == w.y0 and simulate_exact(snn, w.x1) == w.y1
    assert w.distance < 1e-9 and w.jump > 0.1
    assert info.value.exit_code == 3


def test_continuous_network_has_no_witness():
    snn = SNN.layered([[[1.0, 1.0, 0.5]]], [[1.0]], constants=[0.0])
    assert find_discontinuity(snn, np.array([[0.0, 1.0], [0.0, 1.0]]), tries=5) is None


def test_onnx_export_runs_in_onnxruntime_and_agrees(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(4)
    relu = random_relu(rng, [3, 6, 6, 2])
    box = np.array([[-1.0, 1.0]] * 3)
    snn, _ = convert_relu_to_snn(relu, box)
    back, _ = convert_snn_to_relu(snn, box)
    path = tmp_path / "back.onnx"
    save_network(back, path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = rng.uniform(-1, 1, size=(50, 3))
    name = sess.get_inputs()[0].name
    dtype = np.float64 if "double" in sess.get_inputs()[0].type else np.float32
    y = np.asarray(sess.run(None, {name: X.astype(dtype)})[0], dtype=float).reshape(50, -1)
    tol = 1e-9 if dtype == np.float64 else 1e-3 * (1 + np.abs(simulate(snn, X)).max())
    assert np.max(np.abs(y - simulate(snn, X))) < tol
    assert np.max(np.abs(load_network(path).evaluate(X) - simulate(snn, X))) < 1e-9
