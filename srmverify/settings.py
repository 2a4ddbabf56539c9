"""Every tuning constant of srmverify in one frozen object.

A query takes ``settings: Settings = DEFAULT`` and hands it down to the stages that need a
value; nothing reads a tolerance from a module constant of its own. To change a value, make a
new object (names are checked, so a misspelled setting is an error, never silently ignored):

>>> from srmverify.settings import DEFAULT
>>> s = DEFAULT.replace(tau=1e-7)
>>> s.tau, DEFAULT.tau
(1e-07, 1e-06)
>>> DEFAULT.replace(tua=1e-7)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
srmverify.errors.InputError: settings: tua = 1e-07: unknown setting (known: tau, feasibility_tol, ...)

Not here, on purpose: sizes that only trade memory for speed and never change an answer
(``simulate.fast.CHUNK_ENTRIES``, ``convert.dyadic.SMALL_PRODUCT``), input-size guards of the
readers (``formats.files.MAX_GZ_BYTES``, ``formats.vnnlib._MAX_DISJUNCTS``,
``convert.relu_to_snn.MAX_EXACT_INT``) and the float simulator's tie slack (settled exactly by
:mod:`srmverify.simulate`).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import InputError


@dataclass(frozen=True)
class Settings:
    """Tolerances, time slices and search limits (defaults are the documented values)."""

    # ---- tolerances of float solvers (every MILP verdict states ``tau``)
    #: Strict rows in a MILP: ``a < b`` is solved as ``a <= b - tau``.
    tau: float = 1e-6
    #: Primal (LP) feasibility tolerance asked of HiGHS / PuLP-HiGHS (well below tau).
    feasibility_tol: float = 1e-8
    #: MIP feasibility (integrality and row) tolerance asked of HiGHS / PuLP-HiGHS.
    mip_feasibility_tol: float = 1e-8
    #: ... and of HiGHS in a branch-and-bound leaf (:func:`srmverify.verify.bab.solve_leaf`: no
    #: presolve, its ``infeasible`` prunes a box). At 1e-8, HiGHS 1.16 without presolve has called
    #: feasible SNN leaf MILPs infeasible (4 of 2,482 random 2-3-1 leaves; none at 1e-7). A larger
    #: tolerance only enlarges what the solver accepts, so a leaf's ``infeasible`` and bound stay on
    #: the safe side (its points are re-checked exactly). Not everywhere: 1e-7 lets the big-M rows of
    #: an exact-equivalence MILP offer spurious near-tie violations (``unknown`` instead of ``unsat``).
    leaf_mip_feasibility_tol: float = 1e-7
    #: Relative and absolute optimality gap asked of a MILP solver.
    mip_gap: float = 1e-9
    #: Absolute slack added to an LP optimum used as a bound (LP optima are accurate to the
    #: solver's tolerances only).
    lp_slack: float = 1e-7
    #: Relative outward widening of every float bound (``lo - m (1 + |lo|)``) and of float values
    #: turned into bounds, so rounding cannot make a bound unsound.
    bound_margin: float = 1e-9
    #: Relative slack of the float screening of candidate counterexamples (a superset is fine:
    #: every candidate is re-checked exactly).
    screen_slack: float = 1e-9
    #: Relative safety margin of the SNN -> ReLU conversion's case decisions.
    convert_safety: float = 1e-9

    # ---- time
    #: Smallest time limit handed to a solver (zero or negative means "no limit" to some).
    min_time_slice: float = 0.01

    # ---- bounds
    #: An SNN neuron with more "maybe" sources than this gets interval bounds only.
    max_maybe_sources: int = 12

    # ---- verification pipeline (srmverify.verify.pipeline)
    #: Random samples tried before any solver is called.
    n_samples: int = 256
    #: At most this many sampled input coordinates in total (fewer samples for wide inputs).
    sample_entries: int = 16384
    #: Binary patterns a MILP query may cut off (each proven by z3 to hold no exact violation).
    max_cuts: int = 16
    #: Rounds of first-crossing refinement before the full encoding (-1: full from the start).
    max_refinements: int = 30

    # ---- branch and bound over input splits (srmverify.verify.bab)
    #: Queries on ReLU networks use input splitting up to this many inputs; beyond, one MILP.
    bab_max_inputs: int = 12
    #: A box with at most this many unstable ReLUs is closed by an exact (compact) MILP.
    bab_leaf_unstable: int = 16
    #: Slope-optimisation steps of each box's upper bound.
    bab_alpha_steps: int = 8
    #: Time limit of one leaf MILP (seconds): an unsolved leaf is split further instead.
    bab_leaf_time: float = 2.0
    #: Boxes bounded per batch (small batches stay below multi-threaded BLAS sizes).
    bab_batch: int = 64
    #: Random local-search points around the incumbent per batch.
    bab_local_steps: int = 64
    #: An SNN box whose bounds leave at most this many synapses' causality open is closed by an
    #: exact (MILP/SMT) leaf encoding (srmverify.verify.bab_snn). 30 since the leaves' triangle
    #: rows (12 before): 5-20-20-1 issue-11 nets 3/5 within 60 s (0/5 at 12).
    bab_snn_leaf_undecided: int = 30
    #: An SNN box is offered a branch on a neuron's spike time (it competes with the input split:
    #: srmverify.verify.bab.maximize keeps the branch with the better children) when the gap of that
    #: neuron's linear bounds at the box centre exceeds this many times what the box's widths
    #: explain (a jump inside the box; srmverify.verify.bab_snn.unit_choice).
    bab_snn_unit_ratio: float = 1.0
    #: ... and only on boxes no wider than this fraction (1/16) of the search's root box in every
    #: input (wider: the offered neuron is rarely the one that matters, and each offer costs two
    #: bounds). 1/16 and ratio 1 (were 1/256 and 2): 5-20-20-1 seed 2's open upper bound at 60 s CPU
    #: 0.991 -> 0.984 (true maximum 0.97388), 5-10-10-1 unchanged.
    bab_snn_unit_width: float = 0.0625
    #: ... and at most this many times on one neuron along a path of the search.
    bab_snn_unit_depth: int = 2
    #: SNN boxes bounded per batch (the SNN bounds are numpy-overhead bound: larger batches pay).
    bab_snn_batch: int = 256

    # ---- regions (srmverify.regions)
    #: A linear region must hold a ball of radius ``region_radius_tol * domain.scale``.
    region_radius_tol: float = 1e-9
    #: Two regions' closures touch within ``region_closure_tol * domain.scale``.
    region_closure_tol: float = 1e-7
    #: Events on a line closer than this (in the line parameter) are one event.
    event_tol: float = 1e-12
    #: A constraint row with a smaller norm is treated as zero.
    zero_row: float = 1e-12

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            kind = int if f.type in ("int", int) else float
            if isinstance(v, bool) or not isinstance(v, (int, float)) or (kind is int and not isinstance(v, int)):
                raise InputError("settings", f.name, v, f"must be {'an integer' if kind is int else 'a number'}")
            low = -1 if f.name == "max_refinements" else 0
            if not math.isfinite(v) or v < low or (kind is float and v == 0):
                raise InputError("settings", f.name, v, "must be finite and " + ("> 0" if kind is float else f">= {low}"))

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` (each name must be a field; values are validated)."""
        names = [f.name for f in dataclasses.fields(self)]
        for k, v in changes.items():
            if k not in names:
                raise InputError("settings", k, v, f"unknown setting (known: {', '.join(names)})")
        return dataclasses.replace(self, **changes)


#: The documented defaults.
DEFAULT = Settings()
