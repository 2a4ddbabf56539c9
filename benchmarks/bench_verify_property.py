"""Property queries (VNN-LIB style) on a ReLU network with few inputs: branch and bound over input
splits vs one big-M MILP, side by side in one run (issue 3).

A random 5-50-50-1 ReLU network (``bench_verify_bounds.random_relu``, ``--init``, ``--seeds``),
box [-1, 1]^5. Its maximum ``M`` is computed first (``maximize_relu``); then the queries
"Y_0 >= M + 0.5" (``unsat``) and "Y_0 >= M - 0.01" (``sat``) run through ``find_violation``
(what ``srmverify verify`` calls, sampling off) twice: as routed by the engine (few inputs, one
atom per conjunction: branch and bound with a decision threshold) and forced through the one big
MILP of the whole network (a no-op input constraint disables the branch-and-bound route).

    python benchmarks/bench_verify_property.py [--seeds 0,1] [--init unit] [--cap 60]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench_verify_bounds import random_relu
from srmverify.verify.bab import maximize_relu
from srmverify.verify.pipeline import Atom, find_violation


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--init", default="unit")
    ap.add_argument("--cap", type=float, default=60.0)
    args = ap.parse_args()
    box = np.array([[-1.0, 1.0]] * 5)
    print("| net | query | branch and bound | one MILP | MILP / BaB |\n|---|---|---|---|---|")
    for seed in map(int, args.seeds.split(",")):
        net = random_relu([5, 50, 50, 1], seed, args.init)
        top = maximize_relu(net, box).value
        for name, d in (("Y_0 >= max + 0.5", -(top + 0.5)), ("Y_0 >= max - 0.01", -(top - 0.01))):
            cells, times = [], []
            for kw in ({}, {"constraint": lambda p, x: None}):
                t0 = time.perf_counter()
                r = find_violation([net], box, [[Atom(np.array([-1.0]), d)]], query="property", engine="highs",
                                   timeout=args.cap, falsify=False, **kw)
                times.append(time.perf_counter() - t0)
                cells.append(f"{r.verdict.value} {times[-1]:.2f} s")
            ratio = f"{times[1] / times[0]:.0f}x" + (" (capped)" if times[1] >= args.cap else "")
            print(f"| 5-50-50-1 {args.init} seed {seed} | {name} | {cells[0]} | {cells[1]} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
