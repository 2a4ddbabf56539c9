"""ReLU → SNN conversion and its compositional certificate vs the monolithic ``equiv`` (issue 4).

For MLPs from 64-32-10 up to 784-256-256-10 (random He-initialised weights N(0, 2/n_in), biases
N(0, 0.1²), box [0, 1]^n; plus the bundled trained digits model) it measures, in one run:

* conversion time, SNN size (neurons, synapses, depth, reference neurons), SNN neurons per ReLU
  neuron, kink neurons;
* certificate time (``certify``), stored-certificate re-check time (``check_certificate`` on the
  JSON), JSON size; a 1-ulp tamper of one weight must be rejected;
* monolithic ``equivalence(snn, relu, engine="highs")`` time on the sizes where it finishes
  (``--equiv-timeout`` per query), and the ratio monolithic / compositional;
* SNN → ReLU round-trip size for the small ones.

    python benchmarks/bench_convert.py [--equiv-timeout 60] [--skip-large]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from srmverify.convert import certify, check_certificate, convert_relu_to_snn, convert_snn_to_relu
from srmverify.data.digits_model import load_digits_model
from srmverify.network import ReLUNet


def random_relu(widths: list[int], seed: int = 0) -> ReLUNet:
    rng = np.random.default_rng(seed)
    return ReLUNet([(rng.normal(size=(o, i)) * np.sqrt(2 / i), rng.normal(size=o) * 0.1)
                    for i, o in zip(widths, widths[1:])])


def bench(name: str, relu: ReLUNet, equiv_timeout: float, round_trip: bool, eps: float | None = None,
          bounds: str = "best") -> dict:
    """One row; ``eps``: an L∞ ball of radius ``eps`` around a random point instead of ``[0, 1]^n``."""
    box = np.tile([0.0, 1.0], (relu.n_inputs, 1))
    if eps is not None:
        x = np.random.default_rng(0).uniform(0, 1, relu.n_inputs)
        box = np.stack([x - eps, x + eps], axis=1)
    t = time.perf_counter()
    snn, rep = convert_relu_to_snn(relu, box, bounds=bounds)
    t_conv = time.perf_counter() - t
    t = time.perf_counter()
    cert = certify(snn, relu, box, rep.correspondence)
    t_cert = time.perf_counter() - t
    text = json.dumps(cert.to_dict())
    t = time.perf_counter()
    again = check_certificate(json.loads(text), snn, relu)
    t_check = time.perf_counter() - t
    w = snn.weight.copy()
    w[len(w) // 2] = np.nextafter(w[len(w) // 2], np.inf)
    tampered_rejected = not certify(snn.with_(weight=w), relu, box).accepted
    row = {"model": name, "box": "[0,1]^n" if eps is None else f"x0±{eps:g}", "bounds": rep.bounds_method,
           "proofs": rep.stable_proven, "relu_neurons": rep.relu_neurons, "snn_neurons": rep.snn_neurons,
           "snn_synapses": rep.snn_synapses, "snn_depth": rep.snn_depth, "kinks": rep.kink_neurons,
           "refs": rep.snn_constants, "per_relu": round(rep.neurons_per_relu_neuron, 3),
           "convert_s": round(t_conv, 3), "certify_s": round(t_cert, 3), "recheck_s": round(t_check, 3),
           "cert_kb": round(len(text) / 1024), "accepted": cert.accepted and again.accepted,
           "ulp_tamper_rejected": tampered_rejected}
    if equiv_timeout > 0:
        from srmverify.verify.queries import equivalence

        t = time.perf_counter()       # the monolithic MILP (equiv would ask the certificate first)
        res = equivalence(snn, relu, box, engine="highs", timeout=equiv_timeout, certificate=False)
        row["equiv_s"] = round(time.perf_counter() - t, 3)
        row["equiv_verdict"] = res.verdict.value
        t = time.perf_counter()
        row["equiv_default"] = f"{equivalence(snn, relu, box, timeout=equiv_timeout).engine} " \
                               f"{time.perf_counter() - t:.3f} s"
        if res.verdict.value == "unsat":
            row["equiv_over_cert"] = round(row["equiv_s"] / max(t_cert, 1e-9), 1)
    if round_trip:
        t = time.perf_counter()
        back, brep = convert_snn_to_relu(snn, box)
        row["roundtrip_relu_widths"] = "-".join(map(str, back.widths))
        row["roundtrip_s"] = round(time.perf_counter() - t, 3)
        row["roundtrip_dev"] = float(f"{brep.sampled_max_deviation:.2g}")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--equiv-timeout", type=float, default=60.0)
    ap.add_argument("--skip-large", action="store_true")
    args = ap.parse_args()
    cases = [("2-3-2", random_relu([2, 3, 2], 1), True, True), ("4-8-8-2", random_relu([4, 8, 8, 2], 1), True, True),
             ("8-16-16-4", random_relu([8, 16, 16, 4], 1), True, True),
             ("digits 64-32-10 (trained)", load_digits_model(), True, True),
             ("64-32-10", random_relu([64, 32, 10]), True, True), ("64-32-32-10", random_relu([64, 32, 32, 10]), False, True),
             ("256-128-10", random_relu([256, 128, 10]), False, False)]
    if not args.skip_large:
        cases += [("784-256-10", random_relu([784, 256, 10]), False, False),
                  ("784-256-256-10", random_relu([784, 256, 256, 10]), False, False)]
    rows = []
    for name, relu, equiv, rt in cases:
        row = bench(name, relu, args.equiv_timeout if equiv else 0.0, rt)
        rows.append(row)
        print(json.dumps(row), flush=True)
    if not args.skip_large:   # small boxes: exact stability proofs remove kink neurons
        big = random_relu([784, 256, 256, 10])
        for eps in (0.001, 0.01):
            for bounds in ("interval", "best"):
                rows.append(bench("784-256-256-10", big, 0.0, False, eps=eps, bounds=bounds))
                print(json.dumps(rows[-1]), flush=True)
    keys = ["model", "box", "bounds", "proofs", "relu_neurons", "snn_neurons", "snn_synapses", "snn_depth", "kinks", "refs", "per_relu",
            "convert_s", "certify_s", "recheck_s", "cert_kb", "accepted", "ulp_tamper_rejected", "equiv_verdict",
            "equiv_s", "equiv_over_cert", "roundtrip_relu_widths", "roundtrip_s"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(str(r.get(k, "–")) for k in keys) + " |")


if __name__ == "__main__":
    main()
