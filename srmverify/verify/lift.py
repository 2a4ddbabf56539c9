"""Properties of SNNs decided on an exact ReLU lift: reduce, decide, map back (model.md §4).

A continuous piecewise-linear SNN (positive weights, or neurons proven to fire after all their
inputs, as in every network made by ``srmverify convert``) equals a ReLU network on a box:
:func:`srmverify.convert.convert_snn_to_relu` builds it from exactly composed rationals, rounds the
weights to float64 and returns a sound bound ``Δ_j`` of ``|lift_j(x) − snn_j(x)|`` on the box.
A DNF over the stacked outputs of one or several networks (a property of one SNN, the
equivalence of an SNN and a ReLU network) is then decided by ONE ReLU branch and bound
(:func:`~srmverify.verify.bab.decide_dnf`) on the lifts (a ReLU network is its own lift,
``Δ = 0``), and the answer is mapped back:

* every atom ``c @ Y <= d`` with ``s = Σ_j |c_j| Δ_j > 0`` is loosened to ``c @ Y <= d + s``
  (non-strict), so the lifts satisfy the loosened atom wherever the networks satisfy the
  original one: an ``unsat`` on the lifts (a closed branch and bound, leaf MILPs at tolerance
  ``settings.tau``) is an ``unsat`` of the networks; atoms with ``s = 0`` are kept as they are;
* a ``sat`` point of the lifts (sampling, then the search's candidates) is accepted only after
  every network is evaluated exactly there (:func:`~srmverify.simulate.simulate_exact`: exact
  rational SNN simulation) and the original DNF holds; a rejected point lets the search go on.
  Before that exact simulation the lifts are evaluated exactly: a candidate where they miss the
  loosened atoms is rejected (the networks cannot meet the original ones there), and a candidate
  that meets the loosened but not the *tightened* atoms (``c @ Y <= d − s``: there the lift
  proves the original atom) lies within the deviation of a boundary -- it is first moved inside
  by gradient steps on the lifts (:func:`~srmverify.verify.attack.pgd` on the tightened atoms),
  so that the one exact simulation is spent on a point that holds.

An SNN that cannot be lifted (mixed weights without the proof, discontinuous, too many pieces)
gives ``None``: the caller keeps its own route. The lift honours the query's deadline.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Sequence

import numpy as np

from ..convert.snn_to_relu import convert_snn_to_relu
from ..deadline import remaining
from ..errors import DeadlineExpired, UnsupportedNetwork
from ..network import ReLUNet, SNN
from ..results import Progress, QueryResult, Verdict, no_progress
from ..settings import DEFAULT, Settings
from ..simulate import relu_exact
from .attack import pgd
from .bab import decide_dnf, objective_net
from .pipeline import Atom, Conj, Net, counterexample, dnf_holds_exact, falsify_by_sampling, flatten, stacked_exact


def liftable_query(net: Net, dnf: Sequence[Conj], settings: Settings = DEFAULT) -> bool:
    """Few inputs (input splitting applies) and only finite linear atoms (no "never fires")."""
    return net.n_inputs <= settings.bab_max_inputs and \
        all(a.silent is None and a.c is not None and np.isfinite(a.d) for conj in dnf for a in conj)


def _shifted(dnf: Sequence[Conj], deviation: np.ndarray, sign: float) -> list[Conj]:
    """Every atom moved by ``sign * |c| @ deviation`` (made non-strict when loosened by a positive
    amount; an atom with no deviation is kept)."""
    out = []
    for conj in dnf:
        atoms = []
        for a in conj:
            c = np.asarray(a.c, dtype=float)
            slack = float(np.abs(c) @ deviation) * (1 + 1e-12)
            if slack == 0:
                atoms.append(Atom(c, float(a.d), a.strict))
            else:
                atoms.append(Atom(c, float(a.d) + sign * slack, a.strict if sign < 0 else False))
        out.append(atoms)
    return out


def loosened(dnf: Sequence[Conj], deviation: np.ndarray) -> list[Conj]:
    """The atoms ``c @ Y <= d + |c| @ deviation`` (non-strict): they hold on the lifts wherever the
    original atoms hold on the networks.

    >>> [[a]] = loosened([[Atom(np.array([1.0, -2.0]), 0.5, True)]], np.array([0.25, 0.125]))
    >>> a.c.tolist(), round(a.d, 9), a.strict
    ([1.0, -2.0], 1.0, False)
    >>> [[a]] = loosened([[Atom(np.array([1.0, 0.0]), 0.5, True)]], np.array([0.0, 0.125]))
    >>> round(a.d, 9), a.strict                       # no deviation on its outputs: unchanged
    (0.5, True)
    """
    return _shifted(dnf, deviation, 1.0)


def tightened(dnf: Sequence[Conj], deviation: np.ndarray) -> list[Conj]:
    """The atoms ``c @ Y <= d - |c| @ deviation``: where the lifts satisfy them (exactly), the
    networks satisfy the original atoms.

    >>> [[a]] = tightened([[Atom(np.array([1.0, -2.0]), 0.5, True)]], np.array([0.25, 0.125]))
    >>> round(a.d, 9) + 0.0, a.strict
    (0.0, True)
    """
    return _shifted(dnf, deviation, -1.0)


@dataclass
class Lifts:
    """ReLU networks equal (up to ``deviation``) to given networks on a box."""

    nets: list[ReLUNet]
    #: per stacked output, a sound bound of ``|lift(x) - net(x)|`` on the box (0 for a ReLU network)
    deviation: np.ndarray
    widths: list[list[int]]


def lift_all(nets: Sequence[Net], box: np.ndarray, deadline: float | None = None) -> Lifts | None:
    """The lift of every SNN of ``nets`` on ``box`` (a ReLU network is kept as it is), or ``None``
    when one cannot be lifted. A lift exists only where every neuron of the SNN fires on the whole
    box (:func:`~srmverify.convert.convert_snn_to_relu` refuses otherwise), so "never fires" atoms
    are false for a lifted SNN. Raises :class:`~srmverify.errors.DeadlineExpired` at the deadline.

    >>> from srmverify.convert import convert_relu_to_snn
    >>> relu = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])      # |x|
    >>> snn, _ = convert_relu_to_snn(relu, np.array([[-1.0, 2.0]]))
    >>> L = lift_all([snn, relu], np.array([[-1.0, 2.0]]))
    >>> L.widths[1], float(L.deviation[1]), 0 < float(L.deviation[0]) < 1e-9
    ([1, 2, 1], 0.0, True)
    """
    lifts, devs, widths = [], [], []
    for net in nets:
        if isinstance(net, ReLUNet):
            lifts.append(net)
            devs.append(np.zeros(net.n_outputs))
        else:
            try:
                relu, rep = convert_snn_to_relu(net, box, samples=0, deadline=deadline)
            except UnsupportedNetwork:
                return None
            lifts.append(relu)
            devs.append(np.asarray(rep.deviation_bound, dtype=float))
        widths.append(lifts[-1].widths)
    return Lifts(lifts, np.concatenate(devs), widths)


@dataclass
class LiftedDecision:
    """``verdict``: ``"sat"`` (``x`` with the networks' exact outputs ``Ys``, re-checked),
    ``"unsat"`` (proven on the lifts) or ``None`` (open: time limit or unresolved boxes)."""

    verdict: str | None
    x: list | None = None
    Ys: list[list[Fraction | None]] | None = None
    found_by: str = ""
    stats: dict = field(default_factory=dict)


def decide_lifted(nets: Sequence[Net], lifts: Lifts, box: np.ndarray, dnf: Sequence[Conj], *,
                  engine: str = "highs", deadline: float | None = None, progress: Progress = no_progress,
                  settings: Settings = DEFAULT) -> LiftedDecision:
    """Is there an ``x`` in ``box`` where some conjunction of ``dnf`` (finite linear atoms over the
    stacked outputs of ``nets``) holds? Decided on ``lifts`` (module doc): sampling with the
    tightened atoms, then one :func:`~srmverify.verify.bab.decide_dnf` of the loosened atoms whose
    candidates are moved inside the tightened atoms and re-checked exactly on ``nets``.

    >>> from srmverify.convert import convert_relu_to_snn
    >>> relu = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])      # |x|
    >>> box = np.array([[-1.0, 2.0]])
    >>> snn, _ = convert_relu_to_snn(relu, box)
    >>> L = lift_all([snn], box)
    >>> decide_lifted([snn], L, box, [[Atom(np.array([-1.0]), -2.5)]]).verdict    # |x| >= 2.5 ?
    'unsat'
    >>> r = decide_lifted([snn], L, box, [[Atom(np.array([-1.0]), -1.5)]])         # |x| >= 1.5 ?
    >>> r.verdict, r.Ys[0][0] >= 1.5
    ('sat', True)
    """
    loose = loosened(dnf, lifts.deviation)
    tight = tightened(dnf, lifts.deviation)
    exact_lifts = all(isinstance(n, ReLUNet) for n in nets)     # the lifts are the networks
    found: list[tuple[list, list]] = []
    sizes = np.cumsum([0] + [n.n_outputs for n in lifts.nets])
    push_net: list[ReLUNet] = []
    conjs, start = [], 0
    for conj in tight:
        conjs.append(list(range(start, start + len(conj))))
        start += len(conj)

    def lift_values(x: list) -> list:
        return flatten([relu_exact(n, x) for n in lifts.nets])

    def push(x: np.ndarray) -> np.ndarray:
        """Gradient steps on the lifts towards the inside of the tightened atoms (from ``x`` and
        from points around it); the best point whose tightened atoms hold exactly, else ``x``."""
        if not push_net:
            atoms = [a for conj in tight for a in conj]
            C = np.array([a.coef for a in atoms])
            push_net.append(objective_net(lifts.nets, [C[:, s:e] for s, e in zip(sizes[:-1], sizes[1:])],
                                          -np.array([a.d for a in atoms])))
        width = box[:, 1] - box[:, 0]
        rng = np.random.default_rng(len(found))
        starts = np.vstack([x, np.clip(x + rng.normal(0, 1e-3, (15, len(x))) * width, box[:, 0], box[:, 1])])
        radius = 1e-2 * width
        P, g = pgd(push_net[0], starts, np.maximum(box[:, 0], x - radius), np.minimum(box[:, 1], x + radius), conjs)
        for i in np.argsort(g)[:3]:
            if dnf_holds_exact(tight, lift_values(P[i].tolist())):
                return P[i]
        return x

    def accept(x: np.ndarray) -> bool:
        if not exact_lifts:
            Yl = lift_values(x.tolist())
            if not dnf_holds_exact(loose, Yl):
                return False                  # the networks cannot meet the original atoms here
            if not dnf_holds_exact(tight, Yl):
                x = push(x)                   # within the deviation of a boundary: move inside first
        Ys = stacked_exact(nets, x.tolist())
        if dnf_holds_exact(dnf, flatten(Ys)):
            found.append((x.tolist(), Ys))
            return True
        return False

    try:      # sampling on the lifts first (as for ReLU networks), every hit re-checked on the networks
        hit = falsify_by_sampling(lifts.nets, box, tight, deadline=deadline, settings=settings)
    except DeadlineExpired:
        return LiftedDecision(None, stats={"stop": "timeout"})
    if hit is not None and accept(np.asarray(hit[0], dtype=float)):
        return LiftedDecision("sat", *found[0], found_by="sampling")
    dr = decide_dnf(lifts.nets, box, [[(a.coef, a.d, a.strict) for a in conj] for conj in loose], accept,
                    engine=engine, timeout=remaining(deadline), progress=progress, settings=settings)
    if dr.verdict == "sat" and found:
        return LiftedDecision("sat", *found[0], found_by="branch and bound", stats=dr.stats)
    return LiftedDecision(dr.verdict if dr.verdict == "unsat" else None, stats=dr.stats)


def check_lifted(snn: SNN, boxes: Sequence[np.ndarray], dnf: Sequence[Conj], *, engine: str = "highs",
                 deadline: float | None = None, progress: Progress = no_progress,
                 settings: Settings = DEFAULT) -> QueryResult | None:
    """VNN-LIB semantics (some box, some conjunction) for an SNN through its lift on each box;
    ``None`` when the SNN cannot be lifted on a box (the caller falls back); ``timeout`` when
    the deadline passes, during the lift too.

    Examples
    --------
    >>> from srmverify.convert import convert_relu_to_snn
    >>> relu = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])      # |x|
    >>> box = np.array([[-1.0, 2.0]])
    >>> snn, _ = convert_relu_to_snn(relu, box)
    >>> check_lifted(snn, [box], [[Atom(np.array([-1.0]), -2.5)]]).verdict.value   # |x| >= 2.5 ?
    'unsat'
    >>> r = check_lifted(snn, [box], [[Atom(np.array([-1.0]), -1.5)]])            # |x| >= 1.5 ?
    >>> r.verdict.value, r.counterexample.output[0] >= 1.5
    ('sat', True)
    """
    t0 = time.perf_counter()
    deviations: list[float] = []
    sizes: list[list[int]] = []

    def result(verdict: Verdict, done: int, message: str) -> QueryResult:
        res = QueryResult(verdict, "property", engine, time.perf_counter() - t0, tolerance=settings.tau,
                          message=message)
        res.stats["found_by"] = "branch and bound on the ReLU lift"
        res.details.update(route="relu lift", lift_widths=sizes, lift_deviation_bound=max(deviations, default=0.0),
                           boxes=len(boxes), boxes_closed=done)
        return res

    for i, box in enumerate(boxes):
        try:
            lifts = lift_all([snn], box, deadline)
        except DeadlineExpired:
            return result(Verdict.TIMEOUT, i, "time limit reached while lifting the SNN to a ReLU network")
        if lifts is None:
            return None
        deviations.append(float(lifts.deviation.max()))
        sizes.append(lifts.widths[0])
        out = decide_lifted([snn], lifts, box, dnf, engine=engine, deadline=deadline, progress=progress,
                            settings=settings)
        if out.verdict == "sat":
            assert out.x is not None and out.Ys is not None     # a sat comes with its exact outputs
            res = result(Verdict.SAT, i, "counterexample of the ReLU lift, re-checked by exact SNN simulation")
            res.counterexample = counterexample([snn], out.x, out.Ys)
            res.stats["found_by"] = f"{out.found_by} on the ReLU lift (re-checked on the SNN)"
            return res
        if out.verdict != "unsat":
            timed_out = deadline is not None and time.perf_counter() >= deadline
            return result(Verdict.TIMEOUT if timed_out else Verdict.UNKNOWN, i,
                          "branch and bound on the lift left the question open")
    return result(Verdict.UNSAT, len(boxes),
                  "proven on the exact ReLU lift by branch and bound; the lift's float deviation "
                  f"(<= {max(deviations):.3g}) is folded into the atoms")
