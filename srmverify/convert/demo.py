"""The ``srmverify demo`` pipeline on the bundled digits model (seconds, no download, no sklearn).

Load the 64-32-10 ReLU MLP, convert it to an SNN on the whole input domain ``[0, 1]^64``,
certify the conversion exactly, compare test accuracies of both networks on the bundled digits,
then (when the verification engine is installed) ask a few local-robustness queries on the SNN.
"""
from __future__ import annotations

import importlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..data.digits_model import load_digits_model, load_digits_test
from ..results import Progress, Verdict, no_progress
from ..simulate import simulate
from .certificate import certify
from .relu_to_snn import convert_relu_to_snn


@dataclass
class DemoResult:
    """Everything the demo measured; ``passed`` when the certificate is accepted, both networks
    predict the same classes on every test digit and no robustness query ended in ``error``."""

    conversion: dict[str, Any]
    certificate: dict[str, Any]
    n_test: int
    relu_accuracy: float
    snn_accuracy: float
    same_predictions: int
    max_output_difference: float
    robustness: list[dict[str, Any]] = field(default_factory=list)
    robustness_note: str = ""
    time: float = 0.0

    @property
    def passed(self) -> bool:
        return (self.certificate["accepted"] and self.same_predictions == self.n_test
                and all(r["verdict"] != Verdict.ERROR.value for r in self.robustness))

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "passed": self.passed}


def _robustness_query():
    """The verification engine's ``robustness`` function, or None if it is not installed."""
    try:
        return importlib.import_module("srmverify.verify.queries").robustness
    except (ImportError, AttributeError):
        return None


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
    progress(0, 4, "convert")
    snn, rep = convert_relu_to_snn(relu, box)
    progress(1, 4, "certify")
    cert = certify(snn, relu, box, rep.correspondence)
    progress(2, 4, "simulate")
    y_relu, y_snn = relu.evaluate(x), simulate(snn, x)
    p_relu, p_snn = y_relu.argmax(axis=1), y_snn.argmax(axis=1)
    result = DemoResult(
        conversion=rep.to_dict(), certificate=cert.summary(), n_test=len(labels),
        relu_accuracy=float(np.mean(p_relu == labels)), snn_accuracy=float(np.mean(p_snn == labels)),
        same_predictions=int(np.sum(p_relu == p_snn)), max_output_difference=float(np.max(np.abs(y_relu - y_snn))))
    robustness = _robustness_query() if n_robust > 0 else None
    if n_robust > 0 and robustness is None:
        result.robustness_note = "skipped: srmverify.verify.queries.robustness is not installed"
    elif robustness is not None:
        progress(3, 4, "robustness")
        for i in range(min(n_robust, len(labels))):
            q = robustness(snn, x[i], eps, norm="linf", mode="argmax", label=int(p_snn[i]), domain=box,
                           engine="highs", timeout=timeout)
            result.robustness.append({"digit": i, "label": int(labels[i]), "predicted": int(p_snn[i]), "eps": eps,
                                      "verdict": Verdict(q.verdict).value, "engine": q.engine,
                                      "tolerance": q.tolerance, "time": q.time})
    progress(4, 4, "done")
    result.time = time.perf_counter() - t0
    return result
