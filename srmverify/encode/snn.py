"""Encoding of an SNN over spike-time variables (model.md §3), written once per neuron.

For neuron ``v`` with live synapses ``k`` (nonzero weight, source may fire), arrival
``a_k = t_u + d_k`` in ``[L_k, U_k]`` and ``t_v`` in ``[Lv, Uv]``:

* **static** (bounds fix the causal set ``S`` and ``v`` and its sources surely fire):
  ``sum_{k in S} w_k (t_v - a_k) = theta`` -- one row, no binary; the static neurons are found
  and their rows written in arrays, all at once (:func:`_static_rows`; most neurons of a
  branch-and-bound leaf are static);
* **positive** (all live weights > 0, all sources surely fire): ``y_k = max(0, t_v - a_k)``
  (a binary only for synapses whose order the bounds do not fix) and ``sum w_k y_k = theta``;
* **general** (mixed signs or uncertain firing): fire indicator ``f_v``; gated terms
  ``y_k = F_u max(0, t_v - a_k)`` with causal indicator ``z_k``; breakpoint potentials
  ``P(a_k) = sum_j w_j F_j max(0, a_k - a_j)`` (only ever bounded above, so excitatory terms
  are exact as convex ``y >= F_j max(0, .)`` without a binary; inhibitory ones need one);
  ``f_v = 1 => sum w_k y_k = theta`` and ``z_k = 1 => P(a_k) < theta``;
  ``f_v = 0 => P(a_k) < theta`` for every firing ``k`` and ``sum_j w_j F_j <= 0``. The rows
  ``P(a_k) < theta`` are written for inhibitory ``k`` only: ``P`` is piecewise linear and its
  slope drops only at inhibitory arrivals, so it is convex between them and its maxima before
  ``t_v`` (or ever, for a silent neuron with final slope ``<= 0``) lie at inhibitory arrivals.

Strict rows are exact in z3 and ``<= -tau`` in a MILP (see :mod:`srmverify.solvers.bigm`).

**Relaxed first crossing.** The breakpoint potentials are most of a mixed-sign encoding (pairs of
arrivals whose order the bounds leave open). ``first_crossing`` maps a neuron to the synapses
``k`` whose rows ``P(a_k) < theta`` are written (``None``: all of them); a general neuron missing
from it gets none: ``t_v`` is then *a* crossing of the threshold, not necessarily the first, and
``f_v = 0`` keeps only the slope row. Every real run still satisfies the program (an
over-approximation: ``unsat`` stays a proof); a solver point whose neuron is not at its first
crossing is spurious, and :mod:`srmverify.verify.refine` adds the rows of the breakpoints that
point violates and solves again. ``vm.relaxed`` lists the neurons with rows left out.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Collection, Mapping

import numpy as np

from ..deadline import check
from ..settings import DEFAULT
from ..bounds.snn import SpikeTimeBounds
from ..network import SNN
from .program import Lin, Number, Program, exact, numbers, relu_rows
from .varmap import Indicator, VarMap


def _axpy(coef: dict[int, Number], const: Number, e: Lin, s: Number) -> Number:
    """``coef += s * e.coef`` in place; returns ``const + s * e.const``."""
    for var, c in e.coef.items():
        coef[var] = coef.get(var, 0) + s * c
    return const + s * e.const


def _gated_relu(p: Program, e: Lin, lo: float, hi: float, fire: Indicator, name: str) -> tuple[Lin, Indicator]:
    """``y = F * max(0, e)`` for ``e`` in ``[lo, hi]`` and fire indicator ``F``; returns
    ``(y, z)`` with ``z`` the indicator of the active branch (``z = 1`` implies ``F = 1`` and
    ``e >= 0``; ``F = 1`` and ``z = 0`` imply ``e <= 0``)."""
    if fire is False or hi <= 0:
        return Lin(), False
    if fire is True:
        if lo >= 0:
            return e, True
        y, b = p.relu(e, lo, hi, name)
        return Lin.var(y), (lo >= 0 if b is None else b)     # no binary: the sign is fixed
    y = p.var(name, 0.0, max(0.0, hi))
    on = fire if lo >= 0 else p.var(name + ".on", binary=True)    # lo >= 0: active iff the source fires
    relu_rows(p, y, e, on, lo, hi, name)                          # y <= on * e
    p.implies([(on, 1)], e - Lin.var(y), "<=", 0.0, name)         # y >= on * e
    if lo >= 0:
        return Lin.var(y), fire
    z = on
    p.add(Lin.var(z) - Lin.var(fire), "<=", 0.0, name)               # z => F
    p.implies([(z, 0), (fire, 1)], e, "<=", 0.0, name)                # F and not z => e <= 0
    return Lin.var(y), z


class _PrefixSums:
    """``S_m = sum of w_j a_j`` over the ``m`` surely-firing sources with the smallest upper
    arrival bounds, as expressions built once per neuron (each from the one before), so that the
    sources surely arrived before ``a_k`` are one sum in ``P(a_k)``. (Chained variables, one
    exact row each, made the leaf MILPs slower: 1.3x at 20-30 undecided synapses.)"""

    def __init__(self, L: np.ndarray, U: np.ndarray, w: list[Number], arr: list[Lin], sure: np.ndarray):
        self.w, self.arr = w, arr
        self.order = [int(j) for j in np.argsort(U, kind="stable") if sure[j]]
        self.U = U[self.order].tolist()
        self.rank = np.full(len(w), len(w))            # position in the order (len(w): not in it)
        self.rank[self.order] = np.arange(len(self.order))
        self.W: list[Number] = [0]
        self.S: list[Lin] = [Lin()]

    def before(self, t: float) -> tuple[Number, Lin, np.ndarray]:
        """``(W_m, S_m, mask)`` for the sources with ``U_j <= t`` (mask over all sources)."""
        m = bisect_right(self.U, t)
        while len(self.S) <= m:
            j = self.order[len(self.S) - 1]
            self.W.append(self.W[-1] + self.w[j])
            self.S.append(self.S[-1] + self.arr[j].scaled(self.w[j]))
        return self.W[m], self.S[m], self.rank < m


def _silent_slope(p: Program, fv: Indicator, fire: dict[int, Indicator], src: list[int], w: list[float],
                  tag: str) -> None:
    """``f_v = 0 => sum_j w_j F_j <= 0``: a silent neuron's final slope cannot be positive."""
    if fv is True:
        return
    slope = Lin.sum(Lin.var(fire[u], wi) if fire[u] is not True else Lin.constant(wi) for u, wi in zip(src, w))
    p.implies([(fv, 0)], slope, "<=", 0.0, f"{tag}.slope")


def _static(net: SNN, bounds: SpikeTimeBounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(static, live, causal)``: per global id, whether the neuron is static (it surely fires, and
    so do the sources of its live synapses, whose order against it the bounds decide); per
    synapse, whether it is live (nonzero weight, source may fire) and whether its arrival surely
    precedes the target's spike (``U_k < Lv``)."""
    lo, hi, src, dst = bounds.lo, bounds.hi, net.src, net.dst
    source = src < net.first_neuron
    live = (net.weight != 0) & (source | ~bounds.never_fires[src])
    sure = source | ~(bounds.never_fires[src] | bounds.may_not_fire[src])
    with np.errstate(invalid="ignore"):
        L, U = lo[src] + net.delay, hi[src] + net.delay
        causal = U < lo[dst]
        decided = causal | (L >= hi[dst])
    open_ = np.bincount(dst[live & ~(sure & decided)], minlength=net.n_total)
    static = (open_ == 0) & ~bounds.never_fires & ~bounds.may_not_fire
    static[:net.first_neuron] = False
    return static, live, causal


def _static_rows(p: Program, net: SNN, inputs: list[int], times: dict[int, int], static: np.ndarray,
                 live: np.ndarray, causal: np.ndarray, name: str) -> None:
    """The rows ``sum_{k in S} w_k (t_v - t_u - d_k) = theta_v`` of the static neurons, one
    :meth:`~.program.Program.add_rows` block (exact numbers in an exact program); an input's
    time is ``scale x + offset`` with the encoder, a constant's its fixed time."""
    vs = np.flatnonzero(static)
    if not len(vs):
        return
    ks = np.flatnonzero(live & causal & static[net.dst])
    u = net.src[ks]
    row = np.searchsorted(vs, net.dst[ks])
    var = np.full(net.n_total, -1, dtype=np.int64)           # the variable of each node's time
    var[:net.n_inputs] = inputs
    var[list(times)] = list(times.values())
    scale, offset = np.ones(net.first_neuron), np.zeros(net.first_neuron)
    if net.encoder is not None:
        scale[:net.n_inputs], offset[:net.n_inputs] = net.encoder.scale, net.encoder.offset
    offset[net.n_inputs:] = net.constants
    coef = np.concatenate([scale, np.ones(net.n_neurons)])[u]      # t_u = coef var_u + shift_u
    shift = np.concatenate([offset, np.zeros(net.n_neurons)])[u]
    w = numbers(net.weight[ks])
    rhs = numbers(net.thresholds[vs - net.first_neuron])
    np.add.at(rhs, row, w * (numbers(shift) + numbers(net.delay[ks])))
    has = var[u] >= 0                                                # not a constant's fixed time
    p.add_rows(np.concatenate([row, row[has]]), np.concatenate([var[net.dst[ks]], var[u][has]]),
               np.concatenate([w, -(w * numbers(coef))[has]]), rhs, "==", f"{name}.static")


def _lits(*pairs: tuple[Indicator, int]) -> list[tuple[int, int]] | None:
    """Literal list without constant indicators; ``None`` if a constant makes it false."""
    out = []
    for ind, val in pairs:
        if isinstance(ind, bool):
            if ind != bool(val):
                return None
        else:
            out.append((ind, val))
    return out


def encode_snn(p: Program, net: SNN, inputs: list[int], bounds: SpikeTimeBounds, name: str = "s",
               deadline: float | None = None,
               first_crossing: Mapping[int, Collection[int] | None] | None = None) -> VarMap:
    """Add ``net`` to ``p`` on the data-space input variables ``inputs`` with spike-time
    ``bounds`` (from :func:`srmverify.bounds.snn_time_bounds` on the same box).
    ``first_crossing``: neuron -> the synapses whose first-crossing rows are written (``None`` for
    the whole mapping = every row, the exact encoding; see "Relaxed first crossing" in the module
    docstring).
    ``deadline`` (:mod:`srmverify.deadline`) is checked per neuron and per synapse of the
    pairwise first-crossing terms; on expiry :class:`~srmverify.deadline.DeadlineExpired`.

    Examples
    --------
    >>> from srmverify.bounds import snn_time_bounds
    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> p = Program(); x = [p.var("x0", 0, 1), p.var("x1", 0, 1)]
    >>> vm = encode_snn(p, net, x, snn_time_bounds(net, [[0, 1], [0, 1]]))
    >>> sorted(vm.causal[3].items())    # c0 surely causal; x0, x1 undecided (binary variables)
    [(0, 4), (1, 6), (2, True)]
    """
    lo, hi = bounds.lo, bounds.hi
    time: dict[int, Lin] = {}
    for i, xv in enumerate(inputs):
        time[i] = Lin.var(xv) if net.encoder is None else \
            Lin({xv: float(net.encoder.scale[i])}, float(net.encoder.offset[i]))
    for c in range(net.n_inputs, net.first_neuron):
        time[c] = Lin.constant(float(net.constants[c - net.n_inputs]))
    vm = VarMap(list(inputs))
    fire: dict[int, Indicator] = {u: True for u in range(net.first_neuron)}
    static, live, causal_k = _static(net, bounds)
    for v in range(net.first_neuron, net.n_total):
        check(deadline)
        tag = f"{name}.{net.names[v]}"
        if bounds.never_fires[v]:
            fire[v] = False
            vm.fire[v] = False
            continue
        sl = net.incoming(v)
        if static[v]:                   # its row: _static_rows, below
            tv = vm.times[v] = p.var(f"{tag}.t", lo[v], hi[v])
            fire[v] = vm.fire[v] = True
            ks_v = sl.start + np.flatnonzero(live[sl])
            vm.causal[v] = dict(zip(ks_v.tolist(), causal_k[ks_v].tolist()))
            time[v] = Lin.var(tv)
            continue
        ks_a = sl.start + np.flatnonzero(live[sl])
        ks, src_a, d_a = ks_a.tolist(), net.src[ks_a], net.delay[ks_a]
        src, w, d = src_a.tolist(), net.weight[ks_a].tolist(), d_a.tolist()
        if p.exact:                     # (inside float_arithmetic exact() keeps floats anyway)
            d, wx = [exact(dk) for dk in d], [exact(wi) for wi in w]
        else:
            wx = w
        arr = [Lin._raw(dict(time[u].coef), time[u].const + dk) for u, dk in zip(src, d)]
        L, U = (lo[src_a] + d_a).tolist(), (hi[src_a] + d_a).tolist()
        theta = net.threshold(v)
        tv = p.var(f"{tag}.t", lo[v], hi[v])
        vm.times[v] = tv
        t = Lin.var(tv)
        fv: Indicator = True if not bounds.may_not_fire[v] else p.var(f"{tag}.fire", binary=True)
        fire[v] = vm.fire[v] = fv
        sure = [fire[u] is True for u in src]
        lo_v, hi_v = float(lo[v]), float(hi[v])
        causal: dict[int, Indicator] = {}
        pot: dict[int, Number] = {}             # sum_k w_k y_k, accumulated
        pot_c: Number = 0
        for i, k in enumerate(ks):
            if hi_v - L[i] <= 0:        # surely not causal (_gated_relu's first case, without building t - a_k)
                causal[k] = False
                continue
            if lo_v - U[i] >= 0 and sure[i]:        # surely causal: w_k (t_v - a_k), no variable
                pot[tv] = pot.get(tv, 0) + wx[i]
                pot_c = _axpy(pot, pot_c, arr[i], -wx[i])
                causal[k] = True
                continue
            y, z = _gated_relu(p, t - arr[i], lo_v - U[i], hi_v - L[i], fire[src[i]], f"{tag}.y{k}")
            pot_c = _axpy(pot, pot_c, y, wx[i])
            causal[k] = z
        vm.causal[v] = causal
        lits = _lits((fv, 1))
        if lits is not None:            # always (fv is never False here); None: a vacuous row
            p.implies(lits, Lin._raw(pot, pot_c), "==", theta, tag)
        time[v] = t
        if fv is True and all(sure) and all(wi > 0 for wi in w):             # positive: exact already
            continue
        rows_for = None if first_crossing is None else first_crossing.get(v, ())
        if rows_for is not None:
            vm.relaxed.add(v)
            if not rows_for:
                _silent_slope(p, fv, fire, src, w, tag)
                continue
        # breakpoint potentials P(a_k), needed when v may be reached by k before it fires
        La, Ua = np.array(L), np.array(U)
        prefix: _PrefixSums | None = None         # made at the first row that needs it
        for i, k in enumerate(ks):
            check(deadline)
            if U[i] < lo[v] or w[i] > 0 or (rows_for is not None and k not in rows_for):
                # a_k < Lv <= first crossing of P+ >= P: P(a_k) < theta holds already; and P is
                # convex between inhibitory arrivals (its slope drops only there), so with the rows
                # at inhibitory arrivals, P(t_v) = theta and the slope row, the excitatory rows hold
                continue
            need_fire_case = fv is not True
            zk = causal[k]
            if zk is False and not need_fire_case:
                continue
            dlo, dhi = L[i] - Ua, U[i] - La                       # bounds of a_k - a_j
            # sources surely arrived before a_k: one prefix sum (j = k itself adds 0)
            if prefix is None:
                prefix = _PrefixSums(La, Ua, wx, arr, np.array(sure, dtype=bool))
            W_m, S_m, plain = prefix.before(L[i])
            P = arr[i].scaled(W_m) - S_m
            for j in np.flatnonzero((dhi > 0) & ~plain).tolist():
                if j == i:
                    continue
                if w[j] > 0:       # convex side of "P(a_k) < theta": y >= F_j max(0, a_k - a_j) is exact
                    yj = p.var(f"{tag}.p{k}_{ks[j]}", 0.0, float(dhi[j]))
                    lit = _lits((fire[src[j]], 1))
                    if lit is not None:     # always (sources that never fire are not in ks)
                        p.implies(lit, arr[i] - arr[j] - Lin.var(yj), "<=", 0.0, f"{tag}.p{k}_{ks[j]}")
                    P.coef[yj] = wx[j]
                    continue
                gated, _ = _gated_relu(p, arr[i] - arr[j], float(dlo[j]), float(dhi[j]), fire[src[j]],
                                       f"{tag}.p{k}_{ks[j]}")
                P.const = _axpy(P.coef, P.const, gated, wx[j])
            if zk is not False:
                lit = _lits((fv, 1), (zk, 1))
                if lit is not None:
                    p.implies(lit, P, "<", theta, f"{tag}.first{k}")
            if need_fire_case:
                lit = _lits((fv, 0), (fire[src[i]], 1))
                if lit is not None:
                    p.implies(lit, P, "<", theta, f"{tag}.silent{k}")
        _silent_slope(p, fv, fire, src, w, tag)
    _static_rows(p, net, inputs, vm.times, static, live, causal_k, name)
    for out, o in enumerate(net.outputs.tolist()):
        f = fire[o]
        vm.output_fire.append(f)
        if f is False:
            vm.outputs.append(None)
            continue
        t = time[o]
        if net.decoder is None:
            yo = p.var(f"{name}.out{out}", lo[o], hi[o])
            p.add(Lin.var(yo) - t, "==", 0.0, f"{name}.out{out}")
        else:
            s_, off = float(net.decoder.scale[out]), float(net.decoder.offset[out])
            a, b = (lo[o] - off) / s_, (hi[o] - off) / s_
            yo = p.var(f"{name}.out{out}", min(a, b) - DEFAULT.bound_margin * (1 + abs(min(a, b))),
                       max(a, b) + DEFAULT.bound_margin * (1 + abs(max(a, b))))
            p.add(Lin.var(yo, s_) - t, "==", -off, f"{name}.out{out}")     # scale*y = t - offset
        vm.outputs.append(yo)
    return vm
