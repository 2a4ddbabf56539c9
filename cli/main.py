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

import importlib
import os
import signal
import sys
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import typer
from typer._click import Command, Context, HelpFormatter
from typer._click.utils import make_default_short_help
from typer.core import TyperGroup

from srmverify import __version__
from srmverify.errors import DeadlineExpired, Interrupted, SrmverifyError
from srmverify.results import EXIT_OK, EXIT_TOOL_ERROR, EXIT_USAGE
from srmverify.stop import stop_signal

from . import render, start_now
from .signals import stop_on_signals

#: Every command, in ``--help`` order: name -> (module of ``cli/`` whose ``register(app)`` defines
#: it, the first paragraph of its help). A command's module -- and with it the library, numpy and
#: the solvers -- is imported only when that command is resolved (to run, or for its own
#: ``--help``); ``srmverify --help`` lists the commands from this table.
#: ``tests/test_startup.py`` checks the table against the commands themselves.
COMMANDS: dict[str, tuple[str, str]] = {
    "simulate": ("simulate", "Simulate a network on inputs; `inf` (JSON `null`) marks an output neuron that never fires."),
    "info": ("info", "Kind, sizes, weight signs and whether every neuron is guaranteed to fire; without a "
                     "network, the versions of srmverify and of its solvers and format libraries."),
    "convert": ("convert", "Convert ReLU → SNN exactly (model.md §4) or a CPWL SNN → ReLU; exit 1 if --certify rejects."),
    "certify": ("certify", "Exact compositional proof that SNN computes RELU on the box: exit 0 accepted, 1 rejected."),
    "demo": ("demo", "Bundled digits MLP -> exact SNN -> certificate -> identical accuracies -> robustness -> "
                     "exact region count."),
    "bounds": ("bounds", "Guaranteed lower/upper bound of every output over the box (JSON null = unbounded / "
                         "may never fire)."),
    "robust": ("robust", "Local robustness: unsat = no input in the ball changes the class (or leaves the range)."),
    "equiv": ("equiv", "Equivalence on a box: unsat = max output difference <= eps (or same argmax) everywhere."),
    "verify": ("verify", "Check a VNN-LIB property: prints sat (counterexample exists), unsat (holds), unknown, "
                         "timeout or error."),
    "regions": ("regions", "Count the full-dimensional causal regions (SNN) / activation regions (ReLU) and linear "
                           "regions exactly, with the known theoretical count alongside. Exit 0 when complete, 4 "
                           "when stopped early (counts are then lower bounds)."),
    "prepare-instance": ("batch", "Check that an instance can be run (network and property load and fit): exit 0, "
                                  "else 3."),
    "batch": ("batch", "Run every instance of a VNN-COMP instances.csv; rows already in DIR/results.csv are skipped."),
    "run-instance": ("batch", "One VNN-COMP instance: writes the result file (first line "
                              "sat/unsat/unknown/timeout/error)."),
}


class _Commands(Mapping[str, Command]):
    """The commands of :data:`COMMANDS`, each built by typer when first looked up."""

    def __init__(self) -> None:
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in COMMANDS:
            raise KeyError(name)
        if name not in self._built:
            sub = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)
            importlib.import_module(f".{COMMANDS[name][0]}", __package__).register(sub)
            self._built.update(typer.main.get_group(sub).commands)
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class LazyGroup(TyperGroup):
    """The root group: commands resolved on demand (:class:`_Commands`), listed from :data:`COMMANDS`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands()     # type: ignore[assignment]  # a read-only mapping: commands are not added

    def list_commands(self, ctx: Context) -> list[str]:
        return list(COMMANDS)

    def format_commands(self, ctx: Context, formatter: HelpFormatter) -> None:
        limit = formatter.width - 6 - max(map(len, COMMANDS))
        with formatter.section("Commands"):
            formatter.write_dl([(name, make_default_short_help(text, limit)) for name, (_, text) in COMMANDS.items()])


app = typer.Typer(
    name="srmverify",
    cls=LazyGroup,
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

def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"srmverify {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(ctx: typer.Context,
          version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit."),
          peer_config: Optional[Path] = typer.Option(
              None, "--peer-config", metavar="CONFIG.yaml",
              help="The peer's yaml config for a NET.pt state_dict (frafranz/ExpressivitySNN); without it the "
                   "config is read from NET.yaml or config.yaml beside the checkpoint. Accepted after the "
                   "command too.")) -> None:
    """Verify, convert and count linear regions of spiking neural networks (linear SRM, time-to-first-spike)."""
    if peer_config is not None:
        from srmverify.formats.peer_torch import use_peer_config

        ctx.with_resource(use_peer_config(peer_config))     # for the whole command


def run(argv: list[str] | None = None, *, process_start: bool = False) -> int:
    """Run the CLI and return its exit code (used by ``main`` and by the tests); ``--timeout``
    counts from the start of the process (``process_start``, from ``main``) or from this call.

    With ``--json`` every exit path prints one JSON object on stdout: the command's own, or
    ``{"verdict": "error", "error": message, "exit_code": n}`` for errors (2, 3, 5) and
    interruptions (130 / 143, with ``"interrupted"``: the signal's name)."""
    if not process_start:
        start_now()
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
        rv = app(args=_hoisted(_aliased(args)), standalone_mode=False, prog_name="srmverify")
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


def _hoisted(argv: list[str]) -> list[str]:
    """``argv`` with the root options of :data:`ROOT_OPTIONS` moved before the command, so that
    every command takes them.

    >>> _hoisted(["regions", "m.pt", "--peer-config", "c.yaml", "--slice", "0,0", "1,0", "0,1"])
    ['--peer-config', 'c.yaml', 'regions', 'm.pt', '--slice', '0,0', '1,0', '0,1']
    """
    front, rest = [], []
    i = 0
    while i < len(argv) and argv[i] != "--":
        name = argv[i].partition("=")[0]
        if name in ROOT_OPTIONS:
            take = 1 if "=" in argv[i] else 2
            front += argv[i:i + take]
            i += take
        else:
            rest.append(argv[i])
            i += 1
    return front + rest + argv[i:]


#: Options of the root command that any command accepts (:func:`_hoisted`).
ROOT_OPTIONS = ("--peer-config",)


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")


def main() -> None:
    sys.exit(run(process_start=True))
