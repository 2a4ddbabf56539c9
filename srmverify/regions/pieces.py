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

from collections.abc import Sequence

import numba as nb
import numpy as np

from ..network import SNN


def _synapse_ends(net: SNN) -> tuple[np.ndarray, np.ndarray]:
    """Source and target neuron of every synapse bit of a pattern (the layout of :func:`.pattern_bits`)."""
    src, dst = [], []
    for lv in net.levels:
        i, j = np.nonzero(lv.present)
        src.append(lv.sources[j])
        dst.append(lv.neurons[i])
    return np.concatenate(src).astype(np.int64), np.concatenate(dst).astype(np.int64)


@nb.njit(cache=True)
def _mask(bits, src, dst, first, output):
    """:func:`masked_patterns` of ``bits`` (n, n_bits): synapse bit ``b`` joins ``src[b]`` to
    ``dst[b]`` (levels in order), then the firing flags of neurons ``first, first + 1, ...``;
    ``output`` marks the outputs. The synapse bits are read backwards, so a neuron's relevance
    is final before its own sources are read."""
    n, nb_ = bits.shape
    S = len(src)
    out = np.zeros((n, nb_), dtype=np.bool_)
    rel = np.zeros(len(output), dtype=np.bool_)
    for r in range(n):
        rel[:] = False
        for v in range(first, len(output)):
            if output[v] and bits[r, S + v - first]:
                rel[v] = True
                out[r, S + v - first] = True
        for b in range(S - 1, -1, -1):
            if bits[r, b] and rel[dst[b]]:
                out[r, b] = True
                rel[src[b]] = True
    return out


def masked_patterns(net: SNN, bits: np.ndarray) -> np.ndarray:
    """Backward-masked pattern bits (same layout as :func:`.pattern_bits`) of full causal
    pattern bits ``bits`` (n, n_bits); masked synapse bits are 0, only output fire flags kept.

    >>> net = SNN.layered([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0]]], [[1.0, 1.0], [0.5]])
    >>> full = np.array([[1, 1, 1, 1, 1, 0, 1, 1, 1]], dtype=bool)   # neuron 2 is not causal for the output
    >>> masked_patterns(net, full).astype(int).tolist()
    [[1, 1, 0, 0, 1, 0, 0, 0, 1]]
    """
    src, dst = _synapse_ends(net)
    output = np.zeros(net.n_total, dtype=bool)
    output[net.outputs] = True
    return _mask(np.ascontiguousarray(bits, dtype=bool), src, dst, net.first_neuron, output)


def count_causal_pieces(net: SNN, patterns: Sequence[str] | np.ndarray) -> int:
    """Number of distinct masked patterns among the causal patterns ``patterns``: the ``pattern``
    strings of :class:`.Region` (hex), or their packed bytes (N, n_bytes) as the refinements keep them.

    One level whose neurons are all outputs masks nothing that tells patterns apart: a firing
    neuron keeps its causal set, a silent one loses the bits of its firing sources, and those
    (inputs and constants) fire at every input, so they are the same for every pattern. There
    the count is that of the distinct patterns themselves.

    >>> net = SNN.layered([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 0.0]]], [[1.0, 1.0], [0.5]])
    >>> count_causal_pieces(net, ["fa80", "fb80"]), count_causal_pieces(net, np.array([[0xFA, 0x80]], np.uint8))
    (1, 1)
    """
    if isinstance(patterns, np.ndarray):
        packed = np.ascontiguousarray(patterns, dtype=np.uint8)
    else:
        packed = np.frombuffer(bytes.fromhex("".join(patterns)), dtype=np.uint8).reshape(len(patterns), -1)
    if not len(packed):
        return 0
    distinct = np.unique(packed.view(f"S{packed.shape[1]}").ravel())
    if len(net.levels) == 1 and set(net.outputs.tolist()) == set(range(net.first_neuron, net.n_total)):
        return len(distinct)
    nbits = sum(int(lv.present.sum()) for lv in net.levels) + net.n_neurons
    bits = np.unpackbits(np.frombuffer(distinct.tobytes(), dtype=np.uint8).reshape(len(distinct), -1), axis=1)
    masked = np.ascontiguousarray(np.packbits(masked_patterns(net, bits[:, :nbits].astype(bool)), axis=1))
    return len(np.unique(masked.view(f"S{masked.shape[1]}")))
