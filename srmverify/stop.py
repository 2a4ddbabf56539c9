"""A process-wide stop request: a signal (SIGINT, SIGTERM) asks long work to stop like a timeout.

The CLI installs signal handlers that call :func:`request_stop`; the library never installs
handlers itself. Every deadline check (:func:`srmverify.deadline.expired` / ``check``) and
every region enumeration loop honours the request, so a query returns its partial result marked
``timeout`` / incomplete, and :func:`srmverify.formats.files.atomic_path` refuses to publish an
output after it (no file appears that the interrupted command would not have finished).

Examples
--------
>>> stop_requested()
False
>>> request_stop(15); stop_requested(), stop_signal()
(True, 15)
>>> clear_stop(); stop_requested()
False
"""
from __future__ import annotations

_requested: list[int] = []


def request_stop(signum: int) -> None:
    """Ask the running work to stop (``signum`` is the signal that asked; kept for the exit code)."""
    _requested.append(int(signum))


def stop_requested() -> bool:
    """True once a stop has been requested (cheap: for hot loops)."""
    return bool(_requested)


def stop_signal() -> int | None:
    """The first signal that requested a stop, or None."""
    return _requested[0] if _requested else None


def clear_stop() -> None:
    """Forget a stop request (tests, and the start of every CLI run)."""
    _requested.clear()
