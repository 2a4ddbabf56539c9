"""What every solver backend returns: a :class:`Solution` with a status in OUR vocabulary.

Statuses (each backend maps its native statuses to these in its own ``STATUS_MAP``):

* ``optimal``    -- proven optimal (or, without objective, a feasible point was found);
* ``infeasible`` -- proven infeasible;
* ``feasible``   -- a point was found but optimality is NOT proven (e.g. a time limit hit);
* ``timeout``    -- stopped by the time limit without any point;
* ``unbounded``  -- the objective is unbounded;
* ``unknown``    -- the solver gave up for another reason (``message`` says why);
* ``error``      -- the solver failed.

Only ``optimal`` and ``infeasible`` are proofs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from ..errors import SolverError

PROOF_STATUSES = ("optimal", "infeasible")
STATUSES = ("optimal", "infeasible", "feasible", "timeout", "unbounded", "unknown", "error")


@dataclass
class Solution:
    """A solver's answer.

    ``values`` are float values of every program variable (``None`` without a point);
    ``exact`` the same as rationals for exact engines; ``bound`` a proven bound on the objective
    (upper bound when maximising) when the solver provides one; ``tolerance`` the tolerance used
    for strict rows (``None`` for exact engines).
    """

    status: str
    engine: str
    values: np.ndarray | None = None
    objective: float | None = None
    bound: float | None = None
    exact: list[Fraction] | None = None
    tolerance: float | None = None
    time: float = 0.0
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def proven(self) -> bool:
        return self.status in PROOF_STATUSES

    @property
    def has_point(self) -> bool:
        return self.values is not None

    @property
    def point(self) -> np.ndarray:
        """``values`` of a solution that has a point (:class:`SolverError` otherwise: a status
        that promised one, ``optimal`` or ``feasible``, without values).

        >>> Solution("optimal", "highs", values=np.array([1.0])).point.tolist()
        [1.0]
        """
        if self.values is None:
            raise SolverError(f"{self.engine}: a '{self.status}' solution without a point")
        return self.values
