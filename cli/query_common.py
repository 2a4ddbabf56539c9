"""Options and rendering shared by the verification-query commands (bounds, robust, equiv, verify)."""
from __future__ import annotations

import time
from enum import Enum
from typing import Annotated, Any, Optional

import typer

from srmverify.errors import InputError
from srmverify.results import BoundsResult, QueryResult, exit_code
from srmverify.settings import DEFAULT
from srmverify.solvers.registry import ENGINES

from . import started
from .render import JsonOpt, emit_json, fmt, out


#: Solver engines, one per row of the solver registry (``highs``, ``cbc``, ``highs-pulp`` are MILP
#: with a stated tolerance; ``z3`` is exact SMT).
Engine = Enum("Engine", {name.replace("-", "_"): name for name in ENGINES}, type=str)  # type: ignore[misc]

EngineOpt = Annotated[Engine, typer.Option("--engine", "--solver", help="highs, cbc, highs-pulp (MILP) or z3 (exact SMT).")]
TimeoutOpt = Annotated[Optional[float], typer.Option("--timeout", help="Wall-clock limit in seconds (exit 4 when hit).")]


def check_timeout(timeout: float | None) -> float | None:
    """``--timeout`` must be positive and finite."""
    if timeout is not None and not (0 < timeout < float("inf")):
        raise InputError("<command line>", "--timeout", timeout, "must be a positive number of seconds")
    return timeout


def left_of(timeout: float | None) -> float | None:
    """What is left now of a ``--timeout`` that counts from the start of the command
    (:func:`srmverify_cli.started`): pass this to the library, so the limit holds on the wall
    clock. At least the minimum time slice (the query then stops at once, partial result)."""
    if timeout is None:
        return None
    return max(timeout - (time.perf_counter() - started()), DEFAULT.min_time_slice)


def _vector(v: list | None) -> str:
    return "[" + ", ".join(fmt(x) for x in (v or [])) + "]"


def render_query(result: QueryResult, as_json: bool, **extra: Any) -> int:
    """Print a query result (verdict on the first line, VNN-COMP style) and return its exit code."""
    if as_json:
        emit_json({**result.to_dict(), **extra})
        return exit_code(result.verdict)
    out.print(result.to_dict()["verdict"])
    tol = "exact" if result.tolerance is None else f"tolerance {result.tolerance:g}"
    out.print(f"query {result.query}, engine {result.engine} ({tol}), {result.time:.3f} s")
    facts = [f"{k} {fmt(v) if isinstance(v, float) else v}" for k, v in result.details.items()
             if isinstance(v, (int, float, str, bool))]
    if facts:
        out.print(", ".join(facts))
    cex = result.counterexample
    if cex is not None:
        out.print(f"counterexample input:  {_vector(cex.input)}")
        for k, y in enumerate(cex.outputs or [cex.output]):
            label = "output" if len(cex.outputs or [0]) == 1 else f"output[{k}]"
            out.print(f"counterexample {label}: {_vector(y)}")
    if result.message:
        out.print(result.message)
    for key, value in extra.items():
        if value is not None:
            out.print(f"{key}: {value}")
    return exit_code(result.verdict)


def render_bounds(result: BoundsResult, as_json: bool, **extra: Any) -> int:
    """Print guaranteed output bounds and return the exit code (4 when stopped early)."""
    if as_json:
        emit_json({**result.to_dict(), **extra})
        return exit_code(result.verdict)
    kind = "optimal" if result.optimal else "sound (not tight)"
    tol = "" if result.tolerance is None else f", tolerance {result.tolerance:g}"
    state = "" if result.complete else "  [PARTIAL: stopped early; bounds are sound but looser]"
    out.print(f"{kind} bounds by {result.method}, engine {result.engine}{tol}, {result.time:.3f} s{state}")
    may_not = result.may_not_fire or [False] * len(result.lower)
    for j, (lo, hi) in enumerate(zip(result.lower, result.upper)):
        note = "  (may never fire)" if may_not[j] else ""
        out.print(f"y{j}: [{'-inf' if lo is None else fmt(lo)}, {fmt(hi)}]{note}")
    return exit_code(result.verdict)
