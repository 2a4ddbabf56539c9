"""Bounds on the pre-activations of a ReLU network over an input box.

Methods (registry :data:`METHODS`):

* ``interval``: interval arithmetic;
* ``symbolic``: linear-relaxation back-substitution (CROWN/DeepPoly style: triangle upper
  relaxation, adaptive lower slope in {0, 1}), intersected with the interval bounds; batched over
  many boxes (:func:`symbolic_bounds_batch`) for branch and bound, where
  :func:`optimised_upper_bound` also optimises the lower slopes for the output bound;
* ``lp``: LP tightening with HiGHS (triangle relaxation of every unstable ReLU, each bound of a
  layer optimised incrementally on one model), starting from the symbolic bounds.

Every float bound is widened outward by a relative ``settings.bound_margin`` (soundness under rounding).
"""
from __future__ import annotations

import numpy as np

from ..errors import InputError
from ..network import ReLUNet
from ..deadline import check
from ..settings import DEFAULT


def _widen(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return lo - DEFAULT.bound_margin * (1 + np.abs(lo)), hi + DEFAULT.bound_margin * (1 + np.abs(hi))


def interval_bounds(net: ReLUNet, box: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Interval arithmetic: sound but loose bounds of every layer's pre-activation ``z^l``.

    >>> net = ReLUNet([([[1.0, -1.0]], [0.0]), ([[1.0]], [0.0])])
    >>> [(float(lo[0]), float(hi[0])) for lo, hi in interval_bounds(net, np.array([[0, 1], [0, 1]]))]   # widened
    [(-1.000000002, 1.000000002), (-1e-09, 1.0000000039999999)]
    """
    box = np.asarray(box, dtype=float)
    lo, hi = box[:, 0], box[:, 1]
    out = []
    for l, (W, b) in enumerate(net.layers):
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        zl, zu = _widen(Wp @ lo + Wn @ hi + b, Wp @ hi + Wn @ lo + b)
        out.append((zl, zu))
        lo, hi = np.maximum(zl, 0), np.maximum(zu, 0)
    return out


def relu_preactivation_bounds(net: ReLUNet, box: np.ndarray, method: str = "interval",
                              deadline: float | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sound bounds ``[(lo, hi) per layer]`` of the pre-activations over ``box`` (``(n, 2)``).

    ``method``: ``"interval"`` (available now; tighter methods are registered in ``METHODS``).
    ``deadline``: see :mod:`.deadline` (checked before and after the vectorised computation).
    """
    try:
        fn = METHODS[method]
    except KeyError:
        raise InputError("bounds", "method", method, f"unknown bounds method; choose from {sorted(METHODS)}") from None
    check(deadline)
    pre = fn(net, box)
    check(deadline)
    return pre


def relaxation(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Slopes ``(s_up, t_up, s_low)``: ``s_low*z <= relu(z) <= s_up*z + t_up`` on ``[lo, hi]``."""
    unstable = (lo < 0) & (hi > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_up = np.where(unstable, hi / (hi - lo), (lo >= 0).astype(float))
    t_up = np.where(unstable, -s_up * lo, 0.0)
    s_low = np.where(unstable, (hi > -lo).astype(float), (lo >= 0).astype(float))
    return s_up, t_up, s_low


def backsubstitute(net: ReLUNet, layer: int, C: np.ndarray | None, pre: list, box: np.ndarray,
                   upper: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear bound of ``C @ z^layer`` over a batch of boxes.

    ``C``: ``(B, k, m_layer)``, or ``None`` for the identity (every unit of the layer: the first
    step then never forms a ``(B, m_layer, m)`` tensor); ``pre``: bounds ``(lo, hi)`` of layers
    ``< layer`` with shapes ``(B, m)``; ``box``: ``(B, n, 2)``. Returns ``(value, A, c)`` with
    ``value`` ``(B, k)`` the bound over the box and ``A x + c`` ``((B, k, n), (B, k))`` the
    linear bound itself (an upper bound of ``C z`` if ``upper`` else a lower bound).
    """
    W, b = net.layers[layer]
    top = layer - 1
    if C is not None or layer == 0:
        C = np.broadcast_to(np.eye(len(b)), (len(box), len(b), len(b))) if C is None else C
        A, const = C @ W, C @ b
    else:
        # (W+ * s_hi + W- * s_lo) @ W_j = W+ @ (s_hi * W_j) + W- @ (s_lo * W_j), s per box
        s_up, t_up, s_low = relaxation(*pre[top])
        s_hi, s_lo = (s_up, s_low) if upper else (s_low, s_up)
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        Wj, bj = net.layers[top]
        A = Wp @ (s_hi[:, :, None] * Wj) + Wn @ (s_lo[:, :, None] * Wj)
        const = b + t_up @ (Wp if upper else Wn).T + (s_hi * bj) @ Wp.T + (s_lo * bj) @ Wn.T
        top -= 1
    for j in range(top, -1, -1):
        s_up, t_up, s_low = relaxation(*pre[j])
        # upper: A+ s_up + A- s_low = A s_low + A+ (s_up - s_low); lower: A s_up - A+ (s_up - s_low)
        Ap = np.maximum(A, 0)
        const = const + (Ap @ t_up[:, :, None])[:, :, 0] if upper else const + ((A - Ap) @ t_up[:, :, None])[:, :, 0]
        slope = A * (s_low if upper else s_up)[:, None, :]
        Ap *= (s_up - s_low)[:, None, :]
        if upper:
            slope += Ap
        else:
            slope -= Ap
        Wj, bj = net.layers[j]
        A = slope @ Wj
        const = const + slope @ bj
    lo, hi = box[:, None, :, 0], box[:, None, :, 1]
    Ap, An = np.maximum(A, 0), np.minimum(A, 0)
    val = const + (Ap * (hi if upper else lo) + An * (lo if upper else hi)).sum(axis=2)
    return val, A, const


def symbolic_bounds_batch(net: ReLUNet, boxes: np.ndarray, layers: int | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Symbolic bounds of the pre-activations of the first ``layers`` layers (default: all) over
    a batch of boxes ``(B, n, 2)``; each entry is ``(lo, hi)`` of shape ``(B, m)``."""
    boxes = np.asarray(boxes, dtype=float)
    pre: list[tuple[np.ndarray, np.ndarray]] = []
    lo_in, hi_in = boxes[:, :, 0], boxes[:, :, 1]
    for l, (W, b) in enumerate(net.layers[: layers if layers is not None else len(net.layers)]):
        if l == 0:
            Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
            lo, hi = lo_in @ Wp.T + hi_in @ Wn.T + b, hi_in @ Wp.T + lo_in @ Wn.T + b
        else:
            hi, _, _ = backsubstitute(net, l, None, pre, boxes, upper=True)
            lo, _, _ = backsubstitute(net, l, None, pre, boxes, upper=False)
            # intersect with one interval step from the previous layer's bounds
            hl, hh = np.maximum(pre[-1][0], 0), np.maximum(pre[-1][1], 0)
            Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
            lo = np.maximum(lo, hl @ Wp.T + hh @ Wn.T + b)
            hi = np.minimum(hi, hh @ Wp.T + hl @ Wn.T + b)
        pre.append(_widen(lo, hi))
    return pre


def forward_bounds_batch(net: ReLUNet, boxes: np.ndarray, layers: int | None = None,
                         refine: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Forward symbolic-interval bounds (Neurify-style) of the pre-activations of the first
    ``layers`` layers over a batch of boxes ``(B, n, 2)``: every neuron carries a lower and an
    upper linear function of the inputs, propagated forward layer by layer (an unstable ReLU
    scales its upper function by ``u/(u - l)`` after a shift by ``-l``, and its lower function by
    the same kind of slope of the lower function's own range), concretised on the box at each
    layer. Much cheaper than back-substitution (no layer is visited twice), looser on deep
    networks. With ``refine``, the neurons of a layer still unstable in some box of the batch are
    bounded again by back-substitution (:func:`backsubstitute`, over those rows only) and the
    tighter bounds kept: close to :func:`symbolic_bounds_batch` where it matters (a stable
    neuron's relaxation does not depend on its bounds), at a fraction of the cost once most
    neurons are stable. Each entry ``(lo, hi)`` has shape ``(B, m)``, intersected with interval
    arithmetic and widened.

    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])   # |x| on [-1, 2]
    >>> [round(float(v[0, 0]), 6) + 0.0 for v in forward_bounds_batch(net, np.array([[[-1.0, 2.0]]]))[-1]]
    [0.0, 2.0]
    """
    boxes = np.asarray(boxes, dtype=float)
    B, n, _ = boxes.shape
    lo_in, hi_in = boxes[:, :, 0], boxes[:, :, 1]
    # h >= Ll @ x + cl, h <= Lu @ x + cu (first: h = x)
    Ll = Lu = np.broadcast_to(np.eye(n), (B, n, n))
    cl = cu = np.zeros((B, n))
    iv_lo, iv_hi = lo_in, hi_in

    def concretise(Lm: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Lp, Ln = np.maximum(Lm, 0), np.minimum(Lm, 0)
        return (np.einsum("bmn,bn->bm", Lp, lo_in) + np.einsum("bmn,bn->bm", Ln, hi_in) + c,
                np.einsum("bmn,bn->bm", Lp, hi_in) + np.einsum("bmn,bn->bm", Ln, lo_in) + c)

    pre: list[tuple[np.ndarray, np.ndarray]] = []
    for l, (W, b) in enumerate(net.layers[: layers if layers is not None else len(net.layers)]):
        Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
        zLl, zcl = Wp @ Ll + Wn @ Lu, cl @ Wp.T + cu @ Wn.T + b
        zLu, zcu = Wp @ Lu + Wn @ Ll, cu @ Wp.T + cl @ Wn.T + b
        lo, _ = concretise(zLl, zcl)            # range of the lower function: [lo, lmax]
        umin, hi = concretise(zLu, zcu)         # range of the upper function: [umin, hi]
        _, lmax = concretise(zLl, zcl)
        ilo, ihi = _interval_affine(W, iv_lo, iv_hi)
        lo, hi = _widen(np.maximum(lo, ilo + b), np.minimum(hi, ihi + b))
        rows = np.flatnonzero(np.any((lo < 0) & (hi > 0), axis=0)) if refine and l else np.zeros(0, int)
        if len(rows):       # upper bounds of z and of -z in one pass
            e = np.eye(len(b))[rows]
            val, _, _ = backsubstitute(net, l, np.broadcast_to(np.vstack([e, -e]), (B, 2 * len(rows), len(b))), pre,
                                       boxes, upper=True)
            blo, bhi = _widen(-val[:, len(rows):], val[:, :len(rows)])
            lo, hi = lo.copy(), hi.copy()
            lo[:, rows], hi[:, rows] = np.maximum(lo[:, rows], blo), np.minimum(hi[:, rows], bhi)
        pre.append((lo, hi))
        iv_lo, iv_hi = np.maximum(lo, 0), np.maximum(hi, 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            su = np.where(hi <= 0, 0.0, np.where(umin >= 0, 1.0, hi / (hi - umin)))
            tu = np.where((hi > 0) & (umin < 0), -su * umin, 0.0)
            sl = np.where(lmax <= 0, 0.0, np.where(lo >= 0, 1.0, lmax / (lmax - lo)))
        Ll, cl = zLl * sl[:, :, None], zcl * sl
        Lu, cu = zLu * su[:, :, None], zcu * su + tu
    return pre


def _interval_affine(W: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``W @ v`` for every ``v`` in the batch of boxes ``[lo, hi]`` (rows)."""
    Wp, Wn = np.maximum(W, 0), np.minimum(W, 0)
    return lo @ Wp.T + hi @ Wn.T, hi @ Wp.T + lo @ Wn.T


def difference_bounds(a: ReLUNet, b: ReLUNet, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of ``b(x) - a(x)`` over each box of a batch ``(B, n, 2)`` for two ReLU networks of
    the same widths, propagating the difference itself (ReluDiff-style) rather than subtracting
    two separate bounds: with ``d = z_b - z_a`` and ``e = h_b - h_a`` per layer,
    ``d = (W_b - W_a) h_a + W_b e + (c_b - c_a)``, and ``e = d`` where both ReLUs are active,
    ``0`` where both are off, else between ``0`` and ``d`` (ReLU is monotone and 1-Lipschitz).
    ``h_a`` comes from the symbolic bounds of ``a``. Returns ``(lo, hi)``, each ``(B, m)``.

    Examples
    --------
    >>> a = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])          # |x|
    >>> b = ReLUNet([([[1.001], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])        # b - a = 0.001 x+
    >>> [round(float(v[0, 0]), 6) for v in difference_bounds(a, b, np.array([[[-1.0, 1.0]]]))]
    [-0.001, 0.001]
    >>> [round(float(v[0, 0]), 6) for v in difference_bounds(a, b, np.array([[[0.5, 1.0]]]))]
    [0.0005, 0.001]
    """
    boxes = np.asarray(boxes, dtype=float)
    pre_a = symbolic_bounds_batch(a, boxes, layers=len(a.layers) - 1)
    h_lo, h_hi = boxes[:, :, 0], boxes[:, :, 1]            # h_a (the inputs are shared: e = 0)
    e_lo = e_hi = np.zeros_like(h_lo)

    def step(l: int) -> tuple[np.ndarray, np.ndarray]:
        (Wa, ca), (Wb, cb) = a.layers[l], b.layers[l]
        p_lo, p_hi = _interval_affine(Wb - Wa, h_lo, h_hi)
        q_lo, q_hi = _interval_affine(Wb, e_lo, e_hi)
        return _widen(p_lo + q_lo + (cb - ca), p_hi + q_hi + (cb - ca))

    for l in range(len(a.layers) - 1):
        d_lo, d_hi = step(l)
        za_lo, za_hi = pre_a[l]
        on = (za_lo >= 0) & (za_lo + d_lo >= 0)
        off = (za_hi <= 0) & (za_hi + d_hi <= 0)
        e_lo = np.where(on, d_lo, np.where(off, 0.0, np.minimum(d_lo, 0.0)))
        e_hi = np.where(on, d_hi, np.where(off, 0.0, np.maximum(d_hi, 0.0)))
        h_lo, h_hi = np.maximum(za_lo, 0.0), np.maximum(za_hi, 0.0)
    return step(len(a.layers) - 1)


def optimised_upper_bound(net: ReLUNet, pre: list, boxes: np.ndarray, steps: int = 8,
                          rows: np.ndarray | None = None) -> np.ndarray:
    """Upper bound of the single output of ``net`` over each box of a batch ``(B, n, 2)``, with
    the lower-relaxation slopes of the unstable ReLUs optimised (alpha-CROWN style); with
    ``rows`` (``(B,)`` output indices), of output ``rows[i]`` on box ``i`` instead.

    Every slope in ``[0, 1]`` gives a sound linear lower bound of an unstable ReLU, so the bound
    of every slope choice is sound; starting from the adaptive slopes of :func:`backsubstitute`
    (step 0 is its bound), ``steps`` sign-gradient steps (halved every 5) move the slopes of each
    box to lower its bound; the least bound seen is returned. ``pre``: bounds ``(lo, hi)``
    ``(B, m)`` of the hidden layers' pre-activations (e.g. :func:`symbolic_bounds_batch`).

    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[-1.0, -1.0]], [0.0])])   # -|x| on [-1, 2]
    >>> boxes = np.array([[[-1.0, 2.0]]])
    >>> pre = symbolic_bounds_batch(net, boxes, layers=1)
    >>> crown = backsubstitute(net, 1, np.ones((1, 1, 1)), pre, boxes, upper=True)[0]
    >>> float(crown[0, 0]), float(optimised_upper_bound(net, pre, boxes)[0])
    (1.0, 0.0)
    """
    L = len(net.layers)
    rel = [relaxation(*pre[j]) for j in range(L - 1)]
    unstable = [(lo < 0) & (hi > 0) for lo, hi in pre[:L - 1]]
    low = [s_low.copy() for _, _, s_low in rel]
    lo_in, hi_in = boxes[:, :, 0], boxes[:, :, 1]
    W, b = net.layers[L - 1]
    best = np.full(len(boxes), np.inf)
    for it in range(steps + 1):
        r = np.zeros(len(boxes), int) if rows is None else rows
        A, const, trace = W[r], b[r], []
        for j in range(L - 2, -1, -1):
            s_up, t_up, _ = rel[j]
            Ap, An = np.maximum(A, 0), np.minimum(A, 0)
            slope = Ap * s_up + An * low[j]
            const = const + (Ap * t_up).sum(axis=1) + slope @ net.layers[j][1]
            trace.append(A)
            A = slope @ net.layers[j][0]
        best = np.minimum(best, const + np.maximum(A * hi_in, A * lo_in).sum(axis=1))
        if it == steps:
            return best
        g = np.where(A > 0, hi_in, lo_in)            # d bound / d A, back through the layers
        for j, A_in in zip(range(L - 1), reversed(trace)):
            Wj, bj = net.layers[j]
            g_slope = g @ Wj.T + bj
            step = np.sign(g_slope * np.minimum(A_in, 0)) * 0.5 ** (1 + it // 5)
            g = np.where(A_in > 0, rel[j][0] * g_slope + rel[j][1], low[j] * g_slope)
            low[j] = np.where(unstable[j], np.clip(low[j] - step, 0.0, 1.0), low[j])
    return best


def symbolic_bounds(net: ReLUNet, box: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Symbolic (CROWN-style) bounds of every layer's pre-activation over one box.

    >>> net = ReLUNet([([[1.0], [-1.0]], [0.0, 0.0]), ([[1.0, 1.0]], [0.0])])   # |x| on [-1, 2]
    >>> box = np.array([[-1.0, 2.0]])
    >>> [round(float(v[0]), 6) + 0.0 for v in interval_bounds(net, box)[-1]], [round(float(v[0]), 6) + 0.0 for v in symbolic_bounds(net, box)[-1]]
    ([0.0, 3.0], [0.0, 2.0])
    """
    pre = symbolic_bounds_batch(net, np.asarray(box, dtype=float)[None])
    return [(lo[0], hi[0]) for lo, hi in pre]


def lp_bounds(net: ReLUNet, box: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """LP-tightened bounds (triangle relaxation, HiGHS, one incremental model).

    >>> net = ReLUNet([([[1.0], [1.0]], [0.0, 0.0]), ([[1.0, -1.0]], [0.0])])   # relu(x) - relu(x)
    >>> [round(float(v[0]), 6) for v in lp_bounds(net, np.array([[-1.0, 1.0]]))[-1]]   # symbolic: [-1, 1]
    [-0.5, 0.5]
    """
    from ..solvers.highs_lp import TriangleLP   # solvers depend on bounds, not the other way round

    box = np.asarray(box, dtype=float)
    pre = symbolic_bounds(net, box)
    lp = TriangleLP(box)
    for l in range(len(net.layers)):
        lo, hi = pre[l]
        W, b = net.layers[l]
        cols = lp.add_affine(W, b, lo, hi)
        if l > 0:
            lo, hi = lp.tighten(cols, lo, hi)
            pre[l] = _widen(lo, hi)
        if l < len(net.layers) - 1:
            lp.add_relu(cols, *pre[l])
    return pre


METHODS = {"interval": interval_bounds, "symbolic": symbolic_bounds, "lp": lp_bounds}


def conjunction_lower_bound(A: np.ndarray, c: np.ndarray, boxes: np.ndarray, steps: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Lower bound of ``min_x max_i (A[b, i] @ x + c[b, i])`` over each box ``b`` of a batch.

    ``A``: ``(B, k, n)``, ``c``: ``(B, k)``: linear lower bounds of ``k`` functions ``f_i`` on
    ``boxes`` ``(B, n, 2)``. Some ``f_i`` is positive wherever the bound is positive, so a
    conjunction "every ``f_i <= 0``" is infeasible on a box where it is ``> 0`` even when no
    single ``f_i`` is proven positive (their minimisers lie in different corners). By weak
    duality every weight vector ``lam`` of the simplex gives the sound bound
    ``phi(lam) = min_x lam @ (A x + c)`` (concave, piecewise linear); ``steps`` projected
    supergradient steps from the best single function improve ``lam``, and the best
    ``phi`` seen is returned with its weights ``(B, k)`` (``steps=0``: the best single bound).

    >>> A = np.array([[[1.0], [-1.0]]]); c = np.zeros((1, 2))       # max(x, -x) = |x| on [-1, 1]
    >>> box = np.array([[[-1.0, 1.0]]])
    >>> phi, lam = conjunction_lower_bound(A, c, box)
    >>> round(float(phi[0]), 6) + 0.0, np.round(lam[0], 3).tolist()      # single bounds: -1 each
    (0.0, [0.5, 0.5])
    """
    B, k, n = A.shape
    lo, hi = boxes[:, None, :, 0], boxes[:, None, :, 1]

    def phi(lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.einsum("bk,bkn->bn", lam, A)
        x = np.where(a > 0, lo[:, 0], hi[:, 0])                   # minimiser over the box
        return np.einsum("bn,bn->b", a, x) + np.einsum("bk,bk->b", lam, c), x

    single = c + np.minimum(A * lo, A * hi).sum(axis=2)
    lam = np.zeros((B, k))
    lam[np.arange(B), np.argmax(single, axis=1)] = 1.0
    best, best_lam = single.max(axis=1), lam.copy()
    scale = np.maximum(np.abs(single).max(axis=1, keepdims=True), 1e-12)
    for it in range(steps):
        val, x = phi(lam)
        better = val > best
        best[better], best_lam[better] = val[better], lam[better]
        g = np.einsum("bkn,bn->bk", A, x) + c                     # supergradient: f_i(x*)
        lam = _simplex(lam + (0.5 / (1 + it)) * g / scale)
    val, _ = phi(lam)
    better = val > best
    best[better], best_lam[better] = val[better], lam[better]
    return best, best_lam


def _simplex(v: np.ndarray) -> np.ndarray:
    """Euclidean projection of each row onto the probability simplex."""
    u = -np.sort(-v, axis=1)
    css = np.cumsum(u, axis=1) - 1
    ind = np.arange(1, v.shape[1] + 1)
    rho = np.count_nonzero(u - css / ind > 0, axis=1)
    theta = css[np.arange(len(v)), rho - 1] / rho
    return np.maximum(v - theta[:, None], 0.0)

