"""Known region counts for recognisable architectures (model.md §1.1), on all of ``R^d``.

A box meets at most these many regions; a box large enough to meet every region meets exactly
as many as the exact results say.
"""
from __future__ import annotations

import weakref
from math import comb

import numpy as np

from ..network import ReLUNet, SNN


def single_neuron(d: int) -> int:
    """Causal regions of one SNN neuron with ``d`` positive-weight inputs: ``2^d - 1``.

    >>> single_neuron(10)
    1023
    """
    return 2 ** d - 1


def shared_layer(m: int, d: int) -> int:
    """Causal regions of ``m`` neurons sharing one positive weight vector over ``d`` inputs,
    with distinct thresholds and no delays: exactly ``(m+1)^d - m^d``.

    >>> shared_layer(3, 3)
    37
    """
    return (m + 1) ** d - m ** d


def relu_shallow(m: int, d: int) -> int:
    """Maximum number of regions of one hidden ReLU layer of width ``m`` on ``R^d`` (hyperplane
    arrangement in general position): ``sum_{j<=d} C(m, j)``.

    >>> relu_shallow(3, 2)
    7
    """
    return sum(comb(m, j) for j in range(min(m, d) + 1))


def relu_deep_bound(widths: list[int]) -> int:
    """Upper bound for a deep ReLU network with input width ``widths[0]`` and hidden widths
    ``widths[1:]``: ``prod_l sum_{j <= min(d, n_1..n_{l-1})} C(n_l, j)`` (Serra et al. 2018).

    >>> relu_deep_bound([2, 3])
    7
    """
    total, dim = 1, widths[0]
    for n in widths[1:]:
        total *= sum(comb(n, j) for j in range(min(dim, n) + 1))
        dim = min(dim, n)
    return total


#: :func:`theory_for` of every SNN asked about (networks are not changed after they are made).
_SNN_THEORY: "weakref.WeakKeyDictionary[SNN, dict]" = weakref.WeakKeyDictionary()


def theory_for(net: SNN | ReLUNet) -> dict:
    """The known count for ``net``'s architecture, or an empty dict when none applies.

    Returns ``{"name", "formula", "value", "exact"}`` where ``exact`` tells whether the value is
    the exact count on ``R^d`` (True) or an upper bound (False).

    >>> theory_for(SNN.layered([[[1.0, 2.0, 3.0]]], [[1.0]]))["value"]
    7
    """
    if isinstance(net, ReLUNet):
        d, hidden = net.n_inputs, [W.shape[0] for W, _ in net.layers[:-1]]
        if not hidden:
            return {"name": "affine network", "formula": "1", "value": 1, "exact": True}
        if len(hidden) == 1:
            return {"name": f"one hidden ReLU layer, m = {hidden[0]}, d = {d}", "formula": "sum_{j<=d} C(m, j)",
                    "value": relu_shallow(hidden[0], d), "exact": False}
        return {"name": f"ReLU network {[d] + hidden}", "formula": "prod_l sum_{j<=min(d, n_1..n_(l-1))} C(n_l, j)",
                "value": relu_deep_bound([d] + hidden), "exact": False}
    if net not in _SNN_THEORY:
        _SNN_THEORY[net] = _snn_theory(net)
    return dict(_SNN_THEORY[net])


def _snn_theory(net: SNN) -> dict:
    """:func:`theory_for` of an SNN, computed."""
    d = net.n_inputs
    if len(net.levels) != 1 or not net.all_weights_positive or np.any(net.delay != 0):
        return {}
    lv = net.levels[0]
    if not lv.present.all() or not np.array_equal(lv.sources, np.arange(d)):
        return {}                                  # constants or missing synapses: no theorem
    if len(lv.neurons) == 1:
        return {"name": f"single neuron, d = {d}", "formula": "2^d - 1", "value": single_neuron(d), "exact": True}
    m = len(lv.neurons)
    if np.all(lv.W == lv.W[0]) and len(np.unique(lv.thresholds)) == m:
        return {"name": f"shared-weight layer, m = {m}, d = {d}", "formula": "(m+1)^d - m^d",
                "value": shared_layer(m, d), "exact": True}
    return {}
