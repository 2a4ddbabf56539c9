"""The batch driver: run a list of instances through an executor, streaming each result into
``DIR/results.csv`` (``onnx,vnnlib,result,time``; one whole row per ``write`` on a file opened
for appending, so a crash or a signal never leaves half a row) and one VNN-COMP result file per
instance (``DIR/results/<net>_<prop>.txt``, written atomically before its row). Rows already in
``results.csv`` are skipped, so an interrupted batch resumes where it stopped.
"""
from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InputError
from ..formats.files import atomic_write, check_output_path, read_text
from ..results import Progress, no_progress
from .executors import Executor, SerialExecutor
from .instances import Instance
from .runner import VERDICTS, InstanceResult, counts_text, result_file, run_instance, tally

RESULTS_HEADER = ("onnx", "vnnlib", "result", "time")


def read_results(path: str | Path) -> dict[tuple[str, str], tuple[str, float]]:
    """The rows of a ``results.csv``: ``(onnx, vnnlib) -> (result, time)`` (a missing file is empty;
    a last line without its newline, which only a foreign writer can leave, is ignored)."""
    p = Path(path)
    if not p.exists():
        return {}
    text = read_text(p, "results")
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows: dict[tuple[str, str], tuple[str, float]] = {}
    for line, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not row or tuple(row) == RESULTS_HEADER:
            continue
        if len(row) != 4 or row[2] not in VERDICTS:
            raise InputError(str(p), f"line {line}", ",".join(row), "expected onnx,vnnlib,result,time with result "
                             "one of " + "|".join(VERDICTS))
        try:
            rows[(row[0], row[1])] = (row[2], float(row[3]))
        except ValueError:
            raise InputError(str(p), f"line {line}, time", row[3], "not a number") from None
    return rows


def append_row(path: str | Path, row: Sequence[Any]) -> None:
    """Append one CSV row with a single ``write`` (``O_APPEND``) and ``fsync``: the row is in the
    file whole or not at all; the header is written first when the file is new."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    p = Path(path)
    if not p.exists() or p.stat().st_size == 0:
        writer.writerow(RESULTS_HEADER)
    writer.writerow(row)
    try:
        fd = os.open(p, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, buf.getvalue().encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise InputError(str(p), "results", str(p), f"cannot write ({exc.strerror or exc})") from None


@dataclass
class BatchSummary:
    """What a batch did: rows in the list, rows skipped (already in ``results.csv``), results of
    this run (in the order they finished), verdict counts of this run, wall time, and whether
    every row now has a result (``complete``; False after an interrupt)."""

    total: int
    skipped: int
    results: list[InstanceResult] = field(default_factory=list)
    time: float = 0.0
    complete: bool = False
    interrupted: bool = False
    workers: int = 1
    out_dir: str = ""

    @property
    def counts(self) -> dict[str, int]:
        return tally(r.verdict for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "skipped": self.skipped, "done": len(self.results), "counts": self.counts,
                "time": self.time, "complete": self.complete, "interrupted": self.interrupted,
                "workers": self.workers, "out_dir": self.out_dir,
                "results": [{k: v for k, v in asdict(r).items() if k != "details"} for r in self.results]}


def instance_timeout(instance: Instance, timeout_scale: float = 1.0, timeout: float | None = None) -> float:
    """The limit of one instance: its CSV timeout times ``timeout_scale``, capped by ``timeout``.

    >>> instance_timeout(Instance((), "", 116.0, "", ""), 0.5, 10.0), instance_timeout(Instance((), "", 116.0, "", ""), 0.5)
    (10.0, 58.0)
    """
    limit = instance.timeout * timeout_scale
    return limit if timeout is None else min(limit, timeout)


def _run(item: tuple[Instance, float], engine: str) -> InstanceResult:
    instance, limit = item
    return run_instance(instance, timeout=limit, engine=engine)


def _failed(item: tuple[Instance, float], exc: BaseException) -> InstanceResult:
    instance, _ = item
    return InstanceResult(instance.key, instance.name, "error", 0.0,
                          message=f"task failed after retries: {type(exc).__name__}: {exc}")


def run_batch(instances: Sequence[Instance], out_dir: str | Path, *, executor: Executor | None = None,
              timeout_scale: float = 1.0, timeout: float | None = None, engine: str = "highs",
              progress: Progress = no_progress,
              on_result: Callable[[InstanceResult], None] | None = None) -> BatchSummary:
    """Run every instance not yet in ``DIR/results.csv``; results stream into the CSV and the
    result files as they finish (``on_result`` sees each). ``KeyboardInterrupt`` stops the batch:
    the rows written so far stay, the summary says ``interrupted``.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "n.json").write_text(json.dumps({"kind": "relu", "layers": [{"weights": [[1.0]], "biases": [0.0]}]}))
    >>> for k, y in ((1, 0.5), (2, 2.0)):
    ...     _ = (d / f"p{k}.vnnlib").write_text("(declare-const X_0 Real)(declare-const Y_0 Real)"
    ...                                         f"(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= Y_0 {y}))")
    >>> _ = (d / "i.csv").write_text("n.json,p1.vnnlib,10\\nn.json,p2.vnnlib,10\\n")
    >>> from srmverify.batch import read_instances
    >>> s = run_batch(read_instances(d / "i.csv"), d / "out")
    >>> s.counts["sat"], s.counts["unsat"], (d / "out" / "results.csv").read_text().splitlines()[0]
    (1, 1, 'onnx,vnnlib,result,time')
    >>> (d / "out" / "results" / "n_p1.txt").read_text().splitlines()[0]
    'sat'
    >>> run_batch(read_instances(d / "i.csv"), d / "out").skipped
    2
    """
    if not (0 < timeout_scale < float("inf")):
        raise InputError("<command line>", "--timeout-scale", timeout_scale, "must be a positive number")
    if timeout is not None and not (0 < timeout < float("inf")):
        raise InputError("<command line>", "--timeout", timeout, "must be a positive number of seconds")
    t0 = time.perf_counter()
    out = Path(out_dir)
    try:
        (out / "results").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(out), "--out", str(out), f"cannot create the directory ({exc.strerror or exc})") from None
    csv_path = check_output_path(out / "results.csv", "--out")
    done = read_results(csv_path)
    todo = [i for i in instances if i.key not in done]
    executor = executor or SerialExecutor()
    summary = BatchSummary(len(instances), len(instances) - len(todo), workers=executor.workers, out_dir=str(out))
    progress(0, len(todo), "starting")
    items = [(i, instance_timeout(i, timeout_scale, timeout)) for i in todo]
    try:
        for res in executor.map_unordered(partial(_run, engine=engine), items, _failed):
            atomic_write(result_file(out, res), res.result_file_text(), "--out")
            append_row(csv_path, [*res.key, res.verdict, f"{res.time:.6f}"])
            summary.results.append(res)
            if on_result is not None:
                on_result(res)
            progress(len(summary.results), len(todo), counts_text(summary.counts))
    except KeyboardInterrupt:
        summary.interrupted = True
    summary.complete = not summary.interrupted and len(summary.results) == len(todo)
    summary.time = time.perf_counter() - t0
    return summary
