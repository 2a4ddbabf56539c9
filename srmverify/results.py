"""Verdicts and the exit-code table shared by every command."""
from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """Outcome of a verification query (VNN-COMP vocabulary).

    ``UNSAT`` means the property holds (no counterexample exists: proven), ``SAT`` that it is
    violated by an exactly re-checked counterexample.
    """

    UNSAT = "unsat"
    SAT = "sat"
    UNKNOWN = "unknown"
    TIMEOUT = "timeout"
    ERROR = "error"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


#: Exit codes of every command (README documents the same table).
EXIT_OK = 0            # holds (unsat), certificate accepted, command succeeded
EXIT_VIOLATED = 1      # sat with an exactly re-checked counterexample; certificate rejected
EXIT_USAGE = 2         # usage error (click's own)
EXIT_BAD_INPUT = 3     # bad input: file or values
EXIT_INCONCLUSIVE = 4  # unknown / timeout, partial result printed
EXIT_TOOL_ERROR = 5    # tool or solver error

VERDICT_EXIT = {
    Verdict.UNSAT: EXIT_OK,
    Verdict.SAT: EXIT_VIOLATED,
    Verdict.UNKNOWN: EXIT_INCONCLUSIVE,
    Verdict.TIMEOUT: EXIT_INCONCLUSIVE,
    Verdict.ERROR: EXIT_TOOL_ERROR,
}


def exit_code(verdict: Verdict | str) -> int:
    """Exit code for a verdict.

    >>> exit_code("sat"), exit_code(Verdict.UNSAT), exit_code("timeout")
    (1, 0, 4)
    """
    return VERDICT_EXIT[Verdict(verdict)]


# --------------------------------------------------------------------------- result types
from dataclasses import asdict, dataclass, field  # noqa: E402
from typing import Any, Callable, Optional  # noqa: E402

#: Progress callback every long-running library function accepts: ``progress(done, total, message)``
#: (``total`` may be None). The library never prints; the CLI renders it with rich on stderr.
Progress = Callable[[float, Optional[float], str], None]


def no_progress(done: float, total: float | None = None, message: str = "") -> None:
    """The default progress callback: does nothing."""


@dataclass
class Counterexample:
    """An input (data space, before the encoder) and the network output(s) there, re-checked
    exactly. ``output`` is the first network's output; ``outputs`` holds all networks' outputs
    for multi-network queries (equivalence)."""

    input: list[float]
    output: list[float | None]
    outputs: list[list[float | None]] = field(default_factory=list)
    exact_input: list[str] = field(default_factory=list)   # rationals as "p/q" strings
    exact_output: list[str] = field(default_factory=list)


@dataclass
class QueryResult:
    """Outcome of any verification query.

    ``tolerance`` is the feasibility tolerance used for strict inequalities in a MILP (``None``
    for exact engines: z3 and exact certificates); ``stats`` holds solver statistics.
    """

    verdict: Verdict
    query: str
    engine: str
    time: float = 0.0
    tolerance: float | None = None
    counterexample: Counterexample | None = None
    message: str = ""
    stats: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return exit_code(self.verdict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = Verdict(self.verdict).value
        d["exact"] = self.tolerance is None
        if self.counterexample is None:
            d.pop("counterexample")
        return d


@dataclass
class BoundsResult:
    """Guaranteed output bounds: ``lower[j] <= y_j <= upper[j]`` on the whole box.

    ``None`` marks an unbounded side or an output that may never fire. ``optimal`` tells whether
    the bounds are tight optima (MILP/SMT) or only sound (propagation); ``complete`` is False
    when stopped by a timeout (the bounds printed are then still sound but looser).
    """

    lower: list[float | None]
    upper: list[float | None]
    method: str
    engine: str
    optimal: bool
    complete: bool = True
    time: float = 0.0
    tolerance: float | None = None
    may_not_fire: list[bool] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def verdict(self) -> Verdict:
        """For the exit code only (0 complete, 4 stopped early); a range is not a verdict, so the
        JSON form says ``status`` instead."""
        return Verdict.UNSAT if self.complete else Verdict.TIMEOUT

    @property
    def status(self) -> str:
        """``"optimal"`` (tight and complete), ``"sound"`` (complete, not tight: propagation) or
        ``"timeout"`` (stopped early; still sound, looser)."""
        return "timeout" if not self.complete else "optimal" if self.optimal else "sound"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields plus ``status`` (no ``verdict``: a range is not a yes/no answer).

        Examples
        --------
        >>> BoundsResult([0.0], [1.0], "interval", "propagation", False).to_dict()["status"]
        'sound'
        """
        d = asdict(self)
        d["status"] = self.status
        return d
