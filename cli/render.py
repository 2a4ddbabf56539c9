"""Rendering helpers shared by every command: JSON to stdout, human text, progress on stderr."""
from __future__ import annotations

import json
import math
import signal
import sys
from fractions import Fraction
from typing import TYPE_CHECKING, Annotated, Any

import typer

from srmverify.schemas import RESULT_FORMAT, stamp
from srmverify.stop import stop_signal

if TYPE_CHECKING:
    from rich.console import Console

#: The network files every command reads (``srmverify.formats.load_network``).
NETWORKS = ".json SNN/ReLU, .onnx ReLU, either .gz too; .nir SNN; .pt peer SNN (--peer-config or config.yaml beside it)"
#: The one ``--json`` option of every command.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout (progress stays on stderr).")]

#: The consoles, created on first use (rich is not imported for ``srmverify --help``): ``out``
#: for results on stdout, ``err`` for human-facing logs and progress on stderr, so that
#: ``--json`` stdout stays clean.
_CONSOLES = ("out", "err")
if TYPE_CHECKING:
    out: Console
    err: Console


def __getattr__(name: str) -> Any:
    if name not in _CONSOLES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return _console(name)


def _console(name: str) -> Console:
    """The console ``out`` or ``err`` (created once)."""
    if name not in globals():
        from rich.console import Console

        globals()[name] = Console(stderr=True) if name == "err" else Console(highlight=False, soft_wrap=True)
    return globals()[name]


def plain(obj: Any) -> Any:
    """Make a value JSON-safe: numpy -> Python, Fraction -> float, inf/nan/None -> null."""
    np = sys.modules.get("numpy")       # no numpy value exists unless numpy was imported
    nd, nb, ni, nf = ((np.ndarray,), (np.bool_,), (np.integer,), (np.floating,)) if np else ((), (), (), ())
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, nd):
        return plain(obj.tolist())
    if isinstance(obj, (bool, *nb)):
        return bool(obj)
    if isinstance(obj, ni):
        return int(obj)
    if isinstance(obj, (float, Fraction, *nf)):
        f = float(obj)
        return f if math.isfinite(f) else None
    if hasattr(obj, "value") and isinstance(getattr(obj, "value"), str):  # enums
        return obj.value
    return obj


_emitted: list[bool] = []


def emit_json(obj: Any) -> None:
    """Print one JSON object on stdout, stamped with the result format and version; after a stop
    request it is marked ``"interrupted"``."""
    signum = stop_signal()
    if signum is not None and isinstance(obj, dict):
        obj = {**obj, "interrupted": signal.Signals(signum).name}
    sys.stdout.write(json.dumps(plain(stamp(obj, RESULT_FORMAT)), indent=1) + "\n")
    sys.stdout.flush()
    _emitted.append(True)


def emitted() -> bool:
    """Whether this run has printed its JSON object already."""
    return bool(_emitted)


def reset_emitted() -> None:
    _emitted.clear()


def fmt(v: Any) -> str:
    """Short human form of a number (``inf`` for never fires)."""
    if v is None:
        return "inf"
    f = float(v)
    return "inf" if math.isinf(f) else f"{f:.10g}"


def secs(t: float) -> str:
    """A duration for humans: ``0.0934 s``."""
    return f"{t:.3g} s"


class progress_bar:
    """Context manager yielding a library progress callback drawn as a rich bar on stderr
    (silent when stderr is not a terminal, so logs and CI output stay clean)."""

    def __init__(self, description: str, enabled: bool = True) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        err = _console("err")
        self._p = Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[msg]}"),
                           TimeElapsedColumn(), console=err, transient=True, disable=not (enabled and err.is_terminal))
        self._desc = description

    def __enter__(self):
        self._p.start()
        task = self._p.add_task(self._desc, total=None, msg="")

        def update(done: float, total: float | None = None, message: str = "") -> None:
            self._p.update(task, completed=done, total=total, msg=message)

        return update

    def __exit__(self, *exc) -> None:
        self._p.stop()
