"""Summaries of networks: sizes, weight signs, which neurons are guaranteed to fire."""
from __future__ import annotations

import numpy as np

from .relu import ReLUNet
from .snn import SNN


def always_fires(net: SNN) -> np.ndarray:
    """Boolean per computing neuron: a sound guarantee that it fires on every input.

    A neuron surely fires if every presynaptic neuron surely fires and its total weight is
    positive (then ``P(t) -> +inf``). Inputs and constants always fire.

    >>> net = SNN.layered([[[1.0, -2.0]], [[1.0]]], [[1.0], [1.0]])
    >>> always_fires(net).tolist()
    [False, False]
    """
    sure = np.ones(net.n_total, dtype=bool)
    for v in range(net.first_neuron, net.n_total):
        sl = net.incoming(v)
        sure[v] = bool(sure[net.src[sl]].all() and net.weight[sl].sum() > 0)
    return sure[net.first_neuron:]


def describe(net: SNN | ReLUNet) -> dict:
    """A JSON-ready summary of a network."""
    if isinstance(net, ReLUNet):
        w = np.concatenate([W.ravel() for W, _ in net.layers])
        return {"kind": "relu", "inputs": net.n_inputs, "outputs": net.n_outputs, "widths": net.widths,
                "hidden_neurons": net.n_hidden, "parameters": int(sum(W.size + b.size for W, b in net.layers)),
                "weights": {"positive": int((w > 0).sum()), "negative": int((w < 0).sum()), "zero": int((w == 0).sum())}}
    sure = always_fires(net)
    return {
        "kind": "snn", "inputs": net.n_inputs, "constants": net.n_constants, "neurons": net.n_neurons,
        "outputs": net.n_outputs, "synapses": net.n_synapses, "depth": len(net.levels),
        "level_sizes": [len(lv.neurons) for lv in net.levels],
        "weights": {"positive": int((net.weight > 0).sum()), "negative": int((net.weight < 0).sum()),
                    "zero": int((net.weight == 0).sum())},
        "all_weights_positive": net.all_weights_positive,
        "delays": bool(np.any(net.delay != 0)),
        "encoder": net.encoder is not None, "decoder": net.decoder is not None,
        "always_fires": bool(sure.all()),
        "may_never_fire": [net.names[net.first_neuron + i] for i in np.flatnonzero(~sure)][:50],
    }
