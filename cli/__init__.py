"""Command-line front end of srmverify (installed as the import package ``srmverify_cli``)."""
import time

_started = time.perf_counter()


def started() -> float:
    """When the command started (``time.perf_counter``): ``--timeout`` counts from here, so the
    limit holds on the wall clock, start-up and the imports of a command included. It is the
    first import of the CLI for the ``srmverify`` process, the call of ``run`` otherwise."""
    return _started


def start_now() -> None:
    """Count from now (``main.run`` called again in one process: the tests)."""
    global _started
    _started = time.perf_counter()
