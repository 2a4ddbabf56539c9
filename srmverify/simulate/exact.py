"""Exact simulation in rational arithmetic: the oracle for tests and counterexample re-checks.

Every float parameter is converted with ``Fraction(float)``, which is exact, so the result is the
true value of the network that the float64 parameters describe.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Iterable, Sequence

import numpy as np

from ..errors import InputError
from ..network import ReLUNet, SNN

#: A spike time: a rational, or ``None`` for "never fires".
Time = Fraction | None


def to_fraction(v) -> Fraction:
    """Exact rational value of a number (floats exactly, strings like ``'1/3'`` parsed).

    >>> to_fraction(0.5), to_fraction("1/3"), to_fraction(0.1) == Fraction(1, 10)
    (Fraction(1, 2), Fraction(1, 3), False)
    """
    if isinstance(v, Fraction):
        return v
    if isinstance(v, (int, np.integer)):
        return Fraction(int(v))
    if isinstance(v, str):
        return Fraction(v)
    return Fraction(float(v))


#: A rational as an integer pair ``(numerator, denominator > 0)``, not necessarily reduced.
_Q = tuple[int, int]

#: ``8u`` (u = 2**-53, the unit roundoff): the per-operation error allowance of the float screen.
_EPS = 2.0 ** -50


def _key(q: _Q) -> float:
    """``q`` rounded to the nearest float (Python's int / int is correctly rounded, hence monotone:
    ``a < b`` implies ``key(a) <= key(b)``); beyond the float range, an infinity of its sign."""
    try:
        return q[0] / q[1]
    except OverflowError:
        return math.inf if q[0] > 0 else -math.inf


def _crossing(arrivals: list[tuple[_Q, _Q]], theta: Fraction) -> Time:
    """:func:`first_crossing` on integer pairs ``(a_k, w_k)``.

    The arrivals are sorted by their correctly rounded floats (an exact order between distinct
    floats), runs of equal floats exactly. The prefix sums ``W_k``, ``B_k`` are kept exactly in
    integers (one common denominator, no reduction) and, alongside, in floats; a segment whose
    candidate time ``(θ + B_k)/W_k`` the floats place, with a rigorous margin (``(k+3) 8u`` of
    ``θ + Σ|w a|``, 8 times the worst-case rounding), surely before ``a_k`` or surely after
    ``a_{k+1}`` is skipped, every other one decided in exact arithmetic.
    """
    keyed = sorted(((_key(a), a, w) for a, w in arrivals), key=lambda e: e[0])
    m = len(keyed)
    i = 0
    while i < m:                      # equal floats: order them exactly
        j = i + 1
        while j < m and keyed[j][0] == keyed[i][0]:
            j += 1
        if j - i > 1:
            keyed[i:j] = sorted(keyed[i:j], key=lambda e: Fraction(*e[1]))
        i = j
    tn, td = theta.numerator, theta.denominator
    tf = float(theta)
    WN, WD = 0, 1                 # W = WN / WD
    BN, BD = 0, 1                 # B = BN / BD
    Bf = S = 0.0                  # float B and sum |w a|
    i = 0
    while i < m:
        fa, (an, ad), _ = keyed[i]
        while i < m and (keyed[i][0] == fa and keyed[i][1][0] * ad == an * keyed[i][1][1]):   # one breakpoint
            (pn, pd), (wn, wd) = keyed[i][1], keyed[i][2]
            if WD % wd:
                g = math.gcd(WD, wd)
                WN, WD = WN * (wd // g), WD // g * wd
            WN += wn * (WD // wd)
            qn, qd = wn * pn, wd * pd
            if BD % qd:
                g = math.gcd(BD, qd)
                BN, BD = BN * (qd // g), BD // g * qd
            BN += qn * (BD // qd)
            term = (wn / wd) * keyed[i][0]
            Bf += term
            S += abs(term)
            i += 1
        if WN <= 0:
            continue
        nxt = keyed[i] if i < m else None
        Wf = WN / WD
        if Wf > 0:            # (a W below the float range: decided exactly)
            t_f = (tf + Bf) / Wf
            margin = ((i + 3) * _EPS * (abs(tf) + S)) / Wf + _EPS * abs(t_f)
            if t_f + margin < fa - abs(fa) * _EPS:
                continue                                          # surely t < a_k
            if nxt is not None and t_f - margin > nxt[0] + abs(nxt[0]) * _EPS:
                continue                                          # surely t > a_{k+1}
        t = Fraction((tn * BD + BN * td) * WD, td * BD * WN)
        if t.numerator * ad >= an * t.denominator and \
                (nxt is None or t.numerator * nxt[1][1] <= nxt[1][0] * t.denominator):
            return t
    return None


def first_crossing(arrivals: Sequence[tuple[Fraction, Fraction]], theta: Fraction) -> Time:
    """First ``t`` with ``sum_k w_k max(0, t - a_k) >= theta`` (model.md §1.2), or ``None``.

    ``arrivals`` is a list of ``(a_k, w_k)`` for the presynaptic neurons that fire: sort the
    arrivals (ties merged into one breakpoint), keep ``W_k = Σ_{j<=k} w_j``,
    ``B_k = Σ_{j<=k} w_j a_j``; the first ``k`` with ``W_k > 0`` and
    ``a_k <= (θ + B_k)/W_k <= a_{k+1}`` gives the time (:func:`_crossing` does it in integers).

    >>> first_crossing([(Fraction(0), Fraction(1)), (Fraction(1), Fraction(3))], Fraction(1))
    Fraction(1, 1)
    >>> first_crossing([(Fraction(0), Fraction(-1))], Fraction(1)) is None
    True
    """
    return _crossing([((a.numerator, a.denominator), (w.numerator, w.denominator)) for a, w in arrivals],
                     to_fraction(theta))


def settle(net: SNN, known: dict[int, Time], targets: Iterable[int]) -> None:
    """Add to ``known`` the exact time of every neuron in ``targets`` and of the ancestors they need.

    ``known`` maps global neuron ids to exact times and must hold every input and constant
    neuron; times already in it are reused (this is how the float simulator settles its
    ambiguous neurons: only the sub-DAG above them is computed in rationals).

    >>> net = SNN.layered([[[1.0, -2.0]]], [[1.0]])
    >>> known = {0: Fraction(0), 1: Fraction(1)}
    >>> settle(net, known, [2]); known[2]        # P(1) = 1 reaches theta = 1 exactly
    Fraction(1, 1)
    """
    need, stack = [], [v for v in targets if v not in known]
    seen = set(stack)
    while stack:
        v = stack.pop()
        need.append(v)
        for u in net.src[net.incoming(v)].tolist():
            if u not in known and u not in seen:
                seen.add(u)
                stack.append(u)
    for v in sorted(need):  # ids are topological
        known[v] = _crossing([(a, w) for a, w, _ in _arrivals(net, v, known)], to_fraction(net.threshold(v)))


def _arrivals(net: SNN, v: int, times) -> list[tuple[_Q, _Q, int]]:
    """``(arrival, weight, source)`` of the firing presynaptic neurons of ``v``, exactly, as
    integer pairs (weights and delays are floats: ``as_integer_ratio`` is exact)."""
    sl = net.incoming(v)
    out = []
    for u, w, d in zip(net.src[sl].tolist(), net.weight[sl].tolist(), net.delay[sl].tolist()):
        t = times[u]
        if t is None:
            continue
        if d == 0:
            a = (t.numerator, t.denominator)
        else:
            dn, dd = float(d).as_integer_ratio()
            a = (t.numerator * dd + dn * t.denominator, t.denominator * dd)
        out.append((a, float(w).as_integer_ratio(), u))
    return out


@dataclass
class ExactRun:
    """Result of an exact simulation: every neuron's time and causal set, and the outputs."""

    times: list[Time]
    causal: dict[int, frozenset[int]]
    outputs: list[Time]

    def output_values(self) -> list[Time]:
        return self.outputs


def run_exact(net: SNN, t_inputs: Sequence) -> ExactRun:
    """Simulate ``net`` exactly on input spike times (not data: apply the encoder first).

    Returns raw output spike times (no decoder); ``causal[v]`` is ``{u : a_u < t_v}`` over
    presynaptic ``u`` that fire (for a neuron that never fires: every firing presynaptic neuron).
    """
    if len(t_inputs) != net.n_inputs:
        raise InputError("inputs", "input times", len(t_inputs), f"expected {net.n_inputs}")
    times: list[Time] = [to_fraction(t) for t in (*t_inputs, *net.constants)]
    causal: dict[int, frozenset[int]] = {}
    for v in range(net.first_neuron, net.n_total):
        arr = _arrivals(net, v, times)
        t = _crossing([(a, w) for a, w, _ in arr], to_fraction(net.threshold(v)))
        times.append(t)
        causal[v] = frozenset(u for (an, ad), _, u in arr if t is None or an * t.denominator < t.numerator * ad)
    return ExactRun(times, causal, [times[o] for o in net.outputs])


def encode_exact(net: SNN, x: Sequence) -> list[Fraction]:
    """Data -> input spike times, exactly."""
    x = [to_fraction(v) for v in x]
    if net.encoder is None:
        return x
    return [to_fraction(o) + to_fraction(s) * xi for o, s, xi in zip(net.encoder.offset, net.encoder.scale, x)]


def decode_exact(net: SNN, outputs: Sequence[Time]) -> list[Time]:
    """Output spike times -> values, exactly (``None`` stays ``None``)."""
    if net.decoder is None:
        return list(outputs)
    return [None if t is None else (t - to_fraction(o)) / to_fraction(s)
            for t, o, s in zip(outputs, net.decoder.offset, net.decoder.scale)]


def simulate_exact(net: SNN | ReLUNet, x: Sequence) -> list[Time]:
    """Exact outputs in data space of an SNN (encoder/decoder applied) or a ReLU network.

    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> simulate_exact(net, [0, 0])
    [Fraction(5, 9)]
    """
    if isinstance(net, ReLUNet):
        return list(relu_exact(net, x))    # a list[Time] (lists are invariant)
    return decode_exact(net, run_exact(net, encode_exact(net, x)).outputs)


def relu_exact(net: ReLUNet, x: Sequence) -> list[Fraction]:
    """Exact rational evaluation of a ReLU network."""
    h = [to_fraction(v) for v in x]
    L = len(net.layers)
    for l, (W, b) in enumerate(net.layers):
        Wf = [[to_fraction(w) for w in row] for row in W.tolist()]
        z = [sum((w * hj for w, hj in zip(row, h)), to_fraction(bi)) for row, bi in zip(Wf, b.tolist())]
        h = [max(zi, Fraction(0)) for zi in z] if l < L - 1 else z
    return h
