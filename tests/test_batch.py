"""The batch runner (``srmverify batch``), the VNN-COMP tool scripts and the Dask executors.

Verdicts are checked against closed forms: the test network computes ``(x0 + x1, x0 - x1)``
exactly (a ReLU layer of ``+-x_i``), so on ``[0, 1]^2`` ``max y0 = 2`` and ``y1 >= y0 + 0.5`` is
impossible; every counterexample is re-evaluated with numpy and, for ONNX files, onnxruntime.
"""
from __future__ import annotations

import csv
import gzip
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from srmverify.batch import SerialExecutor, parse_instances, read_instances, read_results, run_batch
from srmverify.errors import InputError
from srmverify.formats import save_network
from srmverify.formats.vnnlib import read_counterexample
from srmverify.network import ReLUNet
from srmverify_cli.main import run

ROOT = Path(__file__).resolve().parents[1]
ACAS = Path("/work/shared/benchmarks/acasxu")
W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
W2 = np.array([[1.0, -1.0, 1.0, -1.0], [1.0, -1.0, -1.0, 1.0]])
NET = ReLUNet([(W1, np.zeros(4)), (W2, np.zeros(2))])
BOX = "(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)" \
      "(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= X_1 0))(assert (<= X_1 1))"
PROPS = {"sat": BOX + "(assert (>= Y_0 1.9))",                  # x0 + x1 >= 1.9: near (1, 1)
         "unsat": BOX + "(assert (>= Y_0 2.1))",                # max x0 + x1 = 2
         "unsat2": BOX + "(assert (>= Y_1 (+ Y_0 0.5)))"}       # -2 x1 >= 0.5: impossible


def forward(x: np.ndarray) -> np.ndarray:
    return W2 @ np.maximum(W1 @ x, 0.0)


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    """A small benchmark folder: net.onnx, net.json, three properties, instances.csv."""
    (tmp_path / "onnx").mkdir()
    (tmp_path / "vnnlib").mkdir()
    save_network(NET, tmp_path / "onnx" / "net.onnx")
    save_network(NET, tmp_path / "onnx" / "net.json")
    for name, text in PROPS.items():
        (tmp_path / "vnnlib" / f"{name}.vnnlib").write_text(text)
    rows = [f"onnx/net.onnx,vnnlib/{name}.vnnlib,20" for name in PROPS] + ["onnx/net.json,vnnlib/sat.vnnlib,20"]
    (tmp_path / "instances.csv").write_text("\n".join(rows) + "\n")
    return tmp_path


def rows_of(out: Path) -> list[list[str]]:
    return list(csv.reader((out / "results.csv").open()))


# ----------------------------------------------------------------------------- instances.csv
def test_instances_forms_and_errors(tmp_path: Path) -> None:
    text = "a.onnx.gz,p.vnnlib.gz,116\n\n\"[('f', 'n/a.onnx'), ('g', 'm/a.onnx')]\",./v/i0.vnnlib,100\na.onnx.gz,p.vnnlib.gz,5\n"
    (tmp_path / "i.csv.gz").write_bytes(gzip.compress(text.encode()))
    rows = read_instances(tmp_path / "i.csv.gz")
    assert [r.timeout for r in rows] == [116.0, 100.0, 5.0]
    assert rows[0].networks == (("", str(tmp_path / "a.onnx.gz")),) and rows[0].name == "a_p"
    assert rows[1].networks == (("f", str(tmp_path / "n/a.onnx")), ("g", str(tmp_path / "m/a.onnx")))
    assert rows[1].key == ("[('f', 'n/a.onnx'), ('g', 'm/a.onnx')]", "./v/i0.vnnlib") and rows[1].name == "a_a_i0"
    assert rows[2].name == "a_p_2"                      # same stems: the file names stay distinct
    for bad, field in [("a.onnx,p.vnnlib\n", "line 1"), ("a.onnx,p.vnnlib,x\n", "line 1, timeout"),
                       ("x,y,1\n\n\"[('f', 'a'), ('f', 'b')]\",p,1\n", "line 3, onnx"), ("\"[1, 2]\",p,1\n", "line 1, onnx"),
                       ("", "rows")]:
        with pytest.raises(InputError) as e:
            parse_instances(bad, "i.csv")
        assert e.value.field == field and e.value.source == "i.csv"


# ----------------------------------------------------------------------------- the driver
def test_batch_verdicts_files_and_resume(bench: Path) -> None:
    out = bench / "out"
    s = run_batch(read_instances(bench / "instances.csv"), out)
    assert s.complete and s.counts == {"unsat": 2, "sat": 2, "unknown": 0, "timeout": 0, "error": 0}
    got = {(r[0], r[1]): r[2] for r in rows_of(out)[1:]}
    assert got == {("onnx/net.onnx", "vnnlib/sat.vnnlib"): "sat", ("onnx/net.onnx", "vnnlib/unsat.vnnlib"): "unsat",
                   ("onnx/net.onnx", "vnnlib/unsat2.vnnlib"): "unsat", ("onnx/net.json", "vnnlib/sat.vnnlib"): "sat"}
    for name in ("net_sat", "net_sat_2"):
        text = (out / "results" / f"{name}.txt").read_text()
        assert text.startswith("sat\n((X_0 ")
        x, y = read_counterexample(out / "results" / f"{name}.txt")
        assert np.all((0 <= x) & (x <= 1)) and forward(x)[0] >= 1.9
        np.testing.assert_allclose(y, forward(x), atol=1e-12)
    assert (out / "results" / "net_unsat.txt").read_text() == "unsat\n"
    # a re-run skips every row and writes nothing
    before = (out / "results.csv").read_text()
    again = run_batch(read_instances(bench / "instances.csv"), out)
    assert again.skipped == 4 and not again.results and (out / "results.csv").read_text() == before
    assert read_results(out / "results.csv")[("onnx/net.onnx", "vnnlib/unsat.vnnlib")][0] == "unsat"


class StopAfter(SerialExecutor):
    """Serial executor interrupted (as by Ctrl-C) after ``n`` results."""

    def __init__(self, n: int) -> None:
        self.n = n

    def map_unordered(self, fn, items, on_failure):
        for k, item in enumerate(items):
            if k == self.n:
                raise KeyboardInterrupt
            yield fn(item)


def test_batch_interrupt_keeps_whole_rows_and_resumes(bench: Path) -> None:
    out = bench / "out"
    rows = read_instances(bench / "instances.csv")
    s = run_batch(rows, out, executor=StopAfter(2))
    assert s.interrupted and not s.complete and len(s.results) == 2
    text = (out / "results.csv").read_text()
    assert text.endswith("\n") and len(text.splitlines()) == 3          # header + 2 whole rows
    s2 = run_batch(rows, out)
    assert s2.skipped == 2 and len(s2.results) == 2 and s2.complete
    assert len(rows_of(out)) == 5 and len(set(map(tuple, rows_of(out)))) == 5


def test_batch_error_rows_do_not_stop_the_batch(bench: Path) -> None:
    (bench / "vnnlib" / "bad.vnnlib").write_text(BOX + "(assert (>= Y_9 1))")
    (bench / "vnnlib" / "wrong.vnnlib").write_text("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 1))(assert (>= X_0 0))")
    (bench / "instances.csv").write_text(
        "onnx/missing.onnx,vnnlib/sat.vnnlib,5\n\"[('f', 'onnx/net.onnx'), ('g', 'onnx/net.onnx')]\",vnnlib/sat.vnnlib,5\n"
        "onnx/net.onnx,vnnlib/bad.vnnlib,5\nonnx/net.onnx,vnnlib/wrong.vnnlib,5\nonnx/net.onnx,vnnlib/unsat.vnnlib,5\n")
    s = run_batch(read_instances(bench / "instances.csv"), bench / "out")
    assert [r.verdict for r in s.results] == ["error"] * 4 + ["unsat"]
    msgs = [r.message for r in s.results]
    # row 2 names networks f, g that its VNN-LIB 1.0 file does not declare
    assert "missing.onnx" in msgs[0] and "no such network" in msgs[1] and "Y_9" in msgs[2] and "2 inputs" in msgs[3]
    assert (bench / "out" / "results" / "missing_sat.txt").read_text().startswith("error\n; ")


# ----------------------------------------------------------------------------- the command
def test_batch_cli_json_and_bad_input(bench: Path, capsys) -> None:
    assert run(["batch", str(bench / "instances.csv"), "--out", str(bench / "o"), "--timeout", "5", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["complete"] and d["counts"]["sat"] == 2 and d["done"] == 4 and len(d["results"]) == 4
    (bench / "broken.csv").write_text("onnx/net.onnx,vnnlib/sat.vnnlib,0\n")
    assert run(["batch", str(bench / "broken.csv"), "--out", str(bench / "o")]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "broken.csv" in err and "line 1, timeout" in err and "'0'" in err
    assert run(["batch", str(bench / "instances.csv"), "--out", str(bench / "o"), "--workers", "0"]) == 3


def replay_onnxruntime(onnx_path: Path, x: np.ndarray) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    dtype = np.float64 if "double" in inp.type else np.float32
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape]
    return np.asarray(sess.run(None, {inp.name: x.astype(dtype).reshape(shape)})[0], dtype=float).ravel()


def run_script(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "SRMVERIFY": str(Path(sys.executable).with_name("srmverify"))}
    return subprocess.run(["bash", str(ROOT / "vnncomp" / script), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_vnncomp_scripts_small_onnx(bench: Path) -> None:
    onnx, res = str(bench / "onnx" / "net.onnx"), bench / "out.txt"
    assert run_script("prepare_instance.sh", "v1", "test", onnx, str(bench / "vnnlib" / "sat.vnnlib"), cwd=bench).returncode == 0
    assert run_script("prepare_instance.sh", "v1", "test", onnx, str(bench / "nope.vnnlib"), cwd=bench).returncode != 0
    assert run_script("run_instance.sh", "v2", "test", onnx, "p", str(res), "5", cwd=bench).returncode == 1
    p = run_script("run_instance.sh", "v1", "test", onnx, str(bench / "vnnlib" / "sat.vnnlib"), str(res), "30", cwd=bench)
    assert p.returncode == 0, p.stderr
    assert res.read_text().splitlines()[0] == "sat"
    x, _ = read_counterexample(res)
    y = replay_onnxruntime(bench / "onnx" / "net.onnx", x)
    assert np.all((x >= -1e-4) & (x <= 1 + 1e-4)) and y[0] >= 1.9       # violated under onnxruntime


@pytest.mark.skipif(not ACAS.is_dir(), reason="ACAS Xu benchmark folder absent")
def test_run_instance_sh_acasxu(tmp_path: Path) -> None:
    res = tmp_path / "out.txt"
    p = run_script("run_instance.sh", "v1", "acasxu", str(ACAS / "onnx" / "ACASXU_run2a_1_1_batch_2000.onnx"),
                   str(ACAS / "vnnlib" / "prop_1.vnnlib"), str(res), "60", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert res.read_text().splitlines()[0] == "unsat"      # published verdict: unsat (7 tools)


# ----------------------------------------------------------------------------- Dask
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_batch_through_a_real_scheduler(bench: Path, capsys) -> None:
    # a scheduler listening on the loopback address (in this process: it saves a Python start)
    # and a `dask worker` process connecting to it, as on a cluster; the worker without a nanny
    # (a nanny's graceful shutdown alone takes seconds)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=0, processes=False, host="127.0.0.1", scheduler_port=free_port(),
                                  dashboard_address=None, silence_logs=50) as cluster:
        addr = cluster.scheduler_address
        assert addr.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", addr, "--nthreads", "1",
                                   "--no-nanny", "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with distributed.Client(addr, timeout=60) as c:
                c.wait_for_workers(1, timeout=60)
            code = run(["batch", str(bench / "instances.csv"), "--out", str(bench / "o"), "--scheduler", addr, "--json"])
            d = json.loads(capsys.readouterr().out)
            assert code == 0 and d["complete"] and d["workers"] == 1
            assert d["counts"] == {"unsat": 2, "sat": 2, "unknown": 0, "timeout": 0, "error": 0}
            assert sorted(r[2] for r in rows_of(bench / "o")[1:]) == ["sat", "sat", "unsat", "unsat"]
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()


def test_worker_restores_glibc_malloc_thresholds() -> None:
    # a process started as a Dask nanny starts its worker (MALLOC_TRIM_THRESHOLD_ set) gets
    # glibc's thresholds back through mallopt; without the variable nothing is touched
    import platform

    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    code = "from srmverify.batch.executors import _restore_malloc as r; print(r())"
    for env, want in (({"MALLOC_TRIM_THRESHOLD_": "65536"}, "True"), ({}, "False")):
        base = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
        out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, capture_output=True, text=True)
        assert out.stdout.strip() == want, out.stderr


def test_properties_are_cached_until_the_file_changes(tmp_path: Path) -> None:
    from srmverify.batch import cached_property

    p = tmp_path / "p.vnnlib"
    p.write_text("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (>= X_0 0))(assert (<= X_0 1))"
                 "(assert (>= Y_0 0.5))")
    first = cached_property(str(p))
    assert cached_property(str(p)) is first
    p.write_text("(declare-const X_0 Real)(declare-const X_1 Real)(declare-const Y_0 Real)(assert (>= X_0 0))"
                 "(assert (<= X_0 1))(assert (>= X_1 0))(assert (<= X_1 1))(assert (>= Y_0 0.5))")
    os.utime(p, (1e9, 1e9))
    again = cached_property(str(p))
    assert again is not first and (first.n_inputs, again.n_inputs) == (1, 2)


# ----------------------------------------------------------------------------- certified accuracy
def test_robust_dataset_matches_closed_form(tmp_path: Path, capsys) -> None:
    """NET's argmax is class 0 iff x1 > 0 (y0 - y1 = 2 x1), so a sample is certified at eps (L-inf)
    iff its label is 0 and x1 > eps, or 1 and x1 < -eps; samples stay 0.01 away from the edges."""
    rng = np.random.default_rng(7)
    eps = [0.05, 0.2]
    x = rng.uniform(-1, 1, size=(24, 2))
    x[:, 1] = np.where(np.min(np.abs(np.abs(x[:, 1])[:, None] - [0.0, *eps]), axis=1) < 0.01, 0.5, x[:, 1])
    y = (x[:, 1] < 0).astype(int)
    y[::5] = 1 - y[::5]                                   # a few wrong labels: never certified
    net = tmp_path / "net.json"
    save_network(NET, net)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    out = tmp_path / "v.csv"
    code = run(["robust", str(net), "--dataset", str(tmp_path / "x.npy"), "--labels", str(tmp_path / "y.npy"),
                "--eps", "0.05,0.2", "--mode", "argmax", "-o", str(out), "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0 and d["complete"]
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 48
    for e, per in zip(eps, d["per_eps"]):
        expect = ((y == 0) & (x[:, 1] > e)) | ((y == 1) & (x[:, 1] < -e))
        got = np.array([r["verdict"] == "unsat" for r in rows if float(r["eps"]) == e])
        assert np.array_equal(got, expect)
        assert per["certified_accuracy"] == pytest.approx(expect.mean())
        assert per["counts"]["sat"] == (~expect).sum()      # every other sample has a real counterexample
    # bad inputs: one line naming the file/field, exit 3
    np.save(tmp_path / "y_bad.npy", np.array([0, 3] + [0] * 22))
    for argv, needle in [(["--labels", str(tmp_path / "y_bad.npy"), "--eps", "0.1"], "labels[1]"),
                         (["--labels", str(tmp_path / "y.npy"), "--eps", "0.1,x"], "--eps"),
                         (["--eps", "0.1"], "--dataset")]:
        assert run(["robust", str(net), "--dataset", str(tmp_path / "x.npy"), *argv]) == 3
        assert needle in capsys.readouterr().err
    assert run(["robust", str(net), "--input", "0,0", "--eps", "0.1,0.2"]) == 3


# ----------------------------------------------------------------------------- VNN-COMP acceptance
def checker():
    """benchmarks/check_vnncomp_results.py (replay in onnxruntime, the scorer's reader)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_vnncomp_results", ROOT / "benchmarks" / "check_vnncomp_results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not ACAS.is_dir(), reason="ACAS Xu benchmark folder absent")
def test_acasxu_counterexamples_replay_in_onnxruntime(tmp_path: Path) -> None:
    """Two quick sat instances (published: sat); each counterexample is in the box, onnxruntime's
    output matches the file within rtol 1e-3 / atol 1e-4 and violates the property. With
    VNNCOMP_SCORING=<checkout>/SCORING the competition's own reader must call them correct."""
    pytest.importorskip("onnxruntime")
    (tmp_path / "i.csv").write_text("".join(f"{ACAS}/onnx/ACASXU_run2a_{n}_batch_2000.onnx,{ACAS}/vnnlib/prop_2.vnnlib,60\n"
                                            for n in ("5_5", "3_4")))
    s = run_batch(read_instances(tmp_path / "i.csv"), tmp_path / "out")
    assert [r.verdict for r in s.results] == ["sat", "sat"]
    chk = checker()
    scoring = os.environ.get("VNNCOMP_SCORING")
    scorer = chk.load_scorer(Path(scoring)) if scoring and Path(scoring).is_dir() else None
    for inst in read_instances(tmp_path / "i.csv"):
        path = tmp_path / "out" / "results" / f"{inst.name}.txt"
        x, y_file = read_counterexample(path)
        spec = chk.read_vnnlib(inst.vnnlib)
        y = chk.replay(inst.networks[0][1], x)
        box = spec.input_box
        assert np.all(x >= box[:, 0] - 1e-4) and np.all(x <= box[:, 1] + 1e-4)
        np.testing.assert_allclose(y, y_file, rtol=1e-3, atol=1e-4)
        assert chk.violates(spec, x, y)
        if scorer is not None:
            ce = tmp_path / "ce.counterexample"
            ce.write_text("\n".join(path.read_text().splitlines()[1:]) + "\n")
            assert scorer.get_ce_diff(inst.networks[0][1], inst.vnnlib, str(ce), 1e-4, 0.0)[0] == "correct"


def test_batch_reads_gzipped_networks_properties_and_lists(bench: Path) -> None:
    for f in ("onnx/net.onnx", "vnnlib/sat.vnnlib", "vnnlib/unsat.vnnlib"):
        (bench / f"{f}.gz").write_bytes(gzip.compress((bench / f).read_bytes()))
    (bench / "gz.csv.gz").write_bytes(gzip.compress(b"onnx/net.onnx.gz,vnnlib/sat.vnnlib.gz,20\n"
                                                    b"onnx/net.onnx.gz,vnnlib/unsat.vnnlib.gz,20\n"))
    s = run_batch(read_instances(bench / "gz.csv.gz"), bench / "out")
    assert [r.verdict for r in s.results] == ["sat", "unsat"]
    x, _ = read_counterexample(bench / "out" / "results" / "net_sat.txt")
    assert forward(x)[0] >= 1.9


ABS_NET = {"kind": "relu", "layers": [{"weights": [[1.0], [-1.0]], "biases": [0.0, 0.0]},
                                      {"weights": [[1.0, 1.0]], "biases": [0.0]}]}        # |x|
TWO_NETS = """(vnnlib-version <2.0>)
(declare-network f (declare-input X Real [1]) (declare-output Y Real [1]))
(declare-network g (isomorphic-to f) (declare-input U Real [1]) (declare-output V Real [1]))
(assert (and (>= X[0] -1.0) (<= X[0] 1.0) (>= U[0] -1.0) (<= U[0] 1.0)))
(assert (<= X[0] U[0]))
(assert {out})
"""


def test_batch_runs_multi_network_vnnlib2_rows(tmp_path: Path) -> None:
    """The 2026 CSV form ``[(name, onnx), ...]`` runs one stacked query; a sat's result file holds
    the 2.0 counterexample, whose values satisfy the query when replayed (|x| > |u| with x <= u);
    |x| > 1 is impossible on the box (unsat; second formulation: the closed form max |x| = 1)."""
    import json

    from srmverify.formats.vnnlib2 import parse_counterexample2

    (tmp_path / "abs.json").write_text(json.dumps(ABS_NET))
    (tmp_path / "sat.vnnlib").write_text(TWO_NETS.format(out="(> Y[0] V[0])"))
    (tmp_path / "unsat.vnnlib").write_text(TWO_NETS.format(out="(> Y[0] 1.0)"))
    pair = "\"[('f', 'abs.json'), ('g', 'abs.json')]\""
    (tmp_path / "instances.csv").write_text(f"{pair},sat.vnnlib,10\n{pair},unsat.vnnlib,10\n")
    s = run_batch(read_instances(tmp_path / "instances.csv"), tmp_path / "out")
    assert [r.verdict for r in s.results] == ["sat", "unsat"]
    text = (tmp_path / "out" / "results" / f"{s.results[0].name}.txt").read_text()
    assert text.startswith("sat\nX Real [1]\n")
    vals = parse_counterexample2(text)
    x, u, y, v = (float(vals[k].reshape(-1)[0]) for k in ("X", "U", "Y", "V"))
    assert -1 <= x <= u <= 1 and abs(x) > abs(u) and y == abs(x) and v == abs(u) and y > v
