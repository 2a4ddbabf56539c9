"""The ``srmverify demo`` pipeline on bundled data (seconds, no download, no sklearn).

Load the 64-32-10 ReLU MLP trained on digits, convert it to an SNN on the whole input domain
``[0, 1]^64``, certify the conversion exactly, compare test accuracies of both networks on the
bundled digits, ask a few local-robustness queries on the SNN, and count the exact linear regions
of a bundled shared-weight spiking layer next to the theorem that predicts them.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .convert.certificate import certify
from .convert.relu_to_snn import convert_relu_to_snn
from .data import DATA_DIR
from .data.digits_model import load_digits_model, load_digits_test
from .formats import load_network
from .regions import Domain, count_regions
from .results import Progress, Verdict, no_progress
from .simulate import simulate
from .verify.queries import robustness


@dataclass
class DemoResult:
    """Everything the demo measured; ``passed`` when the certificate is accepted, both networks
    predict the same classes on every test digit, no robustness query ended in ``error`` and the
    exact region count equals the theorem's."""

    conversion: dict[str, Any]
    certificate: dict[str, Any]
    n_test: int
    relu_accuracy: float
    snn_accuracy: float
    same_predictions: int
    max_output_difference: float
    robustness: list[dict[str, Any]] = field(default_factory=list)
    regions: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0

    @property
    def passed(self) -> bool:
        return (self.certificate["accepted"] and self.same_predictions == self.n_test
                and all(r["verdict"] != Verdict.ERROR.value for r in self.robustness)
                and self.regions.get("causal_regions") == self.regions.get("theory"))

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "passed": self.passed}


def run_demo(*, n_robust: int = 3, eps: float = 0.01, timeout: float = 5.0,
             progress: Progress = no_progress) -> DemoResult:
    """Run the demo; ``n_robust`` digits get a robustness query (``eps`` L∞ ball, ``timeout`` s each).

    >>> r = run_demo(n_robust=0)
    >>> r.certificate["verdict"], r.relu_accuracy == r.snn_accuracy, r.passed
    ('accepted', True, True)
    """
    t0 = time.perf_counter()
    relu = load_digits_model()
    x, labels = load_digits_test()
    box = np.tile([0.0, 1.0], (relu.n_inputs, 1))
    progress(0, 5, "convert")
    snn, rep = convert_relu_to_snn(relu, box)
    progress(1, 5, "certify")
    cert = certify(snn, relu, box, rep.correspondence)
    progress(2, 5, "simulate")
    y_relu, y_snn = relu.evaluate(x), simulate(snn, x)
    p_relu, p_snn = y_relu.argmax(axis=1), y_snn.argmax(axis=1)
    result = DemoResult(
        conversion=rep.to_dict(), certificate=cert.summary(), n_test=len(labels),
        relu_accuracy=float(np.mean(p_relu == labels)), snn_accuracy=float(np.mean(p_snn == labels)),
        same_predictions=int(np.sum(p_relu == p_snn)), max_output_difference=float(np.max(np.abs(y_relu - y_snn))))
    progress(3, 5, "robustness")
    for i in range(min(n_robust, len(labels))):
        q = robustness(snn, x[i], eps, norm="linf", mode="argmax", label=int(p_snn[i]), domain=box,
                       engine="highs", timeout=timeout)
        result.robustness.append({"digit": i, "label": int(labels[i]), "predicted": int(p_snn[i]), "eps": eps,
                                  "verdict": Verdict(q.verdict).value, "engine": q.engine,
                                  "tolerance": q.tolerance, "time": q.time})
    progress(4, 5, "regions")
    layer = load_network(DATA_DIR / "shared_3x3.json")
    # 37 regions, bounded work: no deadline (``timeout`` is per robustness query), so that the
    # first run on a fresh machine, which compiles the kernels (tens of seconds), still completes
    reg = count_regions(layer, Domain.box(np.tile([0.0, 100.0], (layer.n_inputs, 1))), engine="traverse")
    result.regions = {"network": "shared_3x3.json", "causal_regions": reg.causal_regions,
                      "linear_regions": reg.linear_regions, "complete": reg.complete,
                      "theory": reg.theory.get("value"), "formula": reg.theory.get("formula"), "time": reg.time}
    progress(5, 5, "done")
    result.time = time.perf_counter() - t0
    return result
