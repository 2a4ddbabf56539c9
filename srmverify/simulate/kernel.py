"""The first-crossing kernel of one level, with a rigorous error bound and near-tie detection.

For every (sample, neuron) of a level the kernel returns the float firing time ``t``, a bound
``e`` with ``|t - t_exact| <= e`` and a flag ``ambiguous``. It walks the arrivals in sorted order
(ties broken by source index) keeping the prefix sums ``W_k``, ``B_k`` (model.md §1.2) and finds
the first breakpoint where the float potential ``P(a_{k+1}) = W_k a_{k+1} - B_k`` reaches three
thresholds ``theta - E``, ``theta``, ``theta + E``. ``E`` bounds ``|P_float(t) - P_exact(t)|``
everywhere the crossing can be: the sources' own errors (``sum |w| * max e_src``), the rounding of
the arrivals and of the prefix sums (``gamma * sum |w| * (|t| + max |a|)`` with
``gamma = 2 (m + 8) u``, twice the textbook ``gamma_m``) and the rounding of ``theta +- E``. So the
exact crossing lies in ``[t_lo, t_hi]``; the time is **certified** when that interval is at most
``TIME_TOL * (1 + |t|)`` wide (then ``e = max(t_hi - t, t - t_lo)`` plus the rounding of the last
division), the neuron certainly **never fires** when even ``theta - E`` is never reached, and it is
**ambiguous** otherwise — a potential maximum within ``E`` of ``theta`` (fire or not), a crossing
that jumps to a later segment, or a last-segment slope whose sign the rounding cannot tell.
Ambiguous neurons are settled in exact arithmetic by the caller (:mod:`.fast`).

**Nonnegative weights with per-neuron delays** need no sort (the potential only rises): the
causal set is found by the fixed-point iteration ``S <- {j : a_j < t(S)}``, ``t(S) = (theta + sum_S
w a) / sum_S w``, started from all arrivals (each step is a candidate of model.md §1.1, an upper
bound of the firing time, and drops the arrivals at or after it; it stops when ``S`` does not
change). The time is continuous there, so it is never ambiguous; its bound uses the convexity of
the potential: ``e = 2 E / W_S + E (t - a_min + 1) / theta`` plus rounding (with ``E`` the
last-segment bound above).

Two implementations compute bit-identical results: :mod:`.kernel_numba` (compiled, parallel over
samples, early exit) and :mod:`.kernel_numpy` (the fallback). ``SRMVERIFY_SIMULATE_BACKEND`` =
``numba`` | ``numpy`` | ``auto`` (default: numba when it imports) chooses between them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..errors import InputError
from ..network import Level

#: Unit roundoff of float64.
U = 2.0 ** -53
#: A time is certified when its enclosure ``[t_lo, t_hi]`` is at most ``TIME_TOL * (1 + |t|)`` wide.
TIME_TOL = 1e-9
#: Environment variable that forces a backend.
BACKEND_ENV = "SRMVERIFY_SIMULATE_BACKEND"
#: Neurons walked together on a shared arrival order by the compiled kernel (its SIMD width
#: times the unroll that hides the latency of the prefix sums; 32 was as fast as 64, 8 and 16 slower).
BLOCK = 32
#: Samples the compiled kernel runs neuron by neuron together (one thread's unit of work), so a
#: neuron's weights and delays are read from memory once per group, not once per sample.
SAMPLES = 16


@dataclass(frozen=True)
class LevelArrays:
    """What the kernels need of a level, precomputed once per network.

    ``W`` (n_out, n_src) weights, ``D`` (n_out, n_src) delays (``D[0]`` when ``shared_order``),
    ``theta`` thresholds, ``sabs`` = ``sum_j |W[v, j]|``, ``dmax`` = ``max_j D[v, j]``, ``gamma``
    the rounding constant of the sums and ``newton[v]``: neuron ``v`` is solved by the
    causal-set iteration (no sort; weights >= 0 and per-neuron delays) instead of the walk.
    ``order``, ``blocks``, ``dblocks``: the layout of the compiled kernel's blocks of
    :data:`BLOCK` neurons (:func:`_blocks`): lane ``b`` of block ``k`` is neuron
    ``order[k * BLOCK + b]``, ``blocks[k, j, b]`` its weight from source ``j`` and
    ``dblocks[k, j, b]`` its delay (zero-padded), ``mono[k]`` whether every weight of block ``k``
    is >= 0; with a shared order every neuron is in a block (the block walk), else the ``newton``
    neurons are (``dblocks`` empty with a shared order).
    """

    W: np.ndarray
    D: np.ndarray
    theta: np.ndarray
    sabs: np.ndarray
    dmax: np.ndarray
    gamma: float
    shared_order: bool
    newton: np.ndarray
    order: np.ndarray
    blocks: np.ndarray
    mono: np.ndarray
    dblocks: np.ndarray

    @classmethod
    def of(cls, lv: Level) -> "LevelArrays":
        W = np.ascontiguousarray(lv.W, dtype=float)
        D = np.ascontiguousarray(lv.D, dtype=float)
        return cls._make(W, D, np.ascontiguousarray(lv.thresholds, dtype=float), bool(lv.shared_order))

    @classmethod
    def _make(cls, W: np.ndarray, D: np.ndarray, theta: np.ndarray, shared: bool) -> "LevelArrays":
        newton = np.all(W >= 0.0, axis=1) & (not shared)
        return cls(W, D, theta, np.abs(W).sum(axis=1), D.max(axis=1, initial=0.0), 2.0 * (W.shape[1] + 8) * U,
                   shared, newton, *_blocks(W, D, theta, shared, newton))

    def rows(self, sel: np.ndarray) -> "LevelArrays":
        """The same level restricted to the neurons ``sel`` (a boolean mask)."""
        return LevelArrays._make(self.W[sel], self.D[sel], self.theta[sel],
                                 self.shared_order)


def _blocks(W: np.ndarray, D: np.ndarray, theta: np.ndarray, shared: bool,
            newton: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``order``, ``blocks``, ``mono``, ``dblocks`` of :class:`LevelArrays`.

    The blocked neurons (all with a shared order, else the ``newton`` ones) are ordered by
    ``theta / sum of positive weights``, a proxy of the firing time, so that the neurons of a
    block tend to fire together and the block stops early (the results do not depend on the
    order); ``W`` and ``D`` of each block are transposed to (n_src, BLOCK), zero-padded.

    >>> order, blocks, mono, _ = _blocks(np.array([[1.0, 0.0], [2.0, 1.0], [1.0, 1.0]]), np.zeros((1, 2)),
    ...                            np.ones(3), True, np.zeros(3, bool))
    >>> order.tolist(), blocks[0, :, :4].tolist(), mono.tolist()
    ([1, 2, 0], [[2.0, 1.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]], [True])
    """
    n_out, n_src = W.shape
    ids = np.arange(n_out) if shared else np.flatnonzero(newton)
    with np.errstate(divide="ignore"):
        proxy = theta[ids] / np.maximum(W[ids], 0.0).sum(axis=1)
    order = ids[np.argsort(proxy, kind="stable")]
    n_blk = -(-len(order) // BLOCK)

    def lay(M: np.ndarray) -> np.ndarray:
        Mp = np.zeros((n_blk * BLOCK, n_src))
        Mp[:len(order)] = M[order]
        return np.ascontiguousarray(Mp.reshape(n_blk, BLOCK, n_src).transpose(0, 2, 1))

    blocks = lay(W)
    mono = np.asarray((blocks >= 0.0).all(axis=(1, 2)))
    return order, blocks, mono, (np.empty((0, n_src, BLOCK)) if shared else lay(D))


def backend() -> str:
    """The backend in use: ``"numba"`` or ``"numpy"`` (from ``SRMVERIFY_SIMULATE_BACKEND``).

    >>> backend() in ("numba", "numpy")
    True
    """
    want = os.environ.get(BACKEND_ENV, "auto").strip().lower() or "auto"
    if want not in ("auto", "numba", "numpy"):
        raise InputError("<environment>", BACKEND_ENV, want, "expected auto, numba or numpy")
    if want == "numpy":
        return "numpy"
    if _numba_available():
        return "numba"
    if want == "numba":
        raise InputError("<environment>", BACKEND_ENV, want, "numba cannot be imported")
    return "numpy"


@lru_cache(maxsize=1)
def _numba_available() -> bool:
    try:
        from . import kernel_numba  # noqa: F401
    except ImportError:
        return False
    return True


def level_times(la: LevelArrays, T: np.ndarray, E: np.ndarray, out_t: np.ndarray | None = None,
                out_e: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Times, error bounds and ambiguity flags ``(c, n_out)`` of a level's neurons.

    ``T`` (c, n_src) are the sources' float times (``inf`` = never fires) and ``E`` their error
    bounds (views of a larger array are fine: the compiled backend reads them in place). The
    times and bounds are written to ``out_t``, ``out_e`` (float (c, n_out), e.g. views) when given,
    and returned.
    """
    if backend() == "numba":
        from .kernel_numba import level_times as run
    else:
        from .kernel_numpy import level_times as run
        T = np.ascontiguousarray(T, dtype=float)
        E = np.ascontiguousarray(E, dtype=float)
    return run(la, T, E, out_t, out_e)
