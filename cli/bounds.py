"""``srmverify bounds NET --box BOX [--method optimal|interval|symbolic]``."""
from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer

from srmverify.formats import load_network, parse_box

from .query_common import Engine, EngineOpt, JsonOpt, TimeoutOpt, check_timeout, left_of, render_bounds
from .render import NETWORKS, progress_bar


class Method(str, Enum):
    optimal = "optimal"
    interval = "interval"
    symbolic = "symbolic"


def bounds_cmd(
    net: Path = typer.Argument(..., help=f"Network file ({NETWORKS})."),
    box: str = typer.Option(..., "--box", help="Input box: lo:hi, l0:h0,l1:h1,..., JSON [[lo, hi], ...], .json or .vnnlib file."),
    method: Method = typer.Option(Method.optimal, "--bounds", help="How to bound: optimal (MILP/SMT, tight), interval or symbolic (fast, sound)."),
    engine: EngineOpt = Engine.highs,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Guaranteed lower/upper bound of every output over the box (JSON null = unbounded / may never fire)."""
    from srmverify.verify.queries import output_bounds  # lazily: the CLI starts without the solvers

    network = load_network(net)
    region = parse_box(box, network.n_inputs)
    timeout = check_timeout(timeout)
    with progress_bar("bounds") as progress:
        result = output_bounds(network, region, method=method.value, engine=engine.value,
                               timeout=left_of(timeout), progress=progress)
    return render_bounds(result, as_json)


def register(app: typer.Typer) -> None:
    app.command("bounds")(bounds_cmd)
