"""NIR (Neuromorphic Intermediate Representation) export and import of spiking networks.

A linear-SRM neuron is exactly ``Delay → Linear(W) → I(r=1) → IF(r=1, v_threshold=θ)``
(docs/model.md §6): a weighted spike integrated once is a step current, twice a ramp, so the IF's
potential is ``P_v(t)``. The writer emits one such chain per topological level of the network and
per source node feeding it:

* ``level{g}.from.{src}.delay → level{g}.from.{src}.linear → level{g}.I → level{g}`` when every
  synapse leaving a source channel towards level ``g`` has one delay;
* ``….fanout → ….delay → ….linear`` otherwise (one channel per synapse: NIR delays are per
  channel, so per-synapse delays need a fan-out ``Linear`` of 0/1 rows and a block ``Linear``).

Sources are the ``input`` node (the data inputs), the ``constants`` node (the bias spikes, an input
spike train whose times are in the metadata) and earlier levels. Outputs go to one ``output`` node,
directly from a level whose channels are exactly the outputs, else through 0/1 selection
``Linear`` nodes. A ``Linear`` whose synapses are not exactly its nonzero entries carries a
``present`` mask in its node metadata. The graph metadata ``srmverify`` is a JSON string with
what NIR cannot say: the single-spike, first-crossing semantics, constant times, names, neuron
ids per level, encoder and decoder. Export then import is the identity (every parameter is a
float64 array in the HDF5 file).

The reader accepts graphs of that form from anywhere (metadata optional: then every ``Input``
node is a data input, neurons are numbered in topological order, and a ``Linear`` entry is a
synapse iff it is nonzero); anything else is refused with an :class:`InputError` naming the node.

``profile="cubalif"`` (or ``"cubalif-snntorch"``) writes instead the approximation today's
simulators run: a ``CubaLIF`` with huge equal time constants scaled for a clock-driven simulator
of step ``dt`` (:func:`cubalif_parameters`); it is an export only (it does not read back as an SNN).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np

from ..errors import InputError
from ..network import SNN, Affine, ReLUNet
from .files import atomic_path

#: Graph-metadata key holding srmverify's JSON description.
META_KEY = "srmverify"
#: Identifier and version of that description.
META_FORMAT, META_VERSION = "srmverify-nir", 1
SEMANTICS = ("linear SRM, time-to-first-spike: each IF neuron fires once, at the first t with "
             "v(t) >= v_threshold; its reset and any later spike are not part of the model")
#: Default time constant of the cubalif profile (large: the leak is negligible over unit times).
CUBALIF_TAU = 1e6
PROFILES = ("exact", "cubalif", "cubalif-snntorch")
#: The time step snnTorch's NIR importer assumes (snntorch 1.0, import_nir.py).
SNNTORCH_DT = 1e-4


def _nir() -> Any:
    try:
        import nir
    except ImportError as exc:  # pragma: no cover - nir is a core dependency
        raise InputError("nir", "package", "nir", f"the NIR format needs the 'nir' package ({exc})") from None
    return nir


def cubalif_parameters(dt: float, tau: float = CUBALIF_TAU, profile: str = "cubalif") -> dict[str, float]:
    """CubaLIF constants that make a clock-driven simulator of step ``dt`` approximate the ramp.

    ``"cubalif"``: forward Euler with a spike worth 1 in one step, ``i += dt/τ_syn (w_in·s − i)``,
    ``v += dt/τ_mem (r·i − v)`` (the convention of :mod:`srmverify.simulate.nir_steps`); the potential
    gains ``(dt·r·w_in/τ²) Σ w (t − a)^+`` up to ``O(dt)`` and ``O(t/τ)``, so ``r = τ`` and
    ``w_in = τ/dt``. ``"cubalif-snntorch"``: snnTorch's importer assumes a step of ``1e-4``, insists
    on ``r = τ_mem/1e-4``, and divides the threshold by ``w_in·1e-4/τ_syn``; its membrane sums the
    synaptic current once per step, so ``w_in = dt·τ/1e-4`` makes one step worth ``dt``.

    >>> cubalif_parameters(0.01, tau=100.0)
    {'tau_syn': 100.0, 'tau_mem': 100.0, 'r': 100.0, 'w_in': 10000.0}
    """
    if not (isinstance(dt, (int, float)) and np.isfinite(dt) and dt > 0):
        raise InputError("--dt", "dt", dt, "the time step must be a positive number")
    if profile == "cubalif-snntorch":
        return {"tau_syn": tau, "tau_mem": tau, "r": tau / SNNTORCH_DT, "w_in": dt * tau / SNNTORCH_DT}
    return {"tau_syn": tau, "tau_mem": tau, "r": tau, "w_in": tau / dt}


# ---------------------------------------------------------------------------------------- export
def _group_of(net: SNN) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Source-node names, and per global id the index of its node and its channel in it."""
    groups = ["input"] + (["constants"] if net.n_constants else [])
    node = np.zeros(net.n_total, dtype=np.int64)
    chan = np.arange(net.n_total)
    if net.n_constants:
        node[net.n_inputs:net.first_neuron] = 1
        chan[net.n_inputs:net.first_neuron] -= net.n_inputs
    for g, lv in enumerate(net.levels, start=1):
        groups.append(f"level{g}")
        node[lv.neurons] = len(groups) - 1
        chan[lv.neurons] = np.arange(len(lv.neurons))
    return groups, node, chan


def snn_to_nir(net: SNN, profile: str = "exact", dt: float = 1e-3, tau: float = CUBALIF_TAU) -> Any:
    """The NIR graph of an SNN (see the module docstring); ``profile`` ``"exact"`` or ``"cubalif"``."""
    nir = _nir()
    if profile not in PROFILES:
        raise InputError("--nir-profile", "profile", profile, f"must be one of {', '.join(PROFILES)}")
    groups, node_of, chan_of = _group_of(net)
    width = [net.n_inputs, net.n_constants] if net.n_constants else [net.n_inputs]
    width += [len(lv.neurons) for lv in net.levels]
    nodes: dict[str, Any] = {"input": nir.Input(np.array([net.n_inputs]))}
    if net.n_constants:
        nodes["constants"] = nir.Input(np.array([net.n_constants]))
    edges: list[tuple[str, str]] = []
    level_of = np.zeros(net.n_total, dtype=np.int64)
    for g, lv in enumerate(net.levels, start=1):
        level_of[lv.neurons] = g
    ids: dict[str, list[int]] = {}
    for g, lv in enumerate(net.levels, start=1):
        name, n = f"level{g}", len(lv.neurons)
        ids[name] = lv.neurons.tolist()
        theta = lv.thresholds.astype(float)
        scale = np.ones(n)
        if profile == "cubalif-snntorch":      # snnTorch wants one threshold per layer: P/θ ≥ 1
            scale, theta = theta, np.ones(n)
        if profile != "exact":
            p = cubalif_parameters(dt, tau, profile)
            nodes[name] = nir.CubaLIF(tau_syn=np.full(n, p["tau_syn"]), tau_mem=np.full(n, p["tau_mem"]),
                                      r=np.full(n, p["r"]), v_leak=np.zeros(n), v_threshold=theta,
                                      w_in=np.full(n, p["w_in"]))
            into = name
        else:
            nodes[f"{name}.I"] = nir.I(np.ones(n))
            nodes[name] = nir.IF(np.ones(n), theta)
            edges.append((f"{name}.I", name))
            into = f"{name}.I"
        mask = level_of[net.dst] == g
        src, dst, w, d = net.src[mask], net.dst[mask], net.weight[mask], net.delay[mask]
        row = chan_of[dst]
        for s in np.unique(node_of[src]).tolist():
            sel = node_of[src] == s
            pre, col = f"{name}.from.{groups[s]}", chan_of[src[sel]]
            edges += _synapse_chain(nir, nodes, pre, groups[s], into, width[s], n,
                                    col, row[sel], w[sel] / scale[row[sel]], d[sel], profile != "exact")
    edges += _outputs(nir, nodes, net, groups, node_of, chan_of, width)
    meta = {"format": META_FORMAT, "version": META_VERSION, "semantics": SEMANTICS, "profile": profile,
            "inputs": "input", "constants": {"node": "constants", "times": net.constants.tolist()},
            "names": list(net.names), "ids": ids}
    if profile != "exact":
        meta["cubalif"] = {"dt": dt, **cubalif_parameters(dt, tau, profile)}
    for k in ("encoder", "decoder"):
        if getattr(net, k) is not None:
            meta[k] = getattr(net, k).to_dict()
    return nir.NIRGraph(nodes, edges, metadata={META_KEY: json.dumps(meta)})


def _linear(nir: Any, W: np.ndarray, present: np.ndarray) -> Any:
    meta = {} if np.array_equal(present, W != 0) else {"metadata": {"present": present}}
    return nir.Linear(W, **meta)


def _synapse_chain(nir: Any, nodes: dict, pre: str, source: str, into: str, n_src: int, n_dst: int,
                   col: np.ndarray, row: np.ndarray, w: np.ndarray, d: np.ndarray,
                   drop_zero_delay: bool = False) -> list[tuple[str, str]]:
    """Nodes and edges carrying the synapses ``source[col] → level[row]`` into ``into``
    (``drop_zero_delay``: no ``Delay`` node when every delay is 0, for simulators without one)."""
    delay = np.zeros(n_src)
    delay[col] = d
    if np.array_equal(delay[col], d):     # one delay per source channel: Delay → Linear
        W, present = np.zeros((n_dst, n_src)), np.zeros((n_dst, n_src), dtype=bool)
        W[row, col], present[row, col] = w, True
        if drop_zero_delay and not delay.any():
            nodes[f"{pre}.linear"] = _linear(nir, W, present)
            return [(source, f"{pre}.linear"), (f"{pre}.linear", into)]
        nodes[f"{pre}.delay"], nodes[f"{pre}.linear"] = nir.Delay(delay), _linear(nir, W, present)
        return [(source, f"{pre}.delay"), (f"{pre}.delay", f"{pre}.linear"), (f"{pre}.linear", into)]
    k = np.arange(len(col))               # one channel per synapse: fan-out → Delay → block Linear
    F = np.zeros((len(col), n_src))
    F[k, col] = 1.0
    B, present = np.zeros((n_dst, len(col))), np.zeros((n_dst, len(col)), dtype=bool)
    B[row, k], present[row, k] = w, True
    nodes[f"{pre}.fanout"] = nir.Linear(F)
    nodes[f"{pre}.delay"], nodes[f"{pre}.linear"] = nir.Delay(d.astype(float)), _linear(nir, B, present)
    return [(source, f"{pre}.fanout"), (f"{pre}.fanout", f"{pre}.delay"),
            (f"{pre}.delay", f"{pre}.linear"), (f"{pre}.linear", into)]


def _outputs(nir: Any, nodes: dict, net: SNN, groups: list[str], node_of: np.ndarray,
             chan_of: np.ndarray, width: list[int]) -> list[tuple[str, str]]:
    out = net.outputs
    nodes["output"] = nir.Output(np.array([len(out)]))
    g = node_of[out]
    if np.all(g == g[0]) and np.array_equal(chan_of[out], np.arange(width[g[0]])):
        return [(groups[g[0]], "output")]
    edges = []
    for s in np.unique(g).tolist():
        S = np.zeros((len(out), width[s]))
        k = np.flatnonzero(g == s)
        S[k, chan_of[out[k]]] = 1.0
        nodes[f"output.from.{groups[s]}"] = nir.Linear(S)
        edges += [(groups[s], f"output.from.{groups[s]}"), (f"output.from.{groups[s]}", "output")]
    return edges


def save_nir(net: SNN | ReLUNet, path: str | Path, profile: str = "exact", dt: float = 1e-3) -> None:
    """Write ``net`` as a NIR file (HDF5), atomically."""
    if not isinstance(net, SNN):
        raise InputError(str(path), "network", type(net).__name__, "only spiking networks can be written as NIR")
    graph = snn_to_nir(net, profile, dt)
    with atomic_path(path) as tmp:
        _nir().write(str(tmp), graph)


# ---------------------------------------------------------------------------------------- import
def load_nir(path: str | Path) -> SNN:
    """Read a NIR file of the linear-SRM form; anything else is an :class:`InputError`."""
    nir, src = _nir(), str(path)
    try:
        graph = nir.read(src)
    except Exception as exc:  # h5py / nir raise many kinds of errors for a foreign or broken file
        raise InputError(src, "file", src, f"not a readable NIR file ({type(exc).__name__}: {exc})") from None
    return nir_to_snn(graph, src)


def _meta(graph: Any, src: str) -> dict:
    raw = (graph.metadata or {}).get(META_KEY)
    if raw is None:
        return {}
    try:
        meta = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
    except ValueError:
        raise InputError(src, f"metadata.{META_KEY}", str(raw)[:40], "not JSON") from None
    if not isinstance(meta, dict):
        raise InputError(src, f"metadata.{META_KEY}", str(raw)[:40], "must be a JSON object")
    version = meta.get("version", META_VERSION)
    if version != META_VERSION:
        raise InputError(src, f"metadata.{META_KEY}.version", version,
                         f"unknown version (this srmverify reads version {META_VERSION})")
    shapes = {"names": list, "ids": dict, "constants": dict, "encoder": dict, "decoder": dict}
    for key, kind in shapes.items():
        if key in meta and not isinstance(meta[key], kind):
            raise InputError(src, f"metadata.{META_KEY}.{key}", str(meta[key])[:40], f"must be a JSON {kind.__name__}")
    if meta.get("profile", "exact") != "exact":
        raise InputError(src, f"metadata.{META_KEY}.profile", meta["profile"],
                         "an approximation profile does not read back as a linear-SRM network")
    return meta


def nir_to_snn(graph: Any, src: str = "<memory>") -> SNN:
    """The SNN of a NIR graph of the form ``Delay → Linear → I → IF`` (see the module docstring)."""
    nir = _nir()
    meta = _meta(graph, src)
    ok = (nir.Input, nir.Output, nir.Linear, nir.Delay, nir.I, nir.IF)
    for name, node in graph.nodes.items():
        if not isinstance(node, ok) or isinstance(node, nir.NIRGraph):
            raise InputError(src, f"node {name}", type(node).__name__,
                             "not part of the linear-SRM form Delay → Linear → I(r=1) → IF(r=1)")
    pred: dict[str, list[str]] = {n: [] for n in graph.nodes}
    succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for a, b in graph.edges:
        for end in (a, b):
            if end not in graph.nodes:
                raise InputError(src, "edge", f"{a} -> {b}", f"unknown node {end}")
        pred[b].append(a)
        succ[a].append(b)

    def vec(name: str, attr: str) -> np.ndarray:
        return np.asarray(getattr(graph.nodes[name], attr), dtype=float).reshape(-1)

    # sources: data inputs, constants, then IF levels in topological order
    const = meta.get("constants") or {}
    cname = const.get("node") if const.get("times") else None
    inputs = [n for n, v in sorted(graph.nodes.items()) if isinstance(v, nir.Input) and n != cname]
    if not inputs:
        raise InputError(src, "nodes", "no Input", "the graph has no input node")
    width = {n: int(np.prod(graph.nodes[n].input_type["input"])) for n in inputs}
    first: dict[str, int] = {}
    nxt = 0
    for n in inputs:
        first[n], nxt = nxt, nxt + width[n]
    n_inputs = nxt
    times = np.asarray(const.get("times", []), dtype=float)
    if cname is not None:
        if cname not in graph.nodes or not isinstance(graph.nodes[cname], nir.Input):
            raise InputError(src, f"metadata.{META_KEY}.constants.node", cname, "no such Input node")
        width[cname] = int(np.prod(graph.nodes[cname].input_type["input"]))
        if width[cname] != len(times):
            raise InputError(src, f"metadata.{META_KEY}.constants.times", f"{len(times)} times",
                             f"node {cname} has {width[cname]} channels")
        first[cname], nxt = nxt, nxt + width[cname]
    g = nx.DiGraph(list(graph.edges))
    g.add_nodes_from(graph.nodes)
    try:
        topo = list(nx.lexicographical_topological_sort(g))
    except nx.NetworkXUnfeasible:
        raise InputError(src, "edges", "cycle", "the graph has a cycle (spiking networks here are feed-forward)") from None
    levels = [n for n in topo if isinstance(graph.nodes[n], nir.IF)]
    ids = meta.get("ids", {})
    thr: dict[int, float] = {}
    for n in levels:
        r, theta = vec(n, "r"), vec(n, "v_threshold")
        if not np.all(r == 1):
            raise InputError(src, f"node {n}.r", r.tolist(), "IF must have r = 1 (linear-SRM form)")
        if len(pred[n]) != 1 or not isinstance(graph.nodes[pred[n][0]], nir.I):
            raise InputError(src, f"node {n}", "inputs " + ",".join(pred[n]),
                             "an IF must be fed by exactly one I(r=1) node (the ramp response)")
        integ = pred[n][0]
        if not np.array_equal(vec(integ, "r"), np.ones(len(theta))):
            raise InputError(src, f"node {integ}.r", vec(integ, "r").tolist(), "I must have r = 1 and the IF's width")
        width[n] = len(theta)
        chan_ids = ids.get(n)
        if chan_ids is None:
            chan_ids = list(range(nxt, nxt + width[n]))
        if len(chan_ids) != width[n]:
            raise InputError(src, f"metadata.{META_KEY}.ids.{n}", len(chan_ids), f"node {n} has {width[n]} channels")
        for c, v in enumerate(chan_ids):
            thr[int(v)] = float(theta[c])
        ids[n] = [int(v) for v in chan_ids]
        nxt += width[n]
    gid = {n: np.arange(first[n], first[n] + width[n]) for n in inputs + ([cname] if cname else [])}
    gid.update({n: np.asarray(ids[n], dtype=np.int64) for n in levels})
    n_total = nxt
    if sorted(thr) != list(range(n_inputs + len(times), n_total)):
        raise InputError(src, f"metadata.{META_KEY}.ids", "…", "neuron ids must number the IF channels without gaps")

    rows: list[np.ndarray] = []
    used = set(gid) | {pred[n][0] for n in levels}
    for n in levels:
        integ = pred[n][0]
        for lin in pred[integ]:
            rows.append(_read_chain(nir, graph, src, lin, integ, pred, succ, gid, gid[n], used))
    syn = np.concatenate(rows, axis=1) if rows else np.zeros((4, 0))
    outputs = _read_outputs(nir, graph, src, pred, succ, gid, used)
    stray = sorted(set(graph.nodes) - used)
    if stray:
        raise InputError(src, f"node {stray[0]}", type(graph.nodes[stray[0]]).__name__,
                         "not on a path Input/IF → … → I → IF or → Output (a dangling node)")
    names = meta.get("names") or ()
    enc, dec = (Affine(**meta[k]) if meta.get(k) else None for k in ("encoder", "decoder"))
    order = sorted(thr)
    return SNN(n_inputs, np.asarray(times, float), np.asarray([thr[v] for v in order], float), syn[0].astype(np.int64), syn[1].astype(np.int64),
               syn[2], syn[3], outputs, tuple(names), enc, dec, src)


def _only(src: str, name: str, pred: dict, succ: dict) -> str:
    """The single predecessor of chain node ``name`` (a chain node has one input, one output)."""
    if len(pred[name]) != 1 or len(succ[name]) != 1:
        raise InputError(src, f"node {name}", f"{len(pred[name])} inputs, {len(succ[name])} outputs",
                         "a Linear/Delay node between neurons must have one input and one output")
    return pred[name][0]


def _read_chain(nir: Any, graph: Any, src: str, lin: str, into: str, pred: dict, succ: dict,
                gid: dict, targets: np.ndarray, used: set) -> np.ndarray:
    """Synapses ``[src, dst, weight, delay]`` (4 × k) of one chain ending in ``lin → into``;
    the chain's nodes are added to ``used``."""
    used.add(lin)
    node = graph.nodes[lin]
    if not isinstance(node, nir.Linear):
        raise InputError(src, f"node {lin}", type(node).__name__, f"the input of {into} must be a Linear")
    W = np.asarray(node.weight, dtype=float)
    present = np.asarray((node.metadata or {}).get("present", W != 0), dtype=bool)
    if W.ndim != 2 or W.shape[0] != len(targets) or present.shape != W.shape:
        raise InputError(src, f"node {lin}.weight", f"shape {W.shape}", f"expected {len(targets)} rows")
    prev = _only(src, lin, pred, succ)
    delay, fan = np.zeros(W.shape[1]), np.arange(W.shape[1])
    if isinstance(graph.nodes[prev], nir.Delay):
        used.add(prev)
        delay = np.asarray(graph.nodes[prev].delay, dtype=float).reshape(-1)
        if len(delay) != W.shape[1]:
            raise InputError(src, f"node {prev}.delay", f"{len(delay)} channels", f"{lin} has {W.shape[1]} columns")
        prev = _only(src, prev, pred, succ)
        if isinstance(graph.nodes[prev], nir.Linear):
            F = np.asarray(graph.nodes[prev].weight, dtype=float)
            if F.ndim != 2 or F.shape[0] != len(delay) or not (
                    np.all((F == 0) | (F == 1)) and np.all(F.sum(axis=1) == 1)):
                raise InputError(src, f"node {prev}.weight", f"shape {F.shape}",
                                 "a fan-out Linear must have one 1 per row and zeros elsewhere")
            fan = F.argmax(axis=1)
            used.add(prev)
            prev = _only(src, prev, pred, succ)
    if prev not in gid:
        raise InputError(src, f"node {prev}", type(graph.nodes[prev]).__name__,
                         f"the synapses into {into} must start at an Input or an IF node")
    i, c = np.nonzero(present)
    if fan.max(initial=-1) >= len(gid[prev]):
        raise InputError(src, f"node {lin}", f"{len(gid[prev])} source channels", "more columns than its source")
    return np.vstack([gid[prev][fan[c]], targets[i], W[i, c], delay[c]])


def _read_outputs(nir: Any, graph: Any, src: str, pred: dict, succ: dict, gid: dict, used: set) -> np.ndarray:
    """Global ids of the output channels, Output nodes in name order; their nodes join ``used``."""
    outs = []
    for name in sorted(n for n, v in graph.nodes.items() if isinstance(v, nir.Output)):
        used.add(name)
        k = int(np.prod(graph.nodes[name].output_type["output"]))
        rows = np.full(k, -1, dtype=np.int64)
        for p in pred[name]:
            if p in gid:
                sel, ch = np.arange(len(gid[p])), np.arange(len(gid[p]))
            elif isinstance(graph.nodes[p], nir.Linear) and _only(src, p, pred, succ) in gid:
                S = np.asarray(graph.nodes[p].weight, dtype=float)
                if not (np.all((S == 0) | (S == 1)) and np.all(S.sum(axis=1) <= 1)):
                    raise InputError(src, f"node {p}.weight", f"shape {S.shape}", "an output selection must be 0/1, one 1 per row")
                sel, ch = np.nonzero(S)
                used.add(p)
                p = pred[p][0]
            else:
                raise InputError(src, f"node {p}", type(graph.nodes[p]).__name__,
                                 f"{name} must be fed by neurons or 0/1 selections of them")
            if np.any(rows[sel] >= 0) or sel.max(initial=-1) >= k:
                raise InputError(src, f"node {name}", p, "output channels fed twice or out of range")
            rows[sel] = gid[p][ch]
        if np.any(rows < 0):
            raise InputError(src, f"node {name}", f"channel {int(np.flatnonzero(rows < 0)[0])}", "output channel not fed")
        outs.append(rows)
    if not outs:
        raise InputError(src, "nodes", "no Output", "the graph has no output node")
    return np.concatenate(outs)
