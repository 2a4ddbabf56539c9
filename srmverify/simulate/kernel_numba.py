"""The compiled first-crossing kernel (numba), parallel over samples.

The algorithm and its error bound are described in :mod:`.kernel`. Per sample the firing sources'
arrivals are sorted once when the level shares one arrival order (no per-neuron delays); with
per-neuron delays each neuron's arrivals are sorted lazily (an incremental quicksort, sorting
only the blocks the walk reaches). Every neuron walks its arrivals in order and **stops at the
first breakpoint where the potential reaches** ``theta + E``: arrivals after the firing time are
at most partitioned, never sorted or summed. With
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


#: Partitions this small are finished by insertion sort.
_SMALL = 16


@nb.njit(cache=True, inline="always")
def _less(a, s, i, j):
    """Element ``i`` before element ``j``: by arrival, ties by source index (a stable order)."""
    return a[i] < a[j] or (a[i] == a[j] and s[i] < s[j])


@nb.njit(cache=True, inline="always")
def _swap(a, s, i, j):
    a[i], a[j] = a[j], a[i]
    s[i], s[j] = s[j], s[i]


@nb.njit(cache=True)
def _ensure(a, s, stk, st, k):
    """Lazy (incremental) quicksort: make ``a[:k+1]`` (with ``s``) final in sorted order.

    ``st[0]`` is how many leading elements are final, ``stk[:st[1]]`` a stack of partition
    ends (exclusive) whose top bounds the unsorted block starting at ``st[0]``: every element
    of a lower block precedes every element of a higher one. Only the blocks the walk reaches
    get sorted, so the arrivals after a neuron's firing time are only partitioned, never sorted.
    """
    while st[0] <= k:
        lo, hi = st[0], stk[st[1] - 1]
        if hi - lo <= _SMALL:
            for i in range(lo + 1, hi):
                j = i
                while j > lo and _less(a, s, j, j - 1):
                    _swap(a, s, j, j - 1)
                    j -= 1
            st[0] = hi
            st[1] -= 1
            continue
        mid, last = (lo + hi - 1) // 2, hi - 1
        if _less(a, s, mid, lo):
            _swap(a, s, mid, lo)
        if _less(a, s, last, lo):
            _swap(a, s, last, lo)
        if _less(a, s, last, mid):
            _swap(a, s, last, mid)
        pa, ps = a[mid], s[mid]
        i, j = lo - 1, hi
        while True:  # Hoare partition around the median of three
            i += 1
            while a[i] < pa or (a[i] == pa and s[i] < ps):
                i += 1
            j -= 1
            while pa < a[j] or (a[j] == pa and ps < s[j]):
                j -= 1
            if i >= j:
                break
            _swap(a, s, i, j)
        stk[st[1]] = j + 1
        st[1] += 1


@nb.njit(cache=True)
def _walk(a, s, stk, st, m, w, theta, sabs, eps, gamma, amax):
    """Time, error bound and ambiguity of one neuron from its ``m`` arrivals ``a`` (sources ``s``),
    sorted lazily as the walk advances (see :func:`_ensure`)."""
    if m == 0:
        return _INF, 0.0, False
    ea = sabs * (eps + gamma * (3.0 * amax + 1.0)) + gamma * theta
    th_lo = theta - ea
    th_hi = theta + ea
    t_lo = t_mid = t_hi = _INF
    f_lo = f_mid = f_hi = False
    _ensure(a, s, stk, st, 0)
    if th_lo <= 0.0:
        t_lo = a[0]
        f_lo = True
    Wk = 0.0
    Bk = 0.0
    for k in range(m - 1):
        if k + 1 >= st[0]:
            _ensure(a, s, stk, st, k + 1)
        wk = w[s[k]]
        ak = a[k]
        Wk += wk
        Bk += wk * ak
        an = a[k + 1]
        P = Wk * an - Bk
        if P >= th_lo:  # th_lo <= theta <= th_hi: the three hits are nested
            if not f_lo:
                t_lo = _cand(th_lo, Wk, Bk, ak, an)
                f_lo = True
            if P >= theta:
                if not f_mid:
                    t_mid = _cand(theta, Wk, Bk, ak, an)
                    f_mid = True
                if P >= th_hi:
                    t_hi = _cand(th_hi, Wk, Bk, ak, an)
                    f_hi = True
                    break
    amb = False
    if not f_hi:  # the last, unbounded segment
        wk = w[s[m - 1]]
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
def _newton(tf, idx, nf, Dv, w, theta, sabs, eps, gamma, amax):
    """Time, error bound and ambiguity of a neuron with weights >= 0 by the causal-set
    iteration (no sort): ``tf[:nf]`` are the firing sources' times, ``idx`` their indices."""
    c = _INF
    n_prev = -1
    t = _INF
    a_min = _INF
    W = 0.0
    while True:
        W = 0.0
        B = 0.0
        n = 0
        for q in range(nf):
            j = idx[q]
            a = tf[q] + Dv[j]
            a_min = min(a_min, a)
            if a < c:
                wj = w[j]
                W += wj
                B += wj * a
                n += 1
        if n == n_prev:
            break
        if n_prev >= 0 and n > n_prev:
            return t, _INF, True         # rounding made the iteration go back: settle exactly
        if not W > 0.0:
            if n_prev < 0:
                return _INF, 0.0, False  # every weight is zero: the potential stays 0
            return t, _INF, True         # rounding emptied the causal set: settle exactly
        t = (theta + B) / W
        n_prev = n
        c = t
    el = sabs * (eps + gamma * (2.0 * amax + 2.0 * max(amax, abs(t)) + 1.0)) + gamma * theta
    e = 2.0 * el / W + el * (t - a_min + 1.0) / theta + 8.0 * U * (abs(t) + amax) * (1.0 + sabs / W)
    return t, e, False


@nb.njit(cache=True)
def _firing(Ti, Ei, idx):
    """Fill ``idx`` with the firing sources of one sample; their count, max error and max ``|t|``."""
    nf = 0
    eps = 0.0
    tabs = 0.0
    for j in range(Ti.shape[0]):
        t = Ti[j]
        if t < _INF:
            idx[nf] = j
            nf += 1
            eps = max(eps, Ei[j])
            tabs = max(tabs, abs(t))
    return nf, eps, tabs


@nb.njit(cache=True, parallel=True)
def _level(T, E, D, shared, newton, W, theta, sabs, dmax, gamma, out_t, out_e, out_a):
    n_src = T.shape[1]
    for i in nb.prange(T.shape[0]):
        idx = np.empty(n_src, np.int64)
        a = np.empty(n_src)
        s = np.empty(n_src, np.int64)
        a0 = np.empty(n_src)
        s0 = np.empty(n_src, np.int64)
        stk = np.empty(n_src + 2, np.int64)
        st = np.empty(2, np.int64)
        nf, eps, tabs = _firing(T[i], E[i], idx)
        tf = np.empty(nf)
        for q in range(nf):
            tf[q] = T[i, idx[q]]
        if shared:  # one order for the whole level: sort it once, completely
            for q in range(nf):
                a0[q] = T[i, idx[q]] + D[0, idx[q]]
                s0[q] = idx[q]
            st[0], st[1], stk[0] = 0, 1, nf
            if nf > 0:
                _ensure(a0, s0, stk, st, nf - 1)
        for v in range(W.shape[0]):
            if shared:  # already sorted: the walk never calls _ensure
                r = _walk(a0, s0, stk, st, nf, W[v], theta[v], sabs[v], eps, gamma, tabs + dmax[v])
            elif newton[v]:
                r = _newton(tf, idx, nf, D[v], W[v], theta[v], sabs[v], eps, gamma, tabs + dmax[v])
            else:
                Dv = D[v]
                for q in range(nf):
                    a[q] = T[i, idx[q]] + Dv[idx[q]]
                    s[q] = idx[q]
                st[0], st[1], stk[0] = 0, 1, nf
                r = _walk(a, s, stk, st, nf, W[v], theta[v], sabs[v], eps, gamma, tabs + dmax[v])
            out_t[i, v], out_e[i, v], out_a[i, v] = r


def level_times(la: LevelArrays, T: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`srmverify.simulate.kernel.level_times`."""
    c, n_out = T.shape[0], la.W.shape[0]
    out_t, out_e = np.empty((c, n_out)), np.empty((c, n_out))
    out_a = np.empty((c, n_out), dtype=np.bool_)
    _level(T, E, la.D, la.shared_order, la.newton, la.W, la.theta, la.sabs, la.dmax, la.gamma, out_t, out_e, out_a)
    return out_t, out_e, out_a
