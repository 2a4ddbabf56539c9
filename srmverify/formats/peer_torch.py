"""Trained networks of the peer implementation (frafranz/ExpressivitySNN) from their torch ``state_dict``.

The peer's ``SpikingNet`` (branch ``linear-regions``, ``src/networks/spiking_network.py`` and
``src/spiking_layer.py``) holds, per layer ``i``, three parameters; its ``state_dict`` keys are

* ``layers.{i}.weight`` -- ``(n_in + n_biases[i], n_out)``: row ``j`` is the input, column the neuron;
  the rows are the previous layer's neurons (the network inputs for layer 0) followed by the
  layer's ``n_biases[i]`` bias spikes;
* ``layers.{i}.delays`` -- same shape; the delay is ``exp(κ)`` when ``substitute_delay`` is set
  (the peer's configs set it: delays stay positive while training), else the value itself;
* ``layers.{i}.thresholds`` -- ``(n_out,)``.

The bias spikes are no parameters (a plain list on the module): their times come from the
configuration, ``network_layout.bias_times`` (one list for every layer, or one list per layer)
with ``network_layout.n_biases``. With the linear activation the peer's explicit simulation
computes exactly this package's model (docs/model.md §1): ``tau_syn``, ``tau_mem``, ``g_leak`` and
``leak`` do not enter, and no time is scaled. ``rounding_precision`` rounds the weights in every
forward pass; the reader rounds them the same way.

:func:`peer_snn` maps a plain ``{key: array}`` and the configuration to an :class:`SNN` (no torch
needed); :func:`load_peer` reads the file (:mod:`.torch_zip`: ``torch.load(weights_only=True)``
or, without torch, a restricted reader that runs nothing in the file) and the configuration,
found beside the checkpoint when it is not given (``MODEL.yaml``, else ``config.yaml``, the file
the peer writes into each result folder).
"""
from __future__ import annotations

import contextlib
import contextvars
import math
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from ..errors import InputError, UnsupportedNetwork
from ..network import SNN
from ..network.snn import MEMORY
from .files import read_text
from .torch_zip import first_line, read_state_dict

#: Configuration fields the reader uses (keyword options of :func:`peer_snn` take these names) and
#: the section of the peer's yaml they are in.
FIELDS = {**dict.fromkeys(("n_inputs", "n_layers", "layer_sizes", "n_biases", "bias_times"), "network_layout"),
          **dict.fromkeys(("substitute_delay", "rounding_precision", "use_forward_integrator", "train_threshold"),
                          "training_params"),
          **dict.fromkeys(("activation", "delta", "leak", "threshold"), "neuron_params")}
_SECTIONS = ("network_layout", "training_params", "neuron_params")     # later sections win, as in the peer
_KEY = re.compile(r"layers\.(\d+)\.(weight|delays|thresholds)")

_default_config: contextvars.ContextVar[Path | None] = contextvars.ContextVar("peer_config", default=None)


def peer_snn(state_dict: Mapping[str, Any], config: Mapping[str, Any] | None = None, *,
             source: str = MEMORY, config_source: str = "<config>", **options: Any) -> SNN:
    """The SNN of a peer ``state_dict`` (``{key: array}``) and its configuration.

    Parameters
    ----------
    state_dict : ``layers.{i}.weight`` / ``.delays`` / ``.thresholds`` for ``i = 0 .. L-1`` (arrays or
        anything ``np.asarray`` takes); any other key is refused.
    config : the peer's parsed yaml (sections ``network_layout``, ``training_params``,
        ``neuron_params``) or a flat mapping of :data:`FIELDS`; fields of ``neuron_params`` win over
        ``training_params``, as in the peer's ``sim_params``.
    source, config_source : names of the two inputs in error messages.
    **options : fields of :data:`FIELDS` that override the configuration (e.g. ``bias_times=[0.9]``).

    Returns
    -------
    SNN
        Inputs ``x0 ..``, the bias spikes as constants ``c0 ..`` (shared by the layers where their
        times agree), neurons ``L{l}_{i}``; the outputs are the last layer's neurons. With one
        bias list for every layer this is the layered JSON form with ``"constants"`` that list.

    Raises
    ------
    InputError
        A missing or misshapen key, a missing or bad configuration field, a delay ``< 0`` or a
        threshold ``<= 0``: one line naming the file, the key or field and the value.
    UnsupportedNetwork
        A configuration this model does not compute (an alpha activation; the time-discretised
        integrator with the ``delta`` hat kernel).

    Examples
    --------
    >>> sd = {"layers.0.weight": [[1.0], [2.0], [0.5]], "layers.0.delays": [[0.0], [0.0], [0.0]],
    ...       "layers.0.thresholds": [1.0]}
    >>> net = peer_snn(sd, {"network_layout": {"n_biases": [1], "bias_times": [0.9]}})
    >>> net.n_inputs, net.constants.tolist(), net.names
    (2, [0.9], ('x0', 'x1', 'c0', 'L1_0'))
    """
    cfg = _Config(config or {}, options, config_source)
    layers = _layers(state_dict, source)
    n_layers = len(layers)
    cfg.check_equal("n_layers", n_layers, "the state_dict has this many layers")
    n_biases = cfg.int_list("n_biases", n_layers)
    bias_times = cfg.bias_times(n_biases)
    activation = cfg.get("activation", "linear")
    if activation != "linear":
        raise UnsupportedNetwork(cfg.src, cfg.where("activation"), activation,
                                 "only the linear activation is the linear SRM srmverify verifies")
    integrator = bool(cfg.get("use_forward_integrator", False))
    if integrator and cfg.get("delta", None):
        raise UnsupportedNetwork(cfg.src, cfg.where("delta"), cfg.get("delta"),
                                 "the time-discretised integrator with delta uses a hat kernel, not the linear SRM")
    if integrator and cfg.number("leak", 0.0) != 0.0:
        raise UnsupportedNetwork(cfg.src, cfg.where("leak"), cfg.get("leak"),
                                 "the time-discretised integrator starts at the leak potential: only 0 is supported")
    # the peer's integrator compares with the configured threshold unless thresholds are trained
    fixed_threshold = cfg.number("threshold") if integrator and not cfg.get("train_threshold", False) else None
    substitute = bool(cfg.get("substitute_delay", False))
    precision = cfg.get("rounding_precision", None)
    if precision not in (None, False):
        precision = cfg.number("rounding_precision")
        if precision <= 0:
            raise InputError(cfg.src, cfg.where("rounding_precision"), precision, "must be > 0")

    n_in = layers[0][0].shape[0] - n_biases[0]
    cfg.check_equal("n_inputs", n_in, f"layers.0.weight has {layers[0][0].shape[0]} rows and n_biases[0] = "
                                       f"{n_biases[0]}")
    if n_in <= 0:
        raise InputError(source, "layers.0.weight", f"shape {layers[0][0].shape}",
                         f"needs more rows than the n_biases[0] = {n_biases[0]} bias inputs")
    sizes = [w.shape[1] for w, _, _ in layers]
    cfg.check_equal("layer_sizes", sizes, "the state_dict's layer widths")

    constants: list[float] = []
    const_ids = [n_in + _constant_ids(constants, times) for times in bias_times]
    names = [f"x{i}" for i in range(n_in)] + [f"c{i}" for i in range(len(constants))]
    prev, nxt = np.arange(n_in), n_in + len(constants)
    src, dst, wt, dl, th = [], [], [], [], []
    for l, (w, d, t) in enumerate(layers):
        if w.shape[0] != len(prev) + n_biases[l]:
            raise InputError(source, f"layers.{l}.weight", f"shape {w.shape}",
                             f"expected {len(prev)} previous neurons + n_biases[{l}] = {n_biases[l]} rows")
        if precision not in (None, False):
            w = np.round(w / precision) * precision          # the peer's round_weights
        if substitute:
            with np.errstate(over="ignore"):
                d = np.exp(d)
        _check(d, source, f"layers.{l}.delays", lambda a: np.isfinite(a) & (a >= 0),
               "delay exp(kappa) must be finite" if substitute else "delay must be >= 0 and finite")
        if fixed_threshold is not None:
            t = np.full(w.shape[1], fixed_threshold)
        _check(t, source, f"layers.{l}.thresholds", lambda a: np.isfinite(a) & (a > 0), "threshold must be > 0")
        ids = np.arange(nxt, nxt + w.shape[1])
        inputs = np.concatenate([prev, const_ids[l]])
        src.append(np.tile(inputs, len(ids)))
        dst.append(np.repeat(ids, len(inputs)))
        wt.append(w.T.reshape(-1))                             # peer: rows = inputs; here: rows = neurons
        dl.append(d.T.reshape(-1))
        th.append(t)
        names += [f"L{l + 1}_{i}" for i in range(len(ids))]
        prev, nxt = ids, nxt + len(ids)
    return SNN(n_in, np.asarray(constants, float), np.concatenate(th), np.concatenate(src), np.concatenate(dst),
               np.concatenate(wt), np.concatenate(dl), prev, tuple(names), source=source)


def read_peer_config(path: str | Path) -> dict:
    """The peer's yaml configuration (``yaml.safe_load``; PyYAML comes with srmverify's dask)."""
    name = str(path)
    text = read_text(path)
    try:
        import yaml
    except ImportError:
        raise InputError(name, "file", name, "reading a yaml config needs PyYAML: pip install 'srmverify[peer]'") from None
    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(name, "yaml", text[:40], f"malformed yaml ({first_line(exc)})") from None
    if not isinstance(cfg, dict):
        raise InputError(name, "(top level)", type(cfg).__name__, "must be a mapping (the peer's config.yaml)")
    return cfg


def load_peer(path: str | Path, config: str | Path | Mapping[str, Any] | None = None, **options: Any) -> SNN:
    """Read a peer checkpoint: :func:`read_state_dict` + the configuration + :func:`peer_snn`.

    ``config`` is a yaml path or a parsed mapping; without it, the one set by
    :func:`use_peer_config` (the CLI's ``--peer-config``), else ``MODEL.yaml`` or ``config.yaml``
    beside the checkpoint.
    """
    if config is None:
        config = _default_config.get() or _beside(Path(path))
    if isinstance(config, (str, Path)):
        return peer_snn(read_state_dict(path), read_peer_config(config), source=str(path),
                        config_source=str(config), **options)
    return peer_snn(read_state_dict(path), config, source=str(path), **options)


@contextlib.contextmanager
def use_peer_config(path: str | Path | None) -> Iterator[None]:
    """Within the block, :func:`load_peer` (and so ``load_network("m.pt")``) reads ``path`` as the
    configuration of a checkpoint given without one (``None``: no change)."""
    token = _default_config.set(Path(path) if path is not None else _default_config.get())
    try:
        yield
    finally:
        _default_config.reset(token)


# ---------------------------------------------------------------------------------------------- mapping


class _Config:
    """The configuration fields of :data:`FIELDS`, each with the place it came from."""

    def __init__(self, config: Mapping[str, Any], options: Mapping[str, Any], src: str) -> None:
        if not isinstance(config, Mapping):
            raise InputError(src, "(top level)", type(config).__name__, "must be a mapping")
        self.src = src
        self.values: dict[str, tuple[str, Any]] = {}
        sections = [s for s in _SECTIONS if s in config]
        flat = {k: v for k, v in config.items() if k not in _SECTIONS and k in FIELDS}
        for k, v in flat.items():
            self.values[k] = (k, v)
        for s in sections:
            if not isinstance(config[s], Mapping):
                raise InputError(src, s, type(config[s]).__name__, "must be a mapping")
            for k, v in config[s].items():
                if k in FIELDS:
                    self.values[k] = (f"{s}.{k}", v)
        for k, v in options.items():
            if k not in FIELDS:
                raise InputError(src, k, v, f"unknown peer option (known: {', '.join(FIELDS)})")
            self.values[k] = (k, v)

    def where(self, key: str) -> str:
        return self.values[key][0] if key in self.values else key

    def get(self, key: str, default: Any = None) -> Any:
        return self.values[key][1] if key in self.values else default

    def require(self, key: str) -> Any:
        if key not in self.values:
            raise InputError(self.src, f"{FIELDS[key]}.{key}", None,
                             f"missing required peer config field (or the option {key}=...)")
        return self.values[key][1]

    def number(self, key: str, default: float | None = None) -> float:
        v = self.require(key) if default is None or key in self.values else default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise InputError(self.src, self.where(key), v, "must be a finite number")
        return float(v)

    def int_list(self, key: str, length: int) -> list[int]:
        v = self.require(key)
        if (not isinstance(v, (list, tuple)) or len(v) != length
                or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in v)):
            raise InputError(self.src, self.where(key), v, f"must be a list of {length} integers >= 0 (one per layer)")
        return list(v)

    def bias_times(self, n_biases: list[int]) -> list[list[float]]:
        """Per layer the bias spike times, normalised as the peer does (one list for every layer
        unless the first entry is itself a list)."""
        if not any(n_biases) and "bias_times" not in self.values:
            return [[] for _ in n_biases]
        v = self.require("bias_times")
        per_layer = v if isinstance(v, (list, tuple)) and v and isinstance(v[0], (list, tuple)) else [v] * len(n_biases)
        if not isinstance(v, (list, tuple)) or len(per_layer) != len(n_biases):
            raise InputError(self.src, self.where("bias_times"), v,
                             f"must be a list of times or one list per layer ({len(n_biases)})")
        out = []
        for l, (times, n) in enumerate(zip(per_layer, n_biases)):
            ok = isinstance(times, (list, tuple)) and all(
                isinstance(t, (int, float)) and not isinstance(t, bool) and math.isfinite(t) for t in times)
            if not ok or len(times) != n:
                raise InputError(self.src, self.where("bias_times"), v,
                                 f"layer {l} needs n_biases[{l}] = {n} finite times")
            out.append([float(t) for t in times])
        return out

    def check_equal(self, key: str, actual: Any, what: str) -> None:
        if key in self.values:
            v = self.values[key][1]
            if (list(v) if isinstance(v, (list, tuple)) else v) != actual:
                raise InputError(self.src, self.where(key), v, f"does not match the checkpoint: {what} ({actual})")


def _layers(state_dict: Mapping[str, Any], source: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    if not isinstance(state_dict, Mapping):
        raise InputError(source, "(top level)", type(state_dict).__name__, "must be a state_dict (a dict of tensors)")
    found: dict[int, dict[str, np.ndarray]] = {}
    for key, value in state_dict.items():
        m = _KEY.fullmatch(str(key))
        if m is None:
            raise InputError(source, str(key), _shape(value), "not a key of the peer's SpikingNet state_dict "
                             "(layers.<i>.weight / delays / thresholds)")
        try:
            a = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            raise InputError(source, str(key), type(value).__name__, "must be a numeric array") from None
        found.setdefault(int(m.group(1)), {})[m.group(2)] = a
    if not found:
        raise InputError(source, "layers.0.weight", None, "missing key (the state_dict has no layers)")
    out = []
    for l in range(max(found) + 1):
        parts = found.get(l, {})
        for part in ("weight", "delays", "thresholds"):
            if part not in parts:
                raise InputError(source, f"layers.{l}.{part}", None, "missing key")
        w, d, t = parts["weight"], parts["delays"], parts["thresholds"]
        if w.ndim != 2 or 0 in w.shape:
            raise InputError(source, f"layers.{l}.weight", f"shape {w.shape}", "must be a non-empty 2-D matrix")
        if d.shape != w.shape:
            raise InputError(source, f"layers.{l}.delays", f"shape {d.shape}", f"must have the weight's shape {w.shape}")
        if t.shape != (w.shape[1],):
            raise InputError(source, f"layers.{l}.thresholds", f"shape {t.shape}",
                             f"expected one threshold per neuron ({w.shape[1]},)")
        _check(w, source, f"layers.{l}.weight", np.isfinite, "must be a finite number")
        _check(d, source, f"layers.{l}.delays", np.isfinite, "must be a finite number")
        out.append((w, d, t))
    return out


def _check(a: np.ndarray, source: str, key: str, ok, problem: str) -> None:
    bad = np.argwhere(~ok(a))
    if len(bad):
        raise InputError(source, key + "".join(f"[{i}]" for i in bad[0]), float(a[tuple(bad[0])]), problem)


def _constant_ids(constants: list[float], times: list[float]) -> np.ndarray:
    """Indices into ``constants`` of a layer's bias spikes: the ``k``-th spike at time ``t`` uses the
    ``k``-th constant at ``t`` (appended when missing), so layers with the same times share them."""
    ids: list[int] = []
    for t in times:
        used = sum(1 for i in ids if constants[i] == t)
        same = [i for i, c in enumerate(constants) if c == t]
        if used < len(same):
            ids.append(same[used])
        else:
            constants.append(t)
            ids.append(len(constants) - 1)
    return np.asarray(ids, dtype=np.int64)


def _shape(value: Any) -> str:
    return f"shape {np.shape(value)}" if hasattr(value, "shape") else type(value).__name__


def _beside(path: Path) -> Path:
    for cand in (path.with_suffix(".yaml"), path.with_suffix(".yml"), path.parent / "config.yaml"):
        if cand.is_file():
            return cand
    raise InputError(str(path), "peer config", f"{path.with_suffix('.yaml').name} / config.yaml",
                     "no peer config beside the checkpoint: pass --peer-config CONFIG.yaml "
                     "(library: load_peer(path, config))")
