"""``srmverify robust NET --input X --eps E [--norm linf|l1] [--mode ttfs|argmax|range] ...``."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from srmverify.errors import InputError
from srmverify.formats import load_network, parse_box, parse_vector

from .query_common import Engine, EngineOpt, JsonOpt, TimeoutOpt, check_timeout, render_query
from .render import progress_bar


class Norm(str, Enum):
    linf = "linf"
    l1 = "l1"


class Mode(str, Enum):
    ttfs = "ttfs"
    argmax = "argmax"
    range = "range"


def robust_cmd(
    net: Path = typer.Argument(..., help="Network file (.json SNN/ReLU, .onnx ReLU)."),
    x0: str = typer.Option(..., "--input", "-x", metavar="X", help="Centre input, comma-separated (data space)."),
    eps: float = typer.Option(..., "--eps", help="Radius of the input ball (data space)."),
    norm: Norm = typer.Option(Norm.linf, "--norm", help="linf (box) or l1 ball."),
    mode: Optional[Mode] = typer.Option(None, "--mode",
                                        help="ttfs: earliest output spike keeps the class (default for SNNs); argmax: "
                                             "largest decoded output (default for ReLU networks); range: every output "
                                             "stays within --range."),
    label: Optional[int] = typer.Option(None, "--label", help="Expected class (default: the class at x0)."),
    out_range: Optional[str] = typer.Option(None, "--range", help="Output range for --mode range: lo:hi (all outputs) or l0:h0,l1:h1,..."),
    domain: Optional[str] = typer.Option(None, "--box", metavar="BOX", help="Valid input box the ball is clipped to: lo:hi, l0:h0,..., JSON, .json or .vnnlib."),
    engine: EngineOpt = Engine.highs,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Local robustness: unsat = no input in the ball changes the class (or leaves the range)."""
    from srmverify.verify.queries import robustness  # lazily: the CLI starts without the solvers

    network = load_network(net)
    centre = parse_vector(x0, "--input", network.n_inputs)
    if not (eps >= 0 and eps < float("inf")):
        raise InputError("<command line>", "--eps", eps, "must be a finite number >= 0")
    if label is not None and not 0 <= label < network.n_outputs:
        raise InputError("<command line>", "--label", label, f"the network has {network.n_outputs} outputs")
    if (mode is Mode.range) != (out_range is not None):
        raise InputError("<command line>", "--range", out_range, "--range is required with --mode range and only then")
    lo = hi = None
    if out_range is not None:
        bounds = parse_box(out_range, network.n_outputs, field="--range")
        lo, hi = bounds[:, 0], bounds[:, 1]
    dom = parse_box(domain, network.n_inputs, field="--box") if domain is not None else None
    timeout = check_timeout(timeout)
    with progress_bar("robust") as progress:
        result = robustness(network, centre, eps, norm=norm.value, mode=None if mode is None else mode.value, label=label, out_lo=lo,
                            out_hi=hi, domain=dom, engine=engine.value, timeout=timeout, progress=progress)
    return render_query(result, as_json)


def register(app: typer.Typer) -> None:
    app.command("robust")(robust_cmd)
