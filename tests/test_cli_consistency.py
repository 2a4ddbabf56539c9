"""One vocabulary across commands (issue 15): new option names, old names as hidden aliases,
choices as usage errors, help without ``<bool>`` on flags, exact output with decimals."""
from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from srmverify.formats import load_network, save_network
from srmverify.network import SNN
from srmverify.simulate import simulate_exact
from srmverify_cli.main import app, run

DATA = Path(__file__).resolve().parents[1] / "srmverify" / "data" / "examples"
SNN_FILE = str(DATA / "snn_2_3_2.json")


def json_of(capsys, argv):
    code = run(argv + ["--json"])
    d = json.loads(capsys.readouterr().out)
    for k in ("time", "stats"):        # wall-clock measurements differ between runs
        d.pop(k, None)
    return code, d


@pytest.mark.parametrize("new, old", [
    (["robust", SNN_FILE, "--input", "0.2,1.5", "--eps", "0.05", "--box", "0:2"],
     ["robust", SNN_FILE, "--x0", "0.2,1.5", "--eps", "0.05", "--domain", "0:2"]),
    (["robust", SNN_FILE, "-x", "0.2,1.5", "--eps=0.05", "--box=0:2"],
     ["robust", SNN_FILE, "--x0=0.2,1.5", "--eps=0.05", "--domain=0:2"]),
    (["bounds", SNN_FILE, "--box", "0:1", "--bounds", "interval"],
     ["bounds", SNN_FILE, "--box", "0:1", "--method", "interval"]),
])
def test_old_names_are_aliases(capsys, new, old):
    a, b = json_of(capsys, new), json_of(capsys, old)
    assert a == b and a[0] == 0


@pytest.mark.parametrize("command, hidden", [("robust", ["--x0", "--domain"]), ("bounds", ["--method"])])
def test_help_is_plain_and_hides_aliases(capsys, command, hidden):
    assert run([command, "--help"]) == 0
    text = capsys.readouterr().out
    assert "<bool>" not in text and "--json" in text
    assert not any(h in text for h in hidden)


def test_no_command_shows_bool_metavars(capsys):
    for name in [c.name for c in app.registered_commands]:
        assert run([name, "--help"]) == 0, name
        assert "<bool>" not in capsys.readouterr().out, name


def test_to_is_a_choice(capsys, tmp_path):
    assert run(["convert", SNN_FILE, "--to", "onnx", "-o", str(tmp_path / "x.onnx")]) == 2
    assert "nir" in capsys.readouterr().err              # the message lists the choices


def test_exact_simulation_prints_decimals_beside_fractions(capsys):
    assert run(["simulate", SNN_FILE, "--input", "0.1,0.2", "--exact"]) == 0
    tokens = capsys.readouterr().out.split()
    exact = simulate_exact(load_network(SNN_FILE), [0.1, 0.2])
    assert len(tokens) == 2 * len(exact)
    for dec, frac, v in zip(tokens[::2], tokens[1::2], exact):
        assert Fraction(frac.strip("(=)")) == v
        assert abs(float(dec) - float(v)) < 1e-9


def test_regions_accepts_the_queries_engine_name(capsys, tmp_path):
    net = tmp_path / "n.json"
    save_network(SNN.layered([[[1.0, 2.0, 0.5]]], [[1.0]]), net)
    _, a = json_of(capsys, ["regions", str(net), "--box", "-10:10", "--engine", "highs"])
    _, b = json_of(capsys, ["regions", str(net), "--box", "-10:10", "--engine", "milp"])
    assert a["causal_regions"] == b["causal_regions"] == 7        # 2^d - 1, model.md §2.1
