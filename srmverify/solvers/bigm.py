"""Lowering of a :class:`~srmverify.encode.program.Program` to a plain MILP in arrays.

* implications become big-M rows whose M is the maximum of the row over the variable bounds
  (never a fixed large number; an unbounded M is an error, not a guess);
* strict rows ``e < 0`` become ``e <= -tau`` (``tau`` = :data:`TAU`, reported with every verdict);
* ``==`` rows are range rows ``0 <= e <= 0``.

The result is shared by the direct HiGHS backend and the PuLP backends.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bounds.deadline import check
from ..encode.program import Program
from ..errors import SolverError

#: Tolerance for strict inequalities in a MILP: ``a < b`` is solved as ``a <= b - TAU``.
TAU = 1e-6


@dataclass
class MilpArrays:
    """``min/max cost @ x`` s.t. ``row_lo <= A x <= row_hi``, ``col_lo <= x <= col_hi``,
    ``x[integer]`` integral; ``A`` in CSR (``starts``, ``index``, ``value``)."""

    cost: np.ndarray
    cost_const: float
    maximise: bool
    col_lo: np.ndarray
    col_hi: np.ndarray
    integer: np.ndarray
    row_lo: np.ndarray
    row_hi: np.ndarray
    starts: np.ndarray
    index: np.ndarray
    value: np.ndarray
    tau: float

    @property
    def n_rows(self) -> int:
        return len(self.row_lo)


def _max_over_bounds(coef: dict[int, float], lo: np.ndarray, hi: np.ndarray) -> float:
    idx = np.fromiter(coef.keys(), dtype=np.int64, count=len(coef))
    c = np.fromiter(coef.values(), dtype=float, count=len(coef))
    with np.errstate(invalid="ignore"):
        return float(np.sum(np.where(c > 0, c * hi[idx], 0.0)) + np.sum(np.where(c < 0, c * lo[idx], 0.0)))


def lower(p: Program, tau: float = TAU, deadline: float | None = None) -> MilpArrays:
    """Big-M lowering (see the module docstring); ``deadline`` (:mod:`srmverify.bounds.deadline`)
    is checked per row."""
    lo, hi = np.array(p.lo, dtype=float), np.array(p.hi, dtype=float)
    starts, index, value, rlo, rhi = [0], [], [], [], []

    def emit(coef: dict, a: float, b: float) -> None:
        coef = {k: float(v) for k, v in coef.items() if v != 0}
        index.extend(coef.keys())
        value.extend(coef.values())
        starts.append(len(index))
        rlo.append(a)
        rhi.append(b)

    for r in p.rows:
        check(deadline)
        c = -float(r.lin.const)
        if r.sense == "==":
            emit(r.lin.coef, c, c)
        else:
            emit(r.lin.coef, -np.inf, c - (tau if r.sense == "<" else 0.0))
    for imp in p.implications:
        check(deadline)
        parts = [(imp.row.lin, imp.row.sense)] if imp.row.sense != "==" else \
            [(imp.row.lin, "<="), (imp.row.lin.scaled(-1.0), "<=")]
        for lin, sense in parts:
            rhs = -float(lin.const) - (tau if sense == "<" else 0.0)
            big = _max_over_bounds(lin.coef, lo, hi) - rhs
            if big <= 0:
                continue            # the row holds everywhere in the bounds
            if not np.isfinite(big):
                raise SolverError(f"cannot build a big-M row for {imp.row.name or 'an implication'}: "
                                  "a variable in it has no finite bound")
            coef = {k: float(v) for k, v in lin.coef.items()}
            n_on = 0
            for b, val in imp.literals:
                coef[b] = coef.get(b, 0.0) + (big if val == 1 else -big)
                n_on += val == 1
            emit(coef, -np.inf, rhs + big * n_on)
    cost = np.zeros(p.n_vars)
    const = 0.0
    if p.objective is not None:
        for k, v in p.objective.coef.items():
            cost[k] += float(v)
        const = float(p.objective.const)
    return MilpArrays(cost, const, p.maximise, lo, hi, np.array(p.binary, dtype=bool),
                      np.array(rlo, dtype=float), np.array(rhi, dtype=float), np.array(starts, dtype=np.int64),
                      np.array(index, dtype=np.int64), np.array(value, dtype=float), tau)

