"""Compiled (numba) kernels of the refinement engine :mod:`.refine2d`: one neuron's refinement of
a batch of convex pieces, the polygon clipping with edge tags, and the adjacency they give.

Pieces are stored flat ("CSR"): the vertices of piece ``k`` are ``Vf[st[k] : st[k] + ct[k]]``
(counter-clockwise in 2-D; ``[lo, hi]`` in 1-D). The upstream arrival maps of a piece are not
copied with it: every piece carries the index ``par`` of the piece it descends from at the start
of the level, whose affine arrival maps ``G @ y + H`` and firing flags it shares.

The arithmetic is the float64 arithmetic of model.md §1.2 (first-crossing scan) and of the
refinement rows described in :mod:`.refine2d`; every finished piece is re-checked by simulation
at its centroid there.
"""
from __future__ import annotations

import numba as nb
import numpy as np

_INF = np.inf


# ----------------------------------------------------------------------------- geometry of one piece
@nb.njit(cache=True)
def clip_one(P, n, a, c, eps, out, T, Tout, tag):
    """Clip the convex piece ``P[:n]`` by ``a · y <= c`` into ``out``; returns its vertex count.
    Vertices within ``eps`` of the line count as on it (kept, no new vertex).

    Edge tags (2-D): ``T[k]`` is the tag of the edge ``P[k] → P[k + 1]``; ``Tout`` receives the
    tags of the output's edges: a part of an input edge keeps its tag, the new edge along the line
    gets ``tag``. Clipping by ``a · y <= c`` and by ``-a · y <= -c`` computes the same vertices on
    the line, so the two sides of a cut share one edge with one tag (the adjacency of pieces)."""
    d = P.shape[1]
    if d == 1:
        lo, hi = P[0, 0], P[1, 0]
        if a[0] > 0:
            hi = min(hi, c / a[0])
        elif a[0] < 0:
            lo = max(lo, c / a[0])
        elif c < 0:
            hi = lo
        out[0, 0] = lo
        out[1, 0] = max(hi, lo)
        return 2
    m = 0
    s0 = P[0, 0] * a[0] + P[0, 1] * a[1] - c
    if abs(s0) <= eps:
        s0 = 0.0
    s = s0
    for k in range(n):
        kn = k + 1 if k + 1 < n else 0
        if kn == 0:
            sn = s0
        else:
            sn = P[kn, 0] * a[0] + P[kn, 1] * a[1] - c
            if abs(sn) <= eps:
                sn = 0.0
        if s <= 0:
            out[m, 0] = P[k, 0]
            out[m, 1] = P[k, 1]
            Tout[m] = tag if s == 0 and sn > 0 else T[k]       # leaving along the line, or along edge k
            m += 1
        if (s < 0 and sn > 0) or (s > 0 and sn < 0):
            f = s / (s - sn)
            out[m, 0] = P[k, 0] + f * (P[kn, 0] - P[k, 0])
            out[m, 1] = P[k, 1] + f * (P[kn, 1] - P[k, 1])
            Tout[m] = tag if s < 0 else T[k]
            m += 1
        s = sn
    return m


@nb.njit(cache=True)
def measure_one(P, n):
    """Inradius proxy of a piece: ``2·area/perimeter`` (2-D), half the length (1-D)."""
    if P.shape[1] == 1:
        return 0.5 * (P[1, 0] - P[0, 0])
    if n < 3:
        return 0.0
    cr = 0.0
    per = 0.0
    for k in range(n):
        kn = k + 1 if k + 1 < n else 0
        cr += P[k, 0] * P[kn, 1] - P[k, 1] * P[kn, 0]
        per += np.sqrt((P[kn, 0] - P[k, 0]) ** 2 + (P[kn, 1] - P[k, 1]) ** 2)
    if per <= 0:
        return 0.0
    return cr / per


@nb.njit(cache=True)
def _centre(P, n, y):
    """Vertex average ``y`` of a piece (interior for a convex piece); returns the largest
    distance from it to a vertex (the piece lies in that disk)."""
    d = P.shape[1]
    for j in range(d):
        acc = 0.0
        for k in range(n):
            acc += P[k, j]
        y[j] = acc / n
    return reach(P, n, y)


@nb.njit(cache=True)
def reach(P, n, y):
    """The largest distance from ``y`` to a vertex of ``P[:n]`` (the piece lies in that ball)."""
    d = P.shape[1]
    R = 0.0
    for k in range(n):
        r = 0.0
        for j in range(d):
            r += (P[k, j] - y[j]) ** 2
        R = max(R, np.sqrt(r))
    return R


@nb.njit(cache=True)
def _stable_order(a, order):
    """Stable argsort of ``a`` into ``order`` without allocating (insertion sort) when ``a`` is
    short, as a neuron's arrivals on the first levels are; ``np.argsort`` otherwise."""
    m = len(a)
    if m > 24:
        order[:] = np.argsort(a, kind="mergesort")
        return
    for k in range(m):
        v = a[k]
        j = k
        while j > 0 and a[order[j - 1]] > v:
            order[j] = order[j - 1]
            j -= 1
        order[j] = k


@nb.njit(cache=True)
def first_crossing_one(a, w, theta, order):
    """First-crossing time (model.md §1.2) for arrivals ``a`` (``inf``: the source does not
    fire) and weights ``w``; ``inf`` when the neuron never fires. ``order`` (len(a),) is
    scratch space."""
    _stable_order(a, order)
    m = len(a)
    Wk = 0.0
    Bk = 0.0
    for k in range(m):
        j = order[k]
        ak = a[j]
        if not np.isfinite(ak):
            break
        Wk += w[j]
        Bk += w[j] * ak
        nxt = a[order[k + 1]] if k + 1 < m else _INF
        if Wk > 0:
            tk = (theta + Bk) / Wk
            if tk >= ak and tk <= nxt:
                return tk
    return _INF


@nb.njit(cache=True)
def first_crossing_batch(A, w, theta):
    out = np.empty(A.shape[0])
    order = np.empty(A.shape[1], dtype=np.int64)
    for r in range(A.shape[0]):
        out[r] = first_crossing_one(A[r], w, theta, order)
    return out


@nb.njit(cache=True)
def _ramp_bound(knots, weights, q):
    """``sum_j weights[j] * max(0, q - knots[j])`` with ``knots`` sorted and ``weights`` in that order."""
    acc = 0.0
    for j in range(len(knots)):
        if knots[j] >= q:
            break
        acc += weights[j] * (q - knots[j])
    return acc


# ----------------------------------------------------------------------------- one neuron, one piece
@nb.njit(cache=True)
def _piece_rows(P, n, g, h, live, w, theta, eps, vtol, y, a, order, causal, ra, rc):
    """Pattern of one neuron at the centre ``y`` of piece ``P[:n]`` and the rows ``ra · y <= rc``
    of that pattern that cut the piece. ``g`` (m, d), ``h`` (m,): affine arrivals of the sources,
    ``live`` which fire; ``a``, ``order`` (m,) scratch space. Fills ``causal`` (m,) and the first rows of ``ra``, ``rc``; returns
    ``(fires, number of cutting rows)``."""
    return rows_at(P, n, y, _centre(P, n, y), g, h, live, w, theta, eps, vtol, a, order, causal, ra, rc)


@nb.njit(cache=True)
def rows_at(P, n, y, R, g, h, live, w, theta, eps, vtol, a, order, causal, ra, rc):
    """:func:`_piece_rows` with the pattern read at a given point ``y`` of the piece ``P[:n]``,
    all of whose vertices are within ``R`` of ``y`` (the rows of that pattern that cut the piece)."""
    m, d = g.shape
    for j in range(m):
        if live[j]:
            acc = h[j]
            for e in range(d):
                acc += g[j, e] * y[e]
            a[j] = acc
        else:
            a[j] = _INF
    t = first_crossing_one(a, w, theta, order)
    fires = np.isfinite(t)
    WS = 0.0
    for j in range(m):
        causal[j] = live[j] and a[j] < t
        if causal[j]:
            WS += w[j]
    nr = 0
    row = np.empty(d)
    if fires:
        gt = np.zeros(d)
        ht = theta
        for j in range(m):
            if causal[j]:
                for e in range(d):
                    gt[e] += w[j] * g[j, e]
                ht += w[j] * h[j]
        for e in range(d):
            gt[e] /= WS
        ht /= WS
        # causal: a_u - t <= 0 ; firing non-causal: t - a_u <= 0
        for j in range(m):
            if not live[j]:
                continue
            sg = 1.0 if causal[j] else -1.0
            for e in range(d):
                row[e] = sg * (g[j, e] - gt[e])
            nr = _keep_row(P, n, y, R, row, sg * (ht - h[j]), eps, ra, rc, nr)
    # inhibitory relevant sources: P(a_u) < theta, unless an interval bound proves it on the piece
    nneg = 0
    for j in range(m):
        if (causal[j] if fires else live[j]) and w[j] < 0:
            nneg += 1
    if nneg == 0:
        return fires, nr
    rel = np.zeros(m, dtype=np.bool_)
    for j in range(m):
        rel[j] = causal[j] if fires else live[j]
    alo = np.full(m, _INF)
    ahi = np.full(m, -_INF)
    for j in range(m):
        if rel[j]:
            for k in range(n):
                v = h[j]
                for e in range(d):
                    v += g[j, e] * P[k, e]
                alo[j] = min(alo[j], v)
                ahi[j] = max(ahi[j], v)
    # P(a_u) <= sum_{w > 0} w max(0, hi_u - lo_w) + sum_{w < 0} w max(0, lo_u - hi_w) on the piece
    npos = 0
    for j in range(m):
        if rel[j] and w[j] > 0:
            npos += 1
    ip, im = np.empty(npos, dtype=np.int64), np.empty(nneg, dtype=np.int64)
    cp, cm = 0, 0
    for j in range(m):
        if rel[j] and w[j] > 0:
            ip[cp] = j
            cp += 1
        elif rel[j] and w[j] < 0:
            im[cm] = j
            cm += 1
    op = np.argsort(alo[ip])
    om = np.argsort(ahi[im])
    kp, wp = alo[ip][op], w[ip][op]
    km, wm = ahi[im][om], w[im][om]
    bound = theta - 1e-7 * (1 + abs(theta))
    need = np.zeros(len(im), dtype=np.bool_)
    for k in range(len(im)):
        u = im[k]
        need[k] = _ramp_bound(kp, wp, ahi[u]) + _ramp_bound(km, wm, alo[u]) >= bound   # u's own term is 0
    # first every order of a_u against a_w that can change on the piece, then the potential rows
    for k in range(len(im)):
        u = im[k]
        if not need[k]:
            continue
        for j in range(m):
            if rel[j] and j != u and alo[u] - ahi[j] < vtol and ahi[u] - alo[j] > -vtol:
                so = 1.0 if a[u] - a[j] > 0 else -1.0            # before: a_w - a_u <= 0
                for e in range(d):
                    row[e] = so * (g[j, e] - g[u, e])
                nr = _keep_row(P, n, y, R, row, so * (h[u] - h[j]), eps, ra, rc, nr)
    for k in range(len(im)):
        u = im[k]
        if not need[k]:
            continue
        ph = 0.0
        for e in range(d):
            row[e] = 0.0
        for j in range(m):
            if rel[j] and j != u and a[u] - a[j] > 0:
                for e in range(d):
                    row[e] += w[j] * (g[u, e] - g[j, e])
                ph += w[j] * (h[u] - h[j])
        nr = _keep_row(P, n, y, R, row, theta - ph, eps, ra, rc, nr)
    return fires, nr


@nb.njit(cache=True)
def _keep_row(P, n, y, R, row, c, eps, ra, rc, nr):
    """Append ``row · y <= c``, scaled to a unit normal, to ``ra, rc`` at ``nr`` if it cuts the
    piece by more than ``eps`` (disk test, then the vertices); returns the new row count."""
    d = P.shape[1]
    norm = 0.0
    for e in range(d):
        norm += row[e] * row[e]
    norm = np.sqrt(norm)
    if not norm > 0:
        return nr
    val = -c / norm
    for e in range(d):
        val += row[e] / norm * y[e]
    if not val + R > eps:
        return nr
    mx = -_INF
    for k in range(n):
        s = -c / norm
        for e in range(d):
            s += P[k, e] * (row[e] / norm)
        mx = max(mx, s)
    if mx <= eps:
        return nr
    for e in range(d):
        ra[nr, e] = row[e] / norm
    rc[nr] = c / norm
    return nr + 1


# ----------------------------------------------------------------------------- one neuron, all pieces
@nb.njit(cache=True)
def _grow_rows(a, need):
    """``a`` (n, k) with room for at least ``need`` rows (doubling; new rows uninitialised)."""
    if need <= a.shape[0]:
        return a
    b = np.empty((max(need, 2 * a.shape[0]), a.shape[1]), dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


@nb.njit(cache=True)
def _grow(a, need):
    """``a`` (n,) with room for at least ``need`` entries."""
    return _grow_rows(a.reshape(-1, 1), need).reshape(-1) if need > a.shape[0] else a


@nb.njit(cache=True)
def _emit(V, T, st, ct, org, nv, no, P, PT, k, o):
    """Append piece ``P[:k]`` (edge tags ``PT``, origin ``o``) to the flat arrays at ``nv`` vertices,
    ``no`` pieces (grown as needed); returns them and the new counts."""
    V, T = _grow_rows(V, nv + k), _grow(T, nv + k)
    st, ct, org = _grow(st, no + 1), _grow(ct, no + 1), _grow(org, no + 1)
    V[nv: nv + k] = P[:k]
    T[nv: nv + k] = PT[:k]
    st[no], ct[no], org[no] = nv, k, o
    return V, T, st, ct, org, nv + k, no + 1


@nb.njit(cache=True)
def _buffers(nvert, npieces, m, d):
    """Empty flat arrays for finished pieces: vertices, edge tags, starts, counts, origins,
    causal sets (m sources) and firing flags."""
    nvert, npieces = max(nvert, 16), max(npieces, 16)
    return (np.empty((nvert, d)), np.empty(nvert, dtype=np.int64), np.empty(npieces, dtype=np.int64),
            np.empty(npieces, dtype=np.int64), np.empty(npieces, dtype=np.int64),
            np.zeros((npieces, m), dtype=np.bool_), np.zeros(npieces, dtype=np.bool_))


@nb.njit(cache=True)
def _emit_done(V, T, st, ct, org, cau, fire, nv, no, P, PT, k, o, c, f):
    """:func:`_emit` of a finished piece with its causal set ``c`` and firing flag ``f``."""
    V, T, st, ct, org, nv, no = _emit(V, T, st, ct, org, nv, no, P, PT, k, o)
    cau, fire = _grow_rows(cau, no), _grow(fire, no)
    cau[no - 1] = c
    fire[no - 1] = f
    return V, T, st, ct, org, cau, fire, nv, no


@nb.njit(cache=True)
def split_neuron(Vf, Tf, st, ct, par, G, H, F, D, present, w, theta, eps, vtol, tol, max_rounds, tag0):
    """Refine the pieces ``(Vf, st, ct)`` until one neuron has one causal set on every piece.

    ``G[par[k]]`` (m, d), ``H[par[k]] + D`` (m,) are the affine arrivals of the neuron's sources
    on piece ``k``, ``F[par[k]] & present`` which of them fire. The pattern of every piece is
    read at its centre; the piece is clipped by the rows of that pattern that cut it (the inside
    keeps the pattern), and the parts outside (``P ∩ {row_1..row_{j-1} hold, row_j fails}``) are
    refined again in the next round. Parts whose inradius proxy is at most ``tol`` are dropped.
    ``Tf`` are the edge tags (:func:`clip_one`); every cut gets a new tag from ``tag0`` on.

    Returns the finished pieces ``(Vf, Tf, st, ct)``, the input piece ``org`` each descends from,
    its causal set (N, m) and firing flag, ``(rounds, dropped, unfinished)`` and the next free
    tag (the cuts are numbered: ``tag0`` plus the cuts made). Pieces left after ``max_rounds`` rounds are returned with an empty causal set and
    counted unfinished.
    """
    d = Vf.shape[1]
    m = G.shape[1]
    N = len(st)
    # work list of the current round
    cV, cT = Vf.copy(), Tf.copy()
    cst, cct = st.copy(), ct.copy()
    corg = np.arange(N)
    # finished pieces
    oV, oT, ost, oct_, oorg, ocau, ofire = _buffers(len(Vf), N, m, d)
    nv = 0
    no = 0
    cap = m + m * (m + 1)
    ra = np.empty((cap, d))
    rc = np.empty(cap)
    y = np.empty(d)
    a = np.empty(m)
    order = np.empty(m, dtype=np.int64)
    cau = np.zeros(m, dtype=np.bool_)
    live = np.zeros(m, dtype=np.bool_)
    h = np.empty(m)
    Pin, Pout, Ptmp = np.empty((16, d)), np.empty((16, d)), np.empty((16, d))
    Tin, Tout, Ttmp = np.empty(16, np.int64), np.empty(16, np.int64), np.empty(16, np.int64)
    tag = tag0
    rounds = 0
    dropped = 0
    for _ in range(max_rounds):
        nc = len(cst)
        if nc == 0:
            break
        rounds += 1
        nV = np.empty((max(16, cV.shape[0]), d))
        nT = np.empty(max(16, cV.shape[0]), dtype=np.int64)
        nst = np.empty(max(16, nc), dtype=np.int64)
        nct = np.empty(max(16, nc), dtype=np.int64)
        norg = np.empty(max(16, nc), dtype=np.int64)
        nnv = 0
        nn = 0
        for p in range(nc):
            k0, kn = cst[p], cct[p]
            P = cV[k0: k0 + kn]
            q = par[corg[p]]
            for j in range(m):
                live[j] = F[q, j] and present[j]
                h[j] = H[q, j] + D[j]
            fires, nr = _piece_rows(P, kn, G[q], h, live, w, theta, eps, vtol, y, a, order, cau, ra, rc)
            if nr == 0:
                oV, oT, ost, oct_, oorg, ocau, ofire, nv, no = _emit_done(
                    oV, oT, ost, oct_, oorg, ocau, ofire, nv, no, P, cT[k0: k0 + kn], kn, corg[p], cau, fires)
                continue
            if Pin.shape[0] < kn:
                Pin, Tin = np.empty((2 * kn, d)), np.empty(2 * kn, np.int64)
            Pin[:kn] = P
            Tin[:kn] = cT[k0: k0 + kn]
            ni = kn
            for r in range(nr):
                if Pout.shape[0] < 2 * ni + 2:          # a clip writes at most two vertices per vertex
                    Pout, Ptmp = np.empty((4 * ni + 4, d)), np.empty((4 * ni + 4, d))
                    Tout, Ttmp = np.empty(4 * ni + 4, np.int64), np.empty(4 * ni + 4, np.int64)
                    Pnew, Tnew = np.empty((4 * ni + 4, d)), np.empty(4 * ni + 4, np.int64)
                    Pnew[:ni], Tnew[:ni] = Pin[:ni], Tin[:ni]
                    Pin, Tin = Pnew, Tnew
                mo = clip_one(Pin, ni, -ra[r], -rc[r], eps, Pout, Tin, Tout, tag)
                if measure_one(Pout, mo) > tol:
                    nV, nT, nst, nct, norg, nnv, nn = _emit(nV, nT, nst, nct, norg, nnv, nn, Pout, Tout, mo, corg[p])
                mi = clip_one(Pin, ni, ra[r], rc[r], eps, Ptmp, Tin, Ttmp, tag)
                tag += 1
                Pin[:mi] = Ptmp[:mi]
                Tin[:mi] = Ttmp[:mi]
                ni = mi
            if measure_one(Pin, ni) > tol:
                oV, oT, ost, oct_, oorg, ocau, ofire, nv, no = _emit_done(
                    oV, oT, ost, oct_, oorg, ocau, ofire, nv, no, Pin, Tin, ni, corg[p], cau, fires)
            else:
                dropped += 1
        cV, cT, cst, cct, corg = nV[:nnv], nT[:nnv], nst[:nn], nct[:nn], norg[:nn]
    unfinished = len(cst)
    for p in range(unfinished):
        k0, kn = cst[p], cct[p]
        oV, oT, ost, oct_, oorg, ocau, ofire, nv, no = _emit_done(
            oV, oT, ost, oct_, oorg, ocau, ofire, nv, no, cV[k0: k0 + kn], cT[k0: k0 + kn], kn, corg[p],
            np.zeros(m, dtype=np.bool_), False)
    return (oV[:nv].copy(), oT[:nv].copy(), ost[:no].copy(), oct_[:no].copy(), oorg[:no].copy(), ocau[:no].copy(),
            ofire[:no].copy(), rounds, dropped, unfinished, tag)


# ----------------------------------------------------------------------------- merging the fragments of a cell
@nb.njit(cache=True)
def _area(P, n):
    a = 0.0
    for k in range(n):
        kn = k + 1 if k + 1 < n else 0
        a += P[k, 0] * P[kn, 1] - P[k, 1] * P[kn, 0]
    return 0.5 * a


@nb.njit(cache=True)
def _union(Vf, Tf, st, ct, members, tag0, eps):
    """The union of the 2-D pieces ``members`` as one convex piece, from their own edges, or
    ``n = 0`` when it is not one within ``eps``.

    An edge made before this neuron (tag below ``tag0``) is on the boundary of the union; of a
    newer edge, the parts that an opposite edge of another member covers (same tag: same line)
    are inside it, the rest is boundary. The boundary parts, keeping their tags, are chained end
    to start (within ``100·eps``); a part's vertex between two parts of one cut is dropped. The
    union is accepted when the chain uses every part, no vertex lies more than ``eps`` outside
    the convex position, and its area is the members' total up to a band ``10·eps`` wide along
    its boundary (no gap left by a dropped thin piece). Returns ``(V, T, n)``."""
    E = 0
    area = 0.0
    for f in members:
        E += ct[f]
        area += _area(Vf[st[f]: st[f] + ct[f]], ct[f])
    ex0 = np.empty((E, 2))
    ex1 = np.empty((E, 2))
    et = np.empty(E, dtype=np.int64)
    ef = np.empty(E, dtype=np.int64)
    k = 0
    for f in members:
        for e in range(ct[f]):
            i = st[f] + e
            j = st[f] + (e + 1 if e + 1 < ct[f] else 0)
            ex0[k], ex1[k], et[k], ef[k] = Vf[i], Vf[j], Tf[i], f
            k += 1
    cap = 4 * E + 4
    s0 = np.empty((cap, 2))
    s1 = np.empty((cap, 2))
    stg = np.empty(cap, dtype=np.int64)
    ns = 0
    lo = np.empty(E)
    hi = np.empty(E)
    gtol = 10.0 * eps
    for e in range(E):
        if et[e] < tag0:
            if ns == cap:
                return s0, stg, 0
            s0[ns], s1[ns], stg[ns] = ex0[e], ex1[e], et[e]
            ns += 1
            continue
        dx, dy = ex1[e, 0] - ex0[e, 0], ex1[e, 1] - ex0[e, 1]
        L = np.sqrt(dx * dx + dy * dy)
        if not L > gtol:
            continue
        ux, uy = dx / L, dy / L
        ni = 0
        for g in range(E):
            if et[g] != et[e] or ef[g] == ef[e]:
                continue
            if (ex1[g, 0] - ex0[g, 0]) * ux + (ex1[g, 1] - ex0[g, 1]) * uy >= 0:
                continue
            sa = (ex0[g, 0] - ex0[e, 0]) * ux + (ex0[g, 1] - ex0[e, 1]) * uy
            sb = (ex1[g, 0] - ex0[e, 0]) * ux + (ex1[g, 1] - ex0[e, 1]) * uy
            a, b = max(0.0, min(sa, sb)), min(L, max(sa, sb))
            if b > a:
                q = ni                                   # insertion by start
                while q > 0 and lo[q - 1] > a:
                    lo[q], hi[q] = lo[q - 1], hi[q - 1]
                    q -= 1
                lo[q], hi[q] = a, b
                ni += 1
        cur = 0.0
        for q in range(ni + 1):
            nxt = lo[q] if q < ni else L
            if nxt > cur + gtol:
                if ns == cap:
                    return s0, stg, 0
                s0[ns, 0], s0[ns, 1] = (ex0[e, 0], ex0[e, 1]) if cur == 0.0 else (ex0[e, 0] + cur * ux, ex0[e, 1] + cur * uy)
                s1[ns, 0], s1[ns, 1] = (ex1[e, 0], ex1[e, 1]) if q == ni else (ex0[e, 0] + nxt * ux, ex0[e, 1] + nxt * uy)
                stg[ns] = et[e]
                ns += 1
            if q < ni:
                cur = max(cur, hi[q])
    if ns < 3:
        return s0, stg, 0
    # chain the parts end to start
    chain = np.empty(ns, dtype=np.int64)
    used = np.zeros(ns, dtype=np.bool_)
    chain[0], used[0] = 0, True
    ctol2 = (100.0 * eps) ** 2
    for step in range(1, ns):
        c = chain[step - 1]
        best, bd = -1, ctol2
        for j in range(ns):
            if not used[j]:
                dd = (s0[j, 0] - s1[c, 0]) ** 2 + (s0[j, 1] - s1[c, 1]) ** 2
                if dd <= bd:
                    best, bd = j, dd
        if best < 0:
            return s0, stg, 0
        chain[step], used[best] = best, True
    last = chain[ns - 1]
    if (s0[0, 0] - s1[last, 0]) ** 2 + (s0[0, 1] - s1[last, 1]) ** 2 > ctol2:
        return s0, stg, 0
    V = np.empty((ns, 2))
    T = np.empty(ns, dtype=np.int64)
    n = 0
    for q in range(ns):
        c, cp = chain[q], chain[q - 1]                   # chain[-1]: the last part
        if stg[c] >= 0 and stg[c] == stg[cp]:            # one cut on both sides: not a corner
            continue
        V[n], T[n] = s0[c], stg[c]
        n += 1
    if n < 3:
        return V, T, 0
    per = 0.0
    for q in range(n):
        qn, qq = (q + 1) % n, (q + 2) % n
        e1x, e1y = V[qn, 0] - V[q, 0], V[qn, 1] - V[q, 1]
        e2x, e2y = V[qq, 0] - V[qn, 0], V[qq, 1] - V[qn, 1]
        l1 = np.sqrt(e1x * e1x + e1y * e1y)
        per += l1
        if not l1 > 0 or e1x * e2y - e1y * e2x < -eps * l1:
            return V, T, 0
    if abs(_area(V, n) - area) > 10.0 * eps * per:
        return V, T, 0
    return V, T, n


@nb.njit(cache=True)
def merge_cells(Vf, Tf, st, ct, org, causal, fires, tag0, eps):
    """Merge the fragments of one cell: the 2-D pieces with one origin ``org`` and one causal
    set and firing flag whose union is one convex piece (:func:`_union`) become that piece.
    Returns the pieces ``(Vf, Tf, st, ct, org, causal, fires)`` after merging and the number of
    pieces merged away."""
    N = len(st)
    m = causal.shape[1]
    order = np.argsort(org, kind="mergesort")
    oV, oT, ost, oct_, oorg, ocau, ofire = _buffers(len(Vf), N, m, 2)
    nv = 0
    no = 0
    r0 = 0
    while r0 < N:
        r1 = r0
        while r1 < N and org[order[r1]] == org[order[r0]]:
            r1 += 1
        k = r1 - r0
        lab = np.full(k, -1, dtype=np.int64)
        for a in range(k):
            if lab[a] >= 0:
                continue
            lab[a] = a
            pa = order[r0 + a]
            for b in range(a + 1, k):
                pb = order[r0 + b]
                if lab[b] >= 0 or fires[pa] != fires[pb]:
                    continue
                same = True
                for j in range(m):
                    if causal[pa, j] != causal[pb, j]:
                        same = False
                        break
                if same:
                    lab[b] = a
        for a in range(k):
            if lab[a] != a:
                continue
            cnt = 0
            for b in range(a, k):
                if lab[b] == a:
                    cnt += 1
            members = np.empty(cnt, dtype=np.int64)
            c = 0
            for b in range(a, k):
                if lab[b] == a:
                    members[c] = order[r0 + b]
                    c += 1
            n = 0
            if cnt > 1:
                V, T, n = _union(Vf, Tf, st, ct, members, tag0, eps)
            if n > 0:
                p = members[0]
                oV, oT, ost, oct_, oorg, ocau, ofire, nv, no = _emit_done(
                    oV, oT, ost, oct_, oorg, ocau, ofire, nv, no, V, T, n, org[p], causal[p], fires[p])
                continue
            for p in members:
                oV, oT, ost, oct_, oorg, ocau, ofire, nv, no = _emit_done(
                    oV, oT, ost, oct_, oorg, ocau, ofire, nv, no, Vf[st[p]: st[p] + ct[p]], Tf[st[p]: st[p] + ct[p]],
                    ct[p], org[p], causal[p], fires[p])
        r0 = r1
    return (oV[:nv].copy(), oT[:nv].copy(), ost[:no].copy(), oct_[:no].copy(), oorg[:no].copy(), ocau[:no].copy(),
            ofire[:no].copy(), N - no)


# ----------------------------------------------------------------------------- batches
@nb.njit(cache=True)
def measure_all(Vf, st, ct):
    out = np.empty(len(st))
    for k in range(len(st)):
        out[k] = measure_one(Vf[st[k]: st[k] + ct[k]], ct[k])
    return out


@nb.njit(cache=True)
def centre_all(Vf, st, ct):
    y = np.empty((len(st), Vf.shape[1]))
    for k in range(len(st)):
        _centre(Vf[st[k]: st[k] + ct[k]], ct[k], y[k])
    return y


@nb.njit(cache=True)
def shared_edges(Vf, Tf, st, ct, ltol):
    """Pairs of 2-D pieces sharing a piece of edge longer than ``ltol``, without probing.

    Every edge carries the tag of the cut that made it (:func:`clip_one`; negative: the domain's
    boundary); the edges of one tag lie on one line, the pieces on either side of it run along it
    in opposite directions (counter-clockwise), and the pieces of one side tile its part of the
    line. So two pieces are neighbours across a cut iff an interval of one side overlaps one of
    the other side. Returns ``(u, v, p)``: the pairs and the midpoint (N, 2) of each overlap."""
    E = len(Vf)
    nxt = np.empty(E, dtype=np.int64)
    piece = np.empty(E, dtype=np.int64)
    for k in range(len(st)):
        for e in range(ct[k]):
            piece[st[k] + e] = k
            nxt[st[k] + e] = st[k] + (e + 1 if e + 1 < ct[k] else 0)
    order = np.argsort(Tf, kind="mergesort")
    cap = max(16, E // 2)
    u = np.empty(cap, dtype=np.int64)
    v = np.empty(cap, dtype=np.int64)
    mp = np.empty((cap, 2))
    n = 0
    g0 = 0
    while g0 < E:
        tg = Tf[order[g0]]
        g1 = g0
        while g1 < E and Tf[order[g1]] == tg:
            g1 += 1
        if tg < 0 or g1 - g0 < 2:
            g0 = g1
            continue
        # the line's direction: that of the group's longest edge
        best, bl = order[g0], -1.0
        for k in range(g0, g1):
            i = order[k]
            L = (Vf[nxt[i], 0] - Vf[i, 0]) ** 2 + (Vf[nxt[i], 1] - Vf[i, 1]) ** 2
            if L > bl:
                best, bl = i, L
        ox, oy = Vf[best, 0], Vf[best, 1]
        dx, dy = (Vf[nxt[best], 0] - ox) / np.sqrt(bl), (Vf[nxt[best], 1] - oy) / np.sqrt(bl)
        cnt = g1 - g0
        lo = np.empty(cnt)
        hi = np.empty(cnt)
        side = np.empty(cnt, dtype=np.bool_)
        for k in range(cnt):
            i = order[g0 + k]
            s0 = (Vf[i, 0] - ox) * dx + (Vf[i, 1] - oy) * dy
            s1 = (Vf[nxt[i], 0] - ox) * dx + (Vf[nxt[i], 1] - oy) * dy
            side[k] = s1 > s0
            lo[k], hi[k] = min(s0, s1), max(s0, s1)
        plus = np.flatnonzero(side)
        minus = np.flatnonzero(~side)
        plus = plus[np.argsort(lo[plus])]
        minus = minus[np.argsort(lo[minus])]
        a, b = 0, 0
        while a < len(plus) and b < len(minus):
            ka, kb = plus[a], minus[b]
            left, right = max(lo[ka], lo[kb]), min(hi[ka], hi[kb])
            if right - left > ltol:
                if n == cap:
                    cap *= 2
                    u, v, mp = _grow(u, cap), _grow(v, cap), _grow_rows(mp, cap)
                u[n], v[n] = piece[order[g0 + ka]], piece[order[g0 + kb]]
                c = 0.5 * (left + right)
                mp[n, 0], mp[n, 1] = ox + c * dx, oy + c * dy
                n += 1
            if hi[ka] < hi[kb]:
                a += 1
            else:
                b += 1
        g0 = g1
    return u[:n].copy(), v[:n].copy(), mp[:n].copy()


@nb.njit(cache=True)
def first_pairs(u, v, n):
    """Indices of the first occurrence of every unordered pair ``{u[k], v[k]}`` (nodes below
    ``n``), in order: what ``np.unique(min * n + max, return_index=True)`` and a sort give, compiled.

    >>> first_pairs(np.array([0, 2, 1, 0]), np.array([1, 0, 0, 2]), 3).tolist()
    [0, 1]
    """
    E = len(u)
    key = np.empty(E, dtype=np.int64)
    for k in range(E):
        key[k] = min(u[k], v[k]) * n + max(u[k], v[k])
    order = np.argsort(key, kind="mergesort")          # stable: a group's first entry is its first occurrence
    keep = np.zeros(E, dtype=np.bool_)
    for t in range(E):
        if t == 0 or key[order[t]] != key[order[t - 1]]:
            keep[order[t]] = True
    return np.flatnonzero(keep)


@nb.njit(cache=True)
def edge_kinds(u, v, p, oG, oh, of):
    """Whether the output map is continuous across each edge ``(u[k], v[k])`` at its point
    ``p[k]`` (equal outputs up to ``1e-7`` relative), and whether both sides have the same affine
    output map (coefficients equal up to ``1e-9`` relative); ``oG`` (N, n_out, d), ``oh``, ``of``
    (N, n_out): the pieces' output maps and firing flags."""
    E, n_out, d = len(u), oG.shape[1], oG.shape[2]
    cont, same = np.zeros(E, dtype=np.bool_), np.zeros(E, dtype=np.bool_)
    for k in range(E):
        a, b = u[k], v[k]
        c, s = True, True
        for o in range(n_out):
            if of[a, o] != of[b, o]:
                c, s = False, False
                break
            if not of[a, o]:
                continue
            ya, yb = oh[a, o], oh[b, o]
            for e in range(d):
                ya += oG[a, o, e] * p[k, e]
                yb += oG[b, o, e] * p[k, e]
                s = s and abs(oG[a, o, e] - oG[b, o, e]) <= 1e-9 * (1 + abs(oG[a, o, e]))
            c = c and abs(ya - yb) <= 1e-7 * (1 + abs(ya))
            s = s and abs(oh[a, o] - oh[b, o]) <= 1e-9 * (1 + abs(oh[a, o]))
        cont[k], same[k] = c, s
    return cont, same


@nb.njit(cache=True)
def components(n, u, v):
    """Number of connected components of the graph on ``n`` nodes with edges ``(u[i], v[i])``."""
    root = np.arange(n)
    for i in range(len(u)):
        a, b = u[i], v[i]
        while root[a] != a:
            root[a] = root[root[a]]
            a = root[a]
        while root[b] != b:
            root[b] = root[root[b]]
            b = root[b]
        if a != b:
            root[max(a, b)] = min(a, b)
    c = 0
    for i in range(n):
        if root[i] == i:
            c += 1
    return c


@nb.njit(cache=True)
def level_maps(G, H, par, mask, fires, W, D, theta):
    """Affine spike-time maps (N, n_level, d + 1) of a refined level's neurons on pieces whose
    sources arrive at ``G[par[k]] @ y + H[par[k]] + D`` (zero rows where a neuron never fires):
    ``t = (θ + Σ_S w a) / W_S`` over the causal set ``S = mask[k, i]`` (model.md §1)."""
    N, n_out, m = mask.shape
    d = G.shape[2]
    out = np.zeros((N, n_out, d + 1))
    for k in range(N):
        q = par[k]
        for i in range(n_out):
            if not fires[k, i]:
                continue
            WS = 0.0
            hv = theta[i]
            for j in range(m):
                if mask[k, i, j]:
                    WS += W[i, j]
                    hv += W[i, j] * (H[q, j] + D[i, j])
                    for e in range(d):
                        out[k, i, e] += W[i, j] * G[q, j, e]
            for e in range(d):
                out[k, i, e] /= WS
            out[k, i, d] = hv / WS
    return out


@nb.njit(cache=True)
def level_float(T, src, W, D, theta, present, bits, off):
    """Float forward simulation of one level on a batch: firing times (B, n_out) of the neurons
    whose sources fire at ``T[:, src]`` (``inf``: does not fire), by the first-crossing scan of
    model.md §1.2 (no error bound; :mod:`srmverify.simulate` settles near-ties exactly). The
    causal bit of every present synapse (row-major, as ``mask[present]``) goes to
    ``bits[:, off:]``."""
    B = T.shape[0]
    n_out, m = W.shape
    t = np.empty((B, n_out))
    a = np.empty(m)
    order = np.empty(m, dtype=np.int64)
    for b in range(B):
        k = off
        for i in range(n_out):
            for j in range(m):
                x = T[b, src[j]]
                a[j] = x + D[i, j] if present[i, j] and np.isfinite(x) else _INF
            ti = first_crossing_one(a, W[i], theta[i], order)
            t[b, i] = ti
            for j in range(m):
                if present[i, j]:
                    bits[b, k] = a[j] < ti
                    k += 1
    return t
