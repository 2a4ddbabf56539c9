"""Equivalence of two nearly equal ReLU networks (a fine-tuned or quantised copy): difference
bounds over input splits vs branch and bound on the merged network, side by side (issue 3).

``a`` is a random 5-n-n-1 network (``bench_verify_bounds.random_relu``, fan-in init), ``b`` the
same with N(0, noise^2) added to every weight; box [-1, 1]^5. ``M`` = the largest difference
seen on 200,000 random inputs; the query is ``|b(x) - a(x)| <= eps`` with ``eps = 2 M`` and
``eps = 1.1 M`` (both hold unless the sampled maximum is far from the true one).

* ``difference bounds``: ``verify.bab.close_everywhere`` (what ``equivalence`` now runs first
  for two networks of the same widths);
* ``merged BaB``: ``maximize_relu`` on ``objective_net([b, a], [+-1, -+1])`` with threshold
  ``eps``, both signs (what ``equivalence`` ran before).

    python benchmarks/bench_verify_equiv.py [--widths 20,50] [--noise 1e-3,1e-2] [--cap 60]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from bench_verify_bounds import random_relu
from srmverify.network import ReLUNet
from srmverify.verify.bab import close_everywhere, maximize_relu, objective_net


def merged(a: ReLUNet, b: ReLUNet, box: np.ndarray, eps: float, cap: float) -> str:
    t0 = time.perf_counter()
    for s in (1.0, -1.0):
        r = maximize_relu(objective_net([b, a], [np.array([s]), np.array([-s])]), box, threshold=eps,
                          timeout=max(cap - (time.perf_counter() - t0), 0.01))
        if r.value > eps:
            return f"sat {time.perf_counter() - t0:.2f} s"
        if r.upper > eps:
            return f"timeout {time.perf_counter() - t0:.2f} s"
    return f"unsat {time.perf_counter() - t0:.2f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="20,50")
    ap.add_argument("--noise", default="1e-3,1e-2")
    ap.add_argument("--cap", type=float, default=60.0)
    args = ap.parse_args()
    box = np.array([[-1.0, 1.0]] * 5)
    X = np.random.default_rng(1).uniform(-1, 1, (200_000, 5))
    print("| nets | noise | eps | difference bounds | merged BaB |\n|---|---|---|---|---|")
    for n in map(int, args.widths.split(",")):
        a = random_relu([5, n, n, 1], 0, "fanin")
        for noise in map(float, args.noise.split(",")):
            rng = np.random.default_rng(2)
            b = ReLUNet([(W + noise * rng.normal(size=W.shape), c) for W, c in a.layers])
            top = float(np.abs(b.evaluate(X) - a.evaluate(X)).max())
            for k in (2.0, 1.1):
                eps = k * top
                t0 = time.perf_counter()
                ok, _, bound = close_everywhere(a, b, box, eps, timeout=args.cap)
                verdict = {True: "unsat", False: "sat", None: "timeout"}[ok]
                cell = f"{verdict} {time.perf_counter() - t0:.2f} s" + (f" (bound {bound:.4g})" if ok else "")
                print(f"| 5-{n}-{n}-1 | {noise:g} | {k:g} x {top:.4g} | {cell} | {merged(a, b, box, eps, args.cap)} |",
                      flush=True)


if __name__ == "__main__":
    main()
