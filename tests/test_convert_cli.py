"""``srmverify convert`` / ``certify`` end to end through the CLI (exit codes, JSON, files)."""
import json

import numpy as np
import pytest

from srmverify.formats import load_network, save_network
from srmverify.network import SNN, ReLUNet
from srmverify.simulate import relu_exact, simulate_exact
from srmverify_cli.main import run


@pytest.fixture
def relu_file(tmp_path):
    rng = np.random.default_rng(0)
    w = [3, 5, 4, 2]
    relu = ReLUNet([(rng.normal(size=(w[i + 1], w[i])), rng.normal(size=w[i + 1])) for i in range(3)])
    path = tmp_path / "relu.json"
    save_network(relu, path)
    return relu, path


def test_convert_certify_and_recheck(tmp_path, relu_file, capsys):
    relu, rpath = relu_file
    snn_path, cert_path = tmp_path / "snn.json", tmp_path / "cert.json"
    assert run(["convert", str(rpath), "--box=-1:1", "-o", str(snn_path), "--cert-out", str(cert_path), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["direction"] == "relu->snn" and rep["certificate"]["verdict"] == "accepted"
    assert rep["report"]["snn_neurons"] == load_network(snn_path).n_neurons
    snn = load_network(snn_path)
    x = [0.25, -0.5, 0.75]
    assert simulate_exact(snn, x) == relu_exact(relu, x)          # the written file is exact too
    assert run(["certify", str(snn_path), str(rpath), "--cert", str(cert_path)]) == 0
    assert "accepted" in capsys.readouterr().out
    assert run(["certify", str(snn_path), str(rpath), "--box=-1:1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["accepted"] is True


def test_certify_rejects_tampered_file_and_names_the_check(tmp_path, relu_file, capsys):
    relu, rpath = relu_file
    snn_path = tmp_path / "snn.json"
    assert run(["convert", str(rpath), "--box=-1:1", "-o", str(snn_path)]) == 0
    d = json.loads(snn_path.read_text())
    d["synapses"][0]["weight"] = float(np.nextafter(d["synapses"][0]["weight"], np.inf))
    snn_path.write_text(json.dumps(d))
    capsys.readouterr()
    assert run(["certify", str(snn_path), str(rpath), "--box=-1:1", "--json"]) == 1
    res = json.loads(capsys.readouterr().out)
    assert res["verdict"] == "rejected" and res["first_failure"].startswith("weights sum to 1 failed at")
    assert run(["certify", str(snn_path), str(rpath), "--box=-1:1"]) == 1
    assert "failed: weights sum to 1" in capsys.readouterr().out


def test_bad_inputs_exit_3(tmp_path, relu_file, capsys):
    relu, rpath = relu_file
    out = str(tmp_path / "o.json")
    assert run(["convert", str(rpath), "--box=1:0", "-o", out]) == 3
    assert run(["convert", str(rpath), "--box=-1:1", "-o", out, "--bounds", "magic"]) == 3
    assert run(["convert", str(tmp_path / "missing.json"), "--box=-1:1", "-o", out]) == 3
    assert run(["certify", str(rpath), str(rpath), "--box=-1:1"]) == 3          # first must be an SNN
    assert run(["certify", str(rpath), str(rpath)]) == 3
    bad_cert = tmp_path / "c.json"
    bad_cert.write_text("{}")
    assert run(["convert", str(rpath), "--box=-1:1", "-o", out]) == 0
    assert run(["certify", out, str(rpath), "--cert", str(bad_cert)]) == 3
    err = capsys.readouterr().err
    assert "--bounds" in err or "bounds" in err


def test_snn_to_relu_json_and_onnx(tmp_path, relu_file, capsys):
    relu, rpath = relu_file
    snn_path = tmp_path / "snn.json"
    assert run(["convert", str(rpath), "--box=-1:1", "-o", str(snn_path)]) == 0
    capsys.readouterr()
    for name in ("back.json", "back.onnx"):
        assert run(["convert", str(snn_path), "--to", "relu", "--box=-1:1", "-o", str(tmp_path / name), "--json"]) == 0
        rep = json.loads(capsys.readouterr().out)
        assert rep["direction"] == "snn->relu"
        back = load_network(tmp_path / name)
        X = np.random.default_rng(1).uniform(-1, 1, size=(20, 3))
        assert np.max(np.abs(back.evaluate(X) - relu.evaluate(X))) < 1e-8


def test_discontinuous_snn_refused_with_witness(tmp_path, capsys):
    snn = SNN.layered([[[1.0, -2.0, 2.0]]], [[0.5]], delays=[[[0.0, 0.0, 2.0]]], constants=[0.0])
    path = tmp_path / "mixed.json"
    save_network(snn, path)
    assert run(["convert", str(path), "--box=0:1", "-o", str(tmp_path / "r.json"), "--json"]) == 3
    res = json.loads(capsys.readouterr().out)
    assert res["refused"] and res["witness"]["distance"] < 1e-9 and not (tmp_path / "r.json").exists()


def test_ci_recipe_shell_step(tmp_path, relu_file):
    """The README's plain-shell CI step, run with the installed ``srmverify`` executable."""
    import shutil
    import subprocess

    exe = shutil.which("srmverify")
    if exe is None:
        pytest.skip("the srmverify executable is not on PATH")
    relu, rpath = relu_file
    script = (f"set -e; {exe} convert {rpath} --box 0:1 -o snn.json --cert-out cert.json && "
              f"{exe} certify snn.json {rpath} --cert cert.json --json > certify.json")
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "certify.json").read_text())["verdict"] == "accepted"
    d = json.loads((tmp_path / "snn.json").read_text())          # tamper: the same step must fail
    d["neurons"][0]["threshold"] += 1e-9
    (tmp_path / "snn.json").write_text(json.dumps(d))
    again = subprocess.run(["bash", "-c", f"set -e; {exe} certify snn.json {rpath} --box 0:1 --json > certify.json"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1
    assert json.loads((tmp_path / "certify.json").read_text())["verdict"] == "rejected"
