"""Compiled (numba) kernels of the refinement engine :mod:`.refine2d`: one neuron's refinement of
a batch of convex pieces, the polygon clipping, and the point location used for adjacency.

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
def clip_one(P, n, a, c, eps, out):
    """Clip the convex piece ``P[:n]`` by ``a · y <= c`` into ``out``; returns its vertex count.
    Vertices within ``eps`` of the line count as on it (kept, no new vertex)."""
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
            m += 1
        if (s < 0 and sn > 0) or (s > 0 and sn < 0):
            f = s / (s - sn)
            out[m, 0] = P[k, 0] + f * (P[kn, 0] - P[k, 0])
            out[m, 1] = P[k, 1] + f * (P[kn, 1] - P[k, 1])
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
    R = 0.0
    for k in range(n):
        r = 0.0
        for j in range(d):
            r += (P[k, j] - y[j]) ** 2
        R = max(R, np.sqrt(r))
    return R


@nb.njit(cache=True)
def first_crossing_one(a, w, theta):
    """First-crossing time (model.md §1.2) for arrivals ``a`` (``inf``: the source does not
    fire) and weights ``w``; ``inf`` when the neuron never fires."""
    order = np.argsort(a, kind="mergesort")
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
    for r in range(A.shape[0]):
        out[r] = first_crossing_one(A[r], w, theta)
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
def _piece_rows(P, n, g, h, live, w, theta, eps, vtol, y, a, causal, ra, rc):
    """Pattern of one neuron at the centre ``y`` of piece ``P[:n]`` and the rows ``ra · y <= rc``
    of that pattern that cut the piece. ``g`` (m, d), ``h`` (m,): affine arrivals of the sources,
    ``live`` which fire. Fills ``causal`` (m,) and the first rows of ``ra``, ``rc``; returns
    ``(fires, number of cutting rows)``."""
    m, d = g.shape
    R = _centre(P, n, y)
    for j in range(m):
        if live[j]:
            acc = h[j]
            for e in range(d):
                acc += g[j, e] * y[e]
            a[j] = acc
        else:
            a[j] = _INF
    t = first_crossing_one(a, w, theta)
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
    ip = np.array([j for j in range(m) if rel[j] and w[j] > 0], dtype=np.int64)
    im = np.array([j for j in range(m) if rel[j] and w[j] < 0], dtype=np.int64)
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
def split_neuron(Vf, st, ct, par, G, H, F, D, present, w, theta, eps, vtol, tol, max_rounds):
    """Refine the pieces ``(Vf, st, ct)`` until one neuron has one causal set on every piece.

    ``G[par[k]]`` (m, d), ``H[par[k]] + D`` (m,) are the affine arrivals of the neuron's sources
    on piece ``k``, ``F[par[k]] & present`` which of them fire. The pattern of every piece is
    read at its centre; the piece is clipped by the rows of that pattern that cut it (the inside
    keeps the pattern), and the parts outside (``P ∩ {row_1..row_{j-1} hold, row_j fails}``) are
    refined again in the next round. Parts whose inradius proxy is at most ``tol`` are dropped.

    Returns the finished pieces ``(Vf, st, ct)``, the input piece ``org`` each descends from, its
    causal set (N, m) and firing flag, and ``(rounds, cuts, dropped, unfinished)``. Pieces left
    after ``max_rounds`` rounds are returned with an empty causal set and counted unfinished.
    """
    d = Vf.shape[1]
    m = G.shape[1]
    N = len(st)
    # work list of the current round
    cV = Vf.copy()
    cst, cct = st.copy(), ct.copy()
    corg = np.arange(N)
    # finished pieces
    oV = np.empty((max(len(Vf), 16), d))
    ost = np.empty(max(N, 16), dtype=np.int64)
    oct_ = np.empty(max(N, 16), dtype=np.int64)
    oorg = np.empty(max(N, 16), dtype=np.int64)
    ocau = np.zeros((max(N, 16), m), dtype=np.bool_)
    ofire = np.zeros(max(N, 16), dtype=np.bool_)
    nv = 0
    no = 0
    cap = m + m * (m + 1)
    ra = np.empty((cap, d))
    rc = np.empty(cap)
    y = np.empty(d)
    a = np.empty(m)
    cau = np.zeros(m, dtype=np.bool_)
    live = np.zeros(m, dtype=np.bool_)
    h = np.empty(m)
    Pin = np.empty((16, d))
    Pout = np.empty((16, d))
    Ptmp = np.empty((16, d))
    rounds = 0
    cuts = 0
    dropped = 0
    for _ in range(max_rounds):
        nc = len(cst)
        if nc == 0:
            break
        rounds += 1
        nV = np.empty((max(16, cV.shape[0]), d))
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
            fires, nr = _piece_rows(P, kn, G[q], h, live, w, theta, eps, vtol, y, a, cau, ra, rc)
            cuts += nr
            if nr == 0:
                oV = _grow_rows(oV, nv + kn)
                ost, oct_, oorg = _grow(ost, no + 1), _grow(oct_, no + 1), _grow(oorg, no + 1)
                ocau, ofire = _grow_rows(ocau, no + 1), _grow(ofire, no + 1)
                oV[nv: nv + kn] = P
                ost[no], oct_[no], oorg[no] = nv, kn, corg[p]
                ocau[no] = cau
                ofire[no] = fires
                nv += kn
                no += 1
                continue
            if Pin.shape[0] < kn:
                Pin = np.empty((2 * kn, d))
            Pin[:kn] = P
            ni = kn
            for r in range(nr):
                if Pout.shape[0] < 2 * ni + 2:          # a clip writes at most two vertices per vertex
                    Pout, Ptmp = np.empty((4 * ni + 4, d)), np.empty((4 * ni + 4, d))
                    Pnew = np.empty((4 * ni + 4, d))
                    Pnew[:ni] = Pin[:ni]
                    Pin = Pnew
                mo = clip_one(Pin, ni, -ra[r], -rc[r], eps, Pout)
                if measure_one(Pout, mo) > tol:
                    nV = _grow_rows(nV, nnv + mo)
                    nst, nct, norg = _grow(nst, nn + 1), _grow(nct, nn + 1), _grow(norg, nn + 1)
                    nV[nnv: nnv + mo] = Pout[:mo]
                    nst[nn], nct[nn], norg[nn] = nnv, mo, corg[p]
                    nnv += mo
                    nn += 1
                mi = clip_one(Pin, ni, ra[r], rc[r], eps, Ptmp)
                Pin[:mi] = Ptmp[:mi]
                ni = mi
            if measure_one(Pin, ni) > tol:
                oV = _grow_rows(oV, nv + ni)
                ost, oct_, oorg = _grow(ost, no + 1), _grow(oct_, no + 1), _grow(oorg, no + 1)
                ocau, ofire = _grow_rows(ocau, no + 1), _grow(ofire, no + 1)
                oV[nv: nv + ni] = Pin[:ni]
                ost[no], oct_[no], oorg[no] = nv, ni, corg[p]
                ocau[no] = cau
                ofire[no] = fires
                nv += ni
                no += 1
            else:
                dropped += 1
        cV, cst, cct, corg = nV[:nnv], nst[:nn], nct[:nn], norg[:nn]
    unfinished = len(cst)
    for p in range(unfinished):
        k0, kn = cst[p], cct[p]
        oV = _grow_rows(oV, nv + kn)
        ost, oct_, oorg = _grow(ost, no + 1), _grow(oct_, no + 1), _grow(oorg, no + 1)
        ocau, ofire = _grow_rows(ocau, no + 1), _grow(ofire, no + 1)
        oV[nv: nv + kn] = cV[k0: k0 + kn]
        ost[no], oct_[no], oorg[no] = nv, kn, corg[p]
        ocau[no] = False
        ofire[no] = False
        nv += kn
        no += 1
    return (oV[:nv].copy(), ost[:no].copy(), oct_[:no].copy(), oorg[:no].copy(), ocau[:no].copy(),
            ofire[:no].copy(), rounds, cuts, dropped, unfinished)


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
def locate(q, cand_start, cand_count, members, Vf, st, ct, tol):
    """For every probe ``q[i]`` the first piece among ``members[cand_start[i] : + cand_count[i]]``
    containing it (within ``tol`` of every edge line), or -1."""
    out = np.full(len(q), -1, dtype=np.int64)
    for i in range(len(q)):
        c0, cn = cand_start[i], cand_count[i]
        if cn == 1:
            out[i] = members[c0]
            continue
        for c in range(c0, c0 + cn):
            k = members[c]
            k0, kn = st[k], ct[k]
            inside = True
            for e in range(kn):
                en = e + 1 if e + 1 < kn else 0
                ex = Vf[k0 + en, 0] - Vf[k0 + e, 0]
                ey = Vf[k0 + en, 1] - Vf[k0 + e, 1]
                cr = ex * (q[i, 1] - Vf[k0 + e, 1]) - ey * (q[i, 0] - Vf[k0 + e, 0])
                if cr < -tol * np.sqrt(ex * ex + ey * ey):
                    inside = False
                    break
            if inside:
                out[i] = k
                break
    return out


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
def level_float(A, W, D, theta, present):
    """Float forward simulation of one level: firing times (B, n_out) and causal masks
    (B, n_out, m) for source times ``A`` (B, m) (``inf``: does not fire), by the first-crossing
    scan of model.md §1.2 (no error bound; :mod:`srmverify.simulate` settles near-ties exactly)."""
    B, m = A.shape
    n_out = W.shape[0]
    t = np.empty((B, n_out))
    c = np.zeros((B, n_out, m), dtype=np.bool_)
    a = np.empty(m)
    for b in range(B):
        for i in range(n_out):
            for j in range(m):
                a[j] = A[b, j] + D[i, j] if present[i, j] and np.isfinite(A[b, j]) else _INF
            ti = first_crossing_one(a, W[i], theta[i])
            t[b, i] = ti
            for j in range(m):
                c[b, i, j] = a[j] < ti
    return t, c
