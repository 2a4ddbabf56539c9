"""The SNN part of the branch and bound of :mod:`.bab` (any weight signs): the maximum (or
supremum) of ``sign * y_j`` over the inputs of a box where output ``j`` fires.

* bounds of a batch of sub-boxes: :func:`~srmverify.bounds.snn_batch.batch_time_bounds`
  (squeezing potentials, affine times of neurons whose causal set the box fixes, upper pieces of
  positive neurons); the objective's linear bound gives the branching slopes and a corner
  candidate;
* incumbents: float simulation (:func:`~srmverify.simulate.simulate`, which never returns a
  time the exact definition would not give) at box centres, the corners of the linear bound and
  the generic loop's local search; the final incumbent is re-evaluated in exact rationals;
* neuron splits: where the bounds of a box leave a neuron's spike time open by far more than
  the box's width explains (a *jump*: the neuron's potential touches its threshold inside the
  box, so it fires early on one part and late on the rest, and no linear bound is tight across),
  the box may be branched on that neuron's time instead of an input: one child where it fires in
  the lower half of its interval, one where it fires in the upper half or not at all
  (:class:`~srmverify.bounds.snn_batch.Restriction`, which the bounds and the leaf encodings
  honour; the children cover the parent). :func:`unit_choice` proposes the neuron, and the loop
  bounds both branches' children and keeps the better (:class:`~.bab.BoxBounds`);
* leaves: a box whose bounds leave at most
  :attr:`~srmverify.settings.Settings.bab_snn_leaf_undecided` synapses undecided is closed by the
  exact encoding of :mod:`srmverify.encode.snn` with those bounds (neurons with a fixed causal
  set are one row each) and the row ``sign * y_j >= cutoff``: infeasible proves the box holds
  nothing better, up to the MILP tolerance ``tau`` of strict rows (first-crossing conditions).

A mixed-sign network's map can jump: the optimum may be a supremum that is not attained. Then the
leaf MILP's optimum lies within ``tau``'s effect of it, and the result's bracket
``[value, upper]`` is what is proven; ``MaxResult.complete`` says whether it closed.
"""
from __future__ import annotations

import time
from contextlib import nullcontext
from fractions import Fraction
from typing import Generator

import numpy as np

from ..bounds.snn_batch import BatchTimeBounds, Restriction, concretise, batch_time_bounds
from ..encode.network import input_vars
from ..encode.program import Lin, Program, float_arithmetic
from ..encode.snn import encode_snn
from ..network import SNN
from ..results import Progress, no_progress
from ..settings import DEFAULT, Settings
from ..simulate import simulate, simulate_exact, spike_times
from ..solvers.registry import EXACT_ENGINES
from .bab import BoxBounds, MaxResult, corner_candidates, maximize_search, run_search, solve_leaf


#: Random candidate points per bounded box.
RANDOM_POINTS = 4
#: Points tried around a leaf MILP's point (at scales 1e-3 .. 1e-9 of the box).
REPAIR_POINTS = 32


class SnnObjective:
    """:class:`~.bab.Objective` of ``c @ y + const`` of an SNN (``y`` decoded outputs), over
    the inputs where every output with ``c_j != 0`` fires (``-inf`` elsewhere)."""

    def __init__(self, net: SNN, c: np.ndarray, const: float = 0.0, settings: Settings = DEFAULT):
        self.net, self.settings = net, settings
        c = np.asarray(c, dtype=float).reshape(-1)
        self.js = np.flatnonzero(c)
        self.c, self.outs = c[self.js], np.asarray(net.outputs)[self.js]
        scale = np.ones(len(self.js)) if net.decoder is None else np.asarray(net.decoder.scale, dtype=float)[self.js]
        offset = np.zeros(len(self.js)) if net.decoder is None else np.asarray(net.decoder.offset, dtype=float)[self.js]
        self.alpha = self.c / scale                         # objective = sum alpha t_out + beta
        self.const = float(const)
        self.beta = self.const - float(np.sum(self.c * offset / scale))
        self.rng = np.random.default_rng(0)
        self.batch = settings.bab_snn_batch
        self.root: np.ndarray | None = None     # widths of the first box bounded (the search's root)

    def values(self, X: np.ndarray) -> np.ndarray:
        y = simulate(self.net, np.atleast_2d(X))[:, self.js]
        fires = np.all(np.isfinite(y), axis=1)
        return np.where(fires, np.where(np.isfinite(y), y, 0.0) @ self.c + self.const, -np.inf)

    def exact(self, x: np.ndarray) -> float:
        y = simulate_exact(self.net, x.tolist())
        fired = [v for v in (y[j] for j in self.js) if v is not None]
        if len(fired) < len(self.js):
            return -np.inf
        return float(sum((Fraction(float(cj)) * yj for cj, yj in zip(self.c, fired)), Fraction(0))) + self.const

    def bound(self, boxes: np.ndarray, domains: list | None = None) -> BoxBounds:
        net = self.net
        centres = spike_times(net, net.encode(boxes.mean(axis=2)))
        restrict = None
        if domains is not None and any(d is not None for d in domains):
            whole = Restriction.none(net.n_total)
            restrict = Restriction(*(np.array(a) for a in zip(*(whole if d is None else d for d in domains))))
        bb = batch_time_bounds(net, boxes, centres, restrict)
        if self.root is None:
            self.root = boxes[0, :, 1] - boxes[0, :, 0]
        up = self.alpha > 0
        o = self.outs
        t = np.where(up, bb.hi[:, o], bb.lo[:, o])                                    # (B, k)
        lin = np.where(up[None, :, None], bb.lin_hi[:, o], bb.lin_lo[:, o])            # (B, k, n+1)
        comb = np.einsum("k,bkj->bj", self.alpha, lin)
        with np.errstate(invalid="ignore"):
            interval = t @ self.alpha
            # the linear bounds stand for an infinite interval side by a 0: not usable there
            linear = np.where(np.all(np.isfinite(t), axis=1), concretise(comb[:, None], boxes, True)[:, 0], np.inf)
            ub = np.minimum(interval, linear) + self.beta
            ub = np.where(np.any(bb.never[:, o], axis=1) | bb.empty, -np.inf, ub)
            ub = np.where(np.isfinite(ub), ub + self.settings.bound_margin * (1 + np.abs(ub)), ub)
        leaf = bb.undecided <= self.settings.bab_snn_leaf_undecided
        splits = np.zeros((len(boxes), net.n_total), int) if restrict is None else restrict.splits
        unit, at = unit_choice(net, boxes, bb, splits < self.settings.bab_snn_unit_depth,
                               self.settings.bab_snn_unit_ratio)
        small = np.all(boxes[:, :, 1] - boxes[:, :, 0] <= self.root * self.settings.bab_snn_unit_width, axis=1)
        return BoxBounds(ub, comb[:, :-1], leaf, bb, np.where(leaf | ~small, -1, unit), at)

    def divide(self, domain: Restriction | None, unit: int, at: float) -> tuple[Restriction, Restriction]:
        return (Restriction.none(self.net.n_total) if domain is None else domain).split(unit, at)

    def candidates(self, boxes: np.ndarray, bb: BoxBounds) -> np.ndarray:
        """Corners of the linear bounds, centres and :data:`RANDOM_POINTS` random points per box
        (an output that fires on a small part of a box is found by them)."""
        lo, span = boxes[:, None, :, 0], boxes[:, None, :, 1] - boxes[:, None, :, 0]
        rand = (lo + self.rng.random((len(boxes), RANDOM_POINTS, boxes.shape[1])) * span).reshape(-1, boxes.shape[1])
        return np.vstack([corner_candidates(boxes, bb.slopes), rand])

    def tighten(self, boxes: np.ndarray, bb: BoxBounds, ub: np.ndarray, target: float) -> np.ndarray:
        return ub

    def leaf(self, f: int, box: np.ndarray, bb: BoxBounds, cutoff: float, engine: str, limit: float | None,
             settings: Settings) -> tuple[np.ndarray | None, float | None]:
        state: BatchTimeBounds = bb.state
        exact = engine in EXACT_ENGINES
        with nullcontext() if exact else float_arithmetic():
            p = Program()
            x = input_vars(p, box)
            tb, raised, silent = state.box(f)
            vm = encode_snn(p, self.net, x, tb)
            for v in raised:                  # a neuron split's lower side (BatchTimeBounds.box)
                if v in vm.times:
                    p.add(Lin.var(vm.times[v]), ">=", float(state.lo[f, v]), f"split{v}")
            for v in silent:                  # ... and a split that leaves it no time to fire in
                fv = vm.fire[v]
                assert not isinstance(fv, bool)   # it may not fire (BatchTimeBounds.box): a binary
                p.hi[fv] = 0.0
            terms = []
            for cj, j in zip(self.c, self.js):
                y, fire = vm.outputs[j], vm.output_fire[j]
                if y is None:
                    return None, -np.inf
                if fire is not True:
                    p.lo[fire] = 1.0          # the inputs where the output fires
                terms.append(Lin.var(y, float(cj)))
            obj = Lin.sum(terms) + Lin.constant(self.const)
            p.add(obj, ">=", cutoff, "cutoff")
            p.maximize(obj)
        sol = solve_leaf(p, engine, limit, settings, sub_mips=False)
        pts = None
        if sol.has_point and sol.values is not None:
            # the MILP's point meets strict rows within tau: around it, points that do exactly
            pt = np.clip(sol.values[x], box[:, 0], box[:, 1])
            steps = self.rng.normal(size=(REPAIR_POINTS, len(pt))) * (box[:, 1] - box[:, 0])
            steps *= np.geomspace(1e-3, 1e-9, REPAIR_POINTS)[:, None]
            pts = np.vstack([pt, np.clip(pt + steps, box[:, 0], box[:, 1])])
        if sol.status == "infeasible":
            return pts, cutoff
        if sol.status == "optimal" and sol.bound is not None:
            return pts, float(sol.bound)
        if sol.status == "optimal" and sol.objective is not None and exact:
            return pts, float(sol.objective)
        return pts, None


def unit_choice(net: SNN, boxes: np.ndarray, bb: BatchTimeBounds, allowed: np.ndarray,
                ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Which neuron to branch each box on, and where: ``(unit, at)`` (B,), ``unit = -1``: an input
    split. A neuron qualifies when ``allowed`` (B, n_total), it is not an output (a branch on the
    objective's own time gains nothing), its causal set is open on the box and the gap of its linear
    bounds at the box centre exceeds ``ratio`` times what the box's widths explain (the sum of
    ``|slope| * width`` of its two linear bounds, halved; constant linear bounds, the interval's
    stand-ins, are no evidence); the one with the largest gap is split at the middle of its
    interval.

    >>> net = SNN.layered([[[1.0, -1.0, 1.0]]], [[0.5]], constants=[0.0])
    >>> box = np.array([[[0.0, 1.0], [0.0, 1.0]]])
    >>> unit_choice(net, box, batch_time_bounds(net, box), np.ones((1, 4), bool), 1.0)[0].tolist()   # affine
    [-1]
    """
    n = net.n_inputs
    c = np.concatenate([boxes.mean(axis=2), np.ones((len(boxes), 1))], axis=1)
    w = boxes[:, None, :, 1] - boxes[:, None, :, 0]
    with np.errstate(invalid="ignore"):
        gap = np.einsum("bvj,bj->bv", bb.lin_hi - bb.lin_lo, c)
        explained = 0.5 * ((np.abs(bb.lin_hi[..., :n]) + np.abs(bb.lin_lo[..., :n])) * w).sum(axis=2)
        ok = allowed & np.isfinite(bb.lo) & np.isfinite(bb.hi) & (bb.hi > bb.lo) & ~bb.fixed
        ok &= (explained > 0) & (gap > ratio * explained)
    ok[:, :net.first_neuron] = False
    ok[:, np.asarray(net.outputs)] = False
    score = np.where(ok, gap, -np.inf)
    v = np.argmax(score, axis=1)
    rows = np.arange(len(boxes))
    unit = np.where(ok[rows, v], v, -1)
    return unit, 0.5 * (bb.lo[rows, v] + bb.hi[rows, v])


def maximize_snn(net: SNN, box: np.ndarray, j: int = 0, sign: float = 1.0, *, atol: float = 1e-6,
                 rtol: float = 1e-9, threshold: float | None = None, engine: str = "highs",
                 timeout: float | None = None, progress: Progress = no_progress,
                 settings: Settings = DEFAULT) -> MaxResult:
    """Maximum of ``sign * y_j`` over the inputs of ``box`` where output ``j`` fires, by the
    branch and bound of :func:`~.bab.maximize` (module doc). ``value = -inf`` and
    ``upper = -inf``: the output fires nowhere on the box.

    Examples
    --------
    >>> net = SNN.layered([[[1.0, -1.0, 1.0]]], [[0.5]], constants=[0.0])     # x1 inhibits
    >>> r = maximize_snn(net, np.array([[0.0, 1.0], [0.0, 1.0]]))        # latest: x0 = 1, x1 = 0
    >>> round(r.value, 6), round(r.upper, 6), r.complete, r.x.round(6).tolist()
    (1.5, 1.5, True, [1.0, 0.0])
    """
    deadline = None if timeout is None else time.perf_counter() + timeout
    return run_search(snn_search(net, box, j, sign, atol=atol, rtol=rtol, threshold=threshold, engine=engine,
                                 deadline=deadline, progress=progress, settings=settings))


def snn_search(net: SNN, box: np.ndarray, j: int = 0, sign: float = 1.0, *, atol: float = 1e-6,
               rtol: float = 1e-9, threshold: float | None = None, engine: str = "highs",
               deadline: float | None = None, progress: Progress = no_progress,
               settings: Settings = DEFAULT) -> Generator[dict, None, MaxResult]:
    """:func:`maximize_snn` as a resumable search (:func:`~.bab.maximize_search`): several run
    side by side by :func:`~.bab.share_cpu`; ``deadline`` in ``time.perf_counter`` seconds."""
    c = np.zeros(net.n_outputs)
    c[j] = sign
    return maximize_search(SnnObjective(net, c, 0.0, settings), box, atol=atol, rtol=rtol, threshold=threshold,
                           engine=engine, deadline=deadline, progress=progress, settings=settings)
