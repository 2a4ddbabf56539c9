"""Run the CLI in-process and check the reliability contract of one run.

Every run must end with a documented exit code, at most a one-line ``srmverify: ...`` message on
stderr (never a traceback), exactly one JSON object on stdout with ``--json``, and leave no
partial or temporary file behind.
"""
from __future__ import annotations

import contextlib
import io
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srmverify_cli.main import run

#: Codes a run may end with (2 usage, 3 bad input; 0/1/4 results). 5 = a bug of ours.
DOCUMENTED = {0, 1, 2, 3, 4}


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    obj: Any = None


def invoke(*argv: str) -> Outcome:
    """Run ``srmverify ARGV`` in this process, capturing stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run([str(a) for a in argv])
    o = Outcome(code, out.getvalue(), err.getvalue(), time.perf_counter() - t0)
    if "--json" in argv and o.out.strip():
        o.obj = json.loads(o.out)        # exactly one JSON document, or this raises
    return o


def check(o: Outcome, codes: set[int] = DOCUMENTED, max_seconds: float = 20.0) -> Outcome:
    """The contract of one run (see the module docstring)."""
    assert o.code in codes, (o.code, o.err)
    assert "Traceback" not in o.err and "Traceback" not in o.out, o.err
    assert o.seconds < max_seconds, f"took {o.seconds:.1f} s"
    if o.code == 3:
        lines = [ln for ln in o.err.splitlines() if ln.startswith("srmverify: error:")]
        assert len(lines) == 1, o.err
    if o.obj is not None:
        assert isinstance(o.obj, dict)
        if o.code in (2, 3, 5):
            assert o.obj["verdict"] == "error" and o.obj["exit_code"] == o.code and o.obj["error"], o.obj
    return o


def no_stray_files(directory: Path, allowed: set[str]) -> None:
    """Only ``allowed`` names (the inputs, the finished outputs) are in ``directory``: no
    ``.part`` temporary file, no half-written output."""
    names = {p.name for p in Path(directory).iterdir()}
    assert names <= allowed, names - allowed
