"""One wall-clock deadline shared by every stage of a query: bounds, encoding, lowering, solving.

A deadline is an absolute :func:`time.perf_counter` value (``None`` = no limit). Long loops call
:func:`check` (one clock read, cheap enough per neuron); on expiry it raises
:class:`~srmverify.errors.DeadlineExpired`, which the queries turn into verdict ``timeout`` or
an incomplete :class:`~srmverify.results.BoundsResult` -- it never escapes the library. A stop
request (:mod:`srmverify.stop`, set by the CLI's SIGINT/SIGTERM handlers) expires every deadline,
``None`` included.

>>> check(deadline_after(None)); remaining(None) is None
True
>>> d = deadline_after(0.0)
>>> expired(d), remaining(d)
(True, 0.01)
"""
from __future__ import annotations

import time
from typing import overload

from .errors import DeadlineExpired
from .stop import stop_requested
from .settings import DEFAULT

__all__ = ["DeadlineExpired", "deadline_after", "expired", "check", "remaining"]


def deadline_after(timeout: float | None) -> float | None:
    """Absolute deadline ``timeout`` seconds from now (``None`` = no limit)."""
    return None if timeout is None else time.perf_counter() + float(timeout)


def expired(deadline: float | None) -> bool:
    """True once ``deadline`` has passed or a stop was requested."""
    return stop_requested() or (deadline is not None and time.perf_counter() > deadline)


def check(deadline: float | None) -> None:
    """Raise :class:`DeadlineExpired` if ``deadline`` has passed (or a stop was requested)."""
    if expired(deadline):
        raise DeadlineExpired()


@overload
def remaining(deadline: float, min_slice: float = ...) -> float: ...
@overload
def remaining(deadline: float | None, min_slice: float = ...) -> float | None: ...


def remaining(deadline: float | None, min_slice: float = DEFAULT.min_time_slice) -> float | None:
    """Seconds left (at least ``min_slice``), ``None`` without a deadline (``min_slice`` once a
    stop was requested)."""
    if stop_requested():
        return min_slice
    return None if deadline is None else max(deadline - time.perf_counter(), min_slice)

