"""ONNX layers beyond Gemm/MatMul: normalisation (Mul/Div/Add/Sub by constants), BatchNormalization,
Conv, AveragePool, GlobalAveragePool, Dropout/Identity/Constant, gzipped files, the size guard and
external data. Every imported model is compared with onnxruntime running the original file
(float64 models within 1e-9 relative; float32 models within float32 rounding)."""
from __future__ import annotations

import gzip

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from srmverify.errors import InputError, UnsupportedNetwork
from srmverify.formats import load_network
from srmverify.formats.onnx_net import MAX_DENSE_ENTRIES, load_onnx
from srmverify_cli.main import run

ort = pytest.importorskip("onnxruntime")
D, F = TensorProto.DOUBLE, TensorProto.FLOAT


def model(nodes, inits, in_shape, out_shape, dtype=D, opset=13):
    npt = np.float64 if dtype == D else np.float32
    if out_shape is None:           # symbolic dimensions of the input's rank
        out_shape = [f"d{i}" for i in range(len(in_shape))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", dtype, in_shape)],
                              [helper.make_tensor_value_info("y", dtype, out_shape)],
                              [numpy_helper.from_array(np.asarray(v, dtype=v.dtype if v.dtype.kind == "i" else npt), k)
                               for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    return m


def save(m, tmp_path, name="m.onnx"):
    p = tmp_path / name
    onnx.save(m, str(p))
    return p


def agree(path, in_shape, dtype=np.float64, n=6):
    """Import ``path`` and compare with onnxruntime on random inputs; returns the network."""
    net = load_network(path)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = np.random.default_rng(3).normal(size=(n, net.n_inputs)).astype(dtype)
    got = net.evaluate(X.astype(np.float64))
    want = np.vstack([sess.run(None, {"x": x.reshape(in_shape)})[0].reshape(-1) for x in X])
    if dtype == np.float64:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    return net


rnd = lambda seed, *s: np.random.default_rng(seed).normal(size=s)  # noqa: E731


def conv_model(dtype=F, **conv_attrs):
    """Normalise -> Conv -> BatchNorm -> Relu -> AveragePool -> Relu -> GlobalAveragePool -> Flatten
    -> Gemm on a 1x2x6x6 input."""
    nodes = [helper.make_node("Sub", ["x", "mean"], ["a"], name="center"),
             helper.make_node("Div", ["a", "std"], ["b"], name="scale"),
             helper.make_node("Conv", ["b", "K", "kb"], ["c"], name="conv", **conv_attrs),
             helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["d"], name="bn", epsilon=1e-3),
             helper.make_node("Relu", ["d"], ["e"], name="relu"),
             helper.make_node("AveragePool", ["e"], ["f"], name="pool", kernel_shape=[2, 2], strides=[1, 1]),
             helper.make_node("Relu", ["f"], ["f2"], name="relu2"),
             helper.make_node("GlobalAveragePool", ["f2"], ["f3"], name="gap"),
             helper.make_node("Flatten", ["f3"], ["h"], name="flat"),
             helper.make_node("Gemm", ["h", "Wo", "bo"], ["y"], name="fc", transB=1)]
    inits = {"mean": rnd(1, 1, 2, 1, 1), "std": np.abs(rnd(2, 1, 2, 1, 1)) + 0.5, "K": rnd(3, 4, 2, 3, 3),
             "kb": rnd(4, 4), "g": rnd(5, 4), "be": rnd(6, 4), "mu": rnd(7, 4), "var": np.abs(rnd(8, 4)) + 0.1,
             "Wo": rnd(9, 2, 4), "bo": rnd(10, 2)}
    return model(nodes, inits, [1, 2, 6, 6], [1, 2], dtype)


def test_normalisation_and_batchnorm_double_exact_affine(tmp_path):
    """Mul/Div/Add/Sub by broadcast constants, c - x, x * c, BatchNormalization on (1, C), Dropout,
    Identity and a Constant node: float64 agreement to 1e-9 and the expected first layer."""
    W1 = rnd(0, 3, 4)
    nodes = [helper.make_node("Constant", [], ["m"], value=numpy_helper.from_array(np.array([0.5, -1.0, 2.0, 0.25]))),
             helper.make_node("Sub", ["x", "m"], ["a"]),
             helper.make_node("Div", ["a", "s"], ["b"]),
             helper.make_node("Mul", ["k", "b"], ["c"]),
             helper.make_node("Sub", ["o", "c"], ["d"]),
             helper.make_node("Identity", ["d"], ["e"]),
             helper.make_node("Gemm", ["e", "W1", "b1"], ["z"], transB=1),
             helper.make_node("BatchNormalization", ["z", "g", "be", "mu", "var"], ["n"]),
             helper.make_node("Dropout", ["n"], ["q"]),
             helper.make_node("Relu", ["q"], ["h"]),
             helper.make_node("MatMul", ["h", "W2"], ["y"])]
    inits = {"s": np.array([2.0, 4.0, 0.5, 8.0]), "k": np.array(3.0), "o": np.array([1.0, 0, 0, -1]),
             "W1": W1, "b1": rnd(1, 3), "g": rnd(2, 3), "be": rnd(3, 3), "mu": rnd(4, 3),
             "var": np.abs(rnd(5, 3)) + 0.1, "W2": rnd(6, 3, 2)}
    net = agree(save(model(nodes, inits, [1, 4], [1, 2]), tmp_path), [1, 4])
    assert net.widths == [4, 3, 2]
    # the first layer, by hand: z = W1 (o - 3 (x - m) / s) + b1, then BN
    s = inits["g"] / np.sqrt(inits["var"] + 1e-5)
    W = s[:, None] * (W1 * (-3.0 / inits["s"])[None, :])
    np.testing.assert_allclose(net.layers[0][0], W, rtol=1e-12)


@pytest.mark.parametrize("attrs", [{}, {"strides": [2, 2]}, {"pads": [1, 0, 2, 1]}, {"dilations": [2, 1]},
                                   {"auto_pad": "SAME_UPPER"}, {"auto_pad": "SAME_LOWER", "strides": [2, 2]},
                                   {"group": 2}], ids=repr)
def test_conv_pool_chain_matches_onnxruntime(tmp_path, attrs):
    if attrs.get("group") == 2:     # grouped: 4 output channels, each seeing one input channel
        m = conv_model()
        k = next(t for t in m.graph.initializer if t.name == "K")
        k.CopyFrom(numpy_helper.from_array(rnd(11, 4, 1, 3, 3).astype(np.float32), "K"))
        next(n for n in m.graph.node if n.op_type == "Conv").attribute.append(helper.make_attribute("group", 2))
        onnx.checker.check_model(m)
    else:
        m = conv_model(**attrs)
    net = agree(save(m, tmp_path), [1, 2, 6, 6], np.float32)   # onnxruntime has no float64 Conv
    assert net.n_inputs == 72 and net.n_outputs == 2 and len(net.layers) == 3


def test_conv1d_pools_with_padding(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "K"], ["c"], pads=[1, 1], strides=[2]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[3], pads=[1, 1], count_include_pad=1),
             helper.make_node("GlobalAveragePool", ["p"], ["y"])]
    agree(save(model(nodes, {"K": rnd(1, 3, 2, 3)}, [1, 2, 9], [1, 3, 1], F), tmp_path, "c1.onnx"), [1, 2, 9],
          np.float32)
    nodes[2] = helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[2], pads=[1, 1])   # excl. pad
    agree(save(model(nodes, {"K": rnd(1, 3, 2, 3)}, [1, 2, 9], [1, 3, 1], F), tmp_path, "c2.onnx"), [1, 2, 9],
          np.float32)


def test_gzipped_onnx_and_json_load(tmp_path):
    p = save(conv_model(), tmp_path)
    gz = tmp_path / "m.onnx.gz"
    gz.write_bytes(gzip.compress(p.read_bytes()))
    a, b = load_network(p), load_network(gz)
    assert all(np.array_equal(u, v) for (W, c), (V, d) in zip(a.layers, b.layers) for u, v in ((W, V), (c, d)))
    js = tmp_path / "r.json.gz"
    js.write_bytes(gzip.compress(b'{"kind": "relu", "layers": [{"weights": [[2.0]], "biases": [1.0]}]}'))
    assert load_network(js).evaluate(np.array([[3.0]])).tolist() == [[7.0]]


def test_size_guard_names_what_it_refused(tmp_path, capsys):
    side = 1 + int(np.sqrt(MAX_DENSE_ENTRIES))   # one input channel: a side x side -> side x side Conv
    m = model([helper.make_node("Conv", ["x", "K"], ["y"], name="bigconv", pads=[1, 1, 1, 1])],
              {"K": rnd(0, 1, 1, 3, 3)}, [1, 1, side // 100 + 40, 100], None)
    with pytest.raises(UnsupportedNetwork, match=r"Conv would make a \d+ x \d+ dense matrix") as e:
        load_onnx(save(m, tmp_path, "big.onnx"))
    assert "node bigconv (Conv)" in str(e.value)
    huge = model([helper.make_node("Relu", ["x"], ["y"])], {}, [1, 1, 100000, 100000], [1, 1, 100000, 100000])
    p = save(huge, tmp_path, "huge.onnx")
    code = run(["info", str(p)])
    err = capsys.readouterr().err.strip()
    assert code == 3 and len(err.splitlines()) == 1 and "huge.onnx" in err and "10000000000 values" in err


def test_external_data_missing_or_outside_is_one_line_exit_3(tmp_path, capsys):
    m = model([helper.make_node("MatMul", ["x", "W"], ["y"])], {"W": rnd(0, 40, 40)}, [1, 40], [1, 40])
    d = tmp_path / "net"
    d.mkdir()
    onnx.save(m, str(d / "ext.onnx"), save_as_external_data=True, location="w.bin", size_threshold=0)
    assert load_onnx(d / "ext.onnx").n_inputs == 40                    # the normal case loads
    (d / "w.bin").unlink()
    with pytest.raises(InputError, match="external data"):
        load_onnx(d / "ext.onnx")
    outside = onnx.load(str(d / "ext.onnx"), load_external_data=False)
    for t in outside.graph.initializer:
        for e in t.external_data:
            if e.key == "location":
                e.value = "../secret.bin"
    (tmp_path / "secret.bin").write_bytes(b"\0" * 6400)
    onnx.save(outside, str(d / "out.onnx"))
    for name in ("ext.onnx", "out.onnx"):
        code = run(["info", str(d / name)])
        err = capsys.readouterr().err.strip()
        assert code == 3 and len(err.splitlines()) == 1 and name in err and "external data" in err, err


def test_unsupported_forms_are_named(tmp_path):
    cases = [([helper.make_node("Div", ["k", "x"], ["y"], name="recip")], {"k": np.array(1.0)}, "not affine"),
             ([helper.make_node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2, 2])], {}, "MaxPool"),
             ([helper.make_node("Mul", ["x", "x"], ["y"], name="sq")], {}, "more than one input")]
    for nodes, inits, msg in cases:
        m = model(nodes, inits, [1, 1, 4, 4], None)
        with pytest.raises(UnsupportedNetwork, match=msg):
            load_onnx(save(m, tmp_path))


def small_conv(tmp_path):
    """A 1x1x4x4 input -> Conv(2 channels, 3x3) -> BatchNorm -> Relu -> AveragePool(2) -> Flatten -> Gemm(2)."""
    nodes = [helper.make_node("Sub", ["x", "m"], ["a"]), helper.make_node("Conv", ["a", "K", "kb"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["d"]),
             helper.make_node("Relu", ["d"], ["e"]),
             helper.make_node("AveragePool", ["e"], ["f"], kernel_shape=[2, 2]),
             helper.make_node("Flatten", ["f"], ["h"]), helper.make_node("Gemm", ["h", "Wo", "bo"], ["y"], transB=1)]
    inits = {"m": np.array(0.5), "K": rnd(20, 2, 1, 3, 3), "kb": rnd(21, 2), "g": rnd(22, 2), "be": rnd(23, 2),
             "mu": rnd(24, 2), "var": np.abs(rnd(25, 2)) + 0.1, "Wo": rnd(26, 2, 2), "bo": rnd(27, 2)}
    return str(save(model(nodes, inits, [1, 1, 4, 4], [1, 2], F), tmp_path, "conv.onnx"))


def test_small_conv_model_verifies_end_to_end(tmp_path, capsys):
    """``verify conv.onnx prop.vnnlib``: sat below a sampled maximum (the counterexample replays in
    onnxruntime), unsat above the interval bound (sound by construction), and at a threshold in
    between the MILP engine agrees with the exact SMT engine (a second formulation)."""
    from srmverify.bounds import relu_preactivation_bounds
    from srmverify.formats.vnnlib import read_counterexample

    path = small_conv(tmp_path)
    net = load_network(path)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    X = np.random.default_rng(0).random((500, 16)).astype(np.float32)
    sampled = max(sess.run(None, {"x": x.reshape(1, 1, 4, 4)})[0][0, 0] for x in X)
    box = np.array([[0.0, 1.0]] * 16)
    upper = relu_preactivation_bounds(net, box, "interval")[-1][1][0]
    head = "".join(f"(declare-const X_{i} Real)" for i in range(16)) + "(declare-const Y_0 Real)(declare-const Y_1 Real)\n"
    head += "".join(f"(assert (>= X_{i} 0))(assert (<= X_{i} 1))\n" for i in range(16))
    verdicts = {}
    for name, thr in (("low", sampled - 0.01), ("mid", sampled + 0.3 * (upper - sampled)), ("high", upper + 1e-6)):
        p = tmp_path / f"{name}.vnnlib"
        p.write_text(head + f"(assert (>= Y_0 {float(thr)!r}))\n")
        for engine in (("highs", "z3") if name == "mid" else ("highs",)):
            code, out = run(["verify", path, str(p), "--engine", engine, "--cex-out", str(tmp_path / "cex")]), \
                capsys.readouterr().out
            verdicts[name, engine] = out.splitlines()[0]
        if verdicts[name, "highs"] == "sat":
            x, _ = read_counterexample(tmp_path / "cex")
            assert np.all((0 <= x) & (x <= 1))
            assert sess.run(None, {"x": x.astype(np.float32).reshape(1, 1, 4, 4)})[0][0, 0] >= thr - 1e-5
    assert verdicts["low", "highs"] == "sat" and verdicts["high", "highs"] == "unsat"
    assert verdicts["mid", "highs"] == verdicts["mid", "z3"] in ("sat", "unsat")
