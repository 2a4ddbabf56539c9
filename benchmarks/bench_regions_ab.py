"""Region counts of two checkouts side by side in one process (same load for both), alternating.

    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/bench_regions_ab.py --old-src OLD \\
        --cases 1x2:positive,1x3:positive,1x4:positive,1x3:mixed,1x4:mixed,10x4:positive,20x4:mixed

``OLD`` is another checkout (e.g. ``git worktree add /tmp/old REV``); its ``srmverify`` package is
copied to a temporary folder as ``srmverify_old`` and imported beside this one (the package
imports itself relatively). Every round runs each version for ``--slice`` CPU seconds (order
flipped every round) on the cases of ``bench_regions.py layers``; printed: regions per CPU second
(median over rounds), the per-round ratio old/new (median and range) and whether both versions
give the same result (counts, cells, causal pieces, completeness, warnings and a hash of every
region's pattern, witness and output map). Recorded in benchmarks/README.md ("Regions").
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench_regions import shared_layer
import srmverify.network
import srmverify.regions


def fingerprint(r) -> tuple:
    """What must be equal between the two versions."""
    h = hashlib.sha1()
    for reg in r.regions:
        h.update(reg.pattern.encode())
        h.update(np.round(np.array(reg.point), 9).tobytes())
        h.update(repr(reg.output_map).encode())
    return r.causal_regions, r.linear_regions, r.cells, r.causal_pieces, r.complete, len(r.warnings), h.hexdigest()


def cpu_per_call(count, net, dom, budget: float) -> float:
    """CPU seconds per call of ``count(net, dom)``, over at least ``budget`` CPU seconds."""
    n, c0 = 0, time.process_time()
    while time.process_time() - c0 <= budget:
        count(net, dom)
        n += 1
    return (time.process_time() - c0) / n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-src", required=True, help="a checkout holding the srmverify package to compare with")
    ap.add_argument("--cases", default="1x2:positive,1x3:positive,1x4:positive,1x3:mixed,1x4:mixed,10x4:positive")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--slice", type=float, default=0.3, help="CPU seconds per version and round")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    shutil.copytree(Path(a.old_src) / "srmverify", tmp / "srmverify_old")
    sys.path.insert(0, str(tmp))
    old_net, old_reg = (importlib.import_module(f"srmverify_old.{m}") for m in ("network", "regions"))
    print("| case | regions | old regions / CPU s | new regions / CPU s | ratio new/old (range) | same result |")
    print("|---|---|---|---|---|---|")
    for case in a.cases.split(","):
        md, signs = case.split(":")
        m, d = map(int, md.split("x"))
        side = 10.0 * m if signs == "shared" else 10.0
        runs = {v: (reg.count_regions, shared_layer(m, d, m, signs, net.SNN), reg.Domain.box(np.array([[0.0, side]] * d)))
                for v, net, reg in (("old", old_net, old_reg), ("new", srmverify.network, srmverify.regions))}
        same = len({fingerprint(f(net, dom)) for f, net, dom in runs.values()}) == 1    # also warms both
        regions = runs["new"][0](*runs["new"][1:]).causal_regions
        t: dict[str, list[float]] = {"old": [], "new": []}
        for i in range(a.rounds):
            for v in (("old", "new") if i % 2 == 0 else ("new", "old")):
                t[v].append(cpu_per_call(*runs[v], a.slice))
        ratio = np.array(t["old"]) / np.array(t["new"])
        print(f"| {case} | {regions} | {regions / np.median(t['old']):,.0f} | {regions / np.median(t['new']):,.0f} | "
              f"{np.median(ratio):.2f} ({ratio.min():.2f}–{ratio.max():.2f}) | {'yes' if same else '**no**'} |", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
