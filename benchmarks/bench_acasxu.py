"""ACAS Xu (VNN-COMP ``acasxu``, unmodified ONNX + VNN-LIB): srmverify against the published
verdicts and, when given, nnenum, run interleaved on the same machine (issue 11).

Every instance is one process per tool with the same wall-clock limit (start-up included):
``srmverify verify NET PROP --timeout T --json`` and, with ``--nnenum DIR``,
``PYTHONPATH=DIR/src python -m nnenum.nnenum NET PROP T OUT`` (``--nnenum-python``: the
interpreter of nnenum's own venv; its code is never part of this repository). Each verdict is
checked against ``published_verdicts.csv``: a wrong verdict is reported and makes the exit status
1. The table: solved, wrong, total time (timeouts and failures counted as ``T``), median, and the
geometric mean of srmverify's time over nnenum's on the instances both solved.

    python benchmarks/bench_acasxu.py [--dir /work/shared/benchmarks/acasxu] [--timeout 60]
        [--subset all|strat] [--nnenum /tmp/nnenum --nnenum-python /tmp/nnenum_venv/bin/python]
        [--csv results.csv]

``--subset strat`` (default): props 1-4 on the networks 1_5, 2_5, 3_5, 4_5, 5_5 plus the single
instances of props 5-10 and ``test_nano`` (skipped when its files are absent): 27 instances.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SRMVERIFY = [str(Path(sys.executable).with_name("srmverify"))]
VERDICTS = {"holds": "unsat", "violated": "sat", "unsat": "unsat", "sat": "sat"}


def instances(root: Path, subset: str) -> list[tuple[str, str]]:
    """``(onnx, vnnlib)`` paths relative to ``root``, in the order of ``instances.csv``."""
    rows = [tuple(r[:2]) for r in csv.reader(open(root / "instances.csv")) if r]
    if subset == "all":
        return rows
    nets = sorted({o for o, p in rows if "prop_1." in p})
    keep = set(nets[4::9])
    return [(o, p) for o, p in rows if o in keep or not any(f"prop_{k}." in p for k in (1, 2, 3, 4))]


def run(cmd: list[str], timeout: float, env: dict | None = None) -> tuple[str, float, str]:
    """``(stdout, wall time, stderr tail)``; a process past ``timeout + 15`` s is killed."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 15, env=env)
        return p.stdout, time.perf_counter() - t0, p.stderr[-300:]
    except subprocess.TimeoutExpired:
        return "", time.perf_counter() - t0, "killed"


def srmverify(net: Path, prop: Path, timeout: float) -> tuple[str, float]:
    out, t, err = run(SRMVERIFY + ["verify", str(net), str(prop), "--timeout", str(timeout), "--json"], timeout)
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


def summary(name: str, rows: list[dict], timeout: float) -> str:
    solved = [r for r in rows if r[name] in ("sat", "unsat")]
    wrong = [r for r in solved if r[name] != r["published"]]
    times = [min(r[f"{name}_time"], timeout) if r in solved else timeout for r in rows]
    med = float(np.median([r[f"{name}_time"] for r in solved])) if solved else float("nan")
    return f"| {name} | {len(solved)}/{len(rows)} | {len(wrong)} | {sum(times):.0f} s | {med:.1f} s |"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/work/shared/benchmarks/acasxu")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--subset", default="strat", choices=("strat", "all"))
    ap.add_argument("--nnenum", help="a checkout of stanleybak/nnenum (enables the comparison)")
    ap.add_argument("--nnenum-python", default=sys.executable, help="python of nnenum's venv")
    ap.add_argument("--csv", help="also write every row to this CSV file")
    args = ap.parse_args()
    root = Path(args.dir)
    published = {(r["onnx"], r["vnnlib"]): r["verdict"] for r in csv.DictReader(open(root / "published_verdicts.csv"))}
    tools = ["srmverify"] + (["nnenum"] if args.nnenum else [])
    rows = []
    print("| instance | published | " + " | ".join(tools) + " |\n|---|---|" + "---|" * len(tools), flush=True)
    for onnx, prop in instances(root, args.subset):
        if not (root / onnx).exists() or not (root / prop).exists():
            print(f"| {onnx} {prop} | (file missing: skipped) |", flush=True)
            continue
        row = {"onnx": onnx, "vnnlib": prop, "published": published[(Path(onnx).name, Path(prop).name)]}
        row["srmverify"], row["srmverify_time"] = srmverify(root / onnx, root / prop, args.timeout)
        if args.nnenum:
            row["nnenum"], row["nnenum_time"] = nnenum(root / onnx, root / prop, args.timeout, Path(args.nnenum),
                                                       args.nnenum_python)
        rows.append(row)
        flags = ["" if row[t] not in ("sat", "unsat") or row[t] == row["published"] else " WRONG" for t in tools]
        cells = " | ".join(f"{row[t]} {row[f'{t}_time']:.1f} s{f}" for t, f in zip(tools, flags))
        name = Path(onnx).stem.replace("ACASXU_run2a_", "").replace("_batch_2000", "")
        print(f"| {name} {Path(prop).stem} | {row['published']} | {cells} |", flush=True)
    print(f"\n| tool | solved | wrong | total (timeouts = {args.timeout:g} s) | median solved |\n|---|---|---|---|---|")
    for t in tools:
        print(summary(t, rows, args.timeout))
    if args.nnenum:
        both = [r for r in rows if all(r[t] in ("sat", "unsat") for t in tools)]
        if both:
            g = float(np.exp(np.mean([np.log(r["srmverify_time"] / r["nnenum_time"]) for r in both])))
            print(f"\nsrmverify / nnenum time on the {len(both)} instances both solved: geometric mean {g:.2f}")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if any(r[t] in ("sat", "unsat") and r[t] != r["published"] for r in rows for t in tools):
        sys.exit(1)


if __name__ == "__main__":
    main()
