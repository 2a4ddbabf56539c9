"""``srmverify verify NET PROP.vnnlib [--cex-out FILE]`` (VNN-COMP style)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from srmverify.errors import InputError
from srmverify.formats import load_network
from srmverify.formats.vnnlib import read_vnnlib, write_counterexample
from srmverify.results import QueryResult, Verdict
from srmverify.verify.queries import check_property

from .query_common import Engine, EngineOpt, JsonOpt, TimeoutOpt, check_timeout, render_query
from .render import progress_bar


def verify_cmd(
    net: Path = typer.Argument(..., help="Network file (.json SNN/ReLU, .onnx ReLU)."),
    prop: Path = typer.Argument(..., help="VNN-LIB 1.0 property (.vnnlib)."),
    cex_out: Optional[Path] = typer.Option(None, "--cex-out", help="On sat, write the counterexample ((X_0 v) ... (Y_0 v) ...) here."),
    engine: EngineOpt = Engine.highs,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Check a VNN-LIB property: prints sat (counterexample exists), unsat (holds), unknown, timeout or error."""
    network = load_network(net)
    spec = read_vnnlib(prop)
    if (spec.n_inputs, spec.n_outputs) != (network.n_inputs, network.n_outputs):
        raise InputError(str(prop), "declare-const", f"{spec.n_inputs} X, {spec.n_outputs} Y",
                         f"{net} has {network.n_inputs} inputs and {network.n_outputs} outputs")
    timeout = check_timeout(timeout)
    start = time.perf_counter()
    with progress_bar("verify") as progress:
        # Almost every property is one group (boxes x output condition); a property whose disjuncts
        # pair different boxes with different output conditions is checked group by group.
        results: list[QueryResult] = []
        for boxes, dnf in spec.groups:
            left = None if timeout is None else max(timeout - (time.perf_counter() - start), 1e-3)
            results.append(check_property(network, boxes, dnf, engine=engine.value, timeout=left, progress=progress))
            if results[-1].verdict == Verdict.SAT:
                break
    worst_first = (Verdict.SAT, Verdict.ERROR, Verdict.TIMEOUT, Verdict.UNKNOWN)
    result = next((r for v in worst_first for r in results if r.verdict == v), results[-1])
    result.time = time.perf_counter() - start
    written = None
    if result.verdict == Verdict.SAT and cex_out is not None and result.counterexample is not None:
        write_counterexample(cex_out, result.counterexample.input, result.counterexample.output)
        written = str(cex_out)
    return render_query(result, as_json, property=str(prop), counterexample_file=written)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
