"""ACAS Xu (VNN-COMP ``acasxu``, unmodified ONNX + VNN-LIB): srmverify against the published
verdicts and, when given, nnenum, run interleaved on the same machine (issue 11).

Every instance is one process per tool with the same wall-clock limit (start-up included):
``srmverify verify NET PROP --timeout T --json`` and, with ``--nnenum DIR``,
``PYTHONPATH=DIR/src python -m nnenum.nnenum NET PROP T OUT`` (``--nnenum-python``: the
interpreter of nnenum's own venv; its code is never part of this repository). Each verdict is
checked against ``published_verdicts.csv``: a wrong verdict is reported and makes the exit status
1. The table: solved (a verdict within ``T`` s of wall-clock time, start-up included: a verdict
returned later counts as a timeout), wrong, total time (timeouts and failures counted as ``T``), median, and the
geometric mean of srmverify's time over nnenum's on the instances both solved.

    python benchmarks/bench_acasxu.py [--dir /work/shared/benchmarks/acasxu] [--timeout 60]
        [--subset all|strat] [--nnenum /tmp/nnenum --nnenum-python /tmp/nnenum_venv/bin/python]
        [--tools srmverify,nnenum] [--csv results.csv [--resume]] [--only list.csv]
        [--srmverify-src DIR]

``--subset strat`` (default): props 1-4 on the networks 1_5, 2_5, 3_5, 4_5, 5_5 plus the single
instances of props 5-10 and ``test_nano`` (skipped when its files are absent): 27 instances.

``--csv``: every instance's row is appended (and flushed) as soon as it finishes, so a long run
can be inspected while it runs; ``--resume`` skips the instances already in that file (one CSV
per run: rerunning one tool on some instances is ``--tools srmverify --only rows.csv --csv new.csv``,
``--only`` taking the ``onnx,vnnlib`` columns of any CSV). ``--srmverify-src DIR`` runs
``python -m srmverify`` from a frozen copy of the code (``git archive``: ``DIR/srmverify`` and
``DIR/srmverify_cli``) so that editing the working tree cannot change a run in progress.
``--summary CSV`` only prints the table of an existing results file.

``--cpu-clock`` (srmverify only): srmverify runs with ``time.perf_counter`` replaced by
``time.process_time``, so its ``--timeout`` (and every deadline inside) counts CPU seconds, and the
time recorded is the process's CPU time: on a loaded machine each instance then gets the work a
quiet machine does in that many seconds (its wall time is not limited; nnenum is not run this way).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

VERDICTS = {"holds": "unsat", "violated": "sat", "unsat": "unsat", "sat": "sat"}


def instances(root: Path, subset: str) -> list[tuple[str, str]]:
    """``(onnx, vnnlib)`` paths relative to ``root``, in the order of ``instances.csv``."""
    rows = [(r[0], r[1]) for r in csv.reader(open(root / "instances.csv")) if r]
    if subset == "all":
        return rows
    nets = sorted({o for o, p in rows if "prop_1." in p})
    keep = set(nets[4::9])
    return [(o, p) for o, p in rows if o in keep or not any(f"prop_{k}." in p for k in (1, 2, 3, 4))]


def run(cmd: list[str], timeout: float, env: dict | None = None) -> tuple[str, float, str]:
    """``(stdout, wall time, stderr tail)``; a process past ``timeout + 15`` s is killed with its
    whole process group (nnenum's worker processes outlived a plain kill and took CPU from the
    instances after them). With ``--cpu-clock`` the time is the CPU time of the process (and
    of the children it waited for) and the kill comes after ``20 * timeout + 15`` s."""
    if CPU_CLOCK[0]:
        timeout = 20 * timeout
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout + 15)
        if CPU_CLOCK[0]:
            c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            return out, c1.ru_utime + c1.ru_stime - c0.ru_utime - c0.ru_stime, err[-300:]
        return out, time.perf_counter() - t0, err[-300:]
    except subprocess.TimeoutExpired:
        return "", time.perf_counter() - t0, "killed"
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)      # leftover children, also after a normal exit
        except ProcessLookupError:
            pass
        p.communicate()


#: ``--cpu-clock``: the srmverify command line with every deadline in CPU seconds.
CPU_CLOCK_MAIN = "import time; time.perf_counter = time.process_time; from srmverify_cli.main import main; main()"


def srmverify(net: Path, prop: Path, timeout: float, src: str | None) -> tuple[str, float]:
    if src:          # -P: the current folder (a checkout's own srmverify/) does not shadow src
        cmd = [sys.executable, "-P", "-m", "srmverify"]
        env: dict | None = dict(os.environ, PYTHONPATH=src)
    else:
        cmd, env = [str(Path(sys.executable).with_name("srmverify"))], None
    if CPU_CLOCK[0]:
        cmd = [sys.executable, "-P", "-c", CPU_CLOCK_MAIN]
    out, t, err = run(cmd + ["verify", str(net), str(prop), "--timeout", str(timeout), "--json"], timeout, env)
    try:
        return json.loads(out)["verdict"], t
    except (ValueError, KeyError):
        return "error: " + err.strip().splitlines()[-1] if err.strip() else "error", t


def nnenum(net: Path, prop: Path, timeout: float, src: Path, python: str) -> tuple[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src / "src"), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        res = Path(tmp) / "out.txt"
        _, t, err = run([python, "-m", "nnenum.nnenum", str(net), str(prop), str(timeout), str(res)], timeout, env)
        verdict = res.read_text().strip() if res.exists() else ("timeout" if err == "killed" else "error")
    return VERDICTS.get(verdict, verdict), t


#: Set by ``main``: a verdict returned after the wall-clock limit counts as a timeout.
LIMIT = [float("inf")]
#: Set by ``main`` (``--cpu-clock``).
CPU_CLOCK = [False]


def solved(row: dict, tool: str) -> bool:
    return row.get(tool) in ("sat", "unsat") and float(row[f"{tool}_time"]) <= LIMIT[0]


def wrong(row: dict, tool: str) -> bool:
    return row.get(tool) in ("sat", "unsat") and row[tool] != row["published"]


def summary(name: str, rows: list[dict], timeout: float) -> str:
    done = [r for r in rows if solved(r, name)]
    times = [min(float(r[f"{name}_time"]), timeout) if solved(r, name) else timeout for r in rows]
    med = float(np.median([float(r[f"{name}_time"]) for r in done])) if done else float("nan")
    bad = sum(wrong(r, name) for r in rows)
    return f"| {name} | {len(done)}/{len(rows)} | {bad} | {sum(times):.0f} s | {med:.1f} s |"


def short(onnx: str, prop: str) -> str:
    return Path(onnx).stem.replace("ACASXU_run2a_", "").replace("_batch_2000", "") + " " + Path(prop).stem


def table(rows: list[dict], tools: list[str], timeout: float) -> str:
    lines = [f"| tool | solved | wrong | total (timeouts = {timeout:g} s) | median solved |", "|---|---|---|---|---|"]
    lines += [summary(t, rows, timeout) for t in tools]
    if len(tools) == 2:
        both = [r for r in rows if all(solved(r, t) for t in tools)]
        if both:
            g = float(np.exp(np.mean([np.log(float(r[f"{tools[0]}_time"]) / float(r[f"{tools[1]}_time"]))
                                      for r in both])))
            lines.append(f"\n{tools[0]} / {tools[1]} time on the {len(both)} instances both solved: "
                         f"geometric mean {g:.2f}")
    for t in tools:
        failed = [short(r["onnx"], r["vnnlib"]) + f" ({r[t]})" for r in rows if not solved(r, t)]
        if failed:
            lines.append(f"\n{t} unsolved ({len(failed)}): " + ", ".join(failed))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/work/shared/benchmarks/acasxu")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--subset", default="strat", choices=("strat", "all"))
    ap.add_argument("--nnenum", help="a checkout of stanleybak/nnenum (enables the comparison)")
    ap.add_argument("--nnenum-python", default=sys.executable, help="python of nnenum's venv")
    ap.add_argument("--tools", help="comma-separated subset of srmverify,nnenum (default: both if --nnenum)")
    ap.add_argument("--srmverify-src", help="run srmverify from this frozen copy of the code (PYTHONPATH)")
    ap.add_argument("--csv", help="append every row to this CSV file as soon as it finishes")
    ap.add_argument("--resume", action="store_true", help="skip the instances already in --csv")
    ap.add_argument("--only", help="run only the (onnx, vnnlib) rows of this CSV")
    ap.add_argument("--summary", help="print the table of this results CSV and exit")
    ap.add_argument("--cpu-clock", action="store_true",
                    help="srmverify's deadlines and recorded times in CPU seconds (a loaded machine)")
    args = ap.parse_args()
    LIMIT[0] = args.timeout
    CPU_CLOCK[0] = args.cpu_clock
    root = Path(args.dir)
    tools = args.tools.split(",") if args.tools else ["srmverify"] + (["nnenum"] if args.nnenum else [])
    if args.summary:
        rows = list(csv.DictReader(open(args.summary)))
        tools = [t for t in ("srmverify", "nnenum") if rows and t in rows[0]]
        print(table(rows, tools, args.timeout))
        sys.exit(1 if any(wrong(r, t) for r in rows for t in tools) else 0)
    if "nnenum" in tools and not args.nnenum:
        ap.error("--tools nnenum needs --nnenum DIR")
    if args.cpu_clock and "nnenum" in tools:
        ap.error("--cpu-clock times srmverify only: add --tools srmverify")
    published = {(r["onnx"], r["vnnlib"]): r["verdict"] for r in csv.DictReader(open(root / "published_verdicts.csv"))}
    todo = instances(root, args.subset)
    if args.only:
        keep = {(r["onnx"], r["vnnlib"]) for r in csv.DictReader(open(args.only))}
        todo = [i for i in todo if i in keep]
    fields = ["onnx", "vnnlib", "published"] + [c for t in tools for c in (t, f"{t}_time")]
    rows: list[dict] = []
    if args.csv and args.resume and Path(args.csv).exists():
        rows = list(csv.DictReader(open(args.csv)))
        seen = {(r["onnx"], r["vnnlib"]) for r in rows}
        todo = [i for i in todo if i not in seen]
    out = None
    if args.csv:
        fresh = not (args.resume and Path(args.csv).exists())
        out = open(args.csv, "w" if fresh else "a", newline="")
        writer = csv.DictWriter(out, fieldnames=fields)
        if fresh:
            writer.writeheader()
    print("| instance | published | " + " | ".join(tools) + " |\n|---|---|" + "---|" * len(tools), flush=True)
    for onnx, prop in todo:
        if not (root / onnx).exists() or not (root / prop).exists():
            print(f"| {onnx} {prop} | (file missing: skipped) |", flush=True)
            continue
        row: dict = {"onnx": onnx, "vnnlib": prop, "published": published[(Path(onnx).name, Path(prop).name)]}
        for t in tools:
            if t == "srmverify":
                v, s = srmverify(root / onnx, root / prop, args.timeout, args.srmverify_src)
            else:
                v, s = nnenum(root / onnx, root / prop, args.timeout, Path(args.nnenum), args.nnenum_python)
            row[t], row[f"{t}_time"] = v, round(s, 2)
        rows.append(row)
        if out is not None:
            writer.writerow(row)
            out.flush()
            os.fsync(out.fileno())
        cells = " | ".join(f"{row[t]} {row[f'{t}_time']:.1f} s{' WRONG' if wrong(row, t) else ''}" for t in tools)
        print(f"| {short(onnx, prop)} | {row['published']} | {cells} |", flush=True)
    if out is not None:
        out.close()
    print("\n" + table(rows, tools, args.timeout))
    if any(wrong(r, t) for r in rows for t in tools):
        sys.exit(1)


if __name__ == "__main__":
    main()
