"""Packaging (issue 15): version, ``python -m srmverify``, LICENSE, py.typed, and the JSON Schemas
that every JSON file the commands write must satisfy (format/version fields, old files read,
unknown future versions refused with exit 3)."""
from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import jsonschema
import pytest

import srmverify
from srmverify.schemas import schema
from srmverify_cli.main import run

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "srmverify" / "data" / "examples"
SNN_FILE, RELU_FILE = DATA / "snn_2_3_2.json", DATA / "relu_2_8_3.json"


def validate(obj, name: str) -> None:
    jsonschema.Draft202012Validator(schema(name)).validate(obj)


def test_version_everywhere_agrees(capsys):
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"srmverify {srmverify.__version__}"
    assert metadata.version("srmverify") == srmverify.__version__


def test_python_dash_m(tmp_path):
    done = subprocess.run([sys.executable, "-m", "srmverify", "simulate", str(SNN_FILE), "--input", "0,0", "--json"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outputs"][0][0] == pytest.approx(0.7954497354497354, abs=0)


def test_license_and_typing_marker():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License")
    assert "MIT" in metadata.metadata("srmverify")["License"]
    assert (ROOT / "srmverify" / "py.typed").exists()
    assert "Typing :: Typed" in metadata.metadata("srmverify").get_all("Classifier")


def test_every_json_file_the_commands_write_validates(tmp_path, capsys):
    snn_out, relu_out, cert = tmp_path / "s.json", tmp_path / "r.json", tmp_path / "c.json"
    commands = [
        ["simulate", SNN_FILE, "--input", "0.1,0.2"],
        ["simulate", SNN_FILE, "--input", "0.1,0.2", "--exact"],
        ["info", SNN_FILE],
        ["info", RELU_FILE],
        ["convert", RELU_FILE, "--box", "0:1", "-o", snn_out, "--cert-out", cert],
        ["convert", SNN_FILE, "--to", "relu", "--box", "0:1", "-o", relu_out],
        ["convert", SNN_FILE, "--to", "nir", "-o", tmp_path / "n.nir"],
        ["certify", snn_out, RELU_FILE, "--cert", cert],
        ["bounds", SNN_FILE, "--box", "0:1", "--method", "interval"],
        ["robust", SNN_FILE, "--x0", "0.5,0.5", "--eps", "0.01"],
        ["equiv", snn_out, RELU_FILE, "--box", "0:1"],
        ["verify", SNN_FILE, DATA / "snn_2_3_2_unsat.vnnlib"],
        ["regions", ROOT / "srmverify" / "data" / "shared_3x3.json", "--box", "0:1"],
    ]
    for argv in commands:
        code = run([str(a) for a in argv] + ["--json"])
        out = capsys.readouterr().out
        assert code in (0, 1, 4), (argv, code)
        d = json.loads(out)
        validate(d, "result")
        assert d["format"] == "srmverify-result" and d["version"] == 1
    for path in (snn_out, relu_out):
        d = json.loads(path.read_text())
        validate(d, "network")
        assert d["format"] == "srmverify-network" and d["version"] == 1
    validate(json.loads(cert.read_text()), "certificate")
    for path in (SNN_FILE, RELU_FILE, *sorted((ROOT / "srmverify" / "data").glob("*_3x3.json"))):
        validate(json.loads(path.read_text()), "network")        # bundled (older) files have no stamp


def test_schemas_reject_what_the_readers_reject():
    """The schemas are not vacuous: a negative threshold, a missing kind, a future version fail."""
    good = json.loads(SNN_FILE.read_text())
    validate(good, "network")
    for bad in ({**good, "kind": "cnn"}, {k: v for k, v in good.items() if k != "kind"}, {**good, "version": 2},
                {"kind": "snn", "inputs": 1, "neurons": [{"name": "h", "threshold": -1.0}],
                 "synapses": [{"from": "x0", "to": "h", "weight": 1.0}], "outputs": ["h"]}):
        with pytest.raises(jsonschema.ValidationError):
            validate(bad, "network")
    with pytest.raises(jsonschema.ValidationError):
        validate({"verdict": "unsat"}, "result")                 # no format/version


def test_readers_accept_old_files_and_refuse_future_versions(tmp_path, capsys):
    d = json.loads(SNN_FILE.read_text())
    old = tmp_path / "old.json"
    old.write_text(json.dumps({k: v for k, v in d.items() if k not in ("format", "version")}))
    assert run(["info", str(old)]) == 0
    future = tmp_path / "future.json"
    future.write_text(json.dumps({**d, "format": "srmverify-network", "version": 2}))
    capsys.readouterr()
    assert run(["info", str(future)]) == 3
    assert "version = 2" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**d, "format": "srmverify-result"}))
    assert run(["info", str(other)]) == 3
    # certificates: a future version is refused, exit 3
    snn, cert = tmp_path / "s.json", tmp_path / "c.json"
    assert run(["convert", str(RELU_FILE), "--box", "0:1", "-o", str(snn), "--cert-out", str(cert)]) == 0
    c = json.loads(cert.read_text())
    for field, value in (("version", 2), ("format", "srmverify-equivalence-certificate/2")):
        cert.write_text(json.dumps({**c, field: value}))
        capsys.readouterr()
        assert run(["certify", str(snn), str(RELU_FILE), "--cert", str(cert)]) == 3
        assert "unknown certificate version" in capsys.readouterr().err
