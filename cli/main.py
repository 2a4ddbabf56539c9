"""The ``srmverify`` command: one typer app, one exit-code table for every command.

| code | meaning |
|---|---|
| 0 | holds (unsat), certificate accepted, command succeeded |
| 1 | violated: sat with an exactly re-checked counterexample; certificate rejected |
| 2 | usage error (click's own) |
| 3 | bad input: file or values (one line naming file, field and value) |
| 4 | inconclusive: unknown / timeout (the partial result is still printed) |
| 5 | tool or solver error |
| 130 / 143 | interrupted by SIGINT / SIGTERM (128 + signal; a partial result is printed, no output file written) |
"""
from __future__ import annotations

import os
import signal
import sys

import typer

from srmverify import __version__
from srmverify.errors import DeadlineExpired, Interrupted, SrmverifyError
from srmverify.results import EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE
from srmverify.stop import stop_signal

from . import info, simulate, convert, certify, demo, bounds, robust, equiv, verify, regions, render
from . import batch
from .signals import stop_on_signals

app = typer.Typer(
    name="srmverify",
    help="Verify, convert and count linear regions of spiking neural networks (linear SRM, time-to-first-spike).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,     # plain click help: flags show no "<bool>", explicit metavars are kept
)

#: Old option names that keep working but are not shown in ``--help``: command -> old -> new.
ALIASES = {
    "robust": {"--x0": "--input", "--domain": "--box"},
    "bounds": {"--method": "--bounds"},
}

for module in (simulate, info, convert, certify, demo, bounds, robust, equiv, verify, regions, batch):
    module.register(app)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"srmverify {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Verify, convert and count linear regions of spiking neural networks (linear SRM, time-to-first-spike)."""


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (used by ``main`` and by the tests).

    With ``--json`` every exit path prints one JSON object on stdout: the command's own, or
    ``{"verdict": "error", "error": message, "exit_code": n}`` for errors (2, 3, 5) and
    interruptions (130 / 143, with ``"interrupted"``: the signal's name)."""
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    render.reset_emitted()
    with stop_on_signals():
        code, message = _dispatch(args)
        signum = stop_signal()
        if signum is not None and code not in (2, 3):
            interrupted = Interrupted(signum)
            if message is None:
                _say(f"srmverify: {interrupted}; the result printed is partial")
            code, message = interrupted.exit_code, message if code == interrupted.exit_code else str(interrupted)
    if as_json and message is not None and not render.emitted():
        obj = {"verdict": "error", "error": message, "exit_code": code}
        if signum is not None and code == 128 + signum:
            obj["interrupted"] = signal.Signals(signum).name
        render.emit_json(obj)
    return code


def _dispatch(args: list[str]) -> tuple[int, str | None]:
    """Run the command: ``(exit code, error message or None)``; the message is already on stderr."""
    try:
        rv = app(args=_aliased(args), standalone_mode=False, prog_name="srmverify")
    except typer.Exit as e:
        return e.exit_code, None
    except typer.Abort:
        return _fail("aborted", 130)
    except typer.TyperException as e:  # click's usage errors (typer vendors click): exit 2
        e.show()
        return getattr(e, "exit_code", EXIT_USAGE), e.format_message()
    except DeadlineExpired:     # a stop request reached work that has no partial result (e.g. convert)
        signum = stop_signal()
        if signum is None:
            return _fail("internal error: a deadline escaped the library", EXIT_TOOL_ERROR)
        return _fail(f"{Interrupted(signum)} (stopped without a result)", 128 + signum, str(Interrupted(signum)))
    except SrmverifyError as e:
        return _fail(f"error: {e}", e.exit_code, str(e))
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as e:  # a bug of ours: one line, exit 5; SRMVERIFY_DEBUG=1 shows the traceback
        if os.environ.get("SRMVERIFY_DEBUG"):
            raise
        return _fail(f"internal error: {type(e).__name__}: {e} (set SRMVERIFY_DEBUG=1 for a traceback)", EXIT_TOOL_ERROR,
                     f"internal error: {type(e).__name__}: {e}")
    return (rv if isinstance(rv, int) else EXIT_OK), None


def _fail(line: str, code: int, message: str | None = None) -> tuple[int, str]:
    _say(f"srmverify: {line}")
    return code, message or line


def _aliased(argv: list[str]) -> list[str]:
    """``argv`` with the old option names of its command (:data:`ALIASES`) replaced by the new ones.

    >>> _aliased(["robust", "net.json", "--x0", "0,1", "--domain=0:1"])
    ['robust', 'net.json', '--input', '0,1', '--box=0:1']
    """
    command = next((a for a in argv if not a.startswith("-")), None)
    table = ALIASES.get(command or "", {})
    out = []
    for a in argv:
        name, eq, value = a.partition("=")
        out.append(table[name] + eq + value if name in table else a)
    return out


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def main() -> None:
    sys.exit(run())
