"""Linear queries over one or several networks (VNN-LIB 2.0; also VNN-LIB 1.0 with polytope inputs).

A :class:`~srmverify.formats.vnnlib2.LinearQuery` speaks about the stacked inputs ``X`` (every
network's input, in declaration order) and stacked outputs ``Y``. :func:`check_query` turns each
input group into ONE stacked query of the shared engine
(:func:`~srmverify.verify.pipeline.find_violation`), so ``verify`` of a relational property and
``equiv`` use the same machinery:

1. input equalities between single elements (``(== X_f[i] X_g[i])``) identify variables: the
   query runs over the reduced inputs ``z`` with ``X = S z`` (``S`` a 0/1 selection);
2. every network reads its slice ``S_k z``: a network that sees all of ``z`` in order is used as
   it is (any kind); a ReLU network that sees a selection gets ``W_1 S_k`` as first layer (an
   exact column selection); an SNN with a partial selection is refused;
3. the remaining linear input constraints (``(<= X_f[0] X_g[0])``, polytopes) are rows of the
   program, a filter of the samples, and a projection of a MILP point towards an interior
   point before the exact re-check; inputs bounded only through such rows are bounded by LP;
4. every ``sat`` is re-checked on the ORIGINAL query: the stacked input ``S z`` satisfies the
   box and every input row exactly (rationals), and the exact outputs of the original networks
   satisfy the output condition exactly; otherwise the verdict is ``unknown``.
"""
from __future__ import annotations

import time
from fractions import Fraction
from typing import Mapping, Sequence

import numpy as np

from ..deadline import deadline_after, remaining
from ..encode.program import Lin, Program
from ..errors import InputError, SolverError, UnsupportedNetwork
from ..formats.vnnlib2 import InputGroup, LinearQuery
from ..network import ReLUNet
from ..results import Counterexample, Progress, QueryResult, Verdict, no_progress
from ..simulate import simulate_exact, to_fraction
from ..solvers import check_engine, solve
from .pipeline import Atom, Net, dnf_holds_exact, find_violation
from .queries import check_vnnlib

#: Slack added to LP-derived input bounds (they only need to contain the input set).
_LP_SLACK = 1e-6


def bind_networks(query: LinearQuery, nets: Mapping[str, Net] | Sequence[Net]) -> list[Net]:
    """One network per declared network of ``query``, in declaration order.

    ``nets`` maps declared names to networks; a network declared ``(equal-to f)`` and not given
    is ``f``'s. A plain sequence binds in declaration order (one network for a one-network query).
    """
    decls = query.networks
    if not isinstance(nets, Mapping):
        nets = list(nets)
        if len(nets) == 1 and len(decls) > 1 and all(d.equal_to == decls[0].name for d in decls[1:]):
            nets = nets * len(decls)
        if len(nets) != len(decls):
            raise InputError(query.source, "declare-network", [d.name for d in decls],
                             f"the query declares {len(decls)} networks but {len(nets)} were given "
                             "(give them as name=path)")
        nets = {d.name: n for d, n in zip(decls, nets)}
    unknown = sorted(set(nets) - {d.name for d in decls})
    if unknown:
        raise InputError(query.source, "declare-network", unknown[0],
                         f"no such network in the query (declared: {', '.join(d.name for d in decls)})")
    bound: dict[str, Net] = {}
    for d in decls:
        net = nets.get(d.name)
        if net is None and d.equal_to is not None:
            net = bound[d.equal_to]
        if net is None:
            raise InputError(query.source, "declare-network", d.name, "no network file given for it (name=path)")
        if (net.n_inputs, net.n_outputs) != (d.n_inputs, d.n_outputs):
            field = "declare-const" if query.version == "1.0" else f"network {d.name}"
            raise InputError(query.source, field, f"{net.n_inputs} inputs/{net.n_outputs} outputs",
                             f"the query declares {d.n_inputs} inputs ({list(d.input_shape)}) and "
                             f"{d.n_outputs} outputs ({list(d.output_shape)})")
        bound[d.name] = net
    return [bound[d.name] for d in decls]


def check_query(nets: Mapping[str, Net] | Sequence[Net], query: LinearQuery, *, engine: str = "highs",
                timeout: float | None = None, progress: Progress = no_progress) -> QueryResult:
    """Decide a :class:`~srmverify.formats.vnnlib2.LinearQuery`: ``sat`` (a counterexample over
    the stacked inputs, re-checked exactly on the original networks), ``unsat`` (the property
    holds: every input group proven), ``timeout`` / ``unknown`` / ``error``. Groups are checked
    in order; the first ``sat`` ends the search; otherwise the worst verdict is returned.
    A VNN-LIB 1.0 query over an input box goes to :func:`~srmverify.verify.queries.check_vnnlib`.
    ``details["networks"]`` names the networks; the counterexample's ``outputs`` holds each
    network's exact outputs.

    Examples
    --------
    >>> from srmverify.formats.vnnlib2 import parse_query
    >>> f = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])    # |x|
    >>> q = parse_query('''(vnnlib-version <2.0>)
    ... (declare-network f (declare-input X Real [1]) (declare-output Y Real [1]))
    ... (declare-network g (isomorphic-to f) (declare-input U Real [1]) (declare-output V Real [1]))
    ... (assert (and (>= X[0] -1.0) (<= X[0] 1.0) (>= U[0] -1.0) (<= U[0] 1.0)))
    ... (assert (<= X[0] U[0]))
    ... (assert (> Y[0] V[0]))''')               # |x| > |u| with x <= u: yes, x = -1, u = 0
    >>> r = check_query({"f": f, "g": f}, q)
    >>> r.verdict.value, abs(r.counterexample.input[0]) > abs(r.counterexample.input[1])
    ('sat', True)
    """
    check_engine(engine)
    t0 = time.perf_counter()
    bound = bind_networks(query, nets)
    if query.version == "1.0" and not any(g.rows for g in query.groups):     # the VNN-LIB 1.0 path, unchanged
        return check_vnnlib(bound[0], query.as_box_property(), engine=engine, timeout=timeout, progress=progress)
    deadline = deadline_after(timeout)
    results: list[QueryResult] = []
    for gi, group in enumerate(query.groups):
        r = _check_group(bound, query, group, engine, remaining(deadline), progress)
        r.details["group"] = gi
        results.append(r)
        if r.verdict == Verdict.SAT:
            break
    worst_first = (Verdict.SAT, Verdict.ERROR, Verdict.TIMEOUT, Verdict.UNKNOWN, Verdict.UNSAT)
    res = next(r for v in worst_first for r in results if r.verdict == v)
    res.details.update(networks=[d.name for d in query.networks], groups=len(query.groups),
                       group_verdicts=[Verdict(r.verdict).value for r in results])
    res.time = time.perf_counter() - t0
    return res


# ----------------------------------------------------------------------------- one input group
def _equalities(rows: list[tuple[np.ndarray, float]], n: int) -> tuple[np.ndarray, list[tuple[np.ndarray, float]]]:
    """Union-find over ``x_i = x_j`` row pairs: the class of every input, and the other rows."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    keys = {(a.tobytes(), d) for a, d in rows}
    rest = []
    for a, d in rows:
        nz = np.flatnonzero(a)
        pair = len(nz) == 2 and d == 0.0 and a[nz[0]] == -a[nz[1]] and ((0.0 - a).tobytes(), 0.0) in keys
        if pair:
            i, j = find(int(nz[0])), find(int(nz[1]))
            parent[max(i, j)] = min(i, j)
        else:
            rest.append((a, d))
    roots = np.array([find(i) for i in range(n)])
    _, cls = np.unique(roots, return_inverse=True)     # classes numbered by their smallest member
    return cls, rest


def _lp_box(box: np.ndarray, A: np.ndarray, b: np.ndarray, src: str, engine_timeout: float | None) -> np.ndarray:
    """Bound the unbounded sides of ``box`` over ``{z in box : A z <= b}`` by LP (plus a slack)."""
    box = box.copy()
    for i, k in zip(*np.nonzero(~np.isfinite(box))):
        p = Program()
        z = [p.var(f"z{j}", float(lo), float(hi)) for j, (lo, hi) in enumerate(box)]
        for a, d in zip(A, b):
            p.add(Lin({z[j]: float(a[j]) for j in np.flatnonzero(a)}), "<=", float(d), "input")
        sign = 1.0 if k == 1 else -1.0
        p.maximize(Lin.var(z[i], sign))
        sol = solve(p, "highs", engine_timeout)
        if sol.status != "optimal" or sol.objective is None or not np.isfinite(sol.objective):
            raise InputError(src, f"X[{int(i)}] (stacked input)", box[i].tolist(),
                             "every input needs a lower and an upper bound (the input constraints leave it unbounded)")
        v = sign * sol.objective
        box[i, k] = v + sign * _LP_SLACK * (1 + abs(v))
    return box


def _interior(box: np.ndarray, A: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """A point of the box strictly inside every row (the largest slack, at most 1), or ``None``."""
    p = Program()
    z = [p.var(f"z{j}", float(lo), float(hi)) for j, (lo, hi) in enumerate(box)]
    t = p.var("t", -np.inf, 1.0)
    for a, d in zip(A, b):
        coef: dict[int, int | float | Fraction] = {z[j]: float(a[j]) for j in np.flatnonzero(a)}
        coef[t] = float(np.linalg.norm(a))
        p.add(Lin(coef), "<=", float(d), "slack")
    p.maximize(Lin.var(t))
    sol = solve(p, "highs", 10.0)
    if sol.status != "optimal" or sol.values is None or sol.values[t] <= 0:
        return None
    return np.clip(sol.values[z], box[:, 0], box[:, 1])


def _rows_hold_exact(A: np.ndarray, b: np.ndarray, x: Sequence[Fraction]) -> bool:
    return all(sum((to_fraction(a[j]) * x[int(j)] for j in np.flatnonzero(a)), Fraction(0)) <= to_fraction(d)
               for a, d in zip(A, b))


def _compose(net: Net, S: np.ndarray, name: str, src: str) -> Net:
    """``net`` reading ``S z`` (``S`` a 0/1 selection, one 1 per row)."""
    if S.shape[0] == S.shape[1] and np.array_equal(S, np.eye(S.shape[0])):
        return net
    if not isinstance(net, ReLUNet):
        raise UnsupportedNetwork(src, f"network {name}", type(net).__name__,
                                 "relational input constraints that identify only some inputs need ReLU networks "
                                 "(an SNN must see all the shared inputs, in order)")
    (W, b), rest = net.layers[0], list(net.layers[1:])
    return ReLUNet([(np.asarray(W) @ S, b)] + rest, net.source)


def _check_group(nets: list[Net], query: LinearQuery, group: InputGroup, engine: str, timeout: float | None,
                 progress: Progress) -> QueryResult:
    t0 = time.perf_counter()
    src, n = query.source, query.n_inputs
    cls, rest = _equalities(group.rows, n)
    nz = int(cls.max()) + 1
    S = np.zeros((n, nz))
    S[np.arange(n), cls] = 1.0
    box = np.array([[-np.inf, np.inf]] * nz)
    np.maximum.at(box[:, 0], cls, group.box[:, 0])
    np.minimum.at(box[:, 1], cls, group.box[:, 1])
    A = np.array([a for a, _ in rest]).reshape(-1, n) @ S
    b = np.array([d for _, d in rest], dtype=float)
    keep = np.any(A != 0, axis=1)
    if np.any(box[:, 0] > box[:, 1]) or np.any(b[~keep] < 0):
        return QueryResult(Verdict.UNSAT, "vnnlib", engine, time.perf_counter() - t0,
                           message="this input group is empty (contradictory input constraints)")
    A, b = A[keep], b[keep]
    if not np.all(np.isfinite(box)):
        if not len(A):
            i = int(np.flatnonzero(~np.isfinite(box).all(axis=1))[0])
            raise InputError(src, f"X[{int(np.flatnonzero(cls == i)[0])}] (stacked input)", box[i].tolist(),
                             "every input needs a lower and an upper bound")
        box = _lp_box(box, A, b, src, timeout)
    offsets = [d.input_offset for d in query.networks]
    composed = [_compose(net, S[o:o + d.n_inputs], d.name, src) for net, o, d in zip(nets, offsets, query.networks)]
    dnf = [[Atom(np.asarray(c, dtype=float), float(d), strict=s) for c, d, s in conj] for conj in group.dnf]
    constraint = admissible = project = None
    if len(A):
        constraint, admissible, project = _polytope(A, b, box)
    res = find_violation(composed, box, dnf, query="vnnlib", engine=engine, timeout=timeout, progress=progress,
                         constraint=constraint, admissible=admissible, project=project)
    if res.verdict == Verdict.SAT:
        _recheck_original(res, nets, query, group, S, engine)
    res.time = time.perf_counter() - t0
    return res


def _polytope(A: np.ndarray, b: np.ndarray, box: np.ndarray):
    """The program rows, the sample filter and the MILP-point projection of ``A z <= b``."""
    scale = 1e-12 * (1.0 + np.abs(b))

    def constraint(p, x):
        for a, d in zip(A, b):
            p.add(Lin({x[j]: float(a[j]) for j in np.flatnonzero(a)}), "<=", float(d), "input")

    def admissible(X):
        return np.all(X @ A.T <= b - scale, axis=1)

    centre = _interior(box, A, b)

    def project(x):
        if centre is None or _rows_hold_exact(A, b, [to_fraction(v) for v in x]):
            return x
        for lam in (1e-9, 1e-6, 1e-3, 0.1, 0.5, 1.0):
            y = x + lam * (centre - x)
            if _rows_hold_exact(A, b, [to_fraction(v) for v in y]):
                return y
        return x
    return constraint, admissible, project


def _recheck_original(res: QueryResult, nets: list[Net], query: LinearQuery, group: InputGroup, S: np.ndarray,
                      engine: str) -> None:
    """Re-check a ``sat`` on the original query (exact rationals); downgrade to ``unknown`` if it fails."""
    ce = res.counterexample
    if ce is None:
        raise SolverError("a 'sat' without a counterexample: nothing to re-check")
    z = [Fraction(v) for v in ce.exact_input]
    cls = S.argmax(axis=1)
    x = [z[k] for k in cls]
    lo, hi = group.box[:, 0], group.box[:, 1]
    A = np.array([a for a, _ in group.rows]).reshape(-1, len(x))
    b = np.array([d for _, d in group.rows], dtype=float)
    inside = all((not np.isfinite(lo[i]) or to_fraction(lo[i]) <= x[i]) and
                 (not np.isfinite(hi[i]) or x[i] <= to_fraction(hi[i])) for i in range(len(x)))
    Ys = [simulate_exact(net, x[d.input_offset:d.input_offset + d.n_inputs]) for net, d in zip(nets, query.networks)]
    flat = [q for Y in Ys for q in Y]
    dnf = [[Atom(np.asarray(c, dtype=float), float(d), strict=s) for c, d, s in conj] for conj in group.dnf]
    if not (inside and _rows_hold_exact(A, b, x) and dnf_holds_exact(dnf, flat)):
        res.verdict = Verdict.UNKNOWN
        res.message = ("a candidate counterexample did not satisfy the original input constraints and property "
                       "exactly (within the MILP tolerance of a boundary): no proof and no counterexample")
        res.counterexample = None
        return
    fl = lambda q: None if q is None else float(q)  # noqa: E731
    res.counterexample = Counterexample(input=[float(v) for v in x], output=[fl(q) for q in flat],
                                        outputs=[[fl(q) for q in Y] for Y in Ys], exact_input=[str(v) for v in x],
                                        exact_output=[str(q) if q is not None else "inf" for q in flat])
