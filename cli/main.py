"""The ``srmverify`` command: one typer app, one exit-code table for every command.

| code | meaning |
|---|---|
| 0 | holds (unsat), certificate accepted, command succeeded |
| 1 | violated: sat with an exactly re-checked counterexample; certificate rejected |
| 2 | usage error (click's own) |
| 3 | bad input: file or values (one line naming file, field and value) |
| 4 | inconclusive: unknown / timeout (the partial result is still printed) |
| 5 | tool or solver error |
"""
from __future__ import annotations

import os
import sys

import typer

from srmverify import __version__
from srmverify.errors import SrmverifyError
from srmverify.results import EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE

from . import info, simulate, convert, certify, demo, bounds, robust, equiv, verify, regions
from . import batch

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
    """Run the CLI and return its exit code (used by ``main`` and by the tests)."""
    try:
        rv = app(args=_aliased(sys.argv[1:] if argv is None else list(argv)), standalone_mode=False, prog_name="srmverify")
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        _say("srmverify: aborted")
        return 130
    except typer.TyperException as e:  # click's usage errors (typer vendors click): exit 2
        e.show()
        return getattr(e, "exit_code", EXIT_USAGE)
    except SrmverifyError as e:
        _say(f"srmverify: error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        _say("srmverify: interrupted")
        return 130
    except Exception as e:  # a bug of ours: one line, exit 5; SRMVERIFY_DEBUG=1 shows the traceback
        if os.environ.get("SRMVERIFY_DEBUG"):
            raise
        _say(f"srmverify: internal error: {type(e).__name__}: {e} (set SRMVERIFY_DEBUG=1 for a traceback)")
        return EXIT_TOOL_ERROR
    return rv if isinstance(rv, int) else EXIT_OK


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
