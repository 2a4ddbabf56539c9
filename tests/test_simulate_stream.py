"""`simulate` streaming: chunked reading and writing in every format, atomic outputs, time limits,
bounded memory, and the bad inputs of issue 10 (one line, exit 3)."""
from __future__ import annotations

import gzip
import json
import tracemalloc

import numpy as np
import pytest

from srmverify.formats import load_inputs
from srmverify.formats.arrays import iter_inputs
from srmverify.formats.rows_out import RowWriter
from srmverify.network import SNN
from srmverify.simulate import simulate
from srmverify.simulate.stream import simulate_chunks
from srmverify_cli.main import run

MIXED = {"kind": "snn", "constants": [0.0],
         "layers": [{"weights": [[1.0, -2.0, 0.5], [0.5, 0.5, 0.0]], "thresholds": [1.0, 0.75]}]}


def call(capsys, *argv):
    code = run([str(a) for a in argv])
    o, e = capsys.readouterr()
    return code, o, e


@pytest.fixture
def net_path(tmp_path):
    p = tmp_path / "net.json"
    p.write_text(json.dumps(MIXED))
    return p


def rows(n=11, seed=0):
    X = np.random.default_rng(seed).uniform(0.0, 3.0, (n, 2))
    X[0] = [0.0, 0.0]                                  # neuron 0 never fires here
    return X


def write_inputs(path, X):
    s = path.suffix if not path.name.endswith(".gz") else ".gz"
    if path.suffix == ".npy":
        np.save(path, X)
    elif path.suffix == ".json":
        path.write_text(json.dumps(X.tolist()))
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in X.tolist()))
    elif s == ".gz":
        with gzip.open(path, "wt") as f:
            f.write("# comment\n" + "".join(" ".join(map(repr, r)) + "\n" for r in X.tolist()))
    else:
        path.write_text("".join(",".join(map(repr, r)) + "\n\n" for r in X.tolist()))


def read_outputs(path):
    if path.suffix == ".npy":
        return np.load(path)
    if path.suffix == ".json":
        obj = json.loads(path.read_text())
        assert obj["complete"] is True and obj["rows"] == len(obj["outputs"])
        return np.array([[np.inf if v is None else v for v in r] for r in obj["outputs"]])
    if path.suffix == ".jsonl":
        return np.array([[np.inf if v is None else v for v in json.loads(line)] for line in path.read_text().splitlines()])
    return np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None, ndmin=2)


@pytest.mark.parametrize("src", ["x.csv", "x.npy", "x.json", "x.jsonl", "x.txt.gz"])
@pytest.mark.parametrize("dst", ["y.csv", "y.txt", "y.npy", "y.jsonl", "y.json"])
def test_stream_every_format_round_trip(tmp_path, capsys, net_path, src, dst):
    X = rows()
    write_inputs(tmp_path / src, X)
    expect = simulate(SNN.layered([[[1.0, -2.0, 0.5], [0.5, 0.5, 0.0]]], [[1.0, 0.75]], constants=[0.0]), X)
    assert np.isinf(expect).any() and np.isfinite(expect).any()
    code, o, e = call(capsys, "simulate", net_path, "--inputs", tmp_path / src, "-o", tmp_path / dst,
                      "--chunk", 4, "--json")
    assert code == 0, e
    summary = json.loads(o)
    assert summary["rows"] == len(X) and summary["complete"] is True
    assert np.array_equal(read_outputs(tmp_path / dst), expect)          # bit for bit, shortest repr
    assert sorted(q.name for q in tmp_path.iterdir()) == sorted({"net.json", src, dst})


def test_stdout_text_and_json_match_the_library(tmp_path, capsys, net_path):
    X = rows(7)
    write_inputs(tmp_path / "x.npy", X)
    expect = simulate(SNN.layered([[[1.0, -2.0, 0.5], [0.5, 0.5, 0.0]]], [[1.0, 0.75]], constants=[0.0]), X)
    code, o, _ = call(capsys, "simulate", net_path, "--inputs", tmp_path / "x.npy", "--chunk", 3, "--json")
    obj = json.loads(o)
    assert code == 0 and obj["rows"] == 7 and obj["kind"] == "snn"
    assert np.array_equal(np.array([[np.inf if v is None else v for v in r] for r in obj["outputs"]]), expect)
    code, o, _ = call(capsys, "simulate", net_path, "--inputs", tmp_path / "x.npy", "--chunk", 3)
    got = np.array([[float(v) for v in line.split()] for line in o.splitlines()])
    np.testing.assert_allclose(got, expect, rtol=1e-9)


def test_exact_mode_streams_fractions(tmp_path, capsys, net_path):
    (tmp_path / "x.csv").write_text("0,0\n0.5,2\n")
    code, o, _ = call(capsys, "simulate", net_path, "--inputs", tmp_path / "x.csv", "--exact", "-o", tmp_path / "y.csv")
    assert code == 0 and "wrote 2 rows" in o
    assert (tmp_path / "y.csv").read_text().splitlines() == ["inf,3/4", "1,2"]   # by hand: W = -1/2 at 0; 1.5 t - 0.5 = 1; 0.5 (t - 0.5) = 0.75


def test_timeout_keeps_the_rows_done_and_marks_them(tmp_path, capsys, net_path):
    write_inputs(tmp_path / "x.npy", rows(4000))
    code, o, e = call(capsys, "simulate", net_path, "--inputs", tmp_path / "x.npy", "--exact", "--timeout", "0.05",
                      "--chunk", 50, "-o", tmp_path / "y.json", "--json")
    obj, summary = json.loads((tmp_path / "y.json").read_text()), json.loads(o)
    assert code == 4 and "timeout" in e and summary["complete"] is False
    assert obj["complete"] is False and 0 < obj["rows"] == len(obj["outputs"]) == summary["rows"] < 4000


def test_bad_row_in_a_later_chunk_leaves_no_file(tmp_path, capsys, net_path):
    X = rows(10).tolist()
    (tmp_path / "x.csv").write_text("".join(",".join(map(str, r)) + "\n" for r in X[:7]) + "1,nan\n")
    code, o, e = call(capsys, "simulate", net_path, "--inputs", tmp_path / "x.csv", "--chunk", 3, "-o", tmp_path / "y.npy")
    assert code == 3 and o == "" and "rows[7][1] = nan" in e and len(e.strip().splitlines()) == 1
    assert sorted(q.name for q in tmp_path.iterdir()) == ["net.json", "x.csv"]


def test_output_location_checked_before_work(tmp_path, capsys, net_path):
    write_inputs(tmp_path / "x.npy", rows())
    for out, expect in ((tmp_path / "no" / "y.csv", "directory does not exist"), (tmp_path / "y.xlsx", "unknown output format")):
        code, o, e = call(capsys, "simulate", net_path, "--inputs", tmp_path / "x.npy", "-o", out)
        assert code == 3 and o == "" and expect in e and len(e.strip().splitlines()) == 1


def npy_with_header(path, header: str, payload: bytes = b"") -> None:
    body = header.ljust(117) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body.encode() + payload)


BAD_NPY = {
    "strings": (lambda p: np.save(p, np.array([["a", "b"]])), "dtype = '<U1': expected real numbers, got strings"),
    "records": (lambda p: np.save(p, np.zeros(3, dtype=[("a", "f8"), ("b", "f8")])), "structured records"),
    "complex": (lambda p: np.save(p, np.array([[1 + 2j, 3 + 0j]])), "complex numbers (the imaginary part would be lost)"),
    "huge": (lambda p: npy_with_header(p, "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000, 2), }",
                                       b"\0" * 32), "the header claims 16000000000000 bytes of data but the file holds 32"),
    "3d": (lambda p: np.save(p, np.zeros((2, 2, 2))), "expected one input per row"),
}


@pytest.mark.parametrize("case", sorted(BAD_NPY))
def test_bad_npy_inputs_exit_3(tmp_path, capsys, net_path, case):
    make, expect = BAD_NPY[case]
    p = tmp_path / "x.npy"
    make(p)
    code, o, e = call(capsys, "simulate", net_path, "--inputs", p)
    assert code == 3 and o == "" and len(e.strip().splitlines()) == 1 and f"{p}:" in e and expect in e, e


@pytest.mark.parametrize("content,expect", [
    ('{"rows": [[1, 2]]}', "inputs = 'a JSON dict': expected a list of rows"),
    ('"1,2"', "inputs = 'a JSON str'"),
    ("[" * 100000, "nested too deeply"),
    ("[[1, 2], [3]]", "not a numeric table"),
])
def test_bad_json_inputs_exit_3(tmp_path, capsys, net_path, content, expect):
    p = tmp_path / "x.json"
    p.write_text(content)
    code, o, e = call(capsys, "simulate", net_path, "--inputs", p)
    assert code == 3 and o == "" and len(e.strip().splitlines()) == 1 and expect in e, e


def test_chunks_and_memory_do_not_grow_with_rows(tmp_path):
    net = SNN.layered([np.full((3, 50), 0.02)], [[0.3, 0.5, 0.7]])
    X = np.random.default_rng(1).uniform(0, 1, (24000, 50))

    def peak(n):
        np.save(tmp_path / "x.npy", X[:n])
        total, chunks = iter_inputs(tmp_path / "x.npy", 50, 1000)
        assert total == n
        tracemalloc.start()
        with RowWriter.to_path(tmp_path / "y.npy") as w:
            r = simulate_chunks(net, chunks, w.write)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert r.rows == n and r.complete
        assert np.array_equal(np.load(tmp_path / "y.npy"), simulate(net, X[:n]))
        return used

    small, large = peak(3000), peak(24000)
    assert large < 1.2 * small and large < X.nbytes / 2, (small, large)   # 9.6 MB of input, chunks of 0.4 MB
    assert np.array_equal(load_inputs(tmp_path / "x.npy", 50), X)
