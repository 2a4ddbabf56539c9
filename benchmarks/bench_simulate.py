"""Simulation throughput against the matmul floor, and the resident memory of a streamed batch.

784-512-512-10 SNN with positive weights, (a) zero delays and (b) random per-synapse delays:
``spike_times`` on ``--n`` inputs against three float64 matmuls of the same shapes (the floor,
best of 3), same run, in wall time and in CPU time (all threads; under a varying load the CPU
ratio is the stable one); on ``--check`` samples every neuron's float time is compared with its exact
first crossing (rationals) given its sources' float times. Then
``srmverify simulate`` streams ``--rows`` rows x 784 inputs (.npy -> .npy) in a subprocess and
its own peak resident memory (``VmHWM``) is reported. Prints a markdown table.

    python benchmarks/bench_simulate.py [--n 10000] [--check 3] [--rows 100000]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from srmverify.network import SNN
from srmverify.simulate import spike_times
from srmverify.simulate.exact import first_crossing
from srmverify.simulate.kernel import backend

SIZES = (784, 512, 512, 10)


def make_net(rng: np.random.Generator, delays: bool) -> SNN:
    ws, ths, ds = [], [], []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        ws.append(rng.uniform(0.0, 2.0 / a, (b, a)) + 1e-6)       # positive, total weight ~ 1
        ths.append(rng.uniform(0.2, 0.5, b))
        ds.append(rng.uniform(0.0, 0.5, (b, a)) if delays else None)
    return SNN.layered(ws, ths, ds)


def peak_rss_mb(argv: list[str]) -> tuple[float, float]:
    """Run a command; its own peak resident memory (MB) and wall time.

    The peak is the child's ``VmHWM`` (Linux ``/proc``), polled until it exits: ``ru_maxrss`` of
    ``RUSAGE_CHILDREN`` would also count this process's memory, which a spawned child inherits
    as its high-water mark before ``exec`` (it read 1098 MB for a 536 MB run).
    """
    t = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            line = next(x for x in status.read_text().splitlines() if x.startswith("VmHWM:"))
            peak = max(peak, int(line.split()[1]))
        except (OSError, StopIteration):
            pass
        time.sleep(0.05)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, argv)
    return peak / 1024, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--check", type=int, default=3)
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    X = rng.uniform(0.0, 1.0, (args.n, SIZES[0]))
    rows = []
    for delays in (False, True):
        net = make_net(rng, delays)
        spike_times(net, X[:2])                                   # compile / build the dense views
        Ws = [lv.W for lv in net.levels]
        t_mm = c_mm = np.inf
        for _ in range(3):
            t, c = time.perf_counter(), time.process_time()
            h = X
            for W in Ws:
                h = h @ W.T
            t_mm, c_mm = min(t_mm, time.perf_counter() - t), min(c_mm, time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        T = spike_times(net, X)
        t_sim, c_sim = time.perf_counter() - t, time.process_time() - c
        worst = 0.0 if args.check else float("nan")
        for i in range(args.check):
            for v in range(net.first_neuron, net.n_total):
                sl = net.incoming(v)
                arr = [(Fraction(T[i, u]) + Fraction(d), Fraction(w)) for u, w, d in
                       zip(net.src[sl].tolist(), net.weight[sl].tolist(), net.delay[sl].tolist()) if np.isfinite(T[i, u])]
                ex = first_crossing(arr, Fraction(net.threshold(v)))
                assert (ex is None) == (not np.isfinite(T[i, v])), (i, v)
                if ex is not None:
                    worst = max(worst, float(abs(Fraction(T[i, v]) - ex) / (1 + abs(ex))))
        rows.append((delays, t_sim, t_mm, c_sim, c_mm, worst))
        print(rows[-1], flush=True)
    with tempfile.TemporaryDirectory() as d:
        net = make_net(rng, False)
        from srmverify.formats import save_network
        save_network(net, Path(d) / "net.json")
        big = np.lib.format.open_memmap(Path(d) / "x.npy", mode="w+", shape=(args.rows, SIZES[0]))
        for lo in range(0, args.rows, 10_000):
            big[lo:lo + 10_000] = rng.uniform(0.0, 1.0, big[lo:lo + 10_000].shape)
        big.flush()
        del big
        cli = [str(Path(sys.executable).parent / "srmverify"), "simulate", str(Path(d) / "net.json"),
               "--inputs", str(Path(d) / "x.npy"), "-o", str(Path(d) / "y.npy"), "--json"]
        rss, wall = peak_rss_mb(cli)
        n_out = len(np.load(Path(d) / "y.npy", mmap_mode="r"))
    threads = {k: os.environ.get(k, "unset") for k in ("NUMBA_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    print(f"\nbackend {backend()}; {args.n} inputs; exact check on {args.check} samples (every neuron); {threads}; "
          f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)\n")
    print("| network | simulate | 3 matmuls | ratio (wall) | CPU time: simulate / 3 matmuls | ratio (CPU) "
          "| max rel. deviation from exact |")
    print("|---|---|---|---|---|---|---|")
    for delays, t_sim, t_mm, c_sim, c_mm, worst in rows:
        print(f"| 784-512-512-10 {'random delays' if delays else 'zero delays'} | {t_sim:.2f} s | {t_mm:.3f} s "
              f"| **{t_sim / t_mm:.0f}×** | {c_sim:.2f} s / {c_mm:.3f} s | **{c_sim / c_mm:.0f}×** | {worst:.1e} |")
    print(f"\nstreamed {n_out} rows x 784 (.npy -> .npy): peak RSS {rss:.0f} MB, {wall:.1f} s  (srmverify simulate net.json --inputs x.npy -o y.npy)")


if __name__ == "__main__":
    main()
