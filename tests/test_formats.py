"""File formats: JSON (layered and DAG SNN forms, ReLU) and ONNX, round trips and errors.

ONNX models are built here with ``onnx.helper`` in the shapes exporters produce, and every
imported network is checked against onnxruntime running the original file.
"""
from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from hypothesis import given, settings, strategies as st
from onnx import TensorProto, helper, numpy_helper

from srmverify.errors import InputError, UnsupportedNetwork
from srmverify.formats import load_inputs, load_network, network_from_dict, network_to_dict, save_network
from srmverify.formats.onnx_net import load_onnx, save_onnx
from srmverify.network import SNN, Affine, ReLUNet

LAYERED = {"kind": "snn", "constants": [0.0],
           "layers": [{"weights": [[1.0, 3.0, 0.5]], "thresholds": [1.0], "delays": [[0.0, 0.1, 0.0]]}]}
DAG = {"kind": "snn", "inputs": ["a", "b"], "constants": {"bias": -0.5},
       "neurons": [{"name": "h", "threshold": 1.0}, {"name": "o", "threshold": 0.25}],
       "synapses": [{"from": "a", "to": "h", "weight": 1.5}, {"from": "b", "to": "h", "weight": -0.5, "delay": 0.2},
                    {"from": "bias", "to": "h", "weight": 0.75}, {"from": "h", "to": "o", "weight": 2.0},
                    {"from": "a", "to": "o", "weight": 0.5, "delay": 1.0}],
       "outputs": ["o", "h"], "encoder": {"offset": [1.0, 1.0], "scale": [0.5, 0.5]},
       "decoder": {"offset": [2.0, 0.0], "scale": [-1.0, 1.0]}}


def same_snn(a: SNN, b: SNN) -> bool:
    arrays = ("constants", "thresholds", "src", "dst", "weight", "delay", "outputs")
    ok = all(np.array_equal(getattr(a, k), getattr(b, k)) for k in arrays) and a.names == b.names
    for k in ("encoder", "decoder"):
        x, y = getattr(a, k), getattr(b, k)
        ok &= (x is None) == (y is None) and (x is None or (np.array_equal(x.offset, y.offset)
                                                             and np.array_equal(x.scale, y.scale)))
    return bool(ok)


def same_relu(a: ReLUNet, b: ReLUNet) -> bool:
    return len(a.layers) == len(b.layers) and all(
        np.array_equal(W1, W2) and np.array_equal(b1, b2) and W2.dtype == np.float64
        for (W1, b1), (W2, b2) in zip(a.layers, b.layers))


# --------------------------------------------------------------------------- JSON
def test_layered_form_reads_as_documented():
    net = network_from_dict(LAYERED)
    assert (net.n_inputs, net.n_constants, net.n_neurons) == (2, 1, 1)
    # weights[i][j]: from input j of the layer (x0, x1, then the constant) to neuron i
    assert net.src.tolist() == [0, 1, 2] and net.weight.tolist() == [1.0, 3.0, 0.5]
    assert net.delay.tolist() == [0.0, 0.1, 0.0]


def test_dag_form_reads_names_and_order():
    net = network_from_dict(DAG, "dag.json")
    assert net.names == ("a", "b", "bias", "h", "o") and net.outputs.tolist() == [4, 3]
    assert net.constants.tolist() == [-0.5]
    assert (net.encoder.offset.tolist(), net.decoder.scale.tolist()) == ([1.0, 1.0], [-1.0, 1.0])


@pytest.mark.parametrize("d", [LAYERED, DAG])
def test_json_round_trip_exact(d, tmp_path):
    net = network_from_dict(d)
    p = tmp_path / "net.json"
    save_network(net, p)
    again = load_network(p)
    assert same_snn(net, again)
    assert network_to_dict(again) == network_to_dict(net) == json.loads(p.read_text())


finite = st.floats(min_value=-1e300, max_value=1e300, allow_nan=False, allow_subnormal=True)
positive = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_json_round_trip_any_floats(data):
    """JSON -> model -> JSON keeps every float bit (0.1, 1e-300, subnormals, -0.0)."""
    n_in = data.draw(st.integers(1, 3))
    layers, width = [], n_in
    for _ in range(data.draw(st.integers(1, 3))):
        out = data.draw(st.integers(1, 3))
        layers.append({"weights": data.draw(st.lists(st.lists(finite, min_size=width + 1, max_size=width + 1),
                                                     min_size=out, max_size=out)),
                       "thresholds": data.draw(st.lists(positive, min_size=out, max_size=out)),
                       "delays": data.draw(st.lists(st.lists(st.floats(0, 1e300), min_size=width + 1,
                                                             max_size=width + 1), min_size=out, max_size=out))})
        width = out
    d = {"kind": "snn", "constants": [data.draw(finite)], "layers": layers,
         "encoder": {"offset": data.draw(st.lists(finite, min_size=n_in, max_size=n_in)),
                     "scale": [data.draw(positive)] * n_in}}
    net = network_from_dict(json.loads(json.dumps(d)))
    text = json.dumps(network_to_dict(net))
    again = network_from_dict(json.loads(text))
    assert same_snn(net, again) and json.dumps(network_to_dict(again)) == text
    # the DAG form carries the same numbers as the layered input
    key = lambda ws: sorted(ws, key=lambda w: (w, np.copysign(1, w)))  # noqa: E731
    assert key(net.weight.tolist()) == key([w for layer in layers for row in layer["weights"] for w in row])


def test_relu_json_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    net = ReLUNet([(rng.normal(size=(4, 3)), rng.normal(size=4)), (rng.normal(size=(2, 4)), [0.1, 1e-300])])
    p = tmp_path / "relu.json"
    save_network(net, p)
    assert same_relu(net, load_network(p))
    assert json.loads(p.read_text())["kind"] == "relu"


def test_load_inputs_formats(tmp_path):
    X = np.array([[0.1, 2.0], [-3.5, 1e-3]])
    (tmp_path / "a.csv").write_text("0.1,2.0\n-3.5,0.001\n")
    (tmp_path / "b.csv").write_text("0.1 2.0\n-3.5 0.001\n")
    np.save(tmp_path / "c.npy", X)
    (tmp_path / "d.json").write_text(json.dumps(X.tolist()))
    for name in ("a.csv", "b.csv", "c.npy", "d.json"):
        assert np.array_equal(load_inputs(tmp_path / name, 2), X)
    (tmp_path / "one.csv").write_text("1,2\n")
    assert load_inputs(tmp_path / "one.csv", 2).shape == (1, 2)


# --------------------------------------------------------------------------- ONNX helpers
def _model(nodes, inits, in_shape, out_shape, dtype=TensorProto.FLOAT, opset=13):
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", dtype, in_shape)],
                              [helper.make_tensor_value_info("y", dtype, out_shape)],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def _save(m, tmp_path, name="m.onnx"):
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def _check_against_ort(path, net: ReLUNet, in_shape, dtype=np.float32, rtol=1e-5):
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = rng.normal(size=net.n_inputs)
        y = sess.run(None, {"x": x.astype(dtype).reshape(in_shape)})[0].reshape(-1)
        np.testing.assert_allclose(net.evaluate(x.astype(dtype).astype(float))[0], y, rtol=rtol, atol=1e-5)


f32 = lambda *s: np.random.default_rng(sum(s)).normal(size=s).astype(np.float32)  # noqa: E731


def test_onnx_pytorch_style_gemm_float32_exact(tmp_path):
    """``Flatten -> Gemm(transB=1) -> Relu -> Gemm``: float32 weights import exactly."""
    W1, b1, W2, b2 = f32(5, 4), f32(5), f32(3, 5), f32(3)
    m = _model([helper.make_node("Flatten", ["x"], ["f"], name="flat"),
                helper.make_node("Gemm", ["f", "W1", "b1"], ["z"], name="fc1", transB=1),
                helper.make_node("Relu", ["z"], ["h"], name="act"),
                helper.make_node("Gemm", ["h", "W2", "b2"], ["y"], name="fc2", transB=1)],
               {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, [1, 1, 2, 2], [1, 3])
    p = _save(m, tmp_path)
    net = load_onnx(p)
    assert net.widths == [4, 5, 3]
    assert same_relu(ReLUNet([(W1.astype(float), b1.astype(float)), (W2.astype(float), b2.astype(float))]), net)
    _check_against_ort(p, net, [1, 1, 2, 2])


def test_onnx_gemm_alpha_beta_trans_and_constants(tmp_path):
    """Gemm with alpha/beta/transA, a weight from a Constant node, Reshape/Squeeze/Unsqueeze/Identity."""
    A, C = f32(4, 3), f32(4)          # Gemm(A', act) with transA=1: A stored transposed (3, 4)
    W2 = f32(2, 4)
    m = _model([
        helper.make_node("Reshape", ["x", "shape_col"], ["xc"], name="to_col"),
        helper.make_node("Gemm", ["At", "xc", "Ccol"], ["z"], name="g1", transA=1, alpha=0.5, beta=2.0),
        helper.make_node("Relu", ["z"], ["h"], name="r1"),
        helper.make_node("Squeeze", ["h", "ax1"], ["hs"], name="sq"),
        helper.make_node("Unsqueeze", ["hs", "ax0"], ["hu"], name="unsq"),
        helper.make_node("Constant", [], ["W2c"], name="const_w2", value=numpy_helper.from_array(W2.T.copy())),
        helper.make_node("MatMul", ["hu", "W2c"], ["m"], name="mm"),
        helper.make_node("Identity", ["m"], ["y"], name="id")],
        {"At": A.T.copy(), "Ccol": C.reshape(4, 1), "shape_col": np.array([3, 1], dtype=np.int64),
         "ax1": np.array([1], dtype=np.int64), "ax0": np.array([0], dtype=np.int64)}, [1, 3], [1, 2])
    p = _save(m, tmp_path)
    net = load_onnx(p)
    assert net.widths == [3, 4, 2]
    W, b = net.layers[0]
    assert np.array_equal(W, 0.5 * A.astype(float)) and np.array_equal(b, 2.0 * C.astype(float))
    assert np.array_equal(net.layers[1][0], W2.astype(float))
    _check_against_ort(p, net, [1, 3])


def test_onnx_matmul_add_vector_input_and_sub(tmp_path):
    W1, b1, W2, b2 = f32(3, 6), f32(6), f32(6, 2), f32(2)
    m = _model([helper.make_node("MatMul", ["x", "W1"], ["a"], name="mm1"),
                helper.make_node("Add", ["b1", "a"], ["z"], name="add1"),
                helper.make_node("Relu", ["z"], ["h"], name="relu1"),
                helper.make_node("MatMul", ["h", "W2"], ["a2"], name="mm2"),
                helper.make_node("Sub", ["b2", "a2"], ["y"], name="sub2")],
               {"W1": W1, "b1": b1, "W2": W2, "b2": b2}, [3], [2])
    p = _save(m, tmp_path)
    net = load_onnx(p)
    assert np.array_equal(net.layers[0][0], W1.T.astype(float))
    assert np.array_equal(net.layers[1][0], -W2.T.astype(float)) and np.array_equal(net.layers[1][1], b2.astype(float))
    _check_against_ort(p, net, [3])


def test_onnx_double_model_and_output_relu(tmp_path):
    """A float64 model ending with Relu: the output ReLU becomes a hidden layer + identity output."""
    W = np.random.default_rng(5).normal(size=(3, 2))
    m = _model([helper.make_node("Gemm", ["x", "W"], ["z"], name="g", transB=1),
                helper.make_node("Relu", ["z"], ["y"], name="r")], {"W": W}, ["N", 2], ["N", 3], TensorProto.DOUBLE)
    p = _save(m, tmp_path)
    net = load_onnx(p)
    assert np.array_equal(net.layers[0][0], W) and np.array_equal(net.layers[1][0], np.eye(3))
    _check_against_ort(p, net, [1, 2], dtype=np.float64, rtol=1e-12)


def test_onnx_round_trip_exact_and_runs(tmp_path):
    rng = np.random.default_rng(2)
    net = ReLUNet([(rng.normal(size=(6, 4)), rng.normal(size=6)), (rng.normal(size=(5, 6)), [0.1, 1e-300, -0.0, 3, 4]),
                   (rng.normal(size=(2, 5)), rng.normal(size=2))])
    p = tmp_path / "net.onnx"
    save_network(net, p)
    again = load_network(p)
    assert same_relu(net, again)
    sess = ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
    X = rng.normal(size=(20, 4))
    np.testing.assert_allclose(sess.run(None, {"input": X})[0], net.evaluate(X), rtol=1e-12, atol=1e-12)
    # ONNX (float32, foreign layout) -> model -> ONNX -> model keeps every parameter
    W1, W2 = f32(3, 2), f32(2, 3)
    m = _model([helper.make_node("MatMul", ["x", "W1"], ["z"], name="a"), helper.make_node("Relu", ["z"], ["h"]),
                helper.make_node("MatMul", ["h", "W2"], ["y"], name="b")], {"W1": W1.T.copy(), "W2": W2.T.copy()},
               [1, 2], [1, 2])
    first = load_onnx(_save(m, tmp_path, "f32.onnx"))
    save_onnx(first, tmp_path / "back.onnx")
    assert same_relu(first, load_onnx(tmp_path / "back.onnx"))
    assert np.array_equal(first.layers[0][0], W1.astype(float))


def test_onnx_unsupported_operator_names_op_and_node(tmp_path):
    m = _model([helper.make_node("Gemm", ["x", "W"], ["z"], name="fc", transB=1),
                helper.make_node("Sigmoid", ["z"], ["y"], name="squash")], {"W": f32(2, 2)}, [1, 2], [1, 2])
    with pytest.raises(UnsupportedNetwork) as e:
        load_onnx(_save(m, tmp_path))
    assert "Sigmoid" in str(e.value) and "squash" in str(e.value) and "m.onnx" in str(e.value)


def test_onnx_skip_connection_rejected(tmp_path):
    m = _model([helper.make_node("Gemm", ["x", "W"], ["z"], name="fc", transB=1),
                helper.make_node("Relu", ["z"], ["h"], name="r"),
                helper.make_node("Add", ["h", "x"], ["y"], name="skip")], {"W": f32(2, 2)}, [1, 2], [1, 2])
    with pytest.raises(UnsupportedNetwork, match="skip"):
        load_onnx(_save(m, tmp_path))


def test_onnx_malformed_and_missing(tmp_path):
    p = tmp_path / "bad.onnx"
    p.write_bytes(b"\x08\x07\x12 this is not protobuf \xff\xfe")
    with pytest.raises(InputError, match="bad.onnx"):
        load_network(p)
    p.write_bytes(b"")
    with pytest.raises(InputError, match="bad.onnx"):
        load_network(p)
    with pytest.raises(InputError, match="nothere.onnx"):
        load_network(tmp_path / "nothere.onnx")


def test_onnx_export_rejects_snn(tmp_path):
    with pytest.raises(UnsupportedNetwork):
        save_network(network_from_dict(LAYERED), tmp_path / "x.onnx")


def test_affine_to_dict_round_trip():
    a = Affine([0.1, -2.0], [3.0, 1e-9])
    assert a.to_dict() == {"offset": [0.1, -2.0], "scale": [3.0, 1e-9]}


def test_onnx_constant_folding_transpose_and_cast(tmp_path):
    """Weights computed from constants (Transpose, Cast to float32) are folded like the runtime does."""
    Wd = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])                # (out 2, in 3), double
    m = _model([helper.make_node("Cast", ["Wd"], ["Wf"], name="cast", to=TensorProto.FLOAT),
                helper.make_node("Transpose", ["Wf"], ["Wt"], name="tr", perm=[1, 0]),
                helper.make_node("MatMul", ["x", "Wt"], ["y"], name="mm")], {"Wd": Wd}, [1, 3], [1, 2])
    p = _save(m, tmp_path)
    net = load_onnx(p)
    assert np.array_equal(net.layers[0][0], Wd.astype(np.float32).astype(float))
    _check_against_ort(p, net, [1, 3])
