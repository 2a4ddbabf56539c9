"""Monolithic equivalence (``srmverify.verify.queries.equivalence`` with ``certificate=False``)
agrees with the compositional certificate on small converted models: honest conversions are proven
equivalent, tampered ones get an exactly re-checked counterexample (issue 4, item 3). By default
``equivalence`` asks the certificate first."""
import numpy as np
import pytest

from srmverify.convert import certify, convert_relu_to_snn
from srmverify.network import ReLUNet
from srmverify.simulate import relu_exact, simulate_exact

queries = pytest.importorskip("srmverify.verify.queries",
                              reason="srmverify.verify.queries.equivalence (engine helper) is not installed")
equivalence = queries.equivalence


def small(seed, widths=(2, 3, 2)):
    rng = np.random.default_rng(seed)
    relu = ReLUNet([(rng.normal(size=(widths[i + 1], widths[i])), rng.normal(size=widths[i + 1]))
                    for i in range(len(widths) - 1)])
    box = np.array([[-1.0, 1.0]] * widths[0])
    snn, _ = convert_relu_to_snn(relu, box)
    return relu, box, snn


@pytest.mark.parametrize("seed", [1, 2])
def test_monolithic_equiv_proves_converted_models_equivalent(seed):
    relu, box, snn = small(seed)
    assert certify(snn, relu, box).accepted
    res = equivalence(snn, relu, box, engine="highs", timeout=60, certificate=False)
    assert res.verdict.value == "unsat" and res.tolerance is not None and res.engine == "highs"


def _weight(snn):
    w = snn.weight.copy()
    w[int(np.flatnonzero(snn.dst == snn.outputs[0])[0])] += 1e-3
    return snn.with_(weight=w)


def _threshold(snn):
    th = snn.thresholds.copy()
    th[snn.outputs[0] - snn.first_neuron] -= 1e-3
    return snn.with_(thresholds=th)


def _delay(snn):
    d = snn.delay.copy()
    k = next(i for i in range(snn.n_synapses) if snn.names[snn.dst[i]].startswith("k"))
    d[k] = d[k] + 1e-3 if d[k] > 0 else d[k]
    return snn.with_(delay=d)


@pytest.mark.parametrize("tamper", [_weight, _threshold, _delay], ids=["weight", "threshold", "delay"])
def test_monolithic_equiv_finds_counterexample_on_tampered_models(tamper):
    relu, box, snn = small(1)
    bad = tamper(snn)
    assert not certify(bad, relu, box).accepted
    res = equivalence(bad, relu, box, engine="highs", timeout=60)         # certificate rejects: search
    assert res.verdict.value == "sat"
    x = res.counterexample.exact_input or res.counterexample.input
    assert simulate_exact(bad, x) != relu_exact(relu, x)       # independent exact re-check


@pytest.mark.parametrize("seed", [1, 2])
def test_monolithic_equiv_exact_z3(seed):
    """Exact SMT (no tolerance): proves the honest conversion, refutes a tamper of 1e-9."""
    relu, box, snn = small(seed)
    res = equivalence(snn, relu, box, engine="z3", timeout=60, certificate=False)
    assert res.verdict.value == "unsat" and res.tolerance is None and res.engine == "z3"
    th = snn.thresholds.copy()
    th[snn.outputs[0] - snn.first_neuron] += 1e-9
    bad = snn.with_(thresholds=th)
    res = equivalence(bad, relu, box, engine="z3", timeout=60)
    assert res.verdict.value == "sat"
    x = res.counterexample.exact_input or res.counterexample.input
    assert simulate_exact(bad, x) != relu_exact(relu, x)


def test_equiv_asks_the_certificate_first():
    """A converted 8-16-16-4 model, where the monolithic MILP does not finish in 120 s: the
    certificate proves exact equality (either argument order, eps = 0, top1); a 1-ulp tamper is
    rejected by it and left to the search."""
    rng = np.random.default_rng(0)
    widths = (8, 16, 16, 4)
    relu = ReLUNet([(rng.normal(size=(o, i)) * np.sqrt(2 / i), rng.normal(size=o) * 0.1)
                    for i, o in zip(widths, widths[1:])])
    box = np.tile([0.0, 1.0], (8, 1))
    snn, _ = convert_relu_to_snn(relu, box)
    for a, b, top1 in ((snn, relu, False), (relu, snn, True)):
        res = equivalence(a, b, box, top1=top1, timeout=10)
        assert res.verdict.value == "unsat" and res.engine == "certificate" and res.tolerance is None
        assert res.details["certificate"] == "accepted" and res.time < 5
    w = snn.weight.copy()
    w[len(w) // 2] = np.nextafter(w[len(w) // 2], np.inf)
    res = equivalence(snn.with_(weight=w), relu, box, timeout=1)
    assert res.details["certificate"] == "rejected" and res.engine == "highs"
