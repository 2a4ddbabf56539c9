"""Convex polytopes in a few dimensions, cut by half-spaces (the double description).

A padded batch (:class:`Polytopes`) holds, for every polytope, its vertices ``V`` (N, K, d) (``n``
valid), its rows as indices ``rid`` (N, C) (``m`` valid) into a shared, append-only table
:class:`Rows` (a row ``[a, c]`` means ``a · y <= c``, unit ``a``), and the incidence ``Z``
(N, K, W) of vertices and rows as bit sets (row slot ``r`` is bit ``r % 64`` of word ``r // 64``);
:class:`Flat` stores the same flat, one polytope after the other, with its own rows. The
compiled :func:`cut_one` cuts one polytope by a half-space (the refinement's inner loop) by the
double-description step: vertices strictly on one side are kept, vertices within ``eps`` of the
plane go to both sides, and a new vertex is made on every edge whose ends lie strictly on
opposite sides. Two vertices span an edge exactly when the rows tight at both are at least
``d - 1`` and no third vertex is tight at all of them (the combinatorial adjacency test, exact
for any polytope given its incidence). The incidence is exact by construction (a new vertex is
tight at the rows its edge is tight at and at the new row), so no rank or LP test is needed; only
the side of each vertex is a float decision (``eps``). Rows tight at fewer than ``d`` vertices
are redundant and dropped after every cut: the rows are the facets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np

#: Bits per incidence word.
_WORD = 64


class Rows:
    """An append-only table of rows ``[a, c]`` shared by the polytopes of one refinement."""

    def __init__(self, d: int) -> None:
        self._t = np.zeros((64, d + 1))
        self.size = 0

    def add(self, rows: np.ndarray) -> np.ndarray:
        """Append ``rows`` (P, d + 1); their indices."""
        need = self.size + len(rows)
        if need > len(self._t):
            t = np.zeros((max(need, 2 * len(self._t)), self._t.shape[1]))
            t[: self.size] = self._t[: self.size]
            self._t = t
        self._t[self.size: need] = rows
        self.size = need
        return np.arange(need - len(rows), need)

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return self._t[idx]


@dataclass
class Polytopes:
    """A batch of convex polytopes (see the module docstring for the layout)."""

    V: np.ndarray
    n: np.ndarray
    Z: np.ndarray
    rid: np.ndarray
    m: np.ndarray
    rows: Rows

    def __len__(self) -> int:
        return len(self.n)

    @property
    def dim(self) -> int:
        return self.V.shape[2]

    @property
    def R(self) -> np.ndarray:
        """The rows (N, C, d + 1) (slots from ``m`` on are meaningless)."""
        return self.rows[self.rid]

    def take(self, idx: np.ndarray) -> "Polytopes":
        n, m = self.n[idx], self.m[idx]
        K, C = max(int(n.max(initial=0)), 1), max(int(m.max(initial=0)), 1)     # trimmed to the largest
        return Polytopes(self.V[idx, :K], n, self.Z[idx, :K], self.rid[idx, :C], m, self.rows)

    @staticmethod
    def cat(parts: list["Polytopes"]) -> "Polytopes":
        K = max(p.V.shape[1] for p in parts)
        C = max(p.rid.shape[1] for p in parts)
        W = max(p.Z.shape[2] for p in parts)
        return Polytopes(np.concatenate([_pad(p.V, 1, K) for p in parts]), np.concatenate([p.n for p in parts]),
                         np.concatenate([_pad(_pad(p.Z, 1, K), 2, W) for p in parts]),
                         np.concatenate([_pad(p.rid, 1, C) for p in parts]), np.concatenate([p.m for p in parts]),
                         parts[0].rows)


def _pad(a: np.ndarray, axis: int, size: int) -> np.ndarray:
    """``a`` zero-padded along ``axis`` to ``size``."""
    if a.shape[axis] >= size:
        return a
    shape = list(a.shape)
    shape[axis] = size - a.shape[axis]
    return np.concatenate([a, np.zeros(shape, dtype=a.dtype)], axis=axis)


def box(lo: np.ndarray, hi: np.ndarray) -> Polytopes:
    """The box ``[lo, hi]`` as a batch of one polytope.

    >>> b = box(np.zeros(3), np.ones(3))
    >>> int(b.n[0]), int(b.m[0]), b.V[0, 7].tolist()
    (8, 6, [1.0, 1.0, 1.0])
    """
    return Flat.box(lo, hi).padded()


def half_width(P: Polytopes) -> np.ndarray:
    """An upper bound of every polytope's inradius: half its smallest width along a row normal
    (any inscribed ball fits in that slab).

    >>> half_width(box(np.zeros(2), np.array([4.0, 1.0]))).tolist()
    [0.5]
    """
    R = P.R
    rv = np.arange(R.shape[1])[None, :] < P.m[:, None]
    valid = (np.arange(P.V.shape[1])[None, :] < P.n[:, None])[:, :, None]
    proj = np.einsum("nkd,ncd->nkc", P.V, R[:, :, :-1])
    width = np.where(valid, proj, -np.inf).max(axis=1) - np.where(valid, proj, np.inf).min(axis=1)
    return 0.5 * np.where(rv, width, np.inf).min(axis=1)


# ----------------------------------------------------------------------------- compiled, one polytope
# The same double-description step as :func:`clip`, on one polytope at a time (the refinement's
# inner loop, :mod:`.refine_poly`): vertices ``V`` (n, d), incidence words ``Z`` (n, W) over the
# polytope's own rows ``R`` (m, d + 1) (slot ``r`` = bit ``r % 64`` of word ``r // 64``). After
# every cut the rows tight at fewer than ``d`` vertices (redundant) are dropped, so ``R`` lists
# facets only and ``m`` stays small.
_ONE = np.uint64(1)
_M1, _M2, _M4 = np.uint64(0x5555555555555555), np.uint64(0x3333333333333333), np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@nb.njit(cache=True)
def _bitcount(x):
    """Set bits of a uint64 word."""
    x = x - ((x >> _ONE) & _M1)
    x = (x & _M2) + ((x >> np.uint64(2)) & _M2)
    x = (x + (x >> np.uint64(4))) & _M4
    return int((x * _H01) >> np.uint64(56))


@nb.njit(cache=True)
def _signs(V, a, c, eps):
    """``a · v - c`` at every vertex (0 within ``eps``) and how many are negative and positive."""
    n, d = V.shape
    s = np.empty(n)
    nneg, npos = 0, 0
    for k in range(n):
        v = -c
        for e in range(d):
            v += V[k, e] * a[e]
        if abs(v) <= eps:
            v = 0.0
        s[k] = v
        if v < 0:
            nneg += 1
        elif v > 0:
            npos += 1
    return s, nneg, npos


@nb.njit(cache=True)
def _edges(Z, s, d, nneg, npos):
    """The edges ``(i, j)`` with ``s[i] < 0 < s[j]`` (by ``i``, then ``j``): the rows tight at both
    are at least ``d - 1`` and no third vertex is tight at all of them (its incidence words a
    superset of theirs). No scratch arrays: the incidence words are read in place."""
    n, nw = Z.shape
    ei, ej = np.empty(nneg * npos, dtype=np.int64), np.empty(nneg * npos, dtype=np.int64)
    ne = 0
    for i in range(n):
        if not s[i] < 0:
            continue
        for j in range(n):
            if not s[j] > 0:
                continue
            pc = 0
            for w in range(nw):
                pc += _bitcount(Z[i, w] & Z[j, w])
            if pc < d - 1:
                continue
            edge = True
            for k in range(n):
                if k == i or k == j:
                    continue
                covers = True
                for w in range(nw):
                    c = Z[i, w] & Z[j, w]
                    if (Z[k, w] & c) != c:
                        covers = False
                        break
                if covers:
                    edge = False
                    break
            if edge:
                ei[ne], ej[ne] = i, j
                ne += 1
    return ei[:ne], ej[:ne]


@nb.njit(cache=True)
def _side(V, Z, R, s, sg, ei, ej, a, c):
    """The part ``sg (a · y - c) <= 0`` of a polytope whose vertices have the signs ``s``: the
    vertices with ``sg s <= 0`` (those at 0 tight at the new row, slot ``m``) and one on every
    edge ``(ei[k], ej[k])`` (from ``ei``, on that side), then the facets only."""
    n, d = V.shape
    nw = Z.shape[1]
    m = R.shape[0]
    nin = 0
    for k in range(n):
        if sg * s[k] <= 0:
            nin += 1
    cnt = 0
    oV = np.empty((nin + len(ei), d))
    oZ = np.zeros((nin + len(ei), nw), dtype=np.uint64)
    wm, bm = m >> 6, _ONE << np.uint64(m & 63)
    for k in range(n):
        if sg * s[k] <= 0:
            for e in range(d):
                oV[cnt, e] = V[k, e]
            for w in range(nw):
                oZ[cnt, w] = Z[k, w]
            if s[k] == 0:
                oZ[cnt, wm] |= bm
            cnt += 1
    for t in range(len(ei)):
        i, j = ei[t], ej[t]
        si, sj = sg * s[i], sg * s[j]
        f = si / (si - sj)
        for e in range(d):
            oV[cnt, e] = V[i, e] + f * (V[j, e] - V[i, e])
        for w in range(nw):
            oZ[cnt, w] = Z[i, w] & Z[j, w]
        oZ[cnt, wm] |= bm
        cnt += 1
    # facets only: rows (the new one in slot m) tight at d or more vertices
    keep = np.empty(m + 1, dtype=np.int64)
    mk = 0
    for r in range(m + 1):
        w, b = r >> 6, _ONE << np.uint64(r & 63)
        t = 0
        for k in range(cnt):
            if oZ[k, w] & b:
                t += 1
        if t >= d:
            keep[mk] = r
            mk += 1
    nR = np.empty((mk, d + 1))
    nZ = np.zeros((cnt, nw), dtype=np.uint64)
    for t in range(mk):
        r = keep[t]
        if r < m:
            for e in range(d + 1):
                nR[t, e] = R[r, e]
        else:
            for e in range(d):
                nR[t, e] = sg * a[e]
            nR[t, d] = sg * c
        w, b = r >> 6, _ONE << np.uint64(r & 63)
        tw, tb = t >> 6, _ONE << np.uint64(t & 63)
        for k in range(cnt):
            if oZ[k, w] & b:
                nZ[k, tw] |= tb
    return oV, nZ, nR


@nb.njit(cache=True)
def _nothing(d, nw):
    """The empty polytope: no vertex, no row."""
    return np.empty((0, d)), np.zeros((0, nw), dtype=np.uint64), np.empty((0, d + 1))


@nb.njit(cache=True)
def cut_one(V, Z, R, a, c, eps):
    """The part ``a · y <= c`` (unit ``a``) of one polytope ``(V, Z, R)``, facets only.

    Returns ``(V', Z', R')``; ``V'`` has no row when no vertex is more than ``eps`` inside.
    Needs a free row slot: ``len(R) < 64 W``.
    """
    d = V.shape[1]
    s, nneg, npos = _signs(V, a, c, eps)
    if nneg == 0:
        return _nothing(d, Z.shape[1])
    ei, ej = _edges(Z, s, d, nneg, npos)
    return _side(V, Z, R, s, 1.0, ei, ej, a, c)


@nb.njit(cache=True)
def split_one(V, Z, R, a, c, eps):
    """Both parts of one polytope: :func:`cut_one` of ``(a, c)`` and of ``(-a, -c)`` (the same
    arrays), with the signs and edges found once."""
    d, nw = V.shape[1], Z.shape[1]
    s, nneg, npos = _signs(V, a, c, eps)
    ei, ej = _edges(Z, s, d, nneg, npos)
    inside = _side(V, Z, R, s, 1.0, ei, ej, a, c) if nneg else _nothing(d, nw)
    if not npos:
        return inside, _nothing(d, nw)
    order = np.argsort(ej, kind="mergesort")         # the other side's order: by its negative vertex
    return inside, _side(V, Z, R, s, -1.0, ej[order], ei[order], a, c)


@nb.njit(cache=True)
def _box(lo, hi):
    """Vertices, incidence words and rows of the box ``[lo, hi]`` (:meth:`Flat.box`)."""
    d = len(lo)
    V = np.empty((1 << d, d))
    Z = np.zeros((1 << d, max(1, -(-2 * d // _WORD))), dtype=np.uint64)
    R = np.zeros((2 * d, d + 1))
    for i in range(d):
        R[i, i], R[i, d], R[d + i, i], R[d + i, d] = 1.0, hi[i], -1.0, -lo[i]
    for k in range(1 << d):
        for i in range(d):
            r = i if (k >> i) & 1 else d + i
            V[k, i] = hi[i] if (k >> i) & 1 else lo[i]
            Z[k, r // _WORD] |= _ONE << np.uint64(r % _WORD)
    return V, Z, R


@dataclass
class Flat:
    """A batch of polytopes stored flat, each in the layout of :func:`cut_one`: the vertices of
    polytope ``k`` are ``V[vst[k] : vst[k] + vct[k]]`` with incidence words ``Z`` (same rows),
    its rows ``R[rst[k] : rst[k] + rct[k]]``."""

    V: np.ndarray
    Z: np.ndarray
    vst: np.ndarray
    vct: np.ndarray
    R: np.ndarray
    rst: np.ndarray
    rct: np.ndarray

    def __len__(self) -> int:
        return len(self.vst)

    @staticmethod
    def box(lo: np.ndarray, hi: np.ndarray) -> "Flat":
        """The box ``[lo, hi]`` as one polytope: vertex ``k`` takes ``hi_i`` where bit ``i`` of
        ``k`` is set, else ``lo_i``; rows ``y_i <= hi_i`` (row ``i``), ``-y_i <= -lo_i`` (row ``d + i``).

        >>> b = Flat.box(np.zeros(3), np.ones(3))
        >>> len(b.V), len(b.R), b.V[7].tolist()
        (8, 6, [1.0, 1.0, 1.0])
        """
        V, Z, R = _box(np.asarray(lo, dtype=float), np.asarray(hi, dtype=float))
        return Flat(V, Z, np.zeros(1, np.int64), np.array([len(V)]), R, np.zeros(1, np.int64), np.array([len(R)]))

    @staticmethod
    def of(P: Polytopes) -> "Flat":
        """The polytopes of a padded batch, flat (their rows copied out of the shared table)."""
        K, C = P.V.shape[1], P.rid.shape[1]
        kv = np.arange(K)[None, :] < P.n[:, None]
        kr = np.arange(C)[None, :] < P.m[:, None]
        return Flat(P.V[kv], P.Z[kv], _starts(P.n), P.n.astype(np.int64), P.R[kr], _starts(P.m),
                    P.m.astype(np.int64))

    def take(self, idx: np.ndarray) -> "Flat":
        vi, vst = _gather(self.vst, self.vct, idx)
        ri, rst = _gather(self.rst, self.rct, idx)
        return Flat(self.V[vi], self.Z[vi], vst, self.vct[idx], self.R[ri], rst, self.rct[idx])

    @staticmethod
    def cat(parts: list["Flat"]) -> "Flat":
        W = max(p.Z.shape[1] for p in parts)
        cat = np.concatenate
        return Flat(cat([p.V for p in parts]), cat([_pad(p.Z, 1, W) for p in parts]),
                    cat([p.vst + o for p, o in zip(parts, np.cumsum([0] + [len(p.V) for p in parts[:-1]]))]),
                    cat([p.vct for p in parts]), cat([p.R for p in parts]),
                    cat([p.rst + o for p, o in zip(parts, np.cumsum([0] + [len(p.R) for p in parts[:-1]]))]),
                    cat([p.rct for p in parts]))

    def padded(self) -> Polytopes:
        """The same polytopes as a padded batch (their rows appended to a new table)."""
        N, d = len(self), self.V.shape[1]
        K, C = max(int(self.vct.max(initial=0)), 1), max(int(self.rct.max(initial=0)), 1)
        vi, new = _gather(self.vst, self.vct, np.arange(N))
        pv = np.repeat(np.arange(N), self.vct)
        V = np.zeros((N, K, d))
        V[pv, np.arange(len(pv)) - new[pv]] = self.V[vi]
        Z = np.zeros((N, K, max(self.Z.shape[1], -(-C // _WORD))), dtype=np.uint64)
        Z[pv, np.arange(len(pv)) - new[pv], : self.Z.shape[1]] = self.Z[vi]
        rows = Rows(d)
        ri, new = _gather(self.rst, self.rct, np.arange(N))
        ids = rows.add(self.R[ri])
        pr = np.repeat(np.arange(N), self.rct)
        rid = np.zeros((N, C), dtype=np.int64)
        rid[pr, np.arange(len(pr)) - new[pr]] = ids
        return Polytopes(V, self.vct.copy(), Z, rid, self.rct.copy(), rows)


def _starts(ct: np.ndarray) -> np.ndarray:
    """CSR starts of consecutive blocks of sizes ``ct``."""
    return np.concatenate([[0], np.cumsum(ct)[:-1]]).astype(np.int64) if len(ct) else np.zeros(0, np.int64)


def _gather(st: np.ndarray, ct: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the blocks ``idx`` (``st[k] : st[k] + ct[k]``), in order, and their new starts."""
    c = ct[idx]
    new = _starts(c)
    return np.repeat(st[idx] - new, c) + np.arange(int(c.sum())), new
