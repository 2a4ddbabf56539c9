"""HiGHS vs CBC vs z3 on the same verification queries (issue 3).

Each query runs once per engine in one process, side by side (``time`` = wall clock of the library
call, verdicts must agree):

* ``bounds relu 5-10-10-1``: optimal output bounds of a random ReLU network on [-1, 1]^5;
* ``bounds snn 5-10-10-1``: the same on a random mixed-sign SNN (inputs = spike times in [0, 1]);
* ``robust ttfs 784-10-10``: robustness of the trained TTFS digits SNN (``ttfs_digits``),
  ``--digits`` samples at eps 0.001 (mean time per sample);
* ``equiv relu vs relu+0.1``: equivalence with eps 0.05 (sat) and 0.11 (unsat);
* ``vnnlib 5-10-10-1``: VNN-LIB properties "output >= max - 0.01" (sat) and "output >= proven
  upper bound + 0.5" (unsat).

    python benchmarks/bench_verify_engines.py [--timeout 120]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_verify_robust import load_or_train  # noqa: E402
import ttfs_digits  # noqa: E402

from srmverify.network import SNN, ReLUNet  # noqa: E402
from srmverify.verify.queries import check_property, equivalence, output_bounds, robustness  # noqa: E402

ENGINES = ("highs", "cbc", "z3")


def random_relu(widths, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    layers = [(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(widths, widths[1:])]
    layers[-1] = (layers[-1][0], layers[-1][1] + shift)
    return ReLUNet(layers)


def random_snn(widths, seed=0):
    rng = np.random.default_rng(seed)
    Ws = [np.hstack([rng.normal(0.3, 0.6, (o, i)), np.full((o, 1), 0.5)]) for i, o in zip(widths, widths[1:])]
    return SNN.layered(Ws, [np.ones(w.shape[0]) for w in Ws], constants=[0.0])


def verdict(r) -> str:
    v = r.verdict
    return v.value if hasattr(v, "value") else str(v)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--digits", type=int, default=3)
    ap.add_argument("--only", default="", help="run only the queries whose name contains this text")
    ap.add_argument("--json")
    args = ap.parse_args()
    T = args.timeout
    relu, snn = random_relu([5, 10, 10, 1]), random_snn([5, 10, 10, 1])
    box5, tbox5 = np.array([[-1.0, 1.0]] * 5), np.array([[0.0, 1.0]] * 5)
    ref = output_bounds(relu, box5, method="optimal")          # attained maximum and proven upper bound
    ymax, yub = ref.stats["attained"][0][1], ref.upper[0]
    net784, xte, yte = load_or_train()
    idx = np.flatnonzero(ttfs_digits.predict(net784, xte) == yte)[: args.digits]
    dom = np.array([[0.0, 1.0]] * 784)

    def robust784(engine):
        out = []
        for i in idx:
            out.append(robustness(net784, xte[i], 0.001, mode="ttfs", label=int(yte[i]), domain=dom, engine=engine, timeout=T))
        return out

    queries = {
        "bounds relu 5-10-10-1": lambda e: [output_bounds(relu, box5, method="optimal", engine=e, timeout=T)],
        "bounds snn 5-10-10-1": lambda e: [output_bounds(snn, tbox5, method="optimal", engine=e, timeout=T)],
        f"robust ttfs 784-10-10 ({args.digits} digits, eps 0.001)": robust784,
        "equiv relu vs relu+0.1, eps 0.05": lambda e: [equivalence(relu, random_relu([5, 10, 10, 1], shift=0.1), box5,
                                                                  eps=0.05, engine=e, timeout=T)],
        "equiv relu vs relu+0.1, eps 0.11": lambda e: [equivalence(relu, random_relu([5, 10, 10, 1], shift=0.1), box5,
                                                                  eps=0.11, engine=e, timeout=T)],
        "vnnlib Y_0 >= max - 0.01 (sat)": lambda e: [check_property(relu, [box5], [[(np.array([-1.0]), -(ymax - 0.01))]],
                                                                    engine=e, timeout=T)],
        "vnnlib Y_0 >= max + 0.5 (unsat)": lambda e: [check_property(relu, [box5], [[(np.array([-1.0]), -(yub + 0.5))]],
                                                                    engine=e, timeout=T)],
    }
    rows = []
    print("| query | " + " | ".join(ENGINES) + " |\n|---|" + "---|" * len(ENGINES))
    for name, fn in [(k, f) for k, f in queries.items() if args.only in k]:
        cells, row = [], {"query": name}
        for e in ENGINES:
            t0 = time.perf_counter()
            res = fn(e)
            t = (time.perf_counter() - t0) / len(res)
            vs = [verdict(r) for r in res]
            row[e] = {"time_per_query": t, "verdicts": vs}
            shown = ",".join(sorted(set(vs)))
            cells.append(f"{shown}, {t:.3f} s")
        rows.append(row)
        base = row["highs"]["time_per_query"]
        ratios = " ".join(f"{e}/highs={row[e]['time_per_query'] / base:.1f}x" for e in ENGINES[1:])
        print(f"| {name} | " + " | ".join(cells) + f" |  ({ratios})", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
