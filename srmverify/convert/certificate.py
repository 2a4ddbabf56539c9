"""Compositional equivalence certificate: SNN ≡ ReLU network on a box, checked neuron by neuron.

The proof (model.md §4), all in exact dyadic arithmetic (no solver, no rounding):

1. **Bounds.** Exact interval bounds ``[l, u]`` of every pre-activation over the box are
   re-derived from scratch (sound by construction). A hidden unit without a kink neuron that
   intervals do not prove stable must be proven stable by an exact back-substitution to the input
   box (:func:`.exact.prove_sign`); a proven sign tightens its bound for the layers above.
2. **Affine neurons** (one per pre-activation ``z^l_i``; layer by layer). Its incoming synapses
   may come only from the previous layer's value neurons (or the inputs), its kink neurons and
   constant neurons. Checked: the weights sum to exactly 1; the threshold exceeds the §3 bound
   ``Σ_{w>0} w (M − L_k)`` computed from the arrival bounds (so it fires after every input
   arrived and ``t = θ + Σ w_k a_k``); the weight on every source equals what the ReLU weight
   requires (``w·scale = W`` on inputs, ``W`` on an active-stable unit, ``2W``/``−2W`` on the
   value/kink spikes of a unit with a kink neuron, ``0`` on a dead unit; a unit the bounds do not
   prove stable must have a kink neuron). Then the neuron fires at ``T + z`` for every input in the
   box, with the exact offset ``T = θ + Σ w (C + d) − b``.
3. **Kink neurons**: exactly two synapses of equal power-of-two weight ``w`` from the unit's value
   neuron and from a constant neuron, threshold ``θ``; with ``c = θ/w`` the reference arrives
   exactly ``c`` after the value's offset (kink at ``z = 0``) and ``u <= 2c`` (other kink outside
   the range); then it fires at ``T + d + c + z − max(0, z)/2``.
4. **Outputs**: the output neurons are the last layer's affine neurons, and the decoder has scale
   1 and offset exactly ``T``.

By induction over the layers every output equals the ReLU output on the whole box. Cost: a few
exact products per synapse (linear in the network size). :func:`check_certificate` re-runs the
proof and also compares every stored number (bounds, offsets, thresholds bounds) with the
recomputed one.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import InputError
from ..formats.files import atomic_write, read_json
from ..network import SNN, ReLUNet
from ..results import Progress, no_progress
from .dyadic import Dyadic
from .exact import affine_terms, exact_interval_bounds
from ..formats.arrays import check_box
from .relu_to_snn import Correspondence

FORMAT = "srmverify-equivalence-certificate/1"


@dataclass
class Failure:
    """One failed check: which check, which neuron (or synapse), and the exact numbers."""

    check: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.check} failed at {self.where}: {self.detail}"


@dataclass
class Certificate:
    """Outcome of a compositional equivalence check (``to_dict`` is the JSON certificate)."""

    accepted: bool
    box: list[list[float]]
    correspondence: Correspondence
    failures: list[Failure] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    checks: int = 0
    time: float = 0.0
    snn_neurons: int = 0
    snn_synapses: int = 0

    @property
    def verdict(self) -> str:
        return "accepted" if self.accepted else "rejected"

    @property
    def first_failure(self) -> Failure | None:
        return self.failures[0] if self.failures else None

    def summary(self) -> dict[str, Any]:
        """The verdict without the per-neuron data."""
        return {"verdict": self.verdict, "accepted": self.accepted, "checks": self.checks, "time": self.time,
                "snn_neurons": self.snn_neurons, "snn_synapses": self.snn_synapses,
                "failures": [vars(f) for f in self.failures[:20]], "n_failures": len(self.failures),
                "first_failure": str(self.failures[0]) if self.failures else None}

    def to_dict(self) -> dict[str, Any]:
        d = {"format": FORMAT, "version": 1, **self.summary(), "box": self.box,
             "correspondence": self.correspondence.to_dict(), "layers": self.layers,
             "method": "exact dyadic arithmetic; bounds by exact interval propagation; model.md §3-§4"}
        return d


class _Run:
    """Collects failures and the stored per-layer data while checking."""

    def __init__(self) -> None:
        self.failures: list[Failure] = []
        self.checks = 0

    def require(self, ok: np.ndarray, check: str, where, detail) -> bool:
        """``ok`` (bool array); records the first violated entry (``where(i)``/``detail(i)``)."""
        ok = np.asarray(ok, dtype=bool).reshape(-1)
        self.checks += ok.size
        bad = np.flatnonzero(~ok)
        for i in bad[:5]:
            self.failures.append(Failure(check, where(int(i)), detail(int(i))))
        return bad.size == 0


def _s(f: Fraction) -> str:
    return str(f)


def certify(snn: SNN, relu: ReLUNet, box: Any, correspondence: Correspondence | None = None,
            *, progress: Progress = no_progress) -> Certificate:
    """Check that ``snn`` computes exactly ``relu`` on ``box`` (see the module docstring).

    Returns a :class:`Certificate` (``accepted`` or rejected with the failed checks named).
    Incompatible inputs (sizes, names) are rejections too, not errors.

    Examples
    --------
    >>> from srmverify.convert import convert_relu_to_snn
    >>> relu = ReLUNet([([[1.0, -1.0], [0.5, 2.0]], [0.0, -1.0]), ([[1.0, -3.0]], [0.25])])
    >>> snn, _ = convert_relu_to_snn(relu, [[-1, 1], [-1, 1]])
    >>> certify(snn, relu, [[-1, 1], [-1, 1]]).verdict
    'accepted'
    >>> w = snn.weight.copy(); w[0] += 2 ** -40
    >>> str(certify(snn.with_(weight=w), relu, [[-1, 1], [-1, 1]]).first_failure).split(":")[0]
    'weights sum to 1 failed at z1_0'
    """
    t0 = time.perf_counter()
    box = check_box(box, relu.n_inputs)
    corr = correspondence or Correspondence.from_names(snn, relu)
    cert = Certificate(False, box.tolist(), corr, snn_neurons=snn.n_neurons, snn_synapses=snn.n_synapses)
    run = _Run()
    try:
        _prove(snn, relu, box, corr, run, cert.layers, progress)
    finally:
        cert.failures, cert.checks = run.failures, run.checks
        cert.accepted = not run.failures
        cert.time = time.perf_counter() - t0
    return cert


class _Stop(Exception):
    """Structural failure: later checks are meaningless."""


def _ids(snn: SNN, corr: Correspondence, relu: ReLUNet, run: _Run) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Global ids of the value/kink neurons (kink id -1 = none); structural failures stop."""
    index = {n: i for i, n in enumerate(snn.names)}
    widths = [W.shape[0] for W, _ in relu.layers]

    def fail(check, where, detail):
        run.failures.append(Failure(check, where, detail))
        raise _Stop

    if snn.n_inputs != relu.n_inputs:
        fail("shape", "inputs", f"SNN has {snn.n_inputs} inputs, ReLU network {relu.n_inputs}")
    if len(corr.value) != len(widths) or [len(r) for r in corr.value] != widths:
        fail("correspondence", "value", f"expected layers of widths {widths}")
    if len(corr.kink) != len(widths) - 1 or [len(r) for r in corr.kink] != widths[:-1]:
        fail("correspondence", "kink", f"expected hidden layers of widths {widths[:-1]}")
    value, kink, seen = [], [], set()
    for l in range(len(widths)):
        ids = []
        for i, name in enumerate(corr.value[l]):
            if name not in index or index[name] < snn.first_neuron:
                fail("correspondence", f"value[{l}][{i}]", f"{name!r} is not a computing neuron of the SNN")
            ids.append(index[name])
        value.append(np.array(ids, dtype=np.int64))
        if l < len(widths) - 1:
            kid = []
            for i, kname in enumerate(corr.kink[l]):
                if kname is not None and (kname not in index or index[kname] < snn.first_neuron):
                    fail("correspondence", f"kink[{l}][{i}]", f"{kname!r} is not a computing neuron of the SNN")
                kid.append(-1 if kname is None else index[kname])
            kink.append(np.array(kid, dtype=np.int64))
    for arr in value + kink:
        for v in arr[arr >= 0].tolist():
            if v in seen:
                fail("correspondence", snn.names[v], "neuron used twice")
            seen.add(v)
    extra = sorted(set(range(snn.first_neuron, snn.n_total)) - seen)
    if extra:
        fail("correspondence", snn.names[extra[0]], "SNN neuron not accounted for by the correspondence")
    if snn.n_outputs != widths[-1] or not np.array_equal(snn.outputs, value[-1]):
        fail("outputs", "outputs", "the SNN outputs must be the last layer's value neurons, in order")
    return value, kink


def _prove(snn: SNN, relu: ReLUNet, box: np.ndarray, corr: Correspondence, run: _Run,
           stored: list, progress: Progress) -> None:
    try:
        value, kink = _ids(snn, corr, relu, run)
    except _Stop:
        return
    names = snn.names
    n_layers = len(relu.layers)
    bounds, proofs = exact_interval_bounds(relu, box, lambda l, lo, hi: _claims(snn, value, kink, l))
    # input sources: t = off + scale * x
    enc_off = snn.encoder.offset if snn.encoder is not None else np.zeros(snn.n_inputs)
    enc_sc = snn.encoder.scale if snn.encoder is not None else np.ones(snn.n_inputs)
    lo, hi = Dyadic.from_floats(box[:, 0]), Dyadic.from_floats(box[:, 1])
    sc = Dyadic.from_floats(enc_sc)
    Cs = Dyadic.from_floats(enc_off)
    a, b = Cs + sc * lo, Cs + sc * hi
    neg = enc_sc < 0
    Ls, Us = a.where(~neg, b), b.where(~neg, a)
    src_ids = np.arange(snn.n_inputs)
    k_ids = np.zeros(0, dtype=np.int64)
    k_units = np.zeros(0, dtype=np.int64)
    Ca = La = Ua = Dyadic.zeros((0,))
    const_ids = np.arange(snn.n_inputs, snn.first_neuron)
    Cc = Dyadic.from_floats(snn.constants)
    col_of = np.full(snn.n_total, -1, dtype=np.int64)
    for l, (W, bias) in enumerate(relu.layers):
        progress(l, n_layers, f"layer {l + 1}/{n_layers}")
        n, m = W.shape
        ids = value[l]
        # ---- gather the layer's incoming synapses into dense matrices
        col_of[:] = -1
        col_of[src_ids] = np.arange(m)
        col_of[k_ids] = m + np.arange(len(k_ids))
        col_of[const_ids] = m + len(k_ids) + np.arange(len(const_ids))
        ncol = m + len(k_ids) + len(const_ids)
        row_of = np.full(snn.n_total, -1, dtype=np.int64)
        row_of[ids] = np.arange(n)
        mask = row_of[snn.dst] >= 0
        s_src, s_dst = snn.src[mask], snn.dst[mask]
        cols = col_of[s_src]
        if not run.require(cols >= 0, "synapse source", lambda i: f"{names[s_src[i]]}->{names[s_dst[i]]}",
                           lambda i: "comes from a neuron that is not a previous-layer value/kink neuron, input or constant"):
            return
        rows = row_of[s_dst]
        Wm, Dm, Pm = np.zeros((n, ncol)), np.zeros((n, ncol)), np.zeros((n, ncol), dtype=bool)
        Wm[rows, cols], Dm[rows, cols], Pm[rows, cols] = snn.weight[mask], snn.delay[mask], True
        L = Dyadic.concat(Ls, La, Cc)
        U = Dyadic.concat(Us, Ua, Cc)
        C = Dyadic.concat(Cs, Ca, Cc)
        wsum, rhs, csum = affine_terms(Wm, Dm, Pm, L, U, C)
        theta = Dyadic.from_floats(snn.thresholds[ids - snn.first_neuron])
        one = Dyadic.from_ints(np.ones(n, dtype=object))
        nm = lambda i: names[ids[i]]  # noqa: E731
        ok = run.require(wsum.cmp(one) == 0, "weights sum to 1", nm, lambda i: f"sum = {wsum.fraction(i)}")
        ok &= run.require(theta.cmp(rhs) > 0, "threshold above the §3 bound (fires after all inputs)", nm,
                          lambda i: f"theta = {theta.fraction(i)} <= bound {rhs.fraction(i)}")
        # ---- coefficients
        Ws, Wa = Wm[:, :m], Wm[:, m:m + len(k_ids)]
        if l == 0:
            lhs = Dyadic.from_floats(Ws) * Dyadic(sc.n[None, :], sc.exp)
            ok &= run.require(lhs.cmp(Dyadic.from_floats(W)) == 0, "input weight * encoder scale = W",
                              lambda i: f"{names[src_ids[i % m]]}->{names[ids[i // m]]}",
                              lambda i: f"w*scale = {lhs.fraction(np.unravel_index(i, lhs.shape))}, "
                                        f"W = {Fraction(W.flat[i])}")
        else:
            lz, uz = bounds[l - 1]
            zero = Dyadic.zeros((m,))
            active, dead = lz.cmp(zero) >= 0, uz.cmp(zero) <= 0
            has_k = np.zeros(m, dtype=bool)
            has_k[k_units] = True
            exp_s = np.where(has_k, 2.0 * W, np.where(active, W, 0.0))
            exp_a = -2.0 * W[:, k_units]
            ok &= run.require((Ws == exp_s) | ~np.isfinite(exp_s), "value-spike weight matches W",
                              lambda i: f"{names[src_ids[i % m]]}->{names[ids[i // m]]}",
                              lambda i: f"weight {Ws.flat[i]!r}, required {exp_s.flat[i]!r} "
                                        f"({'kink unit: 2W' if has_k[i % m] else 'active: W' if active[i % m] else 'dead: 0'})")
            ok &= run.require(np.isfinite(exp_s), "weight 2W representable", nm, lambda i: "2W overflows")
            if len(k_units):
                ok &= run.require(Wa == exp_a, "kink-spike weight = -2W",
                                  lambda i: f"{names[k_ids[i % len(k_ids)]]}->{names[ids[i // len(k_ids)]]}",
                                  lambda i: f"weight {Wa.flat[i]!r}, required {exp_a.flat[i]!r}")
            unused = (W == 0) | active[None, :] | dead[None, :] | has_k[None, :]
            ok &= run.require(unused, "unit proven stable or has a kink neuron",
                              lambda i: f"layer {l} unit {i % m} (used by {names[ids[i // m]]})",
                              lambda i: f"bounds [{lz.fraction(i % m)}, {uz.fraction(i % m)}] cross 0 and there is no kink neuron")
        if not ok:
            return
        T = theta + csum - Dyadic.from_floats(bias)
        lz, uz = bounds[l]
        layer_rec = {"layer": l + 1, "neurons": [names[v] for v in ids],
                     "offset": [_s(f) for f in T.fractions()], "threshold_bound": [_s(f) for f in rhs.fractions()],
                     "lower": [_s(f) for f in lz.fractions()], "upper": [_s(f) for f in uz.fractions()],
                     "stability_proofs": {str(u): k for u, k in proofs[l].items()}}
        stored.append(layer_rec)
        Cs, Ls, Us = T, T + lz, T + uz
        src_ids = ids
        if l == n_layers - 1:
            _check_outputs(snn, T, run, names, ids)
            progress(n_layers, n_layers, "done")
            return
        # ---- kink neurons of this layer
        k_units = np.flatnonzero(kink[l] >= 0)
        k_ids = kink[l][k_units]
        kappa = _check_kinks(snn, run, names, ids, k_units, k_ids, T, uz, layer_rec)
        if kappa is None:
            return
        Ca = T[k_units] + kappa
        La = Ca + lz[k_units] - lz[k_units].pos().half()
        Ua = Ca + uz[k_units] - uz[k_units].pos().half()


def _claims(snn: SNN, value: list[np.ndarray], kink: list[np.ndarray], l: int) -> np.ndarray:
    """Stability claims implied by the SNN for hidden layer ``l``: a unit without a kink neuron whose
    spike feeds the next layer with a nonzero weight claims "active" (+1), else "dead" (-1); units with
    a kink neuron claim nothing (0). Only a hint: each claim is proven exactly or the check fails."""
    feeds = np.isin(snn.src, value[l]) & np.isin(snn.dst, value[l + 1]) & (snn.weight != 0)
    used = np.isin(value[l], snn.src[feeds])
    return np.where(kink[l] >= 0, 0, np.where(used, 1, -1))


def _check_kinks(snn: SNN, run: _Run, names, ids, k_units, k_ids, T: Dyadic, uz: Dyadic,
                 rec: dict) -> Dyadic | None:
    """Check every kink neuron; returns ``κ = d + c`` per kink (dyadic) or None on failure."""
    kappas: list[Fraction] = []
    rec["kinks"] = []
    ok = True
    for unit, k in zip(k_units.tolist(), k_ids.tolist()):
        sl = snn.incoming(k)
        srcs, ws, ds = snn.src[sl].tolist(), snn.weight[sl].tolist(), snn.delay[sl].tolist()
        where = names[k]
        run.checks += 4
        vi = [j for j, s in enumerate(srcs) if s == ids[unit]]
        ci = [j for j, s in enumerate(srcs) if snn.n_inputs <= s < snn.first_neuron]
        if len(srcs) != 2 or len(vi) != 1 or len(ci) != 1:
            run.failures.append(Failure("kink synapses", where,
                                        f"need exactly one synapse from {names[ids[unit]]} and one from a constant, "
                                        f"found {[names[s] for s in srcs]}"))
            ok = False
            continue
        w1, d1 = ws[vi[0]], ds[vi[0]]
        w2, d2 = ws[ci[0]], ds[ci[0]]
        mant = np.frexp(w1)[0]
        if w1 != w2 or w1 <= 0 or mant != 0.5:
            run.failures.append(Failure("kink weights equal powers of two", where, f"weights {w1!r}, {w2!r}"))
            ok = False
            continue
        c = Fraction(snn.threshold(k)) / Fraction(w1)
        tau = Fraction(float(snn.constants[srcs[ci[0]] - snn.n_inputs]))
        Tu = T.fraction(unit)
        gap = tau + Fraction(d2) - (Tu + Fraction(d1))
        u = uz.fraction(unit)
        if gap != c:
            run.failures.append(Failure("kink at z = 0", where,
                                        f"reference arrives {gap} after the value offset, threshold/weight c = {c}"))
            ok = False
            continue
        if u > 2 * c:
            run.failures.append(Failure("kink range u <= 2c", where, f"u = {u} > 2c = {2 * c}"))
            ok = False
            continue
        kappas.append(Fraction(d1) + c)
        rec["kinks"].append({"neuron": where, "unit": unit, "c": _s(c), "u": _s(u)})
    if not ok:
        return None
    return Dyadic.from_fractions(kappas) if kappas else Dyadic.zeros((0,))


def _check_outputs(snn: SNN, T: Dyadic, run: _Run, names, ids) -> None:
    n = len(ids)
    if snn.decoder is None:
        off, sc = np.zeros(n), np.ones(n)
    else:
        off, sc = snn.decoder.offset, snn.decoder.scale
    run.require(sc == 1.0, "decoder scale = 1", lambda i: names[ids[i]], lambda i: f"scale {sc[i]!r}")
    d = Dyadic.from_floats(off).cmp(T)
    run.require(d == 0, "decoder offset = neuron offset", lambda i: names[ids[i]],
                lambda i: f"decoder offset {Fraction(float(off[i]))}, neuron offset {T.fraction(i)}")



def check_certificate(cert: dict[str, Any] | Certificate, snn: SNN, relu: ReLUNet, *,
                      progress: Progress = no_progress, source: str = "<certificate>") -> Certificate:
    """Re-check a stored certificate (the JSON of :meth:`Certificate.to_dict`) without any solver:
    the proof is re-run on the certificate's box and correspondence, and every stored exact number
    must equal the recomputed one."""
    d = cert.to_dict() if isinstance(cert, Certificate) else cert
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise InputError(source, "format", d.get("format") if isinstance(d, dict) else type(d).__name__,
                         f"not a {FORMAT} certificate")
    for key in ("box", "correspondence", "layers"):
        if key not in d:
            raise InputError(source, key, None, "missing required field")
    corr = Correspondence.from_dict(d["correspondence"], source)
    box = check_box(d["box"], relu.n_inputs, source)
    new = certify(snn, relu, box, corr, progress=progress)
    if new.accepted:
        stored = d["layers"]
        if not isinstance(stored, list) or len(stored) != len(new.layers):
            new.failures.append(Failure("stored certificate", "layers", "number of layers differs"))
        else:
            for old, cur in zip(stored, new.layers):
                for key in ("neurons", "offset", "threshold_bound", "lower", "upper", "kinks", "stability_proofs"):
                    if not isinstance(old, dict) or old.get(key) != cur.get(key):
                        new.failures.append(Failure("stored certificate", f"layer {cur['layer']}.{key}",
                                                    "stored values differ from the recomputed exact values"))
                        break
        new.accepted = not new.failures
    return new


def save_certificate(cert: Certificate, path: str | Path) -> None:
    """Write the JSON certificate (exact numbers as ``"p/q"`` strings)."""
    atomic_write(path, json.dumps(cert.to_dict()), "--cert-out")


def load_certificate(path: str | Path) -> dict[str, Any]:
    """Read a JSON certificate (bad files raise :class:`InputError`)."""
    d = read_json(path)
    if isinstance(d, dict) and str(d.get("format", "")).startswith(FORMAT.split("/")[0] + "/") and d["format"] != FORMAT:
        raise InputError(str(path), "format", d["format"], f"unknown certificate version (this release reads {FORMAT})")
    if isinstance(d, dict) and d.get("version", 1) != 1:
        raise InputError(str(path), "version", d["version"], "unknown certificate version (this release reads version 1)")
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        raise InputError(str(path), "format", d.get("format") if isinstance(d, dict) else type(d).__name__,
                         f"not a {FORMAT} certificate")
    return d
