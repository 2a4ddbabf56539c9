"""SNN properties decided on an exact ReLU lift: reduce, decide, map back (model.md §4).

A continuous piecewise-linear SNN (positive weights, or neurons proven to fire after all their
inputs, as in every network made by ``srmverify convert``) equals a ReLU network on a box:
:func:`srmverify.convert.convert_snn_to_relu` builds it from exactly composed rationals, rounds the
weights to float64 and returns a sound bound ``Δ_j`` of ``|lift_j(x) − snn_j(x)|`` on the box.
The property is then decided on the lift by the ReLU branch and bound
(:func:`~srmverify.verify.bab.decide_dnf`), and the answer is mapped back:

* every atom ``c @ Y <= d`` is loosened to ``c @ Y <= d + Σ_j |c_j| Δ_j`` (non-strict), so the
  lift satisfies the loosened atom wherever the SNN satisfies the original one: an ``unsat`` of
  the lift (a closed branch and bound, leaf MILPs at tolerance ``settings.tau``) is an ``unsat``
  of the SNN;
* a ``sat`` point of the lift (sampling, then the search's candidates) is accepted only after the
  SNN is simulated exactly there (:func:`~srmverify.simulate.simulate_exact`) and the original DNF
  holds; a rejected point lets the search continue. A candidate at which the lift, evaluated
  exactly, misses the loosened atoms is rejected without simulating the SNN (it cannot hold there).

An SNN that cannot be lifted (mixed weights without the proof, discontinuous, too many pieces)
returns ``None``: the caller keeps its own SNN route.
"""
from __future__ import annotations

import time
from typing import Sequence

import numpy as np

from ..convert.snn_to_relu import convert_snn_to_relu
from ..deadline import remaining
from ..errors import DeadlineExpired, UnsupportedNetwork
from ..network import SNN
from ..results import Progress, QueryResult, Verdict, no_progress
from ..settings import DEFAULT, Settings
from ..simulate import relu_exact, simulate_exact
from .bab import decide_dnf
from .pipeline import Atom, Conj, counterexample, dnf_holds_exact, falsify_by_sampling


def liftable_query(snn: SNN, dnf: Sequence[Conj], settings: Settings = DEFAULT) -> bool:
    """Few inputs (input splitting applies) and only finite linear atoms (no "never fires")."""
    return snn.n_inputs <= settings.bab_max_inputs and \
        all(a.silent is None and a.c is not None and np.isfinite(a.d) for conj in dnf for a in conj)


def loosened(dnf: Sequence[Conj], deviation: np.ndarray) -> list[list[tuple[np.ndarray, float, bool]]]:
    """The atoms ``(c, d + |c| @ deviation, non-strict)`` for :func:`decide_dnf`.

    >>> from srmverify.verify.pipeline import Atom
    >>> [[(c, d, strict)]] = loosened([[Atom(np.array([1.0, -2.0]), 0.5, True)]], np.array([0.25, 0.125]))
    >>> c.tolist(), round(d, 9), strict
    ([1.0, -2.0], 1.0, False)
    """
    out = []
    for conj in dnf:
        atoms = []
        for a in conj:
            c = np.asarray(a.c, dtype=float)
            slack = float(np.abs(c) @ deviation) * (1 + 1e-12)
            atoms.append((c, float(a.d) + slack, False))
        out.append(atoms)
    return out


def check_lifted(snn: SNN, boxes: Sequence[np.ndarray], dnf: Sequence[Conj], *, engine: str = "highs",
                 deadline: float | None = None, progress: Progress = no_progress,
                 settings: Settings = DEFAULT) -> QueryResult | None:
    """VNN-LIB semantics (some box, some conjunction) for an SNN through its lift on each box;
    ``None`` when the SNN cannot be lifted on a box (the caller falls back).

    Examples
    --------
    >>> from srmverify.network import ReLUNet
    >>> from srmverify.convert import convert_relu_to_snn
    >>> from srmverify.verify.pipeline import Atom
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
    deviations, sizes = [], []
    for i, box in enumerate(boxes):
        try:
            relu, rep = convert_snn_to_relu(snn, box, samples=0)
        except UnsupportedNetwork:
            return None
        dev = np.asarray(rep.deviation_bound, dtype=float)
        deviations.append(float(dev.max()))
        sizes.append(relu.widths)

        loose = loosened(dnf, dev)
        loose_atoms = [[Atom(c, d, strict) for c, d, strict in conj] for conj in loose]
        confirmed: dict[tuple[float, ...], list] = {}

        def accept(x: np.ndarray) -> bool:
            """Exact SNN simulation, after a cheap exact screen on the lift: where the lift does
            not meet the loosened atoms (exactly), the SNN cannot meet the original ones."""
            if not dnf_holds_exact(loose_atoms, relu_exact(relu, x.tolist())):
                return False
            Y = simulate_exact(snn, x.tolist())
            if dnf_holds_exact(dnf, Y):
                confirmed[tuple(x.tolist())] = Y
                return True
            return False

        left = remaining(deadline)
        if left is not None and left <= 0:
            return _result(Verdict.TIMEOUT, t0, engine, settings, deviations, sizes, i, len(boxes),
                           message="time limit reached before the branch and bound on the lift")
        try:       # sampling on the lift first (as for ReLU networks), every hit re-checked on the SNN
            hit = falsify_by_sampling([relu], box, loose_atoms, deadline=deadline, settings=settings)
        except DeadlineExpired:
            hit = None
        if hit is not None and accept(np.asarray(hit[0], dtype=float)):
            return _sat(hit[0], confirmed, snn, t0, engine, settings, deviations, sizes, i, len(boxes), "sampling")
        left = remaining(deadline)
        dr = decide_dnf([relu], box, loosened(dnf, dev), accept, engine=engine, timeout=left, progress=progress,
                        settings=settings)
        if dr.verdict == "sat" and dr.x is not None:
            return _sat(dr.x.tolist(), confirmed, snn, t0, engine, settings, deviations, sizes, i, len(boxes),
                        "branch and bound on the ReLU lift")
        if dr.verdict != "unsat":
            return _result(Verdict.TIMEOUT if left is not None and time.perf_counter() - t0 >= left
                           else Verdict.UNKNOWN, t0, engine, settings, deviations, sizes, i, len(boxes),
                           message="branch and bound on the lift left the question open")
    return _result(Verdict.UNSAT, t0, engine, settings, deviations, sizes, len(boxes), len(boxes),
                   message="proven on the exact ReLU lift by branch and bound; the lift's float deviation "
                           f"(<= {max(deviations):.3g}) is folded into the atoms")


def _sat(x: list, confirmed: dict, snn: SNN, t0: float, engine: str, settings: Settings, deviations: list[float],
         sizes: list[list[int]], done: int, n_boxes: int, found_by: str) -> QueryResult:
    res = _result(Verdict.SAT, t0, engine, settings, deviations, sizes, done, n_boxes,
                  message="counterexample of the ReLU lift, re-checked by exact SNN simulation")
    res.counterexample = counterexample([snn], x, [confirmed[tuple(x)]])
    res.stats["found_by"] = f"{found_by} (re-checked on the SNN)"
    return res


def _result(verdict: Verdict, t0: float, engine: str, settings: Settings, deviations: list[float],
            sizes: list[list[int]], done: int, n_boxes: int, message: str) -> QueryResult:
    res = QueryResult(verdict, "property", engine, time.perf_counter() - t0, tolerance=settings.tau, message=message)
    res.stats["found_by"] = "branch and bound on the ReLU lift"
    res.details.update(route="relu lift", lift_widths=sizes, lift_deviation_bound=max(deviations, default=0.0),
                       boxes=n_boxes, boxes_closed=done)
    return res
