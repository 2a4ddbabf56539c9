"""Optimal output bounds of random mixed-sign SNNs (issue 11): branch and bound vs one MILP.

The networks of issue 11: layered ``n-h-h-1`` SNNs, weights N(0.5, 1) (both signs, ~31 %
negative), thresholds 1, no delays, one bias spike at time 0 feeding every layer (its weights
drawn like the others), inputs = spike times in the box [0, 1]^n. For each network and seed,
side by side in one run:

* ``output_bounds(method="optimal")`` (what ``srmverify bounds NET --box ...`` runs; the
  branch and bound of :mod:`srmverify.verify.bab_snn`): time, proven ``[lower, upper]``, the
  attained values at the witnesses (re-simulated exactly here), the bracket gaps;
* with ``--baseline``: the same with branch and bound switched off (``bab_max_inputs=0``: one
  MILP per side with relaxed first-crossing refinement, the path before), capped at ``--cap``;
* the range of ``--samples`` uniform samples (every proven bound must contain it).

    python benchmarks/bench_snn_bab.py [--sizes 5-10-10-1,5-20-20-1] [--seeds 0,1,2,3,4] [--cap 60] [--baseline]
                                       [--cpu] [--set bab_snn_leaf_undecided=4 ...]

``--cpu``: the library's deadlines and the reported times count this process's CPU seconds
(``time.perf_counter`` is replaced by ``time.process_time`` before anything runs), so runs on a
loaded machine compare like with like (the leaf MILPs' own HiGHS limits stay wall-clock).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from srmverify.network import SNN
from srmverify.settings import DEFAULT
from srmverify.simulate import simulate, simulate_exact
from srmverify.verify.queries import output_bounds


def random_mixed_snn(widths: list[int], seed: int = 0) -> SNN:
    """Issue 11's generator: weights N(0.5, 1) including the bias column, thresholds 1, one
    constant (bias) spike at time 0 feeding every layer."""
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(0.5, 1.0, (o, i + 1)) for i, o in zip(widths, widths[1:])]
    return SNN.layered(Ws, [np.ones(o) for o in widths[1:]], constants=[0.0])


def run(net: SNN, box: np.ndarray, cap: float, settings=DEFAULT) -> dict:
    t0 = time.perf_counter()
    r = output_bounds(net, box, method="optimal", timeout=cap, settings=settings)
    dt = time.perf_counter() - t0
    row = {"time": dt, "complete": r.complete, "lower": r.lower[0], "upper": r.upper[0]}
    if "witness" in r.stats:
        att, wit = r.stats["attained"][0], r.stats["witness"][0]
        row["attained"] = att
        row["exact_at_witness"] = [None if x is None else float(simulate_exact(net, x)[0]) for x in wit]
        row["gap"] = r.stats["gap"][0]
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5-10-10-1,5-20-20-1")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--cap", type=float, default=60.0)
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--baseline", action="store_true", help="also run the MILP path (branch and bound off)")
    ap.add_argument("--cpu", action="store_true", help="deadlines and times in CPU seconds of this process")
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE", help="Settings fields for both paths")
    ap.add_argument("--json")
    args = ap.parse_args()
    if args.cpu:
        time.perf_counter = time.process_time      # every deadline (srmverify.deadline) and time below
    fields = dict(kv.split("=", 1) for kv in args.set)
    settings = DEFAULT.replace(**{k: type(getattr(DEFAULT, k))(v) for k, v in fields.items()})
    simulate(random_mixed_snn([2, 2, 1]), np.zeros((1, 2)))       # compile the kernels outside the timings
    print(f"load average before: {os.getloadavg()[0]:.2f}; {'CPU' if args.cpu else 'wall'} seconds; settings {fields}\n")
    print("| size | seed | sampled range | bounds --method optimal: time | proven [lower, upper] | "
          "attained at witnesses (exact) | " + ("MILP path (before) | " if args.baseline else "") + "load |")
    print("|---|---|---|---|---|---|" + ("---|" if args.baseline else "") + "---|")
    rows = []
    for size in args.sizes.split(","):
        widths = [int(w) for w in size.split("-")]
        box = np.array([[0.0, 1.0]] * widths[0])
        for seed in map(int, args.seeds.split(",")):
            net = random_mixed_snn(widths, seed)
            Y = simulate(net, np.random.default_rng(1).random((args.samples, widths[0])))[:, 0]
            Y = Y[np.isfinite(Y)]
            row = {"size": size, "seed": seed, "sampled": [float(Y.min()), float(Y.max())]}
            row["bab"] = run(net, box, args.cap, settings)
            if args.baseline:
                row["milp"] = run(net, box, args.cap, settings.replace(bab_max_inputs=0))
            row["load"] = os.getloadavg()[0]
            rows.append(row)
            b = row["bab"]
            ok = b["lower"] is not None and b["upper"] is not None and b["lower"] <= Y.min() and Y.max() <= b["upper"]
            shown = f"{b['time']:.2f} s" if b["complete"] else f"> {args.cap:g} s"
            ex = b.get("exact_at_witness") or [None, None]
            fmt = (lambda v: "-" if v is None else f"{v:.6f}")
            base = ""
            if args.baseline:
                m = row["milp"]
                base = (f"{m['time']:.2f} s" if m["complete"] else f"> {args.cap:g} s") + \
                    f" [{fmt(m['lower'])}, {fmt(m['upper'])}] | "
            print(f"| {size} | {seed} | [{Y.min():.6f}, {Y.max():.6f}] | **{shown}** | "
                  f"[{fmt(b['lower'])}, {fmt(b['upper'])}]{'' if ok else ' (NOT containing samples)'} | "
                  f"[{fmt(ex[0])}, {fmt(ex[1])}] | {base}{row['load']:.2f} |", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    for size in args.sizes.split(","):
        ts = [r["bab"]["time"] if r["bab"]["complete"] else np.inf for r in rows if r["size"] == size]
        print(f"\n{size}: median {np.median(ts):.2f} s, max {max(ts):.2f} s "
              f"({sum(np.isfinite(ts))}/{len(ts)} complete within {args.cap:g} s)")


if __name__ == "__main__":
    main()
