"""Solver backends: one module per backend, each with its own ``STATUS_MAP``; choose with
:func:`srmverify.solvers.registry.solve`."""
from .registry import ENGINES, check_engine, solve, solve_arrays
from .solution import Solution

__all__ = ["ENGINES", "check_engine", "solve", "solve_arrays", "Solution"]
