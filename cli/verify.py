"""``srmverify verify NET PROP.vnnlib [--cex-out FILE]`` (VNN-COMP style)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from srmverify.formats import load_network
from srmverify.formats.vnnlib import read_vnnlib, write_counterexample
from srmverify.results import Verdict
from srmverify.verify.queries import check_vnnlib

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
    timeout = check_timeout(timeout)
    with progress_bar("verify") as progress:
        result = check_vnnlib(network, spec, engine=engine.value, timeout=timeout, progress=progress)
    written = None
    if result.verdict == Verdict.SAT and cex_out is not None and result.counterexample is not None:
        write_counterexample(cex_out, result.counterexample.input, result.counterexample.output)
        written = str(cex_out)
    return render_query(result, as_json, property=str(prop), counterexample_file=written)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
