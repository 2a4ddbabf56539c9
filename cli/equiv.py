"""``srmverify equiv A B --box BOX [--eps E | --top1]``."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from srmverify.errors import InputError
from srmverify.formats import load_network, parse_box

from .query_common import Engine, EngineOpt, JsonOpt, TimeoutOpt, check_timeout, left_of, render_query
from .render import NETWORKS, progress_bar


def equiv_cmd(
    a: Path = typer.Argument(..., help=f"First network ({NETWORKS})."),
    b: Path = typer.Argument(..., help="Second network."),
    box: str = typer.Option(..., "--box", help="Input box: lo:hi, l0:h0,..., JSON [[lo, hi], ...], .json or .vnnlib file."),
    eps: Optional[float] = typer.Option(None, "--eps", help="Allowed max |A(x) - B(x)| over the outputs (default 0: exact with z3)."),
    top1: bool = typer.Option(False, "--top1", help="Same argmax everywhere instead of close outputs."),
    certificate: bool = typer.Option(True, "--certificate/--no-certificate",
                                     help="SNN vs ReLU: try the exact conversion certificate before any solver."),
    engine: EngineOpt = Engine.highs,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Equivalence on a box: unsat = max output difference <= eps (or same argmax) everywhere."""
    from srmverify.verify.queries import equivalence  # lazily: the CLI starts without the solvers

    if top1 and eps is not None:
        raise InputError("<command line>", "--eps/--top1", eps, "give at most one of --eps and --top1")
    if eps is not None and not (0 <= eps < float("inf")):
        raise InputError("<command line>", "--eps", eps, "must be a finite number >= 0")
    net_a, net_b = load_network(a), load_network(b)
    if (net_a.n_inputs, net_a.n_outputs) != (net_b.n_inputs, net_b.n_outputs):
        raise InputError(str(b), "shape", f"{net_b.n_inputs} inputs, {net_b.n_outputs} outputs",
                         f"{a} has {net_a.n_inputs} inputs, {net_a.n_outputs} outputs")
    region = parse_box(box, net_a.n_inputs)
    timeout = check_timeout(timeout)
    with progress_bar("equiv") as progress:
        result = equivalence(net_a, net_b, region, eps=eps or 0.0, top1=top1, engine=engine.value,
                             timeout=left_of(timeout), progress=progress, certificate=certificate)
    return render_query(result, as_json)


def register(app: typer.Typer) -> None:
    app.command("equiv")(equiv_cmd)
