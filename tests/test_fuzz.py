"""Fuzz suite: generated bad files and values for every command and format.

Each example runs the real CLI in-process (:mod:`cli_harness`) and asserts the reliability
contract: a documented exit code (never 5, the code of our own bugs), no traceback, one line on
stderr for bad input, one JSON object on stdout with ``--json``, no hang, and no partial or
temporary file left in the working directory. Mutations are drawn by hypothesis from valid
files: JSON networks (layered SNN, DAG SNN, ReLU), ONNX bytes, gzip, VNN-LIB, input batches
(.csv, .json, .npy), certificates, and command-line values.
"""
from __future__ import annotations

import contextlib
import copy
import gzip
import json
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
from hypothesis import HealthCheck, given, settings, strategies as st

sys.path.insert(0, str(Path(__file__).parent))
from cli_harness import check, invoke, no_stray_files  # noqa: E402

EX = Path(__file__).resolve().parents[1] / "srmverify" / "data" / "examples"
SNN_DAG = json.loads((EX / "snn_2_3_2.json").read_text())
RELU = json.loads((EX / "relu_2_8_3.json").read_text())
SNN_LAYERED = {"kind": "snn", "constants": [0.0],
               "layers": [{"weights": [[1.0, 3.0, 0.5], [2.0, -1.0, 1.0]], "thresholds": [1.0, 1.5],
                           "delays": [[0.0, 0.1, 0.0], [0.2, 0.0, 0.0]]}],
               "encoder": {"offset": [0.0, 0.0], "scale": [1.0, 1.0]}}
NETWORKS = {"dag.json": SNN_DAG, "relu.json": RELU, "layered.json": SNN_LAYERED}
PROPERTY = (EX / "snn_2_3_2_sat.vnnlib").read_text()

FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)

#: Values a careless or hostile file puts where a number, list or name belongs.
HOSTILE = [None, True, False, "", "x", "NaN", [], {}, [[]], [[[1.0]]], -1, 0, 1, 2.5, -1e308, 1e308, 10 ** 30,
           10 ** 400, 2 ** 63, [1, 2], {"a": 1}, ["x0", "x0"], "L1_0", float("nan"), float("inf")]


def _paths(doc, prefix=()):
    """Every position in a JSON document (dict keys and list indices)."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _mutate(doc, path, action, value):
    doc = copy.deepcopy(doc)
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    elif action == "duplicate" and isinstance(parent, list):
        parent.insert(path[-1], copy.deepcopy(parent[path[-1]]))
    else:
        parent[path[-1]] = value
    return doc


@st.composite
def mutated_network(draw):
    name = draw(st.sampled_from(sorted(NETWORKS)))
    base = NETWORKS[name]
    mutations = draw(st.integers(1, 3))
    doc = base
    for _ in range(mutations):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["delete", "replace", "duplicate"])) if path else "replace"
        doc = _mutate(doc, path, action, draw(st.sampled_from(HOSTILE)))
    return name, doc


@contextlib.contextmanager
def workdir() -> Iterator[Path]:
    """A fresh, empty directory per example (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="srmverify-fuzz-") as d:
        yield Path(d)


@FUZZ
@given(mutated_network())
def test_mutated_json_networks(case):
    name, doc = case
    with workdir() as d:
        net = d / name
        net.write_text(json.dumps(doc))          # NaN / Infinity tokens included
        check(invoke("info", net, "--json"), {0, 3})
        check(invoke("simulate", net, "--input", "0.5,0.25", "--json"), {0, 3})
        check(invoke("bounds", net, "--box", "0:1", "--method", "interval", "--json"), {0, 3})
        no_stray_files(d, {name})


@st.composite
def corrupted_bytes(draw, data: bytes):
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
    i = draw(st.integers(0, max(len(data) - 1, 0)))
    if kind == "truncate":
        return data[:i]
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]
    if kind == "insert":
        return data[:i] + draw(st.binary(min_size=1, max_size=8)) + data[i:]
    return data[:i] + data[i + draw(st.integers(1, 16)):]


def _onnx_bytes() -> bytes:
    from srmverify.formats import network_from_dict, save_network

    with workdir() as d:
        save_network(network_from_dict(RELU), d / "relu.onnx")
        return (d / "relu.onnx").read_bytes()


ONNX = _onnx_bytes()
JSON_BYTES = json.dumps(SNN_DAG).encode()


@FUZZ
@given(st.sampled_from(["net.json", "net.onnx", "net.json.gz", "net.onnx.gz"]), st.data())
def test_corrupted_network_bytes(name, data):
    base = ONNX if ".onnx" in name else JSON_BYTES
    if name.endswith(".gz"):
        base = gzip.compress(base)
    blob = data.draw(corrupted_bytes(base))
    with workdir() as d:
        (d / name).write_bytes(blob)
        check(invoke("info", d / name, "--json"), {0, 3})
        no_stray_files(d, {name})


_TOKENS = PROPERTY.replace("(", " ( ").replace(")", " ) ").split()
HOSTILE_TOKENS = ["(", ")", "X_99", "Y_9", "X_-1", "1e999", "nan", "-", "*", "/", "1/0", "assert", "declare-const",
                  "and", "or", "<=", ">=", "=", "Real", "Int", "X_0", "Y_0", "0x10", "(assert", ";"]


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["drop", "insert", "replace"]), st.integers(0, len(_TOKENS) - 1),
                          st.sampled_from(HOSTILE_TOKENS)), min_size=1, max_size=3))
def test_mutated_vnnlib(edits):
    toks = list(_TOKENS)
    for action, i, tok in edits:
        i = min(i, len(toks) - 1)
        if action == "drop":
            del toks[i]
        elif action == "insert":
            toks.insert(i, tok)
        else:
            toks[i] = tok
    with workdir() as d:
        (d / "p.vnnlib").write_text(" ".join(toks))
        o = check(invoke("verify", EX / "snn_2_3_2.json", d / "p.vnnlib", "--timeout", "5", "--cex-out", d / "cex.txt",
                         "--json"), {0, 1, 3, 4})
        no_stray_files(d, {"p.vnnlib", "cex.txt"} if o.code == 1 else {"p.vnnlib"})


# (JSON objects as batches -- {"x": ...} -- are the simulate owner's cases, tested with its
# reader; here: every other shape and leaf)
json_values = st.recursive(st.none() | st.booleans() | st.integers(-10 ** 30, 10 ** 30) | st.floats() | st.text(max_size=4),
                           lambda kids: st.lists(kids, max_size=4), max_leaves=12)


@FUZZ
@given(json_values)
def test_json_input_batches(value):
    with workdir() as d:
        (d / "x.json").write_text(json.dumps(value))
        check(invoke("simulate", EX / "snn_2_3_2.json", "--inputs", d / "x.json", "--json"), {0, 3})
        no_stray_files(d, {"x.json"})


@FUZZ
@given(st.text(alphabet="0123456789.,;e-+ \n\tnaifx#", max_size=60))
def test_csv_input_batches(text):
    with workdir() as d:
        (d / "x.csv").write_text(text)
        check(invoke("simulate", EX / "snn_2_3_2.json", "--inputs", d / "x.csv", "--json"), {0, 3})
        no_stray_files(d, {"x.csv"})


@FUZZ
@given(st.sampled_from(["f8", "f4", "i8", "u1", "bool"]), st.lists(st.integers(0, 3), max_size=3),
       st.sampled_from([0.0, 1.0, -1e308, float("nan"), float("inf")]))
def test_numeric_npy_input_batches(dtype, shape, fill):
    with workdir() as d:
        with np.errstate(all="ignore"):
            a = np.full(shape, fill).astype(dtype)
        np.save(d / "x.npy", a)
        check(invoke("simulate", EX / "snn_2_3_2.json", "--inputs", d / "x.npy", "--json"), {0, 3})
        no_stray_files(d, {"x.npy"})


def _certificate() -> tuple[str, dict]:
    """A converted SNN (JSON text) and its certificate."""
    with workdir() as d:
        o = invoke("convert", EX / "relu_2_8_3.json", "--box", "0:1", "-o", d / "snn.json", "--cert-out", d / "cert.json")
        assert o.code == 0, o.err
        return (d / "snn.json").read_text(), json.loads((d / "cert.json").read_text())


CERT_SNN, CERT = _certificate()


@settings(FUZZ, max_examples=10)
@given(st.data())
def test_mutated_certificates(data):
    paths = list(_paths(CERT))
    path = data.draw(st.sampled_from(paths))
    doc = _mutate(CERT, path, data.draw(st.sampled_from(["delete", "replace", "duplicate"])) if path else "replace",
                  data.draw(st.sampled_from(HOSTILE + ["1/3", "-7/2", "0/0", "p/q"])))
    with workdir() as d:
        (d / "cert.json").write_text(json.dumps(doc))
        (d / "snn.json").write_text(CERT_SNN)
        check(invoke("certify", d / "snn.json", EX / "relu_2_8_3.json", "--cert", d / "cert.json", "--json"), {0, 1, 3})
        no_stray_files(d, {"cert.json", "snn.json"})


VALUES = ["", " ", "nan", "inf", "-inf", "1e309", "-0", "0", "1e308", "-1e308", "abc", "1,2,3", ":", "1:", ":1",
          "1:0", "0:1", "[[0,1]]", "[[0]]", "[", "{}", "0:1,", ",,,", "1e-400", "9" * 30, "-1", "0x10", "1_000",
          "0.5,0.5", "[[0, 1], [0, 1]]", "[[1, 0], [0, 1]]", "nosuch.json", "x.vnnlib", "0:1;0:1", "\x00", "ü"]
SNN_PATH, RELU_PATH = str(EX / "snn_2_3_2.json"), str(EX / "relu_2_8_3.json")
COMMANDS = {
    "bounds --box": lambda v: ["bounds", RELU_PATH, "--box", v],
    "bounds --timeout": lambda v: ["bounds", SNN_PATH, "--box", "0:1", "--timeout", v],
    "robust --x0": lambda v: ["robust", SNN_PATH, "--x0", v, "--eps", "0.1"],
    "robust --eps": lambda v: ["robust", RELU_PATH, "--x0", "0.1,0.2", "--eps", v],
    "robust --label": lambda v: ["robust", RELU_PATH, "--x0", "0.1,0.2", "--eps", "0.01", "--label", v],
    "robust --range": lambda v: ["robust", RELU_PATH, "--x0", "0.1,0.2", "--eps", "0.01", "--mode", "range", "--range", v],
    "robust --domain": lambda v: ["robust", SNN_PATH, "--x0", "0.1,0.2", "--eps", "0.01", "--domain", v],
    "simulate --input": lambda v: ["simulate", SNN_PATH, "--input", v],
    "regions --box": lambda v: ["regions", SNN_PATH, "--box", v, "--timeout", "5"],
    "regions --max-regions": lambda v: ["regions", SNN_PATH, "--box", "0:1", "--max-regions", v],
    "regions --samples": lambda v: ["regions", SNN_PATH, "--line", "0,0", "1,1", "--samples", v],
    "regions --line": lambda v: ["regions", SNN_PATH, "--line", v, "1,1", "--timeout", "5"],
    "equiv --eps": lambda v: ["equiv", RELU_PATH, RELU_PATH, "--box", "0:1", "--eps", v],
    "convert --box": lambda v: ["convert", RELU_PATH, "--box", v, "-o", "{d}/out.json"],
    "convert --max-pieces": lambda v: ["convert", SNN_PATH, "--to", "relu", "--box", "0:1", "-o", "{d}/out.json",
                                       "--max-pieces", v],
    "convert -o": lambda v: ["convert", RELU_PATH, "--box", "0:1", "-o", "{d}/" + v.replace("/", "_")],
    "certify --box": lambda v: ["certify", SNN_PATH, RELU_PATH, "--box", v],
}


@settings(FUZZ, max_examples=40)
@given(st.sampled_from(sorted(COMMANDS)), st.sampled_from(VALUES) | st.text(max_size=12))
def test_hostile_command_line_values(command, value):
    with workdir() as d:
        argv = [a.replace("{d}", str(d)) for a in COMMANDS[command](value)]
        o = check(invoke(*argv, "--json"))
        if o.code != 0:
            no_stray_files(d, set())
        else:
            no_stray_files(d, {p.name for p in d.iterdir() if not p.name.endswith(".part")})
