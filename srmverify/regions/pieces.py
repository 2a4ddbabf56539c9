"""Causal pieces: the backward-masked causal patterns of the peer and the causal-pieces literature.

Definition (documented in README.md): a neuron is **relevant** at an input if it is an output
that fires, or a causal source of a relevant neuron (traced backwards from the outputs). The
**masked pattern** keeps the causal set of every relevant neuron and which outputs fire; the
causal sets of the other neurons are masked out. A *causal piece* is a maximal set of inputs with
one masked pattern; it is a union of causal regions, so the number of distinct masked patterns
among the full-dimensional causal regions is the exact number of full-dimensional causal pieces
(whenever the region list is complete).
"""
from __future__ import annotations

import numpy as np

from ..network import SNN

#: Patterns masked together (the boolean work arrays of a chunk stay in the cache: one pass over
#: 126,000 yin-yang patterns took 5.0 s CPU, chunks of 1024 1.4 s).
CHUNK = 1024


def masked_patterns(net: SNN, bits: np.ndarray) -> np.ndarray:
    """Backward-masked pattern bits (same layout as :func:`.pattern_bits`) of full causal
    pattern bits ``bits`` (n, n_bits); masked synapse bits are 0, only output fire flags kept.

    >>> net = SNN.layered([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0]]], [[1.0, 1.0], [0.5]])
    >>> full = np.array([[1, 1, 1, 1, 1, 0, 1, 1, 1]], dtype=bool)   # neuron 2 is not causal for the output
    >>> masked_patterns(net, full).astype(int).tolist()
    [[1, 1, 0, 0, 1, 0, 0, 0, 1]]
    """
    n = len(bits)
    blocks, pos = [], 0
    for lv in net.levels:
        k = int(lv.present.sum())
        c = np.zeros((n, *lv.W.shape), dtype=bool)
        c[:, lv.present] = bits[:, pos: pos + k]
        blocks.append(c)
        pos += k
    fires = bits[:, pos:]
    rel = np.zeros((n, net.n_total), dtype=bool)
    out = net.outputs
    rel[:, out] = fires[:, out - net.first_neuron]
    masked = []
    for lv, c in zip(reversed(net.levels), reversed(blocks)):
        m = c & rel[:, lv.neurons][:, :, None]
        rel[:, lv.sources] |= m.any(axis=1)
        masked.append(m[:, lv.present])
    keep = np.zeros_like(fires)
    keep[:, out - net.first_neuron] = fires[:, out - net.first_neuron]
    return np.concatenate(masked[::-1] + [keep], axis=1)


def count_causal_pieces(net: SNN, patterns_hex: list[str]) -> int:
    """Number of distinct masked patterns among the causal patterns ``patterns_hex`` (the
    ``pattern`` strings of :class:`.Region`)."""
    if not patterns_hex:
        return 0
    nbits = sum(int(lv.present.sum()) for lv in net.levels) + net.n_neurons
    distinct = list(set(patterns_hex))
    packed = np.frombuffer(bytes.fromhex("".join(distinct)), dtype=np.uint8).reshape(len(distinct), -1)
    bits = np.unpackbits(packed, axis=1)[:, :nbits].astype(bool)
    masked = np.ascontiguousarray(np.concatenate([np.packbits(masked_patterns(net, bits[k: k + CHUNK]), axis=1)
                                                  for k in range(0, len(bits), CHUNK)]))
    return len(np.unique(masked.view(f"S{masked.shape[1]}")))
