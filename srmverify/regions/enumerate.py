"""Solver-backed pattern enumeration: z3 all-SAT with blocking clauses, MILP with no-good cuts.

Both search for an input strictly inside the domain whose causal (activation) pattern has not
been seen, then block that pattern, until the solver proves none is left. They are written
directly on z3 / highspy from model.md §1-§3, independently of the traversal, as its cross-check.

* **z3** (exact, rationals; any weight signs): a pattern is reported only if some input realises
  it with *every* condition strict (``a_k < t_v`` for causal, ``a_k > t_v`` for other firing
  sources, potential below threshold before the crossing, input inside the open box). That set
  is open, so it is nonempty exactly when the pattern's region is full-dimensional.
* **MILP** (positive-weight SNNs and ReLU networks): the same with strict inequalities written
  as ``>= tau`` / ``<= -tau`` (``tau`` = :attr:`~srmverify.settings.Settings.tau`, reported as the tolerance), big-M constants
  from exact monotone bounds (SNN: spike times at the box corners) or interval bounds (ReLU).
  Every pattern found is polished: its binaries fixed, the rows solved again as an LP; a pattern
  whose LP is infeasible (the MILP point kept the margins only within the integrality tolerance
  times a big-M) is blocked and not counted (``stats["spurious"]``).

Pattern bits are laid out as in :func:`.polyhedron.pattern_bits`, so the sets can be compared.

**Cross-check rule.** This module re-encodes SNNs and ReLU networks itself, on purpose, and does
not use :mod:`srmverify.encode` (the neutral program of the verification queries) nor the
polyhedra of :mod:`.traverse`: a count is trusted because two encodings written independently
from the model agree (``tests/test_regions.py`` compares traversal, z3 and MILP counts). Keep it
that way -- routing this module through a shared encoding would turn the cross-check into a
self-check. HiGHS itself is reached through the one wrapper :mod:`srmverify.solvers.highs`
(models, status map), which decides nothing about the encoding.
"""

from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from ..bounds.relu import relu_preactivation_bounds
from ..errors import InputError, SolverError, UnsupportedNetwork
from ..network import ReLUNet, SNN
from ..results import Progress, no_progress
from ..simulate import spike_times
from ..solvers import highs
from .polyhedron import Domain, pattern_bits
from .result import Region, RegionsResult, stop_reason
from ..settings import DEFAULT


def enumerate_patterns(net: SNN | ReLUNet, domain: Domain, engine: str = "z3", *,
                       max_regions: int | None = None, timeout: float | None = None,
                       progress: Progress = no_progress) -> RegionsResult:
    """Count full-dimensional patterns with ``engine`` ``"z3"`` or ``"milp"``.

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 2.0]]], [[1.0]])
    >>> enumerate_patterns(net, Domain.box([[0, 5], [0, 5]]), "z3").causal_regions
    3
    """
    enc: _Z3 | _Milp
    if engine == "z3":
        enc = _Z3(net, domain, timeout)
    elif engine == "milp":
        enc = _Milp(net, domain, timeout)
    else:
        raise InputError("regions", "engine", engine, "choose z3 or milp")
    t0 = time.perf_counter()
    regions: list[Region] = []
    patterns: set[bytes] = set()
    stopped, mismatches, spurious = None, 0, 0
    while True:
        stopped = stop_reason(len(regions), max_regions, t0, timeout)
        if stopped:
            break
        status, bits, y = enc.next(None if timeout is None else max(DEFAULT.min_time_slice, timeout - (time.perf_counter() - t0)))
        if status == "done":
            break
        if status in ("timeout", "error"):
            stopped = "timeout" if status == "timeout" else "solver error"
            break
        if status == "spurious":          # MILP only: no point of the pattern keeps the margins
            spurious += 1
            enc.block(bits)
            continue
        key = np.packbits(bits).tobytes()
        if key in patterns:
            raise SolverError(f"{engine} returned a blocked pattern again")
        patterns.add(key)
        if np.packbits(pattern_bits(net, domain, y[None, :])[0]).tobytes() != key:
            mismatches += 1          # the witness sits within rounding of a boundary
        regions.append(Region(key.hex(), domain.point(y).tolist()))
        enc.block(bits)
        n = len(regions)
        progress(n, max_regions, f"{n} regions, {n / max(time.perf_counter() - t0, 1e-9):.0f}/s")
    warnings = []
    if mismatches:
        warnings.append(f"{mismatches} witness points simulate (float64) to a different pattern: "
                        "they lie within rounding of a region boundary")
    return RegionsResult(engine=engine, kind="relu" if isinstance(net, ReLUNet) else "snn", dim=domain.dim,
                         causal_regions=len(regions), linear_regions=None, complete=stopped is None,
                         time=time.perf_counter() - t0, tolerance=None if engine == "z3" else DEFAULT.tau,
                         stopped=stopped, regions=regions,
                         stats={"solver_calls": len(regions) + spurious + 1, "spurious": spurious},
                         warnings=warnings)


def _synapses(net: SNN):
    """(level, target row, source column) of every synapse in pattern-bit order."""
    for lv in net.levels:
        for i, j in zip(*np.nonzero(lv.present)):
            yield lv, int(i), int(j)


# ----------------------------------------------------------------------------- z3
class _Z3:
    def __init__(self, net: SNN | ReLUNet, domain: Domain, timeout: float | None) -> None:
        import z3

        self.z3 = z3
        q = lambda v: z3.RealVal(Fraction(float(v)))  # noqa: E731  (exact value of the float)
        self.s = z3.Solver()
        ys = [z3.Real(f"y{i}") for i in range(domain.dim)]
        self.ys = ys
        for y, lo, hi in zip(ys, domain.lo, domain.hi):
            self.s.add(y > q(lo), y < q(hi))
        x = [q(c) + z3.Sum([q(m) * y for m, y in zip(row, ys)]) for c, row in zip(domain.c, domain.M)]
        self.bits: list = []
        if isinstance(net, ReLUNet):
            h = x
            for l, (W, b) in enumerate(net.layers[:-1]):
                z = [q(bi) + z3.Sum([q(w) * hj for w, hj in zip(row, h) if w != 0]) for row, bi in zip(W, b)]
                act = [z3.Bool(f"a{l}_{i}") for i in range(len(z))]
                for a, zi in zip(act, z):
                    self.s.add(z3.If(a, zi > 0, zi < 0))
                self.bits += act
                h = [z3.If(a, zi, q(0)) for a, zi in zip(act, z)]
            return
        enc_off = np.zeros(net.n_inputs) if net.encoder is None else net.encoder.offset
        enc_sc = np.ones(net.n_inputs) if net.encoder is None else net.encoder.scale
        t: dict[int, object] = {i: q(enc_off[i]) + q(enc_sc[i]) * x[i] for i in range(net.n_inputs)}
        F: dict[int, object] = {u: True for u in range(net.first_neuron)}
        for i, c in enumerate(net.constants):
            t[net.n_inputs + i] = q(c)
        causal_bits = []
        for lv in net.levels:
            for i, v in enumerate(lv.neurons.tolist()):
                t[v] = z3.Real(f"t{v}")
                F[v] = z3.Bool(f"f{v}")
            for i, v in enumerate(lv.neurons.tolist()):
                js = np.flatnonzero(lv.present[i])
                srcs = lv.sources[js].tolist()
                a = {u: t[u] + q(lv.D[i, j]) for u, j in zip(srcs, js)}
                w = {u: lv.W[i, j] for u, j in zip(srcs, js)}
                c = {u: z3.Bool(f"c{u}_{v}") for u in srcs}
                causal_bits += [c[u] for u in srcs]
                fv, tv, th = F[v], t[v], q(lv.thresholds[i])
                fires_u = {u: F[u] for u in srcs}
                need_p = any(w[u] < 0 for u in srcs) or any(fires_u[u] is not True for u in srcs)
                on = [z3.Implies(fv, c[u] == z3.And(fires_u[u], a[u] < tv)) for u in srcs]
                on += [z3.Implies(z3.And(fv, fires_u[u], z3.Not(c[u])), a[u] > tv) for u in srcs]
                on.append(z3.Implies(fv, z3.Sum([z3.If(c[u], q(w[u]) * (tv - a[u]), q(0)) for u in srcs]) == th))
                if need_p:     # potential at every earlier arrival stays below threshold
                    P = {k: z3.Sum([z3.If(z3.And(fires_u[j], a[k] > a[j]), q(w[j]) * (a[k] - a[j]), q(0))
                                    for j in srcs]) for k in srcs}
                    on += [z3.Implies(z3.And(fv, c[k]), P[k] < th) for k in srcs]
                    on += [z3.Implies(z3.Not(fv), c[u] == fires_u[u]) for u in srcs]
                    on += [z3.Implies(z3.And(z3.Not(fv), fires_u[k]), P[k] < th) for k in srcs]
                    on.append(z3.Implies(z3.Not(fv), z3.Sum([z3.If(fires_u[u], q(w[u]), q(0)) for u in srcs]) <= 0))
                else:
                    on.append(fv)
                self.s.add(*on)
        self.bits = causal_bits + [F[v] for v in range(net.first_neuron, net.n_total)]
        if timeout is not None:
            self.s.set("timeout", int(max(1, timeout * 1000)))

    def next(self, timeout: float | None):
        z3 = self.z3
        if timeout is not None:
            self.s.set("timeout", int(max(1, timeout * 1000)))
        r = self.s.check()
        if r == z3.unsat:
            return "done", None, None
        if r != z3.sat:
            return "timeout", None, None
        m = self.s.model()
        bits = np.array([z3.is_true(m.eval(b, model_completion=True)) for b in self.bits], dtype=bool)
        y = np.array([float(m.eval(v, model_completion=True).as_fraction()) for v in self.ys])
        return "sat", bits, y

    def block(self, bits: np.ndarray) -> None:
        z3 = self.z3
        self.s.add(z3.Or([z3.Not(b) if v else b for b, v in zip(self.bits, bits)]))


# ----------------------------------------------------------------------------- MILP (highspy)
class _Milp:
    """Rows ``lo <= a . v <= hi`` over columns ``[y, t or h..., binaries]``, solved by HiGHS."""

    def __init__(self, net: SNN | ReLUNet, domain: Domain, timeout: float | None) -> None:
        self.col_lo: list[float] = []
        self.col_hi: list[float] = []
        self.integer: list[bool] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        ys = [self._col(lo + DEFAULT.tau, hi - DEFAULT.tau) for lo, hi in zip(domain.lo, domain.hi)]
        self.ys = ys
        # data-space box of the domain (interval arithmetic on x = c + M y)
        Mp, Mn = np.maximum(domain.M, 0), np.minimum(domain.M, 0)
        xbox = np.column_stack([domain.c + Mp @ domain.lo + Mn @ domain.hi, domain.c + Mp @ domain.hi + Mn @ domain.lo])
        xlin = [({y: float(m) for y, m in zip(ys, row) if m != 0}, float(c)) for c, row in zip(domain.c, domain.M)]
        bits: list[int | bool] = []
        if isinstance(net, ReLUNet):
            pre = relu_preactivation_bounds(net, xbox)
            h = xlin
            for l, (W, b) in enumerate(net.layers[:-1]):
                nh = []
                for i in range(W.shape[0]):
                    z = _lin_comb([(float(w), hj) for w, hj in zip(W[i], h) if w != 0], float(b[i]))
                    zl, zu = float(pre[l][0][i]), float(pre[l][1][i])
                    a, hv = self._relu(z, zl, zu)
                    bits.append(a)
                    nh.append(({hv: 1.0}, 0.0))
                h = nh
            self.bits = bits
        else:
            if not net.all_weights_positive:
                raise UnsupportedNetwork(net.source, "weights", "mixed signs",
                                         "the MILP enumeration supports positive-weight SNNs and ReLU networks "
                                         "(use --engine z3 or traverse)")
            enc_off = np.zeros(net.n_inputs) if net.encoder is None else net.encoder.offset
            enc_sc = np.ones(net.n_inputs) if net.encoder is None else net.encoder.scale
            tin = np.sort(np.stack([enc_off + enc_sc * xbox[:, 0], enc_off + enc_sc * xbox[:, 1]]), axis=0)
            T = spike_times(net, tin)           # monotone: the corners bound every spike time
            L = T[0] - DEFAULT.bound_margin * (1 + np.abs(T[0]))
            U = T[1] + DEFAULT.bound_margin * (1 + np.abs(T[1]))
            t: dict[int, tuple[dict[int, float], float]] = {}
            for i in range(net.n_inputs):
                lin, c0 = xlin[i]
                t[i] = ({k: enc_sc[i] * v for k, v in lin.items()}, enc_off[i] + enc_sc[i] * c0)
            for i, c in enumerate(net.constants):
                t[net.n_inputs + i] = ({}, float(c))
            for lv in net.levels:
                for i, v in enumerate(lv.neurons.tolist()):
                    col = self._col(L[v], U[v])
                    t[v] = ({col: 1.0}, 0.0)
                    terms = []
                    for j in np.flatnonzero(lv.present[i]):
                        u = int(lv.sources[j])
                        d = float(lv.D[i, j])
                        q = _lin_comb([(1.0, t[v]), (-1.0, t[u])], -d)      # t_v - a_u
                        c, yv = self._relu(q, L[v] - U[u] - d, U[v] - L[u] - d)
                        bits.append(c)
                        terms.append((float(lv.W[i, j]), ({yv: 1.0}, 0.0)))
                    lin, c0 = _lin_comb(terms, 0.0)
                    self._row(lin, lv.thresholds[i] - c0, lv.thresholds[i] - c0)
            self.bits = bits + [True] * net.n_neurons
        # presolve off: an "infeasible" here ends the enumeration (see solvers/highs.py)
        self.h = highs.new_model(presolve=False)
        self.h.setOptionValue("mip_rel_gap", 0.0)
        self._load()

    def _col(self, lo: float, hi: float, integer: bool = False) -> int:
        self.col_lo.append(float(lo))
        self.col_hi.append(float(hi))
        self.integer.append(integer)
        return len(self.col_lo) - 1

    def _row(self, lin: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((lin, lo, hi))

    def _relu(self, e, lo: float, hi: float):
        """Binary ``c`` with ``c = 1 => e >= tau``, ``c = 0 => e <= -tau`` and ``y = max(0, e)``.
        Returns ``(c, y)``; ``c`` is a constant when the bounds decide it."""
        lin, c0 = e
        y = self._col(0.0, max(hi, 0.0))
        if lo >= DEFAULT.tau:        # always on: y = e >= tau
            self._row({**{y: 1.0}, **{k: -v for k, v in lin.items()}}, c0, c0)
            self._row(lin, DEFAULT.tau - c0, np.inf)
            return True, y
        if hi <= -DEFAULT.tau:       # always off: y = 0, e <= -tau
            self._row(lin, -np.inf, -DEFAULT.tau - c0)
            self.col_hi[y] = 0.0
            return False, y
        lo, hi = min(lo, -DEFAULT.tau), max(hi, DEFAULT.tau)
        c = self._col(0.0, 1.0, integer=True)
        neg = {k: -v for k, v in lin.items()}
        self._row({y: 1.0, **neg}, c0, np.inf)                                  # y >= e
        self._row({y: 1.0, **neg, c: -lo}, -np.inf, c0 - lo)                    # y <= e - lo (1 - c)
        self._row({y: 1.0, c: -hi}, -np.inf, 0.0)                               # y <= hi c
        self._row({**lin, c: -(DEFAULT.tau - lo)}, lo - c0, np.inf)                     # c = 1 => e >= tau
        self._row({**lin, c: -(hi + DEFAULT.tau)}, -np.inf, -DEFAULT.tau - c0)                  # c = 0 => e <= -tau
        return c, y

    def _load(self) -> None:
        highs.load(self.h, cost=np.zeros(len(self.col_lo)), col_lo=np.array(self.col_lo), col_hi=np.array(self.col_hi),
                   row_lo=np.array([r[1] for r in self.rows]), row_hi=np.array([r[2] for r in self.rows]),
                   starts=np.concatenate([[0], np.cumsum([len(r[0]) for r in self.rows])]),
                   index=np.array([k for r in self.rows for k in r[0]], dtype=np.int32),
                   value=np.array([v for r in self.rows for v in r[0].values()], dtype=float),
                   integer=np.array(self.integer, dtype=bool))

    exhausted = False

    def next(self, timeout: float | None):
        if self.exhausted:
            return "done", None, None
        highs.set_time_limit(self.h, timeout, DEFAULT.min_time_slice)
        status, has_point = highs.run(self.h, presolve=False)    # the one HiGHS status map (and retry)
        if status == "infeasible":
            return "done", None, None
        if status == "timeout":
            return "timeout", None, None
        if not has_point:
            # an unresolved solver error ends the enumeration incomplete (never as "all found")
            return "error", None, None
        v = np.asarray(self.h.getSolution().col_value)
        bits = np.array([b if isinstance(b, bool) else v[b] > 0.5 for b in self.bits], dtype=bool)
        # polish: the binaries fixed to their rounded values, the rest solved again as an LP. HiGHS'
        # MIP feasibility tolerance (1e-6) is as large as tau, so the MILP point may violate the
        # pattern's strict rows; if no point keeps every margin, the pattern is spurious.
        cols = np.array([b for b in self.bits if not isinstance(b, bool)], dtype=np.int32)
        if len(cols):
            fixed = np.round(v[cols])
            self.h.changeColsBounds(len(cols), cols, fixed, fixed)
            highs.set_integrality(self.h, cols, False)       # an LP: its feasibility tolerance is << tau
            status, has_point = highs.run(self.h, presolve=False)
            if has_point:
                v = np.asarray(self.h.getSolution().col_value)
            highs.set_integrality(self.h, cols, True)
            self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.ones(len(cols)))
            if status == "infeasible":
                return "spurious", bits, None
            if not has_point:
                return ("timeout" if status == "timeout" else "error"), None, None
        return "sat", bits, v[self.ys]

    def block(self, bits: np.ndarray) -> None:
        idx, val, rhs = [], [], 1.0
        for b, on in zip(self.bits, bits):
            if isinstance(b, bool):
                continue
            idx.append(b)
            val.append(-1.0 if on else 1.0)
            rhs -= 1.0 if on else 0.0
        if not idx:      # no free binary: the only pattern is found
            self.exhausted = True
            return
        self.h.addRow(rhs, np.inf, len(idx), np.array(idx, dtype=np.int32), np.array(val))


def _lin_comb(terms, const: float) -> tuple[dict[int, float], float]:
    """``sum coef * (lin, c) + const`` for terms ``(coef, (lin, c))``."""
    out: dict[int, float] = {}
    c0 = const
    for coef, (lin, c) in terms:
        for k, v in lin.items():
            out[k] = out.get(k, 0.0) + coef * v
        c0 += coef * c
    return out, c0
