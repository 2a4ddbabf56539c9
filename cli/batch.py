"""``srmverify batch INSTANCES.csv --out DIR`` and ``srmverify run-instance ONNX VNNLIB RESULT``
(the command behind ``vnncomp/run_instance.sh``)."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from srmverify.batch import Instance, make_executor, read_instances, run_batch, run_instance
from srmverify.batch.runner import load_instance
from srmverify.batch.instances import instance_name
from srmverify.formats.files import atomic_write, check_output_path

from .query_common import Engine, EngineOpt, JsonOpt, check_timeout
from .render import emit_json, err, out, progress_bar

WorkersOpt = typer.Option(None, "--workers", help="Run on a local Dask cluster of N worker processes.")
SchedulerOpt = typer.Option(None, "--scheduler", help="Run on the Dask cluster at ADDRESS (e.g. tcp://host:8786).")

#: Seconds past the limit after which ``run-instance`` writes ``timeout`` and exits even if the
#: engine has not returned (VNN-COMP kills late tools, and a killed tool leaves no result).
WATCHDOG_GRACE = 1.0

#: Exit code of a batch stopped by Ctrl-C (the rows done so far are kept).
EXIT_INTERRUPTED = 130


def batch_cmd(
    instances: Path = typer.Argument(..., help="VNN-COMP instances.csv (onnx,vnnlib,timeout; paths relative to it)."),
    out_dir: Path = typer.Option(..., "--out", help="Folder for results.csv and results/<net>_<prop>.txt."),
    timeout_scale: float = typer.Option(1.0, "--timeout-scale", help="Multiply every instance's timeout by this."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Cap every instance's timeout at this many seconds."),
    workers: Optional[int] = WorkersOpt,
    scheduler: Optional[str] = SchedulerOpt,
    engine: EngineOpt = Engine.highs,
    as_json: JsonOpt = False,
) -> int:
    """Run every instance of a VNN-COMP instances.csv; rows already in DIR/results.csv are skipped.

    Exit 0 when every row has a result (whatever the verdicts), 130 when interrupted (the rows
    finished so far are kept; run again to resume).
    """
    rows = read_instances(instances)
    timeout = check_timeout(timeout)
    if workers is not None and scheduler is not None:
        from srmverify.errors import InputError

        raise InputError("<command line>", "--scheduler", scheduler, "give --workers or --scheduler, not both")
    with make_executor(workers, scheduler) as executor, progress_bar("batch") as progress:
        summary = run_batch(rows, out_dir, executor=executor, timeout_scale=timeout_scale, timeout=timeout,
                            engine=engine.value, progress=progress)
    code = 0 if summary.complete else EXIT_INTERRUPTED
    if as_json:
        emit_json(summary.to_dict())
        return code
    table = Table(title=f"batch {instances} -> {out_dir}")
    table.add_column("")
    table.add_column("count", justify="right")
    for key, value in (("instances", summary.total), ("skipped (already done)", summary.skipped),
                       ("run now", len(summary.results)), *summary.counts.items()):
        table.add_row(key, str(value))
    out.print(table)
    out.print(f"{summary.time:.1f} s on {summary.workers} worker(s); results in {out_dir / 'results.csv'}")
    for r in summary.results:
        if r.verdict == "error":
            err.print(f"error: {r.name}: {r.message}", markup=False, highlight=False)
    if not summary.complete:
        out.print(f"PARTIAL: interrupted after {len(summary.results)} of {summary.total - summary.skipped} "
                  f"instances; run the same command again to resume")
    return code


def run_instance_cmd(
    onnx: Path = typer.Argument(..., help="Network file (.onnx, .onnx.gz, .json)."),
    vnnlib: Path = typer.Argument(..., help="VNN-LIB property (.vnnlib, .vnnlib.gz)."),
    result_file: Path = typer.Argument(..., help="VNN-COMP result file to write (verdict, then counterexample)."),
    timeout: float = typer.Option(..., "--timeout", help="Wall-clock limit in seconds."),
    started: Optional[float] = typer.Option(None, "--started", help="Unix time the limit counts from (default: now)."),
    engine: EngineOpt = Engine.highs,
    as_json: JsonOpt = False,
) -> int:
    """One VNN-COMP instance: writes the result file (first line sat/unsat/unknown/timeout/error).

    Exit 0 whenever the result file was written (VNN-COMP reads the verdict from the file).
    """
    timeout = check_timeout(timeout)
    check_output_path(result_file, "RESULT")
    left = max(timeout - (time.time() - started) if started is not None else timeout, 1e-3)
    lock = threading.Lock()

    def overdue() -> None:      # the engine overran its deadline: answer timeout in time, then stop
        with lock:
            atomic_write(result_file, "timeout\n", "RESULT")
            os._exit(0)

    watchdog = threading.Timer(left + WATCHDOG_GRACE, overdue)
    watchdog.daemon = True
    watchdog.start()
    res = run_instance(_single(onnx, vnnlib, timeout), timeout=left, engine=engine.value)
    with lock:
        watchdog.cancel()
        atomic_write(result_file, res.result_file_text(), "RESULT")
    if as_json:
        emit_json({"verdict": res.verdict, "time": res.time, "tolerance": res.tolerance, "message": res.message,
                   "result_file": str(result_file)})
    else:
        out.print(res.verdict)
        if res.message:
            out.print(res.message, markup=False, highlight=False)
    return 0


def prepare_instance_cmd(
    onnx: Path = typer.Argument(..., help="Network file (.onnx, .onnx.gz, .json)."),
    vnnlib: Path = typer.Argument(..., help="VNN-LIB property (.vnnlib, .vnnlib.gz)."),
    as_json: JsonOpt = False,
) -> int:
    """Check that an instance can be run (network and property load and fit): exit 0, else 3."""
    load_instance(_single(onnx, vnnlib, 1.0))
    if as_json:
        emit_json({"verdict": "ok", "onnx": str(onnx), "vnnlib": str(vnnlib)})
    else:
        out.print("ok")
    return 0


def _single(onnx: Path, vnnlib: Path, timeout: float) -> Instance:
    nets = (("", str(onnx)),)
    return Instance(nets, str(vnnlib), timeout, str(onnx), str(vnnlib), instance_name(nets, str(vnnlib)))


def register(app: typer.Typer) -> None:
    app.command("prepare-instance")(prepare_instance_cmd)
    app.command("batch")(batch_cmd)
    app.command("run-instance")(run_instance_cmd)
