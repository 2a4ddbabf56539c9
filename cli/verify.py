"""``srmverify verify [NAME=]NET... PROP.vnnlib [--cex-out FILE]`` (VNN-COMP style; VNN-LIB 1.0 and 2.0)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import typer

from srmverify.errors import InputError
from srmverify.formats import load_network
from srmverify.formats.files import check_output_path
from srmverify.formats.vnnlib import write_counterexample
from srmverify.formats.vnnlib2 import read_query, write_counterexample2
from srmverify.results import Verdict

from .query_common import Engine, EngineOpt, JsonOpt, TimeoutOpt, check_timeout, left_of, render_query
from .render import NETWORKS, progress_bar


def _network_args(args: list[str]) -> dict[str, Path] | list[Path]:
    """``NAME=PATH`` arguments as a mapping, plain paths as a list (not both)."""
    named, plain = {}, []
    for a in args:
        m = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)=(.+)", a)
        if m and not Path(a).exists():
            if m.group(1) in named:
                raise InputError("<command line>", "network", a, f"network '{m.group(1)}' given twice")
            named[m.group(1)] = Path(m.group(2))
        else:
            plain.append(Path(a))
    if named and plain:
        raise InputError("<command line>", "network", str(plain[0]), "give every network as NAME=PATH or none")
    return named or plain


def verify_cmd(
    args: List[str] = typer.Argument(..., metavar="[NAME=]NET... PROP",
                                     help=f"Network file(s) ({NETWORKS}), then the VNN-LIB "
                                          "property (1.0 or 2.0). Several networks (VNN-LIB 2.0): NAME=PATH each."),
    cex_out: Optional[Path] = typer.Option(None, "--cex-out", help="On sat, write the counterexample here "
                                           "(VNN-LIB 1.0: ((X_0 v) ... (Y_0 v)); 2.0: NAME TYPE [shape] + values)."),
    engine: EngineOpt = Engine.highs,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Check a VNN-LIB property: prints sat (counterexample exists), unsat (holds), unknown, timeout or error."""
    from srmverify.verify.relational import check_query  # lazily: the CLI starts without the solvers

    if len(args) < 2:
        raise InputError("<command line>", "arguments", args, "expected one or more networks, then the property file")
    if cex_out is not None:
        check_output_path(cex_out, "--cex-out")
    prop = Path(args[-1])
    spec = _network_args(args[:-1])
    timeout = check_timeout(timeout)
    query = read_query(prop)
    nets = {k: load_network(v) for k, v in spec.items()} if isinstance(spec, dict) else [load_network(p) for p in spec]
    with progress_bar("verify") as progress:
        result = check_query(nets, query, engine=engine.value, timeout=left_of(timeout), progress=progress)
    written = None
    if result.verdict == Verdict.SAT and cex_out is not None and result.counterexample is not None:
        ce = result.counterexample
        if query.version == "1.0":
            write_counterexample(cex_out, ce.input, ce.output)
        else:
            write_counterexample2(cex_out, query.networks, ce.input, ce.output)
        written = str(cex_out)
    return render_query(result, as_json, property=str(prop), counterexample_file=written)


def register(app: typer.Typer) -> None:
    app.command("verify")(verify_cmd)
