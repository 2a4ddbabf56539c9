"""Where the leaves of the SNN branch and bound spend their time (issue 11 networks).

Runs ``output_bounds(method="optimal")`` on the random mixed-sign networks of
:mod:`bench_snn_bab` and counts, in CPU seconds of this process (``time.process_time``, also for
the library's deadlines), the leaf calls (``SnnObjective.leaf``) and inside them the encoding
(``encode_snn``), the lowering to arrays (``bigm.lower``), building and solving the HiGHS models
(``highs_milp._run``) and HiGHS' own ``run``:

    python benchmarks/bench_snn_leaf.py [--sizes 5-10-10-1] [--seeds 0,2] [--cap 30]

The first network of a run also pays numba's compilation: put a cheap one first.

Same leaves on two checkouts: ``--capture FILE`` saves the leaves one run meets (the box, its
interval bounds, the objective and the cutoff), ``--undecided N`` lets boxes with up to ``N``
undecided synapses be leaves (``bab_snn_leaf_undecided``; 30 for the 20-30 case); ``--replay FILE``
closes each saved leaf again by ``SnnObjective.leaf`` and prints the per-leaf split and the
statuses, ``--out`` writes ``[status, bound]`` per leaf (JSON) to compare checkouts:

    python benchmarks/bench_snn_leaf.py --sizes 5-10-10-1,5-20-20-1 --seeds 2 --undecided 30 --capture /tmp/l30.pkl
    PYTHONPATH=<old copy> python benchmarks/bench_snn_leaf.py --replay /tmp/l30.pkl --out /tmp/old.json
    python benchmarks/bench_snn_leaf.py --replay /tmp/l30.pkl --out /tmp/new.json

Run the replays alternately (old, new, old, new) for a before/after ratio on a shared machine.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_snn_bab import random_mixed_snn  # noqa: E402

from srmverify.bounds.snn import SpikeTimeBounds  # noqa: E402
from srmverify.settings import DEFAULT  # noqa: E402
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


def capture(leaves: list[dict], key: tuple) -> object:
    """Wrap ``SnnObjective.leaf`` so that each call appends its inputs to ``leaves`` (``key``:
    the network's widths and seed); returns the original."""
    original = bab_snn.SnnObjective.leaf

    def leaf(self, f, box, bb, cutoff, engine, limit, settings):
        st, raised, silent = bb.state.box(f)
        leaves.append({"net": key, "c": self.c.tolist(), "js": self.js.tolist(), "const": self.const,
                       "box": box.copy(), "lo": st.lo, "hi": st.hi, "may_not": st.may_not_fire,
                       "never": st.never_fires, "raised": {int(v): float(bb.state.lo[f, v]) for v in raised},
                       "silent": [int(v) for v in silent], "cutoff": cutoff, "engine": engine,
                       "limit": limit, "undecided": int(bb.state.undecided[f])})
        return original(self, f, box, bb, cutoff, engine, limit, settings)
    bab_snn.SnnObjective.leaf = leaf
    return original


class _Saved:
    """The stand-in of a batch's bounds for one saved leaf (what ``SnnObjective.leaf`` reads: the
    box's bounds, its neuron-split neurons and their raised lower bounds ``lo[0, v]``)."""

    def __init__(self, leaf: dict):
        self.leaf = leaf
        self.lo = np.full((1, len(leaf["lo"])), -np.inf)
        for v, t in leaf["raised"].items():
            self.lo[0, v] = t

    def box(self, f: int) -> tuple[SpikeTimeBounds, list[int], list[int]]:
        lf = self.leaf
        return (SpikeTimeBounds(lf["lo"].copy(), lf["hi"].copy(), lf["may_not"].copy(), lf["never"].copy(), "batch"),
                list(lf["raised"]), list(lf["silent"]))


def replay(path: str, out: str | None) -> None:
    """Close every leaf saved in ``path`` again; print the per-leaf CPU split and the statuses."""
    with open(path, "rb") as fh:
        leaves = pickle.load(fh)
    nets = {lf["net"]: random_mixed_snn(list(lf["net"][0]), lf["net"][1]) for lf in leaves}
    objs = {}
    results, totals = [], {}
    for rnd in (0, 1):          # a warm-up pass over a few leaves, then the timed one
        todo = leaves[:20] if rnd == 0 else leaves
        originals = timed(totals) if rnd else []
        t0 = time.process_time()
        for lf in todo:
            key = (lf["net"], tuple(lf["c"]), tuple(lf["js"]), lf["const"])
            if key not in objs:
                c = np.zeros(nets[lf["net"]].n_outputs)
                c[lf["js"]] = lf["c"]
                objs[key] = bab_snn.SnnObjective(nets[lf["net"]], c, lf["const"])
            bb = bab.BoxBounds(None, None, None, _Saved(lf))
            pts, bound = objs[key].leaf(0, lf["box"], bb, lf["cutoff"], lf["engine"], lf["limit"], DEFAULT)
            if rnd:
                results.append(["closed" if bound is not None and bound <= lf["cutoff"] else
                                "open" if bound is None else "bound", bound])
        dt = time.process_time() - t0
        for owner, attr, f in originals:
            setattr(owner, attr, f)
    n = max(len(leaves), 1)
    und = Counter(lf["undecided"] for lf in leaves)
    parts = " ".join(f"{k} {1e3 * v[1] / n:.2f}" for k, v in totals.items())
    print(f"{path}: {len(leaves)} leaves (undecided {min(und)}-{max(und)}), {dt:.2f} s; ms per leaf: {parts}; "
          f"{dict(Counter(r[0] for r in results))}", flush=True)
    if out:
        with open(out, "w") as fh:
            json.dump(results, fh)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="5-10-10-1")
    ap.add_argument("--seeds", default="0,2")
    ap.add_argument("--cap", type=float, default=30.0)
    ap.add_argument("--undecided", type=int, default=None, help="bab_snn_leaf_undecided for the run")
    ap.add_argument("--capture", default=None, help="save the leaves met to this file")
    ap.add_argument("--replay", default=None, help="close the leaves saved in this file again")
    ap.add_argument("--out", default=None, help="with --replay: write [status, bound] per leaf (JSON)")
    args = ap.parse_args()
    time.perf_counter = time.process_time
    simulate(random_mixed_snn([2, 2, 1]), np.zeros((1, 2)))
    if args.replay:
        replay(args.replay, args.out)
        return
    settings = DEFAULT if args.undecided is None else DEFAULT.replace(bab_snn_leaf_undecided=args.undecided)
    leaves: list[dict] = []
    for size in args.sizes.split(","):
        widths = [int(w) for w in size.split("-")]
        box = np.array([[0.0, 1.0]] * widths[0])
        for seed in map(int, args.seeds.split(",")):
            totals: dict[str, list[float]] = {}
            originals = timed(totals)
            if args.capture:
                originals.append((bab_snn.SnnObjective, "leaf", capture(leaves, (tuple(widths), seed))))
            t0 = time.process_time()
            r = output_bounds(random_mixed_snn(widths, seed), box, method="optimal", timeout=args.cap,
                              settings=settings)
            dt = time.process_time() - t0
            for owner, attr, f in reversed(originals):
                setattr(owner, attr, f)
            n = totals.get("leaf", [0])[0]
            parts = " ".join(f"{k} {1e3 * v[1] / max(n, 1):.2f}" for k, v in totals.items())
            print(f"{size} seed {seed}: {dt:.2f} s {'complete' if r.complete else 'open'} "
                  f"[{r.lower[0]:.6f}, {r.upper[0]:.6f}], {n} leaves; ms per leaf: {parts}", flush=True)
    if args.capture:
        with open(args.capture, "wb") as fh:
            pickle.dump(leaves, fh)


if __name__ == "__main__":
    main()
