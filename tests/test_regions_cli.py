"""``srmverify regions`` end to end (exit codes, JSON, theory, partial counts, plot)."""
from __future__ import annotations

import json
from importlib.resources import files

import numpy as np
import pytest

from srmverify.formats import save_network
from srmverify.network import ReLUNet, SNN
from srmverify_cli.main import run

DATA = files("srmverify.data")


def run_json(capsys, argv):
    code = run(argv + ["--json"])
    return code, json.loads(capsys.readouterr().out)


def test_shared_layer_count_with_theory(capsys):
    code, d = run_json(capsys, ["regions", str(DATA / "shared_3x3.json"), "--box", "0:100"])
    assert code == 0
    assert d["causal_regions"] == 37 and d["linear_regions"] == 37 and d["complete"] is True
    assert d["theory"]["value"] == 37 and d["theory"]["exact"] is True


def test_human_output_prints_theory_next_to_count(capsys, tmp_path):
    p = tmp_path / "n5.json"
    save_network(SNN.layered([[[1.0, 1.2, 1.4, 1.6, 1.8]]], [[1.0]]), p)
    assert run(["regions", str(p), "--box", "0:100"]) == 0
    text = capsys.readouterr().out
    assert "regions: 31" in text and "2^d - 1 = 31" in text


def test_engines_agree_from_the_cli(capsys, tmp_path):
    p = tmp_path / "n3.json"
    save_network(SNN.layered([[[1.0, 2.0, 1.5]]], [[1.0]]), p)
    counts = [run_json(capsys, ["regions", str(p), "--box", "0:20", "--engine", e])[1]["causal_regions"]
              for e in ("traverse", "z3", "milp")]
    assert counts == [7, 7, 7]


def test_partial_count_exits_4_and_is_marked(capsys):
    code, d = run_json(capsys, ["regions", str(DATA / "neuron_d10.json"), "--box", "0:100", "--max-regions", "20"])
    assert code == 4 and d["complete"] is False and d["partial"] is True and d["stopped"] == "max-regions"
    assert 20 <= d["causal_regions"] < 1023 and d["theory"]["value"] == 1023


def test_line_with_sampling_and_compare_relu(capsys, tmp_path):
    p, q = tmp_path / "s.json", tmp_path / "r.json"
    save_network(SNN.layered([[[1.0, 1.0]]], [[1.0]]), p)
    rng = np.random.default_rng(0)
    save_network(ReLUNet([(rng.normal(size=(4, 2)), rng.normal(size=4)), (rng.normal(size=(1, 4)), [0.0])]), q)
    code, d = run_json(capsys, ["regions", str(p), "--line", "0,1000000", "1000000,0", "--samples", "20000",
                                "--compare-relu", str(q)])
    assert code == 0 and d["causal_regions"] == 3 and d["stats"]["sampled"]["regions_seen"] == 2
    assert d["compare_relu"]["kind"] == "relu" and d["compare_relu"]["causal_regions"] >= 1


def test_slice_plot_and_region_list(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "p.png"
    code, d = run_json(capsys, ["regions", str(DATA / "shared_3x3.json"), "--slice", "0,0,5", "10,0,5", "0,10,5",
                                "--plot", str(out), "--list"])
    assert code == 0 and out.stat().st_size > 1000
    assert d["engine"] == "refine"                     # auto: the refinement on a 2-D slice
    assert d["causal_regions"] == len({r["pattern"] for r in d["regions"]}) and d["adjacency"]


@pytest.mark.parametrize("argv", [
    ["--box", "0:1", "--line", "0,0,0", "1,1,1"],          # two domains
    ["--box", "0:1,0:1"],                                   # wrong dimension
    ["--box", "0:1", "--max-regions", "0"],                 # out of range
    ["--box", "0:1", "--engine", "cplex"],                  # unknown engine: usage error
    ["--line", "0,0,0", "0,0,0"],                           # degenerate segment
])
def test_bad_input(argv, capsys):
    code = run(["regions", str(DATA / "shared_3x3.json")] + argv)
    assert code in (2, 3)


def test_four_input_box_uses_the_refinement_and_lists_adjacency(capsys, tmp_path):
    p = tmp_path / "layer.json"
    save_network(SNN.layered([[[1.0, 1.5, 2.0, 2.5]] * 2], [[1.0, 2.0]]), p)     # shared weights: 3^4 - 2^4
    code, d = run_json(capsys, ["regions", str(p), "--box", "0:100", "--list"])
    assert code == 0 and d["engine"] == "refine" and d["complete"] is True
    assert d["causal_regions"] == 65 == d["theory"]["value"] == d["linear_regions"]
    assert len(d["regions"]) == 65 and d["adjacency"]
    code, t = run_json(capsys, ["regions", str(p), "--box", "0:100", "--engine", "z3"])
    assert code == 0 and t["causal_regions"] == 65


def test_refinement_refuses_seven_inputs(capsys, tmp_path):
    p = tmp_path / "n7.json"
    save_network(SNN.layered([[[1.0] * 7]], [[1.0]]), p)
    assert run(["regions", str(p), "--box", "0:1", "--engine", "refine"]) == 3
    assert "--engine" in capsys.readouterr().err
