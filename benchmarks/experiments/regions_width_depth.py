"""Region counts of randomly initialised SNNs against width and depth, next to matched ReLU
networks, exactly along segments between real data points (scikit-learn digits).

Published studies of this question sample 20,000 points per segment; we count exactly (kinetic
walk for the SNN, 1-D traversal for the ReLU network) and report the 20,000-point sampling
estimate alongside.

    python benchmarks/experiments/regions_width_depth.py [--widths 8,16,32,64] [--depths 1,2,3]
        [--pairs 8] [--samples 20000] [--out benchmarks/experiments/out]

Writes ``regions_width_depth.csv`` (one row per network kind, width, depth, seed and segment;
written as it goes) and ``regions_width_depth.png`` (mean regions per segment against width, one
line per depth, exact and sampled). ``--plot-only`` redraws the plot from an existing CSV.
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from srmverify.network import ReLUNet, SNN
from srmverify.regions import count_line, sample_line, walk_line


def random_snn(widths, rng):
    """Positive weights U(0, 2/n_in), thresholds U(0.1, 0.5): neurons fire within the input window."""
    Ws = [rng.uniform(0, 2.0 / a, size=(b, a)) for a, b in zip(widths[:-1], widths[1:])]
    Ts = [rng.uniform(0.1, 0.5, size=b) for b in widths[1:]]
    return SNN.layered(Ws, Ts)


def random_relu(widths, rng):
    """He-initialised ReLU network of the same widths (biases N(0, 0.1))."""
    return ReLUNet([(rng.normal(0, np.sqrt(2.0 / a), size=(b, a)), rng.normal(0, 0.1, size=b))
                    for a, b in zip(widths[:-1], widths[1:])])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", default="8,16,32,64")
    ap.add_argument("--depths", default="1,2,3")
    ap.add_argument("--pairs", type=int, default=8)
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--out", default=str(Path(__file__).parent / "out"))
    ap.add_argument("--plot-only", action="store_true")
    a = ap.parse_args()
    if a.plot_only:
        with open(Path(a.out) / "regions_width_depth.csv") as f:
            rows = [{k: (int(v) if k in ("width", "depth", "exact_regions", "sampled_regions") else v)
                     for k, v in r.items()} for r in csv.DictReader(f)]
        _plot(rows, Path(a.out) / "regions_width_depth.png")
        return
    from sklearn.datasets import load_digits

    X = load_digits().data / 16.0                       # 64 pixels in [0, 1]; spike time = pixel value
    rng = np.random.default_rng(0)
    idx = rng.choice(len(X), 2 * a.pairs, replace=False)
    pairs = [(X[idx[2 * k]], X[idx[2 * k + 1]]) for k in range(a.pairs)]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    csv_file = open(out / "regions_width_depth.csv", "w", newline="")
    writer = None
    for depth in (int(d) for d in a.depths.split(",")):
        for width in (int(w) for w in a.widths.split(",")):
            widths = [64] + [width] * depth + [10]
            for seed in range(a.seeds):
                nets = {"snn": random_snn(widths, np.random.default_rng(seed)),
                        "relu": random_relu(widths, np.random.default_rng(seed))}
                for kind, net in nets.items():
                    for k, (x0, x1) in enumerate(pairs):
                        t = time.perf_counter()
                        r = count_line(net, x0, x1)
                        t_exact = time.perf_counter() - t
                        t = time.perf_counter()
                        n_s, _ = sample_line(net, x0, x1, a.samples)
                        t_sample = time.perf_counter() - t
                        narrow = walk_line(net, x0, x1).widths.min() if kind == "snn" else float("nan")
                        rows.append({"kind": kind, "width": width, "depth": depth, "seed": seed, "segment": k,
                                     "exact_regions": r.causal_regions, "exact_linear": r.linear_regions,
                                     "complete": r.complete, "sampled_regions": n_s, "samples": a.samples,
                                     "missed_by_sampling": r.causal_regions - n_s, "narrowest": narrow,
                                     "exact_s": round(t_exact, 4), "sampling_s": round(t_sample, 4)})
                        if writer is None:
                            writer = csv.DictWriter(csv_file, fieldnames=list(rows[0]))
                            writer.writeheader()
                        writer.writerow(rows[-1])        # written as it goes: a stopped run keeps its rows
                        csv_file.flush()
                    sub = [r for r in rows if r["kind"] == kind and r["width"] == width and r["depth"] == depth]
                    print(f"{kind:4s} depth {depth} width {width:3d}: exact {np.mean([r['exact_regions'] for r in sub]):9.1f}"
                          f"  sampled {np.mean([r['sampled_regions'] for r in sub]):9.1f}"
                          f"  exact {np.mean([r['exact_s'] for r in sub]):.2f} s  sampling {np.mean([r['sampling_s'] for r in sub]):.2f} s",
                          flush=True)
    csv_file.close()
    _plot(rows, out / "regions_width_depth.png")
    print(f"wrote {out / 'regions_width_depth.csv'} and {out / 'regions_width_depth.png'}")


def _plot(rows, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, kind in zip(axes, ("snn", "relu")):
        for depth in sorted({r["depth"] for r in rows}):
            ws = sorted({r["width"] for r in rows})
            ex = [np.mean([r["exact_regions"] for r in rows if (r["kind"], r["depth"], r["width"]) == (kind, depth, w)]) for w in ws]
            sa = [np.mean([r["sampled_regions"] for r in rows if (r["kind"], r["depth"], r["width"]) == (kind, depth, w)]) for w in ws]
            line, = ax.plot(ws, ex, "o-", label=f"depth {depth} exact")
            ax.plot(ws, sa, "x--", color=line.get_color(), alpha=0.6, label=f"depth {depth} sampled")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("width")
        ax.set_title(f"{'SNN causal' if kind == 'snn' else 'ReLU activation'} regions per digits segment")
        ax.legend(fontsize=7)
    axes[0].set_ylabel("regions along segment (mean)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    main()
