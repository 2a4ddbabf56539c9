"""Branch and bound over input splits: the true maximum of a linear function of the outputs
of a network on a box, up to a stated tolerance.

:func:`maximize` is the loop, the same for every network kind: a heap of boxes, an incumbent
that is a value the network really takes, the proven bound left behind by every discarded box,
the stop rules and leaf closing. An :class:`Objective` supplies the kind's part: bounds of a
batch of sub-boxes, candidate points and the exact leaf. :class:`ReluObjective` (below) is the
ReLU one; :class:`srmverify.verify.bab_snn.SnnObjective` the SNN one (any weight signs).
The ReLU objective works as follows.

One big-M MILP of a 5-50-50-1 network with interval big-M constants does not finish in 300 s
here. With few inputs, splitting the input box works far better:

* every node is a sub-box; its upper bound is the symbolic (CROWN-style) linear bound of the
  objective, computed for a whole batch of boxes at once (numpy), and, for the boxes it does
  not prune, the same bound with the lower-relaxation slopes optimised by a few sign-gradient
  steps (alpha-CROWN style); branching and the corner candidates use the plain symbolic
  bound's slopes (they branch better);
* the incumbent is always a *value the network really takes*: concrete evaluations at the
  centre of each box and at the corner maximising its linear bound (when every ReLU of a box is
  stable the network is affine there, so that corner is the box's exact maximum), random steps
  around the incumbent, and the points of the leaf MILPs;
* a box with at most :attr:`~srmverify.settings.Settings.bab_leaf_unstable` unstable ReLUs is closed by a small exact MILP
  (:func:`leaf_program`): the ReLUs stable on the box are substituted away, so only the unstable
  ones get a variable and a binary, and the row ``objective >= incumbent + tol/2`` (or
  ``>= threshold``) makes the solver prove "nothing better here" (infeasible) or return a better
  point instead of proving optimality from scratch (a leaf unsolved within :attr:`~srmverify.settings.Settings.bab_leaf_time`
  is split further);
* branching splits the coordinate with the largest ``|slope| * width`` of the linear bound.

Every discarded box (pruned, or closed by a MILP) leaves its proven bound behind; the returned
``upper`` is the largest of those, the open boxes' bounds and the incumbent. It stops when
``upper - incumbent <= atol + rtol * |incumbent|`` (the result states both), at the time limit
(then the bracket is still sound), or, with a ``threshold`` (decision queries), as soon as
``value > threshold`` or ``upper <= threshold`` is known. Leaf MILPs are float MILPs: their
verdicts hold up to the solver's feasibility tolerance, like every MILP verdict of the engine.
"""
from __future__ import annotations

import heapq
import time
from typing import Any, Callable, Generator, NamedTuple, Protocol, TypeVar
from dataclasses import dataclass, field

import numpy as np

from ..deadline import expired
from ..bounds.relu import backsubstitute, conjunction_lower_bound, difference_bounds, forward_bounds_batch, \
    optimised_upper_bound, symbolic_bounds_batch
from ..network import ReLUNet
from ..results import Progress, no_progress
from ..simulate import relu_exact
from ..encode.program import Lin, Program, float_arithmetic
from ..solvers import Solution, solve
from ..solvers.bigm import lower
from ..settings import DEFAULT, Settings

K = TypeVar("K")
R = TypeVar("R")


@dataclass
class MaxResult:
    """``value`` = objective at ``x`` (a real input, evaluated exactly: a lower bound of the
    maximum); ``upper`` = proven upper bound; ``complete`` = the bracket closed within
    ``atol + rtol*|value|``. ``stats["stop"]`` says why the search ended: ``"closed"``,
    ``"threshold"`` (decided against the threshold, bracket possibly open) or ``"timeout"``."""

    value: float
    x: np.ndarray
    upper: float
    complete: bool
    atol: float
    rtol: float
    stats: dict = field(default_factory=dict)

    @property
    def gap(self) -> float:
        return self.upper - self.value


def objective_net(nets: list[ReLUNet], coefs: list[np.ndarray], const: float | np.ndarray = 0.0) -> ReLUNet:
    """One ReLU network computing ``sum_i coefs[i] @ nets[i](x) + const`` (all nets share the
    input; a 2-D ``coefs[i]`` of ``k`` rows and a length-``k`` ``const`` give ``k`` outputs). Shorter networks are padded with ``relu(z) - relu(-z)`` pass-through layers; hidden
    units shared by several networks are merged (:func:`_simplify`).

    >>> a = ReLUNet([([[1.0]], [0.0]), ([[2.0]], [1.0])]); b = ReLUNet([([[3.0]], [0.0])])
    >>> objective_net([a, b], [np.array([1.0]), np.array([-1.0])]).evaluate([[2.0]]).tolist()
    [[-1.0]]
    >>> c = ReLUNet([([[1.0]], [0.0]), ([[2.0]], [1.1])])           # a + 0.1: the difference is constant
    >>> d = objective_net([a, c], [np.array([1.0]), np.array([-1.0])])
    >>> d.widths, np.round(d.evaluate([[2.0], [-1.0]]), 12).tolist()
    ([1, 1, 1], [[-0.1], [-0.1]])
    """
    depth = max(len(n.layers) for n in nets)
    padded = []
    for net in nets:
        layers = [(np.asarray(W), np.asarray(b)) for W, b in net.layers]
        while len(layers) < depth:
            W, b = layers[-1]
            m = W.shape[0]
            layers[-1] = (np.vstack([W, -W]), np.concatenate([b, -b]))
            layers.append((np.hstack([np.eye(m), -np.eye(m)]), np.zeros(m)))
        padded.append(layers)
    out = []
    for l in range(depth):
        blocks = [p[l] for p in padded]
        rows = sum(W.shape[0] for W, _ in blocks)
        if l == 0:
            W = np.vstack([W for W, _ in blocks])
        else:
            W = np.zeros((rows, sum(pW.shape[1] for pW, _ in blocks)))
            r = c = 0
            for Wb, _ in blocks:
                W[r:r + Wb.shape[0], c:c + Wb.shape[1]] = Wb
                r, c = r + Wb.shape[0], c + Wb.shape[1]
        out.append((W, np.concatenate([b for _, b in blocks])))
    coef = np.hstack([np.atleast_2d(np.asarray(ci, dtype=float)) for ci in coefs])
    W, b = out[-1]
    out[-1] = (coef @ W, coef @ b + const)
    return ReLUNet(_simplify(out))


def _simplify(layers: list) -> list:
    """The same function with fewer hidden units: units with identical weights and bias are
    merged (their outgoing weights added), then units whose outgoing weights are all zero are
    dropped (a layer left empty keeps one zero unit). Exact apart from that addition's rounding."""
    layers = list(layers)
    for l in range(len(layers) - 1):
        W, b = layers[l]
        _, first, inv = np.unique(np.hstack([W, b[:, None]]), axis=0, return_index=True, return_inverse=True)
        S = np.zeros((len(b), len(first)))
        S[np.arange(len(b)), inv.reshape(-1)] = 1.0
        layers[l] = (W[first], b[first])
        layers[l + 1] = (layers[l + 1][0] @ S, layers[l + 1][1])
    for l in range(len(layers) - 2, -1, -1):
        Wn, bn = layers[l + 1]
        alive = np.flatnonzero(np.any(Wn != 0, axis=0))
        W, b = layers[l]
        layers[l] = (W[alive], b[alive]) if len(alive) else (np.zeros((1, W.shape[1])), np.zeros(1))
        layers[l + 1] = (Wn[:, alive], bn) if len(alive) else (np.zeros((len(bn), 1)), bn)
    return layers


def leaf_program(net: ReLUNet, box: np.ndarray, pre: list, cutoff: float | None = None) -> Program:
    """Compact big-M MILP of ``max net(x)`` (single output) over ``box``, given sound
    pre-activation bounds ``pre`` of the hidden layers on that box.

    ReLUs stable on the box are substituted (an active one is its affine pre-activation, an
    inactive one is 0): every layer is an affine map of the *basis* ``v = (x, y, d)`` holding
    only the inputs and, per unstable ReLU, its output ``y in [0, hi]`` and its binary ``d``
    with ``y >= z``, ``y <= z - lo*(1 - d)``, ``y <= hi*d``. With ``cutoff`` the row
    ``objective >= cutoff`` is added (infeasible = nothing reaches ``cutoff`` in the box).

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [-0.5])])   # |x| - 0.5
    >>> p = leaf_program(net, np.array([[-1.0, 2.0]]), [(np.array([-1.0, -2.0]), np.array([2.0, 1.0]))])
    >>> p.n_vars, p.n_binaries, len(p.blocks[0].rhs)
    (5, 2, 6)
    >>> [solve(p, e).objective for e in ("highs", "cbc")]      # every MILP backend takes the leaf
    [1.5, 1.5]
    """
    cols, A, rhs, F, g = _leaf_basis(net, box, pre)
    cost, const = F[0], float(g[0])
    if cutoff is not None:
        A, rhs = np.vstack([A, -cost[None]]), np.append(rhs, const - cutoff)
    return _program(cost, const, cols, A, rhs)


def conjunction_program(net: ReLUNet, box: np.ndarray, pre: list, rows: list[int]) -> Program:
    """Compact big-M feasibility MILP (as :func:`leaf_program`) of "``net(x)[a] <= 0`` for every
    ``a`` in ``rows``" over ``box``: infeasible = no input of the box satisfies that conjunction.

    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0], [-1.0, 0.0]], [-0.5, 0.2])])
    >>> box = np.array([[-1.0, 2.0]]); pre = [(np.array([-1.0, -2.0]), np.array([2.0, 1.0]))]
    >>> [solve(conjunction_program(net, box, pre, r)).status for r in ([0], [0, 1])]  # |x|<=.5, x>=.2
    ['optimal', 'optimal']
    >>> solve(conjunction_program(ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]),
    ...     ([[1.0, 1.0], [-1.0, 0.0]], [-0.5, 0.7])]), box, pre, [0, 1])).status      # |x|<=.5, x>=.7
    'infeasible'
    """
    cols, A, rhs, F, g = _leaf_basis(net, box, pre)
    return _program(np.zeros(F.shape[1]), 0.0, cols, np.vstack([A, F[rows]]), np.append(rhs, -g[rows]))


def _leaf_basis(net: ReLUNet, box: np.ndarray, pre: list):
    """The compact encoding of :func:`leaf_program`: ``(columns (lo, hi, integer), A, rhs, F, g)``
    with rows ``A v <= rhs`` and the outputs ``F v + g`` over the basis ``v``."""
    n = box.shape[0]
    P, q = np.eye(n), np.zeros(n)            # hidden values h = P v + q (first: h = x)
    col_lo, col_hi, integer = [box[:, 0]], [box[:, 1]], [np.zeros(n, bool)]
    blocks = []                              # (rows over the basis so far, right-hand sides)
    for l in range(len(net.layers) - 1):
        W, b = net.layers[l]
        M, c = W @ P, W @ q + b              # z = M v + c
        lo, hi = pre[l]
        ui = np.flatnonzero((lo < 0) & (hi > 0))
        k, w = len(ui), M.shape[1]
        I, Z = np.eye(k), np.zeros((k, k))
        Mu, cu, lu, hu = M[ui], c[ui], lo[ui], hi[ui]
        blocks.append((np.block([[Mu, -I, Z], [-Mu, I, -np.diag(lu)], [np.zeros((k, w)), I, -np.diag(hu)]]),
                       np.concatenate([-cu, cu - lu, np.zeros(k)])))
        active = lo >= 0
        P = np.hstack([np.where(active[:, None], M, 0.0), np.zeros((len(lo), 2 * k))])
        P[ui, w + np.arange(k)] = 1.0
        q = np.where(active, c, 0.0)
        col_lo += [np.zeros(2 * k)]
        col_hi += [hu, np.ones(k)]
        integer += [np.zeros(k, bool), np.ones(k, bool)]
    W, b = net.layers[-1]
    F, g = W @ P, W @ q + b
    N = F.shape[1]
    A = np.vstack([np.hstack([R, np.zeros((len(R), N - R.shape[1]))]) for R, _ in blocks] + [np.zeros((0, N))])
    rhs = np.concatenate([r for _, r in blocks] + [np.zeros(0)])
    return (np.concatenate(col_lo), np.concatenate(col_hi), np.concatenate(integer)), A, rhs, F, g


def _program(cost: np.ndarray, const: float, cols: tuple, A: np.ndarray, rhs: np.ndarray) -> Program:
    """``max cost @ v + const`` s.t. ``A v <= rhs`` over the basis columns ``cols = (lo, hi,
    integer)``: a neutral :class:`~srmverify.encode.program.Program` with one dense block, built
    in float arithmetic (a MILP-only program: its rounded right-hand sides can leave the
    equality ``y = z`` of an active ReLU empty by one ulp, which only a tolerance absorbs)."""
    with float_arithmetic():
        p = Program()
        v = [p.var(f"v{i}", lo, hi, binary=bool(b)) for i, (lo, hi, b) in enumerate(zip(*cols))]
        p.add_block(v, A, rhs, "leaf")
        p.maximize(Lin({v[i]: float(cost[i]) for i in np.flatnonzero(cost)}, float(const)))
    return p


def solve_leaf(p: Program, engine: str, limit: float | None, settings: Settings = DEFAULT,
               sub_mips: bool = True) -> Solution:
    """Solve a leaf program with ``engine``; HiGHS without presolve and without its
    feasibility-jump heuristic. HiGHS' presolve is not trusted with a proof of infeasibility
    (:func:`~srmverify.solvers.highs_milp.solve_arrays` confirms each presolved ``infeasible`` by
    a second solve without it) and almost every leaf is infeasible, so one solve without presolve
    does the same work once (0.47x the CPU time on 60 leaves of ACAS Xu 3_3 prop 2;
    benchmarks/README.md, ACAS Xu), and a primal heuristic is wasted on it. HiGHS' MIP feasibility
    tolerance is :attr:`~srmverify.settings.Settings.leaf_mip_feasibility_tol` here (1e-8 has given
    false ``infeasible`` leaves without presolve). ``sub_mips=False``: without HiGHS' sub-MIP
    heuristics too (:func:`~srmverify.solvers.highs_milp.solve_arrays`; the SNN leaves)."""
    if engine != "highs":
        return solve(p, engine, limit, settings)
    from ..solvers.highs_milp import solve_arrays     # the engine's module only when it is used
    leaf = settings.replace(mip_feasibility_tol=settings.leaf_mip_feasibility_tol)
    return solve_arrays(lower(p, settings.tau), limit, leaf, presolve=False, feasibility_jump=False,
                        sub_mips=sub_mips)


def _bound_boxes(net: ReLUNet, boxes: np.ndarray, margin: float):
    """Symbolic upper bound of the output on each box, its linear bound's slopes, the number of
    unstable ReLUs and the intermediate bounds."""
    L = len(net.layers)
    pre = symbolic_bounds_batch(net, boxes, layers=L - 1)
    ub, A, _ = backsubstitute(net, L - 1, np.ones((len(boxes), 1, 1)), pre, boxes, upper=True)
    ub = ub[:, 0] + margin * (1 + np.abs(ub[:, 0]))
    unstable = sum(((lo < 0) & (hi > 0)).sum(axis=1) for lo, hi in pre) if pre else np.zeros(len(boxes), int)
    return ub, A[:, 0, :], unstable, pre


def _tighten(net: ReLUNet, boxes: np.ndarray, pre: list, ub: np.ndarray, target: float,
             settings: Settings) -> np.ndarray:
    """``ub`` with the optimised-slope bound where the symbolic one does not already prune."""
    sel = np.flatnonzero(ub > target)
    if len(sel):
        opt = optimised_upper_bound(net, [(lo[sel], hi[sel]) for lo, hi in pre], boxes[sel], settings.bab_alpha_steps)
        ub = ub.copy()
        ub[sel] = np.minimum(ub[sel], opt + settings.bound_margin * (1 + np.abs(opt)))
    return ub


class BoxBounds(NamedTuple):
    """What a kind's bounding step returns for a batch of ``B`` boxes: ``ub`` (B,) sound upper
    bounds of the objective, ``slopes`` (B, n) slopes of a linear bound (branching and corner
    candidates), ``leaf`` (B,) boxes small enough to be closed exactly by :meth:`Objective.leaf`,
    ``state``: the kind's own data (intermediate bounds) for :meth:`Objective.tighten` and
    :meth:`Objective.leaf`; ``unit``, ``at`` (B,): where ``unit[b] >= 0``, box ``b`` may be
    branched by :meth:`Objective.divide` on that unit at ``at[b]`` instead of an input split:
    :func:`maximize` bounds the children of both and keeps the branch whose children's larger bound
    is smaller (the input split on a tie; a unit split does not shrink the box, so it must earn its
    place)."""

    ub: np.ndarray
    slopes: np.ndarray
    leaf: np.ndarray
    state: Any
    unit: np.ndarray | None = None
    at: np.ndarray | None = None


class Objective(Protocol):
    """One network kind's part of the branch and bound of :func:`maximize`: the loop (heap of
    boxes, incumbent, stop rules) is kind-independent, the bounding of a batch of sub-boxes,
    the candidate points and the leaf encoding are not. ``batch``: boxes bounded at once.
    A node of the search is a box and a *domain*: the kind's restriction of the box (``None``: the
    whole box; the ReLU kind has none), made by :meth:`divide`."""

    batch: int

    def values(self, X: np.ndarray) -> np.ndarray:
        """Float objective at the points ``X`` (B, n); ``-inf`` where it is undefined."""
        ...

    def exact(self, x: np.ndarray) -> float:
        """The objective at ``x`` by exact simulation (``-inf`` where it is undefined)."""
        ...

    def bound(self, boxes: np.ndarray, domains: list | None = None) -> BoxBounds:
        """Sound bounds of the objective on each box of a batch (B, n, 2), within its domain
        (``domains``: one per box, ``None``: every box whole)."""
        ...

    def divide(self, domain: Any, unit: int, at: float) -> tuple[Any, Any]:
        """Two domains covering ``domain`` (a branch on ``unit`` at ``at``, as
        :attr:`BoxBounds.unit` asked)."""
        ...

    def candidates(self, boxes: np.ndarray, bb: BoxBounds) -> np.ndarray:
        """Points worth evaluating, given the bounds of a batch."""
        ...

    def tighten(self, boxes: np.ndarray, bb: BoxBounds, ub: np.ndarray, target: float) -> np.ndarray:
        """``ub`` tightened (more costly bounds) where it does not already prune (``<= target``)."""
        ...

    def leaf(self, f: int, box: np.ndarray, bb: BoxBounds, cutoff: float, engine: str, limit: float | None,
             settings: Settings) -> tuple[np.ndarray | None, float | None]:
        """Close box ``f`` of the batch exactly: ``(points to offer or None, proven bound or None)``;
        the bound is ``cutoff`` when nothing in the box reaches ``cutoff``."""
        ...


def corner_candidates(boxes: np.ndarray, slopes: np.ndarray) -> np.ndarray:
    """The corner of each box that maximises its linear bound (slopes ``(B, n)``), then the centres.

    >>> corner_candidates(np.array([[[0.0, 1.0], [2.0, 3.0]]]), np.array([[1.0, -1.0]])).tolist()
    [[1.0, 2.0], [0.5, 2.5]]
    """
    return np.concatenate([np.where(slopes > 0, boxes[:, :, 1], boxes[:, :, 0]), boxes.mean(axis=2)])


class ReluObjective:
    """:class:`Objective` of the single output of a ReLU network: symbolic (CROWN-style) bounds,
    optimised slopes (:func:`_tighten`) and compact leaf MILPs (:func:`leaf_program`)."""

    def __init__(self, net: ReLUNet, settings: Settings = DEFAULT):
        self.net, self.settings = net, settings
        self.batch = settings.bab_batch

    def values(self, X: np.ndarray) -> np.ndarray:
        return self.net.evaluate(X)[:, 0]

    def exact(self, x: np.ndarray) -> float:
        return float(relu_exact(self.net, x.tolist())[0])

    def bound(self, boxes: np.ndarray, domains: list | None = None) -> BoxBounds:
        ub, A, unst, pre = _bound_boxes(self.net, boxes, self.settings.bound_margin)
        return BoxBounds(ub, A, unst <= self.settings.bab_leaf_unstable, pre)

    def divide(self, domain: Any, unit: int, at: float) -> tuple[Any, Any]:
        """A ReLU box carries no domain (``None``) and its bounds offer no unit branch, so the
        children of any split keep the parent's (they still cover it)."""
        return domain, domain

    def candidates(self, boxes: np.ndarray, bb: BoxBounds) -> np.ndarray:
        return corner_candidates(boxes, bb.slopes)

    def tighten(self, boxes: np.ndarray, bb: BoxBounds, ub: np.ndarray, target: float) -> np.ndarray:
        return _tighten(self.net, boxes, bb.state, ub, target, self.settings)

    def leaf(self, f: int, box: np.ndarray, bb: BoxBounds, cutoff: float, engine: str, limit: float | None,
             settings: Settings) -> tuple[np.ndarray | None, float | None]:
        pre_b = [(lo[f], hi[f]) for lo, hi in bb.state]
        sol = solve_leaf(leaf_program(self.net, box, pre_b, cutoff), engine, limit, settings)
        pts = np.clip(sol.point[:box.shape[0]], box[:, 0], box[:, 1])[None] if sol.has_point else None
        return pts, cutoff if sol.status == "infeasible" else sol.bound if sol.status == "optimal" else None


def maximize_relu(net: ReLUNet, box: np.ndarray, *, atol: float = 1e-6, rtol: float = 1e-9,
                  threshold: float | None = None, engine: str = "highs", timeout: float | None = None,
                  progress: Progress = no_progress, settings: Settings = DEFAULT) -> MaxResult:
    """Maximum of the single output of ``net`` over ``box`` by branch and bound (module doc):
    :func:`maximize` of a :class:`ReluObjective`.

    ``threshold``: for a yes/no question "is the maximum ``> threshold``?" -- stop as soon as
    ``value > threshold`` or ``upper <= threshold``; boxes whose bound is ``<= threshold`` are
    not refined (the bracket then need not close). ``engine`` solves the leaf programs (float
    programs, MILP-only: ``z3`` falls back to HiGHS).

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [-0.5])])   # |x| - 0.5
    >>> r = maximize_relu(net, np.array([[-1.0, 2.0]]))
    >>> round(r.value, 9), r.complete, r.x.tolist()
    (1.5, True, [2.0])
    >>> [(r.value > t, r.upper <= t) for t in (1.0, 5.0)
    ...  for r in [maximize_relu(net, np.array([[-1.0, 2.0]]), threshold=t)]]
    [(True, False), (False, True)]
    """
    return maximize(ReluObjective(net, settings), box, atol=atol, rtol=rtol, threshold=threshold, engine=engine,
                    timeout=timeout, progress=progress, settings=settings)


def maximize(obj: Objective, box: np.ndarray, *, atol: float = 1e-6, rtol: float = 1e-9,
             threshold: float | None = None, engine: str = "highs", timeout: float | None = None,
             progress: Progress = no_progress, settings: Settings = DEFAULT) -> MaxResult:
    """Maximum of the objective ``obj`` over ``box`` by input-splitting branch and bound (module
    doc; :class:`Objective` gives the kind's bounds, candidates and leaves). The incumbent is a
    value the network really takes (re-evaluated exactly at the end: ``value``); every discarded
    box leaves its proven bound behind. ``threshold``: see :func:`maximize_relu`. The search of
    :func:`maximize_search`, run to its end.
    """
    deadline = None if timeout is None else time.perf_counter() + timeout
    return run_search(maximize_search(obj, box, atol=atol, rtol=rtol, threshold=threshold, engine=engine,
                                      deadline=deadline, progress=progress, settings=settings))


def run_search(search: Generator[Any, None, R]) -> R:
    """The result of a resumable search (a generator that yields after every step and returns
    its result), run to its end.

    >>> def count(n):
    ...     for i in range(n):
    ...         yield i
    ...     return n
    >>> run_search(count(3))
    3
    """
    while True:
        try:
            next(search)
        except StopIteration as done:
            return done.value


def share_cpu(searches: dict[K, Generator[Any, None, R]],
              clock: Callable[[], float] = time.process_time) -> dict[K, R]:
    """Run resumable searches (as :func:`run_search`) to their ends, one step at a time, each
    step to the search that has spent the least ``clock`` time so far (CPU time: the work done,
    whatever the load): while several are open they share the time equally, and the time one
    does not need goes to the others. Each search must end by itself once its deadline has
    passed (every step after it returns at once). Returns each search's result.

    >>> def search(steps):
    ...     for i in range(steps):
    ...         yield i
    ...     return steps
    >>> t = iter(range(1000))                       # a clock: every step costs one unit
    >>> share_cpu({"a": search(6), "b": search(2)}, clock=lambda: next(t))
    {'a': 6, 'b': 2}
    """
    running = dict(searches)
    spent = dict.fromkeys(searches, 0.0)
    results: dict[K, R] = {}
    while running:
        key = min(running, key=spent.__getitem__)
        t1 = clock()
        try:
            next(running[key])
        except StopIteration as done:
            results[key] = done.value
            del running[key]
        finally:
            spent[key] += clock() - t1
    return {k: results[k] for k in searches}


def maximize_search(obj: Objective, box: np.ndarray, *, atol: float = 1e-6, rtol: float = 1e-9,
                    threshold: float | None = None, engine: str = "highs", deadline: float | None = None,
                    progress: Progress = no_progress,
                    settings: Settings = DEFAULT) -> Generator[dict, None, MaxResult]:
    """The branch and bound of :func:`maximize` as a resumable search: it yields its statistics
    after every batch of boxes and returns the :class:`MaxResult`; ``deadline`` in
    ``time.perf_counter`` seconds (``None``: none). Its ``stats["time"]`` is the time from its
    start to its end, other searches run in between (:func:`share_cpu`) included."""
    t0 = time.perf_counter()
    box = np.asarray(box, dtype=float)
    n = box.shape[0]
    best_x = box.mean(axis=1)
    best = float(obj.values(best_x[None])[0])
    closed = -np.inf            # largest proven bound of a discarded box
    heap: list[tuple[float, int, np.ndarray, Any, Any]] = []    # (-ub, counter, box, branch, domain)
    counter = 0
    stats: dict[str, Any] = {"boxes": 0, "leaf_milps": 0, "leaf_closed": 0, "pruned": 0, "leaf_time": 0.0,
                             "unit_splits": 0, "unit_tried": 0}

    def tol(v: float) -> float:
        return atol + rtol * abs(v) if np.isfinite(v) else atol

    def target() -> float:
        """Boxes bounded by this are done."""
        return best + tol(best) if threshold is None else max(best + tol(best), threshold)

    def decided() -> bool:
        return threshold is not None and best > threshold

    def left() -> float | None:
        return None if deadline is None else max(deadline - time.perf_counter(), settings.min_time_slice)

    def offer(cand: np.ndarray) -> None:
        """Evaluate candidate inputs; keep the best as the incumbent."""
        nonlocal best, best_x
        vals = obj.values(cand)
        i = int(np.argmax(vals))
        if vals[i] > best:
            best, best_x = float(vals[i]), cand[i]

    rng = np.random.default_rng(0)
    span = box[:, 1] - box[:, 0]

    def local_search() -> None:
        """Random steps around the incumbent at several scales (a better incumbent prunes more)."""
        steps = rng.normal(size=(settings.bab_local_steps, n)) * span
        steps *= np.repeat(np.geomspace(0.1, 1e-4, 4), settings.bab_local_steps // 4)[:, None]
        offer(np.clip(best_x + steps, box[:, 0], box[:, 1]))

    def keep(f: int, bx: np.ndarray, dom: Any, ub: float, bb: BoxBounds) -> None:
        """Prune, close by a leaf, or queue one box."""
        nonlocal closed, counter
        if ub <= target():
            stats["pruned"] += 1
            closed = max(closed, ub)
            return
        if bb.leaf[f] and not decided() and not expired(deadline):
            t1 = time.perf_counter()
            cutoff = best + tol(best) / 2 if threshold is None else max(best + tol(best) / 2, threshold)
            slot = left()
            limit = settings.bab_leaf_time if slot is None else min(settings.bab_leaf_time, slot)
            pts, bound = obj.leaf(f, bx, bb, cutoff, engine, limit, settings)
            stats["leaf_milps"] += 1
            stats["leaf_time"] += time.perf_counter() - t1
            if pts is not None:
                offer(pts)
            if bound is not None:
                stats["leaf_closed"] += 1
                closed = max(closed, bound)
                return
        widths = bx[:, 1] - bx[:, 0]
        a = bb.slopes[f]
        dim = int(np.argmax((np.abs(a) + np.abs(a).mean() + 1e-12) * widths))
        branch: tuple = (dim,)                # an input split, and the kind's own branch if it asks one
        if bb.unit is not None and bb.at is not None and bb.unit[f] >= 0:
            branch = (dim, int(bb.unit[f]), float(bb.at[f]))
        heapq.heappush(heap, (-float(ub), counter, bx, branch, dom))
        counter += 1

    def bound_and_keep(boxes: np.ndarray, domains: list, parent_ub: np.ndarray, choices: list[list[tuple]]) -> None:
        """Bound the boxes and keep them: ``choices`` holds, per parent, the alternative branches
        (each a tuple of the indices of its children); of several, the one whose children's
        largest bound is least is kept (ties: the first, the input split)."""
        bb = obj.bound(boxes, domains)
        ub = np.minimum(bb.ub, parent_ub)          # a sub-box's bound is not always tighter: keep the best
        stats["boxes"] += len(boxes)
        offer(obj.candidates(boxes, bb))
        local_search()
        ub = obj.tighten(boxes, bb, ub, target())
        for branches in choices:
            chosen = min(branches, key=lambda ks: (max(ub[k] for k in ks), sum(ub[k] for k in ks)))
            stats["unit_splits"] += chosen is not branches[0]
            for f in chosen:
                keep(f, boxes[f], domains[f], float(ub[f]), bb)

    bound_and_keep(box[None], [None], np.array([np.inf]), [[(0,)]])
    stop = "closed"
    while heap and -heap[0][0] > target():
        if decided():
            stop = "threshold"
            break
        if expired(deadline):
            stop = "timeout"
            break
        kids: list[np.ndarray] = []
        doms: list[Any] = []
        parent_ub: list[float] = []
        choices: list[list[tuple]] = []
        for neg, _, bx, (d, *unit), dom in [heapq.heappop(heap) for _ in range(min(obj.batch // 2, len(heap)))]:
            mid = 0.5 * (bx[d, 0] + bx[d, 1])
            lo_box, hi_box = bx.copy(), bx.copy()
            lo_box[d, 1] = mid
            hi_box[d, 0] = mid
            k = len(kids)
            choices.append([(k, k + 1)])
            kids += [lo_box, hi_box]
            doms += [dom, dom]
            parent_ub += [-neg, -neg]
            if unit:                                 # and the kind's own branch (on a unit): both bounded
                choices[-1].append((k + 2, k + 3))
                kids += [bx, bx]
                doms += obj.divide(dom, *unit)
                parent_ub += [-neg, -neg]
                stats["unit_tried"] += 1
        bound_and_keep(np.array(kids), doms, np.array(parent_ub), choices)
        up = max(best, closed, -heap[0][0] if heap else -np.inf)
        progress(stats["boxes"], None, f"max in [{best:.6g}, {up:.6g}], {len(heap)} open boxes")
        yield stats
    value = obj.exact(best_x)
    upper = max(value, best, closed, -heap[0][0] if heap else -np.inf)
    complete = upper - value <= tol(value)
    if threshold is not None and stop != "timeout" and not complete:
        stop = "threshold"
    stats.update(time=time.perf_counter() - t0, open=len(heap), stop=stop)
    return MaxResult(value, best_x, upper, complete, atol, rtol, stats)


def close_everywhere(a: ReLUNet, b: ReLUNet, box: np.ndarray, eps: float, *, timeout: float | None = None,
                     progress: Progress = no_progress,
                     settings: Settings = DEFAULT) -> tuple[bool | None, np.ndarray | None, float]:
    """Is ``|b(x) - a(x)| <= eps`` for every output and every ``x`` in ``box``, for two ReLU
    networks of the same widths? Breadth-first input splitting with
    :func:`~srmverify.bounds.relu.difference_bounds` (the difference propagated layer by
    layer, tight when the weights differ little, where two separate bounds of ``a`` and ``b``
    never cancel). Returns ``(True, None, bound)`` with a proven ``bound <= eps``;
    ``(False, x, diff)`` with a box centre whose float difference exceeds ``eps`` (to be
    re-checked exactly by the caller); ``(None, None, inf)`` at the time limit.

    Examples
    --------
    >>> a = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])          # |x|
    >>> b = ReLUNet([([[1.001], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])        # b - a = 0.001 x+
    >>> close_everywhere(a, b, np.array([[-1.0, 1.0]]), 0.002)[0]
    True
    >>> ok, x, diff = close_everywhere(a, b, np.array([[-1.0, 1.0]]), 0.0005)
    >>> ok, bool(x[0] > 0.5 and diff > 0.0005)
    (False, True)
    """
    deadline = None if timeout is None else time.perf_counter() + timeout
    queue = [np.asarray(box, dtype=float)]
    bound, boxes = 0.0, 0
    while queue:
        if expired(deadline):
            return None, None, np.inf
        batch, queue = np.array(queue[:settings.bab_batch]), queue[settings.bab_batch:]

        boxes += len(batch)
        lo, hi = difference_bounds(a, b, batch)
        worst = np.maximum(-lo, hi).max(axis=1)
        closed = worst <= eps
        if closed.any():
            bound = max(bound, float(worst[closed].max()))
        rest = batch[~closed]
        if not len(rest):
            continue
        centres = rest.mean(axis=2)
        diff = np.abs(b.evaluate(centres) - a.evaluate(centres)).max(axis=1)
        k = int(np.argmax(diff))
        if diff[k] > eps:
            return False, centres[k], float(diff[k])
        dim = np.argmax(rest[:, :, 1] - rest[:, :, 0], axis=1)
        mid = rest[np.arange(len(rest)), dim].mean(axis=1)
        for bx, d, m in zip(rest, dim, mid):
            left, right = bx.copy(), bx.copy()
            left[d, 1] = right[d, 0] = m
            queue += [left, right]
        progress(boxes, None, f"|a - b| <= {eps:g}? {len(queue)} open boxes")
    return True, None, bound


#: Branch and bound of a DNF: attack (:func:`~srmverify.verify.attack.pgd`) every this many batches.
ATTACK_EVERY = 8
#: Starts of each attack (random points of the root box, then centres of the least proven boxes).
ATTACK_STARTS = 64
#: Exact re-checks (``accept``) of float candidates allowed in one search (near ties cost one each).
MAX_ACCEPTS = 64
#: The split rules and each one's share of the time: every rule has its own search tree, and the
#: searches run interleaved, one batch at a time, the next batch going to the search with the least
#: time spent relative to its share, until one of them decides (so a rule that needs ``t`` s alone
#: decides in about ``t / share``, and no search restarts from the root). ``grad`` splits the coordinate
#: with the largest ``|slope| * width`` of the linear bound (best on large boxes), ``wide`` the one
#: split least so far relative to the root box (best on thin boxes, where the slopes mislead).
#: Continuing one rule's open boxes with the other was measured slower: each rule needs its own tree.
#: ACAS Xu (CPU seconds, loaded machine): 3_3 prop 2 needs 31.5 s with ``grad``, > 41 s with
#: ``wide``; 1_1 prop 3 22.6 s with ``grad``, 4.2 s with ``wide``: ``grad`` gets most of the time.
SPLIT_RULES = (("grad", 0.8), ("wide", 0.2))
#: CPU seconds the first rule runs alone before the others join (most searches end before).
HEAD_START = 1.0
#: ``wide`` measures a coordinate's width relative to its root width, but never to less than this
#: fraction of the root box's largest width (a nearly fixed input is split only once the others
#: are as thin).
WIDE_FLOOR = 1 / 64


def _negated(net: ReLUNet) -> ReLUNet:
    """``-net`` (the last layer negated): lower bounds of ``net`` are minus upper bounds of it."""
    W, b = net.layers[-1]
    return ReLUNet(list(net.layers[:-1]) + [(-W, -b)])


@dataclass
class DnfResult:
    """``verdict``: ``"sat"`` (``x`` was accepted by the caller's exact re-check), ``"unsat"``
    (every box closed: each conjunction has an atom proven false there by linear bounds or by a
    leaf MILP, the latter up to the MILP tolerance) or ``None`` (time limit, or boxes too small
    to split that neither closed nor gave an accepted point)."""

    verdict: str | None
    x: np.ndarray | None
    stats: dict = field(default_factory=dict)


def decide_dnf(nets: list[ReLUNet], box: np.ndarray, dnf: list[list[tuple[np.ndarray, float, bool]]],
               accept, *, engine: str = "highs", timeout: float | None = None,
               progress: Progress = no_progress, settings: Settings = DEFAULT) -> DnfResult:
    """Is there an ``x`` in ``box`` where some conjunction of linear atoms over the stacked
    outputs ``Y`` of ``nets`` holds? Each atom is ``(c, d, strict)``: ``c @ Y <= d`` (``<``).

    One input-splitting search for the whole DNF. Every atom becomes an output
    ``f = c @ Y - d`` of one merged network (:func:`objective_net`); on each box of a batch the
    linear (CROWN) lower bounds of all ``f`` are computed at once, and a conjunction is *closed* on a box (and on all its
    sub-boxes) when one of its atoms has a lower bound ``> 0`` (``>= 0`` for a strict atom), or
    when a convex combination of its atoms' linear bounds is ``> 0`` on the box
    (:func:`~srmverify.bounds.relu.conjunction_lower_bound`: some atom fails at every point). A
    box is done when all its conjunctions are closed; a box with at most
    :attr:`~srmverify.settings.Settings.bab_leaf_unstable` unstable ReLUs closes its open
    conjunctions by exact leaf MILPs (:func:`conjunction_program`). Open boxes are split, least
    proven first, on the coordinate chosen by the split rule; each rule of :data:`SPLIT_RULES`
    has its own search, and the searches run interleaved by their shares of the CPU time
    (:func:`interleave`) until one decides.
    Falsification runs throughout: the minimisers of the linear bounds and the box centres are
    evaluated, and every :data:`ATTACK_EVERY` batches projected gradient descent
    (:mod:`~srmverify.verify.attack`) starts from the least proven boxes. A float point that
    satisfies a conjunction is passed to ``accept(x) -> bool`` (the caller's exact re-check);
    the first accepted point ends the search with ``"sat"``.

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])     # |x|
    >>> box = np.array([[-1.0, 2.0]])
    >>> both = lambda lo, hi: [[(np.array([-1.0]), -lo, False), (np.array([1.0]), hi, False)]]
    >>> decide_dnf([net], box, both(1.5, 1.7), lambda x: True).verdict     # 1.5 <= |x| <= 1.7
    'sat'
    >>> decide_dnf([net], box, both(2.5, 3.0), lambda x: True).verdict     # nothing reaches 2.5
    'unsat'
    """
    t0 = time.perf_counter()
    deadline = None if timeout is None else t0 + timeout
    searches = {split: _decide(nets, box, dnf, accept, split, engine, deadline, progress, settings)
                for split, _ in SPLIT_RULES}
    split, r, last, spent = interleave(searches, dict(SPLIT_RULES), deadline, HEAD_START)
    total: dict = {}
    for stats in last.values():                  # counts summed over the searches
        for k, v in stats.items():
            if isinstance(v, (int, float)) and k != "time":
                total[k] = total.get(k, 0) + v
    total.update(time=time.perf_counter() - t0, split=split, split_time={k: round(v, 3) for k, v in spent.items()},
                 stop=r.stats.get("stop", "timeout") if r is not None else "timeout")
    return DnfResult(r.verdict if r is not None else None, r.x if r is not None else None, total)


def interleave(searches: dict[str, Generator[dict, None, DnfResult]], share: dict[str, float],
               deadline: float | None, head_start: float = HEAD_START,
               clock: Callable[[], float] = time.process_time) -> tuple[str | None, DnfResult | None, dict, dict]:
    """Run resumable searches (each yields its statistics after every step and returns a
    :class:`DnfResult`) one step at a time until one returns a verdict, all have returned, or the
    deadline passes. The first search runs alone for ``head_start`` seconds of ``clock`` (CPU
    time: the work done, whatever the load); then each step goes to the search with the least
    time spent relative to its ``share``. Returns ``(the deciding search or None, its result or
    None (time limit, or the last result without a verdict), each search's last statistics,
    the time each spent)``; searches not finished are closed.

    >>> def search(steps, verdict):
    ...     for i in range(steps):
    ...         yield {"steps": i + 1}
    ...     return DnfResult(verdict, None, {"steps": steps, "stop": "closed"})
    >>> t = iter(range(1000))                       # a clock: every step costs one unit
    >>> split, r, last, spent = interleave({"a": search(20, None), "b": search(5, "unsat")}, {"a": 2 / 3, "b": 1 / 3},
    ...                                    None, head_start=2, clock=lambda: next(t))
    >>> split, r.verdict, last, spent          # b decides after 6 steps, a had 2 alone and then twice b's time
    ('b', 'unsat', {'a': {'steps': 11}, 'b': {'steps': 5, 'stop': 'closed'}}, {'a': 11.0, 'b': 6.0})
    """
    first = next(iter(searches))
    searches = dict(searches)
    spent = dict.fromkeys(searches, 0.0)
    last: dict = {}
    result = None
    try:
        while searches and not expired(deadline):
            key = first if first in searches and spent[first] < head_start else \
                min(searches, key=lambda k: spent[k] / share[k])
            t1 = clock()
            try:
                last[key] = next(searches[key])
            except StopIteration as done:
                result = done.value
                last[key] = result.stats
                del searches[key]
                if result.verdict is not None:
                    return key, result, last, spent
            finally:
                spent[key] += clock() - t1
        return None, result if not searches else None, last, spent
    finally:
        for search in searches.values():
            search.close()


def _decide(nets: list[ReLUNet], box: np.ndarray, dnf: list, accept, split: str, engine: str,
            deadline: float | None, progress: Progress, settings: Settings) -> Generator[dict, None, DnfResult]:
    """One search of :func:`decide_dnf` with the split rule ``split``, resumable: it yields its
    statistics after every batch and returns its result."""
    from .attack import margins, pgd        # attack imports nothing from here; local: no cycle at import

    t0 = time.perf_counter()
    box = np.asarray(box, dtype=float)
    n = box.shape[0]
    sizes = np.cumsum([0] + [nt.n_outputs for nt in nets])
    atoms = [a for conj in dnf for a in conj]
    C = np.array([np.asarray(c, dtype=float).reshape(-1) for c, _, _ in atoms])
    d = np.array([float(dd) for _, dd, _ in atoms])
    strict = np.array([bool(s) for _, _, s in atoms])
    net = objective_net(list(nets), [C[:, s:e] for s, e in zip(sizes[:-1], sizes[1:])], -d)
    conjs, start = [], 0
    for conj in dnf:
        conjs.append(list(range(start, start + len(conj))))
        start += len(conj)
    K, L = len(conjs), len(net.layers)
    neg = _negated(net)
    span = np.maximum(box[:, 1] - box[:, 0], WIDE_FLOOR * (box[:, 1] - box[:, 0]).max()) + 1e-300
    member = np.zeros((K, len(atoms)), bool)
    for k, c in enumerate(conjs):
        member[k, c] = True
    stats: dict = {"boxes": 0, "leaf_milps": 0, "leaf_closed": 0, "combined_closed": 0, "attacks": 0,
                   "accepts": 0, "leaf_time": 0.0}
    rng = np.random.default_rng(0)
    found: list[np.ndarray] = []

    def try_points(X: np.ndarray) -> bool:
        if stats["accepts"] >= MAX_ACCEPTS:
            return False
        g = margins(net, X, conjs).min(axis=1)      # <= 0: a conjunction holds in floats
        for i in np.argsort(g)[:4]:
            if g[i] > 0 or stats["accepts"] >= MAX_ACCEPTS:
                break
            stats["accepts"] += 1
            if accept(X[i]):
                found.append(X[i])
                return True
        return False

    def attack(centres: np.ndarray) -> bool:
        stats["attacks"] += 1
        starts = np.vstack([centres, box[:, 0] + rng.random((ATTACK_STARTS, n)) * (box[:, 1] - box[:, 0])])
        P, _ = pgd(net, starts, box[:, 0], box[:, 1], conjs)
        return try_points(P)

    def bound(boxes: np.ndarray, masks: np.ndarray):
        """Lower bounds of the atoms on each box (optimised slopes for the best atom of each open
        conjunction), their linear bounds' slopes, the pre-activation bounds, the conjunctions
        still open and each box's score (bound of its least proven open conjunction; ``inf``:
        closed)."""
        stats["boxes"] += len(boxes)
        pre = forward_bounds_batch(net, boxes, layers=L - 1, refine=True)
        lb, A, c = backsubstitute(net, L - 1, None, pre, boxes, upper=False)
        masks = masks & ~_proven(lb)
        bb, kk = np.nonzero(masks)
        if len(bb):
            best_atom = np.argmax(np.where(member[kk], lb[bb], -np.inf), axis=1)
            opt = -optimised_upper_bound(neg, [(lo[bb], hi[bb]) for lo, hi in pre], boxes[bb], settings.bab_alpha_steps,
                                         rows=best_atom)
            lb[bb, best_atom] = np.maximum(lb[bb, best_atom], opt - settings.bound_margin * (1 + np.abs(opt)))
            masks &= ~_proven(lb)
        best = np.where(member[None] & masks[:, :, None], lb[:, None, :], -np.inf).max(axis=2)   # (B, K)
        for kc, atoms_k in enumerate(conjs):
            sel = np.flatnonzero(masks[:, kc]) if len(atoms_k) > 1 else np.zeros(0, int)
            if len(sel):
                phi, _ = conjunction_lower_bound(A[sel][:, atoms_k], c[sel][:, atoms_k], boxes[sel])
                phi = phi - settings.bound_margin * (1 + np.abs(phi))
                best[sel, kc] = np.maximum(best[sel, kc], phi)
                masks[sel[phi > 0], kc] = False
                stats["combined_closed"] += int((phi > 0).sum())
        score = np.where(masks, best, np.inf).min(axis=1)
        return lb, A, pre, masks, score

    def _proven(lb: np.ndarray) -> np.ndarray:
        """(B, K): conjunctions with an atom proven false."""
        proven = np.where(strict, lb >= 0, lb > 0)
        return np.any(proven[:, None, :] & member[None], axis=2)

    def coordinate(bx: np.ndarray, a: np.ndarray) -> int:
        """The split coordinate of the rule (``a``: the box's ``|slopes|``)."""
        widths = bx[:, 1] - bx[:, 0]
        return int(np.argmax((a + a.mean() + 1e-12) * widths if split == "grad" else widths / span))

    def expand(parents: list) -> tuple[np.ndarray, tuple]:
        """Both halves of every parent ``(box, mask, |slopes|)``, bounded."""
        kids = []
        for bx, _, a in parents:
            dim = coordinate(bx, a)
            mid = 0.5 * (bx[dim, 0] + bx[dim, 1])
            lo_box, hi_box = bx.copy(), bx.copy()
            lo_box[dim, 1] = hi_box[dim, 0] = mid
            kids += [lo_box, hi_box]
        boxes = np.array(kids)
        return boxes, bound(boxes, np.repeat(np.array([p[1] for p in parents]), 2, axis=0))

    # open boxes: (score, counter, box, open-conjunction mask, |slopes|)
    heap: list = []
    counter = 0
    unresolved = 0
    batches = 0
    if attack(box.mean(axis=1)[None]):
        return DnfResult("sat", found[0], dict(stats, time=time.perf_counter() - t0, stop="sat"))
    boxes = box[None]
    res = bound(boxes, np.ones((1, K), bool))
    while True:
        lb, A, pre, masks, score = res
        live = np.flatnonzero(masks.any(axis=1))
        if len(live):      # falsification: minimisers of the atoms' linear lower bounds, and the centres
            cand = np.where(A[live] > 0, boxes[live, None, :, 0], boxes[live, None, :, 1]).reshape(-1, n)
            if try_points(np.vstack([cand, boxes[live].mean(axis=2)])):
                break
        unstable = sum(((lo < 0) & (hi > 0)).sum(axis=1) for lo, hi in pre)
        for f in live:
            bx, mask = boxes[f], masks[f]
            if unstable[f] <= settings.bab_leaf_unstable and not expired(deadline):
                for kc in np.flatnonzero(mask):
                    t1 = time.perf_counter()
                    limit = settings.bab_leaf_time if deadline is None else \
                        min(settings.bab_leaf_time, max(deadline - time.perf_counter(), settings.min_time_slice))
                    leaf = conjunction_program(net, bx, [(lo[f], hi[f]) for lo, hi in pre], conjs[kc])
                    sol = solve_leaf(leaf, engine, limit, settings)
                    stats["leaf_milps"] += 1
                    stats["leaf_time"] += time.perf_counter() - t1
                    if sol.status == "infeasible":
                        stats["leaf_closed"] += 1
                        mask[kc] = False
                    elif sol.has_point and try_points(np.clip(sol.point[:n], bx[:, 0], bx[:, 1])[None]):
                        break
                if found:
                    break
                if not mask.any():
                    continue
            best = np.where(member[mask], lb[f][None], -np.inf)          # (open conjunctions, atoms)
            k = int(np.argmin(best.max(axis=1)))
            widths = bx[:, 1] - bx[:, 0]
            if not np.any(bx[:, 0] < bx[:, 0] + 0.5 * widths):
                unresolved += 1                      # too small to split
                continue
            heapq.heappush(heap, (float(score[f]), counter, bx, mask.copy(), np.abs(A[f, int(np.argmax(best[k]))])))
            counter += 1
        if found or not heap:
            break
        if expired(deadline):
            stats.update(time=time.perf_counter() - t0, open=len(heap), stop="timeout")
            return DnfResult(None, None, stats)
        batches += 1
        if batches % ATTACK_EVERY == 0:
            if attack(np.array([h[2].mean(axis=1) for h in heapq.nsmallest(ATTACK_STARTS // 2, heap)])):
                break
        progress(stats["boxes"], None, f"{len(heap)} open boxes ({split})")
        yield stats
        parents = [heapq.heappop(heap)[2:] for _ in range(min(settings.bab_batch // 2, len(heap)))]
        boxes, res = expand(parents)
    stats.update(time=time.perf_counter() - t0, open=len(heap), unresolved=unresolved)
    if found:
        return DnfResult("sat", found[0], dict(stats, stop="sat"))
    return DnfResult("unsat" if not unresolved else None, None, dict(stats, stop="closed" if not unresolved else "unresolved"))
