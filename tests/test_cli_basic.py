"""`srmverify simulate` and `srmverify info` end to end, and every input error -> exit 3 with one
line naming the file, the field and the value."""
from __future__ import annotations

import json
from fractions import Fraction as F

import numpy as np
import pytest

from srmverify_cli.main import run

README = {"kind": "snn", "constants": [0.0],
          "layers": [{"weights": [[1.0, 3.0, 0.5]], "thresholds": [1.0], "delays": [[0.0, 0.1, 0.0]]}]}
# Hand-computed (model.md §1): arrivals x0 + 0, x1 + 0.1, constant 0; theta = 1.
#  (0, 0):   [0, 0.1]: P = 1.5 t < 1; after 0.1: 4.5 t - 0.3 = 1      -> t = 1.3 / 4.5
#  (1, 0):   c@0, x1@0.1, x0@1: [0.1, 1]: 3.5 t - 0.3 = 1             -> t = 1.3 / 3.5
#  (0.5, 2): c@0, x0@0.5, x1@2.1: [0.5, 2.1]: 1.5 t - 0.5 = 1         -> t = 1
README_X = [[0, 0], [1, 0], [0.5, 2]]
README_T = [F(13, 45), F(13, 35), F(1)]
MIXED = {"kind": "snn", "layers": [{"weights": [[1.0, -2.0]], "thresholds": [1.0]}]}


def write(tmp_path, name, obj) -> str:
    p = tmp_path / name
    p.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return str(p)


def call(capsys, *argv):
    code = run([str(a) for a in argv])
    o, e = capsys.readouterr()
    return code, o, e


# --------------------------------------------------------------------------- simulate / info
def test_simulate_readme_example_hand_computed(tmp_path, capsys):
    net = write(tmp_path, "readme.json", README)
    csv = write(tmp_path, "x.csv", "\n".join(",".join(map(str, r)) for r in README_X))
    code, o, _ = call(capsys, "simulate", net, "--inputs", csv, "--json")
    assert code == 0
    got = json.loads(o)["outputs"]
    np.testing.assert_allclose(np.array(got)[:, 0], [float(t) for t in README_T], rtol=1e-14)
    code, o, _ = call(capsys, "simulate", net, "--input", "0,0")
    assert code == 0 and abs(float(o.strip()) - 13 / 45) < 1e-9
    # --exact prints the exact rational of the float parameters (the delay 0.1 is a binary float)
    code, o, _ = call(capsys, "simulate", net, "--input", "0.5,2", "--exact", "--json")
    assert code == 0 and json.loads(o)["outputs_exact"] == [["1"]]


def test_simulate_never_firing_prints_inf_and_null(tmp_path, capsys):
    net = write(tmp_path, "mixed.json", MIXED)
    csv = write(tmp_path, "x.csv", "0,0\n0,5\n")
    code, o, _ = call(capsys, "simulate", net, "--inputs", csv, "--json")
    assert code == 0 and json.loads(o)["outputs"] == [[None], [1.0]]
    code, o, _ = call(capsys, "simulate", net, "--inputs", csv)
    assert code == 0 and o.split() == ["inf", "1"]
    code, o, _ = call(capsys, "simulate", net, "--input", "0,0", "--exact", "--json")
    assert code == 0 and json.loads(o)["outputs"] == [[None]]


def test_simulate_relu_json_and_onnx(tmp_path, capsys):
    from srmverify.formats import save_network
    from srmverify.network import ReLUNet

    relu = ReLUNet([([[1.0, -1.0], [0.5, 0.5]], [0.0, -1.0]), ([[1.0, 2.0]], [0.25])])
    for name in ("r.json", "r.onnx"):
        save_network(relu, tmp_path / name)
        code, o, _ = call(capsys, "simulate", tmp_path / name, "--input", "1,0.5", "--json")
        assert code == 0 and json.loads(o) == {"format": "srmverify-result", "version": 1, "kind": "relu",
                                               "outputs": [[0.75]], "exact": False, "rows": 1,
                                               "complete": True}


def test_info(tmp_path, capsys):
    code, o, _ = call(capsys, "info", write(tmp_path, "readme.json", README), "--json")
    d = json.loads(o)
    assert code == 0
    assert (d["kind"], d["inputs"], d["constants"], d["neurons"], d["synapses"]) == ("snn", 2, 1, 1, 3)
    assert d["all_weights_positive"] and d["always_fires"] and d["delays"] and d["may_never_fire"] == []
    code, o, _ = call(capsys, "info", write(tmp_path, "mixed.json", MIXED), "--json")
    d = json.loads(o)
    assert d["weights"] == {"positive": 1, "negative": 1, "zero": 0}
    assert not d["always_fires"] and d["may_never_fire"] == ["L1_0"]
    code, o, _ = call(capsys, "info", write(tmp_path, "mixed.json", MIXED))
    assert code == 0 and "always_fires" in o and "False" in o


# --------------------------------------------------------------------------- every input error -> exit 3
def L(w, t=(1.0,), d=None, **extra):
    layer = {"weights": w, "thresholds": list(t)}
    if d is not None:
        layer["delays"] = d
    return {"kind": "snn", "layers": [layer], **extra}


def dag(**changes):
    d = {"kind": "snn", "inputs": ["a"], "neurons": [{"name": "h", "threshold": 1.0}],
         "synapses": [{"from": "a", "to": "h", "weight": 1.0}], "outputs": ["h"]}
    d.update(changes)
    return d


CYCLE = dag(neurons=[{"name": "h", "threshold": 1.0}, {"name": "g", "threshold": 1.0}],
            synapses=[{"from": "a", "to": "h", "weight": 1.0}, {"from": "h", "to": "g", "weight": 1.0},
                      {"from": "g", "to": "h", "weight": 1.0}], outputs=["g"])

# (file content, field that must be named, value that must be shown)
NET_ERRORS = {
    "cycle": (CYCLE, "synapses", "'h -> g -> h'"),
    "self_loop": (dag(synapses=[{"from": "a", "to": "h", "weight": 1.0}, {"from": "h", "to": "h", "weight": 1.0}]),
                  "synapses", "'h -> h'"),
    "threshold_zero": (L([[1.0]], t=[0.0]), "layers[0].thresholds[0]", "0.0"),
    "threshold_negative_dag": (dag(neurons=[{"name": "h", "threshold": -2.0}]), "neuron h.threshold", "-2.0"),
    "negative_delay": (L([[1.0, 1.0]], d=[[0.0, -0.5]]), "layers[0].delays[0][1]", "-0.5"),
    "negative_delay_dag": (dag(synapses=[{"from": "a", "to": "h", "weight": 1.0, "delay": -1.0}]),
                           "synapse a->h.delay", "-1.0"),
    "nan_token": ('{"kind": "snn", "layers": [{"weights": [[1.0, NaN]], "thresholds": [1.0]}]}',
                  "layers[0].weights[0][1]", "nan"),
    "infinity_token": ('{"kind": "snn", "layers": [{"weights": [[1.0]], "thresholds": [Infinity]}]}',
                       "layers[0].thresholds[0]", "inf"),
    "huge_number": ('{"kind": "relu", "layers": [{"weights": [[1e999]], "biases": [0]}]}',
                    "layers[0].weights[0][0]", "inf"),
    "nan_dag_weight": (dag(synapses=[{"from": "a", "to": "h", "weight": float("nan")}]), "synapses[0].weight", "nan"),
    "nan_constant": (L([[1.0, 1.0]], constants=[float("-inf")]), "constants[0]", "-inf"),
    "dangling_from": (dag(synapses=[{"from": "zz", "to": "h", "weight": 1.0}]), "synapses[0].from", "'zz'"),
    "dangling_to": (dag(synapses=[{"from": "a", "to": "q", "weight": 1.0}]), "synapses[0].to", "'q'"),
    "synapse_into_input": (dag(synapses=[{"from": "a", "to": "h", "weight": 1.0}, {"from": "h", "to": "a", "weight": 1.0}]),
                           "synapses[1].to", "'a'"),
    "unknown_output": (dag(outputs=["nope"]), "outputs", "'nope'"),
    "orphan_neuron": (dag(neurons=[{"name": "h", "threshold": 1.0}, {"name": "g", "threshold": 1.0}]),
                      "neuron g", "'no synapses'"),
    "duplicate_name": (dag(neurons=[{"name": "a", "threshold": 1.0}]), "neurons", "'a'"),
    "columns_mismatch": ({"kind": "snn", "layers": [{"weights": [[1.0, 1.0]], "thresholds": [1.0]},
                                                    {"weights": [[1.0, 1.0]], "thresholds": [1.0]}]},
                         "layers[1].weights", "'2 columns'"),
    "thresholds_length": (L([[1.0], [1.0]], t=[1.0]), "layers[0].thresholds", "'length 1'"),
    "delays_shape": (L([[1.0, 2.0]], d=[[0.0]]), "layers[0].delays", "'shape (1, 1)'"),
    "ragged_weights": (L([[1.0, 2.0], [1.0]], t=[1.0, 1.0]), "layers[0].weights", "[[1.0, 2.0], [1.0]]"),
    "weight_not_number": (L([[1.0, "x"]]), "layers[0].weights", "[[1.0, 'x']]"),
    "relu_bias_length": ({"kind": "relu", "layers": [{"weights": [[1.0, 2.0]], "biases": [0.0, 1.0]}]},
                         "layers[0].biases", "'length 2'"),
    "relu_dims": ({"kind": "relu", "layers": [{"weights": [[1.0, 2.0]], "biases": [0.0]},
                                              {"weights": [[1.0, 2.0]], "biases": [0.0]}]},
                  "layers[1].weights", "'2 columns'"),
    "encoder_length": (L([[1.0]], encoder={"offset": [0.0, 1.0], "scale": [1.0, 1.0]}), "encoder.offset", "'length 2'"),
    "decoder_zero_scale": (L([[1.0]], decoder={"offset": [0.0], "scale": [0.0]}), "decoder.scale[0]", "0.0"),
    "empty_layers": ({"kind": "snn", "layers": []}, "layers", "[]"),
    "empty_relu": ({"kind": "relu", "layers": []}, "layers", "[]"),
    "no_neurons": (dag(neurons=[], synapses=[], outputs=[]), "neurons", "0"),
    "no_inputs": (dag(inputs=[], synapses=[]), "inputs", "0"),
    "constants_only_columns": (L([[1.0]], constants=[0.0]), "layers[0].weights", "'1 columns'"),
    "missing_field": ({"kind": "snn", "layers": [{"weights": [[1.0]]}]}, "layers[0].thresholds", "None"),
    "unknown_kind": ({"kind": "cnn"}, "kind", "'cnn'"),
    "not_object": ("[1, 2, 3]", "(top level)", "'list'"),
    "malformed_json": ('{"kind": "snn", "layers": [', "json", "'{\"kind\": \"snn\", \"layers\": ['"),
}


@pytest.mark.parametrize("case", sorted(NET_ERRORS))
def test_network_errors_exit_3_one_line(case, tmp_path, capsys):
    content, field, value = NET_ERRORS[case]
    path = write(tmp_path, f"{case}.json", content)
    for argv in (("info", path), ("simulate", path, "--input", "0")):
        code, o, e = call(capsys, *argv)
        assert code == 3, (case, e)
        assert o == "" and len(e.strip().splitlines()) == 1, e
        assert e.startswith(f"srmverify: error: {path}: "), e
        assert f": {field} = " in e and f" = {value}: " in e, e


def test_missing_network_file(tmp_path, capsys):
    path = str(tmp_path / "nothere.json")
    code, _, e = call(capsys, "info", path)
    assert code == 3 and path in e and len(e.strip().splitlines()) == 1


INPUT_ERRORS = {
    "too_short": (["--input", "1"], "<command line>: --input = '1 values': the network has 2 inputs"),
    "too_long": (["--input", "1,2,3"], "<command line>: --input = '3 values'"),
    "not_number": (["--input", "1,abc"], "<command line>: --input = '1,abc'"),
    "nan_input": (["--input", "1,nan"], "<command line>: --input[1] = nan"),
    "both": (["--input", "1,2", "--inputs", "x.csv"], "--input/--inputs"),
    "neither": ([], "--input/--inputs"),
}


@pytest.mark.parametrize("case", sorted(INPUT_ERRORS))
def test_bad_inputs_exit_3(case, tmp_path, capsys):
    argv, expect = INPUT_ERRORS[case]
    net = write(tmp_path, "readme.json", README)
    code, o, e = call(capsys, "simulate", net, *argv)
    assert code == 3 and o == "" and len(e.strip().splitlines()) == 1 and expect in e, e


CSV_ERRORS = {
    "text.csv": ("1,2\n3,x\n", "rows"),
    "columns.csv": ("1,2,3\n4,5,6\n", "rows = '3 values'"),
    "ragged.csv": ("1,2\n3\n", "rows"),
    "nan.csv": ("1,2\nnan,3\n", "rows[1][0] = nan"),
    "bad.json": ("[[1, 2], [3]]", "rows"),
    "bad.npy": ("not numpy", "header"),
}


@pytest.mark.parametrize("name", sorted(CSV_ERRORS))
def test_bad_input_files_exit_3(name, tmp_path, capsys):
    content, expect = CSV_ERRORS[name]
    net = write(tmp_path, "readme.json", README)
    path = write(tmp_path, name, content)
    code, o, e = call(capsys, "simulate", net, "--inputs", path)
    assert code == 3 and o == "" and len(e.strip().splitlines()) == 1, e
    assert f"{path}: {expect}" in e, e


def test_missing_inputs_file(tmp_path, capsys):
    net = write(tmp_path, "readme.json", README)
    code, _, e = call(capsys, "simulate", net, "--inputs", tmp_path / "none.csv")
    assert code == 3 and "none.csv" in e and "cannot read" in e


def test_onnx_errors_exit_3(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07\x12 not protobuf \xff")
    code, _, e = call(capsys, "info", bad)
    assert code == 3 and str(bad) in e and "not a valid ONNX model" in e and len(e.strip().splitlines()) == 1
    g = helper.make_graph([helper.make_node("MatMul", ["x", "W"], ["z"], name="mm"),
                           helper.make_node("Tanh", ["z"], ["y"], name="squash")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
                          [numpy_helper.from_array(np.eye(2, dtype=np.float32), "W")])
    p = tmp_path / "tanh.onnx"
    onnx.save(helper.make_model(g), str(p))
    code, _, e = call(capsys, "simulate", p, "--input", "0,0")
    assert code == 3 and "node squash (Tanh)" in e and "'Tanh'" in e and str(p) in e
