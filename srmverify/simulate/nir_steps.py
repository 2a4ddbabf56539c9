"""A time-stepped simulation of NIR graphs, in the discrete convention of today's SNN simulators.

An independent reading of a NIR graph (it never goes through :mod:`srmverify.formats.nir_net`'s
reader): the nodes ``Input``, ``Output``, ``Linear``, ``Delay``, ``I``, ``IF`` and ``CubaLIF``
are stepped with forward Euler at step ``dt``. A spike is a unit in one step; ``Linear``
multiplies, ``Delay`` shifts each channel by ``round(d / dt)`` steps, ``I`` integrates
(``i += r·s``: a weighted spike becomes a step current), ``IF`` integrates again
(``v += dt·r·i``), spikes when ``v > v_threshold`` and resets to ``v_reset``; ``CubaLIF`` follows
``i += dt/τ_syn (w_in·s − i)``, ``v += dt/τ_mem (v_leak − v + r·i)``. This is what an exported
graph means to a clock-driven simulator: used to measure the ``O(dt)`` timing error of the
``cubalif`` profile and, with a small ``dt``, as an oracle that the exact export means ``P_v``.

>>> import numpy as np
>>> from srmverify.formats.nir_net import snn_to_nir
>>> from srmverify.network import SNN
>>> net = SNN.layered([[[1.0, 1.0]]], [[1.0]])      # two inputs, one neuron: t = (1 + a + b) / 2
>>> first, count = simulate_steps(snn_to_nir(net), {"input": np.array([[0.0, 0.5]])}, dt=1e-3, t_end=3.0)
>>> round(float(first["output"][0, 0]), 2), int(count["output"][0, 0])   # IF resets: 5 spikes by t = 3
(0.75, 5)
"""
from __future__ import annotations

from typing import Any, Mapping

import networkx as nx
import numpy as np

from ..errors import InputError


def simulate_steps(graph: Any, inputs: Mapping[str, np.ndarray], dt: float, t_end: float,
                   t_start: float = 0.0, single_spike: bool = False) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Run ``graph`` from ``t_start`` to ``t_end`` with step ``dt``.

    Parameters
    ----------
    graph : a ``nir.NIRGraph`` of the node types above.
    inputs : per ``Input`` node, the spike time of each channel, shape ``(batch, width)``
        (``inf``: no spike).
    dt, t_end, t_start : the time grid ``t_start + n·dt``, ``n < (t_end − t_start)/dt``.
    single_spike : let every ``IF``/``CubaLIF`` neuron spike only once (the semantics srmverify
        writes in the graph metadata); by default it resets and may spike again, as NIR says.

    Returns
    -------
    first, count : per ``Output`` node, the first spike time of each channel (``inf`` if none)
        and the number of spikes, both ``(batch, width)``.
    """
    import nir

    n_steps = int(np.ceil((t_end - t_start) / dt))
    batch = len(next(iter(inputs.values())))
    g = nx.DiGraph(list(graph.edges))
    g.add_nodes_from(graph.nodes)
    order = list(nx.topological_sort(g))
    preds = {n: list(g.predecessors(n)) for n in order}
    step_of = {k: np.round((np.asarray(v, dtype=float) - t_start) / dt) for k, v in inputs.items()}
    state: dict[str, dict[str, np.ndarray]] = {}
    hist: dict[str, np.ndarray] = {}
    first: dict[str, np.ndarray] = {}
    count: dict[str, np.ndarray] = {}
    for n in order:
        node = graph.nodes[n]
        if isinstance(node, nir.Delay):
            k = np.round(np.asarray(node.delay, dtype=float) / dt).astype(np.int64)
            state[n] = {"k": k}
            hist[n] = np.zeros((n_steps, batch, len(k)))
        elif isinstance(node, (nir.I, nir.IF, nir.CubaLIF)):
            width = np.asarray(node.r).size
            state[n] = {"i": np.zeros((batch, width)), "v": np.zeros((batch, width)),
                        "live": np.ones((batch, width), dtype=bool)}
        elif isinstance(node, nir.Output):
            width = int(np.prod(node.output_type["output"]))
            first[n], count[n] = np.full((batch, width), np.inf), np.zeros((batch, width), dtype=np.int64)
        elif not isinstance(node, (nir.Input, nir.Linear)):
            raise InputError("<nir graph>", f"node {n}", type(node).__name__, "not supported by the stepped simulation")
    for step in range(n_steps):
        sig: dict[str, np.ndarray] = {}
        for n in order:
            node = graph.nodes[n]
            x: Any = sum(sig[p] for p in preds[n]) if preds[n] else None
            if isinstance(node, nir.Input):
                sig[n] = (step_of[n] == step).astype(float)
            elif isinstance(node, nir.Linear):
                sig[n] = x @ np.asarray(node.weight, dtype=float).T
            elif isinstance(node, nir.Delay):
                hist[n][step] = x
                src = step - state[n]["k"]
                ok = src >= 0
                out = np.zeros_like(x)
                out[:, ok] = hist[n][src[ok], :, np.flatnonzero(ok)].T
                sig[n] = out
            elif isinstance(node, nir.I):
                state[n]["i"] += np.asarray(node.r, dtype=float) * x
                sig[n] = state[n]["i"]
            elif isinstance(node, nir.IF):
                st = state[n]
                st["v"] += dt * np.asarray(node.r, dtype=float) * x
                sig[n] = _fire(st, node.v_threshold, node.v_reset, single_spike)
            elif isinstance(node, nir.CubaLIF):
                st = state[n]
                st["i"] += dt / node.tau_syn * (node.w_in * x - st["i"])
                st["v"] += dt / node.tau_mem * (node.v_leak - st["v"] + node.r * st["i"])
                sig[n] = _fire(st, node.v_threshold, node.v_reset, single_spike)
            else:  # Output
                spk = x > 0.5
                count[n] += spk
                first[n] = np.where(spk & np.isinf(first[n]), t_start + step * dt, first[n])
                sig[n] = x
    return first, count


def _fire(st: dict[str, np.ndarray], theta: Any, reset: Any, single_spike: bool) -> np.ndarray:
    spk = (st["v"] > np.asarray(theta, dtype=float)) & st["live"]
    if single_spike:
        st["live"] &= ~spk
    st["v"] = np.where(spk, np.asarray(reset, dtype=float), st["v"])
    return spk.astype(float)
