"""CPU time per sample and level of two versions of the compiled kernel, same process, same arrays.

    git show REV:srmverify/simulate/kernel_numba.py | sed 's/from .kernel import/from srmverify.simulate.kernel import/' > /tmp/old_kernel.py
    OPENBLAS_NUM_THREADS=1 NUMBA_NUM_THREADS=1 python benchmarks/experiments/simulate_kernel_ab.py /tmp/old_kernel.py [--n 200]

The networks are those of ``bench_simulate.py`` (784-512-512-10, zero and random delays). Prints,
per level, the old and new CPU time per sample (best of 2, interleaved) and whether the times are
bit-identical. The old module must accept the current ``LevelArrays``.
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench_simulate import SIZES, make_net  # noqa: E402

from srmverify.simulate import kernel_numba as new  # noqa: E402
from srmverify.simulate import spike_times  # noqa: E402
from srmverify.simulate.fast import _level_arrays  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="the old kernel_numba.py (imports rewritten to absolute)")
    ap.add_argument("--n", type=int, default=200)
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("old_kernel", args.old)
    old = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    rng = np.random.default_rng(0)
    X = rng.uniform(0.0, 1.0, (args.n, SIZES[0]))
    print("| delays | level | old (µs/sample) | new (µs/sample) | speed-up | bit-identical |")
    print("|---|---|---|---|---|---|")
    for delays in (False, True):
        net = make_net(rng, delays)
        T = spike_times(net, X)
        for lv, la in zip(net.levels, _level_arrays(net)):
            Ts = np.ascontiguousarray(T[:, lv.sources])
            Es = np.zeros_like(Ts)
            best, out = {}, {}
            for _ in range(2):
                for name, mod in (("old", old), ("new", new)):
                    mod.level_times(la, Ts[:2], Es[:2])
                    t = time.process_time()
                    out[name] = mod.level_times(la, Ts, Es)
                    best[name] = min(best.get(name, np.inf), time.process_time() - t)
            same = all(np.array_equal(a, b) for a, b in zip(out["old"], out["new"]))
            print(f"| {'random' if delays else 'zero'} | {lv.W.shape[1]} → {lv.W.shape[0]} | {best['old'] / args.n * 1e6:.0f} "
                  f"| {best['new'] / args.n * 1e6:.0f} | {best['old'] / best['new']:.2f}× | {same} |")


if __name__ == "__main__":
    main()
