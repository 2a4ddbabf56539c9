"""z3 (linear real arithmetic over exact rationals): the exact backend.

Constants are built with ``RealVal(Fraction(x))`` (the exact value of the float), strict rows
stay strict, implications become ``Implies``, and so does a row with one binary ``b``
(``If(b, row at b = 1, row at b = 0)``: z3 case-splits on the Boolean instead of carrying an
``If`` term in the arithmetic, several times faster on big-M style rows). Every finite variable bound is asserted: derived
bounds are sound (widened outward, see :mod:`srmverify.bounds`) and the encodings' static
decisions rely on them anyway. Binaries are Booleans. With an objective, ``Optimize`` is used (slow
beyond tiny programs; z3 is best as a feasibility checker).
"""
from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from ..deadline import check, deadline_after, remaining
from ..settings import DEFAULT, Settings
from ..encode.program import Lin, Program, Row
from ..errors import SolverUnavailable
from .solution import Solution

try:
    import z3
except ImportError:  # pragma: no cover - declared dependency
    z3 = None

#: z3 check result -> our status (``unknown`` is refined by ``reason_unknown()``).
STATUS_MAP = {"sat": "optimal", "unsat": "infeasible", "unknown": "unknown"}


def _q(x) -> "z3.ArithRef":
    return z3.RealVal(x if type(x) in (int, Fraction) else Fraction(float(x)))


class _Lowered:
    def __init__(self, p: Program, deadline: float | None = None):
        self.vars = []
        for i, b in enumerate(p.binary):
            if i % 1024 == 0:
                check(deadline)
            self.vars.append(z3.Bool(f"b{i}") if b else z3.Real(f"x{i}"))
        self.p = p
        self.cons = []
        for i, (lo, hi, b) in enumerate(zip(p.lo, p.hi, p.binary)):
            check(deadline)
            if b:
                if lo > 0:
                    self.cons.append(self.vars[i])
                if hi < 1:
                    self.cons.append(z3.Not(self.vars[i]))
            else:
                if np.isfinite(lo):
                    self.cons.append(self.vars[i] >= _q(lo))
                if np.isfinite(hi):
                    self.cons.append(self.vars[i] <= _q(hi))
        for r in p.rows:
            check(deadline)
            self.cons.append(self.row(r))
        for blk in p.blocks:
            check(deadline)
            sums: list[list] = [[_q(0)] for _ in blk.rhs]
            for r, v, a in zip(blk.row.tolist(), blk.col.tolist(), blk.val.tolist()):
                sums[r].append(_q(a) * self.term(v))
            for terms, r in zip(sums, blk.rhs.tolist()):
                e = z3.Sum(terms)
                self.cons.append(e == _q(r) if blk.sense == "==" else e <= _q(r))
        for imp in p.implications:
            check(deadline)
            lits = [self.vars[v] if val else z3.Not(self.vars[v]) for v, val in imp.literals]
            self.cons.append(z3.Implies(z3.And(*lits) if len(lits) > 1 else lits[0], self.row(imp.row)))

    def term(self, v: int):
        return z3.If(self.vars[v], z3.RealVal(1), z3.RealVal(0)) if self.p.binary[v] else self.vars[v]

    def expr(self, lin: Lin):
        terms = [_q(c) * self.term(v) for v, c in lin.coef.items() if c != 0.0]
        return z3.Sum(terms + [_q(lin.const)]) if terms else _q(lin.const)

    def row(self, r: Row):
        binaries = [v for v, c in r.lin.coef.items() if c != 0.0 and self.p.binary[v]]
        if len(binaries) == 1:
            (b,) = binaries
            rest = Lin._raw({v: c for v, c in r.lin.coef.items() if v != b}, r.lin.const)
            on = Lin._raw(dict(rest.coef), rest.const + r.lin.coef[b])
            return z3.If(self.vars[b], self._compare(self.expr(on), r.sense), self._compare(self.expr(rest), r.sense))
        return self._compare(self.expr(r.lin), r.sense)

    @staticmethod
    def _compare(e, sense: str):
        return e == 0 if sense == "==" else (e < 0 if sense == "<" else e <= 0)

    def value(self, model, v: int) -> Fraction:
        val = model.eval(self.vars[v], model_completion=True)
        if self.p.binary[v]:
            return Fraction(int(z3.is_true(val)))
        if z3.is_algebraic_value(val):  # pragma: no cover - linear arithmetic gives rationals
            val = val.approx(30)
        return Fraction(val.numerator_as_long(), val.denominator_as_long())


def _optimum(handle, maximizing: bool) -> float | None:
    """The proven optimum of an ``Optimize`` objective: its supremum (infimum), which is NOT the
    model's value when a strict row makes the optimum unattained (z3 then reports ``a - b*epsilon``
    and returns some model below it). The rational part ``a`` is the sound bound.

    Examples
    --------
    >>> import z3
    >>> o = z3.Optimize(); x = z3.Real("x"); o.add(x < 1); h = o.maximize(x)
    >>> o.check() == z3.sat and _optimum(h, True)
    1.0
    """
    inf_coef, rational, _eps = (handle.upper_values() if maximizing else handle.lower_values())
    if not (z3.is_arith(inf_coef) and z3.is_const(inf_coef) and Fraction(inf_coef.as_string()) == 0):
        return float("inf") if maximizing else float("-inf")
    return float(Fraction(rational.as_string()))


def solve(p: Program, timeout: float | None = None, settings: Settings = DEFAULT) -> Solution:
    """Solve ``p`` exactly (rational arithmetic; of ``settings`` only the time slice applies)."""
    if z3 is None:  # pragma: no cover
        raise SolverUnavailable("z3-solver is not installed")
    t0 = time.perf_counter()
    deadline = deadline_after(timeout)
    low = _Lowered(p, deadline)
    s = z3.Optimize() if p.objective is not None else z3.Solver()
    if deadline is not None:        # set exactly when a timeout is given
        s.set("timeout", max(1, int(remaining(deadline, settings.min_time_slice) * 1000)))

    s.add(*low.cons)
    handle = None
    if p.objective is not None:
        obj = low.expr(p.objective)
        handle = s.maximize(obj) if p.maximizing else s.minimize(obj)
    res = s.check()
    status = STATUS_MAP.get(str(res), "unknown")
    msg = ""
    if res == z3.unknown:
        msg = s.reason_unknown()
        status = "timeout" if msg in ("timeout", "canceled") else "unknown"
    sol = Solution(status, "z3", tolerance=None, message=msg)
    if res == z3.sat:
        m = s.model()
        exact = [low.value(m, v) for v in range(p.n_vars)]
        sol.exact = exact
        sol.values = np.array([float(q) for q in exact])
        if p.objective is not None:
            ov = m.eval(low.expr(p.objective), model_completion=True)
            sol.objective = float(Fraction(ov.numerator_as_long(), ov.denominator_as_long())) if z3.is_rational_value(ov) else None
            sol.bound = _optimum(handle, p.maximizing)
    sol.time = time.perf_counter() - t0
    sol.stats = {"binaries": p.n_binaries, "rows": len(p.rows) + len(p.implications) + sum(len(b.rhs) for b in p.blocks),
                 "vars": p.n_vars}
    return sol
