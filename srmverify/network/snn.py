"""The spiking network model (linear Spike Response Model, time-to-first-spike).

Neurons have global integer ids in a fixed order:

* ``0 .. n_inputs-1``: input neurons (their spike times are the input),
* ``n_inputs .. n_inputs+n_constants-1``: constant neurons firing at fixed times,
* the rest: computing neurons in topological order (every synapse goes from a lower id to a
  higher id), each with a threshold > 0.

Synapses are stored as parallel numpy arrays sorted by (target, source). See
``docs/model.md`` (§1) for the semantics.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Sequence

import numpy as np

if TYPE_CHECKING:
    import networkx as nx

from ..errors import InputError

MEMORY = "<memory>"


@dataclass(frozen=True, eq=False)
class Affine:
    """Per-coordinate affine map ``offset + scale * value`` (encoder) or its inverse (decoder)."""

    offset: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "offset", np.asarray(self.offset, dtype=float).reshape(-1))
        object.__setattr__(self, "scale", np.asarray(self.scale, dtype=float).reshape(-1))

    def __len__(self) -> int:
        return len(self.offset)

    def to_dict(self) -> dict:
        return {"offset": self.offset.tolist(), "scale": self.scale.tolist()}


@dataclass(frozen=True)
class Level:
    """Computing neurons of one topological generation, with their dense incoming synapses.

    ``W[i, j]`` / ``D[i, j]`` are the weight / delay from ``sources[j]`` to ``neurons[i]``;
    ``present[i, j]`` is False where there is no synapse (then ``W`` is 0).
    ``shared_order`` is True when each source's delay is the same for all neurons of the level,
    so arrivals can be sorted once per sample.
    """

    neurons: np.ndarray
    sources: np.ndarray
    W: np.ndarray
    D: np.ndarray
    present: np.ndarray
    thresholds: np.ndarray
    shared_order: bool


@dataclass(frozen=True, eq=False)
class SNN:
    """A feed-forward spiking network (a DAG) of linear-response neurons.

    Parameters
    ----------
    n_inputs : number of input neurons.
    constants : spike times of the constant (reference/bias) neurons.
    thresholds : threshold of each computing neuron (all > 0).
    src, dst, weight, delay : synapse arrays (global neuron ids; delay >= 0).
    outputs : global ids of the output neurons.
    names : optional name of every neuron (inputs, constants, computing).
    encoder, decoder : optional affine maps data -> input times and output times -> values.
    source : where the network came from, used in error messages.

    Examples
    --------
    >>> net = SNN.layered([[[1.0, 3.0, 0.5]]], [[1.0]], delays=[[[0.0, 0.1, 0.0]]], constants=[0.0])
    >>> net.n_inputs, net.n_constants, net.n_neurons, net.outputs.tolist()
    (2, 1, 1, [3])
    """

    n_inputs: int
    constants: np.ndarray
    thresholds: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    weight: np.ndarray
    delay: np.ndarray
    outputs: np.ndarray
    names: tuple[str, ...] = ()
    encoder: Affine | None = None
    decoder: Affine | None = None
    source: str = field(default=MEMORY, compare=False)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731
        set_("constants", np.asarray(self.constants, dtype=float).reshape(-1))
        set_("thresholds", np.asarray(self.thresholds, dtype=float).reshape(-1))
        for k in ("src", "dst", "outputs"):
            set_(k, np.asarray(getattr(self, k), dtype=np.int64).reshape(-1))
        set_("weight", np.asarray(self.weight, dtype=float).reshape(-1))
        set_("delay", np.asarray(self.delay, dtype=float).reshape(-1))
        if not self.names:
            set_("names", _default_names(self.n_inputs, len(self.constants), len(self.thresholds)))
        else:
            set_("names", tuple(str(n) for n in self.names))
        order = np.lexsort((self.src, self.dst))
        for k in ("src", "dst", "weight", "delay"):
            set_(k, getattr(self, k)[order])
        self._validate()

    # ------------------------------------------------------------------ sizes
    @property
    def n_constants(self) -> int:
        return len(self.constants)

    @property
    def n_neurons(self) -> int:
        """Number of computing neurons."""
        return len(self.thresholds)

    @property
    def first_neuron(self) -> int:
        """Global id of the first computing neuron."""
        return self.n_inputs + self.n_constants

    @property
    def n_total(self) -> int:
        return self.first_neuron + self.n_neurons

    @property
    def n_outputs(self) -> int:
        return len(self.outputs)

    @property
    def n_synapses(self) -> int:
        return len(self.src)

    def threshold(self, v: int) -> float:
        """Threshold of computing neuron with global id ``v``."""
        return float(self.thresholds[v - self.first_neuron])

    # ------------------------------------------------------------------ structure
    @cached_property
    def in_ptr(self) -> np.ndarray:
        """CSR pointer: synapses into global neuron ``v`` are ``in_ptr[v]:in_ptr[v+1]``."""
        return np.searchsorted(self.dst, np.arange(self.n_total + 1), side="left")

    def incoming(self, v: int) -> slice:
        """Slice of the synapse arrays whose target is ``v``."""
        return slice(int(self.in_ptr[v]), int(self.in_ptr[v + 1]))

    def graph(self) -> "nx.DiGraph":
        """The network as a networkx DiGraph with ``weight``/``delay`` edge attributes."""
        import networkx as nx       # only here: keeps `import srmverify` (and the CLI start-up) light

        g = nx.DiGraph()
        for i, name in enumerate(self.names):
            kind = "input" if i < self.n_inputs else "constant" if i < self.first_neuron else "neuron"
            g.add_node(i, name=name, kind=kind)
        g.add_edges_from(
            (int(s), int(d), {"weight": float(w), "delay": float(dl)})
            for s, d, w, dl in zip(self.src, self.dst, self.weight, self.delay)
        )
        return g

    @cached_property
    def depth(self) -> np.ndarray:
        """Topological generation of every neuron (inputs and constants have depth 0)."""
        depth = np.zeros(self.n_total, dtype=np.int64)
        for v in range(self.first_neuron, self.n_total):
            sl = self.incoming(v)
            depth[v] = 1 + (depth[self.src[sl]].max() if sl.stop > sl.start else 0)
        return depth

    @cached_property
    def levels(self) -> tuple[Level, ...]:
        """Dense per-generation view used by the vectorised simulator and bounds."""
        out = []
        depth = self.depth
        for g in range(1, int(depth.max(initial=0)) + 1):
            neurons = np.flatnonzero(depth == g)
            mask = np.isin(self.dst, neurons)
            sources = np.unique(self.src[mask])
            row = np.searchsorted(neurons, self.dst[mask])
            col = np.searchsorted(sources, self.src[mask])
            W = np.zeros((len(neurons), len(sources)))
            D = np.zeros_like(W)
            present = np.zeros(W.shape, dtype=bool)
            W[row, col], D[row, col], present[row, col] = self.weight[mask], self.delay[mask], True
            col_max = np.where(present, D, -np.inf).max(axis=0)
            shared = bool(np.all(col_max == np.where(present, D, np.inf).min(axis=0)))
            if shared:
                D = np.broadcast_to(col_max, W.shape).copy()
            out.append(Level(neurons, sources, W, D, present,
                             self.thresholds[neurons - self.first_neuron], shared))
        return tuple(out)

    @property
    def all_weights_positive(self) -> bool:
        return bool(np.all(self.weight > 0))

    # ------------------------------------------------------------------ encoder / decoder
    def encode(self, x: np.ndarray) -> np.ndarray:
        """Data ``x`` (..., n_inputs) -> input spike times."""
        x = np.asarray(x, dtype=float)
        return x if self.encoder is None else self.encoder.offset + self.encoder.scale * x

    def decode(self, t: np.ndarray) -> np.ndarray:
        """Output spike times -> values; a neuron that never fires stays ``inf``."""
        t = np.asarray(t, dtype=float)
        if self.decoder is None:
            return t
        with np.errstate(invalid="ignore"):
            y = (t - self.decoder.offset) / self.decoder.scale
        return np.where(np.isfinite(t), y, np.inf)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def layered(
        cls,
        weights: Sequence,
        thresholds: Sequence,
        delays: Sequence | None = None,
        constants: Sequence[float] | np.ndarray = (),
        encoder: Affine | None = None,
        decoder: Affine | None = None,
        source: str = MEMORY,
    ) -> "SNN":
        """Feed-forward constructor: ``weights[l][i][j]`` is the synapse from input ``j`` of
        layer ``l`` to its neuron ``i``; a layer's inputs are the previous layer's neurons
        followed by the constants. Every entry (zeros included) becomes a synapse.
        """
        consts = np.asarray(constants, dtype=float).reshape(-1)
        nc = len(consts)
        if len(weights) == 0:
            raise InputError(source, "layers", [], "the network has no layers")
        Ws = []
        for l, w in enumerate(weights):
            try:
                w = np.asarray(w, dtype=float)
            except (TypeError, ValueError) as exc:
                raise InputError(source, f"layers[{l}].weights", "...", f"not a numeric matrix ({exc})") from None
            if w.ndim != 2 or w.shape[0] == 0:
                raise InputError(source, f"layers[{l}].weights", f"shape {w.shape}", "must be a non-empty 2-D matrix")
            Ws.append(w)
        n_in = Ws[0].shape[1] - nc
        if n_in <= 0:
            raise InputError(source, "layers[0].weights", f"{Ws[0].shape[1]} columns",
                             f"need more columns than the {nc} constants")
        names = [f"x{i}" for i in range(n_in)] + [f"c{i}" for i in range(nc)]
        src, dst, wt, dl, th = [], [], [], [], []
        prev = np.arange(n_in)
        const_ids = np.arange(n_in, n_in + nc)
        nxt = n_in + nc
        for l, w in enumerate(Ws):
            n_prev = len(prev)
            if w.shape[1] != n_prev + nc:
                raise InputError(source, f"layers[{l}].weights", f"{w.shape[1]} columns",
                                 f"expected {n_prev} previous neurons + {nc} constants = {n_prev + nc}")
            t = np.asarray(thresholds[l], dtype=float).reshape(-1)
            if t.shape != (w.shape[0],):
                raise InputError(source, f"layers[{l}].thresholds", f"length {t.size}",
                                 f"expected one threshold per neuron ({w.shape[0]})")
            d = np.zeros_like(w) if delays is None or delays[l] is None else np.asarray(delays[l], dtype=float)
            if d.shape != w.shape:
                raise InputError(source, f"layers[{l}].delays", f"shape {d.shape}", f"expected {w.shape}")
            ids = np.arange(nxt, nxt + w.shape[0])
            inputs = np.concatenate([prev, const_ids])
            src.append(np.tile(inputs, len(ids)))
            dst.append(np.repeat(ids, len(inputs)))
            wt.append(w.reshape(-1))
            dl.append(d.reshape(-1))
            th.append(t)
            names += [f"L{l + 1}_{i}" for i in range(len(ids))]
            prev, nxt = ids, nxt + len(ids)
        return cls(n_in, consts, np.concatenate(th), np.concatenate(src), np.concatenate(dst),
                   np.concatenate(wt), np.concatenate(dl), prev, tuple(names), encoder, decoder, source)

    def with_(self, **changes) -> "SNN":
        """A copy with some fields replaced (e.g. a tampered weight array)."""
        kw = {k: getattr(self, k) for k in ("n_inputs", "constants", "thresholds", "src", "dst", "weight",
                                            "delay", "outputs", "names", "encoder", "decoder", "source")}
        kw.update(changes)
        return SNN(**kw)

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        s, name = self.source, self.names

        def bad(fld, val, problem):
            raise InputError(s, fld, val, problem)

        if self.n_inputs < 1:
            bad("inputs", self.n_inputs, "a network needs at least one input neuron")
        if self.n_neurons < 1:
            bad("neurons", 0, "the network has no computing neuron")
        if len(name) != self.n_total:
            bad("names", len(name), f"expected {self.n_total} names")
        if len(set(name)) != len(name):
            dup = next(n for n in name if name.count(n) > 1)
            bad("names", dup, "duplicate neuron name")
        for arr, fld in ((self.constants, "constants"), (self.thresholds, "threshold"),
                         (self.weight, "weight"), (self.delay, "delay")):
            badi = np.flatnonzero(~np.isfinite(arr))
            if badi.size:
                bad(self._where(fld, int(badi[0])), float(arr[badi[0]]), "must be a finite number")
        badi = np.flatnonzero(self.thresholds <= 0)
        if badi.size:
            v = self.first_neuron + int(badi[0])
            bad(f"neuron {name[v]}.threshold", float(self.thresholds[badi[0]]), "threshold must be > 0")
        badi = np.flatnonzero(self.delay < 0)
        if badi.size:
            bad(self._where("delay", int(badi[0])), float(self.delay[badi[0]]), "delay must be >= 0")
        for arr, fld in ((self.src, "synapse source"), (self.dst, "synapse target")):
            badi = np.flatnonzero((arr < 0) | (arr >= self.n_total))
            if badi.size:
                bad(fld, int(arr[badi[0]]), f"unknown neuron id (there are {self.n_total})")
        badi = np.flatnonzero(self.dst < self.first_neuron)
        if badi.size:
            bad("synapse target", name[self.dst[badi[0]]], "inputs and constants cannot receive synapses")
        badi = np.flatnonzero(self.src >= self.dst)
        if badi.size:
            i = int(badi[0])
            bad(f"synapse {name[self.src[i]]}->{name[self.dst[i]]}", "order",
                "synapses must go forward in topological order (a cycle or a self-loop?)")
        if self.n_synapses > 1:
            same = np.flatnonzero((np.diff(self.src) == 0) & (np.diff(self.dst) == 0))
            if same.size:
                i = int(same[0])
                bad(f"synapse {name[self.src[i]]}->{name[self.dst[i]]}", "duplicate", "two synapses join the same pair")
        counts = np.diff(self.in_ptr)
        orphan = np.flatnonzero(counts[self.first_neuron:] == 0)
        if orphan.size:
            bad(f"neuron {name[self.first_neuron + int(orphan[0])]}", "no synapses",
                "a computing neuron needs at least one incoming synapse")
        if self.n_outputs < 1:
            bad("outputs", [], "the network has no outputs")
        badi = np.flatnonzero((self.outputs < 0) | (self.outputs >= self.n_total))
        if badi.size:
            bad("outputs", int(self.outputs[badi[0]]), "unknown neuron id")
        for aff, fld, n in ((self.encoder, "encoder", self.n_inputs), (self.decoder, "decoder", self.n_outputs)):
            if aff is None:
                continue
            for part in ("offset", "scale"):
                arr = getattr(aff, part)
                if arr.shape != (n,):
                    bad(f"{fld}.{part}", f"length {arr.size}", f"expected {n} entries")
                badi = np.flatnonzero(~np.isfinite(arr) | ((arr == 0) if part == "scale" else False))
                if badi.size:
                    bad(f"{fld}.{part}[{int(badi[0])}]", float(arr[badi[0]]), "must be finite (and scale nonzero)")

    def _where(self, fld: str, i: int) -> str:
        if fld == "constants":
            return f"constants[{i}]"
        if fld == "threshold":
            return f"neuron {self.names[self.first_neuron + i]}.threshold"
        return f"synapse {self.names[self.src[i]]}->{self.names[self.dst[i]]}.{fld}"


def _default_names(n_in: int, n_c: int, n_n: int) -> tuple[str, ...]:
    return tuple([f"x{i}" for i in range(n_in)] + [f"c{i}" for i in range(n_c)] + [f"n{i}" for i in range(n_n)])
