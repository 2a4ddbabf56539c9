"""Batch scale-out: 8 ACAS Xu instances of similar moderate difficulty (property 1, each proven unsat
in a few seconds) through ``run_batch`` on a local Dask cluster of 1 and of 2 worker processes, plus the
in-process serial executor, in one run. Reports wall times and the 2-vs-1-worker speed-up (cluster
start-up excluded: it is paid once per batch, not per instance), and checks every verdict against
the published one.

    python benchmarks/bench_batch.py [--acas /work/shared/benchmarks/acasxu] [--timeout 60] [--repeat 3]

The machine has 2 cores shared with other jobs: read the ratio, not the absolute times.
"""
from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from srmverify.batch import DaskExecutor, SerialExecutor, read_instances, run_batch

NETS = ["1_1", "2_2", "2_3", "2_5", "2_6", "4_1", "4_2", "4_5"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acas", type=Path, default=Path("/work/shared/benchmarks/acasxu"))
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    published = {(r["onnx"], r["vnnlib"]): r["verdict"] for r in csv.DictReader(open(args.acas / "published_verdicts.csv"))}
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    rows = [f"{args.acas}/onnx/ACASXU_run2a_{n}_batch_2000.onnx,{args.acas}/vnnlib/prop_1.vnnlib,{args.timeout}"
            for n in NETS]
    (tmp / "instances.csv").write_text("\n".join(rows) + "\n")
    instances = read_instances(tmp / "instances.csv")
    print(f"{len(instances)} instances: ACAS Xu prop_1 on nets {', '.join(NETS)}; timeout {args.timeout:g} s")
    configs = {"serial (in process)": SerialExecutor, "dask, 1 worker": lambda: DaskExecutor(n_workers=1),
               "dask, 2 workers": lambda: DaskExecutor(n_workers=2)}
    best: dict[str, tuple] = {}
    load0 = os.getloadavg()[0]
    for rep in range(args.repeat):          # interleaved repetitions, best of each: the machine is shared
        for label, make in configs.items():
            t0 = time.perf_counter()
            with make() as ex:
                start = time.perf_counter() - t0
                s = run_batch(instances, tmp / f"{label.replace(' ', '_').replace(',', '')}_{rep}", executor=ex)
            wrong = sum(1 for r in s.results if r.verdict in ("sat", "unsat")
                        and r.verdict != published[(Path(r.key[0]).name, Path(r.key[1]).name)])
            if label not in best or s.time < best[label][1]:
                best[label] = (start, s.time, sum(r.time for r in s.results), s.counts, wrong)
    print(f"best of {args.repeat} interleaved runs each; 1-minute load average {load0:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after ({os.cpu_count()} cores)")
    print("| executor | start-up (s) | batch wall time (s) | sum of instance times (s) | verdicts | wrong |")
    print("|---|---|---|---|---|---|")
    for label, (start, wall, total, counts, wrong) in best.items():
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        print(f"| {label} | {start:.2f} | {wall:.2f} | {total:.2f} | {shown} | {wrong} |")
    one, two, serial = best["dask, 1 worker"][1], best["dask, 2 workers"][1], best["serial (in process)"][1]
    print(f"\nspeed-up 2 workers vs 1 worker: {one / two:.2f}x (vs serial in process: {serial / two:.2f}x)")

if __name__ == "__main__":
    main()
