"""From a point, the region (cell) that contains it: its pattern, polyhedron and affine maps.

The domain is an affine image ``x = c + M y`` of a box in ``y`` (the input box itself, a 2-D
slice or a segment), so every polyhedron lives in the low-dimensional ``y`` space.

For an SNN the **causal pattern** at a point is every neuron's causal set plus whether it fires
(model.md §2). Given the pattern every spike time is affine in ``y`` and the pattern's conditions
are linear (model.md §1.1). A neuron with a negative weight among its causal (or, when it never
fires, its firing) sources also needs "the potential stays below threshold before the crossing",
which is linear only once the order of those arrivals is fixed; its cell is therefore refined by
that order (``Cell.key``) while the causal pattern (``Cell.pattern``) is not. For a ReLU network
the pattern is the activation pattern. Inequalities are returned as ``A y <= b`` with unit-norm
rows; their exact (strict) versions describe the cell's interior.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import InputError
from ..network import ReLUNet, SNN
from ..simulate import spike_times
from ..solvers import highs
from ..settings import DEFAULT


@dataclass(frozen=True, eq=False)
class Domain:
    """The set ``{c + M y : lo <= y <= hi}`` in data space.

    Examples
    --------
    >>> d = Domain.segment([0.0, 0.0], [1.0, 2.0])
    >>> d.dim, d.point([0.5]).tolist()
    (1, [0.5, 1.0])
    """

    c: np.ndarray
    M: np.ndarray
    lo: np.ndarray
    hi: np.ndarray

    @property
    def dim(self) -> int:
        return self.M.shape[1]

    @cached_property
    def scale(self) -> float:
        """Largest side of the box in ``y`` (tolerances are relative to it; computed once, as
        :attr:`is_input_box`: a domain is not changed after it is made)."""
        return float(max(np.max(self.hi - self.lo), 1e-300))

    @cached_property
    def is_input_box(self) -> bool:
        """Whether ``y`` is the input itself, up to the shift ``c`` (``M`` is the identity: a box)."""
        return self.M.shape[0] == self.M.shape[1] and np.array_equal(self.M, np.eye(self.M.shape[0]))

    def point(self, y: np.ndarray) -> np.ndarray:
        """Data-space point(s) for ``y`` (``(k,)`` or ``(batch, k)``)."""
        return self.c + np.asarray(y, dtype=float) @ self.M.T

    @classmethod
    def box(cls, box: np.ndarray) -> "Domain":
        box = np.asarray(box, dtype=float)
        n = len(box)
        return cls(np.zeros(n), np.eye(n), box[:, 0].copy(), box[:, 1].copy())

    @classmethod
    def segment(cls, x0, x1) -> "Domain":
        """The segment ``x0 + s (x1 - x0)``, ``s`` in [0, 1]."""
        x0, x1 = np.asarray(x0, dtype=float), np.asarray(x1, dtype=float)
        return cls(x0, (x1 - x0)[:, None], np.zeros(1), np.ones(1))

    @classmethod
    def plane(cls, x0, x1, x2) -> "Domain":
        """The 2-D slice ``x0 + u (x1 - x0) + v (x2 - x0)``, ``(u, v)`` in [0, 1]^2."""
        x0, x1, x2 = (np.asarray(v, dtype=float) for v in (x0, x1, x2))
        return cls(x0, np.stack([x1 - x0, x2 - x0], axis=1), np.zeros(2), np.ones(2))

    def check(self, n_inputs: int, source: str = "<command line>") -> None:
        """Reject a domain of the wrong size or a degenerate slice/segment (InputError)."""
        if self.M.shape[0] != n_inputs:
            raise InputError(source, "domain", f"{self.M.shape[0]} coordinates", f"the network has {n_inputs} inputs")
        flat = np.flatnonzero(self.hi <= self.lo)
        if flat.size:
            raise InputError(source, f"box[{int(flat[0])}]", [float(self.lo[flat[0]]), float(self.hi[flat[0]])],
                             "the box has zero width there: no region is full-dimensional (fix the value or use --slice)")
        if not self.is_input_box and np.linalg.matrix_rank(self.M) < self.dim:
            raise InputError(source, "domain", "points", "the points are affinely dependent (a degenerate line or slice)")


@dataclass(frozen=True, eq=False)
class Cell:
    """One polyhedral piece of the partition, in the coordinates ``y`` of a :class:`Domain`.

    ``key`` identifies the cell (pattern plus arrival order where mixed signs need it),
    ``pattern`` the causal (or activation) pattern; ``A y <= b`` its inequalities (unit rows,
    box excluded); ``times_G @ y + times_h`` every neuron's spike time (ReLU: every layer's
    pre-activation), valid where ``fires``; ``out_G``, ``out_h``, ``out_fires`` the output map in
    data space (decoder applied).
    """

    key: bytes
    pattern: bytes
    A: np.ndarray
    b: np.ndarray
    times_G: np.ndarray
    times_h: np.ndarray
    fires: np.ndarray
    out_G: np.ndarray
    out_h: np.ndarray
    out_fires: np.ndarray

    def contains(self, y: np.ndarray, tol: float) -> bool:
        """Whether ``y`` satisfies every inequality up to ``tol`` (closure membership)."""
        return bool(self.A.shape[0] == 0 or np.max(self.A @ y - self.b) <= tol)

    def output_at(self, y: np.ndarray) -> np.ndarray:
        return np.where(self.out_fires, self.out_G @ y + self.out_h, np.inf)


def cell_at(net: SNN | ReLUNet, domain: Domain, y: np.ndarray) -> Cell:
    """The cell of ``net`` containing the point ``y`` of ``domain`` (pattern read at ``y``).

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 1.0]]], [[1.0]])
    >>> cell = cell_at(net, Domain.box([[0, 4], [0, 4]]), np.array([0.5, 3.0]))
    >>> cell.A.shape, float(cell.output_at(np.array([0.5, 3.0]))[0])   # only x0 is causal: t = 1 + x0
    ((1, 2), 1.5)
    """
    y = np.asarray(y, dtype=float)
    if isinstance(net, ReLUNet):
        return _relu_cell(net, domain, y)
    return _snn_cell(net, domain, y)


def _finish(key: bytes, pattern: bytes, rows: list, rhs: list, tG, th, fires, oG, oh, ofires) -> Cell:
    A = np.concatenate(rows) if rows else np.zeros((0, tG.shape[1]))
    b = np.concatenate(rhs) if rhs else np.zeros(0)
    A, b = normalise_rows(A, b)
    return Cell(key, pattern, A, b, tG, th, fires, oG, oh, ofires)


def normalise_rows(A: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-norm rows, constant rows dropped, (near-)duplicate rows merged.

    >>> A, b = normalise_rows(np.array([[2.0, 0.0], [1.0, 0.0], [0.0, 0.0]]), np.array([2.0, 1.0, 5.0]))
    >>> A.tolist(), b.tolist()
    ([[1.0, 0.0]], [1.0])
    """
    norm = np.linalg.norm(A, axis=1)
    keep = norm > DEFAULT.zero_row
    A, b = A[keep] / norm[keep, None], b[keep] / norm[keep]
    if len(A) > 1:
        rounded = np.round(np.column_stack([A, b]), 9) + 0.0      # + 0.0 turns -0.0 into 0.0
        seen: dict[bytes, int] = {}
        for i, r in enumerate(rounded):
            seen.setdefault(r.tobytes(), i)
        if len(seen) < len(A):
            first = np.fromiter(seen.values(), dtype=np.int64)
            A, b = A[first], b[first]
    return A, b


def pattern_bits(net: SNN | ReLUNet, domain: Domain, Y: np.ndarray) -> np.ndarray:
    """Causal (SNN) or activation (ReLU) pattern bits at a batch of points ``Y`` (batch, k);
    row ``i`` packed with ``np.packbits`` is the ``pattern`` of the cell containing ``Y[i]``.

    SNN bits: for each level, whether each synapse is causal (row-major over the level's
    synapses), then whether each computing neuron fires.
    """
    X = domain.point(np.atleast_2d(Y))
    if isinstance(net, ReLUNet):
        _, pre = net.evaluate(X, return_preactivations=True)
        return np.concatenate([z > 0 for z in pre[:-1]] + [np.zeros((len(X), 0), dtype=bool)], axis=1)
    T = spike_times(net, net.encode(X))
    parts = []
    for lv in net.levels:
        a = T[:, lv.sources][:, None, :] + lv.D
        causal = lv.present & np.isfinite(a) & (a < T[:, lv.neurons][:, :, None])
        parts.append(causal[:, lv.present])
    parts.append(np.isfinite(T[:, net.first_neuron:]))
    return np.concatenate(parts, axis=1)


def _snn_cell(net: SNN, domain: Domain, y: np.ndarray) -> Cell:
    k = domain.dim
    x = domain.point(y)
    T = spike_times(net, net.encode(x)[None, :])[0]
    G = np.zeros((net.n_total, k))
    h = np.zeros(net.n_total)
    enc_off = np.zeros(net.n_inputs) if net.encoder is None else net.encoder.offset
    enc_sc = np.ones(net.n_inputs) if net.encoder is None else net.encoder.scale
    G[: net.n_inputs] = enc_sc[:, None] * domain.M
    h[: net.n_inputs] = enc_off + enc_sc * domain.c
    h[net.n_inputs: net.first_neuron] = net.constants
    fires = np.isfinite(T)
    rows, rhs, key_parts, order_parts = [], [], [], []
    for lv in net.levels:
        src_fire = fires[lv.sources]
        live = lv.present & src_fire[None, :]
        tv = T[lv.neurons]
        fv = fires[lv.neurons]
        a_val = T[lv.sources][None, :] + lv.D                     # arrivals at the point
        causal = live & (a_val < tv[:, None])                     # never fires: every live source
        Wm = np.where(causal, lv.W, 0.0)
        WS = Wm.sum(axis=1)
        Gs, hs = G[lv.sources], h[lv.sources]
        num_G = Wm @ Gs
        num_h = lv.thresholds + Wm @ hs + (Wm * lv.D).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            G[lv.neurons] = np.where(fv[:, None], num_G / np.where(fv, WS, 1.0)[:, None], 0.0)
            h[lv.neurons] = np.where(fv, num_h / np.where(fv, WS, 1.0), 0.0)
        Gv, hv = G[lv.neurons], h[lv.neurons]
        # firing target, live source u: causal  a_u - t_v <= 0 ; not causal  t_v - a_u <= 0
        sel = live & fv[:, None]
        i_idx, j_idx = np.nonzero(sel)
        sign = np.where(causal[i_idx, j_idx], 1.0, -1.0)
        rows.append(sign[:, None] * (Gs[j_idx] - Gv[i_idx]))
        rhs.append(sign * (hv[i_idx] - hs[j_idx] - lv.D[i_idx, j_idx]))
        key_parts.append(causal[lv.present])
        # sign-mixed neurons: fix the order of the relevant arrivals, keep P below threshold there
        relevant = np.where(fv[:, None], causal, live)
        for i in np.flatnonzero((relevant & (lv.W < 0)).any(axis=1)):
            js = np.flatnonzero(relevant[i])
            order = js[np.argsort(a_val[i, js], kind="stable")]
            order_parts.append(np.concatenate([[lv.neurons[i]], order]).astype(np.int32))
            aG = Gs[order]
            ah = hs[order] + lv.D[i, order]
            w = lv.W[i, order]
            rows.append(aG[:-1] - aG[1:])
            rhs.append(ah[1:] - ah[:-1])
            # P(a_(q)) = sum_{p<q} w_p (a_(q) - a_(p)) <= theta
            cw = np.cumsum(w)[:-1]
            cwG = np.cumsum(w[:, None] * aG, axis=0)[:-1]
            cwh = np.cumsum(w * ah)[:-1]
            rows.append(cw[:, None] * aG[1:] - cwG)
            rhs.append(lv.thresholds[i] - (cw * ah[1:] - cwh))
    pattern = np.packbits(np.concatenate(key_parts + [fires[net.first_neuron:]])).tobytes()
    key = pattern + b"".join(p.tobytes() for p in order_parts)
    out = net.outputs
    oG, oh, of = G[out], h[out], fires[out]
    if net.decoder is not None:
        oG = oG / net.decoder.scale[:, None]
        oh = (oh - net.decoder.offset) / net.decoder.scale
    return _finish(key, pattern, rows, rhs, G, h, fires, oG, oh, of)


def _relu_cell(net: ReLUNet, domain: Domain, y: np.ndarray) -> Cell:
    G, h = domain.M, domain.c
    val = domain.point(y)
    rows, rhs, bits, allG, allh = [], [], [], [], []
    L = len(net.layers)
    for l, (W, bias) in enumerate(net.layers):
        zG, zh = W @ G, W @ h + bias
        allG.append(zG)
        allh.append(zh)
        if l == L - 1:
            break
        z = W @ val + bias
        act = z > 0
        s = np.where(act, -1.0, 1.0)      # active: -z <= 0 ; inactive: z <= 0
        rows.append(s[:, None] * zG)
        rhs.append(-s * zh)
        bits.append(act)
        G, h = np.where(act[:, None], zG, 0.0), np.where(act, zh, 0.0)
        val = np.maximum(z, 0.0)
    pattern = np.packbits(np.concatenate(bits)).tobytes() if bits else b""
    tG, th = np.concatenate(allG), np.concatenate(allh)
    fires = np.ones(len(th), dtype=bool)
    return _finish(pattern, pattern, rows, rhs, tG, th, fires, allG[-1], allh[-1], np.ones(len(allh[-1]), dtype=bool))


# ----------------------------------------------------------------------------- LPs (highspy)
class ChebyshevLP:
    """Largest ball inside ``{A y <= b, lo <= y <= hi}`` and inside each of its facets.

    One highspy model per cell; every facet query changes a row in place and re-solves from the
    previous basis (about 0.1 ms, solvers.md).

    Examples
    --------
    >>> lp = ChebyshevLP(np.array([[1.0, 0.0]]), np.array([0.5]), np.zeros(2), np.ones(2))
    >>> c, r = lp.centre(); round(r, 6)
    0.25
    >>> p, rf = lp.facet(0); round(rf, 6), round(float(p[0]), 6)
    (0.5, 0.5)
    """

    def __init__(self, A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        m, k = A.shape
        self.m, self.k = m, k
        eye = np.eye(k)
        rows = np.vstack([A, eye, -eye])
        self._rhs = np.concatenate([b, hi, -lo])
        full = np.column_stack([rows, np.ones(len(rows))])
        nz = full != 0
        # presolve off: the region LPs are tiny and re-solved incrementally, and an "infeasible"
        # from them removes a region (presolve has called feasible LPs infeasible: solvers/highs.py)
        self.h = highs.new_model(presolve=False)
        highs.load(self.h, cost=np.concatenate([np.zeros(k), [-1.0]]),
                   col_lo=np.concatenate([np.full(k, -np.inf), [0.0]]), col_hi=np.full(k + 1, np.inf),
                   row_lo=np.full(len(rows), -np.inf), row_hi=self._rhs.copy(),
                   starts=np.concatenate([[0], np.cumsum(nz.sum(axis=1))]), index=np.nonzero(nz)[1],
                   value=full[nz])

    def _solve(self) -> tuple[np.ndarray | None, float]:
        self.h.run()
        if highs.status(self.h)[0] != "optimal":
            return None, -np.inf
        x = np.asarray(self.h.getSolution().col_value)
        return x[: self.k], float(x[self.k])

    def centre(self) -> tuple[np.ndarray | None, float]:
        """Chebyshev centre and radius (``None, -inf`` when empty)."""
        return self._solve()

    def facet(self, i: int) -> tuple[np.ndarray | None, float]:
        """Centre and radius of the largest ball of row ``i``'s hyperplane inside the cell."""
        self.h.changeCoeff(i, self.k, 0.0)
        self.h.changeRowBounds(i, self._rhs[i], self._rhs[i])
        res = self._solve()
        self.h.changeCoeff(i, self.k, 1.0)
        self.h.changeRowBounds(i, -np.inf, self._rhs[i])
        return res
