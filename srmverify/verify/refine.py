"""Counterexample-guided refinement of the relaxed first-crossing encoding.

Queries first encode every mixed-sign SNN neuron *without* its first-crossing constraints (see
"Relaxed first crossing" in :mod:`srmverify.encode.snn`): the program over-approximates the
network, so an infeasible program is still a proof, and it is often ten times smaller. A solver
point of the relaxed program is checked neuron by neuron: a relaxed neuron whose spike time in
the point is not the first crossing *of the point's own arrival times* makes the point spurious.
Those neurons get the rows of the breakpoints the point violates (the potential reached the
threshold at an earlier arrival: one row ``P(a_k) < theta`` each, not the neuron's whole
pairwise block) and the program is solved again. When no relaxed neuron is wrong, the point is
the network's true behaviour (up to the solver tolerance) and goes to the usual exact re-check.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..encode.varmap import VarMap
from ..network import SNN
from ..settings import DEFAULT


def _fires(ind, values: np.ndarray) -> bool:
    return ind if isinstance(ind, bool) else bool(values[ind] > 0.5)


def violated_rows(net: SNN, vm: VarMap, values: np.ndarray, margin: float = DEFAULT.tau / 2) -> dict[int, int]:
    """Relaxed neurons of ``net`` that the solver point ``values`` shows crossing the threshold
    before their spike time (or, for a silent neuron, at all), each with the synapse ``k`` of the
    earliest arrival where the potential ``P(a_k)`` of the point's own arrivals reaches
    ``theta - margin``: the row ``P(a_k) < theta`` it violates. A neuron that is right up to the
    margin is left alone (a tie within the MILP tolerance is the re-check's business).

    Examples
    --------
    >>> from srmverify.encode import Program, encode_snn
    >>> from srmverify.bounds import snn_time_bounds
    >>> net = SNN.layered([[[2.0, -1.0]]], [[1.0]])          # x0 excites, x1 inhibits
    >>> p = Program(); x = [p.var("x0", 0, 1), p.var("x1", 0, 1)]
    >>> vm = encode_snn(p, net, x, snn_time_bounds(net, [[0, 1], [0, 1]]), first_crossing={})
    >>> sorted(vm.relaxed), vm.fire[2]                      # relaxed; surely fires on this box
    ([2], True)
    >>> point = np.zeros(p.n_vars); point[vm.times[2]] = 1.0
    >>> violated_rows(net, vm, point)          # arrivals at 0: 2t - t = 1 first at t = 1
    {}
    >>> point[x[1]] = 0.75; point[vm.times[2]] = 1.25     # a root of 2t - (t - 0.75) = 1 ...
    >>> violated_rows(net, vm, point)          # ... but 2t = 1 at t = 0.5: P(a_1) = 1.5 >= 1
    {2: 1}
    """
    if not vm.relaxed:
        return {}
    values = np.asarray(values, dtype=float)
    times: dict[int, float | None] = dict(enumerate(net.encode(values[vm.inputs]).tolist()))
    for c in range(net.n_inputs, net.first_neuron):
        times[c] = float(net.constants[c - net.n_inputs])
    for u, tv in vm.times.items():
        times[u] = float(values[tv]) if _fires(vm.fire[u], values) else None
    out: dict[int, int] = {}
    for v in sorted(vm.relaxed):
        sl = net.incoming(v)
        arrive = [(k, tk + float(net.delay[k])) for k in range(sl.start, sl.stop)
                  if net.weight[k] != 0 and (tk := times.get(int(net.src[k]))) is not None]
        if not arrive:
            continue
        ks = [k for k, _ in arrive]
        a = np.array([ak for _, ak in arrive])
        w = net.weight[ks]
        P = (np.maximum(a[:, None] - a[None, :], 0.0) * w[None, :]).sum(axis=1)
        t = times[v]
        before = a < t if t is not None else np.ones(len(ks), bool)
        bad = np.flatnonzero(before & (w < 0) & (P >= net.threshold(v) - margin))   # rows exist for w < 0 only
        if len(bad):
            out[v] = ks[bad[np.argmin(a[bad])]]
    return out


def refine(nets: Sequence, maps: Sequence[VarMap], values: np.ndarray,
           first_crossing: list[dict[int, set[int] | None]], margin: float = DEFAULT.tau / 2) -> bool:
    """Add the rows a solver point violates (:func:`violated_rows`, within ``margin``) to
    ``first_crossing`` (per network: neuron -> synapses whose first-crossing rows are written;
    updated in place). ``True`` if the program grows."""
    grew = False
    for net, vm, fc in zip(nets, maps, first_crossing):
        if not isinstance(net, SNN):
            continue
        for v, k in violated_rows(net, vm, values, margin).items():

            have = fc.setdefault(v, set())
            if have is not None and k not in have:
                have.add(k)
                grew = True
    return grew
