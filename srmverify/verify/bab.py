"""Branch and bound over input splits: the true maximum of a linear function of the outputs
of ReLU networks on a box, up to a stated tolerance.

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
  (:func:`leaf_arrays`): the ReLUs stable on the box are substituted away, so only the unstable
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
from typing import Any
from dataclasses import dataclass, field

import numpy as np

from ..deadline import expired
from ..bounds.relu import backsubstitute, difference_bounds, optimised_upper_bound, symbolic_bounds_batch
from ..network import ReLUNet
from ..results import Progress, no_progress
from ..simulate import relu_exact
from ..solvers import solve_arrays
from ..solvers.bigm import MilpArrays
from ..settings import DEFAULT, Settings


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


def objective_net(nets: list[ReLUNet], coefs: list[np.ndarray], const: float = 0.0) -> ReLUNet:
    """One ReLU network computing ``sum_i coefs[i] @ nets[i](x) + const`` (all nets share the
    input). Shorter networks are padded with ``relu(z) - relu(-z)`` pass-through layers; hidden
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
    coef = np.concatenate([np.asarray(ci, dtype=float).reshape(-1) for ci in coefs])
    W, b = out[-1]
    out[-1] = (coef[None, :] @ W, np.array([coef @ b + const]))
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


def leaf_arrays(net: ReLUNet, box: np.ndarray, pre: list, cutoff: float | None = None,
                tau: float = DEFAULT.tau) -> MilpArrays:
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
    >>> m = leaf_arrays(net, np.array([[-1.0, 2.0]]), [(np.array([-1.0, -2.0]), np.array([2.0, 1.0]))])
    >>> len(m.cost), int(m.integer.sum()), m.n_rows
    (5, 2, 6)
    >>> solve_arrays(m).objective
    1.5
    """
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
    cost, const = (W @ P)[0], float((W @ q + b)[0])
    N = len(cost)
    A = np.vstack([np.hstack([R, np.zeros((len(R), N - R.shape[1]))]) for R, _ in blocks] + [np.zeros((0, N))])
    rhs = np.concatenate([r for _, r in blocks] + [np.zeros(0)])
    if cutoff is not None:
        A, rhs = np.vstack([A, -cost[None]]), np.append(rhs, const - cutoff)
    nz = A != 0
    starts = np.concatenate([[0], np.cumsum(nz.sum(axis=1))])
    return MilpArrays(cost, const, True, np.concatenate(col_lo), np.concatenate(col_hi), np.concatenate(integer),
                      np.full(len(rhs), -np.inf), rhs, starts, np.nonzero(nz)[1], A[nz], tau)


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


def maximize_relu(net: ReLUNet, box: np.ndarray, *, atol: float = 1e-6, rtol: float = 1e-9,
                  threshold: float | None = None, engine: str = "highs", timeout: float | None = None,
                  progress: Progress = no_progress, settings: Settings = DEFAULT) -> MaxResult:
    """Maximum of the single output of ``net`` over ``box`` by branch and bound (module doc).

    ``threshold``: for a yes/no question "is the maximum ``> threshold``?" -- stop as soon as
    ``value > threshold`` or ``upper <= threshold``; boxes whose bound is ``<= threshold`` are
    not refined (the bracket then need not close). ``engine`` solves the leaf MILPs (``z3``
    falls back to HiGHS).

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
    t0 = time.perf_counter()
    deadline = None if timeout is None else t0 + timeout
    box = np.asarray(box, dtype=float)
    n = box.shape[0]
    best_x = box.mean(axis=1)
    best = float(net.evaluate(best_x)[0, 0])
    closed = -np.inf            # largest proven bound of a discarded box
    heap: list[tuple[float, int, np.ndarray, int]] = []
    counter = 0
    stats: dict[str, Any] = {"boxes": 0, "leaf_milps": 0, "leaf_closed": 0, "pruned": 0, "leaf_time": 0.0}

    def tol(v: float) -> float:
        return atol + rtol * abs(v)

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
        vals = net.evaluate(cand)[:, 0]
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

    def keep(bx: np.ndarray, ub: float, a: np.ndarray, unstable: int, pre_b) -> None:
        """Prune, close by a leaf MILP, or queue one box."""
        nonlocal closed, counter
        if ub <= target():
            stats["pruned"] += 1
            closed = max(closed, ub)
            return
        if unstable <= settings.bab_leaf_unstable and not decided() and not expired(deadline):
            t1 = time.perf_counter()
            cutoff = best + tol(best) / 2 if threshold is None else max(best + tol(best) / 2, threshold)
            limit = settings.bab_leaf_time if deadline is None else min(settings.bab_leaf_time, left())
            sol = solve_arrays(leaf_arrays(net, bx, pre_b, cutoff, settings.tau), engine, limit, settings)
            stats["leaf_milps"] += 1
            stats["leaf_time"] += time.perf_counter() - t1
            if sol.has_point:
                offer(np.clip(sol.values[:n], bx[:, 0], bx[:, 1])[None])
            bound = cutoff if sol.status == "infeasible" else sol.bound if sol.status == "optimal" else None
            if bound is not None:
                stats["leaf_closed"] += 1
                closed = max(closed, bound)
                return
        widths = bx[:, 1] - bx[:, 0]
        score = (np.abs(a) + np.abs(a).mean() + 1e-12) * widths
        heapq.heappush(heap, (-float(ub), counter, bx, int(np.argmax(score))))
        counter += 1

    def bound_and_keep(boxes: np.ndarray, parent_ub: np.ndarray) -> None:
        ub, A, unst, pre = _bound_boxes(net, boxes, settings.bound_margin)
        ub = np.minimum(ub, parent_ub)          # a sub-box's bound is not always tighter: keep the best
        stats["boxes"] += len(boxes)
        offer(np.concatenate([np.where(A > 0, boxes[:, :, 1], boxes[:, :, 0]), boxes.mean(axis=2)]))
        local_search()
        ub = _tighten(net, boxes, pre, ub, target(), settings)
        for f in range(len(boxes)):
            keep(boxes[f], float(ub[f]), A[f], int(unst[f]), [(lo[f], hi[f]) for lo, hi in pre])

    bound_and_keep(box[None], np.array([np.inf]))
    stop = "closed"
    while heap and -heap[0][0] > target():
        if decided():
            stop = "threshold"
            break
        if expired(deadline):
            stop = "timeout"
            break
        kids, parent_ub = [], []
        for neg, _, bx, d in [heapq.heappop(heap) for _ in range(min(settings.bab_batch // 2, len(heap)))]:
            mid = 0.5 * (bx[d, 0] + bx[d, 1])
            lo_box, hi_box = bx.copy(), bx.copy()
            lo_box[d, 1] = mid
            hi_box[d, 0] = mid
            kids += [lo_box, hi_box]
            parent_ub += [-neg, -neg]
        bound_and_keep(np.array(kids), np.array(parent_ub))
        up = max(best, closed, -heap[0][0] if heap else -np.inf)
        progress(stats["boxes"], None, f"max in [{best:.6g}, {up:.6g}], {len(heap)} open boxes")
    value = float(relu_exact(net, best_x.tolist())[0])
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
