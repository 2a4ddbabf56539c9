"""The compiled first-crossing kernel (numba), parallel over samples.

The algorithm and its error bound are described in :mod:`.kernel`. Arrivals are sorted lazily (an
incremental quicksort that sorts only the blocks a walk reaches): once per sample when the level
shares one arrival order (no per-neuron delays), per neuron otherwise. Every neuron walks its
arrivals in order and **stops at the first breakpoint where the potential reaches** ``theta + E``:
arrivals after the firing time are at most partitioned, never sorted or summed. With a shared
order, :data:`~.kernel.BLOCK` neurons walk together (:func:`_walk_block`: one branch-free SIMD
loop over the lanes per arrival, lane by lane only when some lane reaches a threshold). With
positive weights that is the whole work (the potential only rises); with mixed signs the same walk
checks every segment on the way. Nonnegative-weight neurons with per-neuron delays need no sort
(:func:`_newton`). Results are bit-identical to :mod:`.kernel_numpy` (same order of every
floating-point operation, ties in the sort broken by source index).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from .kernel import BLOCK, SAMPLES, TIME_TOL, U, LevelArrays

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


@nb.njit(cache=True, inline="always")
def _band(theta, sabs, eps, gamma, amax):
    """``theta - E`` and ``theta + E``: the thresholds around ``theta`` the walk watches."""
    ea = sabs * (eps + gamma * (3.0 * amax + 1.0)) + gamma * theta
    return theta - ea, theta + ea


@nb.njit(cache=True, inline="always")
def _advance(stage, P, th_lo, theta, th_hi, Wk, Bk, ak, an, t_lo, t_mid, t_hi):
    """Record every threshold the segment ``[ak, an]`` (end potential ``P``) reaches, in order.

    ``stage`` counts the thresholds ``theta - E <= theta <= theta + E`` already reached (their
    crossings ``t_lo``, ``t_mid``, ``t_hi``); returns the new stage, the next threshold to watch
    (``inf`` once all three are reached) and the three crossings.
    """
    while True:
        if stage == 0 and P >= th_lo:
            t_lo = _cand(th_lo, Wk, Bk, ak, an)
        elif stage == 1 and P >= theta:
            t_mid = _cand(theta, Wk, Bk, ak, an)
        elif stage == 2 and P >= th_hi:
            t_hi = _cand(th_hi, Wk, Bk, ak, an)
        else:
            break
        stage += 1
    nxt = th_lo if stage == 0 else theta if stage == 1 else th_hi if stage == 2 else _INF
    return stage, nxt, t_lo, t_mid, t_hi


@nb.njit(cache=True)
def _finish(a, m, w_last, Wk, Bk, stage, t_lo, t_mid, t_hi, theta, sabs, eps, gamma, amax):
    """The end of the walk: the last, unbounded segment (arrival ``a[m-1]``, weight ``w_last``)
    for the thresholds not reached yet, then the time, its error bound and ambiguity."""
    f_lo, f_mid = stage >= 1, stage >= 2
    amb = False
    if stage < 3:
        al = a[m - 1]
        Wk += w_last
        Bk += w_last * al
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
def _walk(a, s, stk, st, m, w, theta, sabs, eps, gamma, amax):
    """Time, error bound and ambiguity of one neuron from its ``m`` arrivals ``a`` (sources ``s``),
    sorted lazily as the walk advances (see :func:`_ensure`)."""
    if m == 0:
        return _INF, 0.0, False
    th_lo, th_hi = _band(theta, sabs, eps, gamma, amax)
    t_lo = t_mid = t_hi = _INF
    _ensure(a, s, stk, st, 0)
    stage, nxt = 0, th_lo
    if th_lo <= 0.0:
        t_lo, stage, nxt = a[0], 1, theta
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
        if P >= nxt:
            stage, nxt, t_lo, t_mid, t_hi = _advance(stage, P, th_lo, theta, th_hi, Wk, Bk, ak, an, t_lo, t_mid, t_hi)
            if stage == 3:
                break
    return _finish(a, m, w[s[m - 1]], Wk, Bk, stage, t_lo, t_mid, t_hi, theta, sabs, eps, gamma, amax)


@nb.njit(cache=True)
def _walk_block(a, s, stk, st, m, Wb, blk, nv, theta, sabs, dmax, eps, gamma, tabs, lane, stage, out_t, out_e, out_a):
    """:func:`_walk` for the ``nv`` neurons of block ``blk`` at once, on one shared order of the
    arrivals, sorted lazily as far as the blocks reach (:func:`_ensure`; the next block reuses it).

    ``Wb[blk, j, b]`` is the weight from source ``j`` to neuron ``blk * BLOCK + b``. Every step
    updates the block's prefix sums and end potentials in one branch-free loop over the lanes
    (SIMD); only a step where some lane reaches its next threshold (rare: three times per
    neuron) goes lane by lane. The block stops once every lane has reached ``theta + E``. Each
    lane does the operations of :func:`_walk` in the same order: bit-identical results.
    ``lane`` (8, BLOCK) float and ``stage`` (BLOCK) int are scratch.
    """
    Wk, Bk, nxt, thl, thh, tl, tm, th = lane[0], lane[1], lane[2], lane[3], lane[4], lane[5], lane[6], lane[7]
    v0 = blk * BLOCK
    for b in range(BLOCK):
        Wk[b] = Bk[b] = 0.0
        tl[b] = tm[b] = th[b] = nxt[b] = _INF   # lanes past nv never reach a threshold
        stage[b] = 3
    for b in range(nv):
        v = v0 + b
        thl[b], thh[b] = _band(theta[v], sabs[v], eps, gamma, tabs + dmax[v])
        stage[b], nxt[b] = 0, thl[b]
        if thl[b] <= 0.0:
            tl[b], stage[b], nxt[b] = a[0], 1, theta[v]
    left = nv
    row = Wb[blk]
    _ensure(a, s, stk, st, 0)
    for k in range(m - 1):
        if k + 1 >= st[0]:
            _ensure(a, s, stk, st, k + 1)
        ak = a[k]
        an = a[k + 1]
        wr = row[s[k]]
        hit = False
        for b in range(BLOCK):
            wk = wr[b]
            x = Wk[b] + wk
            y = Bk[b] + wk * ak
            Wk[b] = x
            Bk[b] = y
            hit |= (x * an - y) >= nxt[b]
        if hit:
            for b in range(nv):
                P = Wk[b] * an - Bk[b]
                if P >= nxt[b]:
                    v = v0 + b
                    stage[b], nxt[b], tl[b], tm[b], th[b] = _advance(stage[b], P, thl[b], theta[v], thh[b], Wk[b],
                                                                     Bk[b], ak, an, tl[b], tm[b], th[b])
                    if stage[b] == 3:
                        left -= 1
            if left == 0:
                break
    for b in range(nv):
        v = v0 + b
        out_t[v], out_e[v], out_a[v] = _finish(a, m, row[s[m - 1], b], Wk[b], Bk[b], stage[b], tl[b], tm[b], th[b],
                                               theta[v], sabs[v], eps, gamma, tabs + dmax[v])


@nb.njit(cache=True)
def _newton(tf, idx, nf, Dv, w, theta, sabs, eps, gamma, amax, af, wf, ac, wc):
    """Time, error bound and ambiguity of a neuron with weights >= 0 by the causal-set
    iteration (no sort): ``tf[:nf]`` are the firing sources' times, ``idx`` their indices;
    ``af``, ``wf``, ``ac``, ``wc`` are scratch (n_src).

    Each step sums ``w`` and ``w a`` over ``S = {a < c}`` in source order. The set only shrinks,
    so a step scans the previous step's set, compacted (contiguous, branch-free), not every
    arrival; the sums are the same numbers in the same order as over all arrivals with the mask.
    Should rounding move the cut ``c`` above an arrival dropped earlier (the set would grow
    back), the remaining steps scan every arrival, as the definition does.
    """
    a_min = _INF
    W = 0.0
    B = 0.0
    for q in range(nf):  # the first step: every firing source (c = inf)
        j = idx[q]
        a = tf[q] + Dv[j]
        af[q] = ac[q] = a
        wf[q] = wc[q] = w[j]
        a_min = min(a_min, a)
        W += w[j]
        B += w[j] * a
    if not W > 0.0:
        return _INF, 0.0, False          # every weight is zero: the potential stays 0
    t = (theta + B) / W
    n_prev = nf
    m = nf                               # the compacted set: ac[:m], wc[:m]
    dropped = _INF                       # the earliest arrival dropped so far
    full = False
    while True:
        c = t
        if not full and c > dropped:
            full = True
        W = 0.0
        B = 0.0
        n = 0
        if full:
            for q in range(nf):
                a = af[q]
                if a < c:
                    W += wf[q]
                    B += wf[q] * a
                    n += 1
        else:
            for q in range(m):
                a = ac[q]
                wq = wc[q]
                keep = a < c
                W += wq if keep else 0.0
                B += wq * a if keep else 0.0
                dropped = min(dropped, _INF if keep else a)
                ac[n] = a
                wc[n] = wq
                n += keep
            m = n
        if n == n_prev:
            break
        if n > n_prev:
            return t, _INF, True         # rounding made the iteration go back: settle exactly
        if not W > 0.0:
            return t, _INF, True         # rounding emptied the causal set: settle exactly
        t = (theta + B) / W
        n_prev = n
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
def _level(T, E, D, shared, newton, W, Wb, theta, sabs, dmax, gamma, out_t, out_e, out_a):
    """Every (sample, neuron) of a level; threads take groups of :data:`~.kernel.SAMPLES` samples,
    and within a group each neuron (block of neurons) runs on every sample before the next, so its
    weights and delays stay in cache instead of streaming from memory once per sample."""
    c, n_src = T.shape
    n_out = W.shape[0]
    for g in nb.prange((c + SAMPLES - 1) // SAMPLES):
        lo = g * SAMPLES
        ns = min(c, lo + SAMPLES) - lo
        idx = np.empty((ns, n_src), np.int64)
        nf = np.empty(ns, np.int64)
        eps = np.empty(ns)
        tabs = np.empty(ns)
        for r in range(ns):
            nf[r], eps[r], tabs[r] = _firing(T[lo + r], E[lo + r], idx[r])
        a = np.empty((ns, n_src))
        s = np.empty((ns, n_src), np.int64)
        stk = np.empty((ns, n_src + 2), np.int64)
        st = np.empty((ns, 2), np.int64)
        if shared:  # one order per sample for the whole level, sorted as far as needed; neurons in blocks
            for r in range(ns):
                for q in range(nf[r]):
                    a[r, q] = T[lo + r, idx[r, q]] + D[0, idx[r, q]]
                    s[r, q] = idx[r, q]
                st[r, 0], st[r, 1], stk[r, 0] = 0, 1, nf[r]
                if nf[r] == 0:
                    out_t[lo + r, :], out_e[lo + r, :], out_a[lo + r, :] = _INF, 0.0, False
            lane = np.empty((8, BLOCK))
            stage = np.empty(BLOCK, np.int64)
            for blk in range(Wb.shape[0]):
                nv = min(BLOCK, n_out - blk * BLOCK)
                for r in range(ns):
                    if nf[r] > 0:
                        _walk_block(a[r], s[r], stk[r], st[r], nf[r], Wb, blk, nv, theta, sabs, dmax, eps[r], gamma,
                                    tabs[r], lane, stage, out_t[lo + r], out_e[lo + r], out_a[lo + r])
            continue
        tf = np.empty((ns, n_src))
        for r in range(ns):
            for q in range(nf[r]):
                tf[r, q] = T[lo + r, idx[r, q]]
        af, wf, ac, wc = np.empty(n_src), np.empty(n_src), np.empty(n_src), np.empty(n_src)
        for v in range(n_out):
            Dv = D[v]
            for r in range(ns):
                if newton[v]:
                    res = _newton(tf[r], idx[r], nf[r], Dv, W[v], theta[v], sabs[v], eps[r], gamma, tabs[r] + dmax[v],
                                  af, wf, ac, wc)
                else:
                    for q in range(nf[r]):
                        a[r, q] = tf[r, q] + Dv[idx[r, q]]
                        s[r, q] = idx[r, q]
                    st[r, 0], st[r, 1], stk[r, 0] = 0, 1, nf[r]
                    res = _walk(a[r], s[r], stk[r], st[r], nf[r], W[v], theta[v], sabs[v], eps[r], gamma,
                                tabs[r] + dmax[v])
                out_t[lo + r, v], out_e[lo + r, v], out_a[lo + r, v] = res


def level_times(la: LevelArrays, T: np.ndarray, E: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`srmverify.simulate.kernel.level_times`."""
    c, n_out = T.shape[0], la.W.shape[0]
    out_t, out_e = np.empty((c, n_out)), np.empty((c, n_out))
    out_a = np.empty((c, n_out), dtype=np.bool_)
    _level(T, E, la.D, la.shared_order, la.newton, la.W, la.blocks, la.theta, la.sabs, la.dmax, la.gamma, out_t, out_e, out_a)
    return out_t, out_e, out_a
