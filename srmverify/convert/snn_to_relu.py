"""SNN → ReLU conversion for continuous piecewise-linear (CPWL) spiking networks (model.md §4).

Every neuron must be one of:

* **positive weights**: ``t_v = min_S (θ + Σ_{u∈S} w_u a_u) / W_S`` — a minimum of affine *pieces*
  (every piece is ``>= t_v``, so any family containing the realised causal sets is exact). Pieces
  are the nonempty source sets that bounds cannot rule out: sources arriving surely after
  ``t_v`` are never causal, surely-before ones always are, the sets are closed under "surely
  earlier", and a piece whose lower bound exceeds ``t_v``'s upper bound is dropped;
* **static** (any signs): the §3 condition proves the neuron fires after all inputs arrived,
  so its time is one affine piece.

Anything else (mixed weights without the static proof) is refused: with a *witness* of
discontinuity (two close inputs whose exact outputs jump) when one is found, otherwise with the
reason. ``min(a, b) = a − relu(a − b)`` turns each minimum into ReLU layers (a tournament, two
units per pair); values still needed later are carried through a layer as ``relu(e − L) + L``
with ``L`` a sound lower bound. The written ReLU weights are float64: the map is exact up to the
rounding of the composed coefficients (the report gives a sampled deviation).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..bounds.snn import snn_time_bounds
from ..errors import InputError, UnsupportedNetwork
from ..network import SNN, ReLUNet
from ..results import Progress, no_progress
from ..simulate import simulate, simulate_exact
from ..formats.arrays import check_box
from ..settings import DEFAULT


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
    sampled_max_deviation: float
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
                        progress: Progress = no_progress) -> tuple[ReLUNet, SNNToReLUReport]:
    """A ReLU network equal to the CPWL SNN ``snn`` on ``box`` (data space, encoder/decoder folded).

    Raises :class:`UnsupportedNetwork` when a neuron needs more than ``max_pieces`` pieces or the
    network more than ``max_units`` hidden units ("blows up"), and :class:`Discontinuous` (with a
    witness) or :class:`UnsupportedNetwork` for mixed-weight networks that are not provably CPWL.

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
    pieces_of: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    n_pos = n_static = 0
    for v in range(snn.first_neuron, snn.n_total):
        sl = snn.incoming(v)
        src, w, d = snn.src[sl], snn.weight[sl], snn.delay[sl]
        L, U = tlo[src] + d, thi[src] + d
        theta = snn.threshold(v)
        if np.all(w > 0):
            pieces_of[v] = _pieces(src, w, d, theta, L, U, tlo[v], thi[v], max_pieces, snn.names[v], snn.source)
            n_pos += 1
        elif _static(w, theta, L, U):
            pieces_of[v] = [(src, w / w.sum(), d, theta / w.sum())]
            n_static += 1
        else:
            _refuse(snn, box, f"neuron {snn.names[v]} has mixed weights and no proof that it fires after all inputs")
    relu = _build(snn, pieces_of, tlo, max_units, progress)
    X = np.random.default_rng(0).uniform(box[:, 0], box[:, 1], size=(256, snn.n_inputs))
    dev = float(np.max(np.abs(relu.evaluate(X) - simulate(snn, X))))
    counts = [len(p) for p in pieces_of.values()]
    rep = SNNToReLUReport(relu_widths=relu.widths, relu_hidden_units=relu.n_hidden, relu_layers=len(relu.layers),
                          snn_neurons=snn.n_neurons, positive_neurons=n_pos, static_neurons=n_static,
                          pieces=int(sum(counts)), max_pieces=int(max(counts)), sampled_max_deviation=dev,
                          time=time.perf_counter() - t0)
    return relu, rep


def _refuse(snn: SNN, box: np.ndarray, reason: str) -> None:
    w = find_discontinuity(snn, box)
    if w is not None:
        raise Discontinuous(snn.source, w)
    raise UnsupportedNetwork(snn.source, "network", "not CPWL-provable",
                             f"{reason}; no discontinuity found either, so no ReLU network can be written safely")


def _static(w: np.ndarray, theta: float, L: np.ndarray, U: np.ndarray) -> bool:
    """§3: the neuron surely fires after every input arrived (float bounds with a safety margin)."""
    M = U.max()
    rhs = float(np.sum(np.maximum(w, 0) * np.maximum(0.0, M - L)))
    return w.sum() > 0 and theta > rhs + DEFAULT.convert_safety * (1 + abs(rhs) + abs(theta))


def _pieces(src, w, d, theta, L, U, tv_lo, tv_hi, limit, name, source):
    """Candidate causal sets of a positive-weight neuron, as ``(sources, weights/W_S, delays)``."""
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
        out.append((src[S], ws / W, d[S], theta / W))
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


def _build(snn: SNN, pieces_of: dict, tlo: np.ndarray, max_units: int, progress: Progress) -> ReLUNet:
    """Compose the ReLU layers generation by generation (expressions over the current layer)."""
    n_in = snn.n_inputs
    enc_off = snn.encoder.offset if snn.encoder is not None else np.zeros(n_in)
    enc_sc = snn.encoder.scale if snn.encoder is not None else np.ones(n_in)
    # expr[v] = (coef over current variables, const); current variables start as the data x
    n_cur = n_in
    expr: dict[int, tuple[np.ndarray, float]] = {}
    for i in range(n_in):
        c = np.zeros(n_in)
        c[i] = enc_sc[i]
        expr[i] = (c, float(enc_off[i]))
    for k, t in enumerate(snn.constants):
        expr[n_in + k] = (np.zeros(n_in), float(t))
    last_use = np.zeros(snn.n_total, dtype=np.int64)
    depth = snn.depth
    for s, t in zip(snn.src, snn.dst):
        last_use[s] = max(last_use[s], depth[t])
    last_use[snn.outputs] = depth.max() + 1
    layers: list[tuple[np.ndarray, np.ndarray]] = []
    lower = np.floor(tlo) - 1.0                     # carried values: relu(e - L) + L, L a safe lower bound
    n_gen = int(depth.max())
    for g in range(1, n_gen + 1):
        progress(g - 1, n_gen, f"generation {g}/{n_gen}")
        todo: dict[int, list[tuple[np.ndarray, float]]] = {}
        for v in np.flatnonzero(depth == g).tolist():
            exprs = []
            for srcs, ws, ds, th in pieces_of[v]:
                coef = sum(wk * expr[u][0] for u, wk in zip(srcs.tolist(), ws))
                const = th + float(sum(wk * (expr[u][1] + dk) for u, wk, dk in zip(srcs.tolist(), ws, ds)))
                exprs.append((np.asarray(coef, dtype=float), const))
            todo[v] = exprs
        while any(len(e) > 1 for e in todo.values()):
            rows, biases, rebuild = [], [], []
            live = [u for u in expr if last_use[u] >= g]
            for u in live:                          # carry (constants need no unit)
                if np.any(expr[u][0] != 0):
                    rows.append(expr[u][0]); biases.append(expr[u][1] - lower[u])
                    rebuild.append(("carry", u, len(rows) - 1))
                else:
                    rebuild.append(("const", u, expr[u][1]))
            for v, ex in todo.items():
                nxt = []
                for j in range(0, len(ex) - 1, 2):
                    (ca, ka), (cb, kb) = ex[j], ex[j + 1]
                    rows.append(ca); biases.append(ka - lower[v])
                    rows.append(ca - cb); biases.append(ka - kb)
                    nxt.append(("min", len(rows) - 2, len(rows) - 1))
                if len(ex) % 2:
                    rows.append(ex[-1][0]); biases.append(ex[-1][1] - lower[v])
                    nxt.append(("one", len(rows) - 1))
                rebuild.append(("todo", v, nxt))
            if len(rows) > max_units or sum(len(W) for W, _ in layers) + len(rows) > max_units:
                raise UnsupportedNetwork(snn.source, "network", f"> {max_units} ReLU units",
                                         "the ReLU network blows up (raise --max-units)")
            W = np.array(rows)
            layers.append((W, np.array(biases)))
            n_cur = len(rows)
            eye = np.eye(n_cur)
            new_expr = {}
            for item in rebuild:
                if item[0] == "const":
                    new_expr[item[1]] = (np.zeros(n_cur), item[2])
                elif item[0] == "carry":
                    _, u, r = item
                    new_expr[u] = (eye[r].copy(), float(lower[u]))
                else:
                    _, v, nxt = item
                    out = []
                    for it in nxt:
                        if it[0] == "min":
                            out.append((eye[it[1]] - eye[it[2]], float(lower[v])))
                        else:
                            out.append((eye[it[1]].copy(), float(lower[v])))
                    todo[v] = out
            expr = new_expr
        for v, ex in todo.items():
            expr[v] = ex[0]
    dec_off = snn.decoder.offset if snn.decoder is not None else np.zeros(snn.n_outputs)
    dec_sc = snn.decoder.scale if snn.decoder is not None else np.ones(snn.n_outputs)
    Wout = np.array([expr[o][0] / s for o, s in zip(snn.outputs.tolist(), dec_sc)])
    bout = np.array([(expr[o][1] - off) / s for o, off, s in zip(snn.outputs.tolist(), dec_off, dec_sc)])
    layers.append((Wout.reshape(snn.n_outputs, n_cur), bout))
    progress(n_gen, n_gen, "done")
    return ReLUNet(layers, source=f"converted({snn.source})")
