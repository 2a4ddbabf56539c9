"""Output-bound quality and time, and their effect on MILP solve time (issue 3).

A random 5-50-50-1 ReLU network (``--init unit``: weights and biases N(0, 1); ``--init fanin``:
weights N(0, 1/fan_in), biases N(0, 0.1); ``--seed``), input box [-1, 1]^5, query: the maximum
of the output. Side by side, in one run:

* A. pre-activation bounds by each method (``interval``, ``symbolic``, ``lp``): time, number of
  unstable hidden ReLUs (= binaries of the big-M MILP), width of the output bound;
* B. one big-M MILP maximising the output with big-M constants from each method, CBC and HiGHS,
  each capped at ``--cap`` seconds (reported as "> cap" when not proven);
* C. the engine's branch-and-bound maximum (``verify.bab.maximize_relu``) and
  ``output_bounds(method="optimal")`` (what ``srmverify bounds`` runs: both sides).

    python benchmarks/bench_verify_bounds.py [--cap 120] [--engines cbc,highs] [--milp-bounds interval,symbolic,lp]

``--engine-only --seeds 0,1,2,3,4 --init unit,fanin [--baseline REV]`` runs only C, one row per
network, and with ``--baseline`` also ``maximize_relu`` as of git revision ``REV`` (its
``verify/bab.py`` and ``bounds/relu.py`` read with ``git show``, the rest of the package as it is
now; capped at ``--cap``) for a before/after ratio in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

from srmverify.bounds import METHODS, relu_preactivation_bounds
from srmverify.encode.network import input_vars
from srmverify.encode.program import Lin, Program
from srmverify.encode.relu import encode_relu
from srmverify.network import ReLUNet
from srmverify.simulate import simulate
from srmverify.solvers import solve
from srmverify.verify.bab import maximize_relu
from srmverify.verify.queries import output_bounds


def random_relu(widths: list[int], seed: int = 0, init: str = "unit") -> ReLUNet:
    """``unit``: weights and biases N(0, 1); ``fanin``: weights N(0, 1/fan_in), biases N(0, 0.1)."""
    rng = np.random.default_rng(seed)
    if init == "unit":
        return ReLUNet([(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(widths, widths[1:])])
    return ReLUNet([(rng.normal(0, np.sqrt(1 / i), (o, i)), rng.normal(0, np.sqrt(0.1), o))
                    for i, o in zip(widths, widths[1:])])


def bound_quality(net: ReLUNet, box: np.ndarray) -> list[dict]:
    rows = []
    for method in METHODS:
        t0 = time.perf_counter()
        pre = relu_preactivation_bounds(net, box, method)
        dt = time.perf_counter() - t0
        unstable = int(sum(np.sum((lo < 0) & (hi > 0)) for lo, hi in pre[:-1]))
        rows.append({"method": method, "time": dt, "unstable": unstable,
                     "mean_hidden_width": float(np.mean(np.concatenate([hi - lo for lo, hi in pre[:-1]]))),
                     "output_lo": float(pre[-1][0][0]), "output_hi": float(pre[-1][1][0]), "pre": pre})
    return rows


def bigm_max(net: ReLUNet, box: np.ndarray, pre, engine: str, cap: float) -> dict:
    p = Program()
    vm = encode_relu(p, net, input_vars(p, box), pre)
    p.maximize(Lin.var(vm.outputs[0]))
    t0 = time.perf_counter()
    sol = solve(p, engine, timeout=cap)
    return {"engine": engine, "status": sol.status, "proven": sol.proven, "time": time.perf_counter() - t0,
            "objective": sol.objective, "bound": sol.bound, "binaries": p.n_binaries}


def _module_at(rev: str, path: str, package: str) -> types.ModuleType:
    """The module ``path`` as of git revision ``rev`` (``git show``, read-only), in ``package``."""
    root = Path(__file__).resolve().parent.parent
    src = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=root, check=True, capture_output=True, text=True).stdout
    mod = types.ModuleType(f"{package}._baseline_{Path(path).stem}")
    mod.__package__ = package
    sys.modules[mod.__name__] = mod          # dataclasses look their module up
    exec(compile(src, f"{rev}:{path}", "exec"), mod.__dict__)
    return mod


def baseline_maximize(rev: str):
    """``maximize_relu`` as of git revision ``rev``: ``verify/bab.py`` and the batched bounds it
    calls (``bounds/relu.py``) at ``rev``, the rest of the package as it is now."""
    bab = _module_at(rev, "srmverify/verify/bab.py", "srmverify.verify")
    bounds = _module_at(rev, "srmverify/bounds/relu.py", "srmverify.bounds")
    bab.backsubstitute, bab.symbolic_bounds_batch = bounds.backsubstitute, bounds.symbolic_bounds_batch
    return bab.maximize_relu


def engine_rows(args) -> list[dict]:
    """C only, one row per (init, seed): before (``--baseline``) and after."""
    old = baseline_maximize(args.baseline) if args.baseline else None
    box = np.array([[-1.0, 1.0]] * 5)
    print(f"load average before: {os.getloadavg()[0]:.2f}\n")
    print("| init | seed | best of 200k samples | " + (f"before ({args.baseline}): maximize_relu | " if old else "")
          + "maximize_relu | max = proven upper | boxes | leaf MILPs | output_bounds, both sides | load |")
    print("|---|---|---|" + ("---|" if old else "") + "---|---|---|---|---|---|")
    rows = []
    for init in args.init.split(","):
        for seed in map(int, args.seeds.split(",")):
            net = random_relu([5, 50, 50, 1], seed, init)
            row = {"init": init, "seed": seed,
                   "sampled": float(net.evaluate(np.random.default_rng(1).uniform(-1, 1, (200_000, 5))).max())}
            if old:
                t0 = time.perf_counter()
                r = old(net, box, timeout=args.cap)
                row["before"] = {"time": time.perf_counter() - t0, "value": r.value, "upper": r.upper, "complete": r.complete}
            t0 = time.perf_counter()
            r = maximize_relu(net, box, timeout=args.cap)
            row["after"] = {"time": time.perf_counter() - t0, "value": r.value, "upper": r.upper,
                            "complete": r.complete, **{k: r.stats[k] for k in ("boxes", "leaf_milps")}}
            t0 = time.perf_counter()
            res = output_bounds(net, box, method="optimal", timeout=2 * args.cap)
            row["both"] = {"time": time.perf_counter() - t0, "lower": res.lower[0], "upper": res.upper[0],
                           "complete": res.complete}
            row["load"] = os.getloadavg()[0]
            rows.append(row)

            def shown(d, cap):
                return f"{d['time']:.2f} s" if d["complete"] else f"> {cap:g} s"

            b = row.get("before")
            before = "" if b is None else f"{shown(b, args.cap)} [{b['value']:.6f}, {b['upper']:.6f}] | "
            a, o = row["after"], row["both"]
            upper = "" if a["complete"] else f" (upper {a['upper']:.6f})"
            print(f"| {init} | {seed} | {row['sampled']:.6f} | {before}**{shown(a, args.cap)}** | "
                  f"{a['value']:.6f}{upper} | {a['boxes']} | "
                  f"{a['leaf_milps']} | {shown(o, 2 * args.cap)} [{o['lower']:.6f}, {o['upper']:.6f}] | {row['load']:.2f} |",
                  flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap", type=float, default=120.0)
    ap.add_argument("--json")
    ap.add_argument("--engines", default="cbc,highs")
    ap.add_argument("--init", default="unit", help="unit or fanin (a comma list with --engine-only)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--engine-only", action="store_true", help="only C, for every --seeds x --init")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--baseline", help="git revision whose maximize_relu is run too (--engine-only)")
    ap.add_argument("--milp-bounds", default=",".join(METHODS), help="bound methods whose big-M MILP is run")
    args = ap.parse_args()
    if args.engine_only:
        rows = engine_rows(args)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
        return
    net, box = random_relu([5, 50, 50, 1], args.seed, args.init), np.array([[-1.0, 1.0]] * 5)
    sampled = float(simulate(net, np.random.default_rng(1).uniform(-1, 1, (200_000, 5)))[:, 0].max())
    print(f"5-50-50-1 ReLU ({args.init} init, seed {args.seed}), box [-1,1]^5; max over 200k samples = {sampled:.6f}\n")

    quality = bound_quality(net, box)
    print("| bounds | time | unstable ReLUs | mean hidden width | output bound |\n|---|---|---|---|---|")
    for r in quality:
        print(f"| {r['method']} | {r['time']:.4f} s | {r['unstable']} | {r['mean_hidden_width']:.2f} | "
              f"[{r['output_lo']:.2f}, {r['output_hi']:.2f}] |")

    t0 = time.perf_counter()
    mx = maximize_relu(net, box, timeout=args.cap)
    t_max = time.perf_counter() - t0
    print(f"\nengine maximum (maximize_relu, branch and bound; one side of bounds --method optimal): "
          f"[{mx.value:.6f}, {mx.upper:.6f}] in {t_max:.2f} s (complete={mx.complete}, atol={mx.atol})")
    t0 = time.perf_counter()
    res = output_bounds(net, box, method="optimal", timeout=2 * args.cap)
    t_opt = time.perf_counter() - t0
    print(f"engine output_bounds(method='optimal'), both sides: [{res.lower[0]}, {res.upper[0]}] in {t_opt:.2f} s "
          f"(complete={res.complete}, engine={res.engine}, tolerance={res.tolerance})", flush=True)

    milp = []
    print(f"\n| big-M from | engine | binaries | status | time (cap {args.cap:g} s) | max found | proven bound |\n|---|---|---|---|---|---|---|")
    for r in [q for q in quality if q["method"] in args.milp_bounds.split(",")]:
        for engine in args.engines.split(","):
            m = bigm_max(net, box, r["pre"], engine, args.cap)
            m["bounds"] = r["method"]
            milp.append(m)
            shown = f"{m['time']:.2f} s" if m["proven"] else f"> {args.cap:g} s"
            print(f"| {r['method']} | {engine} | {m['binaries']} | {m['status']} | {shown} | {m['objective']} | {m['bound']} |", flush=True)
    if args.json:
        for r in quality:
            r.pop("pre")
        with open(args.json, "w") as f:
            json.dump({"sampled_max": sampled, "quality": quality, "milp": milp,
                       "maximum": {"time": t_max, "value": mx.value, "upper": mx.upper, "complete": mx.complete},
                       "optimal": {"time": t_opt, **{k: v for k, v in res.to_dict().items() if k != "stats"}}}, f, indent=1)


if __name__ == "__main__":
    main()
