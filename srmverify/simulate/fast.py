"""Float64 batch simulation that never returns a time the exact definition would not give.

Per level (topological generation) and chunk of samples, :func:`.kernel.level_times` computes
every neuron's first crossing with a rigorous error bound (compiled with numba when available,
else numpy; see :mod:`.kernel`). Inputs carry the rounding of the encoder as their error, every
neuron's bound is propagated to its targets, and a neuron whose time the bound cannot certify (a
near-tie: a potential maximum within rounding of the threshold, a crossing that could jump to a
later segment) is **settled exactly**: its time and the ancestors it needs are computed in
rationals (:func:`.exact.settle`) and the correctly rounded value is propagated downstream. So
every returned time ``t`` satisfies ``|t - t_exact| <= TIME_TOL * (1 + |t|)`` (in practice a few
ulps), and ``inf`` is returned only for a neuron that truly never fires.
``candidate_matrix_times`` is the ``O(n_in^2·n_out)`` method, kept as the benchmark baseline.
"""
from __future__ import annotations

import weakref
from typing import Callable

import numpy as np

from ..errors import InputError
from ..network import SNN, ReLUNet
from .exact import Time, encode_exact, settle, to_fraction
from .kernel import U, LevelArrays, backend, level_times

#: numpy backend: target number of (sample, source, neuron) entries processed at once (the
#: working memory is ~80 bytes per entry); the compiled backend needs no chunks.
CHUNK_ENTRIES = 1 << 20

_Span = slice | np.ndarray
_LEVELS: "weakref.WeakKeyDictionary[SNN, tuple[tuple[LevelArrays, _Span, _Span], ...]]" = weakref.WeakKeyDictionary()


def _level_arrays(net: SNN) -> tuple[tuple[LevelArrays, _Span, _Span], ...]:
    """Every level's kernel arrays and its source and neuron columns (:func:`_span`), made once
    per network."""
    if net not in _LEVELS:
        _LEVELS[net] = tuple((LevelArrays.of(lv), _span(lv.sources), _span(lv.neurons)) for lv in net.levels)
    return _LEVELS[net]


def _span(idx: np.ndarray) -> _Span:
    """``idx`` as a slice when it is a run of consecutive ids (a layered network's levels), so
    the columns of a level are a view, not a gathered copy.

    >>> _span(np.array([3, 4, 5])), _span(np.array([0, 2])).tolist()
    (slice(3, 6, None), [0, 2])
    """
    if len(idx) and idx[-1] - idx[0] == len(idx) - 1 and np.all(np.diff(idx) == 1):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


def _times(net: SNN, t_in: np.ndarray, e_in: np.ndarray,
           exact_inputs: Callable[[int], list]) -> tuple[np.ndarray, np.ndarray, int]:
    """Float times ``(batch, n_total)``, their error bounds, and how many neurons were settled
    exactly; ``exact_inputs(i)`` gives sample ``i``'s exact input times (only called for a sample
    with an ambiguous neuron)."""
    batch = t_in.shape[0]
    T = np.empty((batch, net.n_total))
    E = np.empty((batch, net.n_total))       # every neuron's column is written by its level
    T[:, : net.n_inputs] = t_in
    E[:, : net.n_inputs] = e_in
    T[:, net.n_inputs: net.first_neuron] = net.constants
    E[:, net.n_inputs: net.first_neuron] = 0.0
    known: dict[int, dict[int, Time]] = {}
    compiled = backend() == "numba"
    settled = 0
    for lv, (la, src, dst) in zip(net.levels, _level_arrays(net)):
        chunk = batch if compiled else max(1, CHUNK_ENTRIES // (lv.W.size * (1 if lv.shared_order else 2)))
        for lo in range(0, batch, chunk):
            hi = min(batch, lo + chunk)
            if isinstance(dst, slice):   # written in place
                _, _, amb = level_times(la, T[lo:hi, src], E[lo:hi, src], T[lo:hi, dst], E[lo:hi, dst])
            else:
                t, e, amb = level_times(la, T[lo:hi, src], E[lo:hi, src])
                T[lo:hi, dst], E[lo:hi, dst] = t, e
            if not amb.any():
                continue
            for i in np.flatnonzero(amb.any(axis=1)).tolist():
                i = lo + int(i)
                if i not in known:
                    known[i] = dict(enumerate([to_fraction(v) for v in exact_inputs(i)]
                                              + [to_fraction(c) for c in net.constants]))
                vs = lv.neurons[amb[i - lo]].tolist()
                settle(net, known[i], vs)
                for v in vs:
                    tv = known[i][v]
                    T[i, v] = np.inf if tv is None else float(tv)
                    E[i, v] = 0.0 if tv is None else U * abs(T[i, v])
                settled += len(vs)
    return T, E, settled


def spike_times(net: SNN, t_inputs: np.ndarray) -> np.ndarray:
    """Spike times of every neuron, ``(batch, n_total)``, for input spike times ``(batch, n_inputs)``.

    ``inf`` marks a neuron that never fires. The input floats are taken as exact.

    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> float(spike_times(net, [[0.0, 0.0]])[0, -1]) == 5 / 9
    True
    """
    t_in = np.atleast_2d(np.asarray(t_inputs, dtype=float))
    if t_in.shape[1] != net.n_inputs:
        raise InputError("inputs", "input columns", t_in.shape[1], f"expected {net.n_inputs}")
    return _times(net, t_in, np.zeros_like(t_in), lambda i: t_in[i].tolist())[0]


def simulate_snn(net: SNN, x: np.ndarray) -> tuple[np.ndarray, int]:
    """Outputs in data space of an SNN (encoder and decoder applied) and how many neurons had to
    be settled exactly. The encoder's float rounding counts as input error; a near-tie is settled
    against the exact encoding of ``x`` (the definition :func:`.exact.simulate_exact` uses)."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    if x.shape[1] != net.n_inputs:
        raise InputError("inputs", "input columns", x.shape[1], f"expected {net.n_inputs}")
    t_in = net.encode(x)
    e_in = np.zeros_like(t_in) if net.encoder is None else \
        4.0 * U * (np.abs(net.encoder.offset) + np.abs(net.encoder.scale * x))
    T, _, settled = _times(net, t_in, e_in, lambda i: encode_exact(net, x[i].tolist()))
    return net.decode(T[:, net.outputs]), settled


def causal_synapses(net: SNN, times: np.ndarray) -> np.ndarray:
    """Boolean ``(batch, n_synapses)``: synapse ``k`` is causal (its arrival is strictly before
    the target's firing time; for a target that never fires, every firing source counts)."""
    times = np.atleast_2d(times)
    a = times[:, net.src] + net.delay
    return np.isfinite(a) & (a < times[:, net.dst])


def simulate(net: SNN | ReLUNet, x: np.ndarray) -> np.ndarray:
    """Outputs in data space for a batch of data ``x`` (encoder and decoder applied).

    ``inf`` marks an output neuron that never fires.
    """
    if isinstance(net, ReLUNet):
        return net.evaluate(x)
    return simulate_snn(net, x)[0]


def candidate_matrix_times(net: SNN, t_inputs: np.ndarray, block: int = 16) -> np.ndarray:
    """The straightforward method, for benchmarks only: for every neuron evaluate the potential
    at every arrival, ``P(a_k) = sum_j w_j max(0, a_k - a_j)`` — ``O(n_in^2 · n_out)`` per sample —
    and take the first crossing. Neurons go in blocks of ``block`` so memory stays bounded.
    Agrees with :func:`spike_times`.

    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> float(candidate_matrix_times(net, [[0.0, 0.0]])[0, -1]) == 5 / 9
    True
    """
    t_in = np.atleast_2d(np.asarray(t_inputs, dtype=float))
    T = np.empty((t_in.shape[0], net.n_total))
    T[:, : net.n_inputs] = t_in
    T[:, net.n_inputs: net.first_neuron] = net.constants
    for lv in net.levels:
        for b in range(t_in.shape[0]):
            for lo in range(0, len(lv.neurons), block):
                rows = slice(lo, lo + block)
                A = T[b, lv.sources][None, :] + lv.D[rows]                  # (blk, n_src)
                th = lv.thresholds[rows, None]
                fin = np.isfinite(A)
                Af = np.where(fin, A, 0.0)
                W = np.where(fin, lv.W[rows], 0.0)
                diff = Af[:, :, None] - Af[:, None, :]                      # [o, k, j] = a_k - a_j
                P = np.einsum("oj,okj->ok", W, np.maximum(0.0, diff))       # potential at each arrival
                slope = np.einsum("oj,okj->ok", W, (diff >= 0).astype(float))
                with np.errstate(divide="ignore", invalid="ignore"):
                    cand = np.where((slope > 0) & fin, Af + (th - P) / slope, np.inf)
                # a crossing on the segment starting at a_k is valid if P(a_k) < theta and it is
                # reached before the next arrival; P(a_k) >= theta means it fired at or before a_k
                nxt = np.where((diff < 0) & fin[:, None, :], Af[:, None, :], np.inf).min(axis=2)
                ok = (P < th) & (cand <= nxt + 1e-12 * (1.0 + np.abs(nxt))) | (P >= th) & fin  # same tolerance as above
                cand = np.where(P >= th, Af, cand)
                T[b, lv.neurons[rows]] = np.where(ok, cand, np.inf).min(axis=1)
    return T
