"""Exact simulation in rational arithmetic: the oracle for tests and counterexample re-checks.

Every float parameter is converted with ``Fraction(float)``, which is exact, so the result is the
true value of the network that the float64 parameters describe.
"""
from __future__ import annotations

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


def first_crossing(arrivals: Sequence[tuple[Fraction, Fraction]], theta: Fraction) -> Time:
    """First ``t`` with ``sum_k w_k max(0, t - a_k) >= theta`` (model.md §1.2), or ``None``.

    ``arrivals`` is a list of ``(a_k, w_k)`` for the presynaptic neurons that fire.

    >>> first_crossing([(Fraction(0), Fraction(1)), (Fraction(1), Fraction(3))], Fraction(1))
    Fraction(1, 1)
    >>> first_crossing([(Fraction(0), Fraction(-1))], Fraction(1)) is None
    True
    """
    pts = sorted(arrivals, key=lambda p: p[0])
    W = B = Fraction(0)
    i, m = 0, len(pts)
    while i < m:
        a = pts[i][0]
        while i < m and pts[i][0] == a:  # ties merged into one breakpoint
            W += pts[i][1]
            B += pts[i][1] * pts[i][0]
            i += 1
        if W > 0:
            t = (theta + B) / W
            if t >= a and (i == m or t <= pts[i][0]):
                return t
    return None


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
        known[v] = first_crossing([(a, w) for a, w, _ in _arrivals(net, v, known)], to_fraction(net.threshold(v)))


def _arrivals(net: SNN, v: int, times) -> list[tuple[Fraction, Fraction, int]]:
    """``(arrival, weight, source)`` of the firing presynaptic neurons of ``v``, exactly."""
    sl = net.incoming(v)
    return [(times[u] + to_fraction(d), to_fraction(w), u)
            for u, w, d in zip(net.src[sl].tolist(), net.weight[sl].tolist(), net.delay[sl].tolist())
            if times[u] is not None]


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
        t = first_crossing([(a, w) for a, w, _ in arr], to_fraction(net.threshold(v)))
        times.append(t)
        causal[v] = frozenset(u for a, _, u in arr if t is None or a < t)
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
