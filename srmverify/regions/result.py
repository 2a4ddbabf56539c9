"""The result of a region count, whatever engine produced it."""
from __future__ import annotations

import gc
import time
from contextlib import contextmanager
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Iterator, TypeVar, overload

import networkx as nx
import numpy as np

from ..stop import stop_requested


@dataclass
class Region:
    """One full-dimensional region found: its pattern (hex), an interior point in data space
    (the Chebyshev centre for the traversal), the ball radius in domain coordinates, and the
    affine output map ``out_G @ y + out_h`` in domain coordinates (``None`` rows never fire)."""

    pattern: str
    point: list[float]
    radius: float | None = None
    output_map: list[list[float] | None] | None = None


T = TypeVar("T")


class Lazy(Sequence[T]):
    """A read-only list of ``n`` entries made by ``build()`` on first access: a count needs no
    Python object per region, a listing or a plot makes them once (the refinements keep their
    regions and polygons as arrays until then).

    >>> xs = Lazy(2, lambda: ["a", "b"])
    >>> len(xs), xs[-1], list(xs), xs == ["a", "b"]
    (2, 'b', ['a', 'b'], True)
    >>> import pickle; pickle.loads(pickle.dumps(xs))
    ['a', 'b']
    """

    __slots__ = ("_n", "_build", "_items")

    def __init__(self, n: int, build: Callable[[], list[T]]) -> None:
        self._n, self._build = n, build
        self._items: list[T] | None = None

    def _list(self) -> list[T]:
        if self._items is None:
            self._items = self._build()
            assert len(self._items) == self._n
        return self._items

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        return self._list()[i]

    def __iter__(self) -> Iterator[T]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, Sequence) else NotImplemented

    def __reduce__(self) -> tuple:
        return list, (self._list(),)             # pickled (and copied) as the plain list

    def __repr__(self) -> str:
        return f"Lazy({self._list()!r})" if self._items is not None else f"Lazy(<{self._n} entries, not made yet>)"


def region_table(keys: np.ndarray, points: Callable[[], np.ndarray], radii: np.ndarray, G: np.ndarray,
                 h: np.ndarray, fires: np.ndarray) -> Lazy[Region]:
    """The regions of a refinement, made on first access: packed pattern bytes ``keys`` (N, n_bytes),
    ``points()`` their witnesses in data space (N, n_inputs), the radii (N,) and the output maps
    ``G @ y + h`` (``G`` (N, n_out, d), ``h`` and the firing flags ``fires`` (N, n_out)).

    >>> t = region_table(np.array([[5]], np.uint8), lambda: np.array([[0.5]]), np.array([0.25]),
    ...                  np.ones((1, 1, 1)), np.zeros((1, 1)), np.array([[True]]))
    >>> len(t), t[0]
    (1, Region(pattern='05', point=[0.5], radius=0.25, output_map=[[1.0, 0.0]]))
    """
    def build() -> list[Region]:
        hexes, w = np.ascontiguousarray(keys).tobytes().hex(), 2 * keys.shape[1]
        with no_gc():
            return [Region(hexes[k * w: k * w + w], x, r, om)
                    for k, (x, r, om) in enumerate(zip(points().tolist(), radii.tolist(), output_maps(G, h, fires)))]
    return Lazy(len(keys), build)


@dataclass
class RegionsResult:
    """Counts of full-dimensional regions of a network on a domain.

    ``causal_regions`` counts distinct causal patterns (activation patterns for ReLU networks);
    ``cells`` the convex pieces the traversal walked (more than ``causal_regions`` only for
    mixed-sign SNNs, whose causal regions need not be convex); ``linear_regions`` the maximal
    connected unions with one affine output map (``None`` when the engine does not compute it).
    ``complete`` is False when stopped early (``stopped`` says why): the counts are then lower
    bounds. ``tolerance`` is the Chebyshev radius a region must exceed (traversal), or the margin
    of strict inequalities (MILP); ``None`` means exact (z3, strict inequalities).
    """

    engine: str
    kind: str
    dim: int
    causal_regions: int
    linear_regions: int | None
    complete: bool
    time: float
    tolerance: float | None
    cells: int | None = None
    stopped: str | None = None
    discontinuities: int | None = None
    #: a list, or for the refinements a :class:`Lazy` one (its entries made on first access)
    regions: Sequence[Region] = field(default_factory=list)
    graph: nx.Graph | None = None
    theory: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    compare: "RegionsResult | None" = None
    #: backward-masked causal patterns ("causal pieces", :mod:`.pieces`); SNNs only
    causal_pieces: int | None = None
    #: the convex pieces as vertex arrays (2-D refinement only; one per entry of ``regions``)
    polygons: Sequence[np.ndarray] | None = None

    @property
    def rate(self) -> float:
        """Regions per second."""
        return self.causal_regions / self.time if self.time > 0 else float("inf")

    def to_dict(self, include_regions: bool = False) -> dict[str, Any]:
        d: dict[str, Any] = {
            "engine": self.engine, "kind": self.kind, "dim": self.dim,
            "causal_regions": self.causal_regions, "linear_regions": self.linear_regions,
            "causal_pieces": self.causal_pieces,
            "cells": self.cells, "complete": self.complete, "stopped": self.stopped,
            "partial": not self.complete, "time": self.time, "regions_per_s": self.rate,
            "tolerance": self.tolerance, "exact": self.tolerance is None,
            "discontinuities": self.discontinuities, "theory": self.theory, "stats": self.stats,
            "warnings": self.warnings,
        }
        if self.compare is not None:
            d["compare_relu"] = self.compare.to_dict()
        if include_regions:
            d["regions"] = [vars(r) for r in self.regions]
            if self.graph is not None:
                d["adjacency"] = [[int(u), int(v), bool(a.get("continuous", True))]
                                  for u, v, a in self.graph.edges(data=True)]
        return d


def output_map(G: np.ndarray, h: np.ndarray, fires: np.ndarray) -> list[list[float] | None]:
    """Rows ``[g_1, ..., g_k, h]`` of an output map (``None`` for an output that never fires).

    >>> output_map(np.array([[1.0, 2.0], [0.0, 0.0]]), np.array([3.0, 0.0]), np.array([True, False]))
    [[1.0, 2.0, 3.0], None]
    """
    return output_maps(G[None], h[None], fires[None])[0]


def output_maps(G: np.ndarray, h: np.ndarray, fires: np.ndarray) -> list[list[list[float] | None]]:
    """:func:`output_map` of a batch: ``G`` (N, n_out, k), ``h`` and ``fires`` (N, n_out)."""
    with no_gc():
        rows = np.concatenate([G, h[:, :, None]], axis=2).tolist()
        for r, f in zip(rows, fires.tolist()):
            for j, on in enumerate(f):
                if not on:
                    r[j] = None
    return rows


@contextmanager
def no_gc() -> Iterator[None]:
    """The garbage collector off while millions of new lists and dicts are made (region lists,
    adjacency graphs): its passes over them cost more than making them, and they are not garbage."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def stop_reason(found: int, max_regions: int | None, t0: float, timeout: float | None) -> str | None:
    """Why an enumeration must stop now (``"max-regions"`` / ``"timeout"`` / ``"interrupted"``,
    a stop request of :mod:`srmverify.stop`), or None to go on.

    >>> stop_reason(5, 5, 0.0, None), stop_reason(1, None, time.perf_counter(), 60.0)
    ('max-regions', None)
    """
    if max_regions is not None and found >= max_regions:
        return "max-regions"
    if timeout is not None and time.perf_counter() - t0 > timeout:
        return "timeout"
    if stop_requested():
        return "interrupted"
    return None
