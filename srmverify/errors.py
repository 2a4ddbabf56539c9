"""One exception hierarchy for srmverify.

Every error a user can cause by their input is an :class:`InputError` and names the
source (file), the field and the offending value, so the CLI can print one line and exit 3.
"""
from __future__ import annotations

from typing import Any


class SrmverifyError(Exception):
    """Base class of every error raised by srmverify."""

    exit_code = 5


class InputError(SrmverifyError, ValueError):
    """Bad input: a file or value the user supplied is malformed or invalid.

    Examples
    --------
    >>> str(InputError("net.json", "layers[0].thresholds[1]", -1.0, "threshold must be > 0"))
    'net.json: layers[0].thresholds[1] = -1.0: threshold must be > 0'
    """

    exit_code = 3

    def __init__(self, source: str, field: str, value: Any, problem: str) -> None:
        self.source, self.field, self.value, self.problem = source, field, value, problem
        shown = repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        super().__init__(f"{source}: {field} = {shown}: {problem}")


class UnsupportedNetwork(InputError):
    """The network is valid but uses something this operation does not support
    (an ONNX operator, mixed weights where CPWL is required, ...)."""


class SolverError(SrmverifyError):
    """A solver failed or returned something that cannot be trusted."""

    exit_code = 5


class SolverUnavailable(SolverError):
    """The requested solver backend is not installed or not usable."""


class DeadlineExpired(SrmverifyError):
    """A query's wall-clock deadline passed (internal to the library: the query functions turn
    it into verdict ``timeout`` or a partial result; see :mod:`srmverify.deadline`)."""

    exit_code = 4


class InexactValue(SrmverifyError, ValueError):
    """A value has no exact form an exact operation needs (e.g. a float that is not dyadic)."""


class Interrupted(SrmverifyError):
    """A signal (SIGINT, SIGTERM) stopped the command; the exit code is ``128 + signal``
    (130 for SIGINT, 143 for SIGTERM), as a shell reports a process killed by that signal.

    Examples
    --------
    >>> Interrupted(15).exit_code, str(Interrupted(2))
    (143, 'interrupted by SIGINT')
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = int(signum)
        self.exit_code = 128 + self.signum
        try:
            name = signal.Signals(self.signum).name
        except ValueError:
            name = f"signal {self.signum}"
        super().__init__(f"interrupted by {name}")
