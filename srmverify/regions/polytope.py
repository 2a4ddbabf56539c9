"""Batches of convex polytopes in a few dimensions, cut by half-spaces (the double description).

A batch holds, for every polytope, its vertices ``V`` (N, K, d) (``n`` valid), its rows as
indices ``rid`` (N, C) (``m`` valid; the box is among them) into a shared, append-only table
:class:`Rows` (a row ``[a, c]`` means ``a · y <= c``, unit ``a``), and the incidence ``Z``
(N, K, W) of vertices and rows as bit sets (row slot ``r`` is bit ``r % 64`` of word ``r // 64``). :func:`clip` cuts every polytope by its own half-space and
returns both sides, vectorised over the batch, by the double-description step: vertices strictly
on one side are kept, vertices within ``eps`` of the plane go to both sides, and a new vertex
is made on every edge whose ends lie strictly on opposite sides. Two vertices span an edge
exactly when the rows tight at both are at least ``d - 1`` and no third vertex is tight at all
of them (the combinatorial adjacency test, exact for any polytope given its incidence). The
incidence is exact by construction (a new vertex is tight at the rows its edge is tight at and
at the new row), so no rank or LP test is needed; only the side of each vertex is a float
decision (``eps``).
"""
from __future__ import annotations

from dataclasses import dataclass

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
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    d = len(lo)
    corners = (np.arange(2 ** d)[:, None] >> np.arange(d)[None, :]) & 1          # (2^d, d) in {0, 1}
    V = np.where(corners == 1, hi, lo)
    # rows: y_i <= hi_i (row i), -y_i <= -lo_i (row d + i)
    eye = np.eye(d)
    rows = Rows(d)
    rid = rows.add(np.concatenate([np.column_stack([eye, hi]), np.column_stack([-eye, -lo])]))
    tight = np.concatenate([corners == 1, corners == 0], axis=1)                    # (2^d, 2d)
    Z = _pack(tight)
    return Polytopes(V[None], np.array([2 ** d]), Z[None], rid[None], np.array([2 * d]), rows)


def _pack(bits: np.ndarray) -> np.ndarray:
    """Bool (..., C) -> uint64 words (..., ceil(C / 64)), row ``r`` at bit ``r % 64`` of word ``r // 64``."""
    C = bits.shape[-1]
    W = max(1, -(-C // _WORD))
    bits = _pad(bits, bits.ndim - 1, W * _WORD)
    packed = np.packbits(bits, axis=-1, bitorder="little")
    return np.ascontiguousarray(packed).view("<u8").astype(np.uint64)


def _unpack(Z: np.ndarray) -> np.ndarray:
    """The inverse of :func:`_pack`: (..., W) uint64 -> bool (..., 64 W)."""
    return np.unpackbits(np.ascontiguousarray(Z.astype("<u8")).view(np.uint8), axis=-1, bitorder="little").astype(bool)


def _popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x).sum(axis=-1)


def clip(P: Polytopes, a: np.ndarray, c: np.ndarray, eps: float) -> tuple[Polytopes, Polytopes]:
    """Both sides of every polytope ``i`` cut by its plane: ``a_i · y <= c_i`` and ``>= c_i``.

    ``a`` must have unit rows. A side with no vertex strictly in it (farther than ``eps`` from
    the plane) is returned with ``n = 0``. The plane becomes a row of both sides (``-a, -c`` for
    the second).

    Examples
    --------
    >>> cube = box(np.zeros(3), np.ones(3))
    >>> a = np.array([[1.0, 1.0, 1.0]]) / np.sqrt(3)
    >>> inside, outside = clip(cube, a, np.array([1.0]) / np.sqrt(3), 1e-12)   # through 3 corners
    >>> int(inside.n[0]), int(outside.n[0])        # a tetrahedron and the rest (the 3 corners on both)
    (4, 7)
    >>> inside, outside = clip(cube, a, np.array([0.5]) / np.sqrt(3), 1e-12)   # 3 new vertices
    >>> int(inside.n[0]), int(outside.n[0])
    (4, 10)
    >>> sorted(inside.V[0, :4].sum(axis=1).round(9).tolist())
    [0.0, 0.5, 0.5, 0.5]
    """
    if int(P.m.max(initial=0)) >= P.Z.shape[2] * _WORD:           # no free bit left somewhere
        P = compact(P)
        if int(P.m.max(initial=0)) >= P.Z.shape[2] * _WORD:
            P = Polytopes(P.V, P.n, _pad(P.Z, 2, P.Z.shape[2] + 1), P.rid, P.m, P.rows)
    N, K, d = P.V.shape
    valid = np.arange(K)[None, :] < P.n[:, None]
    s = np.einsum("nkd,nd->nk", P.V, a) - c[:, None]
    s[np.abs(s) <= eps] = 0.0
    neg, pos = valid & (s < 0), valid & (s > 0)
    zero = valid & (s == 0)
    # new vertices: edges (i, j) with i strictly inside and j strictly outside
    both = neg.any(axis=1) & pos.any(axis=1)
    pi, i, j = np.nonzero(neg[:, :, None] & pos[:, None, :] & both[:, None, None])
    common = P.Z[pi, i] & P.Z[pi, j]
    ok = _popcount(common) >= d - 1
    pi, i, j, common = pi[ok], i[ok], j[ok], common[ok]
    if len(pi):
        # no third vertex tight at every row tight at both ends
        inner = ~np.any(common[:, None, :] & ~P.Z[pi], axis=2) & valid[pi]
        ar = np.arange(len(pi))
        inner[ar, i] = False
        inner[ar, j] = False
        ok = ~inner.any(axis=1)
        pi, i, j, common = pi[ok], i[ok], j[ok], common[ok]
    si, sj = s[pi, i], s[pi, j]
    X = P.V[pi, i] + (si / (si - sj))[:, None] * (P.V[pi, j] - P.V[pi, i])
    # the new row, in slot m of both sides
    C = P.rid.shape[1]
    rid = P.rid if int(P.m.max(initial=0)) < C else _pad(P.rid, 1, min(2 * C, P.Z.shape[2] * _WORD))
    ids = P.rows.add(np.concatenate([np.column_stack([a, c]), -np.column_stack([a, c])]))
    Z = P.Z
    word, bit = P.m // _WORD, np.left_shift(np.uint64(1), (P.m % _WORD).astype(np.uint64))
    Zin = Z.copy()
    zp, zk = np.nonzero(zero)
    Zin[zp, zk, word[zp]] |= bit[zp]
    Zx = _pad(common, 1, Z.shape[2])
    Zx[np.arange(len(pi)), word[pi]] |= bit[pi]
    sides = []
    for sign, keep in ((1.0, neg | zero), (-1.0, pos | zero)):
        kp, kk = np.nonzero(keep)
        owner = np.concatenate([kp, pi])
        order = np.argsort(owner, kind="stable")
        owner = owner[order]
        verts = np.concatenate([P.V[kp, kk], X])[order]
        inc = np.concatenate([Zin[kp, kk], Zx])[order]
        cnt = np.bincount(owner, minlength=N)
        slot = np.arange(len(owner)) - np.concatenate([[0], np.cumsum(cnt)[:-1]])[owner]
        Kn = max(int(cnt.max(initial=0)), 1)
        Vn = np.zeros((N, Kn, d))
        Vn[owner, slot] = verts
        Zn = np.zeros((N, Kn, Z.shape[2]), dtype=np.uint64)
        Zn[owner, slot] = inc
        rn = rid.copy()
        rn[np.arange(N), P.m] = ids[:N] if sign > 0 else ids[N:]
        strict = neg.any(axis=1) if sign > 0 else pos.any(axis=1)
        sides.append(Polytopes(Vn, np.where(strict, cnt, 0), Zn, rn, P.m + 1, P.rows))
    return sides[0], sides[1]


def compact(P: Polytopes) -> Polytopes:
    """The same polytopes without their redundant rows (tight at fewer than ``d`` vertices),
    the arrays trimmed to the largest vertex and row counts.

    >>> cube = box(np.zeros(2), np.ones(2))
    >>> inside, _ = clip(cube, np.array([[1.0, 0.0]]), np.array([2.0]), 1e-12)   # a row that cuts nothing
    >>> int(inside.m[0]), int(compact(inside).m[0])
    (5, 4)
    """
    N, K, d = P.V.shape
    K = max(int(P.n.max(initial=0)), 1)
    valid = np.arange(K)[None, :] < P.n[:, None]
    C = P.rid.shape[1]
    bits = _unpack(P.Z[:, :K])[:, :, :C] & valid[:, :, None]
    keep = (bits.sum(axis=1) >= d) & (np.arange(C)[None, :] < P.m[:, None])
    m = keep.sum(axis=1)
    Cn = max(int(m.max(initial=0)), 1)
    kp, kc = np.nonzero(keep)
    new = np.arange(len(kp)) - np.concatenate([[0], np.cumsum(m)[:-1]])[kp]
    rid = np.zeros((N, Cn), dtype=P.rid.dtype)
    rid[kp, new] = P.rid[kp, kc]
    nb = np.zeros((N, Cn, K), dtype=bool)
    nb[kp, new] = bits[kp, :, kc]
    return Polytopes(P.V[:, :K], P.n, _pack(nb.transpose(0, 2, 1)), rid, m, P.rows)


def centroid(P: Polytopes) -> np.ndarray:
    """Vertex average of every polytope (an interior point of a full-dimensional one)."""
    valid = np.arange(P.V.shape[1])[None, :] < P.n[:, None]
    return np.where(valid[:, :, None], P.V, 0.0).sum(axis=1) / np.maximum(P.n, 1)[:, None]


def thickness(P: Polytopes, y: np.ndarray) -> np.ndarray:
    """A lower bound of every polytope's inradius: the smallest slack of its rows at ``y`` (a
    ball of that radius around ``y`` is inside).

    >>> b = box(np.zeros(2), np.array([4.0, 1.0]))
    >>> thickness(b, np.array([[1.0, 0.5]])).tolist()
    [0.5]
    """
    R = P.R
    rv = np.arange(R.shape[1])[None, :] < P.m[:, None]
    slack = R[:, :, -1] - np.einsum("ncd,nd->nc", R[:, :, :-1], y)
    return np.where(rv, slack, np.inf).min(axis=1)


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
