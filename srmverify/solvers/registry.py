"""Choose a solver backend by name. Every backend is one module and one row of :data:`BACKENDS`.

A backend provides ``solve(p, timeout, settings) -> Solution`` for a neutral
:class:`~srmverify.encode.program.Program` and, if it is a MILP search engine, ``solve_arrays(m,
timeout, settings)`` for a program already lowered to arrays (a branch-and-bound leaf); an
exact backend (no tolerance, rational values) sets ``exact=True``. Adding a backend: write
``solvers/<name>.py`` with its own ``STATUS_MAP`` (native status -> our vocabulary, see
:mod:`srmverify.solvers.solution`) and add one :class:`Backend` row below.

>>> ENGINES
('highs', 'cbc', 'highs-pulp', 'z3')
>>> BACKENDS["z3"].exact, BACKENDS["highs"].exact
(True, False)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..deadline import DeadlineExpired
from ..encode.program import Program
from ..errors import InputError
from ..settings import DEFAULT, Settings
from .bigm import MilpArrays
from .solution import Solution

SolveProgram = Callable[[Program, "float | None", Settings], Solution]
SolveArrays = Callable[[MilpArrays, "float | None", Settings], Solution]


@dataclass(frozen=True)
class Backend:
    """One solver backend: how to solve a program, and (MILP engines) lowered arrays."""

    solve: SolveProgram
    solve_arrays: SolveArrays | None = None
    #: exact arithmetic (strict rows exact, no tolerance, rational values)
    exact: bool = False
    summary: str = ""


def _lazy(module: str, name: str, **kwargs) -> Callable:
    """``module.name`` (with ``kwargs`` bound), imported at the first call: listing the engines
    (the CLI's ``--engine`` choices) must not load highspy, PuLP and z3."""
    def call(*args, **kw):
        import importlib

        return getattr(importlib.import_module(f".{module}", __package__), name)(*args, **kwargs, **kw)
    return call


#: name -> backend; the first row is the default engine.
BACKENDS: dict[str, Backend] = {
    "highs": Backend(_lazy("highs_milp", "solve"), _lazy("highs_milp", "solve_arrays"),
                     summary="HiGHS through highspy (default)"),
    "cbc": Backend(_lazy("pulp_milp", "solve", engine="cbc"), _lazy("pulp_milp", "solve_arrays", engine="cbc"),
                   summary="CBC through PuLP"),
    "highs-pulp": Backend(_lazy("pulp_milp", "solve", engine="highs-pulp"),
                          _lazy("pulp_milp", "solve_arrays", engine="highs-pulp"),
                          summary="HiGHS through PuLP (for comparisons)"),
    "z3": Backend(_lazy("z3_smt", "solve"), exact=True, summary="z3, exact rational arithmetic"),
}
ENGINES = tuple(BACKENDS)
EXACT_ENGINES = tuple(name for name, b in BACKENDS.items() if b.exact)


def check_engine(engine: str) -> str:
    """Validate an engine name (raises :class:`InputError`)."""
    if engine not in BACKENDS:
        raise InputError("solver", "engine", engine, f"unknown engine; choose one of {', '.join(ENGINES)}")
    return engine


def solve(p: Program, engine: str = "highs", timeout: float | None = None, settings: Settings = DEFAULT) -> Solution:
    """Solve a program with the named engine; ``timeout`` covers lowering too (status
    ``timeout`` if it runs out before the solver starts). A program built in float arithmetic
    (``p.exact`` False: a MILP-only encoding such as a branch-and-bound leaf, whose rounded
    coefficients can make an equality ``y = z`` empty by one ulp) is never given to an exact
    engine: ``z3`` then falls back to ``highs``, like :func:`solve_arrays`."""
    backend = BACKENDS[check_engine(engine)]
    if backend.exact and not p.exact:
        backend = BACKENDS["highs"]
    try:
        return backend.solve(p, timeout, settings)
    except DeadlineExpired:
        return Solution("timeout", engine, message="time limit reached while lowering the program")


def solve_arrays(m: MilpArrays, engine: str = "highs", timeout: float | None = None,
                 settings: Settings = DEFAULT) -> Solution:
    """Solve a MILP already in arrays (built in numpy, e.g. a branch-and-bound leaf) with a MILP
    engine; an engine that is not a search engine (``z3``) falls back to ``highs``."""
    backend = BACKENDS[check_engine(engine)]
    run = backend.solve_arrays or BACKENDS["highs"].solve_arrays
    assert run is not None
    return run(m, timeout, settings)

