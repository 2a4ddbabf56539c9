"""SNN → ReLU conversion for continuous piecewise-linear (CPWL) spiking networks (model.md §4).

Every neuron must be one of:

* **positive weights**: ``t_v = min_S (θ + Σ_{u∈S} w_u a_u) / W_S`` — a minimum of affine *pieces*
  (every piece is ``>= t_v``, so any family containing the realised causal sets is exact). Pieces
  are the nonempty source sets that bounds cannot rule out: sources arriving surely after
  ``t_v`` are never causal, surely-before ones always are, the sets are closed under "surely
  earlier", and a piece whose lower bound exceeds ``t_v``'s upper bound is dropped;
* **static** (any signs): the §3 condition, checked exactly on sound bounds of the sources
  (the SNN's interval bounds tightened by the lift's own bounds), proves the neuron fires after
  all inputs arrived, so its time is one affine piece.

Anything else (mixed weights without the static proof) is refused: with a *witness* of
discontinuity (two close inputs whose exact outputs jump) when one is found, otherwise with the
reason.

The lift is composed **exactly** (rationals as Python integers over a common denominator), layer
by layer, and only the written weights are rounded to float64:

* ``min(a, b) = a − relu(a − b)`` turns each minimum into ReLU layers (a tournament), where ``a``
  is re-expressed over the carried sources: one unit per pair. A piece proven ``>=`` another on
  the box (lower bound of their difference ``>= 0``) is dropped first, so a kink neuron of a
  ReLU→SNN conversion lifts to exactly one unstable ReLU;
* values still needed later are carried through a layer as ``relu(e − L) + L`` with the integer
  ``L`` one plus the range of ``e`` below the lift's sound lower bound of ``e`` (stable, with room
  for looser bounds); units that no later layer reads (exact cancellations, e.g. the value of a
  kink's input) are removed: the lift of a converted network has the original's architecture;
* the report's ``deviation_bound`` is a sound bound of ``|lift(x) − snn(x)|`` per output on the
  box: the rounding of every written weight (``<= 2**-53`` relative) propagated through the
  layers with the lift's bounds of the activations.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, cast

import numpy as np

from ..bounds.relu import symbolic_bounds
from ..bounds.snn import snn_time_bounds
from ..deadline import check
from ..errors import InputError, UnsupportedNetwork
from ..network import SNN, ReLUNet
from ..results import Progress, no_progress
from ..simulate import simulate, simulate_exact
from ..formats.arrays import check_box
from ..settings import DEFAULT
from .dyadic import exact_matmul

#: Random points of the box where the report's sampled deviation is measured (float simulation of
#: the SNN, which settles near-ties exactly: slow for spike times of large magnitude).
SAMPLES = 16


@dataclass
class SNNToReLUReport:
    """Size of the ReLU network and how each SNN neuron was translated."""

    relu_widths: list[int]
    relu_hidden_units: int
    relu_layers: int
    snn_neurons: int
    positive_neurons: int
    static_neurons: int
    pieces: int
    max_pieces: int
    sampled_max_deviation: float | None
    #: per output, a sound bound of ``|relu(x) − snn(x)|`` on the box (float rounding of the
    #: exactly composed weights, propagated through the layers)
    deviation_bound: list[float] = field(default_factory=list)
    time: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Witness:
    """Two nearby inputs (data space) whose exact SNN outputs jump (``None`` = never fires)."""

    x0: list[Fraction]
    x1: list[Fraction]
    y0: list[Fraction | None]
    y1: list[Fraction | None]

    @property
    def distance(self) -> float:
        return float(max(abs(a - b) for a, b in zip(self.x0, self.x1)))

    @property
    def jump(self) -> float:
        return _jump(self.y0, self.y1)

    def to_dict(self) -> dict[str, Any]:
        f = lambda v: [None if t is None else float(t) for t in v]  # noqa: E731
        return {"x0": f(self.x0), "x1": f(self.x1), "y0": f(self.y0), "y1": f(self.y1),
                "x0_exact": [str(t) for t in self.x0], "x1_exact": [str(t) for t in self.x1],
                "distance": self.distance, "jump": self.jump}


class Discontinuous(UnsupportedNetwork):
    """The SNN's map is discontinuous on the box: no ReLU network equals it (``witness`` attached)."""

    def __init__(self, source: str, witness: Witness) -> None:
        super().__init__(source, "network", "mixed weights",
                         f"discontinuous on the box: inputs {witness.distance:.3g} apart have outputs "
                         f"{witness.jump:.6g} apart (exactly re-checked) -- no ReLU network equals it")
        self.witness = witness


def _jump(y0, y1) -> float:
    if any((a is None) != (b is None) for a, b in zip(y0, y1)):
        return float("inf")
    return float(max((abs(a - b) for a, b in zip(y0, y1) if a is not None), default=0))


def find_discontinuity(snn: SNN, box: np.ndarray, *, seed: int = 0, tries: int = 40,
                       steps: int = 40, samples: int = 64) -> Witness | None:
    """Look for a jump of the SNN's map on ``box``: scan random segments (float simulation), then
    bisect the steepest step exactly; a jump that survives ``steps`` halvings is returned (exact)."""
    rng = np.random.default_rng(seed)
    lam = np.linspace(0.0, 1.0, samples)
    for _ in range(tries):
        a, b = rng.uniform(box[:, 0], box[:, 1]), rng.uniform(box[:, 0], box[:, 1])
        X = a[None, :] + lam[:, None] * (b - a)[None, :]
        Y = simulate(snn, X)
        with np.errstate(invalid="ignore"):
            d = np.abs(np.diff(Y, axis=0))
        d = np.where(np.isnan(d), np.inf, d).max(axis=1)
        k = int(np.argmax(d))
        if not d[k] > 0:
            continue
        fa, fb = [Fraction(v) for v in a], [Fraction(v) for v in b]
        point = lambda t: [p + t * (q - p) for p, q in zip(fa, fb)]  # noqa: E731
        lo, hi = Fraction(lam[k]), Fraction(lam[k + 1])
        ylo, yhi = simulate_exact(snn, point(lo)), simulate_exact(snn, point(hi))
        start = _jump(ylo, yhi)
        if start == 0:
            continue
        for _ in range(steps):
            mid = (lo + hi) / 2
            ym = simulate_exact(snn, point(mid))
            if _jump(ylo, ym) >= _jump(ym, yhi):
                hi, yhi = mid, ym
            else:
                lo, ylo = mid, ym
        w = Witness(point(lo), point(hi), ylo, yhi)
        # a continuous PWL map shrinks the jump with the interval (2**-steps); a jump does not
        if w.jump >= start / 4 and w.jump > 0:
            return w
    return None


def convert_snn_to_relu(snn: SNN, box: Any, *, max_pieces: int = 256, max_units: int = 200_000,
                        samples: int = SAMPLES, progress: Progress = no_progress,
                        deadline: float | None = None) -> tuple[ReLUNet, SNNToReLUReport]:
    """A ReLU network equal to the CPWL SNN ``snn`` on ``box`` (data space, encoder/decoder folded).

    Raises :class:`UnsupportedNetwork` when a neuron needs more than ``max_pieces`` pieces or the
    network more than ``max_units`` hidden units ("blows up"), and :class:`Discontinuous` (with a
    witness) or :class:`UnsupportedNetwork` for mixed-weight networks that are not provably CPWL;
    :class:`~srmverify.errors.DeadlineExpired` once ``deadline`` (:mod:`srmverify.deadline`) has
    passed (checked per neuron and per layer written).

    Examples
    --------
    >>> snn = SNN.layered([[[1.0, 1.0, 0.5]]], [[1.0]], constants=[0.0])
    >>> relu, rep = convert_snn_to_relu(snn, [[0, 1], [0, 1]])
    >>> rep.positive_neurons, rep.max_pieces
    (1, 3)
    >>> float(abs(relu.evaluate([0.2, 0.7])[0, 0] - simulate(snn, [[0.2, 0.7]])[0, 0])) < 1e-12
    True
    """
    t0 = time.perf_counter()
    if not isinstance(snn, SNN):
        raise InputError(getattr(snn, "source", "<arguments>"), "network", type(snn).__name__,
                         "SNN→ReLU conversion needs a spiking network")
    box = check_box(box, snn.n_inputs)
    tb = snn_time_bounds(snn, box)
    if np.any(tb.never_fires[snn.first_neuron:]) or np.any(tb.may_not_fire[snn.first_neuron:]):
        v = snn.first_neuron + int(np.flatnonzero(tb.may_not_fire[snn.first_neuron:] | tb.never_fires[snn.first_neuron:])[0])
        _refuse(snn, box, f"neuron {snn.names[v]} may not fire on the box")
    tlo, thi = tb.lo, tb.hi
    pieces_of: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] | None] = {}
    n_pos = n_static = 0
    for v in range(snn.first_neuron, snn.n_total):
        check(deadline)
        sl = snn.incoming(v)
        src, w, d = snn.src[sl], snn.weight[sl], snn.delay[sl]
        L, U = tlo[src] + d, thi[src] + d
        theta = snn.threshold(v)
        if np.all(w > 0):
            pieces_of[v] = _pieces(src, w, d, theta, L, U, tlo[v], thi[v], max_pieces, snn.names[v], snn.source)
            n_pos += 1
        else:
            pieces_of[v] = None       # mixed: static (one piece) if the lift's bounds prove it (_build)
            n_static += 1
    relu, bound = _build(snn, pieces_of, box, max_units, progress, deadline)
    dev = None
    if samples:
        X = np.random.default_rng(0).uniform(box[:, 0], box[:, 1], size=(samples, snn.n_inputs))
        dev = float(np.max(np.abs(relu.evaluate(X) - simulate(snn, X))))
    counts = [len(p) if p is not None else 1 for p in pieces_of.values()]
    rep = SNNToReLUReport(relu_widths=relu.widths, relu_hidden_units=relu.n_hidden, relu_layers=len(relu.layers),
                          snn_neurons=snn.n_neurons, positive_neurons=n_pos, static_neurons=n_static,
                          pieces=int(sum(counts)), max_pieces=int(max(counts)), sampled_max_deviation=dev,
                          deviation_bound=[float(v) for v in bound],
                          time=time.perf_counter() - t0)
    return relu, rep


def _refuse(snn: SNN, box: np.ndarray, reason: str) -> None:
    w = find_discontinuity(snn, box)
    if w is not None:
        raise Discontinuous(snn.source, w)
    raise UnsupportedNetwork(snn.source, "network", "not CPWL-provable",
                             f"{reason}; no discontinuity found either, so no ReLU network can be written safely")


def _static(w: np.ndarray, d: np.ndarray, theta: float, lo: list[Fraction], hi: list[Fraction]) -> bool:
    """§3, exactly: the neuron surely fires after every input arrived, given sound bounds
    ``[lo, hi]`` of its sources' spike times (``θ > Σ_{w>0} w · max(0, M − L_k)``, ``Σ w > 0``)."""
    wf = [Fraction(x) for x in w.tolist()]
    df = [Fraction(x) for x in d.tolist()]
    M = max(a + b for a, b in zip(hi, df))
    rhs = sum((wk * max(Fraction(0), M - a - b) for wk, a, b in zip(wf, lo, df) if wk > 0), Fraction(0))
    return sum(wf, Fraction(0)) > 0 and Fraction(theta) > rhs


def _interval(pieces: list[Piece], ivl: dict[int, tuple[Fraction, Fraction]]) -> tuple[Fraction, Fraction]:
    """Exact bounds of ``min_p p`` from bounds of the sources (one interval step)."""
    def ends(p: Piece) -> tuple[Fraction, Fraction]:
        lo = p[2] + sum((q * ivl[u][0 if q > 0 else 1] for u, q in zip(p[0], p[1])), Fraction(0))
        hi = p[2] + sum((q * ivl[u][1 if q > 0 else 0] for u, q in zip(p[0], p[1])), Fraction(0))
        return lo, hi
    e = [ends(p) for p in pieces]
    return min(a for a, _ in e), min(b for _, b in e)


def _pieces(src, w, d, theta, L, U, tv_lo, tv_hi, limit, name, source):
    """Candidate causal sets of a positive-weight neuron, as raw ``(sources, weights, delays, θ)``
    (the piece is ``(θ + Σ w (a + d)) / Σ w``)."""
    slack = DEFAULT.convert_safety * (1 + abs(tv_hi) + np.abs(L))
    never = L >= tv_hi + slack                     # arrives surely not before t_v
    always = U < tv_lo - slack
    unsure = np.flatnonzero(~never & ~always)
    base = np.flatnonzero(always)
    unsure = unsure[np.argsort(U[unsure], kind="stable")]   # a surely-earlier source comes first
    before = U[unsure][:, None] < L[unsure][None, :]     # before[i, k]: unsure i surely earlier than k
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray, float]] = []

    def emit(chosen: list[int]) -> None:
        S = np.concatenate([base, unsure[chosen]]).astype(np.int64)
        if not S.size:
            return
        ws = w[S]
        W = float(ws.sum())
        low = (theta + float(np.sum(ws * L[S]))) / W      # the piece is monotone in the arrivals
        if low > tv_hi + DEFAULT.convert_safety * (1 + abs(tv_hi)):        # never the minimum on the box
            return
        out.append((src[S], ws, d[S], theta))
        if len(out) > limit:
            raise UnsupportedNetwork(source, f"neuron {name}", f"> {limit} pieces",
                                     "the min-of-pieces form blows up (raise the piece limit)")

    def grow(k: int, chosen: list[int]) -> None:
        """Source sets closed under 'surely earlier' (causal sets are prefixes of the arrival order)."""
        if k == len(unsure):
            emit(chosen)
            return
        if not any(before[i, k] for i in range(k) if i not in chosen):   # k may join: its earlier ones are in
            grow(k + 1, chosen + [k])
        grow(k + 1, chosen)    # k stays out (no later source is surely earlier than k: sorted by U)

    grow(0, [])
    return out


# ----------------------------------------------------------------------------- the exact lift
#: An exact affine expression over the current variables (the data ``x``, then the units of the
#: last ReLU layer written): ``(num, den)`` with value ``(num[:-1] @ vars + num[-1]) / den``.
Expr = tuple[np.ndarray, int]
#: An exact piece ``Σ_k q_k t_{src_k} + const`` over spike times of other neurons.
Piece = tuple[list[int], list[Fraction], Fraction]
#: Pieces of one neuron compared pairwise (dominance proven by the lift's bounds) up to this many
#: (more only costs size: a dominated piece left in the minimum changes nothing).
PAIR_LIMIT = 16
#: Relative error of a float64 written for an exact rational (round to nearest: ``2**-53``, with room).
RHO = 2.0 ** -52


def _ints(shape: int | tuple[int, ...]) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    out.fill(0)
    return out


def _reduce(num: np.ndarray, den: int) -> Expr:
    g = math.gcd(den, *[int(v) for v in num])
    return (num // g, den // g) if g > 1 else (num, den)


def _constant(value: Fraction, m: int) -> Expr:
    num = _ints(m + 1)
    num[-1] = value.numerator
    return num, value.denominator


def _exact_piece(src: np.ndarray, w: np.ndarray, d: np.ndarray, theta: float) -> Piece:
    """``(θ + Σ w (a + d)) / Σ w`` in exact rationals (weights, delays, threshold as written)."""
    wf = [Fraction(x) for x in w.tolist()]
    W = sum(wf, Fraction(0))
    const = (Fraction(theta) + sum((a * Fraction(b) for a, b in zip(wf, d.tolist())), Fraction(0))) / W
    return [int(u) for u in src.tolist()], [a / W for a in wf], const


def _compose(pieces: list[Piece], expr: dict[int, Expr], m: int) -> list[Expr]:
    """Exact expressions of ``pieces`` over the current variables (one exact matrix product)."""
    cols = sorted({u for s, _, _ in pieces for u in s})
    idx = {u: i for i, u in enumerate(cols)}
    D = math.lcm(*(expr[u][1] for u in cols)) if cols else 1
    E = _ints((len(cols), m + 1))
    for u in cols:
        E[idx[u]] = expr[u][0] * (D // expr[u][1])
    dens = [math.lcm(c.denominator, *(q.denominator for q in qs)) for _, qs, c in pieces]
    Q = _ints((len(pieces), len(cols)))
    for i, (s, qs, _) in enumerate(pieces):
        for u, q in zip(s, qs):
            Q[i, idx[u]] += q.numerator * (dens[i] // q.denominator)
    P = exact_matmul(Q, E) if cols else _ints((len(pieces), m + 1))
    out = []
    for i, (_, _, c) in enumerate(pieces):
        row = np.array(P[i], dtype=object)
        row[-1] += c.numerator * (dens[i] // c.denominator) * D
        out.append(_reduce(row, dens[i] * D))
    return out


def _sub(a: Expr, b: Expr) -> Expr:
    return _reduce(a[0] * b[1] - b[0] * a[1], a[1] * b[1])


def _shift(a: Expr, L: int) -> Expr:
    num = a[0].copy()
    num[-1] -= L * a[1]
    return num, a[1]


def _unit(r: int, m: int, L: int = 0) -> Expr:
    num = _ints(m + 1)
    num[r], num[-1] = 1, L
    return num, 1


def _floats(rows: list[Expr]) -> tuple[np.ndarray, np.ndarray]:
    """The rows rounded to float64 (Python's int / int is correctly rounded): ``(W, b)``."""
    M = np.array([[int(v) / den for v in num] for num, den in rows], dtype=float).reshape(len(rows), -1)
    return M[:, :-1], M[:, -1]


def _deviation(W: np.ndarray, b: np.ndarray, delta: np.ndarray, H: np.ndarray) -> np.ndarray:
    """Sound bound of ``|(Ŵ h + b̂) − (W* h* + b*)|`` per row, for float rows ``Ŵ, b̂`` rounded from
    exact ``W*, b*``, ``|ĥ − h*| <= delta`` and ``|ĥ| <= H``:
    ``(1 + ρ)|Ŵ| delta + ρ |Ŵ| H + ρ |b̂|`` (plus room for the float evaluation of this bound)."""
    A = np.abs(W)
    return ((1 + RHO) * (A @ delta) + RHO * (A @ H + np.abs(b)) + 1e-300) * (1 + 1e-9)


class _Lift:
    """The ReLU layers written so far and what is known of their float rounding."""

    def __init__(self, box: np.ndarray, max_units: int, source: str, deadline: float | None = None) -> None:
        self.box, self.deadline = box, deadline
        self.layers: list[tuple[np.ndarray, np.ndarray]] = []
        self.delta = np.zeros(box.shape[0])                 # |ĥ − h*| of the current variables
        self.H0 = np.max(np.abs(box), axis=1)               # |x| on the box
        self.max_units, self.source = max_units, source
        self.units = 0

    @property
    def m(self) -> int:
        return self.box.shape[0] if not self.layers else self.layers[-1][0].shape[0]

    def bounds(self, rows: list[Expr]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Sound bounds ``(lo, hi)`` of the exact rows over the box (symbolic bounds of the float
        lift, widened by the rows' deviation), and the deviation itself."""
        check(self.deadline)
        W, b = _floats(rows)
        pre = symbolic_bounds(ReLUNet(self.layers + [(W, b)]), self.box)
        H = self.H0 if not self.layers else np.maximum(pre[-2][1], 0.0) + self.delta
        dev = _deviation(W, b, self.delta, H)
        lo, hi = pre[-1]
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
            raise UnsupportedNetwork(self.source, "network", "unbounded", "no finite bounds of a spike time on the box")
        return lo - dev, hi + dev, dev

    def add(self, rows: list[Expr]) -> None:
        """Write one ReLU layer ``relu(rows)``."""
        check(self.deadline)
        self.units += len(rows)
        if self.units > self.max_units:
            raise UnsupportedNetwork(self.source, "network", f"> {self.max_units} ReLU units",
                                     "the ReLU network blows up (raise --max-units)")
        W, b = _floats(rows)
        pre = symbolic_bounds(ReLUNet(self.layers + [(W, b)]), self.box) if self.layers else None
        H = self.H0 if pre is None else np.maximum(pre[-2][1], 0.0) + self.delta
        self.delta = _deviation(W, b, self.delta, H)
        self.layers.append((W, b))


def _carry_level(lo: float, hi: float) -> int:
    """Integer ``L`` well below a sound lower bound (``relu(e − L) + L = e``, and stable with room)."""
    return math.floor(lo - 1.0 - (hi - lo))


def _mass(p: Piece, is_const: np.ndarray) -> Fraction:
    return sum((q for u, q in zip(p[0], p[1]) if not is_const[u]), Fraction(0))


def _build(snn: SNN, pieces_of: dict, box: np.ndarray, max_units: int,
           progress: Progress, deadline: float | None = None) -> tuple[ReLUNet, np.ndarray]:
    """Compose the ReLU layers generation by generation, exactly, and return the float lift with a
    sound bound of ``|lift(x) − snn(x)|`` per output on the box.

    Every expression is an exact rational affine map of the current variables; a neuron with one
    piece costs nothing, a minimum is a tournament ``min(a, b) = a − relu(a − b)`` where ``a`` is
    re-expressed over the carried sources (no unit of its own), values needed later are carried
    as ``relu(e − L) + L`` with ``L`` below the lift's own bound of ``e`` (stable), pieces proven
    dominated by another on the box are dropped, and units no later layer reads are removed.
    """
    n_in = snn.n_inputs
    enc_off = snn.encoder.offset if snn.encoder is not None else np.zeros(n_in)
    enc_sc = snn.encoder.scale if snn.encoder is not None else np.ones(n_in)
    lift = _Lift(box, max_units, snn.source, deadline)
    expr: dict[int, Expr] = {}
    for i in range(n_in):
        sc, off = Fraction(float(enc_sc[i])), Fraction(float(enc_off[i]))
        den = math.lcm(sc.denominator, off.denominator)
        num = _ints(n_in + 1)
        num[i], num[-1] = sc.numerator * (den // sc.denominator), off.numerator * (den // off.denominator)
        expr[i] = (num, den)
    for k, t in enumerate(snn.constants):
        expr[n_in + k] = _constant(Fraction(float(t)), n_in)
    # exact sound bounds of every spike time: interval steps, tightened by the lift's bounds
    ivl: dict[int, tuple[Fraction, Fraction]] = {}
    for i in range(n_in):
        ends = sorted(Fraction(float(enc_off[i])) + Fraction(float(enc_sc[i])) * Fraction(float(v)) for v in box[i])
        ivl[i] = (ends[0], ends[1])
    for k, t in enumerate(snn.constants):
        ivl[n_in + k] = (Fraction(float(t)), Fraction(float(t)))
    is_const = np.zeros(snn.n_total, bool)
    is_const[n_in:snn.first_neuron] = True
    last_use = np.zeros(snn.n_total, dtype=np.int64)
    depth = snn.depth
    for s, t in zip(snn.src, snn.dst):
        last_use[s] = max(last_use[s], depth[t])
    last_use[snn.outputs] = depth.max() + 1
    n_gen = int(depth.max())
    for g in range(1, n_gen + 1):
        progress(g - 1, n_gen, f"generation {g}/{n_gen}")
        todo: dict[int, list[Piece]] = {}
        level = np.flatnonzero(depth == g).tolist()
        mixed = [v for v in level if pieces_of[v] is None]
        if mixed:           # static neurons: proven with the lift's bounds of their sources
            srcs = sorted({int(u) for v in mixed for u in snn.src[snn.incoming(v)]})
            lo, hi, _ = lift.bounds([expr[u] for u in srcs])
            for k, u in enumerate(srcs):
                ivl[u] = (max(ivl[u][0], Fraction(float(lo[k]))), min(ivl[u][1], Fraction(float(hi[k]))))
            for v in mixed:
                sl = snn.incoming(v)
                us = [int(u) for u in snn.src[sl]]
                if not _static(snn.weight[sl], snn.delay[sl], snn.threshold(v), [ivl[u][0] for u in us],
                               [ivl[u][1] for u in us]):
                    _refuse(snn, box, f"neuron {snn.names[v]} has mixed weights and no proof that it fires after all inputs")
                pieces_of[v] = [(snn.src[sl], snn.weight[sl], snn.delay[sl], snn.threshold(v))]
        for v in level:
            check(deadline)
            pcs = [_exact_piece(*p) for p in pieces_of[v]]
            ivl[v] = _interval(pcs, ivl)
            if len(pcs) == 1:
                expr[v] = _compose(pcs, expr, lift.m)[0]
            else:
                todo[v] = pcs
        cache: dict[int, tuple[float, float]] = {}
        parts = _prune(todo, expr, lift, cache, is_const) if todo else {}
        while any(len(p) > 1 for p in parts.values()):
            parts = _round(parts, expr, lift, cache, last_use, g)
            cache = {}
        for v, ps in parts.items():
            piece, e = ps[0]
            expr[v] = _compose([piece], expr, lift.m)[0] if piece is not None else cast(Expr, e)
        for u in [u for u in expr if last_use[u] <= g]:
            del expr[u]
    dec_off = snn.decoder.offset if snn.decoder is not None else np.zeros(snn.n_outputs)
    dec_sc = snn.decoder.scale if snn.decoder is not None else np.ones(snn.n_outputs)
    rows = []
    for o, off, s in zip(snn.outputs.tolist(), dec_off.tolist(), dec_sc.tolist()):
        num, den = expr[o]
        so, sc = Fraction(off), Fraction(s)
        shifted = _sub((num, den), _constant(so, lift.m))
        rows.append(_reduce(shifted[0] * sc.denominator, shifted[1] * sc.numerator) if sc > 0 else
                    _reduce(-shifted[0] * sc.denominator, shifted[1] * -sc.numerator))
    _, _, dev = lift.bounds(rows)
    W, b = _floats(rows)
    progress(n_gen, n_gen, "done")
    return ReLUNet(_drop_unused(lift.layers + [(W, b)]), source=f"converted({snn.source})"), dev


#: A partial result of a tournament: ``(piece, None)`` (a combination of spike times) or
#: ``(None, expr)`` (an expression over the current variables).
Part = tuple[Piece | None, Expr | None]


def _nonconstant(e: Expr) -> bool:
    return bool(np.any(e[0][:-1] != 0))


def _prune(todo: dict[int, list[Piece]], expr: dict[int, Expr], lift: _Lift,
           cache: dict[int, tuple[float, float]], is_const: np.ndarray) -> dict[int, list[Part]]:
    """Drop pieces proven ``>=`` another kept piece on the box (one bounds call, which also fills
    ``cache`` with the bounds of every live value); order each minimum's pieces so that the one
    with most weight on non-constant sources is the tournament's first operand."""
    live = [u for u in expr if _nonconstant(expr[u])]
    pairs, rows = [], []
    for v, pcs in todo.items():
        if len(pcs) <= PAIR_LIMIT:
            P = _compose(pcs, expr, lift.m)
            for i in range(len(P)):
                for j in range(i + 1, len(P)):
                    pairs.append((v, i, j))
                    rows.append(_sub(P[i], P[j]))
    lo, hi, _ = lift.bounds([expr[u] for u in live] + rows)
    cache.update({u: (float(lo[k]), float(hi[k])) for k, u in enumerate(live)})
    drop: dict[int, set[int]] = {v: set() for v in todo}
    for k, (v, i, j) in enumerate(pairs):
        if i in drop[v] or j in drop[v]:
            continue
        if lo[len(live) + k] >= 0:          # piece i >= piece j on the box
            drop[v].add(i)
        elif hi[len(live) + k] <= 0:
            drop[v].add(j)
    out: dict[int, list[Part]] = {}
    for v, pcs in todo.items():
        keep = sorted((p for i, p in enumerate(pcs) if i not in drop[v]), key=lambda p: -_mass(p, is_const))
        out[v] = [(p, None) for p in keep]
    return out


def _round(todo: dict[int, list[Part]], expr: dict[int, Expr], lift: _Lift, cache: dict[int, tuple[float, float]],
           last_use: np.ndarray, g: int) -> dict[int, list[Part]]:
    """One tournament layer: ``min(a, b) = a − relu(a − b)`` for every pair of every neuron's
    partial results, with the carries that keep the values needed later (``expr`` is updated)."""
    m = lift.m
    need: set[int] = set()
    xcarry: list[tuple[int, int]] = []          # first operands / leftovers that are not pieces
    for v, parts in todo.items():
        for pos in range(0, len(parts), 2):
            piece, _ = parts[pos]
            if piece is not None:
                need.update(piece[0])
            else:
                xcarry.append((v, pos))
    carry = [u for u in expr if (last_use[u] > g or u in need) and _nonconstant(expr[u])]
    missing = [u for u in carry if u not in cache]
    xexprs = [cast(Expr, todo[v][pos][1]) for v, pos in xcarry]
    xb: list[tuple[float, float]] = []
    if missing or xexprs:
        lo, hi, _ = lift.bounds([expr[u] for u in missing] + xexprs)
        cache.update({u: (float(lo[k]), float(hi[k])) for k, u in enumerate(missing)})
        xb = [(float(lo[len(missing) + k]), float(hi[len(missing) + k])) for k in range(len(xexprs))]
    level = {u: _carry_level(*cache[u]) for u in carry}
    unit_of = {u: r for r, u in enumerate(carry)}
    xlevel = [_carry_level(*b) for b in xb]
    rows = [_shift(expr[u], level[u]) for u in carry] + [_shift(e, L) for e, L in zip(xexprs, xlevel)]
    pieces = [p for parts in todo.values() for p, _ in parts if p is not None]
    at = {id(p): e for p, e in zip(pieces, _compose(pieces, expr, m))} if pieces else {}

    def value(part: Part) -> Expr:
        return at[id(part[0])] if part[0] is not None else cast(Expr, part[1])

    pair_row: dict[tuple[int, int], int] = {}
    for v, parts in todo.items():
        for k in range(0, len(parts) - 1, 2):
            pair_row[(v, k)] = len(rows)
            rows.append(_sub(value(parts[k]), value(parts[k + 1])))
    lift.add(rows)
    m2 = lift.m
    new: dict[int, Expr] = {}
    for u, e in expr.items():
        if u in level:
            new[u] = _unit(unit_of[u], m2, level[u])
        elif not _nonconstant(e) and last_use[u] >= g:
            new[u] = _constant(Fraction(int(e[0][-1]), e[1]), m2)
    expr.clear()
    expr.update(new)
    xrow = {key: (len(carry) + k, xlevel[k]) for k, key in enumerate(xcarry)}

    def again(v: int, pos: int) -> Part:
        """The operand at ``pos`` after the layer."""
        piece, _ = todo[v][pos]
        if piece is not None:
            return piece, None
        r, L = xrow[(v, pos)]
        return None, _unit(r, m2, L)

    out: dict[int, list[Part]] = {}
    for v, parts in todo.items():
        nxt: list[Part] = []
        for k in range(0, len(parts) - 1, 2):
            first = again(v, k)
            a = first[1] if first[0] is None else _compose([first[0]], expr, m2)[0]
            nxt.append((None, _sub(cast(Expr, a), _unit(pair_row[(v, k)], m2))))
        if len(parts) % 2:
            nxt.append(again(v, len(parts) - 1))
        out[v] = nxt
    return out


def _drop_unused(layers: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Remove hidden units that no later layer reads (exact zero weights; the map is unchanged)."""
    layers = list(layers)
    for l in range(len(layers) - 2, -1, -1):
        used = np.any(layers[l + 1][0] != 0, axis=0)
        if not used.all():
            used[int(np.argmax(used))] = True          # keep at least one unit
            W, b = layers[l]
            Wn, bn = layers[l + 1]
            layers[l], layers[l + 1] = (W[used], b[used]), (Wn[:, used], bn)
    return layers
