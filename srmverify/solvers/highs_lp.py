"""Incremental LPs with highspy directly (bound tightening: thousands of small LPs want the
~0.1 ms incremental re-solve, not a fresh model each time)."""
from __future__ import annotations

import numpy as np

from . import highs
from .highs import highspy
from ..settings import DEFAULT


class TriangleLP:
    """The triangle LP relaxation of a ReLU network, grown layer by layer.

    Columns: the inputs (box bounds), every layer's pre-activations ``z`` and, for unstable
    ReLUs, a column ``h`` with ``h >= 0, h >= z, h <= s (z - lo)``.
    """

    def __init__(self, box: np.ndarray):
        self.h = highs.new_model()
        self.n = 0
        self.prev: list[int | None] = list(self._cols(box[:, 0], box[:, 1]))

    def _cols(self, lo: np.ndarray, hi: np.ndarray) -> list[int]:
        k = len(lo)
        self.h.addVars(k, np.asarray(lo, float), np.asarray(hi, float))
        cols = list(range(self.n, self.n + k))
        self.n += k
        return cols

    def add_affine(self, W: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[int]:
        """Columns ``z = W h_prev + b`` with bounds ``[lo, hi]``."""
        cols = self._cols(lo, hi)
        live = [(j, c) for j, c in enumerate(self.prev) if c is not None]
        for i, z in enumerate(cols):
            idx = [z] + [c for j, c in live if W[i, j] != 0]
            val = [1.0] + [-float(W[i, j]) for j, c in live if W[i, j] != 0]
            self.h.addRow(float(b[i]), float(b[i]), len(idx), np.array(idx, np.int32), np.array(val))
        return cols

    def add_relu(self, cols: list[int], lo: np.ndarray, hi: np.ndarray) -> None:
        """Relax ``h = relu(z)`` for the columns ``cols``; sets the next layer's inputs."""
        nxt: list[int | None] = []
        for z, l, u in zip(cols, lo, hi):
            if l >= 0:
                nxt.append(z)
            elif u <= 0:
                nxt.append(None)
            else:
                hcol = self._cols(np.array([0.0]), np.array([u]))[0]
                s = u / (u - l)
                inf = highspy.kHighsInf
                self.h.addRow(0.0, inf, 2, np.array([hcol, z], np.int32), np.array([1.0, -1.0]))
                self.h.addRow(-inf, float(-s * l), 2, np.array([hcol, z], np.int32), np.array([1.0, -s]))
                nxt.append(hcol)
        self.prev = nxt

    def optimise(self, col: int, maximizing: bool) -> float | None:
        """Optimum of one column (``None`` unless proven optimal)."""
        self.h.changeColCost(col, 1.0)
        self.h.changeObjectiveSense(highspy.ObjSense.kMaximize if maximizing else highspy.ObjSense.kMinimize)
        self.h.run()
        ok = highs.status(self.h)[0] == "optimal"

        val = float(self.h.getInfo().objective_function_value) if ok else None
        self.h.changeColCost(col, 0.0)
        return val

    def tighten(self, cols: list[int], lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Intersect ``[lo, hi]`` with the LP optima of the columns (and update the columns)."""
        lo, hi = lo.copy(), hi.copy()
        for i, c in enumerate(cols):
            v = self.optimise(c, False)
            if v is not None:
                lo[i] = max(lo[i], v - DEFAULT.lp_slack)
            v = self.optimise(c, True)
            if v is not None:
                hi[i] = min(hi[i], v + DEFAULT.lp_slack)
            self.h.changeColBounds(c, float(lo[i]), float(hi[i]))
        return lo, hi
