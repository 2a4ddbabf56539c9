"""Robustness of a time-to-first-spike 784-10-10 SNN at several eps: time per sample (issue 3).

The network is the one :mod:`ttfs_digits` trains (sklearn digits upsampled to 28x28, class = the
earliest output spike; cached in ``benchmarks/out/ttfs_784_10_10.json``). For each eps (L-inf,
pixel scale [0, 1], clipped to the pixel domain) the query ``robustness(..., mode="ttfs")`` runs on
the first ``--samples`` correctly classified test digits. The reference: a published
discrete-time MILP method needs about 0.9 s per sample for a 784-10-10 SNN.

``--compare-exact`` also runs every query with the exact first-crossing encoding of every neuron
from the start (no relaxation/refinement, i.e. the engine before srmverify.verify.refine), in the
same run, and prints the ratio.

    python benchmarks/bench_verify_robust.py [--samples 25] [--eps 0.005,0.01,0.02,0.05] [--engine highs] [--compare-exact]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import ttfs_digits  # noqa: E402

from srmverify.formats import load_network, save_network  # noqa: E402
from srmverify.settings import DEFAULT  # noqa: E402
from srmverify.verify.queries import robustness  # noqa: E402

PUBLISHED_S_PER_SAMPLE = 0.9


def _ratio(med: float) -> str:
    if med <= PUBLISHED_S_PER_SAMPLE:
        return f"{PUBLISHED_S_PER_SAMPLE / med:.1f}x faster"
    return f"{med / PUBLISHED_S_PER_SAMPLE:.1f}x slower"


def load_or_train():
    path = ttfs_digits.OUT / "ttfs_784_10_10.json"
    _, _, xte, yte = ttfs_digits.digits_784()
    if not path.exists():
        net, _, _ = ttfs_digits.train()
        ttfs_digits.OUT.mkdir(exist_ok=True)
        save_network(net, path)
    net = load_network(path)
    return net, xte, yte


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=25)
    ap.add_argument("--eps", default="0.005,0.01,0.02,0.05")
    ap.add_argument("--engine", default="highs")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--json")
    ap.add_argument("--compare-exact", action="store_true")
    args = ap.parse_args()
    net, xte, yte = load_or_train()
    pred = ttfs_digits.predict(net, xte)
    print(f"TTFS SNN 784-10-10 (+1 constant), test accuracy {np.mean(pred == yte):.3f}, engine {args.engine}")
    idx = np.flatnonzero(pred == yte)[: args.samples]
    domain = np.array([[0.0, 1.0]] * 784)
    variants = [("relaxed + refinement", DEFAULT.max_refinements)]
    if args.compare_exact:
        variants.append(("exact encoding", -1))        # -1 rounds: every neuron exact from the start
    rows = []
    print("\n| eps | encoding | unsat / sat / other | median s/sample | mean | max | refinements | median vs 0.9 s |"
          "\n|---|---|---|---|---|---|---|---|")
    for eps in map(float, args.eps.split(",")):
        medians = {}
        for name, rounds in variants:
            times, verdicts, refinements = [], Counter(), 0
            for i in idx:
                t0 = time.perf_counter()
                r = robustness(net, xte[i], eps, mode="ttfs", label=int(yte[i]), domain=domain, engine=args.engine,
                               timeout=args.timeout, settings=DEFAULT.replace(max_refinements=rounds))
                times.append(time.perf_counter() - t0)
                verdicts[r.verdict.value] += 1
                refinements += r.stats.get("refinements", 0)
            med = medians[name] = float(np.median(times))
            other = len(idx) - verdicts["unsat"] - verdicts["sat"]
            rows.append({"eps": eps, "encoding": name, "times": times, "verdicts": dict(verdicts), "median": med,
                         "refinements": refinements})
            print(f"| {eps:g} | {name} | {verdicts['unsat']} / {verdicts['sat']} / {other} | {med:.3f} | "
                  f"{np.mean(times):.3f} | {np.max(times):.3f} | {refinements} | {_ratio(med)} |", flush=True)
        if len(medians) == 2:
            a, b = medians.values()
            print(f"|  | exact / relaxed median | {b / a:.1f}x |  |  |  |  |  |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"engine": args.engine, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
