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


def _halves(boxes: np.ndarray) -> np.ndarray:
    """All ``2 n`` half boxes of every box: shape ``(B, n, 2, n, 2)`` (box, dim, side, ...)."""
    B, n, _ = boxes.shape
    mid = boxes.mean(axis=2)                                   # (B, n)
    kids = np.broadcast_to(boxes[:, None, None], (B, n, 2, n, 2)).copy()
    d = np.arange(n)
    kids[:, d, 0, d, 1] = mid
    kids[:, d, 1, d, 0] = mid
    return kids


def maximize_relu(net: ReLUNet, box: np.ndarray, *, atol: float = 1e-6, rtol: float = 1e-9,
                  engine: str = "highs", timeout: float | None = None,
                  progress: Progress = no_progress) -> MaxResult:
    """Maximum of the single output of ``net`` over ``box`` by branch and bound (module doc).

    Branching is *strong*: every coordinate split of a box is bounded (one numpy batch) and the
    split with the smallest larger-child bound is kept.

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

    def keep(bx: np.ndarray, ub: float, unstable: int, pre_b) -> None:
        """Prune, close by a leaf MILP, or queue one box."""
        nonlocal best, best_x, counter
        if ub <= best + tol(best):
            stats["pruned"] += 1
            return
        if unstable <= LEAF_UNSTABLE:
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
        heapq.heappush(heap, (-float(ub), counter, bx))
        counter += 1

    ub, A, unst, pre = _bound_boxes(net, box[None])
    stats["boxes"] += 1
    incumbent(box[None], A)
    keep(box, float(ub[0]), int(unst[0]), [(lo[0], hi[0]) for lo, hi in pre])
    complete = True
    batch_parents = max(1, BATCH // (2 * n))
    scale = np.maximum(box[:, 1] - box[:, 0], 1e-300)
    while heap:
        if -heap[0][0] <= best + tol(best):
            break
        if deadline is not None and time.perf_counter() > deadline:
            complete = False
            break
        popped = [heapq.heappop(heap) for _ in range(min(batch_parents, len(heap)))]
        parents = np.array([b for _, _, b in popped])
        parent_ub = -np.array([u for u, _, _ in popped])
        kids = _halves(parents)                                           # (P, n, 2, n, 2)
        flat = kids.reshape(-1, n, 2)
        ub, A, unst, pre = _bound_boxes(net, flat)
        stats["boxes"] += len(flat)
        incumbent(flat, A)
        ubk = ub.reshape(len(parents), n, 2)
        rel_width = (parents[:, :, 1] - parents[:, :, 0]) / scale
        gain = np.where(rel_width > 0, parent_ub[:, None] - ubk.max(axis=2), -np.inf)
        # the split that lowers the larger child bound most; the widest one when none helps
        useful = gain.max(axis=1) > 1e-9 * (1 + np.abs(parent_ub))
        dims = np.where(useful, np.argmax(gain, axis=1), np.argmax(rel_width, axis=1))
        for p_i, d in enumerate(dims):
            for side in (0, 1):
                f = (p_i * n + d) * 2 + side
                keep(flat[f], float(ub[f]), int(unst[f]), [(lo[f], hi[f]) for lo, hi in pre])
        up = max(best, -heap[0][0]) if heap else best
        progress(stats["boxes"], None, f"max in [{best:.6g}, {up:.6g}], {len(heap)} open boxes")
    upper = max(best, -heap[0][0]) if heap else best
    complete = complete and upper - best <= tol(best)
    stats["time"] = time.perf_counter() - t0
    stats["open"] = len(heap)
    return MaxResult(best, best_x, upper, complete, atol, rtol, stats)
