"""Batch scale-out: 8 ACAS Xu instances of moderate difficulty through ``run_batch`` on a local Dask
cluster of 1 and of 2 worker processes, plus the in-process serial executor, in one run.

The instances (all published ``unsat``; each proven in about 0.5-3 s on an idle core, 2-7 s under
load) are listed longest first, so the last task to start is a short one: property 2 on nets 1_1,
1_7, 1_8, 1_9, property 3 on 1_3 and 4_2, property 4 on 1_1, property 1 on 4_5.
Every executor is started and **warmed up outside the timed batch** (each worker imports the
solver stack and loads every network and property once, :func:`~srmverify.batch.warm_up`; the
serial executor does the same in this process), so the timed batch measures scale-out, not
start-up. Repetitions are interleaved (the machine is shared) and the best of each is kept.
Prints a markdown table, the 2-vs-1-worker ratio and the load average before and after.

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

from srmverify.batch import DaskExecutor, SerialExecutor, read_instances, run_batch, warm_up

#: (property, net), longest first (measured with `srmverify batch`, one worker).
INSTANCES = [(3, "1_3"), (4, "1_1"), (2, "1_1"), (2, "1_8"), (2, "1_7"), (2, "1_9"), (3, "4_2"), (1, "4_5")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acas", type=Path, default=Path("/work/shared/benchmarks/acasxu"))
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    published = {(r["onnx"], r["vnnlib"]): r["verdict"] for r in csv.DictReader(open(args.acas / "published_verdicts.csv"))}
    tmp = Path(tempfile.mkdtemp(prefix="bench_batch_"))
    rows = [f"{args.acas}/onnx/ACASXU_run2a_{n}_batch_2000.onnx,{args.acas}/vnnlib/prop_{p}.vnnlib,{args.timeout}"
            for p, n in INSTANCES]
    (tmp / "instances.csv").write_text("\n".join(rows) + "\n")
    instances = read_instances(tmp / "instances.csv")
    print(f"{len(instances)} instances: " + ", ".join(f"prop_{p} on {n}" for p, n in INSTANCES)
          + f"; timeout {args.timeout:g} s")
    load0 = os.getloadavg()
    makers = {"serial (in process)": SerialExecutor, "dask, 1 worker": lambda: DaskExecutor(n_workers=1),
              "dask, 2 workers": lambda: DaskExecutor(n_workers=2)}
    executors, start = {}, {}
    for label, make in makers.items():
        t0 = time.perf_counter()
        ex = make()
        ex.warm(warm_up, instances)
        executors[label], start[label] = ex, time.perf_counter() - t0
    best: dict[str, tuple] = {}
    try:
        for rep in range(args.repeat):          # interleaved repetitions, best of each: the machine is shared
            for label, ex in executors.items():
                s = run_batch(instances, tmp / f"{label.replace(' ', '_').replace(',', '')}_{rep}", executor=ex)
                wrong = sum(1 for r in s.results if r.verdict in ("sat", "unsat")
                            and r.verdict != published[(Path(r.key[0]).name, Path(r.key[1]).name)])
                if label not in best or s.time < best[label][0]:
                    best[label] = (s.time, sum(r.time for r in s.results), s.counts, wrong)
    finally:
        for ex in executors.values():
            ex.close()
    load1 = os.getloadavg()
    print(f"best of {args.repeat} interleaved runs each; load average (1, 5, 15 min) {load0[0]:.1f} {load0[1]:.1f} "
          f"{load0[2]:.1f} before, {load1[0]:.1f} {load1[1]:.1f} {load1[2]:.1f} after ({os.cpu_count()} cores)\n")
    print("| executor | start-up + warm-up (s) | batch wall time (s) | sum of instance times (s) | verdicts | wrong |")
    print("|---|---|---|---|---|---|")
    for label, (wall, total, counts, wrong) in best.items():
        shown = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
        print(f"| {label} | {start[label]:.2f} | {wall:.2f} | {total:.2f} | {shown} | {wrong} |")
    one, two, serial = best["dask, 1 worker"][0], best["dask, 2 workers"][0], best["serial (in process)"][0]
    print(f"\nspeed-up 2 workers vs 1 worker: {one / two:.2f}x (vs serial in process: {serial / two:.2f}x; "
          f"1 worker vs serial: {serial / one:.2f}x)")


if __name__ == "__main__":
    main()
