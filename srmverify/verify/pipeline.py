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
   within the tolerance) has its binary pattern solved exactly by z3 on the exact program (an
   LP): a real violation is ``sat``; a pattern with no exact violation is cut off and the MILP
   looks again (at most ``settings.max_cuts`` times, then ``unknown``); a point that cannot be
   explained is ``error``, never a silent ``sat``.

:func:`find_violation` runs these as small stages over one :class:`Search` state:
:func:`stage_falsify` (1), :func:`stage_branch_and_bound` (few-input ReLU networks), then
refinement rounds (:func:`run_round`: :func:`stage_encode`, :func:`stage_solve`, the exact
re-check, the tie repairs :func:`stage_slack` and :func:`stage_exact_pattern`).

Outputs that never fire are ``inf`` (``None`` exactly): ``c @ Y`` is ``+inf`` / ``-inf`` when
the infinite terms have one sign and undefined (the atom is false) when they have both.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Collection, Mapping, Sequence, cast

import numpy as np

from ..bounds import snn_time_bounds
from ..deadline import DeadlineExpired, check, deadline_after, expired, remaining
from ..encode.network import encode_network, input_vars
from ..encode.program import Lin, Number, Program, float_arithmetic
from ..encode.varmap import Indicator, VarMap
from ..errors import SolverError
from ..network import ReLUNet, SNN
from ..results import Counterexample, Progress, QueryResult, Verdict, no_progress
from ..simulate import simulate, simulate_exact, to_fraction
from ..solvers import check_engine, solve
from ..settings import DEFAULT, Settings
from ..solvers.registry import EXACT_ENGINES
from ..solvers.solution import Solution
from .bab import decide_dnf, maximize, maximize_relu, objective_net
from .bab_snn import SnnObjective
from .refine import refine

Net = SNN | ReLUNet
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

    @property
    def coef(self) -> np.ndarray:
        """``c`` of a linear atom (a silence atom has none)."""
        assert self.c is not None, "a silence atom has no coefficients"
        return self.c


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
    v = _lin_value(a.coef, Y)
    if a.d == np.inf:
        return not (isinstance(v, float) and (v != v or v == np.inf))
    if isinstance(v, float):
        return v == float("-inf")
    d = to_fraction(a.d)
    return v < d if a.strict else v <= d


def dnf_holds_exact(dnf: Sequence[Conj], Y: Sequence) -> bool:
    """Exact truth of the DNF at exact stacked outputs ``Y`` (``None`` = never fires)."""
    return any(all(atom_holds_exact(a, Y) for a in conj) for conj in dnf)


def dnf_holds_float(dnf: Sequence[Conj], Y: np.ndarray, slack: float = DEFAULT.screen_slack) -> np.ndarray:
    """Float screening of a batch (a superset is fine: candidates are re-checked exactly);
    ``slack`` is relative to ``|d|``."""
    out = np.zeros(len(Y), bool)
    for conj in dnf:
        ok = np.ones(len(Y), bool)
        for a in conj:
            if a.silent is not None:
                ok &= ~np.isfinite(Y[:, a.silent])
                continue
            with np.errstate(invalid="ignore"):
                v = np.where(a.coef != 0, a.coef * np.where(np.isfinite(Y), Y, 0.0), 0.0).sum(axis=1)
                pinf = ((a.coef > 0) & ~np.isfinite(Y)).any(axis=1)
                ninf = ((a.coef < 0) & ~np.isfinite(Y)).any(axis=1)
            ok &= np.where(pinf & ninf, False, np.where(ninf, True, np.where(pinf, False, v <= a.d + slack * (1 + abs(a.d)))))
        out |= ok
    return out


# ----------------------------------------------------------------------------- encoding
def encode_nets(nets: Sequence[Net], box: np.ndarray, constraint: InputConstraint | None = None,
                relu_method: str = "symbolic", deadline: float | None = None,
                first_crossing: Sequence[Mapping[int, Collection[int] | None] | None] | None = None,
                exact: bool = True) -> tuple[Program, list[int], list[VarMap]]:
    """All networks on shared data-space input variables bounded by ``box`` (raises
    ``DeadlineExpired`` once ``deadline`` passes, see :mod:`srmverify.deadline`).
    ``first_crossing``: per network, SNN neuron -> synapses whose first-crossing rows are written
    (``None`` = all; see :mod:`srmverify.verify.refine`); ``exact=False`` builds
    a float program for a MILP engine (:func:`~srmverify.encode.program.float_arithmetic`)."""
    crossings = list(first_crossing) if first_crossing is not None else [None] * len(nets)
    with nullcontext() if exact else float_arithmetic():
        p = Program()
        x = input_vars(p, box)
        if constraint is not None:
            constraint(p, x)
        maps = [encode_network(p, n, box, x, relu_method, name=f"n{i}", deadline=deadline, first_crossing=f)
                for i, (n, f) in enumerate(zip(nets, crossings))]
    return p, x, maps


def add_dnf(p: Program, maps: Sequence[VarMap], dnf: Sequence[Conj], margin: bool = False) -> bool:
    """Add "some conjunction holds" to ``p``; False if no conjunction can hold (trivially unsat).
    ``margin``: every row strict (a MILP then keeps a slack of ``tau``, so its point survives the
    exact re-check instead of sitting on a tie)."""
    outs = [v for m in maps for v in m.outputs]
    fires = [f for m in maps for f in m.output_fire]
    possible = []
    for conj in dnf:
        rows: list[tuple[list[tuple[Indicator, int]], Lin, str, float]] = []   # (literals-without-selector, lin, sense, rhs)
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
            coef: dict[int, Number] = {}
            trivially_true = False
            for k in np.flatnonzero(a.coef):
                ck, f = float(a.coef[k]), fires[k]
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
                y = outs[k]
                assert y is not None                # an output that may fire has its variable
                coef[y] = coef.get(y, 0.0) + ck
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


def sample_points(box: np.ndarray, rng: np.random.Generator, n: int = DEFAULT.n_samples,
                  entries: int = DEFAULT.sample_entries) -> np.ndarray:
    """Centre, corners (up to 2^10) and uniform random points of a box (``n`` random points, fewer
    for wide inputs: at most ``entries`` coordinates)."""
    d = box.shape[0]
    pts = [box.mean(axis=1)[None]]
    if d <= 10:
        bits = (np.arange(2 ** d)[:, None] >> np.arange(d)) & 1
        pts.append(np.where(bits == 1, box[:, 1], box[:, 0]))
    n = max(8, min(n, entries // d))
    pts.append(box[:, 0] + rng.random((n, d)) * (box[:, 1] - box[:, 0]))
    return np.vstack(pts)


def falsify_by_sampling(nets: Sequence[Net], box: np.ndarray, dnf: Sequence[Conj],
            admissible: Callable[[np.ndarray], np.ndarray] | None = None, deadline: float | None = None,
            rng: np.random.Generator | None = None,
            settings: Settings = DEFAULT) -> tuple[list, list[list[Fraction | None]]] | None:
    """Cheap counterexample search: the vectorised float simulator on :func:`sample_points` of the
    box (kept by ``admissible``), then the exact re-check of the first float hits. Returns
    ``(x, exact stacked outputs)`` of an exactly reproduced violation, or ``None``."""
    X = sample_points(box, rng if rng is not None else np.random.default_rng(0), settings.n_samples,
                      settings.sample_entries)
    if admissible is not None:
        X = X[admissible(X)]
    if not len(X):
        return None
    hits = np.flatnonzero(dnf_holds_float(dnf, stacked_float(nets, X), settings.screen_slack))
    for i in hits[:20]:
        check(deadline)
        Ys = stacked_exact(nets, X[i].tolist())
        if dnf_holds_exact(dnf, flatten(Ys)):
            return X[i].tolist(), Ys
    return None


def _bab_applies(nets: Sequence[Net], dnf: Sequence[Conj], max_inputs: int, box: np.ndarray) -> bool:
    atoms_ok = all(a.silent is None and np.isfinite(a.d) for conj in dnf for a in conj)
    if len(nets) == 1 and isinstance(nets[0], SNN):
        return atoms_ok and nets[0].n_inputs <= max_inputs and all(len(conj) == 1 for conj in dnf) and \
            _snn_atoms_decidable(nets[0], dnf, box)
    return all(isinstance(n, ReLUNet) and n.n_inputs <= max_inputs for n in nets) and atoms_ok and \
        (len(nets) == 1 or all(len(conj) == 1 for conj in dnf))     # conjunctions: one network (decide_dnf)


def _snn_atoms_decidable(net: SNN, dnf: Sequence[Conj], box: np.ndarray) -> bool:
    """An atom ``c @ Y <= d`` is decided by maximising ``-c @ Y`` over the inputs where its
    outputs fire when a silent output (``+inf``) can only make it false: every output with a
    negative coefficient surely fires on the box."""
    may_not = snn_time_bounds(net, box).outputs(net)[2]
    return all(not np.any(may_not & (np.asarray(a.c) < 0)) for conj in dnf for a in conj)


def violation_by_branch_and_bound(nets: Sequence[Net], box: np.ndarray, dnf: Sequence[Conj], engine: str,
                                  deadline: float | None, progress: Progress, stats: dict,
                                  settings: Settings = DEFAULT) -> tuple[list, list[list[Fraction | None]]] | str | None:
    """A DNF with a conjunction of several atoms, or of several conjunctions on one ReLU network, by
    one :func:`~srmverify.verify.bab.decide_dnf` search; otherwise each conjunction
    ``c @ Y <= d`` (``<`` if strict) as "is max ``-c @ Y`` over the box ``>= -d`` (``>``)?" by
    :func:`~srmverify.verify.bab.maximize_relu` (one SNN:
    :func:`~srmverify.verify.bab.maximize` of a :class:`~srmverify.verify.bab_snn.SnnObjective`,
    whose maximum is over the inputs where the atom's outputs fire) with that threshold.
    Returns ``(x, exact outputs)`` of an exactly re-checked violation, ``"unsat"`` when every
    proven upper bound rules its conjunction out (up to the MILP tolerance of the leaves), or
    ``None`` (undecided). ``stats`` gets ``bab_boxes`` and the largest attained value and proven
    upper bound of ``-c @ Y`` over the conjunctions tried (``bab_value``, ``bab_upper``)."""
    if any(len(conj) > 1 for conj in dnf) or \
            (len(nets) == 1 and len(dnf) > 1 and isinstance(nets[0], ReLUNet)):   # one search for the whole DNF
        dr = decide_dnf(cast(list[ReLUNet], list(nets)), box, [[(a.coef, a.d, a.strict) for a in conj] for conj in dnf],
                        lambda x: dnf_holds_exact(dnf, flatten(stacked_exact(nets, x.tolist()))), engine=engine,
                        timeout=remaining(deadline), progress=progress, settings=settings)
        stats["bab_boxes"] = stats.get("bab_boxes", 0) + dr.stats.get("boxes", 0)
        if dr.verdict == "sat" and dr.x is not None:
            return dr.x.tolist(), stacked_exact(nets, dr.x.tolist())
        return None if dr.verdict == "sat" else dr.verdict
    sizes = np.cumsum([0] + [n.n_outputs for n in nets])
    for conj in dnf:
        a = conj[0]
        coefs = [-a.coef[s:e] for s, e in zip(sizes[:-1], sizes[1:])]
        t = -float(a.d)
        if isinstance(nets[0], SNN):
            r = maximize(SnnObjective(nets[0], coefs[0], 0.0, settings), box, threshold=t, engine=engine,
                         timeout=remaining(deadline), progress=progress, settings=settings)
        else:
            r = maximize_relu(objective_net(cast(list[ReLUNet], list(nets)), coefs), box, threshold=t, engine=engine,
                              timeout=remaining(deadline), progress=progress, settings=settings)

        stats["bab_boxes"] = stats.get("bab_boxes", 0) + r.stats.get("boxes", 0)
        stats["bab_value"] = max(stats.get("bab_value", -np.inf), r.value)
        stats["bab_upper"] = max(stats.get("bab_upper", -np.inf), r.upper)
        if r.value >= t:
            Ys = stacked_exact(nets, r.x.tolist())
            if dnf_holds_exact(dnf, flatten(Ys)):
                return r.x.tolist(), Ys
        if r.upper > t:       # (a leaf that closes at upper == t proved "nothing reaches t")
            return None
    return "unsat"


def _pattern(p: Program, values: np.ndarray) -> dict[int, int]:
    """The binary assignment of a solver point."""
    return {i: int(round(values[i])) for i, b in enumerate(p.binary) if b}


def _fix(p: Program, pattern: dict[int, int]) -> Program:
    """``p`` with its binaries fixed to ``pattern`` and no objective: an LP."""
    q = p.copy()
    for i, v in pattern.items():
        q.lo[i] = q.hi[i] = float(v)
    q.objective = None
    return q


def _exclude(p: Program, pattern: dict[int, int]) -> None:
    """No-good cut: at least one binary differs from ``pattern``."""
    ones = [i for i, v in pattern.items() if v == 1]
    p.add(Lin({i: (-1.0 if v == 1 else 1.0) for i, v in pattern.items()}), ">=", 1.0 - len(ones), "no-good")


@dataclass
class Search:
    """The state of one :func:`find_violation` call, shared by its stages."""

    nets: Sequence[Net]
    box: np.ndarray
    dnf: Sequence[Conj]
    engine: str
    settings: Settings
    deadline: float | None
    progress: Progress
    constraint: InputConstraint | None
    project: Callable[[np.ndarray], np.ndarray] | None
    result: QueryResult
    admissible: Callable[[np.ndarray], np.ndarray] | None = None
    t0: float = field(default_factory=time.perf_counter)
    #: per network, SNN neuron -> synapses whose first-crossing rows are written (refine.py)
    first_crossing: list[dict[int, set[int] | None]] = field(default_factory=list)
    rounds: int = 0
    #: binary patterns proven (exactly) to hold no violation in this round
    cuts: list[dict[int, int]] = field(default_factory=list)

    @property
    def exact_engine(self) -> bool:
        return self.result.tolerance is None

    def left(self) -> float | None:
        return remaining(self.deadline, self.settings.min_time_slice)

    def finish(self, verdict: Verdict, found_by: str | None = None, **fields) -> QueryResult:
        """Set the verdict (and result fields) and the elapsed time."""
        res = self.result
        res.verdict = verdict
        if found_by is not None:
            res.stats["found_by"] = found_by
        for k, v in fields.items():
            setattr(res, k, v)
        res.time = time.perf_counter() - self.t0
        return res

    def sat(self, hit: tuple[list, list[list[Fraction | None]]], found_by: str, message: str = "") -> QueryResult:
        return self.finish(Verdict.SAT, found_by, counterexample=counterexample(self.nets, *hit), message=message)

    def timeout(self, where: str) -> QueryResult:
        return self.finish(Verdict.TIMEOUT, message=f"time limit reached {where}, without a proof")

    def recheck(self, sol: Solution, x: list[int]) -> tuple[list, list[list[Fraction | None]]] | None:
        """The solver point's input and exact outputs if it violates the property exactly."""
        if sol.exact is not None:
            pt = [sol.exact[i] for i in x]
        else:
            xf = np.clip(sol.point[x], self.box[:, 0], self.box[:, 1])
            pt = (self.project(xf) if self.project is not None else xf).tolist()
        Ys = stacked_exact(self.nets, pt)
        return (pt, Ys) if dnf_holds_exact(self.dnf, flatten(Ys)) else None

    def refine(self, maps: Sequence[VarMap], values: np.ndarray) -> bool:
        return refine(self.nets, maps, values, self.first_crossing, margin=self.settings.tau / 2)


@dataclass
class Round:
    """One refinement round's programs: without the property, with it, and (built when a tie
    needs it) the exact program with the property."""

    base: Program
    x: list[int]
    maps: list[VarMap]
    with_dnf: Program
    exact: tuple[Program, list[int], list[VarMap]] | None = None


#: What the tie repair asks of the round: look again after cutting a pattern off, or start
#: the next refinement round.
CUT, REFINED = "cut", "refined"


def stage_falsify(s: Search) -> QueryResult | None:
    """1. Falsification by sampling (a SAT result, or ``None``)."""
    s.progress(0, 3, "sampling")
    try:
        hit = falsify_by_sampling(s.nets, s.box, s.dnf, s.admissible, s.deadline, settings=s.settings)
    except DeadlineExpired:
        return s.timeout("while sampling")
    return s.sat(hit, "sampling") if hit is not None else None


def stage_branch_and_bound(s: Search) -> QueryResult | None:
    """2. Few inputs, ReLU networks or one SNN, one atom per conjunction: branch and bound decides (or
    ``None`` when it does not apply or leaves the question open)."""
    if s.exact_engine or s.constraint is not None or s.project is not None or \
            not _bab_applies(s.nets, s.dnf, s.settings.bab_max_inputs, s.box):
        return None
    try:
        found = violation_by_branch_and_bound(s.nets, s.box, s.dnf, s.engine, s.deadline, s.progress,
                                              s.result.stats, s.settings)
    except DeadlineExpired:
        found = None
    if found == "unsat":
        return s.finish(Verdict.UNSAT, "branch and bound",
                        message="every conjunction is out of reach: proven by branch and bound over input splits")
    if isinstance(found, tuple):
        return s.sat(found, "branch and bound")
    return s.timeout("in branch and bound") if expired(s.deadline) else None


def build(s: Search, exact: bool) -> tuple[Program, list[int], list[VarMap]]:
    """The networks' program for this round (first crossings relaxed until
    ``settings.max_refinements`` rounds have passed)."""
    crossings = s.first_crossing if s.rounds <= s.settings.max_refinements else None
    return encode_nets(s.nets, s.box, s.constraint, deadline=s.deadline, exact=exact, first_crossing=crossings)


def stage_encode(s: Search) -> Round | QueryResult:
    """3. The program of this round with the property (or UNSAT when the bounds already rule
    every conjunction out, TIMEOUT when the deadline passes while building)."""
    s.progress(1, 3, "encoding" if not s.rounds else f"encoding (refinement {s.rounds})")
    try:
        check(s.deadline)
        base, x, maps = build(s, s.exact_engine)
    except DeadlineExpired:
        return s.timeout("while building the program")
    s.result.stats.update(binaries=base.n_binaries, variables=base.n_vars, refinements=s.rounds,
                          relaxed_neurons=sum(len(m.relaxed) for m in maps),
                          rows=len(base.rows) + len(base.implications))
    with_dnf = base.copy()
    if not add_dnf(with_dnf, maps, s.dnf):
        return s.finish(Verdict.UNSAT, "bounds", message="no conjunction can hold on the box (decided by the bounds)")
    return Round(base, x, maps, with_dnf)


def stage_solve(s: Search, r: Round) -> Solution:
    """4. Solve the round's program minus the patterns cut off so far."""
    p = r.with_dnf.copy()
    for cut in s.cuts:
        _exclude(p, cut)
    s.progress(2, 3, f"solving ({p.n_binaries} binaries, {s.engine})")
    sol = solve(p, s.engine, s.left(), s.settings)
    s.result.stats["solver_time"] = s.result.stats.get("solver_time", 0.0) + sol.time
    s.result.stats["solver_status"] = sol.message or sol.status
    return sol


def verdict_without_point(s: Search, sol: Solution) -> QueryResult | None:
    """The verdict a solver status decides by itself (``None`` when there is a point to check)."""
    if sol.status == "infeasible":
        return s.finish(Verdict.UNSAT)
    if sol.status == "timeout":
        return s.finish(Verdict.TIMEOUT, message="time limit reached without a proof")
    if not sol.has_point:
        return s.finish(Verdict.UNKNOWN if sol.status != "error" else Verdict.ERROR, message=sol.message)
    return None


def stage_slack(s: Search, r: Round) -> QueryResult | str | None:
    """5a. Tie repair, cheap: a point with slack ``tau`` on every non-strict property row
    (SAT, :data:`REFINED`, or ``None``: no help)."""
    if not any(not a.strict and a.silent is None for conj in s.dnf for a in conj):
        return None
    q = r.base.copy()
    add_dnf(q, r.maps, s.dnf, margin=True)
    for cut in s.cuts:
        _exclude(q, cut)
    slack = solve(q, s.engine, s.left(), s.settings)
    hit = s.recheck(slack, r.x) if slack.has_point else None
    if hit is not None:
        return s.sat(hit, f"{s.engine} (slack {s.settings.tau:g})")
    if slack.has_point and s.refine(r.maps, slack.point):
        return REFINED
    return None


def stage_exact_pattern(s: Search, r: Round, sol: Solution) -> QueryResult | str:
    """5b. Tie repair, exact: the MILP point's binary pattern solved by z3 on the exact program
    gives a real violation (SAT), a spurious neuron (:data:`REFINED`) or a proof that the pattern
    holds none (:data:`CUT`: the MILP looks again, at most ``settings.max_cuts`` times)."""
    tau = s.settings.tau
    if r.exact is None:              # once per round (the cuts do not matter: the pattern is fixed)
        try:
            r.exact = build(s, True)
            add_dnf(r.exact[0], r.exact[2], s.dnf)
        except DeadlineExpired:
            return s.timeout("while re-checking the pattern exactly")
        if r.exact[0].names != r.with_dnf.names:
            raise SolverError("the exact and float programs differ in structure")
    exact_p, _, exact_maps = r.exact
    pattern = _pattern(r.with_dnf, sol.point)
    rep = solve(_fix(exact_p, pattern), "z3", s.left(), s.settings)
    s.result.stats["exact_pattern_checks"] = s.result.stats.get("exact_pattern_checks", 0) + 1
    if rep.exact is not None:
        hit = s.recheck(rep, r.x)
        if hit is not None:
            return s.sat(hit, f"{s.engine} + exact pattern (z3)",
                         message=f"the {s.engine} point was within the tolerance {tau:g} of a tie; "
                                 "an exact point with the same pattern was found by z3")
        if s.refine(exact_maps, rep.point):
            return REFINED
    elif rep.status == "infeasible":
        if len(s.cuts) < s.settings.max_cuts:
            s.cuts.append(pattern)
            return CUT
        return s.finish(Verdict.UNKNOWN, message=f"{len(s.cuts) + 1} binary patterns offered by {s.engine} held no "
                                                 f"exact violation (near-ties within the tolerance {tau:g}): "
                                                 "no proof and no counterexample")
    elif rep.status == "timeout":
        return s.finish(Verdict.TIMEOUT, message="time limit reached while re-checking a pattern exactly")
    return s.finish(Verdict.ERROR, message=f"the {s.engine} counterexample does not reproduce under exact "
                                           f"simulation (tolerance {tau:g}), and {len(s.cuts)} exact pattern "
                                           "checks found no exact one")


def run_round(s: Search) -> QueryResult | None:
    """One refinement round: encode, then solve / re-check / repair until a verdict
    (returned) or a refinement (``None``: the caller starts the next round)."""
    r = stage_encode(s)
    if isinstance(r, QueryResult):
        return r
    while True:
        sol = stage_solve(s, r)
        decided = verdict_without_point(s, sol)
        if decided is not None:
            return decided
        hit = s.recheck(sol, r.x)                 # exact re-check of the solver point
        if hit is not None:
            return s.sat(hit, s.engine)
        if s.refine(r.maps, sol.point):
            return None
        if s.exact_engine:
            return s.finish(Verdict.ERROR, message="an exact solver point does not reproduce (a bug: please report)")
        # a MILP point within the tolerance of a tie
        out = stage_slack(s, r)
        if out is None:
            out = stage_exact_pattern(s, r, sol)
        if isinstance(out, QueryResult):
            return out
        if out == REFINED:
            return None
        # CUT: the pattern is excluded; solve again


def find_violation(nets: Sequence[Net], box: np.ndarray, dnf: Sequence[Conj], *, query: str,
                   engine: str = "highs", timeout: float | None = None, progress: Progress = no_progress,
                   constraint: InputConstraint | None = None,
                   admissible: Callable[[np.ndarray], np.ndarray] | None = None,
                   project: Callable[[np.ndarray], np.ndarray] | None = None,
                   falsify: bool = True, settings: Settings = DEFAULT) -> QueryResult:
    """Search an input in ``box`` (and ``constraint``) making some conjunction true.

    ``admissible(X)`` filters sample points (e.g. inside an L1 ball) and ``project(x)`` maps a
    solver point back inside the input set before the exact re-check; ``falsify=False`` skips
    the sampling step (tests use it to exercise the solver path). The stages (module doc):
    :func:`stage_falsify`, :func:`stage_branch_and_bound`, then rounds of :func:`run_round`
    (:func:`stage_encode`, :func:`stage_solve`, the exact re-check, :func:`stage_slack`,
    :func:`stage_exact_pattern`) until a verdict.
    """
    check_engine(engine)
    tol = None if engine in EXACT_ENGINES else settings.tau
    s = Search(list(nets), box, dnf, engine, settings, deadline_after(timeout), progress, constraint, project,
               QueryResult(Verdict.UNKNOWN, query, engine, tolerance=tol), admissible=admissible,
               first_crossing=[{} for _ in nets])
    out = stage_falsify(s) if falsify else None
    if out is None:
        out = stage_branch_and_bound(s)
    while out is None:
        out = run_round(s)
        if out is None:
            s.rounds += 1
            s.cuts = []
    return out
