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
"""
from __future__ import annotations

import argparse
import json
import time

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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap", type=float, default=120.0)
    ap.add_argument("--json")
    ap.add_argument("--engines", default="cbc,highs")
    ap.add_argument("--init", default="unit", choices=["unit", "fanin"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--milp-bounds", default=",".join(METHODS), help="bound methods whose big-M MILP is run")
    args = ap.parse_args()
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
