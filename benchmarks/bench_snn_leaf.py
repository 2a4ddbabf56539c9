"""Where the leaves of the SNN branch and bound spend their time (issue 11 networks).

Runs ``output_bounds(method="optimal")`` on the random mixed-sign networks of
:mod:`bench_snn_bab` and counts, in CPU seconds of this process (``time.process_time``, also for
the library's deadlines), the leaf calls (``SnnObjective.leaf``) and inside them the encoding
(``encode_snn``), the lowering to arrays (``bigm.lower``), building and solving the HiGHS models
(``highs_milp._run``) and HiGHS' own ``run``:

    python benchmarks/bench_snn_leaf.py [--sizes 5-10-10-1] [--seeds 0,2] [--cap 30]

Run it on two checkouts back to back (``PYTHONPATH=<copy>``) for a before/after ratio.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_snn_bab import random_mixed_snn  # noqa: E402

from srmverify.simulate import simulate  # noqa: E402
from srmverify.solvers import highs, highs_milp  # noqa: E402
from srmverify.verify import bab, bab_snn  # noqa: E402
from srmverify.verify.queries import output_bounds  # noqa: E402

#: (module, attribute, label) of the timed functions.
TIMED = ((bab_snn.SnnObjective, "leaf", "leaf"), (bab_snn, "encode_snn", "encode"),
         (highs_milp, "lower", "lower"), (bab, "lower", "lower"), (highs_milp, "_run", "model+solve"),
         (highs, "run", "highs.run"))


def timed(totals: dict[str, list[float]]) -> list[tuple[object, str, object]]:
    """Wrap the :data:`TIMED` functions so that each call adds its CPU time to ``totals``;
    returns the originals, to put back."""
    originals = []
    for owner, attr, label in TIMED:
        f = getattr(owner, attr, None)
        if f is None:
            continue

        def g(*a, _f=f, _label=label, **k):
            t0 = time.process_time()
            try:
                return _f(*a, **k)
            finally:
                c = totals.setdefault(_label, [0, 0.0])
                c[0] += 1
                c[1] += time.process_time() - t0
        originals.append((owner, attr, f))
        setattr(owner, attr, g)
    return originals


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5-10-10-1")
    ap.add_argument("--seeds", default="0,2")
    ap.add_argument("--cap", type=float, default=30.0)
    args = ap.parse_args()
    time.perf_counter = time.process_time
    simulate(random_mixed_snn([2, 2, 1]), np.zeros((1, 2)))
    for size in args.sizes.split(","):
        widths = [int(w) for w in size.split("-")]
        box = np.array([[0.0, 1.0]] * widths[0])
        for seed in map(int, args.seeds.split(",")):
            totals: dict[str, list[float]] = {}
            originals = timed(totals)
            t0 = time.process_time()
            r = output_bounds(random_mixed_snn(widths, seed), box, method="optimal", timeout=args.cap)
            dt = time.process_time() - t0
            for owner, attr, f in originals:
                setattr(owner, attr, f)
            n = totals.get("leaf", [0])[0]
            parts = " ".join(f"{k} {1e3 * v[1] / max(n, 1):.2f}" for k, v in totals.items())
            print(f"{size} seed {seed}: {dt:.2f} s {'complete' if r.complete else 'open'} "
                  f"[{r.lower[0]:.6f}, {r.upper[0]:.6f}], {n} leaves; ms per leaf: {parts}", flush=True)


if __name__ == "__main__":
    main()
