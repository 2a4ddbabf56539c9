"""JSON reader/writer for SNNs and ReLU networks.

Two SNN forms are read (both with ``"kind": "snn"``):

* layered: ``{"constants": [0.0], "layers": [{"weights", "thresholds", "delays"?}], ...}``
* general DAG: ``{"inputs": [names], "constants": {name: time}, "neurons": [{"name",
  "threshold"}], "synapses": [{"from", "to", "weight", "delay"?}], "outputs": [names]}``

Both accept optional ``"encoder"`` / ``"decoder"``: ``{"offset": [...], "scale": [...]}``.
The writer always emits the DAG form; floats are written with ``repr`` so every parameter
round-trips exactly. ReLU: ``{"kind": "relu", "layers": [{"weights", "biases"}]}``.
"""
from __future__ import annotations

import heapq
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..limits import check_count
from .files import atomic_write, read_json
from ..network import SNN, Affine, ReLUNet
from ..schemas import NETWORK_FORMAT, check_version, stamp


def _num(obj: dict, key: str, src: str, where: str, default=None) -> float:
    if key not in obj:
        if default is not None:
            return default
        raise InputError(src, f"{where}.{key}", None, "missing required field")
    v = obj[key]
    try:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise OverflowError
        return float(v)
    except OverflowError:       # also an integer too large for a float64
        raise InputError(src, f"{where}.{key}", v, "must be a finite number") from None


def _array(v: Any, src: str, where: str, ndim: int) -> np.ndarray:
    try:
        a = np.array(v, dtype=float)
    except (TypeError, ValueError):
        raise InputError(src, where, v, f"must be a {ndim}-D array of numbers") from None
    except OverflowError:
        raise InputError(src, where, v, "a number is too large for a float64") from None
    if a.ndim != ndim:
        raise InputError(src, where, f"shape {a.shape}", f"must be a {ndim}-D array of numbers")
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        idx = "".join(f"[{i}]" for i in bad[0])
        raise InputError(src, where + idx, float(a[tuple(bad[0])]), "must be a finite number")
    return a


def _field(obj: dict, key: str, src: str, where: str = "") -> Any:
    if not isinstance(obj, dict):
        raise InputError(src, where or "(top level)", type(obj).__name__, "must be a JSON object")
    if key not in obj:
        raise InputError(src, f"{where}.{key}" if where else key, None, "missing required field")
    return obj[key]


def _affine(d: Any, src: str, where: str) -> Affine | None:
    if d is None:
        return None
    return Affine(_array(_field(d, "offset", src, where), src, f"{where}.offset", 1),
                  _array(_field(d, "scale", src, where), src, f"{where}.scale", 1))


def snn_from_dict(d: dict, src: str = "<memory>") -> SNN:
    """Build an SNN from a parsed JSON object (layered or DAG form)."""
    enc = _affine(d.get("encoder"), src, "encoder")
    dec = _affine(d.get("decoder"), src, "decoder")
    if "layers" in d:
        layers = _field(d, "layers", src)
        if not isinstance(layers, list) or not layers:
            raise InputError(src, "layers", layers, "must be a non-empty list")
        const_times = _array(d.get("constants", []), src, "constants", 1)
        W: list[np.ndarray] = []
        T: list[np.ndarray] = []
        D: list[np.ndarray | None] = []
        for l, layer in enumerate(layers):
            w = f"layers[{l}]"
            W.append(_array(_field(layer, "weights", src, w), src, f"{w}.weights", 2))
            T.append(_array(_field(layer, "thresholds", src, w), src, f"{w}.thresholds", 1))
            D.append(_array(layer["delays"], src, f"{w}.delays", 2) if layer.get("delays") is not None else None)
            for arr, name, problem in ((T[-1], "thresholds", "threshold must be > 0"),
                                       (D[-1], "delays", "delay must be >= 0")):
                if arr is None:
                    continue
                badi = np.argwhere(arr <= 0 if name == "thresholds" else arr < 0)
                if len(badi):
                    at = "".join(f"[{i}]" for i in badi[0])
                    raise InputError(src, f"{w}.{name}{at}", float(arr[tuple(badi[0])]), problem)
        net = SNN.layered(W, T, D, const_times, enc, dec, src)
        if "n_inputs" in d and d["n_inputs"] != net.n_inputs:
            raise InputError(src, "n_inputs", d["n_inputs"], f"the first layer implies {net.n_inputs} inputs")
        return net
    inputs = _field(d, "inputs", src)
    if isinstance(inputs, int) and not isinstance(inputs, bool):
        inputs = [f"x{i}" for i in range(check_count(inputs, src, "inputs", "MAX_INPUTS"))]
    if not isinstance(inputs, list):
        raise InputError(src, "inputs", inputs, "must be a list of names or a count")
    consts = d.get("constants", {})
    if isinstance(consts, list):
        consts = {f"c{i}": c for i, c in enumerate(consts)}
    if not isinstance(consts, dict):
        raise InputError(src, "constants", consts, "must map names to spike times")
    const_names = list(consts)
    const_list = [_num(consts, k, src, "constants") for k in const_names]
    neurons = _field(d, "neurons", src)
    if not isinstance(neurons, list):
        raise InputError(src, "neurons", neurons, "must be a list")
    nnames: list[str] = []
    thr: dict[str, float] = {}
    for i, n in enumerate(neurons):
        name = str(_field(n, "name", src, f"neurons[{i}]"))
        nnames.append(name)
        thr[name] = _num(n, "threshold", src, f"neurons[{i}]")
    names = [str(n) for n in inputs] + const_names + nnames
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(src, "neurons", dup, "duplicate neuron name")
    syn = _field(d, "synapses", src)
    if not isinstance(syn, list):
        raise InputError(src, "synapses", syn, "must be a list")
    known = set(names)
    edges: list[tuple[str, str]] = []
    rows: list[tuple[str, str, float, float]] = []
    for k, s in enumerate(syn):
        w = f"synapses[{k}]"
        a, b = _field(s, "from", src, w), _field(s, "to", src, w)
        for end, val in (("from", a), ("to", b)):
            if not isinstance(val, str) or val not in known:
                raise InputError(src, f"{w}.{end}", val, "unknown neuron name (dangling synapse)")
        if b not in thr:
            raise InputError(src, f"{w}.to", b, "inputs and constants cannot receive synapses")
        rows.append((a, b, _num(s, "weight", src, w), _num(s, "delay", src, w, default=0.0)))
        if a in thr:
            edges.append((a, b))
    order = _topological_order(nnames, edges)
    if len(order) < len(nnames):
        cyc = _cycle(set(nnames) - set(order), edges)
        raise InputError(src, "synapses", " -> ".join(cyc + [cyc[0]]), "the network has a cycle")
    final = [str(n) for n in inputs] + const_names + order
    idx = {n: i for i, n in enumerate(final)}
    outs = _field(d, "outputs", src)
    if not isinstance(outs, list):
        raise InputError(src, "outputs", outs, "must be a list of neuron names")
    for o in outs:
        if not isinstance(o, str) or o not in idx:
            raise InputError(src, "outputs", o, "unknown neuron name")
    return SNN(
        len(inputs), np.asarray(const_list, float), np.asarray([thr[n] for n in order], float),
        np.asarray([idx[r[0]] for r in rows], np.int64), np.asarray([idx[r[1]] for r in rows], np.int64),
        np.asarray([r[2] for r in rows], float), np.asarray([r[3] for r in rows], float),
        np.asarray([idx[o] for o in outs], np.int64), tuple(final), enc, dec, src,
    )


def _topological_order(nodes: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Kahn's algorithm, the smallest file position first among the ready neurons (a stable order);
    the neurons on or behind a cycle are left out.

    >>> _topological_order(["c", "a", "b"], [("a", "c"), ("b", "c")])
    ['a', 'b', 'c']
    """
    pos = {n: i for i, n in enumerate(nodes)}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    indeg = dict.fromkeys(nodes, 0)
    for a, b in edges:
        succ[a].append(b)
        indeg[b] += 1
    ready = [pos[n] for n in nodes if indeg[n] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        n = nodes[heapq.heappop(ready)]
        order.append(n)
        for m in succ[n]:
            indeg[m] -= 1
            if indeg[m] == 0:
                heapq.heappush(ready, pos[m])
    return order


def _cycle(left: set[str], edges: list[tuple[str, str]]) -> list[str]:
    """One cycle among the neurons :func:`_topological_order` left out (each has a predecessor
    there, so walking predecessors must repeat a neuron)."""
    pred = {b: a for a, b in edges if a in left and b in left}
    path: list[str] = []
    seen: dict[str, int] = {}
    n = min(left)
    while n not in seen:
        seen[n] = len(path)
        path.append(n)
        n = pred[n]
    return path[seen[n]:][::-1]


def snn_to_dict(net: SNN) -> dict:
    """The general DAG form of an SNN (exact: floats keep every bit)."""
    n = net.names
    d: dict[str, Any] = {
        "kind": "snn",
        "inputs": list(n[: net.n_inputs]),
        "constants": {n[net.n_inputs + i]: float(c) for i, c in enumerate(net.constants)},
        "neurons": [{"name": n[v], "threshold": net.threshold(v)} for v in range(net.first_neuron, net.n_total)],
        "synapses": [{"from": n[s], "to": n[t], "weight": w, "delay": dl}
                     for s, t, w, dl in zip(net.src.tolist(), net.dst.tolist(), net.weight.tolist(), net.delay.tolist())],
        "outputs": [n[o] for o in net.outputs.tolist()],
    }
    if net.encoder is not None:
        d["encoder"] = net.encoder.to_dict()
    if net.decoder is not None:
        d["decoder"] = net.decoder.to_dict()
    return d


def relu_from_dict(d: dict, src: str = "<memory>") -> ReLUNet:
    layers = _field(d, "layers", src)
    if not isinstance(layers, list) or not layers:
        raise InputError(src, "layers", layers, "must be a non-empty list")
    out = []
    for l, layer in enumerate(layers):
        w = f"layers[{l}]"
        out.append((_array(_field(layer, "weights", src, w), src, f"{w}.weights", 2),
                    _array(_field(layer, "biases", src, w), src, f"{w}.biases", 1)))
    return ReLUNet(out, src)


def relu_to_dict(net: ReLUNet) -> dict:
    return {"kind": "relu", "layers": [{"weights": W.tolist(), "biases": b.tolist()} for W, b in net.layers]}


def network_from_dict(d: Any, src: str = "<memory>") -> SNN | ReLUNet:
    """Dispatch on ``"kind"`` (``"snn"`` or ``"relu"``); refuse an unknown format version."""
    check_version(d, src, NETWORK_FORMAT)
    kind = _field(d, "kind", src)
    if kind == "snn":
        return snn_from_dict(d, src)
    if kind == "relu":
        return relu_from_dict(d, src)
    raise InputError(src, "kind", kind, 'must be "snn" or "relu"')


def network_to_dict(net: SNN | ReLUNet) -> dict:
    """The JSON object of a network, stamped with its format and version."""
    return stamp(snn_to_dict(net) if isinstance(net, SNN) else relu_to_dict(net), NETWORK_FORMAT)


def load_json(path: str | Path) -> SNN | ReLUNet:
    return network_from_dict(read_json(path), str(path))


def save_json(net: SNN | ReLUNet, path: str | Path) -> None:
    """Write ``net`` as JSON, atomically (a temporary file in the target directory, then a rename)."""
    atomic_write(path, json.dumps(network_to_dict(net)))
