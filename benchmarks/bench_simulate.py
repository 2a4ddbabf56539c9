"""Simulation throughput: the vectorised simulator vs the candidate-matrix method, in one run.

784-512-512-10 SNN with positive weights, (a) zero delays and (b) random per-synapse delays.
``spike_times`` runs on ``--n`` inputs (10,000 by default); the straightforward
``candidate_matrix_times`` (O(n_in^2 n_out) per sample) runs on the first ``--cand`` of them, and
both must agree there. For the zero-delay net a third column uses the candidate method's best
case: the potential at every arrival as ONE BLAS matrix product per sample and level
(``relu(a_k - a_j) @ W.T``; only possible when all neurons of a level share the arrival order).
Peak memory is measured with tracemalloc on separate, smaller runs (the timing runs are not
traced). Prints a markdown table for benchmarks/README.md.

    python benchmarks/bench_simulate.py [--n 10000] [--cand 20]
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from srmverify.network import SNN
from srmverify.simulate import spike_times
from srmverify.simulate.fast import CHUNK_ENTRIES, candidate_matrix_times

SIZES = (784, 512, 512, 10)


def make_net(rng: np.random.Generator, delays: bool) -> SNN:
    ws, ths, ds = [], [], []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        ws.append(rng.uniform(0.0, 2.0 / a, (b, a)) + 1e-6)       # positive, total weight ~ 1
        ths.append(rng.uniform(0.2, 0.5, b))
        ds.append(rng.uniform(0.0, 0.5, (b, a)) if delays else None)
    return SNN.layered(ws, ths, ds)


def blas_candidate_times(net: SNN, t_inputs: np.ndarray) -> np.ndarray:
    """Candidate-matrix method, shared arrival order only: P at every arrival by one matmul."""
    T = np.empty((len(t_inputs), net.n_total))
    T[:, : net.n_inputs] = t_inputs
    for lv in net.levels:
        assert lv.shared_order and np.all(lv.W > 0)
        for b in range(len(t_inputs)):
            a = T[b, lv.sources] + lv.D[0]
            diff = a[:, None] - a[None, :]                              # [k, j] = a_k - a_j
            P = np.maximum(diff, 0.0) @ lv.W.T                          # (k, neuron): potential at a_k
            slope = (diff >= 0).astype(float) @ lv.W.T
            cand = a[:, None] + (lv.thresholds - P) / slope             # crossing on the segment from a_k
            nxt = np.where(diff < 0, a[None, :], np.inf).min(axis=1)[:, None]
            ok = (P < lv.thresholds) & (cand <= nxt + 1e-12 * (1 + np.abs(nxt)))
            T[b, lv.neurons] = np.where(ok, cand, np.inf).min(axis=0)
    return T


def timed(f, *args) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    out = f(*args)
    return time.perf_counter() - t, out


def peak_mb(f, *args) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    f(*args)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--cand", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    X = rng.uniform(0.0, 1.0, (args.n, SIZES[0]))
    rows = []
    for delays in (False, True):
        net = make_net(rng, delays)
        net.levels  # build the dense views outside the timings
        t_fast, T = timed(spike_times, net, X)
        m = args.cand
        t_cand, C = timed(candidate_matrix_times, net, X[:m])
        assert np.allclose(C, T[:m], rtol=1e-9, atol=1e-12), "candidate-matrix method disagrees"
        fire = float(np.isfinite(T[:, -10:]).mean())
        per_fast, per_cand = t_fast / args.n, t_cand / m
        row = {"net": "784-512-512-10 " + ("random delays" if delays else "zero delays"),
               "fast_total": t_fast, "fast_ms": 1e3 * per_fast, "rate": args.n / t_fast,
               "cand_ms": 1e3 * per_cand, "ratio": per_cand / per_fast, "fire": fire}
        if not delays:
            t_blas, Bt = timed(blas_candidate_times, net, X[:m])
            assert np.allclose(Bt, T[:m], rtol=1e-9, atol=1e-12), "BLAS candidate method disagrees"
            row["blas_ms"], row["blas_ratio"] = 1e3 * t_blas / m, (t_blas / m) / per_fast
        n_mem = min(args.n, 1000)
        out_mb = n_mem * net.n_total * 8 / 2**20
        row["mem_fast"] = peak_mb(spike_times, net, X[:n_mem]) - out_mb
        row["mem_fast_small"] = peak_mb(spike_times, net, X[:100]) - 100 * net.n_total * 8 / 2**20
        row["mem_cand"] = peak_mb(candidate_matrix_times, net, X[:2])
        rows.append(row)
        print(row, flush=True)
    print(f"\nCHUNK_ENTRIES = {CHUNK_ENTRIES}; {args.n} inputs; candidate methods on the first {args.cand}\n")
    print("| network | vectorised: total | per sample | samples/s | candidate matrix per sample | ratio "
          "| candidate (BLAS matmul) per sample | ratio | outputs firing | peak working memory: vectorised "
          "(1000 / 100 inputs) | candidate |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        blas = (f"{r['blas_ms']:.1f} ms | {r['blas_ratio']:.1f}×" if "blas_ms" in r else "n/a (order per neuron) | –")
        print(f"| {r['net']} | {r['fast_total']:.1f} s | {r['fast_ms']:.2f} ms | {r['rate']:.0f} "
              f"| {r['cand_ms']:.0f} ms | **{r['ratio']:.0f}×** | {blas} | {100 * r['fire']:.0f} % "
              f"| {r['mem_fast']:.0f} MB / {r['mem_fast_small']:.0f} MB | {r['mem_cand']:.0f} MB |")


if __name__ == "__main__":
    main()
