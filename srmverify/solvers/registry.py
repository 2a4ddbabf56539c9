"""Choose a solver backend by name: ``highs`` (default, highspy direct), ``cbc`` (PuLP),
``highs-pulp`` (HiGHS through PuLP, for comparisons) and ``z3`` (exact)."""
from __future__ import annotations

from ..bounds.deadline import DeadlineExpired
from ..encode.program import Program
from ..errors import InputError
from . import highs_milp, pulp_milp, z3_smt
from .bigm import MilpArrays
from .solution import Solution

ENGINES = ("highs", "cbc", "highs-pulp", "z3")
EXACT_ENGINES = ("z3",)


def check_engine(engine: str) -> str:
    """Validate an engine name (raises :class:`InputError`)."""
    if engine not in ENGINES:
        raise InputError("--solver", "engine", engine, f"unknown engine; choose one of {', '.join(ENGINES)}")
    return engine


def solve(p: Program, engine: str = "highs", timeout: float | None = None) -> Solution:
    """Solve a program with the named engine; ``timeout`` covers lowering too (status
    ``timeout`` if it runs out before the solver starts)."""
    check_engine(engine)
    try:
        if engine == "highs":
            return highs_milp.solve(p, timeout)
        if engine == "z3":
            return z3_smt.solve(p, timeout)
        return pulp_milp.solve(p, engine, timeout)
    except DeadlineExpired:
        return Solution("timeout", engine, message="time limit reached while lowering the program")


def solve_arrays(m: MilpArrays, engine: str = "highs", timeout: float | None = None) -> Solution:
    """Solve a MILP already in arrays (built in numpy, e.g. a branch-and-bound leaf) with a MILP
    engine; ``z3`` is not a search engine and falls back to ``highs``."""
    check_engine(engine)
    if engine in ("cbc", "highs-pulp"):
        return pulp_milp.solve_arrays(m, engine, timeout)
    return highs_milp.solve_arrays(m, timeout)
