"""CBC (bundled with PuLP) and HiGHS through PuLP.

PuLP reports status "Optimal" after a time limit whenever some solution exists; only
``sol_status`` tells (``pulp.LpSolutionIntegerFeasible`` = a point, not proven). With HiGHS
and no solution the variable values are junk. ``STATUS_MAP`` maps ``(status, sol_status)``.

CBC under a time limit has answered ``Infeasible`` (sol_status 0) for a feasible MILP (issue 10:
1 run in 5 on a 5-40-40-1 maximisation at 0.02-0.2 s). So an ``infeasible`` from a
time-limited solve is never taken as a proof: it is confirmed by HiGHS without presolve on
the same arrays within the remaining time (:func:`confirm_infeasible`), else ``timeout``.

CBC's cutting planes have cut off a MILP's optimum: on a 37-row, 12-binary ReLU leaf (a 3-6-6-2
network, hypothesis seed 458306 of tests/test_queries.py) CBC 2.10.3 answered "Optimal" 0.2060
where the optimum is 0.2761 (HiGHS, HiGHS through PuLP, and 200,000 exact samples reach 0.2753);
switching off any one of its Gomory, mixed-integer rounding, flow or two-MIR cuts gave 0.2761. So
CBC runs without cuts (:data:`CBC_OPTIONS`): plain branch and bound on LP relaxations.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from ..deadline import check, deadline_after, remaining
from ..encode.program import Program
from ..errors import SolverUnavailable
from ..settings import DEFAULT, Settings
from . import highs_milp
from .bigm import MilpArrays, lower
from .solution import Solution

try:
    import pulp
except ImportError:  # pragma: no cover - declared dependency
    pulp = None

#: ``(LpStatus, LpSolution status)`` -> our status.
STATUS_MAP = {} if pulp is None else {
    (pulp.LpStatusOptimal, pulp.LpSolutionOptimal): "optimal",
    (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible): "feasible",   # time limit with a point
    (pulp.LpStatusOptimal, pulp.LpSolutionNoSolutionFound): "timeout",
    (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound): "timeout",
    (pulp.LpStatusNotSolved, pulp.LpSolutionIntegerFeasible): "feasible",
    (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible): "infeasible",
    (pulp.LpStatusInfeasible, pulp.LpSolutionNoSolutionFound): "infeasible",
    (pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded): "unbounded",
    (pulp.LpStatusUndefined, pulp.LpSolutionNoSolutionFound): "unknown",
    (pulp.LpStatusUndefined, pulp.LpSolutionInfeasible): "infeasible",
}


#: CBC command-line options: no cutting planes (see the module docstring).
CBC_OPTIONS = ["cuts off"]


def _solver(name: str, timeout: float | None, settings: Settings):
    opts = {"msg": False, "gapRel": settings.mip_gap, "gapAbs": settings.mip_gap}
    if timeout is not None:
        opts["timeLimit"] = max(float(timeout), settings.min_time_slice)
    if name == "cbc":
        with warnings.catch_warnings():      # PuLP 3 deprecates the bundled CBC (still the one that works here)
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(options=CBC_OPTIONS, **opts)
    if name == "highs-pulp":
        return pulp.HiGHS(threads=1, mip_feasibility_tolerance=settings.mip_feasibility_tol,
                          primal_feasibility_tolerance=settings.feasibility_tol, **opts)
    raise SolverUnavailable(f"unknown PuLP solver {name!r}")


def solve_arrays(m: MilpArrays, timeout: float | None = None, settings: Settings = DEFAULT, *,
                 engine: str = "cbc") -> Solution:
    """Build the PuLP model from lowered arrays and solve it with ``engine`` ("cbc" or "highs-pulp").
    ``timeout`` covers building the model (per row: ``DeadlineExpired``) and solving."""
    if pulp is None:  # pragma: no cover
        raise SolverUnavailable("pulp is not installed")
    t0 = time.perf_counter()
    deadline = deadline_after(timeout)
    prob = pulp.LpProblem("srmverify", pulp.LpMaximize if m.maximizing else pulp.LpMinimize)
    xs = [pulp.LpVariable(f"x{i}", None if not np.isfinite(lo) else float(lo), None if not np.isfinite(hi) else float(hi),
                          cat=pulp.LpInteger if integ else pulp.LpContinuous)
          for i, (lo, hi, integ) in enumerate(zip(m.col_lo, m.col_hi, m.integer))]
    prob += pulp.lpSum(float(c) * xs[i] for i, c in enumerate(m.cost) if c != 0.0) + 0.0
    for r in range(m.n_rows):
        check(deadline)
        sl = slice(m.starts[r], m.starts[r + 1])
        expr = pulp.lpSum(float(v) * xs[i] for i, v in zip(m.index[sl], m.value[sl]))
        lo, hi = m.row_lo[r], m.row_hi[r]
        if lo == hi:
            prob += expr == float(lo)
            continue
        if np.isfinite(hi):
            prob += expr <= float(hi)
        if np.isfinite(lo):
            prob += expr >= float(lo)
    prob.solve(_solver(engine, remaining(deadline), settings))
    status = STATUS_MAP.get((prob.status, prob.sol_status), "unknown")
    if status == "infeasible" and deadline is not None:
        return confirm_infeasible(m, engine, deadline, settings, time.perf_counter() - t0,
                                  f"{pulp.LpStatus[prob.status]}/sol_status={prob.sol_status}")
    values = None
    if status in ("optimal", "feasible"):
        # a column in no row and not in the objective is not written to the solver: any value in
        # its bounds is feasible
        free = np.clip(0.0, m.col_lo, m.col_hi)
        values = np.array([x.varValue if x.varValue is not None else free[i] for i, x in enumerate(xs)], dtype=float)
    obj = float(m.cost @ values) + m.cost_const if values is not None else None
    return Solution(status, engine, values, obj, obj if status == "optimal" else None, None, m.tau,
                    time.perf_counter() - t0, message=f"{pulp.LpStatus[prob.status]}/sol_status={prob.sol_status}",
                    stats={"binaries": int(m.integer.sum()), "rows": m.n_rows, "vars": len(m.cost)})


def confirm_infeasible(m: MilpArrays, engine: str, deadline: float, settings: Settings, spent: float,
                       native: str) -> Solution:
    """A time-limited ``infeasible`` from ``engine``, re-decided by HiGHS without presolve on the
    same arrays within what is left of ``deadline``.

    HiGHS' own answer is returned (with ``engine`` kept and ``stats["confirmed_by"] = "highs"``):
    ``infeasible`` only when HiGHS proves it, a point when HiGHS finds one, otherwise ``timeout``
    -- never the unconfirmed infeasibility.
    """
    sol = highs_milp.solve_arrays(m, remaining(deadline), settings, presolve=False)
    if sol.status not in ("infeasible", "optimal", "feasible"):
        sol = Solution("timeout", engine, tolerance=m.tau)
    sol.engine = engine
    sol.time += spent
    sol.message = f"{native} under a time limit; HiGHS without presolve: {sol.message or sol.status}"
    sol.stats["confirmed_by"] = "highs"
    return sol


def solve(p: Program, timeout: float | None = None, settings: Settings = DEFAULT, *, engine: str = "cbc") -> Solution:
    """Lower ``p`` (big-M from bounds) and solve it with CBC or HiGHS through PuLP."""
    deadline = deadline_after(timeout)
    return solve_arrays(lower(p, settings.tau, deadline), remaining(deadline), settings, engine=engine)


