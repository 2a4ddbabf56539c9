"""Simulating a stream of input chunks into a writer: memory independent of the number of rows.

>>> from srmverify.network import SNN
>>> net = SNN.layered([[[1.0, -2.0]]], [[1.0]])
>>> got = []
>>> r = simulate_chunks(net, [(0, np.array([[0.0, 0.0], [0.0, 5.0]]))], lambda y, e: got.append(y))
>>> got[0].tolist(), r.rows, r.complete
([[inf], [1.0]], 2, True)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

import numpy as np

from ..deadline import deadline_after, expired
from ..network import SNN, ReLUNet
from .exact import simulate_exact
from .fast import simulate_snn

#: ``write(values, exact)``: ``values`` (k, n_outputs) floats (``inf`` = never fires), ``exact``
#: their exact strings in exact mode, else ``None``.
Writer = Callable[[np.ndarray, "Sequence[Sequence[str]] | None"], None]


@dataclass
class StreamResult:
    """What a streamed simulation did: rows written, neurons settled exactly, whether all rows
    were done (``False``: the time limit stopped it between chunks; the rows written are valid)."""

    rows: int
    settled: int
    complete: bool


def simulate_chunks(net: SNN | ReLUNet, chunks: Iterable[tuple[int, np.ndarray]], write: Writer,
                    exact: bool = False, timeout: float | None = None, total: int | None = None,
                    progress: Callable[..., None] | None = None) -> StreamResult:
    """Simulate every chunk ``(first row, inputs)`` and hand the outputs to ``write`` in order.

    Float mode uses :func:`.fast.simulate_snn` (near-ties settled exactly); ``exact=True`` runs
    :func:`.exact.simulate_exact` row by row and also passes the exact strings. ``timeout`` is a
    wall-clock limit checked between chunks (between rows in exact mode).
    """
    deadline = deadline_after(timeout)
    rows = settled = 0
    for _, x in chunks:
        if expired(deadline):
            return StreamResult(rows, settled, False)
        if exact:
            vals: list = []
            shown: list = []
            for row in x:
                if vals and expired(deadline):
                    break
                ys = simulate_exact(net, row.tolist())
                vals.append([np.inf if v is None else float(v) for v in ys])
                shown.append(["inf" if v is None else str(v) for v in ys])
            write(np.array(vals, dtype=float).reshape(len(vals), -1), shown)
            rows += len(vals)
            if len(vals) < len(x):
                return StreamResult(rows, settled, False)
        else:
            if isinstance(net, ReLUNet):
                y = net.evaluate(x)
            else:
                y, s = simulate_snn(net, x)
                settled += s
            write(y, None)
            rows += len(x)
        if progress is not None:
            progress(rows, total, f"{rows} rows")
    return StreamResult(rows, settled, True)
