"""Run one VNN-COMP instance: :func:`run_instance` never raises for a problem of the instance
(a missing file, an unsupported operator or construct, a size mismatch, even a bug of ours): it
returns an ``error`` result naming it, so a batch goes on. Networks are cached per process
(:func:`cached_network`), so a worker loads each network once.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from ..errors import InputError, SrmverifyError, UnsupportedNetwork
from ..formats import load_network
from ..formats.vnnlib import format_counterexample, read_vnnlib
from ..results import Verdict
from .instances import Instance

#: The verdicts a result can have (VNN-COMP's vocabulary).
VERDICTS = tuple(v.value for v in Verdict)


def tally(verdicts: Iterable[str]) -> dict[str, int]:
    """How many of each verdict (every verdict listed, in :data:`VERDICTS` order).

    >>> tally(["sat", "unsat", "sat"])
    {'unsat': 1, 'sat': 2, 'unknown': 0, 'timeout': 0, 'error': 0}
    """
    c = dict.fromkeys(VERDICTS, 0)
    for v in verdicts:
        c[v] += 1
    return c


def counts_text(counts: dict[str, int]) -> str:
    """The non-zero counts for a progress line: ``'unsat 1 sat 2'``."""
    return " ".join(f"{k} {v}" for k, v in counts.items() if v)


@dataclass
class InstanceResult:
    """Outcome of one instance: ``verdict`` (``sat|unsat|unknown|timeout|error``), wall time in
    seconds on the worker (loading included), the counterexample ``(x, y)`` of a ``sat`` (re-checked
    exactly by the library), the MILP tolerance (``None``: exact) and a message (the reason of an
    ``error``)."""

    key: tuple[str, str]
    name: str
    verdict: str
    time: float
    counterexample: tuple[list[float], list[float | None]] | None = None
    tolerance: float | None = None
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    #: for a multi-network (VNN-LIB 2.0) instance: the counterexample in the 2.0 form
    #: (``NAME TYPE [shape]`` then one value per line), written instead of ``((X_0 v) ...)``
    counterexample_text: str | None = None

    def result_file_text(self) -> str:
        """The VNN-COMP result file: the verdict on the first line; for ``sat`` the counterexample
        ``((X_0 v) ... (Y_0 v))``; for ``error`` the reason as a ``;`` comment.

        >>> print(InstanceResult(("n", "p"), "n_p", "sat", 0.1, ([0.5], [2.0])).result_file_text(), end="")
        sat
        ((X_0 0.5)
         (Y_0 2.0))
        """
        text = self.verdict + "\n"
        if self.verdict == "sat" and self.counterexample_text is not None:
            text += self.counterexample_text
        elif self.verdict == "sat" and self.counterexample is not None:
            text += format_counterexample(*self.counterexample)
        elif self.message and self.verdict == "error":
            text += "; " + " ".join(self.message.split()) + "\n"
        return text


@lru_cache(maxsize=16)
def _load(path: str, mtime: float):
    return load_network(path)


@lru_cache(maxsize=64)
def _read_property(path: str, mtime: float, v2: bool):
    from ..formats.vnnlib2 import read_query

    return read_query(path) if v2 else read_vnnlib(path)


def _mtime(path: str) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0            # the reader names the problem


def cached_network(path: str):
    """The network at ``path``, loaded once per process (re-read when the file changes)."""
    return _load(path, _mtime(path))


def cached_property(path: str, v2: bool = False):
    """The property at ``path`` (a :class:`~srmverify.formats.vnnlib.VnnlibProperty`, or with
    ``v2`` a VNN-LIB 2.0 :class:`~srmverify.formats.vnnlib2.LinearQuery`), parsed once per process
    (re-read when the file changes). Callers must not modify it."""
    return _read_property(path, _mtime(path), v2)


def warm_up(instances: Iterable[Instance]) -> None:
    """Import the solver stack and load every network and property of ``instances`` into this
    process's caches (an executor runs it on every worker before a batch: ``executor.warm``).
    A file that cannot be read is skipped here; the instance's own run reports it.

    >>> warm_up([Instance((("", "missing.onnx"),), "missing.vnnlib", 1.0, "", "")])
    """
    import srmverify.verify.queries  # noqa: F401  (the solver stack every task needs)

    for inst in instances:
        for _, path in inst.networks:
            try:
                cached_network(path)
            except SrmverifyError:
                pass
        try:
            cached_property(inst.vnnlib, v2=len(inst.networks) > 1)
        except SrmverifyError:
            pass


def load_instance(instance: Instance):
    """The network (cached) and the parsed property of ``instance``, checked against each other;
    an :class:`~srmverify.errors.InputError` names what cannot be run.

    Examples
    --------
    >>> load_instance(Instance((("f", "a.onnx"), ("g", "b.onnx")), "p.vnnlib", 1.0, "[...]", "p.vnnlib"))
    Traceback (most recent call last):
    ...
    srmverify.errors.UnsupportedNetwork: [...]: networks = 2: a multi-network instance is run by run_instance (a VNN-LIB 2.0 query)
    """
    if len(instance.networks) != 1:
        raise UnsupportedNetwork(instance.onnx_field, "networks", len(instance.networks),
                                 "a multi-network instance is run by run_instance (a VNN-LIB 2.0 query)")
    net = cached_network(instance.networks[0][1])
    spec = cached_property(instance.vnnlib)
    if (spec.n_inputs, spec.n_outputs) != (net.n_inputs, net.n_outputs):
        raise InputError(spec.source, "declare-const", f"{spec.n_inputs} X, {spec.n_outputs} Y",
                         f"the network has {net.n_inputs} inputs and {net.n_outputs} outputs")
    return net, spec


def run_instance(instance: Instance, *, timeout: float | None = None, engine: str = "highs") -> InstanceResult:
    """Check one instance within ``timeout`` seconds (default: the instance's own), loading
    included. Problems of the instance give an ``error`` result; a ``sat`` carries the exactly
    re-checked counterexample.

    Examples
    --------
    >>> import tempfile, pathlib, json
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "n.json").write_text(json.dumps({"kind": "relu", "layers": [{"weights": [[1.0]], "biases": [0.0]}]}))
    >>> _ = (d / "p.vnnlib").write_text("(declare-const X_0 Real)(declare-const Y_0 Real)"
    ...                                 "(assert (>= X_0 0))(assert (<= X_0 1))(assert (>= Y_0 0.5))")
    >>> r = run_instance(Instance((("", str(d / "n.json")),), str(d / "p.vnnlib"), 10.0, "n.json", "p.vnnlib"))
    >>> r.verdict, r.counterexample[0][0] >= 0.5
    ('sat', True)
    >>> run_instance(Instance((("", str(d / "no.onnx")),), str(d / "p.vnnlib"), 10.0, "no.onnx", "p.vnnlib")).verdict
    'error'
    """
    from ..verify.queries import check_vnnlib

    t0 = time.perf_counter()
    limit = instance.timeout if timeout is None else timeout

    def done(verdict: str, **kw) -> InstanceResult:
        return InstanceResult(instance.key, instance.name, verdict, time.perf_counter() - t0, **kw)

    cex_text = None
    try:
        left = max(limit - (time.perf_counter() - t0), 1e-3)
        if len(instance.networks) > 1:      # VNN-LIB 2.0: one stacked query over the named networks
            from ..formats.vnnlib2 import format_counterexample2
            from ..verify.relational import check_query

            query = cached_property(instance.vnnlib, v2=True)
            nets = {name: cached_network(path) for name, path in instance.networks}
            res = check_query(nets, query, engine=engine, timeout=left)
            if res.counterexample is not None:
                cex_text = format_counterexample2(query.networks, res.counterexample.input,
                                                  res.counterexample.output, verdict=None)
        else:
            net, spec = load_instance(instance)
            res = check_vnnlib(net, spec, engine=engine, timeout=left)
    except SrmverifyError as exc:
        return done("error", message=str(exc))
    except Exception as exc:    # a bug of ours on this instance: recorded as its error, the batch goes on
        return done("error", message=f"internal error: {type(exc).__name__}: {exc}")
    cex = None
    if res.counterexample is not None:
        cex = (list(res.counterexample.input), list(res.counterexample.output))
    return done(Verdict(res.verdict).value, counterexample=cex, counterexample_text=cex_text,
                tolerance=res.tolerance, message=res.message,
                details={"engine": res.engine, **{k: v for k, v in res.stats.items() if isinstance(v, (str, int, float))}})


def result_file(out_dir: str | Path, result: InstanceResult) -> Path:
    """Where the result file of ``result`` goes: ``DIR/results/<net>_<prop>.txt``."""
    return Path(out_dir) / "results" / f"{result.name}.txt"
