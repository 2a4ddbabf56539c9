"""The verification queries users run: output bounds, local robustness, equivalence and
VNN-LIB-style properties. Every function takes boxes in DATA space (``(n, 2)`` arrays), an
``engine`` (``highs`` default, ``cbc``, ``highs-pulp``, ``z3``), a ``timeout`` in seconds and a
``progress`` callback, and never prints.
"""
from __future__ import annotations

import time
from fractions import Fraction
from typing import Sequence, cast

import numpy as np

from ..bounds import relu_preactivation_bounds, snn_time_bounds
from ..convert.certificate import certify
from ..deadline import DeadlineExpired, deadline_after, expired, remaining
from ..encode.program import Lin
from ..errors import InputError
from ..limits import check_magnitude
from ..network import ReLUNet, SNN
from ..results import BoundsResult, Progress, QueryResult, Verdict, no_progress
from ..simulate import simulate_exact, to_fraction
from ..solvers import check_engine, solve
from ..settings import DEFAULT, Settings
from ..solvers.registry import EXACT_ENGINES
from .bab import close_everywhere, maximize_relu, objective_net, share_cpu
from .bab_snn import snn_search
from .lift import check_lifted, decide_lifted, lift_all, liftable_query
from .refine import refine
from ..formats.arrays import check_box
from ..formats.json_net import network_to_dict
from ..formats.vnnlib import VnnlibProperty
from .pipeline import Atom, Net, counterexample, dnf_holds_exact, encode_nets, falsify_by_sampling, find_violation, \
    flatten, stacked_exact, violation_by_branch_and_bound

BOUND_METHODS = ("optimal", "interval", "symbolic")


# ----------------------------------------------------------------------------- bounds
def _fast_bounds(net: Net, box: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if isinstance(net, ReLUNet):
        lo, hi = relu_preactivation_bounds(net, box, method)[-1]
        return lo, hi, np.zeros(len(lo), bool), method
    b = snn_time_bounds(net, box)
    lo, hi, mnf = b.outputs(net)
    return lo, hi, mnf, "corners (exact)" if b.exact else "interval"


def _opt(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def output_bounds(net: Net, box: np.ndarray, *, method: str = "optimal", engine: str = "highs",
                  timeout: float | None = None, progress: Progress = no_progress,
                  settings: Settings = DEFAULT) -> BoundsResult:
    """Guaranteed lower/upper bound of every output over ``box``.

    ``method``: ``"optimal"`` (tight: branch and bound / MILP / SMT optima; positive-weight SNNs
    exactly by corner simulation), ``"interval"`` or ``"symbolic"`` (fast sound propagation).
    The result says which (``method``, ``optimal``); on a timeout (one deadline for bounds,
    encoding and solving) ``complete`` is False and the bounds are the best SOUND ones known
    (propagation at worst; never an unproven incumbent).
    ``stats["attained"]`` holds the ``[min, max]`` values really taken by the network;
    ``stats["fires_nowhere"]`` lists the SNN outputs proven silent on the whole box (their bounds
    are ``None``: there is no value to bound).

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])   # |x|
    >>> r = output_bounds(net, np.array([[-1.0, 2.0]]))
    >>> [round(v, 6) + 0.0 for v in r.lower + r.upper], r.optimal
    ([0.0, 2.0], True)
    """
    t0 = time.perf_counter()
    deadline = deadline_after(timeout)
    check_engine(engine)
    if method not in BOUND_METHODS:
        raise InputError("bounds", "method", method, f"choose one of {', '.join(BOUND_METHODS)}")
    box = check_box(box, net.n_inputs)
    lo, hi, mnf, used = _fast_bounds(net, box, "symbolic" if method == "optimal" and isinstance(net, ReLUNet) else
                                     (method if method != "optimal" else "interval"))
    res = BoundsResult([_opt(v) for v in lo], [_opt(v) for v in hi], used, "propagation", False,
                       may_not_fire=[bool(v) for v in mnf])
    if method != "optimal":
        res.time = time.perf_counter() - t0
        return res
    if isinstance(net, SNN) and net.all_weights_positive:
        # monotone network: the corners are the exact extremes (model.md §1.1)
        ends = []
        for k in (0, 1):
            xs = [box[i, k] if (net.encoder is None or net.encoder.scale[i] > 0) else box[i, 1 - k] for i in range(net.n_inputs)]
            ends.append(simulate_exact(net, xs))
        a, b = (np.array([np.inf if v is None else float(v) for v in e]) for e in ends)   # (all fire: positive)
        res.lower, res.upper = np.minimum(a, b).tolist(), np.maximum(a, b).tolist()
        res.method, res.engine, res.optimal, res.tolerance = "corners", "exact simulation", True, None
        res.stats["attained"] = [[l, u] for l, u in zip(res.lower, res.upper)]
        res.stats["fires_nowhere"] = []     # a positive-weight neuron always fires: its potential grows without bound
        res.time = time.perf_counter() - t0
        return res
    res.method, res.engine, res.optimal = "optimal", engine, True
    res.tolerance = None if engine in EXACT_ENGINES else settings.tau
    attained, witness, gaps = [], [], []
    nowhere: list[int] = []
    m = net.n_outputs
    complete = True
    # an SNN's sides by branch and bound run side by side, sharing the CPU time (_snn_extremes)
    shared = _snn_extremes(net, box, engine, deadline, progress, settings) if isinstance(net, SNN) and \
        _bab(net, engine, settings) else {}
    for j in range(m):
        row: list[float | None] = []
        wit: list[list[float] | None] = []
        gap: list[float | None] = []
        silent = 0              # sides whose search proved that output j fires nowhere on the box
        for sign in (-1.0, 1.0):
            if (j, sign) in shared:
                val, bound, ok, x = shared[j, sign]
            elif expired(deadline):
                complete = False
                row.append(None)
                wit.append(None)
                gap.append(None)
                continue
            else:
                progress(2 * j + (sign > 0), 2 * m, f"output {j} {'max' if sign > 0 else 'min'}")
                val, bound, ok, x = _extreme(net, box, j, sign, engine, deadline, settings)
            complete &= ok
            silent += val is None and bound is None and ok
            row.append(None if val is None else sign * val)
            wit.append(None if val is None or x is None else [float(v) for v in x])
            gap.append(None if val is None or bound is None else max(0.0, float(bound) - val))
            if bound is not None and np.isfinite(bound):
                if sign > 0:
                    res.upper[j] = min(res.upper[j], bound) if res.upper[j] is not None else bound
                else:
                    res.lower[j] = max(res.lower[j], -bound) if res.lower[j] is not None else -bound
        if silent == 2 and isinstance(net, SNN):      # no value to bound
            res.lower[j] = res.upper[j] = None
            res.may_not_fire[j] = True
            nowhere.append(j)
        attained.append(row)
        witness.append(wit)
        gaps.append(gap)
    res.stats["attained"] = attained
    res.stats["witness"] = witness
    res.stats["gap"] = gaps
    res.stats["fires_nowhere"] = nowhere
    res.complete = complete
    res.optimal = complete
    res.time = time.perf_counter() - t0
    return res


def _bab(net: Net, engine: str, settings: Settings) -> bool:
    """Are the optima of ``net``'s outputs found by input-splitting branch and bound (a float
    engine and few inputs), not by one program per side?"""
    return engine not in EXACT_ENGINES and net.n_inputs <= settings.bab_max_inputs


def _snn_extremes(net: SNN, box: np.ndarray, engine: str, deadline: float | None, progress: Progress,
                  settings: Settings) -> dict[tuple[int, float], tuple]:
    """What :func:`_extreme` gives, for every output ``j`` and side ``sign`` of an SNN, by the
    branch and bound of :mod:`.bab_snn`: one search per side, all run side by side by
    :func:`~.bab.share_cpu` until ``deadline`` (while several are open they share the CPU time
    equally; the time a side does not need goes to the others).

    An SNN's maximum is taken over the inputs where output ``j`` fires; a mixed-sign SNN's map
    can jump, so its optimum may be a supremum that is not attained: its branch and bound is
    then proven (every box closed) with the bracket ``[value, bound]`` left open by less than
    the MILP tolerance's effect (the result's ``stats["gap"]``)."""
    sides = [(j, sign) for j in range(net.n_outputs) for sign in (-1.0, 1.0)]
    progress(0, len(sides), f"{len(sides)} output sides side by side")

    def side_progress(j: int, sign: float) -> Progress:
        name = f"output {j} max" if sign > 0 else f"output {j} min (max of -y{j})"
        return lambda done, total, message: progress(done, total, f"{name}: {message}")

    found = share_cpu({(j, sign): snn_search(net, box, j, sign, engine=engine, deadline=deadline,
                                             progress=side_progress(j, sign), settings=settings)
                       for j, sign in sides})
    out: dict[tuple[int, float], tuple] = {}
    for side, rs in found.items():
        if not np.isfinite(rs.upper):
            out[side] = (None, None, True, None)               # the output fires nowhere on the box
            continue
        val = rs.value if np.isfinite(rs.value) else None
        out[side] = (val, rs.upper, rs.stats["stop"] == "closed", rs.x if val is not None else None)
    return out


def _extreme(net: Net, box: np.ndarray, j: int, sign: float, engine: str, deadline: float | None,
             settings: Settings):
    """``(attained max of sign*y_j, proven upper bound, proven?, input attaining it)`` by a
    ReLU network's branch and bound or one program (an SNN's branch and bound:
    :func:`_snn_extremes`)."""
    if isinstance(net, ReLUNet) and _bab(net, engine, settings):
        c = np.zeros(net.n_outputs)
        c[j] = sign
        r = maximize_relu(objective_net([net], [c]), box, engine=engine, timeout=remaining(deadline),
                          settings=settings)
        return r.value, r.upper, r.complete, r.x
    crossings: list[dict[int, set[int] | None]] = [{}]     # relaxed first crossing, refined on spurious optima (refine.py)
    for rounds in range(settings.max_refinements + 2):
        try:
            p, x, maps = encode_nets([net], box, deadline=deadline, exact=engine in EXACT_ENGINES,
                                     first_crossing=crossings if rounds <= settings.max_refinements else None)
        except DeadlineExpired:
            return None, None, False, None
        y, f = maps[0].outputs[j], maps[0].output_fire[j]
        if y is None:
            return None, None, True, None
        if f is not True:
            p.lo[f] = 1.0          # bound the output over the inputs where it fires
        p.maximize(Lin.var(y, sign))
        sol = solve(p, engine, remaining(deadline), settings)
        if sol.status == "infeasible":
            return None, None, True, None
        if sol.status != "optimal" or not refine([net], maps, sol.point, crossings, settings.tau / 2):
            break
    val = None
    if sol.has_point:
        pt = sol.exact and [sol.exact[i] for i in x] or np.clip(sol.point[x], box[:, 0], box[:, 1]).tolist()
        out = simulate_exact(net, pt)[j]
        val = None if out is None else sign * float(out)
    proven = sol.status == "optimal"
    bound = sol.bound if proven or engine == "highs" else None
    return val, bound, proven, pt if val is not None else None


# ----------------------------------------------------------------------------- robustness
def _predict(net: Net, x0: np.ndarray, mode: str) -> int:
    out = simulate_exact(net, x0.tolist())
    if mode == "ttfs":
        raw = out if not isinstance(net, SNN) or net.decoder is None else \
            [None if v is None else to_fraction(o) + to_fraction(s) * v for v, o, s in
             zip(out, net.decoder.offset, net.decoder.scale)]
        fired = [(t, k) for k, t in enumerate(raw) if t is not None]
        if not fired:
            raise InputError("robustness", "x0", x0.tolist(), "no output neuron fires at x0: no time-to-first-spike class")
        return min(fired)[1]
    vals = [(v if v is not None else Fraction(10) ** 300, -k) for k, v in enumerate(out)]
    return -max(vals)[1]


def _raw_coef(net: Net, j: int) -> tuple[float, float]:
    """``t_j = off + scale * y_j`` for the decoded output ``y_j`` (identity without decoder)."""
    if isinstance(net, SNN) and net.decoder is not None:
        return float(net.decoder.offset[j]), float(net.decoder.scale[j])
    return 0.0, 1.0


def robustness(net: Net, x0, eps: float, *, norm: str = "linf", mode: str | None = None, label: int | None = None,
               out_lo=None, out_hi=None, domain=None, engine: str = "highs", timeout: float | None = None,
               progress: Progress = no_progress, settings: Settings = DEFAULT) -> QueryResult:
    """Local robustness around ``x0`` (data space) in the ``norm`` ball of radius ``eps``
    (``linf`` or ``l1``), clipped to ``domain`` (an ``(n, 2)`` box) if given.

    ``mode`` (default ``"ttfs"`` for an SNN, ``"argmax"`` for a ReLU network): ``"ttfs"`` (class =
    earliest output spike; a violation is another output firing no
    later than the label's, or the label not firing), ``"argmax"`` (decoded outputs; a violation is
    another output >= the label's), ``"range"`` (every output stays within ``[out_lo, out_hi]``;
    a violation is an output outside, or not firing when ``out_hi`` is finite).
    ``label`` defaults to the prediction at ``x0``. ``unsat`` = robust (proven). ``timeout``
    bounds the whole query (sampling, bounds, encoding, solving).

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 1.0])])
    >>> robustness(net, [0.2], 0.1, mode="argmax").verdict.value, robustness(net, [0.2], 0.5, mode="argmax").verdict.value
    ('unsat', 'sat')
    """
    deadline = deadline_after(timeout)
    x0 = np.asarray(x0, dtype=float).reshape(-1)
    n = net.n_inputs
    if x0.shape != (n,) or not np.all(np.isfinite(x0)):
        raise InputError("robustness", "x0", x0.tolist(), f"expected {n} finite numbers")
    if not (np.isfinite(eps) and eps >= 0):
        raise InputError("equivalence", "eps", eps, "must be a finite number >= 0")
    if norm not in ("linf", "l1"):
        raise InputError("robustness", "norm", norm, "choose linf or l1")
    if mode is None:
        mode = "argmax" if isinstance(net, ReLUNet) else "ttfs"
    if mode not in ("ttfs", "argmax", "range"):
        raise InputError("robustness", "mode", mode, "choose ttfs, argmax or range")
    check_magnitude(eps, "robustness", "eps")
    box = check_box(np.stack([x0 - eps, x0 + eps], axis=1), n, "robustness", "x0 +- eps")
    if domain is not None:
        dom = check_box(domain, n, "<arguments>", "domain")
        box = np.stack([np.maximum(box[:, 0], dom[:, 0]), np.minimum(box[:, 1], dom[:, 1])], axis=1)
        if np.any(box[:, 0] > box[:, 1]):
            raise InputError("robustness", "domain", dom.tolist(), "x0's ball does not meet the domain")
    m = net.n_outputs
    dnf: list[list[Atom]] = []
    details: dict = {"mode": mode, "norm": norm, "eps": eps}
    if mode == "range":
        lo = np.broadcast_to(np.asarray(-np.inf if out_lo is None else out_lo, dtype=float), (m,))
        hi = np.broadcast_to(np.asarray(np.inf if out_hi is None else out_hi, dtype=float), (m,))
        for j in range(m):
            e = np.eye(m)[j]
            if np.isfinite(lo[j]):
                dnf.append([Atom(e, float(lo[j]), strict=True)])
            if np.isfinite(hi[j]):
                dnf.append([Atom(-e, -float(hi[j]), strict=True)])
                dnf.append([Atom(silent=j)])
        details.update(out_lo=[_opt(v) for v in lo], out_hi=[_opt(v) for v in hi])
    else:
        if label is None:
            label = _predict(net, x0, mode)
        if not 0 <= int(label) < m:
            raise InputError("robustness", "label", label, f"must be in 0..{m - 1}")
        label = int(label)
        details["label"] = label
        dnf.append([Atom(silent=label)])
        for j in range(m):
            if j == label:
                continue
            c = np.zeros(m)
            if mode == "ttfs":    # t_j <= t_label  <=>  s_j y_j - s_l y_l <= off_l - off_j
                (oj, sj), (ol, sl) = _raw_coef(net, j), _raw_coef(net, label)
                c[j], c[label] = sj, -sl
                dnf.append([Atom(c, ol - oj)])
            else:                 # y_j >= y_label
                c[label], c[j] = 1.0, -1.0
                dnf.append([Atom(c, 0.0)])
    constraint = admissible = project = None
    if norm == "l1":
        constraint, admissible, project = _l1_ball(x0, eps)
    res = find_violation([net], box, dnf, query=f"robustness ({mode}, {norm})", engine=engine, timeout=remaining(deadline),
                         progress=progress, constraint=constraint, admissible=admissible, project=project,
                         settings=settings)
    res.details.update(details)
    return res


def _l1_ball(x0: np.ndarray, eps: float):
    def constraint(p, x):
        u = [p.var(f"l1.u{i}", 0.0, eps) for i in range(len(x))]
        for i, (xi, ui) in enumerate(zip(x, u)):
            p.add(Lin({xi: 1.0, ui: -1.0}), "<=", float(x0[i]), "l1")
            p.add(Lin({xi: -1.0, ui: -1.0}), "<=", -float(x0[i]), "l1")
        p.add(Lin({ui: 1.0 for ui in u}), "<=", float(eps), "l1")

    def admissible(X):
        return np.abs(X - x0).sum(axis=1) <= eps

    def project(x):
        d = np.abs(x - x0).sum()
        return x if d <= eps else x0 + (x - x0) * (eps / d) * (1 - 1e-12)
    return constraint, admissible, project


# ----------------------------------------------------------------------------- equivalence
def equivalence(a: Net, b: Net, box, *, eps: float = 0.0, top1: bool = False, engine: str = "highs",
                timeout: float | None = None, progress: Progress = no_progress,
                certificate: bool = True, settings: Settings = DEFAULT) -> QueryResult:
    """Equivalence of two networks on ``box``: ``max_x |a(x) - b(x)| <= eps`` for every output
    (``eps = 0`` proves exact equality; exact with ``engine="z3"``), or, with ``top1``, the same
    argmax everywhere (a violation: an argmax of ``a`` that is not an argmax of ``b``).
    ``details["max_difference"]`` holds the largest difference found (exact at a real input) and,
    for two ReLU networks with a MILP engine, ``details["max_difference_bound"]`` a proven bound.
    An SNN and a ReLU network are first given to the compositional certificate
    (:func:`srmverify.convert.certificate.certify`): when it accepts (an SNN converted from the
    ReLU network on this box), equality is proven exactly without a solver (engine
    ``"certificate"``); ``certificate=False`` skips that step. Two networks with identical
    parameters are equal without any search (engine ``"identity"``, exact).

    Examples
    --------
    >>> a = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])    # |x|
    >>> b = ReLUNet([([[2.0], [-1.0]], [0.0, 0.0]), ([[0.5, 1.0]], [0.0])])    # also |x|
    >>> equivalence(a, b, [[-1, 1]], engine="z3").verdict.value
    'unsat'
    """
    if a.n_inputs != b.n_inputs or a.n_outputs != b.n_outputs:
        raise InputError("B", "shape", f"{b.n_inputs} inputs/{b.n_outputs} outputs",
                         f"network A has {a.n_inputs} inputs/{a.n_outputs} outputs")
    if not (np.isfinite(eps) and eps >= 0):
        raise InputError("equivalence", "eps", eps, "must be a finite number >= 0")
    box = check_box(box, a.n_inputs)
    m = a.n_outputs
    dnf: list[list[Atom]] = []
    for j in range(m):
        e = np.concatenate([np.eye(m)[j], -np.eye(m)[j]])
        if top1:
            for k in range(m):
                if k == j:
                    continue
                conj = [Atom(np.concatenate([np.eye(m)[i] - np.eye(m)[j], np.zeros(m)]), 0.0) for i in range(m) if i != j]
                conj.append(Atom(np.concatenate([np.zeros(m), np.eye(m)[j] - np.eye(m)[k]]), 0.0, strict=True))
                dnf.append(conj)
        else:
            dnf.append([Atom(-e, -eps, strict=True)])      # a_j - b_j > eps
            dnf.append([Atom(e, -eps, strict=True)])       # b_j - a_j > eps
            dnf.append([Atom(silent=j), Atom(np.concatenate([np.zeros(m), np.eye(m)[j]]), np.inf)])
            dnf.append([Atom(silent=m + j), Atom(np.concatenate([np.eye(m)[j], np.zeros(m)]), np.inf)])
    t0 = time.perf_counter()
    deadline = deadline_after(timeout)
    details: dict = {"eps": eps, "top1": top1}
    if network_to_dict(a) == network_to_dict(b):
        details.update(max_difference=0.0, max_difference_bound=0.0)
        return QueryResult(Verdict.UNSAT, "equivalence", "identity", time.perf_counter() - t0, details=details,
                           message="the two networks have identical parameters: a(x) = b(x) for every x")
    if certificate and {type(a), type(b)} == {SNN, ReLUNet}:
        # an SNN converted from the ReLU net: the compositional certificate proves exact equality
        # in linear time (a rejection proves nothing: the search below decides)
        snn, relu = cast(tuple[SNN, ReLUNet], (a, b) if isinstance(a, SNN) else (b, a))
        cert = certify(snn, relu, box)
        details["certificate"] = cert.verdict
        if cert.accepted:
            details.update(max_difference=0.0, max_difference_bound=0.0)
            return QueryResult(Verdict.UNSAT, "equivalence", "certificate", time.perf_counter() - t0, details=details,
                               message="a(x) = b(x) exactly on the box: compositional certificate accepted "
                                       "(exact dyadic arithmetic, srmverify.convert.certificate)")
    splitting = engine not in EXACT_ENGINES and a.n_inputs <= settings.bab_max_inputs
    res: QueryResult | None = None
    if splitting and not top1 and isinstance(a, ReLUNet) and isinstance(b, ReLUNet):
        res = _equivalence_bab(a, b, box, dnf, eps, engine, deadline, progress, details, settings)
    elif splitting and (top1 or eps > 0):
        # (eps = 0 between an SNN and a ReLU network: every point meets the loosened atoms of the lift)
        res = _equivalence_lifted(a, b, box, dnf, engine, deadline, progress, settings)
    if res is None:
        res = find_violation([a, b], box, dnf, query="equivalence", engine=engine, timeout=remaining(deadline),
                             progress=progress, settings=settings)
    if res.counterexample is not None and not top1:
        ya, yb = res.counterexample.outputs
        diffs = [abs(u - v) if u is not None and v is not None else np.inf for u, v in zip(ya, yb)]
        details["max_difference"] = max(details.get("max_difference", 0.0), max(diffs))
    res.details.update(details)
    res.time = time.perf_counter() - t0
    return res


#: Seconds the branch and bound of :func:`_equivalence_lifted` may use without a time limit (then the MILP).
BAB_SHARE_CAP = 10.0


def _equivalence_lifted(a: Net, b: Net, box: np.ndarray, dnf: list[list[Atom]], engine: str, deadline: float | None,
                        progress: Progress, settings: Settings = DEFAULT) -> QueryResult | None:
    """Few inputs, ``top1`` or an SNN: the whole DNF by one input-splitting branch and bound on the
    networks' exact ReLU lifts (:func:`~srmverify.verify.lift.decide_lifted`; a ReLU network is its
    own lift), with at most half the time left. ``None`` when an SNN cannot be lifted or the search
    leaves the question open with time left (the caller's MILP decides)."""
    t0 = time.perf_counter()
    nets = [a, b]

    def result(verdict: Verdict, message: str, found_by: str = "branch and bound") -> QueryResult:
        res = QueryResult(verdict, "equivalence", engine, time.perf_counter() - t0, tolerance=settings.tau,
                          message=message)
        res.stats["found_by"] = found_by
        if any(isinstance(n, SNN) for n in nets):
            res.details["route"] = "relu lift"
        return res

    try:
        lifts = lift_all(nets, box, deadline)
    except DeadlineExpired:
        return result(Verdict.TIMEOUT, "time limit reached while lifting the SNN to a ReLU network")
    if lifts is None:
        return None
    # a lifted SNN fires everywhere on the box: its "never fires" atoms are false there
    finite = [conj for conj in dnf if all(at.silent is None for at in conj)]
    # at most half the time left (BAB_SHARE_CAP s without a limit): exactly tied argmaxes (b = a + c) leave
    # thin slivers that only leaf MILPs close, where one MILP of two small networks is quick
    left = remaining(deadline)
    share = deadline_after(BAB_SHARE_CAP if left is None else left / 2)
    out = decide_lifted(nets, lifts, box, finite, engine=engine, deadline=share, progress=progress,
                        settings=settings)
    if out.verdict == "sat":
        assert out.x is not None and out.Ys is not None      # a sat comes with its exact outputs
        res = result(Verdict.SAT, "counterexample re-checked by exact simulation of both networks", out.found_by)
        res.counterexample = counterexample(nets, out.x, out.Ys)
        return res
    if out.verdict == "unsat":
        dev = float(lifts.deviation.max())
        return result(Verdict.UNSAT, "no violation on the box: proven by branch and bound over input splits" +
                      (f" on the exact ReLU lift (its deviation <= {dev:.3g} folded into the atoms)" if dev > 0 else ""))
    if expired(deadline):
        return result(Verdict.TIMEOUT, "time limit reached in the branch and bound, without a proof")
    return None


def _equivalence_bab(a: ReLUNet, b: ReLUNet, box: np.ndarray, dnf: list[list[Atom]], eps: float, engine: str,
                     deadline: float | None, progress: Progress, details: dict,
                     settings: Settings = DEFAULT) -> QueryResult:
    """Two ReLU nets, few inputs: sampling first (an obvious violation in milliseconds), then, for
    two nets of the same widths, input splitting with difference bounds
    (:func:`~srmverify.verify.bab.close_everywhere`), then branch and bound on every
    ``+-(a_j - b_j)`` (a violating incumbent is re-checked exactly and
    ends the search), then, if the proven bound exceeds ``eps``, the MILP without re-sampling."""
    t0 = time.perf_counter()
    nets = [a, b]
    m = a.n_outputs

    def sat(x: list, Ys: list, found_by: str) -> QueryResult:
        res = QueryResult(Verdict.SAT, "equivalence", engine, time.perf_counter() - t0, tolerance=settings.tau,
                          counterexample=counterexample(nets, x, Ys))
        res.stats["found_by"] = found_by
        return res

    progress(0, 2 * m + 1, "sampling")
    try:
        hit = falsify_by_sampling(nets, box, dnf, deadline=deadline, settings=settings)
    except DeadlineExpired:
        return QueryResult(Verdict.TIMEOUT, "equivalence", engine, time.perf_counter() - t0, tolerance=settings.tau,
                           message="time limit reached while sampling, without a proof")
    if hit is not None:
        return sat(*hit, "sampling")
    if a.widths == b.widths and eps > 0:
        # (with eps = 0 splitting can never close a box around a kink: sampling and the exact
        # search below decide)
        # same architecture (e.g. a fine-tuned or quantised copy): bound the difference itself,
        # with at most half the time left (30 s without a limit)
        left = remaining(deadline)
        ok, x, val = close_everywhere(a, b, box, eps, timeout=30.0 if left is None else left / 2, progress=progress,
                                      settings=settings)
        if ok:
            details.update(max_difference_bound=val)
            res = QueryResult(Verdict.UNSAT, "equivalence", engine, time.perf_counter() - t0, tolerance=settings.tau,
                              message=f"max |a - b| <= {val:.6g} <= eps (difference bounds over input splits)")
            res.stats["found_by"] = "difference bounds"
            return res
        if ok is False:
            assert x is not None                # a violation comes with its point
            Ys = stacked_exact(nets, x.tolist())
            if dnf_holds_exact(dnf, flatten(Ys)):
                return sat(x.tolist(), Ys, "difference bounds")
    # every "a_j - b_j > eps" / "b_j - a_j > eps" is a single atom (ReLU outputs always exist)
    stats: dict = {}
    found = violation_by_branch_and_bound(nets, box, [conj for conj in dnf if len(conj) == 1], engine, deadline,
                                          progress, stats, settings)
    details.update(max_difference=max(stats.get("bab_value", 0.0), 0.0))
    if found == "unsat":
        details.update(max_difference_bound=stats["bab_upper"])
        return QueryResult(Verdict.UNSAT, "equivalence", engine, time.perf_counter() - t0, tolerance=settings.tau,
                           message=f"max |a - b| <= {stats['bab_upper']:.6g} <= eps (branch and bound)")
    if isinstance(found, tuple):
        return sat(*found, "branch and bound")
    return find_violation(nets, box, dnf, query="equivalence", engine=engine, timeout=remaining(deadline),
                          progress=progress, falsify=False, settings=settings)


# ----------------------------------------------------------------------------- VNN-LIB properties
def check_property(net: Net, input_boxes: Sequence, output_dnf: Sequence[Sequence[tuple]], *,
                   engine: str = "highs", timeout: float | None = None,
                   progress: Progress = no_progress, settings: Settings = DEFAULT) -> QueryResult:
    """VNN-LIB semantics: ``sat`` iff some input in some box of ``input_boxes`` makes some
    conjunction of ``output_dnf`` true (each conjunction a list of ``(c, d)``: ``c @ Y <= d``);
    ``unsat`` = the property holds. Boxes are tried in order; the first ``sat`` wins.

    Examples
    --------
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])    # |x|
    >>> check_property(net, [[[-1, 1]]], [[(np.array([-1.0]), -1.5)]]).verdict.value   # |x| >= 1.5 ?
    'unsat'
    """
    t0 = time.perf_counter()
    m = net.n_outputs
    dnf = []
    for ci, conj in enumerate(output_dnf):
        atoms = []
        for ai, (c, d) in enumerate(conj):
            c = np.asarray(c, dtype=float).reshape(-1)
            if c.shape != (m,):
                raise InputError("property", f"output constraint [{ci}][{ai}]", f"{c.size} coefficients",
                                 f"expected {m} (one per output)")
            atoms.append(Atom(c, float(d)))
        dnf.append(atoms)
    boxes = [check_box(b, net.n_inputs, "property") for b in input_boxes]
    if not boxes:
        raise InputError("property", "input boxes", [], "no input region")
    deadline = deadline_after(timeout)
    if isinstance(net, SNN) and engine not in EXACT_ENGINES and liftable_query(net, dnf, settings):
        lifted = check_lifted(net, boxes, dnf, engine=engine, deadline=deadline, progress=progress, settings=settings)
        if lifted is not None:       # a CPWL SNN: decided on its exact ReLU lift (verify/lift.py)
            return lifted
    for i, box in enumerate(boxes):       # every box is sampled before any solver runs
        try:
            hit = falsify_by_sampling([net], box, dnf, deadline=deadline, settings=settings)
        except DeadlineExpired:
            break
        if hit is not None:
            res = QueryResult(Verdict.SAT, "property", engine, time.perf_counter() - t0,
                              tolerance=None if engine in EXACT_ENGINES else settings.tau,
                              counterexample=counterexample([net], *hit))
            res.stats["found_by"] = "sampling"
            res.details.update(boxes=len(boxes), box_verdicts=[Verdict.UNKNOWN.value] * i + [Verdict.SAT.value])
            return res
    verdicts, last = [], None
    for i, box in enumerate(boxes):
        last = find_violation([net], box, dnf, query="property", engine=engine, timeout=remaining(deadline),
                              progress=progress, falsify=False, settings=settings)
        verdicts.append(last.verdict)
        if last.verdict in (Verdict.SAT, Verdict.ERROR):
            break
    assert last is not None                     # boxes is not empty
    if last.verdict not in (Verdict.SAT, Verdict.ERROR):
        worst = next((v for v in (Verdict.TIMEOUT, Verdict.UNKNOWN) if v in verdicts), Verdict.UNSAT)
        last.verdict = worst
    last.details["boxes"] = len(boxes)
    last.details["box_verdicts"] = [Verdict(v).value for v in verdicts]
    last.time = time.perf_counter() - t0
    return last


def check_vnnlib(net: Net, spec: VnnlibProperty, *, engine: str = "highs", timeout: float | None = None,
                 progress: Progress = no_progress, settings: Settings = DEFAULT) -> QueryResult:
    """Check a parsed VNN-LIB property on ``net``: the property's groups (boxes x output condition)
    are checked in order, the first ``sat`` ends the search, and the worst verdict
    (``sat`` > ``error`` > ``timeout`` > ``unknown`` > ``unsat``) is returned with the total time.

    Examples
    --------
    >>> from srmverify.formats.vnnlib import parse_vnnlib
    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])    # |x|
    >>> spec = parse_vnnlib("(declare-const X_0 Real)(declare-const Y_0 Real)"
    ...                     "(assert (>= X_0 -1))(assert (<= X_0 1))(assert (>= Y_0 1.5))")
    >>> check_vnnlib(net, spec).verdict.value
    'unsat'
    """
    if (spec.n_inputs, spec.n_outputs) != (net.n_inputs, net.n_outputs):
        raise InputError(spec.source, "declare-const", f"{spec.n_inputs} X, {spec.n_outputs} Y",
                         f"the network has {net.n_inputs} inputs and {net.n_outputs} outputs")
    start = time.perf_counter()
    deadline = deadline_after(timeout)
    results: list[QueryResult] = []
    for boxes, dnf in spec.groups:
        results.append(check_property(net, boxes, dnf, engine=engine, timeout=remaining(deadline),
                                      progress=progress, settings=settings))
        if results[-1].verdict == Verdict.SAT:
            break
    worst_first = (Verdict.SAT, Verdict.ERROR, Verdict.TIMEOUT, Verdict.UNKNOWN)
    result = next((r for v in worst_first for r in results if r.verdict == v), results[-1])
    result.time = time.perf_counter() - start
    return result
