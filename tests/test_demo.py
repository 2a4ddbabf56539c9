"""``srmverify demo``: the bundled digits model converts, certifies and keeps its accuracy, in seconds."""
import json

from srmverify.data.digits_model import load_digits_model, load_digits_test
from srmverify_cli.main import run


def test_demo_json_passes(capsys):
    assert run(["demo", "--json", "--robust", "0"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["passed"] and r["certificate"]["verdict"] == "accepted"
    assert r["relu_accuracy"] == r["snn_accuracy"] >= 0.9
    assert r["same_predictions"] == r["n_test"] == 100
    assert r["conversion"]["relu_widths"] == [64, 32, 10] and r["conversion"]["error_bound"] == 0


def test_demo_text_with_one_robustness_query(capsys):
    assert run(["demo", "--robust", "1", "--eps", "0.005", "--timeout", "5"]) == 0
    text = capsys.readouterr().out
    assert "certificate: accepted" in text and "PASSED" in text
    assert "robustness" in text


def test_bundled_data_shapes():
    relu = load_digits_model()
    x, y = load_digits_test()
    assert relu.widths == [64, 32, 10] and x.shape == (100, 64) and set(y.tolist()) <= set(range(10))
    assert (relu.evaluate(x).argmax(axis=1) == y).mean() >= 0.9
