"""Vectorised float64 batch simulation.

Per level (topological generation) and chunk of samples, arrivals are sorted once per sample
when each source's delay is shared by the level, else once per neuron; prefix sums
``W_k = sum_{j<=k} w_(j)``, ``B_k = sum_{j<=k} w_(j) a_(j)`` give the candidate crossing time
``(theta + B_k) / W_k`` of every segment. With positive weights the firing time is the minimum of
the candidates (model.md §1.1: no segment checks); otherwise it is the first candidate that lies
on its own segment (model.md §1.2). Work is ``O(n_in·n_out)`` per level and sample plus the
sort; samples go in chunks of about ``CHUNK_ENTRIES`` (sample, source, neuron) entries, so the
working memory is bounded whatever the batch size. ``candidate_matrix_times`` is the
``O(n_in^2·n_out)`` method, kept as the benchmark baseline.
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..network import SNN, Level, ReLUNet

#: Target number of (sample, source, neuron) entries processed at once. Measured on a 784-512
#: level: ~4-8 samples per chunk with a shared order, 1 with per-neuron orders are fastest
#: (larger chunks fall out of the caches); the working memory is ~40 bytes per entry.
CHUNK_ENTRIES = 1 << 21


def _prefix_sums(lv: Level, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Arrivals sorted per sample (and per neuron when delays differ) and prefix sums.

    Returns ``As`` (n_src, c, 1 or n_out): the sorted arrivals (``inf`` = the source never
    fires, sorted last), and ``S`` (n_src, 2, c, n_out) with ``S[k, 0] = W_k`` and
    ``S[k, 1] = B_k`` over the first ``k + 1`` arrivals (model.md §1.2); a source that never
    fires contributes nothing. Sources come first so the prefix sums add contiguous rows.
    """
    c = T.shape[0]
    n_out, n_src = lv.W.shape
    S = np.empty((n_src, 2, c, n_out))
    if lv.shared_order:
        A = T + lv.D[0]                                                # (c, n_src)
        order = np.argsort(A, axis=1)
        As = np.take_along_axis(A, order, axis=1).T[:, :, None]       # (n_src, c, 1)
        fin = np.isfinite(As)
        S[:, 0] = np.ascontiguousarray(lv.W.T)[order.T]                # (n_src, c, n_out)
        if not fin.all():
            S[:, 0] *= fin
        np.multiply(S[:, 0], np.where(fin, As, 0.0), out=S[:, 1])
    else:
        A = T[:, None, :] + lv.D                                       # (c, n_out, n_src)
        order = np.argsort(A, axis=2).transpose(2, 0, 1)              # (n_src, c, n_out)
        # flat gathers (much faster than take_along_axis): element (b, i, order) of (c, n_out, n_src)
        w_idx = order + np.arange(n_out) * n_src
        idx = w_idx + (np.arange(c) * lv.W.size)[:, None]
        As = A.reshape(-1)[idx]
        fin = np.isfinite(A)
        if fin.all():
            S[:, 0] = lv.W.reshape(-1)[w_idx]
            S[:, 1] = (lv.W * A).reshape(-1)[idx]
        else:
            Wf = np.where(fin, lv.W, 0.0)
            S[:, 0] = Wf.reshape(-1)[idx]
            S[:, 1] = (Wf * np.where(fin, A, 0.0)).reshape(-1)[idx]
    for k in range(1, n_src):  # prefix sums: adding whole rows beats np.cumsum here
        np.add(S[k], S[k - 1], out=S[k])
    return As, S


def _level_times(lv: Level, T: np.ndarray) -> np.ndarray:
    """Firing times of a level's neurons for source times ``T`` (chunk, n_src)."""
    As, S = _prefix_sums(lv, T)
    Wk, tk = S[:, 0], S[:, 1]
    tk += lv.thresholds                                     # in place: S[:, 1] becomes theta + B_k
    with np.errstate(divide="ignore", invalid="ignore"):
        tk /= Wk                                            # candidate crossing time of every prefix
    if np.all(lv.W[lv.present] > 0):
        # Positive weights: t_v = min over prefixes of (theta + B_k) / W_k (model.md §1.1); a prefix
        # with W_k = 0 has B_k = 0 and gives +inf, a never-firing source adds nothing.
        return tk.min(axis=0)
    nxt = np.concatenate([As[1:], np.full(As[:1].shape, np.inf)], axis=0)
    fin = np.isfinite(As)
    tol = 1e-12 * (1.0 + np.abs(np.where(fin, As, 0.0)))
    valid = (Wk > 0) & fin & (tk >= As - tol) & (tk <= nxt + tol)
    first = np.argmax(valid, axis=0)[None]
    t = np.take_along_axis(tk, first, axis=0)[0]
    a = np.take_along_axis(np.broadcast_to(As, tk.shape), first, axis=0)[0]
    return np.where(valid.any(axis=0), np.maximum(t, a), np.inf)


def spike_times(net: SNN, t_inputs: np.ndarray) -> np.ndarray:
    """Spike times of every neuron, ``(batch, n_total)``, for input spike times ``(batch, n_inputs)``.

    ``inf`` marks a neuron that never fires.

    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> float(spike_times(net, [[0.0, 0.0]])[0, -1]) == 5 / 9
    True
    """
    t_in = np.atleast_2d(np.asarray(t_inputs, dtype=float))
    if t_in.shape[1] != net.n_inputs:
        raise InputError("inputs", "input columns", t_in.shape[1], f"expected {net.n_inputs}")
    batch = t_in.shape[0]
    T = np.empty((batch, net.n_total))
    T[:, : net.n_inputs] = t_in
    T[:, net.n_inputs: net.first_neuron] = net.constants
    for lv in net.levels:
        # per-neuron sorting needs about four times the working memory of a shared order
        chunk = max(1, CHUNK_ENTRIES // (lv.W.size * (1 if lv.shared_order else 4)))
        for lo in range(0, batch, chunk):
            hi = min(batch, lo + chunk)
            T[lo:hi, lv.neurons] = _level_times(lv, T[lo:hi, lv.sources])
    return T


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
    T = spike_times(net, net.encode(np.atleast_2d(np.asarray(x, dtype=float))))
    return net.decode(T[:, net.outputs])


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
