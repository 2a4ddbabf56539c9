"""``srmverify robust NET --dataset X --labels y --eps E1,E2 [-o verdicts.csv] [--workers N]``:
certified accuracy (the ``--dataset`` form of ``robust``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np
from rich.table import Table

from srmverify.batch import certified_accuracy, make_executor
from srmverify.errors import InputError
from srmverify.formats import load_inputs, load_network, parse_box
from srmverify.formats.files import atomic_write, check_output_path

from .render import emit_json, out, progress_bar

#: Exit code when the run was interrupted (the finished queries are still reported).
EXIT_INTERRUPTED = 130


def parse_eps(text: str) -> list[float]:
    """``"0.01,0.02"`` -> ``[0.01, 0.02]``; each finite and >= 0."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError("<command line>", "--eps", text, "expected numbers separated by commas") from None
    if not all(np.isfinite(v) and v >= 0 for v in values):
        raise InputError("<command line>", "--eps", text, "must be a finite number >= 0")
    return values


def robust_dataset(net: Path, dataset: Optional[Path], labels: Optional[Path], eps: str, output: Optional[Path], *,
                   x0: Optional[str], norm: str, mode: str, domain: Optional[str], workers: Optional[int],
                   scheduler: Optional[str], engine: str, timeout: Optional[float], as_json: bool) -> int:
    """Run the dataset form and render it; exit 0 when every query ran (whatever the verdicts)."""
    if dataset is None or labels is None or x0 is not None:
        raise InputError("<command line>", "--dataset", None if dataset is None else str(dataset),
                         "give --input (one input), or --dataset with --labels (certified accuracy)")
    if mode == "range":
        raise InputError("<command line>", "--mode", mode, "certified accuracy needs a class: use ttfs or argmax")
    if workers is not None and scheduler is not None:
        raise InputError("<command line>", "--scheduler", scheduler, "give --workers or --scheduler, not both")
    radii = parse_eps(eps)
    network = load_network(net)
    x = load_inputs(dataset, network.n_inputs)
    y = load_inputs(labels).reshape(-1)
    if len(y) != len(x):
        raise InputError(str(labels), "rows", len(y), f"expected one label per row of {dataset} ({len(x)})")
    bad = (y != np.round(y)) | (y < 0) | (y >= network.n_outputs)
    if bad.any():
        raise InputError(str(labels), f"labels[{int(np.argmax(bad))}]", float(y[bad][0]),
                         f"must be a class 0..{network.n_outputs - 1}")
    dom = parse_box(domain, network.n_inputs, field="--box") if domain is not None else None
    if output is not None:
        check_output_path(output, "-o")
    with make_executor(workers, scheduler) as executor, progress_bar("robust") as progress:
        res = certified_accuracy(str(net), x, y.astype(int), radii, executor=executor, mode=mode, norm=norm,
                                 domain=dom, engine=engine, timeout=timeout, progress=progress)
    if output is not None:
        atomic_write(output, res.csv_text(), "-o")
    code = 0 if res.complete else EXIT_INTERRUPTED
    if as_json:
        emit_json({**res.to_dict(), "output": None if output is None else str(output)})
        return code
    table = Table(title=f"certified accuracy of {net} on {len(x)} inputs ({mode}, {norm})")
    for col in ("eps", "certified", "unsat", "sat", "unknown", "timeout", "error"):
        table.add_column(col, justify="right")
    for e in radii:
        c = res.counts(e)
        table.add_row(f"{e:g}", f"{res.certified(e):.4f}", *(str(c[k]) for k in ("unsat", "sat", "unknown", "timeout", "error")))
    out.print(table)
    out.print(f"{res.time:.1f} s, {res.workers} worker(s)" + ("" if res.complete else "  [PARTIAL: interrupted]"))
    return code
