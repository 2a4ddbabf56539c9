"""Counterexample-guided refinement of the relaxed first-crossing encoding.

Queries first encode every mixed-sign SNN neuron *without* its first-crossing constraints (see
"Relaxed first crossing" in :mod:`srmverify.encode.snn`): the program over-approximates the
network, so an infeasible program is still a proof, and it is often ten times smaller. A solver
point of the relaxed program is checked neuron by neuron: a relaxed neuron whose spike time in
the point is not the first crossing *of the point's own arrival times* makes the point spurious.
Those neurons get their constraints and the program is solved again. When no relaxed neuron is
wrong, the point is the network's true behaviour (up to the solver tolerance) and goes to the
usual exact re-check.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..encode.varmap import VarMap
from ..network import SNN
from ..simulate.exact import first_crossing, to_fraction

#: Refinement rounds before a query falls back to the exact encoding of every neuron.
MAX_REFINEMENTS = 8
#: Relative tolerance for "the point's spike time is the first crossing".
TIME_TOL = 1e-6


def _fires(ind, values: np.ndarray) -> bool:
    return ind if isinstance(ind, bool) else bool(values[ind] > 0.5)


def spurious_neurons(net: SNN, vm: VarMap, values: np.ndarray, tol: float = TIME_TOL) -> set[int]:
    """The relaxed neurons of ``net`` whose spike time (or silence) in the solver point
    ``values`` differs from the first crossing of their arrivals in that same point.

    Examples
    --------
    >>> from srmverify.encode import Program, encode_snn
    >>> from srmverify.bounds import snn_time_bounds
    >>> net = SNN.layered([[[2.0, -1.0]]], [[1.0]])          # x0 excites, x1 inhibits
    >>> p = Program(); x = [p.var("x0", 0, 1), p.var("x1", 0, 1)]
    >>> vm = encode_snn(p, net, x, snn_time_bounds(net, [[0, 1], [0, 1]]), first_crossing=())
    >>> sorted(vm.relaxed)
    [2]
    >>> vm.fire[2]                             # surely fires on this box
    True
    >>> point = np.zeros(p.n_vars); point[vm.times[2]] = 1.0
    >>> spurious_neurons(net, vm, point)       # arrivals at 0: 2t - t = 1 first at t = 1
    set()
    >>> point[x[1]] = 0.25                     # x1 arrives at 0.25: the first crossing is 0.75
    >>> spurious_neurons(net, vm, point)
    {2}
    """
    if not vm.relaxed:
        return set()
    values = np.asarray(values, dtype=float)
    times: dict[int, float | None] = dict(enumerate(net.encode(values[vm.inputs]).tolist()))
    for c in range(net.n_inputs, net.first_neuron):
        times[c] = float(net.constants[c - net.n_inputs])
    for u, tv in vm.times.items():
        times[u] = float(values[tv]) if _fires(vm.fire[u], values) else None
    out = set()
    for v in sorted(vm.relaxed):
        sl = net.incoming(v)
        arrivals = [(to_fraction(times[int(u)] + float(d)), to_fraction(w))
                    for u, w, d in zip(net.src[sl], net.weight[sl], net.delay[sl])
                    if w != 0 and times.get(int(u)) is not None]
        first = first_crossing(arrivals, to_fraction(net.threshold(v)))
        t = times[v]
        if (t is None) != (first is None) or (t is not None and abs(float(first) - t) > tol * (1 + abs(t))):
            out.add(v)
    return out


def refine(nets: Sequence, maps: Sequence[VarMap], values: np.ndarray,
           first_crossing_sets: list[set[int]]) -> bool:
    """Add the spurious neurons of a solver point to ``first_crossing_sets`` (one set per
    network, updated in place); ``True`` if any was added."""
    grew = False
    for net, vm, fc in zip(nets, maps, first_crossing_sets):
        if isinstance(net, SNN):
            bad = spurious_neurons(net, vm, values)
            grew |= bool(bad - fc)
            fc |= bad
    return grew
