"""The one wrapper around highspy: a silent model, loading a problem in arrays, time limits, and
THE status map from HiGHS' model status to our vocabulary (:mod:`srmverify.solvers.solution`).

Every HiGHS model of the package is made here (:func:`new_model`) and every HiGHS answer is read
here (:func:`status`): the MILP backend (:mod:`.highs_milp`), the incremental LPs of bound
tightening (:mod:`.highs_lp`) and the region LPs / MILPs of :mod:`srmverify.regions`.

>>> h = new_model()
>>> load(h, cost=np.array([1.0, 1.0]), col_lo=np.zeros(2), col_hi=np.ones(2), row_lo=np.array([-np.inf]),
...      row_hi=np.array([1.5]), starts=np.array([0, 2]), index=np.array([0, 1]), value=np.array([1.0, 1.0]),
...      maximizing=True)
>>> _ = h.run(); status(h), float(h.getInfo().objective_function_value)
(('optimal', True), 1.5)
"""
from __future__ import annotations

import os
import time

import numpy as np

from ..errors import SolverUnavailable

try:
    import highspy
except ImportError:  # pragma: no cover - declared dependency
    highspy = None  # type: ignore[assignment]  # absent solver: callers check `highspy is None`

#: Native HiGHS model status (by name) -> our status. A time / iteration / solution limit with a
#: feasible point becomes ``feasible`` in :func:`status` (never a proof); without one, the values
#: HiGHS fills in are junk.
_OURS = {
    "kOptimal": "optimal", "kInfeasible": "infeasible", "kUnbounded": "unbounded",
    "kUnboundedOrInfeasible": "unknown", "kTimeLimit": "timeout", "kIterationLimit": "unknown",
    "kSolutionLimit": "unknown", "kInterrupt": "unknown", "kModelEmpty": "optimal",
    "kObjectiveBound": "unknown", "kObjectiveTarget": "unknown", "kMemoryLimit": "error",
    "kNotset": "error", "kLoadError": "error", "kModelError": "error", "kPresolveError": "error",
    "kSolveError": "error", "kPostsolveError": "error", "kUnknown": "unknown",
}
#: ``HighsModelStatus`` -> our status.
STATUS_MAP = {} if highspy is None else {getattr(highspy.HighsModelStatus, k): v for k, v in _OURS.items()}

_banner_done = False


def new_model(*, threads: int | None = 1, presolve: bool = True) -> "highspy.Highs":
    """A silent ``Highs`` object for an LP or a MILP (the version banner HiGHS prints on stdout
    once per process is swallowed at the file-descriptor level so ``--json`` output stays
    clean). ``presolve=False`` for models whose ``infeasible`` must be trusted without a second
    solve (HiGHS 1.16's presolve has called a feasible 7-row LP infeasible)."""
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
    if not presolve:
        h.setOptionValue("presolve", "off")
    return h


def load(h: "highspy.Highs", *, cost: np.ndarray, col_lo: np.ndarray, col_hi: np.ndarray, row_lo: np.ndarray,
         row_hi: np.ndarray, starts: np.ndarray, index: np.ndarray, value: np.ndarray,
         integer: np.ndarray | None = None, maximizing: bool = False) -> None:
    """Pass ``min/max cost @ x`` s.t. ``row_lo <= A x <= row_hi`` (``A`` in CSR: ``starts``,
    ``index``, ``value``), ``col_lo <= x <= col_hi``, ``x[integer]`` integral, to ``h`` in one
    call (infinite bounds allowed)."""
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = len(cost), len(row_lo)
    lp.col_cost_ = np.asarray(cost, dtype=float)
    lp.col_lower_ = np.where(np.isfinite(col_lo), col_lo, -inf).astype(float)
    lp.col_upper_ = np.where(np.isfinite(col_hi), col_hi, inf).astype(float)
    lp.row_lower_ = np.where(np.isfinite(row_lo), row_lo, -inf).astype(float)
    lp.row_upper_ = np.where(np.isfinite(row_hi), row_hi, inf).astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.asarray(starts, dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(index, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(value, dtype=float)
    if integer is not None and np.any(integer):
        lp.integrality_ = [highspy.HighsVarType.kInteger if i else highspy.HighsVarType.kContinuous for i in integer]
    lp.sense_ = highspy.ObjSense.kMaximize if maximizing else highspy.ObjSense.kMinimize
    h.passModel(lp)


def set_integrality(h: "highspy.Highs", cols: np.ndarray, integer: bool) -> None:
    """Make the columns ``cols`` integer or continuous (a MILP's binaries fixed and relaxed: an LP)."""
    kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
    h.changeColsIntegrality(len(cols), np.asarray(cols, dtype=np.int32), np.array([kind] * len(cols)))


def set_time_limit(h: "highspy.Highs", timeout: float | None, min_slice: float) -> None:
    """Limit the next ``run`` to ``timeout`` seconds (at least ``min_slice``; ``None`` = none)."""
    h.setOptionValue("time_limit", highspy.kHighsInf if timeout is None else max(float(timeout), min_slice))


def status(h: "highspy.Highs") -> tuple[str, bool]:
    """``(our status, has a feasible point)`` after ``h.run()``: a limit reached with a feasible
    point is ``feasible``; a point is only reported with ``optimal`` or ``feasible``."""
    ours = STATUS_MAP.get(h.getModelStatus(), "unknown")
    point = h.getInfo().primal_solution_status == 2
    if ours in ("timeout", "unknown") and point:
        ours = "feasible"
    return ours, point and ours in ("optimal", "feasible")


def run(h: "highspy.Highs", presolve: bool) -> tuple[str, bool]:
    """``h.run()`` and :func:`status`, with one retry when HiGHS ends in "Solve error": it does so
    with one presolve setting and not the other, so the retry flips the setting (``presolve`` is the
    model's own) within the time left of its limit. An "infeasible" found by a presolved retry is
    not trusted (HiGHS 1.16's presolve has called a feasible LP infeasible) and stays ``error``."""
    t0 = time.perf_counter()
    h.run()
    ours, point = status(h)
    if ours != "error":
        return ours, point
    got = h.getOptionValue("time_limit")          # (status, value) in highspy 1.16
    limit = float(got[1] if isinstance(got, tuple) else got)
    if limit < highspy.kHighsInf:
        h.setOptionValue("time_limit", max(limit - (time.perf_counter() - t0), 1e-3))
    h.setOptionValue("presolve", "off" if presolve else "on")
    h.clearSolver()
    h.run()
    ours, point = status(h)
    h.setOptionValue("presolve", "on" if presolve else "off")
    h.setOptionValue("time_limit", limit)
    if ours == "infeasible" and not presolve:
        return "error", False
    return ours, point


def message(h: "highspy.Highs") -> str:
    """HiGHS' own name of its model status."""
    return h.modelStatusToString(h.getModelStatus())
