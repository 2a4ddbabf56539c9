"""``srmverify regions NET --box B | --slice X0 X1 X2 | --line X0 X1 [--engine ...]``."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np
import typer

from srmverify.errors import InputError
from srmverify.limits import MAX_SAMPLES
from srmverify.formats import load_inputs, load_network, parse_box, parse_vector
from srmverify.network import ReLUNet, SNN
from srmverify.results import EXIT_INCONCLUSIVE, EXIT_OK

from .query_common import left_of
from .render import NETWORKS, JsonOpt, emit_json, err, out, progress_bar

if TYPE_CHECKING:
    from srmverify.regions import RegionsResult

CMD = "<command line>"


class RegionEngine(str, Enum):
    auto = "auto"
    traverse = "traverse"
    refine = "refine"
    z3 = "z3"
    highs = "highs"     # the queries' name of the HiGHS MILP engine
    milp = "milp"


def _point(text: str, field: str, n: int) -> np.ndarray:
    """A point: comma-separated numbers, or ``FILE[:ROW]`` (.csv/.npy/.json, one input per row)."""
    path, _, row = text.partition("@")
    if Path(path).suffix in (".csv", ".npy", ".json", ".txt") and Path(path).exists():
        rows = load_inputs(path, n)
        try:
            k = int(row) if row else 0
            return rows[k]
        except (ValueError, IndexError):
            raise InputError(path, field, text, f"row must be an integer in 0..{len(rows) - 1}") from None
    return parse_vector(text, field, n)


def regions_cmd(
    net: Path = typer.Argument(..., help=f"Network file ({NETWORKS})."),
    box: Optional[str] = typer.Option(None, "--box", help="Input box: lo:hi, l0:h0,..., JSON [[lo, hi], ...], .json or .vnnlib."),
    slice_: Optional[Tuple[str, str, str]] = typer.Option(None, "--slice", help="2-D slice through three points x0 x1 x2 (comma-separated, or FILE@ROW): x0 + u (x1-x0) + v (x2-x0), u, v in [0, 1]."),
    line: Optional[Tuple[str, str]] = typer.Option(None, "--line", help="Segment x0 -> x1 (comma-separated, or FILE@ROW)."),
    engine: RegionEngine = typer.Option(RegionEngine.auto, "--engine", help="auto (default: refine for an SNN on a --slice or a box of 2 to 4 inputs, else traverse), traverse (LP adjacency walk; exact 1-D walk on --line), refine (SNN on --line/--slice/a box of at most 4 inputs, any signs: polygon/polytope refinement, fastest), z3 (all-SAT, exact) or highs = milp (HiGHS MILP, no-good cuts)."),
    compare_relu: Optional[Path] = typer.Option(None, "--compare-relu", help="Also count this ReLU network on the same domain."),
    samples: int = typer.Option(0, "--samples", help="With --line: also count what N equally spaced samples see (e.g. 20000)."),
    max_regions: Optional[int] = typer.Option(None, "--max-regions", help="Stop after this many regions (partial count)."),
    timeout: Optional[float] = typer.Option(None, "--timeout", help="Stop after this many seconds (partial count)."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Draw the 2-D partition (needs matplotlib: extra 'plot')."),
    list_regions: bool = typer.Option(False, "--list", help="With --json: include every region (pattern, interior point, output map) and the adjacency."),
    as_json: JsonOpt = False,
) -> int:
    """Count the full-dimensional causal regions (SNN) / activation regions (ReLU) and linear
    regions exactly, with the known theoretical count alongside. Exit 0 when complete, 4 when
    stopped early (counts are then lower bounds)."""
    from srmverify.regions import Domain, count_regions  # lazily: the CLI starts without the solvers

    if plot is not None:
        from srmverify.regions.plot import check_plot_path

        check_plot_path(plot)
    network = load_network(net)
    n = network.n_inputs
    given = [o for o in (box, slice_, line) if o]
    if len(given) != 1:
        raise InputError(CMD, "--box/--slice/--line", None, "give exactly one of --box, --slice or --line")
    if max_regions is not None and max_regions < 1:
        raise InputError(CMD, "--max-regions", max_regions, "must be >= 1")
    if timeout is not None and timeout <= 0:
        raise InputError(CMD, "--timeout", timeout, "must be > 0")
    if not 0 <= samples <= MAX_SAMPLES:
        raise InputError(CMD, "--samples", samples, f"must be in 0..{MAX_SAMPLES} (srmverify.limits.MAX_SAMPLES)")
    if box:
        domain = Domain.box(parse_box(box, n))
        what = "box"
    elif slice_:
        domain = Domain.plane(*(_point(p, f"--slice[{i}]", n) for i, p in enumerate(slice_)))
        what = "slice"
    else:
        domain = Domain.segment(*(_point(p, f"--line[{i}]", n) for i, p in enumerate(line)))
        what = "line"
    domain.check(n)
    relu = None
    if compare_relu is not None:
        relu = load_network(compare_relu)
        if not isinstance(relu, ReLUNet):
            raise InputError(str(compare_relu), "kind", "snn", "--compare-relu needs a ReLU network")
    if plot is not None and domain.dim != 2:
        raise InputError(CMD, "--plot", str(plot), "a plot needs a 2-D domain: a 2-input box or --slice")
    with progress_bar("regions") as progress:
        result = count_regions(network, domain, "milp" if engine is RegionEngine.highs else engine.value, max_regions=max_regions,
                               timeout=left_of(timeout), compare_relu=relu, samples=samples, graph=list_regions,
                               progress=progress)
    if plot is not None:
        from srmverify.regions.plot import plot_partition

        plot_partition(network, domain, result, plot)
        err.print(f"plot written to {plot}")
    if as_json:
        d = result.to_dict(include_regions=list_regions)
        d.update({"network": str(net), "domain": what})
        emit_json(d)
    else:
        _render(result, network, what, str(net))
    return EXIT_OK if result.complete and (result.compare is None or result.compare.complete) else EXIT_INCONCLUSIVE


def _render(r: RegionsResult, network: SNN | ReLUNet, what: str, name: str, label: str = "") -> None:
    kind = "SNN causal" if r.kind == "snn" else "ReLU activation"
    status = "complete" if r.complete else f"PARTIAL (stopped: {r.stopped or 'incomplete'}; counts are lower bounds)"
    tol = "exact" if r.tolerance is None else f"tolerance {r.tolerance:.3g}"
    out.print(f"{label}{name}: {r.dim}-D {what}, engine {r.engine} ({tol}), {status}")
    th = r.theory
    theory = ""
    if th:
        rel = "exact on R^d" if th["exact"] else "upper bound on R^d"
        theory = f"    theory: {th['name']}: {th['formula']} = {th['value']} ({rel})"
    out.print(f"  {kind} regions: {r.causal_regions}{theory}")
    if r.causal_pieces is not None:
        out.print(f"  causal pieces (backward-masked causal sets): {r.causal_pieces}")
    if r.linear_regions is not None:
        out.print(f"  linear regions: {r.linear_regions}")
    else:
        out.print("  linear regions: not computed by this engine (use --engine traverse)")
    extra = []
    if r.cells is not None and r.cells != r.causal_regions:
        extra.append(f"convex cells {r.cells}")
    if r.discontinuities:
        extra.append(f"discontinuous facets {r.discontinuities}")
    if "sampled" in r.stats:
        s = r.stats["sampled"]
        extra.append(f"{s['points']}-point sampling sees {s['regions_seen']} (misses {r.causal_regions - s['regions_seen']})")
    if "narrowest" in r.stats:
        extra.append(f"narrowest region {r.stats['narrowest']:.3g} of the segment")
    extra.append(f"{r.time:.3g} s, {r.rate:.4g} regions/s")
    out.print("  " + "; ".join(extra))
    for w in r.warnings:
        err.print(f"warning: {w}")
    if r.compare is not None:
        _render(r.compare, network, what, "matched ReLU network", "")


def register(app: typer.Typer) -> None:
    app.command("regions")(regions_cmd)
