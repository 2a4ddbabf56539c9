"""VNN-LIB 2.0 and multi-network queries, checked against independent computations: the reference
parser (PyPI ``vnnlib``) for the reading, sampling / onnxruntime replay for every ``sat``, and a
second formulation (our ``equivalence``; a monotonicity theorem) for every ``unsat``."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from srmverify.formats import save_network
from srmverify.formats.vnnlib import read_vnnlib
from srmverify.formats.vnnlib2 import parse_counterexample2, parse_query, read_query
from srmverify.network import ReLUNet
from srmverify.verify.queries import equivalence
from srmverify.verify.relational import check_query
from srmverify_cli.main import run

ort = pytest.importorskip("onnxruntime")


def relu_net(seed: int, sizes=(2, 8, 8, 2)) -> ReLUNet:
    rng = np.random.default_rng(seed)
    return ReLUNet([(rng.normal(size=(o, i)), rng.normal(size=o) * 0.3) for i, o in zip(sizes, sizes[1:])])


def pruned(net: ReLUNet, frac: float = 0.2) -> ReLUNet:
    """Zero the smallest ``frac`` of the weights of every layer."""
    out = []
    for W, b in net.layers:
        W = np.array(W)
        W[np.abs(W) <= np.quantile(np.abs(W), frac)] = 0.0
        out.append((W, b))
    return ReLUNet(out)


def onnx_4d(net: ReLUNet, path) -> str:
    """``net`` as an ONNX model with a [1, 1, 1, n] float64 input (Flatten, then Gemm/Relu)."""
    nodes, inits, cur = [helper.make_node("Flatten", ["x"], ["h0"])], [], "h0"
    for l, (W, b) in enumerate(net.layers):
        inits += [numpy_helper.from_array(np.asarray(W), f"W{l}"), numpy_helper.from_array(np.asarray(b), f"b{l}")]
        z = "y" if l == len(net.layers) - 1 else f"z{l}"
        nodes.append(helper.make_node("Gemm", [cur, f"W{l}", f"b{l}"], [z], transB=1))
        if z != "y":
            nodes.append(helper.make_node("Relu", [z], [f"h{l + 1}"]))
            cur = f"h{l + 1}"
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [1, 1, 1, net.n_inputs])],
                          [helper.make_tensor_value_info("y", TensorProto.DOUBLE, [1, net.n_outputs])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.save(m, str(path))
    return str(path)


def ort_eval(path: str, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    shape = [1 if not isinstance(d, int) else d for d in inp.shape]
    return sess.run(None, {inp.name: np.asarray(x, dtype=np.float64).reshape(shape)})[0].reshape(-1)


def call(capsys, *argv):
    code = run([str(a) for a in argv])
    o, e = capsys.readouterr()
    return code, o, e


HEAD2 = """(vnnlib-version <2.0>)
(declare-network f (declare-input X_f float32 [1,1,1,2]) (declare-output Y_f float32 [1,2]))
(declare-network g ({rel} f) (declare-input X_g float32 [1,1,1,2]) (declare-output Y_g float32 [1,2]))
"""


def box2(name: str, lo=-1.0, hi=1.0) -> str:
    return "".join(f"(assert (and (<= {name}[0,0,0,{i}] {hi!r}) (>= {name}[0,0,0,{i}] {lo!r})))\n" for i in range(2))


# --------------------------------------------------------------------------- reading
def test_reading_agrees_with_the_reference_parser():
    """Our linear forms of every assertion equal those of the reference parser (VNNLIB-Python),
    and the once-per-variable ``(and (<= X 1) (>= X 0))`` gives ONE bounded box (the reference's
    compat.transform splits it into half-unbounded cases)."""
    vnnlib = pytest.importorskip("vnnlib")
    text = (HEAD2.format(rel="isomorphic-to") + box2("X_f") + box2("X_g", -2.0, 0.5) +
            "(assert (== X_f[0,0,0,1] X_g[0,0,0,1]))\n(assert (<= (+ X_f[0,0,0,0] (* 2.0 X_g[0,0,0,0])) 0.75))\n"
            "(assert (or (> (- Y_f[0,0] Y_g[0,1]) 0.5) (and (<= Y_f[0,1] -3.0) (>= Y_g[0,0] Y_f[0,0]))))\n")
    ours = parse_query(text)
    assert [n.name for n in ours.networks] == ["f", "g"] and ours.networks[1].isomorphic_to == "f"
    (g,) = ours.groups
    assert g.box.tolist() == [[-1.0, 1.0]] * 2 + [[-2.0, 0.5]] * 2
    # the reference's comparisons of the input-only assertions, as rows a . X <= d
    q = vnnlib.parse_query_string(text)
    offset = {"X_f": 0, "X_g": 2, "Y_f": 4, "Y_g": 6}
    ref = set()
    for a in q.assertions:
        for conj in a.expr.to_dnf():
            for c in conj:
                v = np.zeros(8)
                for side, s in ((c.lhs, 1.0), (c.rhs, -1.0)):
                    for t in side.to_linear_expr().terms:
                        v[offset[t.var.name] + int(np.ravel_multi_index(t.var.indices, t.var.shape))] += s * t.coeff
                d = c.rhs.to_linear_expr().constant - c.lhs.to_linear_expr().constant
                kind = type(c).__name__
                if v[4:].any():
                    continue
                if kind in ("LessEqual", "LessThan", "Equal"):
                    ref.add((tuple(v[:4] + 0.0), d + 0.0))
                if kind in ("GreaterEqual", "GreaterThan", "Equal"):
                    ref.add((tuple(-v[:4] + 0.0), -d + 0.0))
    mine = {(tuple(a + 0.0), d) for a, d in g.rows}
    for i, (lo, hi) in enumerate(g.box):
        e = np.eye(4)[i]
        mine |= {(tuple(e), hi), (tuple(-e + 0.0), -lo + 0.0)}
    assert mine == ref
    # the output DNF (two conjunctions; strictness kept)
    dnf = sorted([sorted((tuple(c), d, s) for c, d, s in conj) for conj in g.dnf])
    assert dnf == sorted([[((-1.0, 0, 0, 1.0), -0.5, True)],
                          sorted([((0, 1.0, 0, 0), -3.0, False), ((1.0, 0, -1.0, 0), 0.0, False)])])


def test_unsupported_constructs_name_file_line_and_construct(tmp_path, capsys):
    net = tmp_path / "n.onnx"
    save_network(relu_net(0), net)
    cases = {
        "hidden.vnnlib": ("(vnnlib-version <2.0>)\n(declare-network f (declare-input X Real [2])\n"
                          "  (declare-hidden H Real [8] \"relu1\") (declare-output Y Real [2]))\n", "line 3",
                          "hidden-node constraints are not supported"),
        "mixed.vnnlib": ("(vnnlib-version <2.0>)\n(declare-network f (declare-input X Real [2]) (declare-output Y Real [2]))\n"
                         + "(assert (<= X[0] 1.0))(assert (>= X[0] 0.0))(assert (<= X[1] 1.0))(assert (>= X[1] 0.0))\n"
                         + "(assert (<= X[0] Y[0]))\n", "line 4", "mixing inputs and outputs"),
        "index.vnnlib": ("(vnnlib-version <2.0>)\n(declare-network f (declare-input X Real [2]) (declare-output Y Real [2]))\n"
                         "(assert (<= X[2] 1.0))\n", "line 3", "out of range"),
        "unbounded.vnnlib": ("(vnnlib-version <2.0>)\n(declare-network f (declare-input X Real [2]) (declare-output Y Real [2]))\n"
                             "(assert (<= X[0] 1.0))(assert (>= X[0] 0.0))(assert (<= X[1] X[0]))\n(assert (<= Y[0] 0.0))\n",
                             "X[1]", "lower and an upper bound"),
    }
    for name, (text, where, what) in cases.items():
        (tmp_path / name).write_text(text)
        code, _, e = call(capsys, "verify", net, tmp_path / name)
        assert code == 3 and len(e.strip().splitlines()) == 1 and name in e and where in e and what in e, e


# --------------------------------------------------------------------------- single network
def test_single_network_tensor_inputs_agree_with_vnnlib_1(tmp_path, capsys):
    """A 2.0 file over a [1,1,1,2] input and the same property in 1.0 give the same verdict; the
    2.0 counterexample file replays in onnxruntime."""
    net = relu_net(3)
    path = onnx_4d(net, tmp_path / "n4.onnx")
    lo = ort_eval(path, [0.0, 0.0])[0]
    X = np.random.default_rng(0).uniform(-1, 1, (2000, 2))
    top = net.evaluate(X)[:, 0].max()
    for thr, want in ((top - 0.05, "sat"), (top + 50.0, "unsat")):
        v2 = tmp_path / f"p{thr:.3f}.vnnlib"
        v2.write_text("(vnnlib-version <2.0>)\n(declare-network f (declare-input X float32 [1,1,1,2]) "
                      "(declare-output Y float32 [1,2]))\n" + box2("X") + f"(assert (>= Y[0,0] {float(thr)!r}))\n")
        v1 = tmp_path / f"p{thr:.3f}.v1.vnnlib"
        v1.write_text("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)\n"
                      "(assert (<= X_0 1.0))(assert (>= X_0 -1.0))(assert (<= X_1 1.0))(assert (>= X_1 -1.0))\n"
                      f"(assert (>= Y_0 {float(thr)!r}))\n")
        cex = tmp_path / "cex.txt"
        code2, o2, e2 = call(capsys, "verify", path, v2, "--json", "--cex-out", cex)
        code1, o1, e1 = call(capsys, "verify", path, v1, "--json")
        assert o1 and o2, (e1, e2)
        assert json.loads(o2)["verdict"] == json.loads(o1)["verdict"] == want, (o1, o2)
        if want == "sat":
            lines = cex.read_text().splitlines()
            assert lines[0] == "sat" and lines[1] == "X float32 [1,1,1,2]" and lines[4] == "Y float32 [1,2]"
            vals = parse_counterexample2(cex.read_text())
            x = vals["X"].reshape(-1)
            assert np.all(np.abs(x) <= 1.0) and ort_eval(path, x)[0] >= thr
            np.testing.assert_allclose(vals["Y"].reshape(-1), ort_eval(path, x), rtol=1e-9)
    assert np.isfinite(lo)
    # the box-only 2.0 file also reads as a VnnlibProperty (the batch runner's path)
    assert read_vnnlib(v2).input_box.tolist() == [[-1.0, 1.0]] * 2


def test_polytope_input_constraints_vnnlib_1_and_2(tmp_path):
    """``x0 + x1 <= 0.5`` (a polytope): the verdict matches a dense grid over the polytope."""
    net = relu_net(5)
    g = np.linspace(-1, 1, 401)
    G = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    G = G[G.sum(axis=1) <= 0.5]
    top = net.evaluate(G)[:, 1].max()
    for thr, want in ((top - 1e-3, "sat"), (top + 0.5, "unsat")):
        text = ("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)\n"
                "(assert (<= X_0 1))(assert (>= X_0 -1))(assert (<= X_1 1))(assert (>= X_1 -1))\n"
                f"(assert (<= (+ X_0 X_1) 0.5))(assert (>= Y_1 {float(thr)!r}))\n")
        r = check_query([net], parse_query(text))
        assert r.verdict.value == want
        if want == "sat":
            x = np.array(r.counterexample.input)
            assert x.sum() <= 0.5 and np.all(np.abs(x) <= 1) and net.evaluate(x[None])[0, 1] >= thr


# --------------------------------------------------------------------------- several networks
def test_equivalence_of_a_network_and_its_pruned_copy(tmp_path, capsys):
    """f vs its pruned copy g with equal inputs: ``|f_j - g_j| > eps`` is sat for eps below a
    sampled difference (the counterexample replays in onnxruntime) and unsat above the bound
    proven by our ``equiv`` (a different formulation, which must also say unsat)."""
    f = relu_net(7)
    g = pruned(f, 0.25)
    fp, gp = tmp_path / "f.onnx", tmp_path / "g.onnx"
    save_network(f, fp), save_network(g, gp)
    X = np.random.default_rng(1).uniform(-1, 1, (4000, 2))
    sampled = np.abs(f.evaluate(X) - g.evaluate(X)).max()
    box = np.array([[-1.0, 1.0]] * 2)
    bound = equivalence(f, g, box, eps=10 * sampled + 1).details["max_difference_bound"]

    def prop(eps: float) -> str:
        p = tmp_path / f"eq{eps:.4f}.vnnlib"
        viol = " ".join(f"(> (- Y_f[{j}] Y_g[{j}]) {float(eps)!r}) (< (- Y_f[{j}] Y_g[{j}]) {-float(eps)!r})" for j in range(2))
        p.write_text("(vnnlib-version <2.0>)\n(declare-network f (declare-input X_f float32 [2]) (declare-output Y_f float32 [2]))\n"
                     "(declare-network g (isomorphic-to f) (declare-input X_g float32 [2]) (declare-output Y_g float32 [2]))\n"
                     + "".join(f"(assert (and (>= X_f[{i}] -1.0) (<= X_f[{i}] 1.0)))\n(assert (== X_f[{i}] X_g[{i}]))\n"
                               for i in range(2)) + f"(assert (or {viol}))\n")
        return str(p)

    cex = tmp_path / "cex.txt"
    code, o, _ = call(capsys, "verify", f"f={fp}", f"g={gp}", prop(0.5 * sampled), "--json", "--cex-out", cex)
    d = json.loads(o)
    assert code == 1 and d["verdict"] == "sat" and d["details"]["networks"] == ["f", "g"]
    vals = parse_counterexample2(cex.read_text())
    assert np.array_equal(vals["X_f"], vals["X_g"]) and np.all(np.abs(vals["X_f"]) <= 1)
    assert np.abs(ort_eval(str(fp), vals["X_f"]) - ort_eval(str(gp), vals["X_g"])).max() > 0.5 * sampled
    for eps in (1.1 * sampled, bound * 1.01 + 1e-6):      # near the sampled maximum, and above equiv's proof
        code, o, _ = call(capsys, "verify", f"f={fp}", f"g={gp}", prop(eps), "--json")
        other = equivalence(f, g, box, eps=eps).verdict.value            # the second formulation
        assert json.loads(o)["verdict"] == other and other in ("sat", "unsat")
    assert other == "unsat" and code == 0


def monotone_net(seed: int) -> ReLUNet:
    """Nondecreasing in input 0 (every weight on a path from x0 is >= 0); x1 enters freely."""
    rng = np.random.default_rng(seed)
    W1 = rng.normal(size=(8, 2))
    W1[:, 0] = np.abs(W1[:, 0])
    return ReLUNet([(W1, rng.normal(size=8)), (np.abs(rng.normal(size=(6, 8))), rng.normal(size=6)),
                    (np.abs(rng.normal(size=(1, 6))), [0.0])])


MONO = """(vnnlib-version <2.0>)
(declare-network f (declare-input X_f Real [2]) (declare-output Y_f Real [1]))
(declare-network g (equal-to f) (declare-input X_g Real [2]) (declare-output Y_g Real [1]))
(assert (and (>= X_f[0] -1.0) (<= X_f[0] 1.0) (>= X_f[1] -1.0) (<= X_f[1] 1.0)))
(assert (and (>= X_g[0] -1.0) (<= X_g[0] 1.0)))
(assert (<= X_f[0] X_g[0]))
(assert (== X_f[1] X_g[1]))
(assert (> Y_f[0] Y_g[0]))
"""


def test_monotonicity_with_two_coupled_inputs(tmp_path, capsys):
    """``x <= x'`` in input 0, equal input 1, ``f(x) > f(x')``: unsat for a network monotone by
    construction (the theorem is the second formulation), sat for a random one (a sampled pair
    confirms it; the counterexample satisfies the coupling and replays in onnxruntime)."""
    p = tmp_path / "mono.vnnlib"
    p.write_text(MONO)
    q = read_query(p)
    mono = monotone_net(2)
    assert check_query({"f": mono}, q).verdict.value == "unsat"
    rng = np.random.default_rng(3)
    wild = relu_net(11, (2, 8, 1))
    A, B = rng.uniform(-1, 1, (3000, 2)), rng.uniform(-1, 1, (3000, 1))
    lo, hi = np.minimum(A[:, :1], B), np.maximum(A[:, :1], B)
    Xa, Xb = np.hstack([lo, A[:, 1:]]), np.hstack([hi, A[:, 1:]])
    assert (wild.evaluate(Xa)[:, 0] > wild.evaluate(Xb)[:, 0]).any()      # independent: not monotone
    wp = tmp_path / "wild.onnx"
    save_network(wild, wp)
    cex = tmp_path / "mono.cex"
    code, o, _ = call(capsys, "verify", f"f={wp}", p, "--json", "--cex-out", cex)
    assert code == 1 and json.loads(o)["verdict"] == "sat"
    v = parse_counterexample2(cex.read_text())
    xf, xg = v["X_f"], v["X_g"]
    assert xf[0] <= xg[0] and xf[1] == xg[1] and np.all(np.abs(np.r_[xf, xg]) <= 1)
    assert ort_eval(str(wp), xf)[0] > ort_eval(str(wp), xg)[0]
    np.testing.assert_allclose([v["Y_f"][0], v["Y_g"][0]], [ort_eval(str(wp), xf)[0], ort_eval(str(wp), xg)[0]],
                               rtol=1e-9)


def test_input_bounded_only_through_a_relational_row(tmp_path):
    """The ``monotonic_acasxu_2026`` form: ``X_g[0]`` has no upper bound of its own, only
    ``X_f[0] >= X_g[0]`` (the LP bound); a monotone network holds, a random one is refuted
    with a counterexample inside the input set."""
    text = MONO.replace("(assert (and (>= X_g[0] -1.0) (<= X_g[0] 1.0)))", "(assert (>= X_g[0] -1.0))") \
               .replace("(assert (<= X_f[0] X_g[0]))", "(assert (>= X_f[0] X_g[0]))") \
               .replace("(assert (> Y_f[0] Y_g[0]))", "(assert (< Y_f[0] Y_g[0]))")
    q = parse_query(text)
    assert not np.isfinite(q.groups[0].box[2, 1])              # X_g[0] unbounded above in the file
    assert check_query({"f": monotone_net(4)}, q).verdict.value == "unsat"
    wild = relu_net(11, (2, 8, 1))
    r = check_query({"f": wild}, q)
    assert r.verdict.value == "sat"
    xf, xg = np.array(r.counterexample.input[:2]), np.array(r.counterexample.input[2:])
    assert -1 <= xg[0] <= xf[0] <= 1 and xf[1] == xg[1] and wild.evaluate(xf[None])[0, 0] < wild.evaluate(xg[None])[0, 0]
