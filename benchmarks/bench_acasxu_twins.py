"""The SNN twins of ACAS Xu (issue 11 item 4): each network converted exactly on each property's
input box (``srmverify convert NET --box PROP --certify``, the certificate must accept), then the
SAME VNN-LIB property verified on the SNN file (``srmverify verify SNN.json PROP --json``) and on
the ONNX original, in the same run, one process per query, as a user who only has the SNN would.

    python benchmarks/bench_acasxu_twins.py [--dir /work/shared/benchmarks/acasxu] [--timeout 60]
        [--subset strat|all] [--csv out.csv] [--srmverify-src DIR]

``--srmverify-src DIR`` runs every query (and the conversion) with ``python -m srmverify`` from that
source tree (e.g. a snapshot of a commit, so that editing the working tree does not change a run).

Table: instance, published verdict, ReLU verdict/time, SNN verdict/time, ratio SNN/ReLU,
conversion time (with the certificate), SNN size. A verdict that differs from the published one
(or between the twins) is flagged and makes the exit status 1.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_acasxu import instances, run, srmverify  # noqa: E402  (one runner, one subset)
from srmverify.formats.vnnlib import parse_vnnlib  # noqa: E402


def hull(prop: Path) -> str:
    """``--box`` for the conversion: the property file itself, or, when it has several input boxes
    (prop 6), the JSON of their bounding box (the twin is exact on the hull, hence on each box)."""
    boxes = parse_vnnlib(prop.read_text(), str(prop)).input_boxes
    if len(boxes) == 1:
        return str(prop)
    lo, hi = np.min([b[:, 0] for b in boxes], axis=0), np.max([b[:, 1] for b in boxes], axis=0)
    return json.dumps([[float(a), float(b)] for a, b in zip(lo, hi)])


def convert(net: Path, prop: Path, out: Path, timeout: float, src: str | None) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "srmverify"] if src else [str(Path(sys.executable).with_name("srmverify"))]
    env = dict(os.environ, PYTHONPATH=src) if src else None
    stdout, t, err = run(cmd + ["convert", str(net), "--box", hull(prop), "-o", str(out), "--certify", "--json"],
                         timeout, env)
    try:
        return json.loads(stdout), t
    except ValueError:
        return {"error": err.strip()[-200:]}, t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/work/shared/benchmarks/acasxu")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--subset", default="strat", choices=("strat", "all"))
    ap.add_argument("--csv", help="also write every row to this CSV file")
    ap.add_argument("--match", default="", help="only instances whose name contains this (e.g. prop_6)")
    ap.add_argument("--srmverify-src", default=None, help="run `python -m srmverify` with this PYTHONPATH")
    args = ap.parse_args()
    root = Path(args.dir)
    published = {(r["onnx"], r["vnnlib"]): r["verdict"] for r in csv.DictReader(open(root / "published_verdicts.csv"))}
    rows, bad = [], False
    print("| instance | published | ReLU | SNN twin | SNN / ReLU | convert + certify | SNN neurons (kink) |\n"
          "|---|---|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for onnx, prop in instances(root, args.subset):
            name = Path(onnx).stem.replace("ACASXU_run2a_", "").replace("_batch_2000", "") + " " + Path(prop).stem
            if not (root / onnx).exists() or not (root / prop).exists() or args.match not in name:
                continue
            snn_file = Path(tmp) / "twin.json"
            conv, tc = convert(root / onnx, root / prop, snn_file, args.timeout, args.srmverify_src)
            accepted = conv.get("certificate", {}).get("verdict") == "accepted"
            row = {"instance": name, "published": published[(Path(onnx).name, Path(prop).name)],
                   "convert_time": tc, "certificate": "accepted" if accepted else conv.get("error", "rejected"),
                   "snn_neurons": conv.get("report", {}).get("snn_neurons"),
                   "kink_neurons": conv.get("report", {}).get("kink_neurons")}
            row["relu"], row["relu_time"] = srmverify(root / onnx, root / prop, args.timeout, args.srmverify_src)
            if accepted:
                row["snn"], row["snn_time"] = srmverify(snn_file, root / prop, args.timeout, args.srmverify_src)
            else:
                row["snn"], row["snn_time"] = "no twin", float("nan")
            rows.append(row)
            flag = ""
            for t in ("relu", "snn"):
                if row[t] in ("sat", "unsat") and row[t] != row["published"]:
                    flag, bad = " WRONG", True
            ratio = row["snn_time"] / row["relu_time"]
            print(f"| {name} | {row['published']} | {row['relu']} {row['relu_time']:.1f} s | {row['snn']} "
                  f"{row['snn_time']:.1f} s{flag} | {ratio:.2f}x | {tc:.1f} s ({row['certificate']}) | "
                  f"{row['snn_neurons']} ({row['kink_neurons']}) |", flush=True)
    both = [r for r in rows if r["relu"] in ("sat", "unsat") and r["snn"] in ("sat", "unsat")]
    same = sum(r["relu"] == r["snn"] for r in both)
    print(f"\nsolved: ReLU {sum(r['relu'] in ('sat', 'unsat') for r in rows)}/{len(rows)}, "
          f"SNN twin {sum(r['snn'] in ('sat', 'unsat') for r in rows)}/{len(rows)}; same verdict on {same}/{len(both)} "
          "solved by both")
    if both:
        ratios = np.array([r["snn_time"] / r["relu_time"] for r in both])
        print(f"SNN / ReLU time on those: geometric mean {np.exp(np.mean(np.log(ratios))):.2f}, "
              f"max {ratios.max():.2f}; total ReLU {sum(r['relu_time'] for r in both):.0f} s, "
              f"SNN {sum(r['snn_time'] for r in both):.0f} s; conversion + certificate total "
              f"{sum(r['convert_time'] for r in rows):.0f} s")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    if bad or same != len(both):
        sys.exit(1)


if __name__ == "__main__":
    main()
