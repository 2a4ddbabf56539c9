"""Start-up time of the ``srmverify`` command (issue 10 item 6): wall clock of whole processes.

Each command line runs ``--reps`` times through the installed console script, alternating
between this tree and, with ``--baseline DIR``, another source tree (a checkout of an older
commit: ``git archive <commit> | tar -x -C DIR``), so both see the same load; the table gives the
median wall clock and the median CPU time (user + system: on a loaded machine, close to what the
wall clock is on an idle one, as start-up is single-threaded) per tree and their ratios.

    python benchmarks/bench_startup.py --reps 15 --baseline /tmp/base

The baseline is put first on ``PYTHONPATH`` (``DIR/srmverify`` and ``DIR/cli`` as
``srmverify_cli``, through a directory of symlinks), ahead of this tree's editable install.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "srmverify" / "data" / "examples"
COMMANDS = [
    ["--help"],
    ["--version"],
    ["info"],
    ["info", str(EXAMPLES / "snn_2_3_2.json")],
    ["info", str(EXAMPLES / "relu_2_8_3.json")],
    ["simulate", str(EXAMPLES / "snn_2_3_2.json"), "--input", "0.5,0.5"],
]


def _timeout_rows(tmp: Path) -> list[list[str]]:
    """``bounds --timeout 2`` on an 8-60-60-1 ReLU network that needs minutes without a limit:
    the wall clock of the whole process, start-up included."""
    import numpy as np

    from srmverify import ReLUNet, save_network

    rng = np.random.default_rng(0)
    net = ReLUNet([(rng.normal(size=(60, 8)), rng.normal(size=60)), (rng.normal(size=(60, 60)), rng.normal(size=60)),
                   (rng.normal(size=(1, 60)), rng.normal(size=1))])
    save_network(net, tmp / "relu_8_60_60_1.json")
    return [["bounds", str(tmp / "relu_8_60_60_1.json"), "--box", "-1:1", "--timeout", "2"]]


def _script() -> str:
    exe = shutil.which("srmverify", path=str(Path(sys.executable).parent)) or shutil.which("srmverify")
    if exe is None:
        raise SystemExit("the srmverify console script is not installed")
    return exe


def _env(baseline: Path | None, links: Path) -> dict[str, str]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    if baseline is not None:
        env["PYTHONPATH"] = str(links)
    return env


def _once(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one run of ``cmd``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


#: the libraries' own start-up (``--floor``): CPU seconds of ``python -c CODE`` minus a bare interpreter
FLOOR = {
    "typer": "import typer",
    "pydantic TypeAdapter (typer's coercion of a parameter)": "from pydantic import TypeAdapter; TypeAdapter(str)",
    "numpy": "import numpy",
    "rich.console": "import rich.console",
    "importlib.metadata": "from importlib import metadata",
}


def floor(reps: int) -> None:
    env = _env(None, Path("."))
    cpu = {name: statistics.median(_once([sys.executable, "-c", code], env)[1] for _ in range(reps))
           for name, code in {"bare interpreter": "pass", **FLOOR}.items()}
    print("| library | CPU s (minus a bare interpreter) |\n|---|---|")
    for name, c in cpu.items():
        print(f"| {name} | {c if name == 'bare interpreter' else c - cpu['bare interpreter']:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--baseline", type=Path, default=None, help="source tree of the version to compare with")
    ap.add_argument("--floor", action="store_true", help="only the start-up cost of the libraries themselves")
    a = ap.parse_args()
    if a.floor:
        floor(a.reps)
        return
    exe = _script()
    with tempfile.TemporaryDirectory() as tmp:
        links = Path(tmp)
        if a.baseline is not None:
            (links / "srmverify").symlink_to(a.baseline.resolve() / "srmverify")
            (links / "srmverify_cli").symlink_to(a.baseline.resolve() / "cli")
        trees = {"this": _env(None, links)}
        if a.baseline is not None:
            trees = {"baseline": _env(a.baseline, links), **trees}
        print(f"load average {os.getloadavg()[0]:.2f} at start; {a.reps} runs per command and tree; "
              "median wall clock and median CPU (user + system) seconds")
        cols = " | ".join(f"{t} wall | {t} CPU" for t in trees)
        two = len(trees) == 2
        print(f"| command | {cols} |" + (" baseline / this (wall) | baseline / this (CPU) |" if two else ""))
        print("|---|" + "---|" * (2 * len(trees) + 2 * two))
        nets = links / "nets"
        nets.mkdir()
        slow = _timeout_rows(nets)
        for args in COMMANDS + slow:
            runs: dict[str, list[tuple[float, float]]] = {t: [] for t in trees}
            for _ in range(a.reps if args not in slow else max(3, a.reps // 3)):
                for t, env in trees.items():
                    runs[t].append(_once([exe, *args], env))
            wall = {t: statistics.median(w for w, _ in v) for t, v in runs.items()}
            cpu = {t: statistics.median(c for _, c in v) for t, v in runs.items()}
            cells = " | ".join(f"{wall[t]:.3f} | {cpu[t]:.3f}" for t in trees)
            ratio = (f" {wall['baseline'] / wall['this']:.2f}× | {cpu['baseline'] / cpu['this']:.2f}× |"
                     if two else "")
            shown = " ".join(Path(x).name if x.endswith(".json") else x for x in args)
            print(f"| `srmverify {shown}` | {cells} |{ratio}", flush=True)
        print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
