"""HiGHS through highspy directly (the default engine; ~2.5x less overhead than through PuLP).

Models, loading and the status map are those of :mod:`.highs` (the one HiGHS wrapper). A
time-limited solve is never a proof: a limit with a feasible point is ``feasible``, without one
``timeout``, and the variable values HiGHS fills in then are discarded.
"""
from __future__ import annotations

import time

import numpy as np

from ..deadline import deadline_after, remaining
from ..encode.program import Program
from ..settings import DEFAULT, Settings
from . import highs
from .bigm import MilpArrays, lower
from .solution import Solution

#: The status map of every HiGHS model (defined in :mod:`.highs`).
STATUS_MAP = highs.STATUS_MAP


#: HiGHS' sub-MIP heuristics (``sub_mips=False`` of :func:`solve_arrays` switches them off).
SUB_MIPS = ("mip_heuristic_run_rins", "mip_heuristic_run_rens", "mip_heuristic_run_root_reduced_cost")


def _run(m: MilpArrays, timeout: float | None, settings: Settings, presolve: bool, feasibility_jump: bool,
         sub_mips: bool = True) -> Solution:
    t0 = time.perf_counter()
    h = highs.new_model(presolve=presolve)
    if not feasibility_jump:
        h.setOptionValue("mip_heuristic_run_feasibility_jump", False)
    for option in () if sub_mips else SUB_MIPS:
        h.setOptionValue(option, False)
    h.setOptionValue("mip_rel_gap", settings.mip_gap)
    h.setOptionValue("mip_abs_gap", settings.mip_gap)
    h.setOptionValue("mip_feasibility_tolerance", settings.mip_feasibility_tol)
    h.setOptionValue("primal_feasibility_tolerance", settings.feasibility_tol)
    highs.load(h, cost=m.cost, col_lo=m.col_lo, col_hi=m.col_hi, row_lo=m.row_lo, row_hi=m.row_hi,
               starts=m.starts, index=m.index, value=m.value, integer=m.integer, maximizing=m.maximizing)
    if timeout is not None:      # loading a large model takes time too: the limit covers it
        highs.set_time_limit(h, float(timeout) - (time.perf_counter() - t0), settings.min_time_slice)
    status, has_point = highs.run(h, presolve)
    info = h.getInfo()
    values = np.array(h.getSolution().col_value, dtype=float) if has_point else None
    obj = float(info.objective_function_value) + m.cost_const if values is not None else None
    bound = None
    if m.integer.any():
        db = float(info.mip_dual_bound)
        if np.isfinite(db):
            bound = db + m.cost_const
    elif status == "optimal":
        bound = obj
    return Solution(status, "highs", values, obj, bound, None, m.tau, time.perf_counter() - t0,
                    message=highs.message(h),
                    stats={"nodes": int(info.mip_node_count) if m.integer.any() else 0,
                           "binaries": int(m.integer.sum()), "rows": m.n_rows, "vars": len(m.cost)})


def solve_arrays(m: MilpArrays, timeout: float | None = None, settings: Settings = DEFAULT,
                 presolve: bool = True, feasibility_jump: bool = True, sub_mips: bool = True) -> Solution:
    """Solve lowered arrays with HiGHS. ``infeasible`` is confirmed by a second solve without
    presolve: HiGHS 1.16's presolve has called a feasible 7-row LP infeasible (its optimum sat
    on a variable bound), so presolve alone is not trusted with a proof; when the two disagree,
    the solve without presolve is the answer (``stats["presolve_disagreed"]``).
    ``presolve=False`` skips the first solve. ``feasibility_jump=False`` switches off HiGHS'
    feasibility-jump heuristic: on a small MILP that is most likely infeasible (a branch-and-bound
    leaf) it costs about half the time (4.8 ms instead of 10.8 ms per leaf of a 5-10-10-1 SNN
    without presolve, 145 leaves). (Switching off the sub-MIP heuristics RINS / RENS too saves
    another ~10 % on SNN leaves but doubled the time of the ACAS Xu ``sat`` instance 5_3 prop_2,
    7 s to 14 s CPU: not done there.) ``sub_mips=False`` switches off the sub-MIP heuristics
    (:data:`SUB_MIPS`: RINS, RENS, root reduced cost), which search for a better point and take
    no part in a proof: on SNN leaves (35 binaries, ~165 rows, almost all infeasible) RENS spent
    about 2/3 of HiGHS' LP iterations, and without the three the leaves take 0.6-0.7x the CPU time
    (69 leaves of 5-20-20-1 seed 1 and 853 of 5-10-10-1 seeds 1 and 4, the same statuses;
    benchmarks/README.md, round 9)."""
    deadline = deadline_after(timeout)
    sol = _run(m, timeout, settings, presolve, feasibility_jump, sub_mips)
    if not presolve:
        return sol
    if sol.status != "infeasible":
        return sol
    check = _run(m, remaining(deadline), settings, False, feasibility_jump, sub_mips)
    check.time += sol.time
    if check.status != "infeasible":
        check.stats["presolve_disagreed"] = True
    return check


def solve(p: Program, timeout: float | None = None, settings: Settings = DEFAULT) -> Solution:
    """Lower ``p`` with big-M constants from its bounds and solve it with HiGHS."""
    deadline = deadline_after(timeout)
    return solve_arrays(lower(p, settings.tau, deadline), remaining(deadline), settings)

