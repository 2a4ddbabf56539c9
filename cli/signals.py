"""SIGINT / SIGTERM for every command: stop like a timeout, then exit ``128 + signal``.

The first signal only requests a stop (:func:`srmverify.stop.request_stop`): the library's deadline
checks see it, the query returns its partial result (printed, marked ``interrupted``) and no output
file is published. A solver running inside C code (HiGHS, z3, a CBC subprocess) does not run Python
code until it returns, so a watchdog thread, woken by the signal through ``signal.set_wakeup_fd``,
ends the process after :data:`GRACE` seconds if the command has not stopped by then, or at once on
a second signal, after deleting the temporary output files in flight: exit ``128 + signal``, never a
half-written output.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from typing import Iterator

from srmverify.formats.files import PENDING
from srmverify.stop import clear_stop, request_stop

#: Seconds a command gets after the first signal to stop by itself.
GRACE = 2.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _emergency_exit(signum: int) -> None:
    for tmp in list(PENDING):
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    with contextlib.suppress(Exception):
        sys.stderr.write(f"srmverify: interrupted by {signal.Signals(signum).name} (stopped without a result)\n")
        sys.stderr.flush()
    os._exit(128 + signum)


def _watch(sock: socket.socket, done: threading.Event) -> None:
    first = None
    while not done.is_set():
        sock.settimeout(None if first is None else GRACE)
        try:
            data = sock.recv(16)
        except socket.timeout:
            data = b""
        except OSError:
            return
        if done.is_set():
            return
        nums = [b for b in data if b in SIGNALS]
        if first is not None and (nums or not data):   # a second signal, or the grace period is over
            _emergency_exit(first)
        if nums:
            first = nums[0]


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Install the handlers for the duration of one CLI run (a no-op outside the main thread)."""
    clear_stop()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    done = threading.Event()
    rsock, wsock = socket.socketpair()
    wsock.setblocking(False)

    def handler(signum, frame):
        request_stop(signum)

    old = {s: signal.signal(s, handler) for s in SIGNALS}
    old_fd = signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
    watcher = threading.Thread(target=_watch, args=(rsock, done), daemon=True, name="srmverify-signals")
    watcher.start()
    try:
        yield
    finally:
        done.set()
        signal.set_wakeup_fd(old_fd)
        for s, h in old.items():
            signal.signal(s, h)
        wsock.close()       # wakes the watcher (recv returns b"" or fails): it sees `done` and returns
        watcher.join(1.0)
        rsock.close()
        clear_stop()
