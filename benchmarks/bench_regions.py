"""Region-counting benchmarks (issue 5), printed as side-by-side tables.

    python benchmarks/bench_regions.py neurons      # traversal regions/s, single neurons d = 2..12
    python benchmarks/bench_regions.py layers       # refinement vs traversal, shared layers d = 3, 4 (both signs)
    python benchmarks/bench_regions.py engines      # traverse vs z3 vs MILP on the same small networks
    python benchmarks/bench_regions.py line         # exact 1-D walk vs 20,000-point sampling, 784-512-512
    python benchmarks/bench_regions.py peer --nets s1,s3,xordel [--traverse] [--lines]
                                                    # refinement (and traversal) on the peer's 2-D slice

Numbers are recorded in benchmarks/README.md (section "Regions").
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from srmverify.network import ReLUNet, SNN
from srmverify.regions import (Domain, count_regions, enumerate_patterns, pattern_bits, refine, sample_line, traverse,
                               walk_line)

#: the peer's networks and its 2-D slice (x, y) in [0,1]^2, inputs (x, y, 1-x, 1-y) mapped to [0.15, 2]
PEER = "../shared/benchmarks/peer-nets"
PEER_SLICE = ([0.15, 0.15, 2, 2], [2, 0.15, 0.15, 2], [0.15, 2, 2, 0.15])


def random_snn(widths, seed=0, spread=2.0, thresholds=(0.1, 0.5)):
    """A randomly initialised positive-weight SNN: weights U(0, spread/n_in), thresholds U(lo, hi)."""
    rng = np.random.default_rng(seed)
    Ws = [rng.uniform(0, spread / a, size=(b, a)) for a, b in zip(widths[:-1], widths[1:])]
    Ts = [rng.uniform(*thresholds, size=b) for b in widths[1:]]
    return SNN.layered(Ws, Ts)


def _small_snn(seed: int, positive: bool) -> SNN:
    rng = np.random.default_rng(seed)
    if positive:
        Ws = [rng.uniform(0.1, 1.5, (3, 3)), rng.uniform(0.1, 1.5, (2, 4))]
    else:
        Ws = [rng.normal(0.5, 1.0, (3, 3)), rng.normal(0.5, 1.0, (2, 4))]
    return SNN.layered(Ws, [rng.uniform(0.5, 2, 3), rng.uniform(0.5, 2, 2)], constants=[0.0])


def digit_images(n=2, size=28, seed=0):
    """``n`` scikit-learn digits upsampled to ``size x size`` (pixel values in [0, 1])."""
    from sklearn.datasets import load_digits

    X = load_digits().images / 16.0
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(X), n, replace=False)
    k = size // 8
    imgs = [np.kron(X[i], np.ones((k, k))) for i in idx]
    pad = size - 8 * k
    return np.array([np.pad(im, ((0, pad), (0, pad))).reshape(-1) for im in imgs])


def bench_neurons(dmax: int) -> None:
    print("| d | engine | regions | 2^d - 1 | time (s) | regions/s | LPs |")
    print("|---|---|---|---|---|---|---|")
    for d in range(2, dmax + 1):
        net = SNN.layered([[np.linspace(1, 2, d).tolist()]], [[1.0]])
        dom = Domain.box(np.array([[0.0, 100.0]] * d))
        for engine in ("traverse", "auto"):
            r = count_regions(net, dom, engine)
            if engine == "auto" and r.engine == "traverse":
                continue
            print(f"| {d} | {r.engine} | {r.causal_regions} | {2 ** d - 1} | {r.time:.4f} | {r.rate:.0f} | "
                  f"{r.stats.get('lps', 0)} |", flush=True)
    for widths in ((2, 8, 8, 1), (3, 6, 6, 2), (2, 16, 16, 16, 1)):
        net = random_snn(widths, seed=1, spread=1.5, thresholds=(0.2, 1.0))
        r = traverse(net, Domain.box(np.array([[0.0, 1.0]] * widths[0])))
        print(f"| deep {'-'.join(map(str, widths))} | {r.causal_regions} (linear {r.linear_regions}) | - | "
              f"{r.time:.2f} | {r.rate:.0f} | {r.stats['lps']} |", flush=True)


def shared_layer(m: int, d: int, seed: int, signs: str, snn: type = SNN) -> SNN:
    """``m`` neurons reading the same ``d`` inputs: random weights (``positive``: U(0.5, 2);
    ``mixed``: N(0.5, 1), about 31 % negative), thresholds U(0.5, 3); ``shared``: one weight vector
    linspace(1, 2, d), thresholds 1..m (the theorem's (m+1)^d - m^d). ``snn``: the network class
    (another checkout's, for ``bench_regions_ab.py``)."""
    rng = np.random.default_rng(seed)
    if signs == "shared":
        return snn.layered([[np.linspace(1, 2, d).tolist()] * m], [np.arange(1, m + 1, dtype=float)])
    W = rng.uniform(0.5, 2, (m, d)) if signs == "positive" else rng.normal(0.5, 1, (m, d))
    return snn.layered([W], [rng.uniform(0.5, 3, m)])


def bench_layers(cases, traverse_timeout: float) -> None:
    """Refinement (the default engine on these boxes) against the traversal, same networks, same run.
    CPU seconds of a warm call (the mean of several for tiny cases); the wall time is the last call's."""
    print("| network | d | refine regions | linear | pieces | refine s (CPU s) | regions/s (per CPU s) | traverse regions | "
          "traverse s | traverse regions/s | rate ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for m, d, signs in cases:
        net = shared_layer(m, d, m, signs)
        side = 10.0 * m if signs == "shared" else 10.0
        dom = Domain.box(np.array([[0.0, side]] * d))
        count_regions(net, dom)                  # warm the caches (compiled kernels, lazy imports)
        reps = max(1, 2000 // (m ** d))          # tiny cases: the mean of several calls
        c0 = time.process_time()
        for _ in range(reps):
            r = count_regions(net, dom)
        cpu = (time.process_time() - c0) / reps
        theory = f" (theory {(m + 1) ** d - m ** d})" if signs == "shared" else ""
        tr, tt, trate, ratio = "-", "-", "-", "-"
        if traverse_timeout > 0:
            t = traverse(net, dom, timeout=traverse_timeout)
            tr = f"{t.causal_regions}{'' if t.complete else ' (stopped)'}"
            tt, trate, ratio = f"{t.time:.1f}", f"{t.rate:.0f}", f"{r.rate / t.rate:.0f}x"
        print(f"| {m} x {d} {signs} | {d} | {r.causal_regions}{theory}{'' if r.complete else ' (partial)'} | "
              f"{r.linear_regions} | {r.cells} | {r.time:.3f} ({cpu:.3f}) | {r.rate:.0f} ({r.causal_regions / cpu:.0f}) | "
              f"{tr} | {tt} | {trate} | {ratio} |",
              flush=True)


def bench_engines() -> None:
    print("| network | traverse | z3 | MILP | traverse s | z3 s | MILP s | same pattern sets |")
    print("|---|---|---|---|---|---|---|---|")
    nets = [("neuron d=4", SNN.layered([[[1.0, 1.5, 2.0, 2.5]]], [[1.0]]), [[0, 10]] * 4),
            ("shared 3x3", SNN.layered([[[1.0, 2.0, 1.5]] * 3], [[1.0, 2.0, 3.0]]), [[0, 100]] * 3),
            ("SNN 2-3-2 (+ constant)", _small_snn(0, positive=True), [[0, 2]] * 2),
            ("SNN 2-3-2 mixed signs", _small_snn(1, positive=False), [[0, 2]] * 2)]
    rng = np.random.default_rng(0)
    nets.append(("ReLU 2-6-1", ReLUNet([(rng.normal(size=(6, 2)), rng.normal(size=6)),
                                        (rng.normal(size=(1, 6)), rng.normal(size=1))]), [[-2, 2]] * 2))
    nets.append(("ReLU 2-4-4-1", ReLUNet([(rng.normal(size=(4, 2)), rng.normal(size=4)),
                                          (rng.normal(size=(4, 4)), rng.normal(size=4)),
                                          (rng.normal(size=(1, 4)), rng.normal(size=1))]), [[-2, 2]] * 2))
    for name, net, box in nets:
        dom = Domain.box(np.array(box, dtype=float))
        a = traverse(net, dom)
        b = enumerate_patterns(net, dom, "z3", timeout=600)
        same = {r.pattern for r in a.regions} == {r.pattern for r in b.regions}
        if isinstance(net, SNN) and not net.all_weights_positive:
            c_count, c_time = "n/a", "-"
        else:
            c = enumerate_patterns(net, dom, "milp", timeout=600)
            same &= {r.pattern for r in a.regions} == {r.pattern for r in c.regions}
            c_count, c_time = f"{c.causal_regions}{'' if c.complete else '+'}", f"{c.time:.2f}"
        print(f"| {name} | {a.causal_regions} | {b.causal_regions}{'' if b.complete else '+'} | "
              f"{c_count} | {a.time:.2f} | {b.time:.2f} | {c_time} | {'yes' if same else 'NO'} |", flush=True)


def bench_line(widths, n_samples: int, pairs: int, random_points: bool) -> None:
    net = random_snn(widths, seed=0)
    print(f"network {'-'.join(map(str, widths))}, {n_samples}-point sampling vs exact walk")
    print("| segment | exact regions | exact linear | narrowest | walk s | sampled regions | sampling s | missed by sampling |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(1)
    pts = rng.uniform(0, 1, size=(2 * pairs, widths[0])) if random_points else digit_images(2 * pairs, seed=1)
    for k in range(pairs):
        x0, x1 = pts[2 * k], pts[2 * k + 1]
        t = time.perf_counter()
        w = walk_line(net, x0, x1)
        tw = time.perf_counter() - t
        t = time.perf_counter()
        ns, _ = sample_line(net, x0, x1, n_samples)
        ts = time.perf_counter() - t
        print(f"| {'random' if random_points else 'digits'} {k} | {w.causal_regions} | {w.linear_regions} | "
              f"{w.widths.min():.2e} | {tw:.1f} | {ns} | {ts:.1f} | {w.causal_regions - ns} |", flush=True)


def _peer_point(x: float, y: float) -> list[float]:
    """The peer's input (x, y, 1 - x, 1 - y) mapped to [0.15, 2]."""
    return [0.15 + 1.85 * x, 0.15 + 1.85 * y, 0.15 + 1.85 * (1 - x), 0.15 + 1.85 * (1 - y)]


#: lines of the peer's slice (ends in (x, y) coordinates)
PEER_LINES = {"diagonal": ((0, 0), (1, 1)), "anti-diagonal": ((1, 0), (0, 1)), "y = 0": ((0, 0), (1, 0)),
              "x = 0": ((0, 0), (0, 1)), "y = 0.5": ((0, 0.5), (1, 0.5))}


def bench_peer(names, grid: int, with_traverse: bool, peer_dir: str, lines: bool) -> None:
    """Exact refinement of the peer's slice (as ``srmverify regions NET --slice ... --engine
    refine``: ``count_regions``, adjacency and linear regions included) vs the traversal and a
    ``grid``² pattern grid; with ``lines`` also the slice's lines vs 20,000 samples."""
    from srmverify.formats import load_network
    from srmverify.regions import count_regions

    print("| net | refine regions | linear | pieces | refine s (wall) | CPU s | grid patterns | grid ⊆ exact | traverse regions | traverse s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        net = load_network(f"{peer_dir}/{name}.json")
        dom = Domain.plane(*PEER_SLICE)
        t0, c0 = time.perf_counter(), time.process_time()
        r = count_regions(net, dom, "refine")
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        s = (np.arange(grid) + 0.5) / grid
        Y = np.stack(np.meshgrid(s, s), -1).reshape(-1, 2)
        seen = set()
        for k in range(0, len(Y), 20000):
            seen |= {b.tobytes().hex() for b in np.packbits(pattern_bits(net, dom, Y[k:k + 20000]), axis=1)}
        tv, tt = "-", "-"
        if with_traverse:
            t0 = time.perf_counter()
            tr = traverse(net, dom, timeout=600)
            tv, tt = f"{tr.causal_regions}{'' if tr.complete else ' (stopped)'}", f"{time.perf_counter() - t0:.1f}"
        sub = seen <= {x.pattern for x in r.regions}
        print(f"| {name} | {r.causal_regions}{'' if r.complete else ' (partial)'} | {r.linear_regions} | {r.cells} "
              f"| {wall:.1f} | {cpu:.1f} | {len(seen)} | {sub} | {tv} | {tt} |", flush=True)
        if not lines:
            continue
        print(f"\n{name}, lines of the slice:\n")
        print("| line | regions | linear | pieces | wall s | CPU s | 20,000 samples see |")
        print("|---|---|---|---|---|---|---|")
        for label, (a, b) in PEER_LINES.items():
            x0, x1 = np.array(_peer_point(*a)), np.array(_peer_point(*b))
            t0, c0 = time.perf_counter(), time.process_time()
            r = count_regions(net, Domain.segment(x0, x1), "refine")
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            n, _ = sample_line(net, x0, x1, 20000)
            print(f"| {label} | {r.causal_regions}{'' if r.complete else ' (partial)'} | {r.linear_regions} | {r.cells} "
                  f"| {wall:.2f} | {cpu:.2f} | {n} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["neurons", "layers", "engines", "line", "peer"])
    ap.add_argument("--cases", default="1x2:positive,1x3:positive,1x4:positive,10x4:shared,10x4:positive,10x4:mixed,20x4:positive,20x4:mixed,"
                                       "30x3:positive,30x3:mixed",
                    help="layers: MxD:signs (signs: positive, mixed, shared)")
    ap.add_argument("--traverse-timeout", type=float, default=60.0, help="layers: 0 = no traversal")
    ap.add_argument("--nets", default="s1,s3,xordel", help="peer: networks of --peer-dir")
    ap.add_argument("--peer-dir", default=PEER)
    ap.add_argument("--grid", type=int, default=400)
    ap.add_argument("--traverse", action="store_true", help="peer: also run the traversal (slow)")
    ap.add_argument("--lines", action="store_true", help="peer: also count the slice's lines")
    ap.add_argument("--dmax", type=int, default=12)
    ap.add_argument("--widths", default="784,512,512")
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--pairs", type=int, default=1)
    ap.add_argument("--random-points", action="store_true", help="uniform random endpoints instead of digits")
    a = ap.parse_args()
    if a.part == "neurons":
        bench_neurons(a.dmax)
    elif a.part == "layers":
        cases = [(int(c.split("x")[0]), int(c.split("x")[1].split(":")[0]), c.split(":")[1]) for c in a.cases.split(",")]
        bench_layers(cases, a.traverse_timeout)
    elif a.part == "engines":
        bench_engines()
    elif a.part == "peer":
        bench_peer(a.nets.split(","), a.grid, a.traverse, a.peer_dir, a.lines)
    else:
        bench_line(tuple(int(w) for w in a.widths.split(",")), a.samples, a.pairs, a.random_points)


if __name__ == "__main__":
    main()
