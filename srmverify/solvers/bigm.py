"""Lowering of a :class:`~srmverify.encode.program.Program` to a plain MILP in arrays.

* implications become big-M rows whose M is the maximum of the row over the variable bounds
  (never a fixed large number; an unbounded M is an error, not a guess);
* strict rows ``e < 0`` become ``e <= -tau`` (``tau`` = :attr:`Settings.tau
  <srmverify.settings.Settings.tau>`, reported with every verdict);
* ``==`` rows are range rows ``0 <= e <= 0``;
* blocks (:meth:`Program.add_rows <srmverify.encode.program.Program.add_rows>`,
  :meth:`Program.add_block <srmverify.encode.program.Program.add_block>`) are appended as they
  are (``==`` rows as range rows too).

The result is shared by the direct HiGHS backend and the PuLP backends.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

import numpy as np

from ..deadline import check
from ..encode.program import Program
from ..errors import SolverError
from ..settings import DEFAULT


@dataclass
class MilpArrays:
    """``min/max cost @ x`` s.t. ``row_lo <= A x <= row_hi``, ``col_lo <= x <= col_hi``,
    ``x[integer]`` integral; ``A`` in CSR (``starts``, ``index``, ``value``)."""

    cost: np.ndarray
    cost_const: float
    maximizing: bool
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


def _flatten(lins: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(row of each entry, variable, coefficient, constant of each row)`` of expressions."""
    counts = np.fromiter((len(e.coef) for e in lins), dtype=np.int64, count=len(lins))
    total = int(counts.sum())
    idx = np.fromiter(chain.from_iterable(e.coef.keys() for e in lins), dtype=np.int64, count=total)
    val = np.fromiter(chain.from_iterable(e.coef.values() for e in lins), dtype=float, count=total)
    const = np.fromiter((e.const for e in lins), dtype=float, count=len(lins))
    return np.repeat(np.arange(len(lins)), counts), idx, val, const


def lower(p: Program, tau: float = DEFAULT.tau, deadline: float | None = None) -> MilpArrays:

    """Big-M lowering (see the module docstring), vectorised over rows; ``deadline``
    (:mod:`srmverify.deadline`) is checked between the stages.

    Examples
    --------
    >>> from srmverify.encode.program import Lin
    >>> p = Program(); x = p.var("x", -1, 2); b = p.var("b", binary=True)
    >>> p.add(Lin.var(x), "<", 1.5)
    >>> p.implies([(b, 1)], Lin.var(x), "<=", 0.5)          # M = max(x) - 0.5 = 1.5
    >>> m = lower(p)
    >>> m.row_hi.tolist(), m.value.tolist()
    ([1.499999, 2.0], [1.0, 1.0, 1.5])
    """
    lo, hi = np.array(p.lo, dtype=float), np.array(p.hi, dtype=float)
    # plain rows: lin <sense> 0  ->  row_lo <= coef x <= -const (minus tau if strict)
    row, idx, val, const = _flatten([r.lin for r in p.rows])
    strict = np.fromiter((r.sense == "<" for r in p.rows), dtype=bool, count=len(p.rows))
    eq = np.fromiter((r.sense == "==" for r in p.rows), dtype=bool, count=len(p.rows))
    r_hi = -const - tau * strict
    r_lo = np.where(eq, -const, -np.inf)
    check(deadline)
    # implications: each part (an "==" row is two "<=" parts) gets M = max of the row over the bounds
    parts, lits = [], []
    for imp in p.implications:
        if imp.row.sense == "==":
            parts += [(imp.row.lin, False), (imp.row.lin.scaled(-1), False)]
            lits += [imp.literals, imp.literals]
        else:
            parts.append((imp.row.lin, imp.row.sense == "<"))
            lits.append(imp.literals)
    check(deadline)
    prow, pidx, pval, pconst = _flatten([e for e, _ in parts])
    rhs = -pconst - tau * np.fromiter((s for _, s in parts), dtype=bool, count=len(parts))
    with np.errstate(invalid="ignore"):
        contrib = np.where(pval > 0, pval * hi[pidx], np.where(pval < 0, pval * lo[pidx], 0.0))
    big = np.bincount(prow, weights=contrib, minlength=len(parts)) - rhs
    keep = big > 0                      # otherwise the row holds everywhere in the bounds
    bad = np.flatnonzero(keep & ~np.isfinite(big))
    if len(bad):
        raise SolverError(f"cannot build a big-M row for {_part_name(p, int(bad[0]))}: "
                          "a variable in it has no finite bound")
    n_lit = np.fromiter((len(x) for x in lits), dtype=np.int64, count=len(lits))
    lrow = np.repeat(np.arange(len(lits)), n_lit)
    lvar = np.fromiter((v for x in lits for v, _ in x), dtype=np.int64, count=int(n_lit.sum()))
    lon = np.fromiter((val == 1 for x in lits for _, val in x), dtype=bool, count=int(n_lit.sum()))
    lval = np.where(lon, big[lrow], -big[lrow])
    n_on = np.bincount(lrow, weights=lon, minlength=len(parts))
    i_hi = rhs + big * n_on
    check(deadline)
    # one CSR: plain rows, the kept implication parts, then the blocks (duplicate entries
    # summed, zeros dropped)
    kept = np.flatnonzero(keep)
    renum = np.full(len(parts), -1)
    renum[kept] = len(p.rows) + np.arange(len(kept))
    brow, bidx, bval, b_lo, b_hi = _block_entries(p.blocks, len(p.rows) + len(kept))
    er = np.concatenate([row, renum[prow], renum[lrow], brow])
    ev = np.concatenate([idx, pidx, lvar, bidx])
    ex = np.concatenate([val, pval, lval, bval])
    sel = er >= 0
    er, ev, ex = er[sel], ev[sel], ex[sel]
    key, inv = np.unique(er * max(p.n_vars, 1) + ev, return_inverse=True)
    coef = np.bincount(inv.reshape(-1), weights=ex, minlength=len(key))
    nz = coef != 0
    key, coef = key[nz], coef[nz]
    n_rows = len(p.rows) + len(kept) + len(b_hi)
    starts = np.concatenate([[0], np.cumsum(np.bincount(key // max(p.n_vars, 1), minlength=n_rows))])
    cost = np.zeros(p.n_vars)
    c0 = 0.0
    if p.objective is not None:
        for k, v in p.objective.coef.items():
            cost[k] += float(v)
        c0 = float(p.objective.const)
    return MilpArrays(cost, c0, p.maximizing, lo, hi, np.array(p.binary, dtype=bool),
                      np.concatenate([r_lo, np.full(len(kept), -np.inf), b_lo]),
                      np.concatenate([r_hi, i_hi[kept], b_hi]),
                      starts.astype(np.int64), (key % max(p.n_vars, 1)).astype(np.int64), coef, tau)


def _block_entries(blocks: list, first_row: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                          np.ndarray]:
    """``(row, variable, coefficient, row lower bound, row upper bound)`` of the entries of
    blocks (coefficients rounded to floats) numbered from ``first_row``."""
    rows, idx, val = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    r_lo, r_hi = [np.zeros(0)], [np.zeros(0)]
    for b in blocks:
        rows.append(first_row + b.row)
        idx.append(b.col)
        val.append(np.asarray(b.val, dtype=float))
        rhs = np.asarray(b.rhs, dtype=float)
        r_lo.append(rhs if b.sense == "==" else np.full(len(rhs), -np.inf))
        r_hi.append(rhs)
        first_row += len(rhs)
    return (np.concatenate(rows), np.concatenate(idx), np.concatenate(val), np.concatenate(r_lo),
            np.concatenate(r_hi))


def _part_name(p: Program, part: int) -> str:
    """The name of the implication behind lowered part ``part`` (for error messages)."""
    k = 0
    for imp in p.implications:
        k += 2 if imp.row.sense == "==" else 1
        if k > part:
            return imp.row.name or "an implication"
    return "an implication"
