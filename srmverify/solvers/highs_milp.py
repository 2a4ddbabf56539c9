"""HiGHS through highspy directly (the default engine; ~2.5x less overhead than through PuLP).

A time-limited solve is never a proof: ``kTimeLimit`` maps to ``feasible`` when HiGHS reports a
feasible primal solution (``primal_solution_status == 2``) and to ``timeout`` otherwise, in which
case the variable values HiGHS fills in are junk and are discarded.
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..deadline import deadline_after, remaining
from ..encode.program import Program
from ..errors import SolverUnavailable
from ..settings import DEFAULT, Settings
from .bigm import MilpArrays, lower
from .solution import Solution

try:
    import highspy
except ImportError:  # pragma: no cover - declared dependency
    highspy = None

_MS = highspy.HighsModelStatus if highspy else None

#: Native HiGHS model status -> our status (time/iteration limits resolved with the solution status).
STATUS_MAP = {} if highspy is None else {
    _MS.kOptimal: "optimal",
    _MS.kInfeasible: "infeasible",
    _MS.kUnbounded: "unbounded",
    _MS.kUnboundedOrInfeasible: "unknown",
    _MS.kTimeLimit: "timeout",
    _MS.kIterationLimit: "unknown",
    _MS.kSolutionLimit: "unknown",
    _MS.kInterrupt: "unknown",
    _MS.kModelEmpty: "optimal",
    _MS.kObjectiveBound: "unknown",
    _MS.kObjectiveTarget: "unknown",
    _MS.kMemoryLimit: "error",
    _MS.kNotset: "error",
    _MS.kLoadError: "error",
    _MS.kModelError: "error",
    _MS.kPresolveError: "error",
    _MS.kSolveError: "error",
    _MS.kPostsolveError: "error",
    _MS.kUnknown: "unknown",
}

_banner_done = False


def new_highs(threads: int | None = 1) -> "highspy.Highs":
    """A silent ``Highs`` object (the version banner HiGHS prints on stdout once per process is
    swallowed at the file-descriptor level so ``--json`` output stays clean)."""
    global _banner_done
    if highspy is None:
        raise SolverUnavailable("highspy is not installed")
    if not _banner_done:
        fd = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
            h = highspy.Highs()
        finally:
            os.dup2(fd, 1)
            os.close(fd)
            os.close(null)
        _banner_done = True
    else:
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    if threads:
        h.setOptionValue("threads", threads)
    return h


def load(h: "highspy.Highs", m: MilpArrays) -> None:
    """Pass the arrays to a fresh Highs object."""
    n = len(m.cost)
    inf = highspy.kHighsInf
    h.addVars(n, np.where(np.isfinite(m.col_lo), m.col_lo, -inf), np.where(np.isfinite(m.col_hi), m.col_hi, inf))
    h.changeColsCost(n, np.arange(n, dtype=np.int32), m.cost)
    if m.n_rows:
        h.addRows(m.n_rows, np.where(np.isfinite(m.row_lo), m.row_lo, -inf),
                  np.where(np.isfinite(m.row_hi), m.row_hi, inf), len(m.index),
                  m.starts[:-1].astype(np.int32), m.index.astype(np.int32), m.value)
    ints = np.flatnonzero(m.integer).astype(np.int32)
    if len(ints):
        h.changeColsIntegrality(len(ints), ints, np.full(len(ints), highspy.HighsVarType.kInteger))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize if m.maximise else highspy.ObjSense.kMinimize)


def _run(m: MilpArrays, timeout: float | None, settings: Settings, presolve: bool) -> Solution:
    t0 = time.perf_counter()
    h = new_highs()
    h.setOptionValue("mip_rel_gap", settings.mip_gap)
    h.setOptionValue("mip_feasibility_tolerance", settings.feasibility_tol)
    h.setOptionValue("primal_feasibility_tolerance", settings.feasibility_tol)
    h.setOptionValue("mip_abs_gap", settings.mip_gap)
    if not presolve:
        h.setOptionValue("presolve", "off")
    load(h, m)
    if timeout is not None:      # loading a large model takes time too: the limit covers it
        h.setOptionValue("time_limit", max(float(timeout) - (time.perf_counter() - t0), settings.min_time_slice))
    h.run()
    native = h.getModelStatus()
    status = STATUS_MAP.get(native, "unknown")
    info = h.getInfo()
    has_point = info.primal_solution_status == 2
    if status in ("timeout", "unknown") and has_point:
        status = "feasible"
    values = np.array(h.getSolution().col_value, dtype=float) if has_point and status in ("optimal", "feasible") else None
    obj = float(info.objective_function_value) + m.cost_const if values is not None else None
    bound = None
    if m.integer.any():
        db = float(info.mip_dual_bound)
        if np.isfinite(db):
            bound = db + m.cost_const
    elif status == "optimal":
        bound = obj
    return Solution(status, "highs", values, obj, bound, None, m.tau, time.perf_counter() - t0,
                    message=h.modelStatusToString(native),
                    stats={"nodes": int(info.mip_node_count) if m.integer.any() else 0,
                           "binaries": int(m.integer.sum()), "rows": m.n_rows, "vars": len(m.cost)})


def solve_arrays(m: MilpArrays, timeout: float | None = None, settings: Settings = DEFAULT,
                 presolve: bool = True) -> Solution:
    """Solve lowered arrays with HiGHS. ``infeasible`` is confirmed by a second solve without
    presolve: HiGHS 1.16's presolve has called a feasible 7-row LP infeasible (its optimum sat
    on a variable bound), so presolve alone is not trusted with a proof; when the two disagree,
    the solve without presolve is the answer (``stats["presolve_disagreed"]``).
    ``presolve=False`` skips the first solve."""
    deadline = deadline_after(timeout)
    sol = _run(m, timeout, settings, presolve=presolve)
    if not presolve:
        return sol
    if sol.status != "infeasible":
        return sol
    check = _run(m, remaining(deadline), settings, presolve=False)
    check.time += sol.time
    if check.status != "infeasible":
        check.stats["presolve_disagreed"] = True
    return check


def solve(p: Program, timeout: float | None = None, settings: Settings = DEFAULT) -> Solution:
    """Lower ``p`` with big-M constants from its bounds and solve it with HiGHS."""
    deadline = deadline_after(timeout)
    return solve_arrays(lower(p, settings.tau, deadline), remaining(deadline), settings)

