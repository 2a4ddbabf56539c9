"""The numpy first-crossing kernel: the fallback when numba is unavailable or not wanted.

Same algorithm, same error bound and bit-identical results as :mod:`.kernel_numba`
(:mod:`.kernel` describes them), vectorised over a chunk of samples instead of walking: arrivals
are sorted per sample (once per neuron when delays differ), the prefix sums ``W_k``, ``B_k`` are
added row by row in the sorted order, the potential at every breakpoint is compared with the
three thresholds at once and the first hit gives each crossing. No early exit, so the work is
``O(n_src · n_out)`` per sample plus the sort.
"""
from __future__ import annotations

import numpy as np

from .kernel import TIME_TOL, U, LevelArrays


def _prefix_sums(la: LevelArrays, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted arrivals ``As`` (n_src, c, 1 or n_out; ``inf`` = never fires, sorted last, ties by
    source index) and the prefix sums ``W_k``, ``B_k`` (n_src, c, n_out) in that order."""
    c = T.shape[0]
    n_out, n_src = la.W.shape
    if la.shared_order:
        A = T + la.D[0]                                                # (c, n_src)
        order = np.argsort(A, axis=1, kind="stable")
        As = np.take_along_axis(A, order, axis=1).T[:, :, None]       # (n_src, c, 1)
        Wk = np.ascontiguousarray(la.W.T)[order.T]                     # (n_src, c, n_out)
    else:
        A = T[:, None, :] + la.D                                       # (c, n_out, n_src)
        order = np.argsort(A, axis=2, kind="stable").transpose(2, 0, 1)  # (n_src, c, n_out)
        w_idx = order + np.arange(n_out) * n_src                       # flat gathers beat take_along_axis
        As = A.reshape(-1)[w_idx + (np.arange(c) * la.W.size)[:, None]]
        Wk = la.W.reshape(-1)[w_idx]
    fin = np.isfinite(As)
    if not fin.all():
        Wk *= fin
    Bk = Wk * np.where(fin, As, 0.0)
    for k in range(1, n_src):  # sequential prefix sums, the order the compiled walk adds them
        np.add(Wk[k], Wk[k - 1], out=Wk[k])
        np.add(Bk[k], Bk[k - 1], out=Bk[k])
    return As, Wk, Bk


def _first_hit(P: np.ndarray, th: np.ndarray, As, nxt, Wk, Bk) -> np.ndarray:
    """Crossing of ``th`` on the first segment whose end potential reaches it (``inf``: none)."""
    hit = P >= th
    k = np.argmax(hit, axis=0)[None]
    take = lambda x: np.take_along_axis(np.broadcast_to(x, P.shape), k, axis=0)[0]  # noqa: E731
    W, B, a, an = take(Wk), take(Bk), take(As), take(nxt)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(W > 0.0, np.minimum(np.maximum((th + B) / W, a), an), a)
    return np.where(np.take_along_axis(hit, k, axis=0)[0], t, np.inf)


def level_times(la: LevelArrays, T: np.ndarray, E: np.ndarray, out_t: np.ndarray | None = None,
                out_e: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`srmverify.simulate.kernel.level_times`."""
    shape = (T.shape[0], la.W.shape[0])
    out = [np.empty(shape) if out_t is None else out_t, np.empty(shape) if out_e is None else out_e,
           np.empty(shape, dtype=bool)]
    for sel, run in ((la.newton, _newton_level), (~la.newton, _walk_level)):
        if sel.all():
            for o, r in zip(out, run(la, T, E)):
                o[...] = r
        elif sel.any():
            for o, r in zip(out, run(la.rows(sel), T, E)):
                o[:, sel] = r
    return out[0], out[1], out[2]


def _source_stats(la: LevelArrays, T: np.ndarray, E: np.ndarray):
    """Firing mask and count, max source error ``eps`` (c, 1) and ``amax`` = max |t| + dmax (c, n_out)."""
    fin = np.isfinite(T)
    eps = np.where(fin, E, 0.0).max(axis=1, initial=0.0)[:, None]
    amax = np.where(fin, np.abs(T), 0.0).max(axis=1, initial=0.0)[:, None] + la.dmax
    return fin, fin.sum(axis=1), eps, amax


def _newton_level(la: LevelArrays, T: np.ndarray, E: np.ndarray):
    """The causal-set iteration of nonnegative-weight neurons (see :mod:`.kernel`), vectorised;
    sums are added source by source in index order, as the compiled loop adds them."""
    _, _, eps, amax = _source_stats(la, T, E)
    theta, sabs, gamma = la.theta, la.sabs, la.gamma
    A = T[:, None, :] + la.D                                          # (c, n_out, n_src); inf: never fires
    a_min = A.min(axis=2)
    shape = a_min.shape
    cut, t, W = np.full(shape, np.inf), np.full(shape, np.inf), np.zeros(shape)
    n_prev = np.full(shape, -1)
    e, amb, todo = np.zeros(shape), np.zeros(shape, dtype=bool), np.ones(shape, dtype=bool)
    while todo.any():
        m = A < cut[..., None]
        Wc, Bc = np.zeros(shape), np.zeros(shape)
        with np.errstate(invalid="ignore"):          # 0 * inf of a silent source: not taken
            for j in range(A.shape[2]):
                Wc += np.where(m[..., j], la.W[:, j], 0.0)
                Bc += np.where(m[..., j], la.W[:, j] * A[..., j], 0.0)
        n = m.sum(axis=2)
        stop = todo & (n == n_prev)
        W = np.where(stop, Wc, W)
        bad = todo & ~stop & (~(Wc > 0.0) | ((n_prev >= 0) & (n > n_prev)))
        e = np.where(bad & (n_prev >= 0), np.inf, e)
        amb |= bad & (n_prev >= 0)
        todo &= ~(stop | bad)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(todo, (theta + Bc) / Wc, t)
        n_prev, cut = np.where(todo, n, n_prev), np.where(todo, t, cut)
    fired = np.isfinite(t) & ~amb
    with np.errstate(divide="ignore", invalid="ignore"):
        el = sabs * (eps + gamma * (2.0 * amax + 2.0 * np.maximum(amax, np.abs(t)) + 1.0)) + gamma * theta
        eb = 2.0 * el / W + el * (t - a_min + 1.0) / theta + 8.0 * U * (np.abs(t) + amax) * (1.0 + sabs / W)
    return t, np.where(fired, eb, e), amb


def _walk_level(la: LevelArrays, T: np.ndarray, E: np.ndarray):
    """The breakpoint walk of every neuron, vectorised (see :mod:`.kernel`)."""
    fin, nf, eps, amax = _source_stats(la, T, E)
    theta, sabs, gamma = la.theta, la.sabs, la.gamma
    ea = sabs * (eps + gamma * (3.0 * amax + 1.0)) + gamma * theta
    th_lo, th_hi = theta - ea, theta + ea
    As, Wk, Bk = _prefix_sums(la, T)
    nxt = np.concatenate([As[1:], np.full(As[:1].shape, np.inf)], axis=0)
    with np.errstate(invalid="ignore"):
        P = np.where(np.isfinite(nxt), Wk * nxt - Bk, -np.inf)        # potential at each segment's end
    t_lo = _first_hit(P, th_lo, As, nxt, Wk, Bk)
    t_lo = np.where(th_lo <= 0.0, As[0], t_lo)
    t_mid = _first_hit(P, np.broadcast_to(theta, ea.shape), As, nxt, Wk, Bk)
    t_hi = _first_hit(P, th_hi, As, nxt, Wk, Bk)
    # the last, unbounded segment, for what the bounded segments did not reach
    last = np.maximum(nf - 1, 0)[None, :, None]
    pick = lambda x: np.take_along_axis(np.broadcast_to(x, Wk.shape), np.broadcast_to(last, (1,) + Wk.shape[1:]),
                                        axis=0)[0]  # noqa: E731
    Wl, Bl, al = pick(Wk), pick(Bk), pick(As)
    open_ = ~np.isfinite(t_hi) & (nf > 0)[:, None]
    amb = open_ & (np.abs(Wl) <= 2.0 * gamma * sabs)
    pos = open_ & (Wl > 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tm = np.maximum((theta + Bl) / Wl, al)
        el = sabs * (eps + gamma * (2.0 * amax + 2.0 * np.maximum(amax, np.abs(tm)) + 1.0)) + gamma * theta
        t_lo = np.where(pos & ~np.isfinite(t_lo), np.maximum((theta - el + Bl) / Wl, al), t_lo)
        t_mid = np.where(pos & ~np.isfinite(t_mid), tm, t_mid)
        t_hi = np.where(pos, np.maximum((theta + el + Bl) / Wl, al), t_hi)
    t_lo = np.where((nf > 0)[:, None], t_lo, np.inf)
    fires = np.isfinite(t_lo)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(t_mid) & (t_hi - t_lo <= TIME_TOL * (1.0 + np.abs(t_mid)))
        e = np.maximum(t_hi - t_mid, t_mid - t_lo) + 8.0 * U * (np.abs(t_mid) + amax)
    t = np.where(fires, t_mid, np.inf)
    e = np.where(fires, np.where(ok, e, np.inf), 0.0)
    return t, e, amb | (fires & ~ok)
