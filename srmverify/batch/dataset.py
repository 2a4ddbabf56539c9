"""Certified accuracy over a dataset: one local-robustness query per (sample, eps), carried by an
executor (serial or Dask), the network loaded once per worker.

A sample is *certified* at ``eps`` when :func:`~srmverify.verify.queries.robustness` with its true
label proves ``unsat`` (no input of the ball changes the class; a misclassified sample is ``sat``
at its centre). ``sat`` counterexamples are re-checked exactly by the library; ``unknown``,
``timeout`` and ``error`` count as not certified, so the certified accuracy is a sound lower bound.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import InputError, SrmverifyError
from ..results import Progress, Verdict, no_progress
from .executors import Executor, SerialExecutor
from .runner import cached_network, counts_text, tally


@dataclass
class SampleResult:
    """The verdict of one (sample, eps) query; ``time`` on the worker in seconds."""

    index: int
    eps: float
    label: int
    verdict: str
    time: float
    tolerance: float | None = None
    message: str = ""


@dataclass
class CertifiedAccuracy:
    """Per-sample verdicts (sorted by eps, then index) and, per eps, the certified accuracy
    (fraction of ``unsat``) and the verdict counts; ``complete`` is False after an interrupt."""

    n_samples: int
    eps: list[float]
    results: list[SampleResult] = field(default_factory=list)
    time: float = 0.0
    complete: bool = False
    workers: int = 1

    def certified(self, eps: float) -> float:
        """Fraction of all samples proven robust at ``eps``."""
        return sum(r.verdict == "unsat" for r in self.results if r.eps == eps) / self.n_samples

    def counts(self, eps: float) -> dict[str, int]:
        return tally(r.verdict for r in self.results if r.eps == eps)

    def to_dict(self) -> dict[str, Any]:
        return {"n_samples": self.n_samples, "complete": self.complete, "time": self.time, "workers": self.workers,
                "per_eps": [{"eps": e, "certified_accuracy": self.certified(e), "counts": self.counts(e)}
                            for e in self.eps],
                "results": [asdict(r) for r in self.results]}

    def csv_text(self) -> str:
        """``index,eps,label,verdict,time`` rows (a header first)."""
        rows = ["index,eps,label,verdict,time"]
        rows += [f"{r.index},{r.eps!r},{r.label},{r.verdict},{r.time:.6f}" for r in self.results]
        return "\n".join(rows) + "\n"


def _query(item: tuple, net_path: str, options: dict) -> SampleResult:
    from ..verify.queries import robustness

    index, x, label, eps = item
    t0 = time.perf_counter()
    try:
        res = robustness(cached_network(net_path), x, eps, label=label, **options)
    except SrmverifyError as exc:
        return SampleResult(index, eps, label, "error", time.perf_counter() - t0, message=str(exc))
    except Exception as exc:    # a bug of ours on this sample: recorded as its error, the run goes on
        return SampleResult(index, eps, label, "error", time.perf_counter() - t0,
                            message=f"internal error: {type(exc).__name__}: {exc}")
    return SampleResult(index, eps, label, Verdict(res.verdict).value, time.perf_counter() - t0, res.tolerance)


def _failed(item: tuple, exc: BaseException) -> SampleResult:
    index, _, label, eps = item
    return SampleResult(index, eps, label, "error", 0.0, message=f"task failed after retries: {type(exc).__name__}: {exc}")


def certified_accuracy(net_path: str, x: np.ndarray, labels: Sequence[int], eps: Sequence[float], *,
                       executor: Executor | None = None, mode: str = "argmax", norm: str = "linf",
                       domain: np.ndarray | None = None, engine: str = "highs", timeout: float | None = None,
                       progress: Progress = no_progress,
                       on_result: Callable[[SampleResult], None] | None = None) -> CertifiedAccuracy:
    """Robustness of every sample of ``x`` (rows, data space) with its label at every ``eps``;
    ``timeout`` is per query. The network is read from ``net_path`` on each worker (once).
    ``KeyboardInterrupt`` stops early (``complete`` False, the finished queries kept).

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "n.json").write_text(json.dumps({"kind": "relu", "layers": [{"weights": [[1.0], [-1.0]], "biases": [0.0, 0.0]}]}))
    >>> r = certified_accuracy(str(d / "n.json"), np.array([[0.5], [-0.05], [-0.5]]), [0, 0, 1], [0.1])
    >>> [s.verdict for s in r.results], r.certified(0.1)
    (['unsat', 'sat', 'unsat'], 0.6666666666666666)
    """
    x = np.asarray(x, dtype=float)
    label_arr = np.asarray(labels).reshape(-1)
    if x.ndim != 2 or len(x) != len(label_arr) or len(x) == 0:
        raise InputError("--labels", "labels", f"{len(label_arr)} labels", f"expected one label per input row ({len(x)})")
    if not np.all(np.equal(np.mod(label_arr, 1), 0)):
        raise InputError("--labels", "labels", label_arr[np.mod(label_arr, 1) != 0][0], "labels must be integers")
    eps = [float(e) for e in eps]
    if not eps or not all(np.isfinite(e) and e >= 0 for e in eps):
        raise InputError("--eps", "eps", eps, "expected one or more finite numbers >= 0")
    t0 = time.perf_counter()
    executor = executor or SerialExecutor()
    out = CertifiedAccuracy(len(x), eps, workers=executor.workers)
    items = [(i, x[i], int(label_arr[i]), e) for e in eps for i in range(len(x))]
    options = dict(mode=mode, norm=norm, domain=domain, engine=engine, timeout=timeout)
    progress(0, len(items), "starting")
    try:
        for res in executor.map_unordered(partial(_query, net_path=net_path, options=options), items, _failed):
            out.results.append(res)
            if on_result is not None:
                on_result(res)
            progress(len(out.results), len(items), counts_text(tally(r.verdict for r in out.results)))
    except KeyboardInterrupt:
        pass
    out.complete = len(out.results) == len(items)
    out.results.sort(key=lambda r: (eps.index(r.eps), r.index))
    out.time = time.perf_counter() - t0
    return out
