"""End-to-end checks of ``srmverify bounds | robust | equiv | verify`` through ``run([...])``.

Verdicts are checked against independent computations: exact corner evaluation for
positive-weight SNNs (model.md §1.1), dense grids for ReLU networks, networks whose output
difference is known in closed form, and the exact simulator for every counterexample.
"""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

from srmverify.formats import save_network
from srmverify.formats.vnnlib import read_counterexample
from srmverify.network import SNN, Affine, ReLUNet
from srmverify.simulate import run_exact, simulate, simulate_exact
from srmverify_cli.main import run


# ----------------------------------------------------------------------------- networks
def pos_snn() -> SNN:
    """2 inputs (spike times = data), constant at 0, positive weights, 3 hidden, 2 outputs."""
    return SNN.layered([[[1.0, 2.0, 0.5], [0.5, 1.0, 1.0], [2.0, 0.5, 0.2]],
                        [[1.0, 0.2, 0.5, 0.3], [0.2, 0.8, 1.0, 0.1]]],
                       [[1.0, 1.5, 1.0], [1.0, 1.2]], constants=[0.0])


def race_snn() -> SNN:
    """2 inputs racing: output 0 follows input 0, output 1 follows input 1 (class = earlier input)."""
    return SNN.layered([[[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]], [[1.0, 0.1, 0.2], [0.1, 1.0, 0.2]]],
                       [[1.0, 1.0], [1.0, 1.0]], constants=[0.0])


def relu_1d() -> ReLUNet:
    rng = np.random.default_rng(3)
    return ReLUNet([(rng.normal(size=(12, 1)), rng.normal(size=12)), (rng.normal(size=(1, 12)), rng.normal(size=1))])


def relu_2d(shift: float = 0.0) -> ReLUNet:
    rng = np.random.default_rng(5)
    W2, b2 = rng.normal(size=(3, 8)), rng.normal(size=3)
    return ReLUNet([(rng.normal(size=(8, 2)), rng.normal(size=8)), (W2, b2 + shift)])


def identity_snn() -> SNN:
    """One input, one output: fires at t = x + 1 (weight 1, threshold 1); decoder offset 1 -> y = x."""
    return SNN.layered([[[1.0]]], [[1.0]], decoder=Affine([1.0], [1.0]))


@pytest.fixture
def files(tmp_path):
    def write(name, net):
        path = tmp_path / name
        save_network(net, path)
        return str(path)
    return write


def call(capsys, *argv):
    """Run the CLI with --json; return (exit code, parsed stdout, stderr)."""
    code = run([*argv, "--json"])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if captured.out.strip() else None), captured.err


# ----------------------------------------------------------------------------- bounds
def test_bounds_of_positive_snn_are_the_exact_corner_values(capsys, files):
    net = files("pos.json", pos_snn())
    lo_corner = [float(v) for v in simulate_exact(pos_snn(), [0, 0.5])]
    hi_corner = [float(v) for v in simulate_exact(pos_snn(), [1, 2])]
    for method in ("optimal", "interval"):
        code, d, _ = call(capsys, "bounds", net, "--box", "0:1,0.5:2", "--method", method)
        assert code == 0 and d["status"] == ("optimal" if method == "optimal" else "sound") and d["complete"]
        assert {"lower", "upper", "method", "engine", "optimal", "tolerance", "time"} <= set(d) and "verdict" not in d
        assert d["optimal"] or method != "optimal"
        np.testing.assert_allclose(d["lower"], lo_corner, atol=1e-6)
        np.testing.assert_allclose(d["upper"], hi_corner, atol=1e-6)
        assert all(lo <= c for lo, c in zip(d["lower"], lo_corner)) and all(hi >= c for hi, c in zip(d["upper"], hi_corner))


def test_bounds_of_relu_contain_a_dense_grid_and_optimal_is_tight(capsys, files):
    net = relu_1d()
    path = files("relu1d.json", net)
    grid = np.linspace(-2, 2, 40001)[:, None]
    y = simulate(net, grid)[:, 0]
    lipschitz = float(np.abs(net.layers[1][0]).sum(axis=None) * np.abs(net.layers[0][0]).max())
    slack = lipschitz * 4 / 40000
    widths = {}
    for method in ("interval", "symbolic", "optimal"):
        code, d, _ = call(capsys, "bounds", path, "--box", "-2:2", "--method", method)
        assert code == 0, d
        assert d["lower"][0] <= y.min() + 1e-9 and d["upper"][0] >= y.max() - 1e-9
        widths[method] = d["upper"][0] - d["lower"][0]
    assert widths["optimal"] <= widths["symbolic"] + 1e-9 <= widths["interval"] + 2e-9
    assert d["optimal"] is True
    assert abs(d["upper"][0] - y.max()) <= slack + 1e-6 and abs(d["lower"][0] - y.min()) <= slack + 1e-6


def test_bounds_human_output_and_engines_agree(capsys, files):
    path = files("relu2d.json", relu_2d())
    results = {}
    for engine in ("highs", "cbc", "z3"):
        code, d, _ = call(capsys, "bounds", path, "--box", "-1:1", "--engine", engine)
        assert code == 0 and d["engine"].startswith(engine)
        results[engine] = np.array([d["lower"], d["upper"]])
        assert (d["tolerance"] is None) == (engine == "z3")
    np.testing.assert_allclose(results["highs"], results["z3"], atol=1e-5)
    np.testing.assert_allclose(results["cbc"], results["z3"], atol=1e-5)
    assert run(["bounds", path, "--box", "-1:1"]) == 0
    text = capsys.readouterr().out
    assert "y0: [" in text and "optimal" in text


# ----------------------------------------------------------------------------- robust
def ttfs_class(net: SNN, x) -> tuple[int, list]:
    """Earliest output of a network without encoder at ``x`` (floats or "p/q" strings), exactly."""
    outs = run_exact(net, [Fraction(v) for v in x]).outputs
    finite = [(t, j) for j, t in enumerate(outs) if t is not None]
    return min(finite)[1], outs


def test_robust_ttfs_unsat_small_eps_sat_large_eps(capsys, files):
    net = race_snn()
    path = files("race.json", net)
    x0 = [0.2, 0.6]
    label, _ = ttfs_class(net, x0)
    assert label == 0
    code, d, _ = call(capsys, "robust", path, "--x0", "0.2,0.6", "--eps", "0.05")
    assert code == 0 and d["verdict"] == "unsat" and d["details"]["label"] == 0, d
    # dense sampling of the small ball agrees (never a different class)
    rng = np.random.default_rng(0)
    assert np.all(np.argmin(simulate(net, rng.uniform(-0.05, 0.05, (500, 2)) + x0), axis=1) == label)
    code, d, _ = call(capsys, "robust", path, "--x0", "0.2,0.6", "--eps", "0.3", "--engine", "z3")
    assert code == 1 and d["verdict"] == "sat", d
    x = d["counterexample"]["input"]
    assert max(abs(a - b) for a, b in zip(x, x0)) <= 0.3 + 1e-12
    outs = ttfs_class(net, d["counterexample"]["exact_input"])[1]
    assert outs[1] <= outs[0]          # exact: output 1 fires no later than the label's output
    np.testing.assert_allclose(d["counterexample"]["output"], [float(o) for o in outs], atol=1e-9)
    # the pure positive-weight example keeps its class even on a large ball (grid-checked)
    code, d, _ = call(capsys, "robust", files("pos.json", pos_snn()), "--x0", "0.2,1.5", "--eps", "0.5")
    grid = np.stack(np.meshgrid(np.linspace(-0.3, 0.7, 101), np.linspace(1, 2, 101)), -1).reshape(-1, 2)
    assert np.all(np.argmin(simulate(pos_snn(), grid), axis=1) == 0) and code == 0


def test_robust_argmax_and_range_on_relu(capsys, files):
    net = relu_2d()
    path = files("relu2d.json", net)
    x0 = np.array([0.3, -0.2])
    y0 = simulate(net, x0[None])[0]
    code, d, _ = call(capsys, "robust", path, "--x0", "0.3,-0.2", "--eps", "0.001", "--mode", "argmax")
    assert code == 0 and d["verdict"] == "unsat"
    code, d, _ = call(capsys, "robust", path, "--x0", "0.3,-0.2", "--eps", "0.05", "--norm", "l1", "--mode", "argmax",
                      "--label", str((int(np.argmax(y0)) + 1) % 3))
    assert code == 1 and d["verdict"] == "sat"   # the wrong label is violated at x0 itself
    # output range: [min - 1, max + 1] of the outputs at x0 holds on a tiny ball, a point range does not
    rng_ok = ",".join(f"{v - 1}:{v + 1}" for v in y0)
    code, d, _ = call(capsys, "robust", path, "--x0", "0.3,-0.2", "--eps", "0.001", "--mode", "range", "--range", rng_ok)
    assert code == 0, d
    code, d, _ = call(capsys, "robust", path, "--x0", "0.3,-0.2", "--eps", "0.5", "--mode", "range",
                      "--range", ",".join(f"{v - 0.01}:{v + 0.01}" for v in y0), "--domain", "-1:1")
    assert code == 1 and d["verdict"] == "sat"
    x = np.array(d["counterexample"]["input"])
    assert np.abs(x - x0).max() <= 0.5 + 1e-9 and np.all(np.abs(x) <= 1 + 1e-9)
    y = simulate(net, x[None])[0]
    assert np.any(np.abs(y - y0) > 0.01 - 1e-9)


# ----------------------------------------------------------------------------- equiv
def test_equiv_exact_with_z3_and_known_differences(capsys, files):
    a, b = files("a.json", relu_2d()), files("b.json", relu_2d(shift=0.1))   # b = a + 0.1 exactly
    code, d, _ = call(capsys, "equiv", a, a, "--box", "-1:1", "--engine", "z3")
    assert code == 0 and d["verdict"] == "unsat" and d["tolerance"] is None and d["exact"] is True
    code, d, _ = call(capsys, "equiv", a, b, "--box", "-1:1", "--eps", "0.05")
    assert code == 1 and d["verdict"] == "sat"
    x = np.array(d["counterexample"]["input"])
    assert np.abs(simulate(relu_2d(), x[None]) - simulate(relu_2d(0.1), x[None])).max() > 0.05
    code, d, _ = call(capsys, "equiv", a, b, "--box", "-1:1", "--eps", "0.11")
    assert code == 0 and d["verdict"] == "unsat"
    # a common shift keeps the argmax -- when it is exact: b2 + 0.1 rounds differently per output, and
    # the branch and bound finds the exact near-tie where that flips the argmax; dyadic biases + 0.25 do not round
    (W1, c1), (W2, c2) = relu_2d().layers
    dyadic = lambda s: ReLUNet([(W1, c1), (W2, np.round(c2 * 1024) / 1024 + s)])  # noqa: E731
    code, d, _ = call(capsys, "equiv", files("a2.json", dyadic(0.0)), files("b2.json", dyadic(0.25)),
                      "--box", "-1:1", "--top1", "--timeout", "20")   # (ties: half the time in BaB, then the MILP)
    assert code == 0 and d["verdict"] == "unsat"
    code, d, _ = call(capsys, "equiv", a, b, "--box", "-1:1", "--top1", "--timeout", "20")   # the rounded shift: only exact violations
    if d["verdict"] == "sat":
        x = [Fraction(v) for v in d["counterexample"]["exact_input"]]
        ya, yb = simulate_exact(relu_2d(), x), simulate_exact(relu_2d(0.1), x)
        assert any(all(ya[j] >= v for v in ya) and any(yb[j] < v for v in yb) for j in range(3))
    else:
        assert code == 0 and d["verdict"] == "unsat"


def test_equiv_snn_against_relu_twin(capsys, files):
    snn, relu = files("id.json", identity_snn()), files("id_relu.json", ReLUNet([(np.eye(1), np.zeros(1))]))
    code, d, _ = call(capsys, "equiv", snn, relu, "--box", "0:3", "--engine", "z3")
    assert code == 0 and d["verdict"] == "unsat"
    off = files("off.json", ReLUNet([(np.eye(1), np.array([0.5]))]))
    code, d, _ = call(capsys, "equiv", snn, off, "--box", "0:3", "--eps", "0.25", "--engine", "z3")
    assert code == 1 and d["verdict"] == "sat"


def test_equiv_of_a_converted_model_is_proven_by_its_certificate(capsys, files, tmp_path):
    relu = files("r.json", relu_2d())
    out = str(tmp_path / "s.json")
    assert run(["convert", relu, "--box", "-1:1", "-o", out]) == 0
    capsys.readouterr()
    code, d, _ = call(capsys, "equiv", out, relu, "--box", "-1:1")
    assert code == 0 and d["verdict"] == "unsat" and d["engine"] == "certificate" and d["tolerance"] is None
    code, d, _ = call(capsys, "equiv", out, relu, "--box", "-1:1", "--no-certificate", "--engine", "z3")
    assert code == 0 and d["verdict"] == "unsat" and d["engine"] == "z3"
    code, d, _ = call(capsys, "equiv", out, relu, "--box", "-2:1")       # converted for [-1, 1] only
    assert d["details"]["certificate"] == "rejected" and d["engine"] == "highs"


# ----------------------------------------------------------------------------- verify
def write_prop(tmp_path, name, n_in, n_out, box, output_asserts):
    text = "".join(f"(declare-const X_{i} Real)\n" for i in range(n_in))
    text += "".join(f"(declare-const Y_{j} Real)\n" for j in range(n_out))
    text += "".join(f"(assert (>= X_{i} {lo}))\n(assert (<= X_{i} {hi}))\n" for i, (lo, hi) in enumerate(box))
    text += output_asserts
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_verify_sat_writes_counterexample_and_unsat_holds(capsys, files, tmp_path):
    net = relu_1d()
    path = files("relu1d.json", net)
    y = simulate(net, np.linspace(-2, 2, 4001)[:, None])[:, 0]
    target = (y.max() + y.min()) / 2
    sat_prop = write_prop(tmp_path, "sat.vnnlib", 1, 1, [(-2, 2)], f"(assert (>= Y_0 {float(target)!r}))\n")
    cex = tmp_path / "cex.txt"
    code = run(["verify", path, sat_prop, "--cex-out", str(cex)])
    out = capsys.readouterr().out
    assert code == 1 and out.splitlines()[0] == "sat"
    x, yc = read_counterexample(cex)
    assert -2 <= x[0] <= 2 and yc[0] >= target - 1e-6
    np.testing.assert_allclose(simulate(net, x[None])[0], yc, atol=1e-9)
    unsat_prop = write_prop(tmp_path, "unsat.vnnlib", 1, 1, [(-2, 2)],
                            f"(assert (or (and (>= Y_0 {float(y.max()) + 0.5!r})) (and (<= Y_0 {float(y.min()) - 0.5!r}))))\n")
    code, d, _ = call(capsys, "verify", path, unsat_prop)
    assert code == 0 and d["verdict"] == "unsat" and "counterexample" not in d


def test_verify_snn_multiclass_property_and_json(capsys, files, tmp_path):
    net = pos_snn()
    path = files("pos.json", net)
    # "output 0 fires no later than output 1" somewhere on the box?
    prop = write_prop(tmp_path, "p.vnnlib", 2, 2, [(0, 1), (0.5, 2)], "(assert (<= Y_0 Y_1))\n")
    code, d, _ = call(capsys, "verify", path, prop, "--engine", "z3", "--cex-out", str(tmp_path / "c.txt"))
    grid = np.stack(np.meshgrid(np.linspace(0, 1, 41), np.linspace(0.5, 2, 41)), -1).reshape(-1, 2)
    y = simulate(net, grid)
    assert d["verdict"] == ("sat" if np.any(y[:, 0] <= y[:, 1]) else "unsat")
    if d["verdict"] == "sat":
        assert code == 1 and d["counterexample_file"] == str(tmp_path / "c.txt")
        outs = simulate_exact(net, d["counterexample"]["input"])
        assert outs[0] <= outs[1]


def test_verify_property_pairing_boxes_with_different_output_conditions(capsys, files, tmp_path):
    path = files("id.json", ReLUNet([(np.eye(1), np.zeros(1))]))        # y = x
    head = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"
    sat = tmp_path / "groups_sat.vnnlib"
    sat.write_text(head + "(assert (or (and (>= X_0 0) (<= X_0 1) (>= Y_0 2))\n"
                          "            (and (>= X_0 2) (<= X_0 3) (>= Y_0 2.5))))\n")
    code, d, _ = call(capsys, "verify", path, str(sat))
    assert code == 1 and 2.5 <= d["counterexample"]["input"][0] <= 3
    unsat = tmp_path / "groups_unsat.vnnlib"
    unsat.write_text(head + "(assert (or (and (>= X_0 0) (<= X_0 1) (>= Y_0 2))\n"
                            "            (and (>= X_0 2) (<= X_0 3) (<= Y_0 1.5))))\n")
    code, d, _ = call(capsys, "verify", path, str(unsat))
    assert code == 0 and d["verdict"] == "unsat"


# ----------------------------------------------------------------------------- bad input, timeouts
@pytest.mark.parametrize("argv_tail, needle", [
    (["bounds", "NET", "--box", "0:1,0:1,0:1"], "3 intervals"),
    (["bounds", "NET", "--box", "1:0"], "lower bound exceeds"),
    (["robust", "NET", "--x0", "0.1", "--eps", "0.1"], "--input"),   # old name --x0 still works
    (["robust", "NET", "--x0", "0.1,0.2", "--eps", "-1"], "--eps"),
    (["robust", "NET", "--x0", "0.1,0.2", "--eps", "0.1", "--label", "7"], "--label"),
    (["robust", "NET", "--x0", "0.1,0.2", "--eps", "0.1", "--mode", "range"], "--range"),
    (["bounds", "NET", "--box", "0:1", "--timeout", "0"], "--timeout"),
    (["verify", "NET", "BADPROP"], "line 3"),
    (["verify", "NET", "WRONGDIMS"], "declare-const"),
    (["verify", "NET", "/nonexistent.vnnlib"], "cannot read"),
])
def test_bad_input_exits_3_with_one_line(capsys, files, tmp_path, argv_tail, needle):
    net = files("pos.json", pos_snn())
    bad = tmp_path / "bad.vnnlib"
    bad.write_text("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(assert (<= X_0 oops))\n")
    dims = write_prop(tmp_path, "dims.vnnlib", 3, 2, [(0, 1)] * 3, "")
    argv = [{"NET": net, "BADPROP": str(bad), "WRONGDIMS": dims}.get(a, a) for a in argv_tail]
    assert run(argv) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err, err


def test_usage_errors_exit_2(capsys, files):
    net = files("pos.json", pos_snn())
    assert run(["bounds", net, "--box", "0:1", "--engine", "gurobi"]) == 2
    assert run(["bounds", net]) == 2                       # missing --box
    assert run(["robust", net, "--x0", "0,0", "--eps", "0.1", "--mode", "nearest"]) == 2


def big_relu() -> ReLUNet:
    rng = np.random.default_rng(0)
    return ReLUNet([(rng.normal(size=(50, 5)), rng.normal(size=50)), (rng.normal(size=(50, 50)), rng.normal(size=50)),
                    (rng.normal(size=(1, 50)), rng.normal(size=1))])


@pytest.mark.parametrize("argv_tail", [
    ["bounds", "NET", "--box", "-1:1"],
    ["robust", "NET", "--x0", "0,0,0,0,0", "--eps", "1", "--mode", "range", "--range", "Y0RANGE"],
])
def test_timeouts_exit_4_with_a_partial_result(capsys, files, argv_tail):
    net = files("big.json", big_relu())
    # the output attains -124.43 and is proven <= 14.66 on [-1, 1]^5: the range holds, but proving
    # it takes far longer than the 0.05 s allowed
    subst = {"NET": net, "Y0RANGE": "-125:15.2"}
    code, d, err = call(capsys, *[subst.get(a, a) for a in argv_tail], "--timeout", "0.05")
    assert code == 4 and d.get("verdict", d.get("status")) in ("timeout", "unknown"), (code, d, err)
    if argv_tail[0] == "bounds":   # the partial bounds are still sound
        y = simulate(big_relu(), np.random.default_rng(1).uniform(-1, 1, (2000, 5)))[:, 0]
        assert d["lower"][0] is None or d["lower"][0] <= y.min()
        assert d["upper"][0] is None or d["upper"][0] >= y.max()


def test_onnx_network_is_accepted(capsys, files):
    pytest.importorskip("srmverify.formats.onnx_net")
    js, ox = files("r.json", relu_2d()), files("r.onnx", relu_2d())
    _, dj, _ = call(capsys, "bounds", js, "--box", "-1:1")
    code, do, _ = call(capsys, "bounds", ox, "--box", "-1:1")
    assert code == 0
    np.testing.assert_allclose(do["upper"], dj["upper"], atol=1e-5)
    np.testing.assert_allclose(do["lower"], dj["lower"], atol=1e-5)
