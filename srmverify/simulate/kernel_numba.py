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


#: Arrivals per value bucket of the first pass of the sort (:func:`_arrange`).
_PER_BUCKET = 2


@nb.njit(cache=True)
def _arrange(ta, ts, m, a, s, stk, st, cnt):
    """Start the lazy sort of the ``m`` arrivals ``ta`` (sources ``ts``) into ``a``, ``s``: one
    counting pass distributes them into value buckets of equal width (``cnt`` (n_src + 1) int
    scratch), whose ends are stacked for :func:`_ensure`, first bucket on top. The bucket index
    ``(x - min) * scale`` is nondecreasing in ``x`` (rounding is monotone), so every arrival of a
    bucket precedes every arrival of a later one and equal arrivals share a bucket; :func:`_ensure`
    then sorts each bucket when the walk reaches it (spread-out arrivals: a few per bucket, an
    insertion sort; a crowded bucket: quicksort, as without buckets).
    """
    st[0] = 0
    if m == 0:
        st[1] = 0
        return
    lo, hi = ta[0], ta[0]
    for q in range(1, m):
        lo, hi = min(lo, ta[q]), max(hi, ta[q])
    nb_, scale = 1, 0.0
    if hi - lo > 0.0 and hi - lo < _INF and (m // _PER_BUCKET) / (hi - lo) < _INF:
        nb_ = max(1, m // _PER_BUCKET)
        scale = nb_ / (hi - lo)
    cnt[:nb_ + 1] = 0
    for q in range(m):
        cnt[min(int((ta[q] - lo) * scale), nb_ - 1) + 1] += 1
    for b in range(nb_):
        cnt[b + 1] += cnt[b]
    for q in range(m):
        b = min(int((ta[q] - lo) * scale), nb_ - 1)
        p = cnt[b]
        a[p], s[p] = ta[q], ts[q]
        cnt[b] = p + 1
    n = 0
    for b in range(nb_ - 1, -1, -1):   # cnt[b] is now the end of bucket b
        if b == 0 or cnt[b] > cnt[b - 1]:
            stk[n] = cnt[b]
            n += 1
    st[1] = n


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


#: Steps of the compiled block walk between two threshold checks when every weight of the block
#: is >= 0 (the loop in :func:`_walk_block` is unrolled by hand to this length).
CHUNK = 8


@nb.njit(cache=True, inline="always")
def _add(x, y, w, a):
    """One step of the prefix sums ``W``, ``B``."""
    return x + w, y + w * a


#: Offsets of the per-lane quantities in the block walk's scratch ``acc`` (one flat array, so the
#: compiler sees that its rows never overlap and vectorises the loops over the lanes): prefix
#: sums, next threshold, the three thresholds, their crossings, the sums at the chunk's start,
#: the chunk's screening level.
_W, _B, _NXT, _THL, _THH, _TL, _TM, _TH, _W0, _B0, _LIM = [q * BLOCK for q in range(11)]


@nb.njit(cache=True, inline="always")
def _lane_hit(acc, b, v, P, stage, theta, mrg, W, B, ak, an):
    """:func:`_advance` for lane ``b`` (neuron ``v``) at potential ``P``; true if the lane has now
    reached ``theta + E``."""
    stage[b], acc[_NXT + b], acc[_TL + b], acc[_TM + b], acc[_TH + b] = _advance(
        stage[b], P, acc[_THL + b], theta[v], acc[_THH + b], W, B, ak, an, acc[_TL + b], acc[_TM + b], acc[_TH + b])
    acc[_LIM + b] = acc[_NXT + b] - mrg
    return stage[b] == 3


@nb.njit(cache=True)
def _walk_block(a, s, stk, st, m, Wb, mono, blk, nv, order, theta, sabs, dmax, eps, gamma, tabs, acc, stage, out_t,
                out_e, out_a):
    """:func:`_walk` for the ``nv`` neurons of block ``blk`` at once, on one shared order of the
    arrivals, sorted lazily as far as the blocks reach (:func:`_ensure`; the next block reuses it).

    ``Wb[blk, j, b]`` is the weight from source ``j`` to lane ``b``, neuron ``order[blk * BLOCK + b]``.
    Every step updates the block's prefix sums and end potentials in one branch-free loop over
    the lanes (SIMD); only a step where some lane reaches its next threshold (rare: three times
    per neuron) goes lane by lane. The block stops once every lane has reached ``theta + E``.
    Each lane does the operations of :func:`_walk` in the same order: bit-identical results.

    ``mono`` (every weight of the block >= 0): the lanes check their thresholds only every
    :data:`CHUNK` steps, against the next threshold minus ``2 E`` (the screening level ``_LIM``):
    the exact potential at the (float) arrivals is then nondecreasing and the float one within
    ``E / 2`` of it (:mod:`.kernel`), so if ``P`` reaches the threshold at some step of the chunk,
    ``P`` at its end reaches the screening level; a lane that does replays the chunk step by step
    from the sums saved at its start (the same numbers). ``acc`` (11 * BLOCK) float and ``stage``
    (BLOCK) int are scratch.
    """
    v0 = blk * BLOCK
    _ensure(a, s, stk, st, 0)
    for b in range(BLOCK):
        acc[_W + b] = acc[_B + b] = 0.0
        acc[_TL + b] = acc[_TM + b] = acc[_TH + b] = acc[_NXT + b] = acc[_LIM + b] = _INF   # lanes past nv: idle
        stage[b] = 3
    for b in range(nv):
        v = order[v0 + b]
        acc[_THL + b], acc[_THH + b] = _band(theta[v], sabs[v], eps, gamma, tabs + dmax[v])
        stage[b], acc[_NXT + b] = 0, acc[_THL + b]
        if acc[_THL + b] <= 0.0:
            acc[_TL + b], stage[b], acc[_NXT + b] = a[0], 1, theta[v]
        acc[_LIM + b] = acc[_NXT + b] - (acc[_THH + b] - acc[_THL + b])
    left = nv
    row = Wb[blk]
    k = 0
    if mono[blk]:
        while k + CHUNK < m:
            k1 = k + CHUNK
            if k1 >= st[0]:
                _ensure(a, s, stk, st, k1)
            a0, a1, a2, a3, a4, a5, a6, a7, an = a[k], a[k + 1], a[k + 2], a[k + 3], a[k + 4], a[k + 5], a[k + 6], \
                a[k + 7], a[k1]
            j0, j1, j2, j3, j4, j5, j6, j7 = s[k], s[k + 1], s[k + 2], s[k + 3], s[k + 4], s[k + 5], s[k + 6], s[k + 7]
            hit = False
            for b in range(BLOCK):
                x, y = acc[_W + b], acc[_B + b]
                acc[_W0 + b], acc[_B0 + b] = x, y
                x, y = _add(x, y, row[j0, b], a0)
                x, y = _add(x, y, row[j1, b], a1)
                x, y = _add(x, y, row[j2, b], a2)
                x, y = _add(x, y, row[j3, b], a3)
                x, y = _add(x, y, row[j4, b], a4)
                x, y = _add(x, y, row[j5, b], a5)
                x, y = _add(x, y, row[j6, b], a6)
                x, y = _add(x, y, row[j7, b], a7)
                acc[_W + b], acc[_B + b] = x, y
                hit |= (x * an - y) >= acc[_LIM + b]
            if hit:
                for b in range(nv):
                    if not (acc[_W + b] * an - acc[_B + b]) >= acc[_LIM + b]:
                        continue
                    v = order[v0 + b]
                    mrg = acc[_THH + b] - acc[_THL + b]
                    x, y = acc[_W0 + b], acc[_B0 + b]
                    for kk in range(k, k1):
                        x, y = _add(x, y, row[s[kk], b], a[kk])
                        P = x * a[kk + 1] - y
                        if P >= acc[_NXT + b] and _lane_hit(acc, b, v, P, stage, theta, mrg, x, y, a[kk], a[kk + 1]):
                            left -= 1
                            break
                if left == 0:
                    break
            k = k1
    for k in range(k, m - 1 if left > 0 else 0):
        if k + 1 >= st[0]:
            _ensure(a, s, stk, st, k + 1)
        ak = a[k]
        an = a[k + 1]
        j = s[k]
        hit = False
        for b in range(BLOCK):
            x, y = _add(acc[_W + b], acc[_B + b], row[j, b], ak)
            acc[_W + b], acc[_B + b] = x, y
            hit |= (x * an - y) >= acc[_NXT + b]
        if hit:
            for b in range(nv):
                x, y = acc[_W + b], acc[_B + b]
                P = x * an - y
                if P >= acc[_NXT + b] and _lane_hit(acc, b, order[v0 + b], P, stage, theta, 0.0, x, y, ak, an):
                    left -= 1
            if left == 0:
                break
    for b in range(nv):
        v = order[v0 + b]
        out_t[v], out_e[v], out_a[v] = _finish(a, m, row[s[m - 1], b], acc[_W + b], acc[_B + b], stage[b],
                                               acc[_TL + b], acc[_TM + b], acc[_TH + b], theta[v], sabs[v], eps, gamma,
                                               tabs + dmax[v])


#: Offsets of the per-lane quantities of :func:`_newton_block` in its scratch ``acc``: the cut
#: ``c``, the sums ``W``, ``B``, the count of the set, the time, the previous count, ``min a``.
_NC, _NW, _NB, _NN, _NT, _NPV, _NMIN = [q * BLOCK for q in range(7)]


@nb.njit(cache=True, inline="always")
def _keep(x, y, z, t, d, w, c):
    """Add the arrival ``t + d`` (weight ``w``) to the sums ``x``, ``y`` and count ``z`` if ``< c``."""
    a = t + d
    keep = a < c
    return x + (w if keep else 0.0), y + (w * a if keep else 0.0), z + (1.0 if keep else 0.0), a


@nb.njit(cache=True, inline="always")
def _sums(cand, ctim, ncand, Wr, Dr, acc, with_min):
    """One step of :func:`_newton_block`: per lane, ``sum w``, ``sum w a`` and the count over the
    arrivals ``a < c`` of the sources ``cand[:ncand]`` (times ``ctim``), in order; ``with_min``:
    also ``min a``. The lists are padded to a multiple of 8 with time ``inf`` (never added)."""
    for b in range(BLOCK):
        acc[_NW + b] = acc[_NB + b] = acc[_NN + b] = 0.0
    for q in range(0, ncand, 8):
        j0, j1, j2, j3, j4, j5, j6, j7 = cand[q], cand[q + 1], cand[q + 2], cand[q + 3], cand[q + 4], cand[q + 5], \
            cand[q + 6], cand[q + 7]
        t0, t1, t2, t3, t4, t5, t6, t7 = ctim[q], ctim[q + 1], ctim[q + 2], ctim[q + 3], ctim[q + 4], ctim[q + 5], \
            ctim[q + 6], ctim[q + 7]
        for b in range(BLOCK):
            c = acc[_NC + b]
            x, y, z = acc[_NW + b], acc[_NB + b], acc[_NN + b]
            x, y, z, a0 = _keep(x, y, z, t0, Dr[j0, b], Wr[j0, b], c)
            x, y, z, a1 = _keep(x, y, z, t1, Dr[j1, b], Wr[j1, b], c)
            x, y, z, a2 = _keep(x, y, z, t2, Dr[j2, b], Wr[j2, b], c)
            x, y, z, a3 = _keep(x, y, z, t3, Dr[j3, b], Wr[j3, b], c)
            x, y, z, a4 = _keep(x, y, z, t4, Dr[j4, b], Wr[j4, b], c)
            x, y, z, a5 = _keep(x, y, z, t5, Dr[j5, b], Wr[j5, b], c)
            x, y, z, a6 = _keep(x, y, z, t6, Dr[j6, b], Wr[j6, b], c)
            x, y, z, a7 = _keep(x, y, z, t7, Dr[j7, b], Wr[j7, b], c)
            acc[_NW + b], acc[_NB + b], acc[_NN + b] = x, y, z
            if with_min:
                acc[_NMIN + b] = min(acc[_NMIN + b], a0, a1, a2, a3, a4, a5, a6, a7)


@nb.njit(cache=True, inline="always")
def _pad(cand, ctim, n):
    """Pad the candidate list ``cand[:n]`` (times ``ctim``) to a multiple of 8 with time ``inf``."""
    for q in range(n, (n + 7) // 8 * 8):
        cand[q], ctim[q] = 0, _INF


@nb.njit(cache=True)
def _newton_block(Ti, idx, nf, Wn, Dn, blk, nv, order, theta, sabs, dmax, eps, gamma, tabs, acc, cand, ctim,
                  out_t, out_e, out_a):
    """Time, error bound and ambiguity of the ``nv`` neurons (weights >= 0) of block ``blk`` by
    the causal-set iteration (no sort; see :mod:`.kernel`), all at once: lane ``b`` is neuron
    ``order[blk * BLOCK + b]``; one sample: ``Ti`` its source times, ``idx[:nf]`` the firing ones;
    ``Wn[blk, j, b]``, ``Dn[blk, j, b]`` the weight and delay from source ``j`` to lane ``b``.

    A step sums ``w`` and ``w a`` of every lane over ``S = {a < c}`` in source order in one
    branch-free SIMD loop over the lanes (:func:`_sums`), adding ``0.0`` for an arrival outside
    the set (the same numbers as the sums over the set alone); a lane that has stopped gets
    ``c = -inf`` (an empty set). Arrivals are ``t_j + d >= t_j``, so a source with
    ``t_j >= max c`` is outside every set and skipped: ``cand`` (times ``ctim``) holds the
    sources still in reach, compacted as ``max c`` falls. ``acc`` (7 * BLOCK) float scratch,
    ``cand``, ``ctim`` (n_src + 8).
    """
    Wr, Dr = Wn[blk], Dn[blk]
    for b in range(BLOCK):
        acc[_NC + b] = acc[_NMIN + b] = _INF
    for q in range(nf):
        cand[q], ctim[q] = idx[q], Ti[idx[q]]
    _pad(cand, ctim, nf)
    ncand = nf
    left = nv
    first = True
    while left > 0:
        if first:
            _sums(cand, ctim, ncand, Wr, Dr, acc, True)
        else:
            _sums(cand, ctim, ncand, Wr, Dr, acc, False)
        cmax = -_INF
        for b in range(nv):
            if acc[_NC + b] == -_INF:
                continue
            v = order[blk * BLOCK + b]
            W = acc[_NW + b]
            if first:
                if not W > 0.0:
                    out_t[v], out_e[v], out_a[v] = _INF, 0.0, False   # every weight is zero
                    acc[_NC + b] = -_INF
                    left -= 1
                    continue
            elif acc[_NN + b] == acc[_NPV + b]:
                t = acc[_NT + b]
                am = tabs + dmax[v]
                el = sabs[v] * (eps + gamma * (2.0 * am + 2.0 * max(am, abs(t)) + 1.0)) + gamma * theta[v]
                out_t[v], out_a[v] = t, False
                out_e[v] = (2.0 * el / W + el * (t - acc[_NMIN + b] + 1.0) / theta[v]
                            + 8.0 * U * (abs(t) + am) * (1.0 + sabs[v] / W))
                acc[_NC + b] = -_INF
                left -= 1
                continue
            elif acc[_NN + b] > acc[_NPV + b] or not W > 0.0:
                out_t[v], out_e[v], out_a[v] = acc[_NT + b], _INF, True   # rounding went back or emptied the set
                acc[_NC + b] = -_INF
                left -= 1
                continue
            t = (theta[v] + acc[_NB + b]) / W
            acc[_NT + b], acc[_NPV + b], acc[_NC + b] = t, acc[_NN + b], t
            cmax = max(cmax, t)
        if first:
            for b in range(nv, BLOCK):
                acc[_NC + b] = -_INF
            first = False
        n = 0
        for q in range(ncand):
            cand[n], ctim[n] = cand[q], ctim[q]
            n += ctim[q] < cmax
        _pad(cand, ctim, n)
        ncand = n


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


@nb.njit(cache=True)
def _group(g, T, E, D, shared, newton, W, order, Wb, mono, Db, theta, sabs, dmax, gamma, out_t, out_e, out_a):
    """The samples ``g * SAMPLES ..`` of a level (one group of :func:`_level`): each block of neurons
    (each neuron outside the blocks) runs on every sample of the group before the next, so its weights
    and delays stay in cache instead of streaming from memory once per sample."""
    c, n_src = T.shape
    n_out = W.shape[0]
    n_blk = Wb.shape[0]
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
    acc = np.empty(11 * BLOCK)
    ta, ts, cnt = np.empty(n_src), np.empty(n_src, np.int64), np.empty(n_src + 1, np.int64)
    if shared:  # one order per sample for the whole level, sorted as far as needed; neurons in blocks
        for r in range(ns):
            for q in range(nf[r]):
                ta[q] = T[lo + r, idx[r, q]] + D[0, idx[r, q]]
                ts[q] = idx[r, q]
            _arrange(ta, ts, nf[r], a[r], s[r], stk[r], st[r], cnt)
            if nf[r] == 0:
                out_t[lo + r, :], out_e[lo + r, :], out_a[lo + r, :] = _INF, 0.0, False
        stage = np.empty(BLOCK, np.int64)
        for blk in range(n_blk):
            nv = min(BLOCK, n_out - blk * BLOCK)
            for r in range(ns):
                if nf[r] > 0:
                    _walk_block(a[r], s[r], stk[r], st[r], nf[r], Wb, mono, blk, nv, order, theta, sabs, dmax, eps[r],
                                gamma, tabs[r], acc, stage, out_t[lo + r], out_e[lo + r], out_a[lo + r])
        return
    tf = np.empty((ns, n_src))
    for r in range(ns):
        for q in range(nf[r]):
            tf[r, q] = T[lo + r, idx[r, q]]
    cand = np.empty(n_src + 8, np.int64)
    ctim = np.empty(n_src + 8)
    for blk in range(n_blk):  # the nonnegative-weight neurons, in blocks
        nv = min(BLOCK, len(order) - blk * BLOCK)
        for r in range(ns):
            _newton_block(T[lo + r], idx[r], nf[r], Wb, Db, blk, nv, order, theta, sabs, dmax, eps[r],
                          gamma, tabs[r], acc, cand, ctim, out_t[lo + r], out_e[lo + r], out_a[lo + r])
    for v in range(n_out):  # the others, one by one
        if newton[v]:
            continue
        Dv = D[v]
        for r in range(ns):
            for q in range(nf[r]):
                ta[q] = tf[r, q] + Dv[idx[r, q]]
                ts[q] = idx[r, q]
            _arrange(ta, ts, nf[r], a[r], s[r], stk[r], st[r], cnt)
            out_t[lo + r, v], out_e[lo + r, v], out_a[lo + r, v] = _walk(
                a[r], s[r], stk[r], st[r], nf[r], W[v], theta[v], sabs[v], eps[r], gamma, tabs[r] + dmax[v])


@nb.njit(cache=True, parallel=True)
def _level(T, E, D, shared, newton, W, order, Wb, mono, Db, theta, sabs, dmax, gamma, out_t, out_e, out_a):
    """Every (sample, neuron) of a level; threads take groups of :data:`~.kernel.SAMPLES` samples
    (:func:`_group`)."""
    for g in nb.prange((T.shape[0] + SAMPLES - 1) // SAMPLES):
        _group(g, T, E, D, shared, newton, W, order, Wb, mono, Db, theta, sabs, dmax, gamma, out_t, out_e, out_a)


@nb.njit(cache=True)
def _level_serial(T, E, D, shared, newton, W, order, Wb, mono, Db, theta, sabs, dmax, gamma, out_t, out_e, out_a):
    """:func:`_level` on the calling thread, group after group."""
    for g in range((T.shape[0] + SAMPLES - 1) // SAMPLES):
        _group(g, T, E, D, shared, newton, W, order, Wb, mono, Db, theta, sabs, dmax, gamma, out_t, out_e, out_a)


#: Below this many (sample, neuron, source) triples a level runs on the calling thread: starting the
#: threads costs more than such work, and on a busy machine far more (single-neuron region counts
#: simulate a few dozen witness points per call).
PARALLEL_WORK = 1 << 15


def level_times(la: LevelArrays, T: np.ndarray, E: np.ndarray, out_t: np.ndarray | None = None,
                out_e: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """See :func:`srmverify.simulate.kernel.level_times`."""
    c, n_out = T.shape[0], la.W.shape[0]
    out_t = np.empty((c, n_out)) if out_t is None else out_t
    out_e = np.empty((c, n_out)) if out_e is None else out_e
    out_a = np.empty((c, n_out), dtype=np.bool_)
    args = (T, E, la.D, la.shared_order, la.newton, la.W, la.order, la.blocks, la.mono, la.dblocks, la.theta, la.sabs,
            la.dmax, la.gamma, out_t, out_e, out_a)
    run = _level if c > SAMPLES and c * n_out * T.shape[1] >= PARALLEL_WORK else _level_serial
    run(*args)
    return out_t, out_e, out_a
