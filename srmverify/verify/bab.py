"""Branch and bound over input splits: the true maximum of a linear function of the outputs
of ReLU networks on a box, up to a stated tolerance.

One big-M MILP of a 5-50-50-1 network with interval big-M constants does not finish in 300 s
here. With few inputs, splitting the input box works far better:

* every node is a sub-box; its upper bound is the symbolic (CROWN-style) linear bound of the
  objective, computed for a whole batch of boxes at once (numpy);
* the incumbent is always a *value the network really takes*: concrete evaluations at the
  centre of each box and at the corner maximising its linear bound (when every ReLU of a box is
  stable the network is affine there, so that corner is the box's exact maximum);
* a box with at most :data:`LEAF_UNSTABLE` unstable ReLUs is closed by a small exact MILP with
  the box's own bounds;
* branching splits the coordinate with the largest ``|slope| * width`` of the linear bound.

It stops when ``upper - incumbent <= atol + rtol * |incumbent|`` (the result states both), at the
time limit (then the bracket is still sound) or when the queue is empty.
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np

from ..bounds.deadline import expired
from ..bounds.relu import backsubstitute, symbolic_bounds_batch
from ..encode.network import input_vars
from ..encode.program import Lin, Program
from ..encode.relu import encode_relu
from ..network import ReLUNet
from ..results import Progress, no_progress
from ..solvers import solve

#: A box with at most this many unstable ReLUs is solved exactly by a MILP.
LEAF_UNSTABLE = 8
#: Boxes processed per batch.
BATCH = 256
#: Random local-search points around the incumbent per batch.
LOCAL_STEPS = 64


@dataclass
class MaxResult:
    """``value`` = objective at ``x`` (a real input: a lower bound of the maximum); ``upper`` =
    proven upper bound; ``complete`` = the bracket closed within ``atol + rtol*|value|``."""

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
    input). Shorter networks are padded with ``relu(z) - relu(-z)`` pass-through layers.

    >>> a = ReLUNet([([[1.0]], [0.0]), ([[2.0]], [1.0])]); b = ReLUNet([([[3.0]], [0.0])])
    >>> objective_net([a, b], [np.array([1.0]), np.array([-1.0])]).evaluate([[2.0]]).tolist()
    [[-1.0]]
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
    c = np.concatenate([np.asarray(ci, dtype=float).reshape(-1) for ci in coefs])
    W, b = out[-1]
    out[-1] = (c[None, :] @ W, np.array([c @ b + const]))
    return ReLUNet(out)


def _leaf_milp(net: ReLUNet, box: np.ndarray, pre: list, engine: str, timeout: float | None):
    p = Program()
    x = input_vars(p, box)
    vm = encode_relu(p, net, x, pre)
    p.maximize(Lin.var(vm.outputs[0]))
    return solve(p, engine if engine != "z3" else "highs", timeout), vm


def _bound_boxes(net: ReLUNet, boxes: np.ndarray):
    """Symbolic upper bound of the output on each box, its linear bound's slopes, the number of
    unstable ReLUs and the intermediate bounds."""
    L = len(net.layers)
    pre = symbolic_bounds_batch(net, boxes, layers=L - 1)
    ub, A, _ = backsubstitute(net, L - 1, np.ones((len(boxes), 1, 1)), pre, boxes, upper=True)
    ub = ub[:, 0] + 1e-9 * (1 + np.abs(ub[:, 0]))
    unstable = sum(((lo < 0) & (hi > 0)).sum(axis=1) for lo, hi in pre) if pre else np.zeros(len(boxes), int)
    return ub, A[:, 0, :], unstable, pre


def maximize_relu(net: ReLUNet, box: np.ndarray, *, atol: float = 1e-6, rtol: float = 1e-9,
                  engine: str = "highs", timeout: float | None = None,
                  progress: Progress = no_progress) -> MaxResult:
    """Maximum of the single output of ``net`` over ``box`` by branch and bound (module doc).

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [-0.5])])   # |x| - 0.5
    >>> r = maximize_relu(net, np.array([[-1.0, 2.0]]))
    >>> round(r.value, 9), r.complete
    (1.5, True)
    """
    t0 = time.perf_counter()
    deadline = None if timeout is None else t0 + timeout
    box = np.asarray(box, dtype=float)
    n = box.shape[0]
    best_x = box.mean(axis=1)
    best = float(net.evaluate(best_x)[0, 0])
    heap: list[tuple[float, int, np.ndarray]] = []
    counter = 0
    stats = {"boxes": 0, "leaf_milps": 0, "pruned": 0}

    def tol(v: float) -> float:
        return atol + rtol * abs(v)

    def left() -> float | None:
        return None if deadline is None else max(deadline - time.perf_counter(), 0.01)

    def incumbent(boxes: np.ndarray, A: np.ndarray) -> None:
        nonlocal best, best_x
        cand = np.concatenate([np.where(A > 0, boxes[:, :, 1], boxes[:, :, 0]), boxes.mean(axis=2)])
        vals = net.evaluate(cand)[:, 0]
        i = int(np.argmax(vals))
        if vals[i] > best:
            best, best_x = float(vals[i]), cand[i]

    rng = np.random.default_rng(0)
    span = box[:, 1] - box[:, 0]

    def local_search() -> None:
        """Random steps around the incumbent at several scales (a better incumbent prunes more)."""
        nonlocal best, best_x
        steps = rng.normal(size=(LOCAL_STEPS, n)) * span
        steps *= np.repeat(np.geomspace(0.1, 1e-4, 4), LOCAL_STEPS // 4)[:, None]
        cand = np.clip(best_x + steps, box[:, 0], box[:, 1])
        vals = net.evaluate(cand)[:, 0]
        i = int(np.argmax(vals))
        if vals[i] > best:
            best, best_x = float(vals[i]), cand[i]

    def keep(bx: np.ndarray, ub: float, a: np.ndarray, unstable: int, pre_b) -> None:
        """Prune, close by a leaf MILP, or queue one box."""
        nonlocal best, best_x, counter
        if ub <= best + tol(best):
            stats["pruned"] += 1
            return
        if unstable <= LEAF_UNSTABLE and not expired(deadline):
            bpre = list(pre_b) + [(np.array([-np.inf]), np.array([ub]))]
            bpre[-1] = (np.array([-abs(ub) - 1e9]), np.array([ub]))
            sol, vm = _leaf_milp(net, bx, bpre, engine, left())
            stats["leaf_milps"] += 1
            if sol.has_point:
                xb = np.clip(vm.input_point(sol.values), bx[:, 0], bx[:, 1])
                v = float(net.evaluate(xb)[0, 0])
                if v > best:
                    best, best_x = v, xb
            if sol.status == "optimal" and sol.bound is not None:
                return            # closed: its maximum (up to the MILP gap) is known
        widths = bx[:, 1] - bx[:, 0]
        score = (np.abs(a) + np.abs(a).mean() + 1e-12) * widths
        heapq.heappush(heap, (-float(ub), counter, bx, int(np.argmax(score))))
        counter += 1

    ub, A, unst, pre = _bound_boxes(net, box[None])
    stats["boxes"] += 1
    incumbent(box[None], A)
    keep(box, float(ub[0]), A[0], int(unst[0]), [(lo[0], hi[0]) for lo, hi in pre])
    complete = True
    while heap:
        if -heap[0][0] <= best + tol(best):
            break
        if expired(deadline):
            complete = False
            break
        kids = []
        parent_ub = []
        for neg, _, bx, d in [heapq.heappop(heap) for _ in range(min(BATCH // 2, len(heap)))]:
            mid = 0.5 * (bx[d, 0] + bx[d, 1])
            lo_box, hi_box = bx.copy(), bx.copy()
            lo_box[d, 1] = mid
            hi_box[d, 0] = mid
            kids += [lo_box, hi_box]
            parent_ub += [-neg, -neg]
        kids = np.array(kids)
        ub, A, unst, pre = _bound_boxes(net, kids)
        ub = np.minimum(ub, parent_ub)          # a sub-box's bound is not always tighter: keep the best
        stats["boxes"] += len(kids)
        incumbent(kids, A)
        local_search()
        for f in range(len(kids)):
            keep(kids[f], float(ub[f]), A[f], int(unst[f]), [(lo[f], hi[f]) for lo, hi in pre])
        up = max(best, -heap[0][0]) if heap else best
        progress(stats["boxes"], None, f"max in [{best:.6g}, {up:.6g}], {len(heap)} open boxes")
    upper = max(best, -heap[0][0]) if heap else best
    complete = complete and upper - best <= tol(best)
    stats["time"] = time.perf_counter() - t0
    stats["open"] = len(heap)
    return MaxResult(best, best_x, upper, complete, atol, rtol, stats)
