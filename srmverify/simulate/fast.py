"""Vectorised float64 batch simulation.

Per level (topological generation) and sample, arrivals are sorted once (once per sample when
each source's delay is shared by the level, else once per neuron), prefix sums give the
candidate crossing time on every segment in ``O(n_in)`` per neuron, and the first valid segment
is the firing time (model.md §1.2). Work is ``O(n_in·n_out)`` per level and sample (plus the
sort), processed in chunks of samples so memory stays bounded.
"""
from __future__ import annotations

import numpy as np

from ..network import SNN, Level, ReLUNet

#: Target number of float64 entries of one (chunk, n_out, n_src) working array.
CHUNK_ENTRIES = 1 << 21


def _level_times(lv: Level, T: np.ndarray) -> np.ndarray:
    """Firing times of a level's neurons for source times ``T`` (chunk, n_src)."""
    c = T.shape[0]
    n_out, n_src = lv.W.shape
    if lv.shared_order:
        A = T + lv.D[0]                                   # (c, n_src)
        order = np.argsort(A, axis=1, kind="stable")
        As = np.take_along_axis(A, order, axis=1)[:, None, :]          # (c, 1, n_src)
        Ws = np.take(lv.W, order, axis=1).transpose(1, 0, 2)             # (c, n_out, n_src)
    else:
        A = T[:, None, :] + lv.D[None]                     # (c, n_out, n_src)
        order = np.argsort(A, axis=2, kind="stable")
        As = np.take_along_axis(A, order, axis=2)
        Ws = np.take_along_axis(np.broadcast_to(lv.W, A.shape), order, axis=2)
    fin = np.isfinite(As)
    Ws = np.where(fin, Ws, 0.0)
    Af = np.where(fin, As, 0.0)
    Wk = np.cumsum(Ws, axis=2)
    Bk = np.cumsum(Ws * Af, axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        tk = (lv.thresholds[None, :, None] + Bk) / Wk
    nxt = np.concatenate([As[:, :, 1:], np.full(As.shape[:2] + (1,), np.inf)], axis=2)
    tol = 1e-12 * (1.0 + np.abs(Af))
    valid = (Wk > 0) & fin & (tk >= As - tol) & (tk <= nxt + tol)
    first = np.argmax(valid, axis=2)
    t = np.take_along_axis(tk, first[:, :, None], axis=2)[:, :, 0]
    t = np.where(valid.any(axis=2), np.maximum(t, np.take_along_axis(np.broadcast_to(As, tk.shape),
                                                                      first[:, :, None], axis=2)[:, :, 0]), np.inf)
    return t.reshape(c, n_out)


def spike_times(net: SNN, t_inputs: np.ndarray) -> np.ndarray:
    """Spike times of every neuron, ``(batch, n_total)``, for input spike times ``(batch, n_inputs)``.

    ``inf`` marks a neuron that never fires.

    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.5, 0.0]]], constants=[0.0])
    >>> float(spike_times(net, [[0.0, 0.0]])[0, -1]) == 5 / 9
    True
    """
    t_in = np.atleast_2d(np.asarray(t_inputs, dtype=float))
    if t_in.shape[1] != net.n_inputs:
        raise ValueError(f"expected {net.n_inputs} input columns, got {t_in.shape[1]}")
    batch = t_in.shape[0]
    T = np.empty((batch, net.n_total))
    T[:, : net.n_inputs] = t_in
    T[:, net.n_inputs: net.first_neuron] = net.constants
    for lv in net.levels:
        per = lv.W.size if lv.shared_order else 2 * lv.W.size
        chunk = max(1, CHUNK_ENTRIES // max(per, 1))
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


def candidate_matrix_times(net: SNN, t_inputs: np.ndarray) -> np.ndarray:
    """The straightforward method, for benchmarks only: for every neuron evaluate the potential
    at every arrival, ``P(a_k) = sum_j w_j max(0, a_k - a_j)`` — ``O(n_in^2 · n_out)`` per sample —
    and take the first crossing. Agrees with :func:`spike_times`."""
    t_in = np.atleast_2d(np.asarray(t_inputs, dtype=float))
    T = np.empty((t_in.shape[0], net.n_total))
    T[:, : net.n_inputs] = t_in
    T[:, net.n_inputs: net.first_neuron] = net.constants
    for lv in net.levels:
        for b in range(t_in.shape[0]):
            A = T[b, lv.sources][None, :] + lv.D                  # (n_out, n_src)
            fin = np.isfinite(A)
            Af = np.where(fin, A, 0.0)
            W = np.where(fin, lv.W, 0.0)
            P = np.einsum("oj,okj->ok", W, np.maximum(0.0, Af[:, :, None] - Af[:, None, :]))  # P at each arrival
            slope = np.einsum("oj,okj->ok", W, (Af[:, None, :] <= Af[:, :, None]).astype(float))
            with np.errstate(divide="ignore", invalid="ignore"):
                cand = np.where((slope > 0) & fin, Af + (lv.thresholds[:, None] - P) / slope, np.inf)
            # a crossing on the segment starting at a_k is valid if P(a_k) < theta and it is reached
            # before the next arrival
            nxt = np.where(Af[:, None, :] > Af[:, :, None], Af[:, None, :], np.inf).min(axis=2)
            ok = (P < lv.thresholds[:, None]) & (cand <= nxt) | (P >= lv.thresholds[:, None]) & fin
            cand = np.where(P >= lv.thresholds[:, None], Af, cand)
            T[b, lv.neurons] = np.where(ok, cand, np.inf).min(axis=1)
    return T
