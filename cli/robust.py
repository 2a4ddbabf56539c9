"""``srmverify robust NET --input X --eps E [--norm linf|l1] [--mode ttfs|argmax|range] ...``."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from srmverify.errors import InputError
from srmverify.formats import load_network, parse_box, parse_vector

from .batch import SchedulerOpt, WorkersOpt
from .query_common import Engine, EngineOpt, JsonOpt, TimeoutOpt, check_timeout, left_of, render_query
from .render import NETWORKS, progress_bar
from .robust_dataset import parse_eps, robust_dataset


class Norm(str, Enum):
    linf = "linf"
    l1 = "l1"


class Mode(str, Enum):
    ttfs = "ttfs"
    argmax = "argmax"
    range = "range"


def robust_cmd(
    net: Path = typer.Argument(..., help=f"Network file ({NETWORKS})."),
    x0: Optional[str] = typer.Option(None, "--input", "-x", metavar="X", help="Centre input, comma-separated (data space)."),
    eps: str = typer.Option(..., "--eps", help="Radius of the input ball (data space); with --dataset E1,E2,... ."),
    norm: Norm = typer.Option(Norm.linf, "--norm", help="linf (box) or l1 ball."),
    mode: Optional[Mode] = typer.Option(None, "--mode",
                                        help="ttfs: earliest output spike keeps the class (default for SNNs); argmax: "
                                             "largest decoded output (default for ReLU networks); range: every output "
                                             "stays within --range."),
    label: Optional[int] = typer.Option(None, "--label", help="Expected class (default: the class at x0)."),
    out_range: Optional[str] = typer.Option(None, "--range", help="Output range for --mode range: lo:hi (all outputs) or l0:h0,l1:h1,..."),
    domain: Optional[str] = typer.Option(None, "--box", metavar="BOX", help="Valid input box the ball is clipped to: lo:hi, l0:h0,..., JSON, .json or .vnnlib."),
    dataset: Optional[Path] = typer.Option(None, "--dataset", help="Inputs, one per row (.npy, .csv, .json): certified accuracy instead of --input."),
    labels: Optional[Path] = typer.Option(None, "--labels", help="With --dataset: the true class of each row (.npy, .csv, .json)."),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="With --dataset: per-sample verdicts as CSV (index,eps,label,verdict,time)."),
    workers: Optional[int] = WorkersOpt,
    scheduler: Optional[str] = SchedulerOpt,
    engine: EngineOpt = Engine.highs,
    timeout: TimeoutOpt = None,
    as_json: JsonOpt = False,
) -> int:
    """Local robustness: unsat = no input in the ball changes the class (or leaves the range).

    With --dataset X --labels y: certified accuracy (fraction of rows proven robust with their
    label) at each --eps, --timeout per query, optionally on Dask (--workers / --scheduler).
    """
    from srmverify.verify.queries import robustness  # lazily: the CLI starts without the solvers

    if dataset is not None or x0 is None:
        return robust_dataset(net, dataset, labels, eps, output, x0=x0, norm=norm.value, mode=None if mode is None else mode.value,
                              domain=domain, workers=workers, scheduler=scheduler, engine=engine.value,
                              timeout=check_timeout(timeout), as_json=as_json)
    if workers is not None or scheduler is not None or labels is not None or output is not None:
        raise InputError("<command line>", "--input", x0, "--labels, -o, --workers and --scheduler need --dataset")
    network = load_network(net)
    centre = parse_vector(x0, "--input", network.n_inputs)
    radii = parse_eps(eps)
    if len(radii) != 1:
        raise InputError("<command line>", "--eps", eps, "several radii need --dataset")
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
        result = robustness(network, centre, radii[0], norm=norm.value, mode=None if mode is None else mode.value, label=label, out_lo=lo,
                            out_hi=hi, domain=dom, engine=engine.value, timeout=left_of(timeout), progress=progress)
    return render_query(result, as_json)


def register(app: typer.Typer) -> None:
    app.command("robust")(robust_cmd)
