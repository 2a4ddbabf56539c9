"""Exact ReLU → SNN conversion on an input box (model.md §4).

Construction (every written parameter is a float64 and the realised map equals the ReLU network
*exactly* on the box — error bound 0, no rounding anywhere):

* Input ``j`` is encoded as the spike time ``T_j + x_j`` (encoder scale 1, integer offset ``T_j``
  making every time ``>= 0``).
* Every pre-activation ``z`` is an **affine neuron** firing at ``T_z + z`` with an *integer*
  offset ``T_z``. Its synapses: weight ``W_j`` from the spike of an active-stable ``h_j``;
  ``2W_j`` / ``−2W_j`` from the value / kink spikes of an unstable ``h_j`` (``h = 2(s_z + c − t_A)``);
  nothing for a dead-stable unit; plus *reference* synapses from constant neurons firing at 0.
  The reference weights make the weights sum to **exactly** 1: their exact remainder ``1 − Σ w`` (a
  dyadic rational) is written as a short sum of floats (a float expansion), one synapse per term,
  with delay ``d`` (a group) or ``d + 1`` (a second group whose weights sum to the fractional part
  needed to make ``T_z`` an integer). ``d`` is an integer close to the earliest input arrival, so
  thresholds stay small. The threshold is an integer at least 1 above the exact §3 bound, so the
  neuron fires after every input arrived and ``t = θ + Σ w_k t_k`` exactly. The §3 bound is
  evaluated with *SNN-side* interval bounds of the arrival times (looser than the ReLU-side
  bounds, so the certificate's check holds too), which lets SNN-only tools such as
  :func:`srmverify.convert.convert_snn_to_relu` re-prove that the neuron is affine.
* Every ReLU not *proven* stable gets a **kink neuron** (proofs: exact interval arithmetic, or an
  exact back-substitution for the units a float bounds method claims stable — see
  :func:`.exact.exact_interval_bounds`): weight 1 from ``z``'s
  spike (delay 0) and from a reference (integer delay ``D = T_z + c``), threshold the integer
  ``c >= max(1, u/2)``; it fires at ``T_z + c + z − max(0, z)/2`` on ``z <= 2c``.
* Output neurons are affine neurons; the decoder subtracts their integer offsets (scale 1).

All exact arithmetic uses :mod:`.dyadic` (Python integers over powers of two). Integers written
as floats must stay below ``2**53`` — checked, otherwise :class:`UnsupportedNetwork`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..bounds import relu_preactivation_bounds
from ..bounds.relu import METHODS
from ..errors import InputError, SrmverifyError, UnsupportedNetwork
from ..formats.arrays import check_box
from ..network import SNN, Affine, ReLUNet
from ..results import Progress, no_progress
from .dyadic import Dyadic, float_expansion
from .exact import affine_terms, exact_interval_bounds, sum_bounds

#: Largest integer offset/threshold written (exactly representable, with room for the values).
MAX_EXACT_INT = 2 ** 50

#: ``bounds="best"``: the float method whose stability claims exact back-substitution (same
#: relaxation family) can usually confirm. Whatever the method, a ReLU is treated as stable only
#: when exact interval arithmetic or an exact back-substitution proof confirms it, so every
#: conversion stays exact and certifiable; the float method only proposes candidates.
BEST = "symbolic"


@dataclass
class Correspondence:
    """Which SNN neuron stands for which ReLU quantity (names of SNN neurons).

    ``value[l][i]``: the neuron firing at ``T + z^l_i``; ``kink[l][i]``: the kink neuron of hidden
    unit ``i`` of layer ``l`` or ``None`` (stable unit). Layers are 0-based here.
    """

    value: list[list[str]]
    kink: list[list[str | None]]

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "kink": self.kink}

    @classmethod
    def from_dict(cls, d: Any, source: str = "<certificate>") -> "Correspondence":
        if not isinstance(d, dict) or not isinstance(d.get("value"), list) or not isinstance(d.get("kink"), list):
            raise InputError(source, "correspondence", type(d).__name__, 'needs lists "value" and "kink"')
        for key in ("value", "kink"):
            bad = next((i for i, row in enumerate(d[key]) if not isinstance(row, list)), None)
            if bad is not None:
                raise InputError(source, f"correspondence.{key}[{bad}]", d[key][bad], "must be a list of neuron names")
        return cls([[str(n) for n in row] for row in d["value"]],
                   [[None if n is None else str(n) for n in row] for row in d["kink"]])

    @classmethod
    def from_names(cls, snn: SNN, relu: ReLUNet) -> "Correspondence":
        """The correspondence of a network written by :func:`convert_relu_to_snn` (neurons
        ``z{l}_{i}`` and ``k{l}_{i}``, 1-based layers); missing names become ``None``/reported
        by the certificate."""
        names = set(snn.names)
        value = [[f"z{l + 1}_{i}" for i in range(W.shape[0])] for l, (W, _) in enumerate(relu.layers)]
        kink = [[f"k{l + 1}_{i}" if f"k{l + 1}_{i}" in names else None for i in range(W.shape[0])]
                for l, (W, _) in enumerate(relu.layers[:-1])]
        return cls(value, kink)


@dataclass
class ConversionReport:
    """Sizes and facts of one conversion (``to_dict`` for JSON)."""

    bounds_method: str
    relu_widths: list[int]
    relu_neurons: int
    stable_active: int
    stable_dead: int
    unstable: int
    snn_neurons: int
    snn_synapses: int
    snn_depth: int
    snn_constants: int
    kink_neurons: int
    neurons_per_relu_neuron: float
    max_threshold: float
    max_offset: float
    stable_claimed: int = 0
    stable_proven: int = 0
    error_bound: float = 0.0
    rounding: str = ("exact: every parameter is a float64 chosen so that the realised map equals the ReLU "
                     "network exactly (integer offsets/thresholds/delays, weights W, 2W, -2W, reference "
                     "weights written as exact float expansions); error bound 0")
    time: float = 0.0
    correspondence: Correspondence | None = None
    bounds: list[tuple[list[float], list[float]]] = field(default_factory=list)

    def to_dict(self, full: bool = False) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in (
            "bounds_method", "relu_widths", "relu_neurons", "stable_active", "stable_dead", "unstable",
            "snn_neurons", "snn_synapses", "snn_depth", "snn_constants", "kink_neurons",
            "neurons_per_relu_neuron", "max_threshold", "max_offset", "stable_claimed", "stable_proven",
            "error_bound", "rounding", "time")}
        if full:
            d["correspondence"] = self.correspondence.to_dict() if self.correspondence else None
            d["bounds"] = self.bounds
        return d


def resolve_bounds_method(bounds: str) -> str:
    """``"best"`` → :data:`BEST`; otherwise a name registered in ``srmverify.bounds.relu.METHODS``."""
    if bounds == "best":
        return BEST if BEST in METHODS else "interval"
    if bounds not in METHODS:
        raise InputError("<arguments>", "bounds", bounds, f"choose from {['best'] + sorted(METHODS)}")
    return bounds


def _ints_to_floats(x: np.ndarray, what: str) -> np.ndarray:
    """Python ints (object array) -> float64, refusing values that would not be exact."""
    if x.size and max(abs(int(v)) for v in x.reshape(-1)) > MAX_EXACT_INT:
        raise UnsupportedNetwork("<conversion>", what, "> 2**50",
                                 "spike-time offsets too large to be written exactly as floats (shrink the box?)")
    return np.array([float(int(v)) for v in x.reshape(-1)], dtype=float).reshape(x.shape)


def convert_relu_to_snn(relu: ReLUNet, box: Any, *, bounds: str = "best",
                        progress: Progress = no_progress) -> tuple[SNN, ConversionReport]:
    """Convert a ReLU network into an SNN that computes exactly the same map on ``box``.

    Parameters
    ----------
    relu : the ReLU network.
    box : ``(n_inputs, 2)`` input box ``[lo, hi]`` (data space; any sign).
    bounds : ``"best"`` (:data:`BEST`) or a method of :func:`srmverify.bounds.relu_preactivation_bounds`
        (``"interval"``, ``"symbolic"``, ``"lp"``) proposing stable ReLUs; each proposal is kept only
        if an exact proof confirms it (see :func:`.exact.exact_interval_bounds`).
    progress : ``progress(done, total, message)`` callback.

    Returns
    -------
    (snn, report). ``srmverify.simulate(snn, x)`` equals ``relu.evaluate(x)`` for ``x`` in the box
    (exactly under :func:`srmverify.simulate_exact`).

    Examples
    --------
    >>> from srmverify.simulate import simulate_exact, relu_exact
    >>> relu = ReLUNet([([[1.0, -1.0], [0.5, 2.0]], [0.0, -1.0]), ([[1.0, -3.0]], [0.25])])
    >>> snn, rep = convert_relu_to_snn(relu, [[-1, 1], [-1, 1]])
    >>> rep.unstable, rep.kink_neurons, snn.n_neurons
    (2, 2, 5)
    >>> simulate_exact(snn, [0.5, -0.25]) == relu_exact(relu, [0.5, -0.25])
    True
    """
    t0 = time.perf_counter()
    if not isinstance(relu, ReLUNet):
        raise InputError(getattr(relu, "source", "<arguments>"), "network", type(relu).__name__,
                         "ReLU→SNN conversion needs a ReLU network")
    box = check_box(box, relu.n_inputs)
    method = resolve_bounds_method(bounds)
    tight = None if method == "interval" else relu_preactivation_bounds(relu, box, method)
    claimed = 0

    def candidates(l: int, lo: Dyadic, hi: Dyadic) -> np.ndarray:
        """The float method's stability claims as sign hints (+1 active, -1 dead)."""
        nonlocal claimed
        if tight is None:      # no float method: no claims (and then this is never called)
            return np.zeros(lo.shape, dtype=int)
        zero = Dyadic.zeros(lo.shape)
        unstable = (lo.cmp(zero) < 0) & (hi.cmp(zero) > 0)
        hint = np.where(tight[l][0] >= 0, 1, np.where(tight[l][1] <= 0, -1, 0))
        claimed += int(np.sum(unstable & (hint != 0)))
        return hint

    exact, proofs = exact_interval_bounds(relu, box, candidates if tight is not None else None)
    n_layers = len(relu.layers)

    # input sources: spike = off + x, off an integer making every input time >= 0
    lo, hi = Dyadic.from_floats(box[:, 0]), Dyadic.from_floats(box[:, 1])
    off = np.maximum(0, -lo.floor()).astype(object)             # ceil(-lo), at least 0
    Cs = Dyadic.from_ints(off)
    Ca = Dyadic.zeros((0,))
    Ln, Un = Cs + lo, Cs + hi       # SNN-side interval bounds of the spike times
    Lan = Uan = Dyadic.zeros((0,))
    kink_units = np.zeros(0, dtype=np.int64)
    status = np.zeros(0, dtype=np.int64)   # previous layer's ReLU status, set at the end of each layer
    layers_out = []       # per layer: dict with value rows and kink rows (local descriptions)
    n_const = 1
    stats = {"active": 0, "dead": 0, "unstable": 0}
    for l, (W, b) in enumerate(relu.layers):
        progress(l, n_layers, f"layer {l + 1}/{n_layers}")
        n, m = W.shape
        if l == 0:
            Gs, Ga = W.copy(), np.zeros((n, 0))
        else:
            mult = np.where(status == 1, 1.0, np.where(status == 0, 2.0, 0.0))
            Gs = W * mult
            Ga = -2.0 * W[:, kink_units]
        if not (np.all(np.isfinite(Gs)) and np.all(np.isfinite(Ga))):
            raise UnsupportedNetwork(relu.source, f"layers[{l}].weights", "huge", "2*W overflows float64")
        Gsd, Gad = Dyadic.from_floats(Gs), Dyadic.from_floats(Ga)
        gsum = (Gsd.sum(axis=1) + Gad.sum(axis=1)).fractions()
        gC = (Gsd.dot(Cs) + Gad.dot(Ca)).fractions()
        d = max(0, int(Ln.floor().min())) if m else 0
        bq = [Fraction(v) for v in b.tolist()]
        A_terms, B_terms = [], []
        for i in range(n):
            R = 1 - gsum[i]
            q = R * d - bq[i] + gC[i]
            f = Fraction(q.__floor__()) - q
            A_terms.append(float_expansion(R - f))
            B_terms.append(float_expansion(f))
        K = max(len(a) + len(bt) for a, bt in zip(A_terms, B_terms))
        n_const = max(n_const, K)
        Wc = np.zeros((n, K))
        Dc = np.zeros((n, K))
        Pc = np.zeros((n, K), dtype=bool)
        for i in range(n):
            a, bt = A_terms[i], B_terms[i]
            Wc[i, :len(a)], Dc[i, :len(a)], Pc[i, :len(a)] = a, float(d), True
            Wc[i, len(a):len(a) + len(bt)], Dc[i, len(a):len(a) + len(bt)], Pc[i, len(a):len(a) + len(bt)] = bt, float(d + 1), True
        Wfull = np.hstack([Gs, Ga, Wc])
        Pfull = np.hstack([Gs != 0, Ga != 0, Pc])
        Dfull = np.hstack([np.zeros_like(Gs), np.zeros_like(Ga), Dc])
        zeroK = Dyadic.zeros((K,))
        Lcat, Ucat = Dyadic.concat(Ln, Lan, zeroK), Dyadic.concat(Un, Uan, zeroK)
        wsum, rhs, csum = affine_terms(Wfull, Dfull, Pfull, Lcat, Ucat, Dyadic.concat(Cs, Ca, zeroK))
        if np.any(wsum.cmp(Dyadic.from_ints(np.ones(n, dtype=object))) != 0):
            raise SrmverifyError("internal: conversion weights do not sum to 1")  # pragma: no cover
        theta = np.maximum(rhs.floor() + 2, 1).astype(object)   # slack >= 1 above the bound
        Tz = Dyadic.from_ints(theta) + csum - Dyadic.from_floats(b)
        if Tz.exp < 0 and np.any(np.asarray(Tz.n % (1 << -Tz.exp), dtype=object) != 0):
            raise SrmverifyError("internal: conversion offsets are not integers")  # pragma: no cover
        Tz_int = Tz.floor()
        lz, uz = exact[l]
        value = {"W": Wfull, "D": Dfull, "P": Pfull, "theta": _ints_to_floats(theta, f"layer {l + 1} thresholds"),
                 "T": _ints_to_floats(Tz_int, f"layer {l + 1} offsets"), "m": m, "K": K,
                 "kink_units": kink_units}
        Tzd = Dyadic.from_ints(Tz_int)
        Cs = Tzd
        th_d = Dyadic.from_ints(theta)
        slo, shi = sum_bounds(Wfull, Dfull, Lcat, Ucat)
        Ln, Un = th_d + slo, th_d + shi
        kinks = None
        if l < n_layers - 1:
            status = _status(lz, uz)   # 1 active, -1 dead, 0 unstable
            for k, key in ((1, "active"), (-1, "dead"), (0, "unstable")):
                stats[key] += int(np.sum(status == k))
            kink_units = np.flatnonzero(status == 0)
            uk = uz[kink_units]
            c = np.maximum(np.maximum(-((-uk).half().floor()), 1), -Tz_int[kink_units]).astype(object)
            cd = Dyadic.from_ints(c)
            Ca = Tzd[kink_units] + cd
            Lan, Uan = _kink_time(Ln[kink_units], cd, Ca), _kink_time(Un[kink_units], cd, Ca)
            kinks = {"units": kink_units, "c": _ints_to_floats(c, f"layer {l + 1} kink thresholds"),
                     "D": _ints_to_floats(Ca.floor(), f"layer {l + 1} kink delays")}
        layers_out.append((value, kinks))
    progress(n_layers, n_layers, "building the SNN")
    snn, corr = _assemble(relu, layers_out, n_const, off)
    n_relu = sum(W.shape[0] for W, _ in relu.layers)
    report = ConversionReport(
        bounds_method=method, relu_widths=relu.widths, relu_neurons=n_relu,
        stable_active=stats["active"], stable_dead=stats["dead"], unstable=stats["unstable"],
        snn_neurons=snn.n_neurons, snn_synapses=snn.n_synapses, snn_depth=int(snn.depth.max()),
        snn_constants=snn.n_constants, kink_neurons=stats["unstable"],
        neurons_per_relu_neuron=snn.n_neurons / n_relu,
        max_threshold=float(snn.thresholds.max()),
        max_offset=float(max(np.max(v["T"]) for v, _ in layers_out)),
        time=time.perf_counter() - t0, correspondence=corr,
        bounds=[([float(f) for f in lo_.fractions()], [float(f) for f in hi_.fractions()]) for lo_, hi_ in exact],
        stable_claimed=claimed, stable_proven=sum(len(p) for p in proofs),
    )
    return snn, report



def _kink_time(a: Dyadic, c: Dyadic, ref: Dyadic) -> Dyadic:
    """Firing time of kink neurons (weights 1, threshold ``c``) for value arrival ``a`` and reference
    arrival ``ref``: ``min(a + c, (a + ref + c)/2, ref + c)`` (exact, elementwise)."""
    t1, t2, t3 = a + c, (a + ref + c).half(), ref + c
    m = t1.where(t1.cmp(t2) <= 0, t2)
    return m.where(m.cmp(t3) <= 0, t3)


def _status(lz: Dyadic, uz: Dyadic) -> np.ndarray:
    """1 = proven active (l >= 0), -1 = proven dead (u <= 0), 0 = unstable."""
    zero = Dyadic.zeros(lz.shape)
    active = lz.cmp(zero) >= 0
    dead = uz.cmp(zero) <= 0
    return np.where(active, 1, np.where(dead, -1, 0))


def _assemble(relu: ReLUNet, layers_out: list, n_const: int, off: np.ndarray) -> tuple[SNN, Correspondence]:
    """Global ids, names and synapse arrays from the per-layer descriptions."""
    n_in = relu.n_inputs
    names = [f"x{j}" for j in range(n_in)] + [f"r{k}" for k in range(n_const)]
    nxt = n_in + n_const
    prev_value = np.arange(n_in)
    prev_kink = np.zeros(0, dtype=np.int64)
    src, dst, wt, dl, th = [], [], [], [], []
    value_names: list[list[str]] = []
    kink_names: list[list[str | None]] = []
    for l, (v, kinks) in enumerate(layers_out):
        n = v["W"].shape[0]
        ids = np.arange(nxt, nxt + n)
        nxt += n
        names += [f"z{l + 1}_{i}" for i in range(n)]
        value_names.append([f"z{l + 1}_{i}" for i in range(n)])
        cols = np.concatenate([prev_value, prev_kink, n_in + np.arange(v["K"])])
        r, c = np.nonzero(v["P"])
        src.append(cols[c]); dst.append(ids[r]); wt.append(v["W"][r, c]); dl.append(v["D"][r, c])
        th.append(v["theta"])
        prev_value, prev_kink = ids, np.zeros(0, dtype=np.int64)
        if kinks is not None:
            units = kinks["units"]
            kid = np.arange(nxt, nxt + len(units))
            nxt += len(units)
            names += [f"k{l + 1}_{i}" for i in units]
            row: list[str | None] = [None] * n
            for i in units:
                row[i] = f"k{l + 1}_{i}"
            kink_names.append(row)
            src += [ids[units], np.full(len(units), n_in)]
            dst += [kid, kid]
            wt += [np.ones(len(units)), np.ones(len(units))]
            dl += [np.zeros(len(units)), kinks["D"]]
            th.append(kinks["c"])
            prev_kink = kid
    last = layers_out[-1][0]
    snn = SNN(n_in, np.zeros(n_const), np.concatenate(th), np.concatenate(src), np.concatenate(dst),
              np.concatenate(wt), np.concatenate(dl), prev_value, tuple(names),
              encoder=Affine(np.array([float(int(o)) for o in off]), np.ones(n_in)),
              decoder=Affine(last["T"], np.ones(len(last["T"]))), source=f"converted({relu.source})")
    return snn, Correspondence(value_names, kink_names)
