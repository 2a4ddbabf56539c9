"""SNN vs its ReLU twin: the same query on a ReLU network and on the SNN converted from it (issue 3).

The SNN comes from ``srmverify.convert.relu_to_snn.convert_relu_to_snn`` (exact on the box, so both
networks compute the same function there and every query has the same answer). Random 5-n-n-1
ReLU networks (weights N(0, 1)), box [-1, 1]^5, two queries per pair:

* ``bounds``: ``output_bounds(method="optimal")`` (the maximum and minimum of the output);
* ``range``: ``robustness(mode="range")`` around x0 = 0 with eps 0.2 and the range [y(0) - 1, y(0) + 1].

    python benchmarks/bench_verify_twin.py [--widths 5,10,20] [--engine highs] [--timeout 120]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from srmverify.convert.relu_to_snn import convert_relu_to_snn
from srmverify.network import ReLUNet
from srmverify.simulate import simulate
from srmverify.verify.queries import output_bounds, robustness


def random_relu(widths: list[int], seed: int = 0) -> ReLUNet:
    rng = np.random.default_rng(seed)
    return ReLUNet([(rng.normal(size=(o, i)), rng.normal(size=o)) for i, o in zip(widths, widths[1:])])


def timed(fn, *args, **kw):
    t0 = time.perf_counter()
    r = fn(*args, **kw)
    return r, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--widths", default="5,10,20")
    ap.add_argument("--engine", default="highs")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json")
    args = ap.parse_args()
    box = np.array([[-1.0, 1.0]] * 5)
    rows = []
    print("| ReLU net | SNN neurons | query | ReLU: verdict, time | SNN: verdict, time | SNN / ReLU |\n|---|---|---|---|---|---|")
    for n in map(int, args.widths.split(",")):
        relu = random_relu([5, n, n, 1])
        snn, rep = convert_relu_to_snn(relu, box)
        y0 = float(simulate(relu, np.zeros((1, 5)))[0, 0])
        queries = {
            "bounds": lambda net: output_bounds(net, box, method="optimal", engine=args.engine, timeout=args.timeout),
            "range": lambda net: robustness(net, np.zeros(5), 0.2, mode="range", out_lo=np.array([y0 - 1]),
                                            out_hi=np.array([y0 + 1]), engine=args.engine, timeout=args.timeout),
        }
        for q, fn in queries.items():
            r_relu, t_relu = timed(fn, relu)
            r_snn, t_snn = timed(fn, snn)
            v_relu = r_relu.verdict.value if hasattr(r_relu.verdict, "value") else str(r_relu.verdict)
            v_snn = r_snn.verdict.value if hasattr(r_snn.verdict, "value") else str(r_snn.verdict)
            extra = ""
            if q == "bounds":
                extra = f" [{r_relu.lower[0]:.4f}, {r_relu.upper[0]:.4f}] vs [{r_snn.lower[0]:.4f}, {r_snn.upper[0]:.4f}]"
            rows.append({"n": n, "query": q, "snn_neurons": snn.n_neurons, "relu": [v_relu, t_relu], "snn": [v_snn, t_snn]})
            print(f"| 5-{n}-{n}-1 | {snn.n_neurons} ({rep.kink_neurons} kink) | {q} | {v_relu}, {t_relu:.3f} s | "
                  f"{v_snn}, {t_snn:.3f} s | {t_snn / t_relu:.1f}x |{extra}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
