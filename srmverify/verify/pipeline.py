"""bounds -> encode -> solve -> decode -> exact re-check, shared by every query.

Properties are DNFs over the *stacked* decoded outputs ``Y`` of one or more networks evaluated on
the same input: a list of conjunctions, each a list of :class:`Atom` (``c @ Y <= d``, strict
``c @ Y < d``, or "output ``k`` never fires"). :func:`find_violation` looks for an input making
some conjunction true and returns a :class:`~srmverify.results.QueryResult`:

1. cheap falsification: float simulation on samples (centre, corners, random points); candidates
   are re-checked exactly;
2. one program (all networks on shared input variables + the DNF) solved by the engine, with
   the first-crossing constraints of mixed-sign SNN neurons relaxed and added back only for the
   neurons a spurious solver point exposes (:mod:`srmverify.verify.refine`): an infeasible
   program is a proof at every round;
3. a solver point is re-checked by exact simulation (:func:`srmverify.simulate.simulate_exact`,
   exact rational arithmetic on the property). A MILP point that does not reproduce (a near tie
   within the strict-row tolerance) is replaced by a MILP point with slack ``TAU`` on every
   property row, or *repaired* by z3 with the MILP's binaries fixed (an exact LP); if that fails
   too the verdict is ``error``, never a silent ``sat``.

Outputs that never fire are ``inf`` (``None`` exactly): ``c @ Y`` is ``+inf`` / ``-inf`` when
the infinite terms have one sign and undefined (the atom is false) when they have both.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Collection, Sequence

import numpy as np

from ..bounds.deadline import DeadlineExpired, check, deadline_after, remaining
from ..encode.network import encode_network, input_vars
from ..encode.program import Lin, Program, float_arithmetic
from ..encode.varmap import Indicator, VarMap
from ..network import ReLUNet, SNN
from ..results import Counterexample, Progress, QueryResult, Verdict, no_progress
from ..simulate import simulate, simulate_exact, to_fraction
from ..solvers import check_engine, solve
from ..solvers.bigm import TAU
from ..solvers.registry import EXACT_ENGINES
from ..solvers.solution import Solution
from .refine import MAX_REFINEMENTS, refine

Net = SNN | ReLUNet
#: Random samples tried before any solver is called (fewer for wide inputs: at most
#: ``SAMPLE_ENTRIES`` input coordinates in total).
N_SAMPLES = 256
SAMPLE_ENTRIES = 16384
#: Adds constraints on the input variables to a program (e.g. an L1 ball).
InputConstraint = Callable[[Program, list[int]], None]


@dataclass
class Atom:
    """``c @ Y <= d`` (``< d`` if ``strict``) over the stacked outputs, or, with ``silent = k``,
    "stacked output ``k`` never fires"."""

    c: np.ndarray | None = None
    d: float = 0.0
    strict: bool = False
    silent: int | None = None


Conj = list[Atom]


# ----------------------------------------------------------------------------- checks
def stacked_float(nets: Sequence[Net], X: np.ndarray) -> np.ndarray:
    """Float outputs of every network stacked, ``(batch, sum n_outputs)``; ``inf`` = never fires."""
    return np.hstack([simulate(n, X) for n in nets])


def stacked_exact(nets: Sequence[Net], x: Sequence) -> list[list[Fraction | None]]:
    return [simulate_exact(n, x) for n in nets]


def _lin_value(c: np.ndarray, Y: Sequence) -> Fraction | float:
    """Exact ``c @ Y`` with ``None`` = +inf; returns ``nan`` if undefined."""
    total, pos, neg = Fraction(0), False, False
    for ci, yi in zip(c.tolist(), Y):
        if ci == 0:
            continue
        if yi is None:
            pos, neg = pos or ci > 0, neg or ci < 0
        else:
            total += to_fraction(ci) * yi
    if pos and neg:
        return float("nan")
    return float("inf") if pos else float("-inf") if neg else total


def atom_holds_exact(a: Atom, Y: Sequence) -> bool:
    if a.silent is not None:
        return Y[a.silent] is None
    v = _lin_value(a.c, Y)
    if a.d == np.inf:
        return not (isinstance(v, float) and (v != v or v == np.inf))
    if isinstance(v, float):
        return v == float("-inf")
    d = to_fraction(a.d)
    return v < d if a.strict else v <= d


def dnf_holds_exact(dnf: Sequence[Conj], Y: Sequence) -> bool:
    """Exact truth of the DNF at exact stacked outputs ``Y`` (``None`` = never fires)."""
    return any(all(atom_holds_exact(a, Y) for a in conj) for conj in dnf)


def dnf_holds_float(dnf: Sequence[Conj], Y: np.ndarray) -> np.ndarray:
    """Float screening of a batch (a superset is fine: candidates are re-checked exactly)."""
    out = np.zeros(len(Y), bool)
    for conj in dnf:
        ok = np.ones(len(Y), bool)
        for a in conj:
            if a.silent is not None:
                ok &= ~np.isfinite(Y[:, a.silent])
                continue
            with np.errstate(invalid="ignore"):
                v = np.where(a.c != 0, a.c * np.where(np.isfinite(Y), Y, 0.0), 0.0).sum(axis=1)
                pinf = ((a.c > 0) & ~np.isfinite(Y)).any(axis=1)
                ninf = ((a.c < 0) & ~np.isfinite(Y)).any(axis=1)
            ok &= np.where(pinf & ninf, False, np.where(ninf, True, np.where(pinf, False, v <= a.d + 1e-9 * (1 + abs(a.d)))))
        out |= ok
    return out


# ----------------------------------------------------------------------------- encoding
def encode_nets(nets: Sequence[Net], box: np.ndarray, constraint: InputConstraint | None = None,
                relu_method: str = "symbolic", deadline: float | None = None,
                first_crossing: Sequence[Collection[int] | None] | None = None,
                exact: bool = True) -> tuple[Program, list[int], list[VarMap]]:
    """All networks on shared data-space input variables bounded by ``box`` (raises
    ``DeadlineExpired`` once ``deadline`` passes, see :mod:`srmverify.bounds.deadline`).
    ``first_crossing``: per network, the SNN neurons encoded with their first-crossing
    constraints (``None`` = all; see :mod:`srmverify.verify.refine`); ``exact=False`` builds
    a float program for a MILP engine (:func:`~srmverify.encode.program.float_arithmetic`)."""
    fc = list(first_crossing) if first_crossing is not None else [None] * len(nets)
    with nullcontext() if exact else float_arithmetic():
        p = Program()
        x = input_vars(p, box)
        if constraint is not None:
            constraint(p, x)
        maps = [encode_network(p, n, box, x, relu_method, name=f"n{i}", deadline=deadline, first_crossing=f)
                for i, (n, f) in enumerate(zip(nets, fc))]
    return p, x, maps


def add_dnf(p: Program, maps: Sequence[VarMap], dnf: Sequence[Conj], margin: bool = False) -> bool:
    """Add "some conjunction holds" to ``p``; False if no conjunction can hold (trivially unsat).
    ``margin``: every row strict (a MILP then keeps a slack of ``TAU``, so its point survives the
    exact re-check instead of sitting on a tie)."""
    outs = [v for m in maps for v in m.outputs]
    fires = [f for m in maps for f in m.output_fire]
    possible = []
    for conj in dnf:
        rows = []   # (literals-without-selector, lin, sense, rhs)
        ok = True
        for a in conj:
            if a.silent is not None:
                f = fires[a.silent]
                if f is True:
                    ok = False
                elif f is not False:
                    rows.append(([], Lin.var(f), "<=", 0.0))
                continue
            lits: list[tuple[Indicator, int]] = []
            coef: dict[int, float] = {}
            trivially_true = False
            for k in np.flatnonzero(a.c):
                ck, f = float(a.c[k]), fires[k]
                if f is False:                      # never fires: +inf (atom false) or -inf (true)
                    if ck > 0:
                        ok = False
                    else:
                        trivially_true = True
                    continue
                if f is not True:
                    if ck > 0:
                        rows.append(([], Lin.var(f), ">=", 1.0))
                    else:
                        lits.append((f, 1))
                coef[outs[k]] = coef.get(outs[k], 0.0) + ck
            if not ok:
                break
            if not trivially_true and np.isfinite(a.d):
                rows.append((lits, Lin(coef), "<" if a.strict or margin else "<=", float(a.d)))
        if ok:
            possible.append(rows)
    if not possible:
        return False
    if len(possible) == 1:
        for lits, lin, sense, rhs in possible[0]:
            p.implies([(f, v) for f, v in lits], lin, sense, rhs, "prop")
        return True
    sel = [p.var(f"prop.s{i}", binary=True) for i in range(len(possible))]
    p.add(Lin({s: 1.0 for s in sel}), ">=", 1.0, "prop.any")
    for s, rows in zip(sel, possible):
        for lits, lin, sense, rhs in rows:
            p.implies([(s, 1)] + [(f, v) for f, v in lits], lin, sense, rhs, "prop")
    return True


# ----------------------------------------------------------------------------- results
def counterexample(nets: Sequence[Net], x: Sequence, Ys: list[list[Fraction | None]]) -> Counterexample:
    xs = [to_fraction(v) for v in x]
    fl = lambda q: None if q is None else float(q)  # noqa: E731
    return Counterexample(input=[float(v) for v in xs], output=[fl(q) for q in Ys[0]],
                          outputs=[[fl(q) for q in Y] for Y in Ys], exact_input=[str(v) for v in xs],
                          exact_output=[str(q) if q is not None else "inf" for q in Ys[0]])


def flatten(Ys: list[list]) -> list:
    return [q for Y in Ys for q in Y]


def sample_points(box: np.ndarray, rng: np.random.Generator, n: int = N_SAMPLES) -> np.ndarray:
    """Centre, corners (up to 2^10) and uniform random points of a box."""
    d = box.shape[0]
    pts = [box.mean(axis=1)[None]]
    if d <= 10:
        bits = (np.arange(2 ** d)[:, None] >> np.arange(d)) & 1
        pts.append(np.where(bits == 1, box[:, 1], box[:, 0]))
    n = max(8, min(n, SAMPLE_ENTRIES // d))
    pts.append(box[:, 0] + rng.random((n, d)) * (box[:, 1] - box[:, 0]))
    return np.vstack(pts)


def falsify_by_sampling(nets: Sequence[Net], box: np.ndarray, dnf: Sequence[Conj],
            admissible: Callable[[np.ndarray], np.ndarray] | None = None, deadline: float | None = None,
            rng: np.random.Generator | None = None) -> tuple[list, list[list[Fraction | None]]] | None:
    """Cheap counterexample search: the vectorised float simulator on :func:`sample_points` of the
    box (kept by ``admissible``), then the exact re-check of the first float hits. Returns
    ``(x, exact stacked outputs)`` of an exactly reproduced violation, or ``None``."""
    X = sample_points(box, rng if rng is not None else np.random.default_rng(0))
    if admissible is not None:
        X = X[admissible(X)]
    if not len(X):
        return None
    hits = np.flatnonzero(dnf_holds_float(dnf, stacked_float(nets, X)))
    for i in hits[:20]:
        check(deadline)
        Ys = stacked_exact(nets, X[i].tolist())
        if dnf_holds_exact(dnf, flatten(Ys)):
            return X[i].tolist(), Ys
    return None


def _repair(p: Program, sol: Solution, x: list[int], timeout: float | None) -> Solution:
    """z3 on ``p`` with the MILP point's binaries fixed: an exact LP near the MILP point."""
    q = p.copy()
    for i, b in enumerate(q.binary):
        if b:
            q.lo[i] = q.hi[i] = float(round(sol.values[i]))
    q.objective = None
    return solve(q, "z3", timeout)


def find_violation(nets: Sequence[Net], box: np.ndarray, dnf: Sequence[Conj], *, query: str,
                   engine: str = "highs", timeout: float | None = None, progress: Progress = no_progress,
                   constraint: InputConstraint | None = None,
                   admissible: Callable[[np.ndarray], np.ndarray] | None = None,
                   project: Callable[[np.ndarray], np.ndarray] | None = None,
                   falsify: bool = True) -> QueryResult:
    """Search an input in ``box`` (and ``constraint``) making some conjunction true.

    ``admissible(X)`` filters sample points (e.g. inside an L1 ball) and ``project(x)`` maps a
    solver point back inside the input set before the exact re-check; ``falsify=False`` skips
    the sampling step (tests use it to exercise the solver path).
    """
    check_engine(engine)
    t0 = time.perf_counter()
    tol = None if engine in EXACT_ENGINES else TAU
    res = QueryResult(Verdict.UNKNOWN, query, engine, tolerance=tol)

    def done(verdict: Verdict, **kw) -> QueryResult:
        res.verdict = verdict
        for k, v in kw.items():
            setattr(res, k, v)
        res.time = time.perf_counter() - t0
        return res

    deadline = deadline_after(timeout)

    def left() -> float | None:
        return remaining(deadline)

    def recheck(sol: Solution) -> tuple[list, list[list[Fraction | None]]] | None:
        """The solver point's input and exact outputs if it violates the property exactly."""
        if sol.exact is not None:
            pt = [sol.exact[i] for i in x]
        else:
            xf = np.clip(sol.values[x], box[:, 0], box[:, 1])
            pt = (project(xf) if project is not None else xf).tolist()
        Ys = stacked_exact(nets, pt)
        return (pt, Ys) if dnf_holds_exact(dnf, flatten(Ys)) else None

    stage = "sampling"
    try:
        # 1. falsification by sampling
        progress(0, 3, "sampling")
        hit = falsify_by_sampling(nets, box, dnf, admissible, deadline) if falsify else None
        if hit is not None:
            res.stats["found_by"] = "sampling"
            return done(Verdict.SAT, counterexample=counterexample(nets, *hit))
    except DeadlineExpired:
        return done(Verdict.TIMEOUT, message=f"time limit reached while {stage}, without a proof")
    # 2. the program, first with relaxed first crossings, refined on spurious points (refine.py)
    fc: list[set[int]] = [set() for _ in nets]
    rounds = 0
    while True:
        try:
            progress(1, 3, "encoding" if not rounds else f"encoding (refinement {rounds})")
            stage = "building the program"
            check(deadline)
            base, x, maps = encode_nets(nets, box, constraint, deadline=deadline,
                                        first_crossing=fc if rounds <= MAX_REFINEMENTS else None,
                                        exact=tol is None)
        except DeadlineExpired:
            return done(Verdict.TIMEOUT, message=f"time limit reached while {stage}, without a proof")
        res.stats.update(binaries=base.n_binaries, variables=base.n_vars, refinements=rounds,
                         relaxed_neurons=sum(len(m.relaxed) for m in maps),
                         rows=len(base.rows) + len(base.implications))
        p = base.copy()
        if not add_dnf(p, maps, dnf):
            res.stats["found_by"] = "bounds"
            return done(Verdict.UNSAT, message="no conjunction can hold on the box (decided by the bounds)")
        progress(2, 3, f"solving ({p.n_binaries} binaries, {engine})")
        sol = solve(p, engine, left())
        res.stats["solver_time"] = res.stats.get("solver_time", 0.0) + sol.time
        res.stats["solver_status"] = sol.message or sol.status
        if sol.status == "infeasible":
            return done(Verdict.UNSAT)
        if sol.status in ("timeout",):
            return done(Verdict.TIMEOUT, message="time limit reached without a proof")
        if not sol.has_point:
            return done(Verdict.UNKNOWN if sol.status != "error" else Verdict.ERROR, message=sol.message)
        # 3. exact re-check
        hit = recheck(sol)
        if hit is not None:
            res.stats["found_by"] = engine
            return done(Verdict.SAT, counterexample=counterexample(nets, *hit))
        if not refine(nets, maps, sol.values, fc):
            break
        rounds += 1
    # the point sits within the tolerance of a tie: a MILP looks for a violation with slack TAU
    # (every row strict), then z3 repairs the point with the MILP's binaries fixed
    if tol is not None and any(not a.strict and a.silent is None for conj in dnf for a in conj):
        q = base.copy()
        add_dnf(q, maps, dnf, margin=True)
        slack = solve(q, engine, left())
        hit = recheck(slack) if slack.has_point else None
        if hit is not None:
            res.stats["found_by"] = f"{engine} (slack {TAU:g})"
            return done(Verdict.SAT, counterexample=counterexample(nets, *hit))
    if sol.exact is None:
        rep = _repair(p, sol, x, left())
        hit = recheck(rep) if rep.exact is not None else None
        if hit is not None:
            res.stats["found_by"] = f"{engine}+z3 repair"
            return done(Verdict.SAT, counterexample=counterexample(nets, *hit),
                        message=f"the {engine} point was within the tolerance {TAU:g} of a tie; "
                                "an exact point with the same pattern was found by z3")
    return done(Verdict.ERROR, message=f"the {engine} counterexample does not reproduce under exact simulation "
                                       f"(tolerance {TAU:g}); no exact counterexample found near it")
