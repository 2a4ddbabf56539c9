"""The compiled first-crossing kernel (numba), parallel over samples.

The algorithm and its error bound are described in :mod:`.kernel`. Per sample the firing sources'
arrivals are sorted once when the level shares one arrival order (no per-neuron delays), else per
neuron; every neuron then walks its sorted arrivals and **stops at the first breakpoint where the
potential reaches** ``theta + E`` — arrivals after the firing time are never touched. With
positive weights that is the whole work (the potential only rises); with mixed signs the same walk
checks every segment on the way. Results are bit-identical to :mod:`.kernel_numpy` (same order
of every floating-point operation, ties in the sort broken by source index).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from .kernel import TIME_TOL, U, LevelArrays

_INF = np.inf


@nb.njit(cache=True, inline="always")
def _cand(th, W, B, a, an):
    """Crossing of ``th`` on the segment ``[a, an]`` (clipped into it; ``a`` if the slope is not > 0)."""
    if W <= 0.0:
        return a
    return min(max((th + B) / W, a), an)


@nb.njit(cache=True)
def _walk(a, src, w, theta, sabs, eps, gamma, amax):
    """Time, error bound and ambiguity of one neuron from its sorted arrivals ``a`` (sources ``src``)."""
    m = a.shape[0]
    if m == 0:
        return _INF, 0.0, False
    ea = sabs * (eps + gamma * (3.0 * amax + 1.0)) + gamma * theta
    th_lo = theta - ea
    th_hi = theta + ea
    t_lo = t_mid = t_hi = _INF
    f_lo = f_mid = f_hi = False
    if th_lo <= 0.0:
        t_lo = a[0]
        f_lo = True
    Wk = 0.0
    Bk = 0.0
    for k in range(m - 1):
        wk = w[src[k]]
        ak = a[k]
        Wk += wk
        Bk += wk * ak
        an = a[k + 1]
        P = Wk * an - Bk
        if not f_lo and P >= th_lo:
            t_lo = _cand(th_lo, Wk, Bk, ak, an)
            f_lo = True
        if not f_mid and P >= theta:
            t_mid = _cand(theta, Wk, Bk, ak, an)
            f_mid = True
        if P >= th_hi:
            t_hi = _cand(th_hi, Wk, Bk, ak, an)
            f_hi = True
            break
    amb = False
    if not f_hi:  # the last, unbounded segment
        wk = w[src[m - 1]]
        al = a[m - 1]
        Wk += wk
        Bk += wk * al
        if abs(Wk) <= 2.0 * gamma * sabs:
            amb = True  # the sign of the final slope is within rounding
        if Wk > 0.0:
            tm = max((theta + Bk) / Wk, al)
            el = sabs * (eps + gamma * (2.0 * amax + 2.0 * max(amax, abs(tm)) + 1.0)) + gamma * theta
            if not f_lo:
                t_lo = max((theta - el + Bk) / Wk, al)
                f_lo = True
            if not f_mid:
                t_mid = tm
                f_mid = True
            t_hi = max((theta + el + Bk) / Wk, al)
        elif not f_lo:
            return _INF, 0.0, amb  # never fires: even theta - E is never reached (unless amb)
    if not f_mid or not (t_hi - t_lo <= TIME_TOL * (1.0 + abs(t_mid))):
        return t_mid, _INF, True
    e = max(t_hi - t_mid, t_mid - t_lo) + 8.0 * U * (abs(t_mid) + amax)
    return t_mid, e, amb


@nb.njit(cache=True)
def _firing(Ti, Ei):
    """Indices of the firing sources of one sample, their max error and max ``|t|``."""
    n = Ti.shape[0]
    idx = np.empty(n, np.int64)
    nf = 0
    eps = 0.0
    tabs = 0.0
    for j in range(n):
        t = Ti[j]
        if t < _INF:
            idx[nf] = j
            nf += 1
            eps = max(eps, Ei[j])
            tabs = max(tabs, abs(t))
    return idx[:nf], eps, tabs


@nb.njit(cache=True, parallel=True)
def _shared(T, E, d0, W, theta, sabs, dmax, gamma, out_t, out_e, out_a):
    for i in nb.prange(T.shape[0]):
        idx, eps, tabs = _firing(T[i], E[i])
        a = T[i][idx] + d0[idx]
        order = np.argsort(a, kind="mergesort")
        a_s = a[order]
        src = idx[order]
        for v in range(W.shape[0]):
            out_t[i, v], out_e[i, v], out_a[i, v] = _walk(a_s, src, W[v], theta[v], sabs[v], eps, gamma,
                                                          tabs + dmax[v])


@nb.njit(cache=True, parallel=True)
def _per_neuron(T, E, D, W, theta, sabs, dmax, gamma, out_t, out_e, out_a):
    for i in nb.prange(T.shape[0]):
        idx, eps, tabs = _firing(T[i], E[i])
        ti = T[i][idx]
        for v in range(W.shape[0]):
            a = ti + D[v][idx]
            order = np.argsort(a, kind="mergesort")
            out_t[i, v], out_e[i, v], out_a[i, v] = _walk(a[order], idx[order], W[v], theta[v], sabs[v], eps,
                                                          gamma, tabs + dmax[v])


def level_times(la: LevelArrays, T: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`srmverify.simulate.kernel.level_times`."""
    c, n_out = T.shape[0], la.W.shape[0]
    out_t, out_e = np.empty((c, n_out)), np.empty((c, n_out))
    out_a = np.empty((c, n_out), dtype=np.bool_)
    if la.shared_order:
        _shared(T, E, np.ascontiguousarray(la.D[0]), la.W, la.theta, la.sabs, la.dmax, la.gamma, out_t, out_e, out_a)
    else:
        _per_neuron(T, E, la.D, la.W, la.theta, la.sabs, la.dmax, la.gamma, out_t, out_e, out_a)
    return out_t, out_e, out_a
