"""The NIR export in clock-driven simulators: first-spike timing error against exact simulation.

For each network and time step ``dt``, the output spike times of

* ``ref exact-form 1-spike``: srmverify's stepped reading of the exact ``Delay → Linear → I → IF``
  export (:mod:`srmverify.simulate.nir_steps`) with the single-spike semantics of its metadata;
* ``ref exact-form IF-reset``: the same graph as NIR says it (IF resets and fires again);
* ``ref cubalif``: the ``--nir-profile cubalif`` export, stepped by the same reference;
* ``Norse 1.1``: ``norse.torch.from_nir(cubalif export, dt=dt)``;
* ``snnTorch 1.0``: ``snntorch.import_nir.import_from_nir(cubalif-snntorch export)``

are compared with ``srmverify.simulate.spike_times`` (exact first crossings, float64). Reported:
the largest and the mean |error| over outputs both fire, outputs that fire in one and not the other
("missed"), the mean number of spikes per output neuron, and the wall time of the run. Norse and
snnTorch are optional (``pip install torch==2.13.0 snntorch norse``; not in CI); a simulator that
cannot run a graph is listed with its error. Prints a markdown table for benchmarks/README.md.

    python benchmarks/bench_nir_cubalif.py [--samples 50] [--dt 0.01 0.001]
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from srmverify.convert import convert_relu_to_snn
from srmverify.formats import load_network
from srmverify.formats.nir_net import snn_to_nir
from srmverify.network import SNN
from srmverify.simulate import spike_times
from srmverify.simulate.nir_steps import simulate_steps

DATA = Path(__file__).resolve().parents[1] / "srmverify" / "data"
MARGIN = 0.5   # simulated time after the last exact output spike


def networks(rng: np.random.Generator) -> dict[str, SNN]:
    W1, W2 = rng.uniform(0.2, 1.0, (8, 4)), rng.uniform(0.2, 1.0, (3, 8))
    relu = load_network(DATA / "examples" / "relu_2_8_3.json")
    return {
        "neuron_d10 (1 neuron, 10 inputs)": load_network(DATA / "neuron_d10.json"),
        "shared_3x3 (3 neurons)": load_network(DATA / "shared_3x3.json"),
        "random 4-8-3 (w > 0, no delays)": SNN.layered([W1, W2], [rng.uniform(0.5, 2, 8), rng.uniform(1, 3, 3)]),
        "converted relu_2_8_3 (delays, signs)": convert_relu_to_snn(relu, [[0, 1], [0, 1]])[0],
    }


def input_times(net: SNN, x: np.ndarray) -> dict[str, np.ndarray]:
    t = {"input": net.encode(x)}
    if net.n_constants:
        t["constants"] = np.broadcast_to(net.constants, (len(x), net.n_constants)).copy()
    return t


def run_torch(module: Any, spikes: np.ndarray) -> np.ndarray:
    """Step a torch module over ``spikes`` (steps, batch, channels); output spikes (steps, batch, out)."""
    import torch

    outs, state = [], None
    with torch.no_grad():
        for k in range(len(spikes)):
            res = module(torch.as_tensor(spikes[k], dtype=torch.float32), state)
            z, state = res if isinstance(res, tuple) else (res, None)
            outs.append(np.asarray(z, dtype=float))
    return np.stack(outs)


def torch_sim(make: Callable[[Any, float], Any], profile: str) -> Callable:
    def sim(net: SNN, x: np.ndarray, dt: float, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        module = make(snn_to_nir(net, profile, dt), dt)          # its own error first (e.g. Delay)
        if net.n_constants:
            raise RuntimeError("two Input nodes (inputs, constants); the torch module takes one")
        n_steps = int(np.ceil((t1 - t0) / dt))
        steps = np.round((net.encode(x) - t0) / dt).astype(int)
        spikes = np.zeros((n_steps, len(x), net.n_inputs))
        for b, row in enumerate(steps):
            ok = row < n_steps
            spikes[row[ok], b, np.flatnonzero(ok)] = 1.0
        z = run_torch(module, spikes) > 0.5
        first = np.where(z.any(axis=0), t0 + dt * z.argmax(axis=0), np.inf)
        return first, z.sum(axis=0)
    return sim


def norse_make(graph: Any, dt: float) -> Any:
    import norse.torch

    return norse.torch.from_nir(graph, dt=dt, ignore_warnings=True)


def snntorch_make(graph: Any, dt: float) -> Any:
    import contextlib
    import io

    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):      # its importer prints scaling warnings
        return import_from_nir(graph)


def ref_sim(profile: str, single_spike: bool) -> Callable:
    def sim(net: SNN, x: np.ndarray, dt: float, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        first, count = simulate_steps(snn_to_nir(net, profile, dt), input_times(net, x), dt, t1, t0, single_spike)
        return first["output"], count["output"]
    return sim


SIMULATORS = {
    "ref exact-form 1-spike": ref_sim("exact", True),
    "ref exact-form IF-reset": ref_sim("exact", False),
    "ref cubalif": ref_sim("cubalif", False),
    "Norse 1.1 cubalif": torch_sim(norse_make, "cubalif"),
    "snnTorch 1.0 cubalif-snntorch": torch_sim(snntorch_make, "cubalif-snntorch"),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=50)
    ap.add_argument("--dt", type=float, nargs="+", default=[0.01, 0.001])
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(args.seed)
    print("| network | simulator | dt | max abs err | mean abs err | missed | spikes/output | time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, net in networks(rng).items():
        x = rng.random((args.samples, net.n_inputs))
        times = spike_times(net, net.encode(x))
        exact = times[:, net.outputs]
        starts = [net.encode(x).min()] + ([net.constants.min()] if net.n_constants else [])
        t0, t1 = float(min(starts)), float(np.nanmax(np.where(np.isfinite(exact), exact, np.nan))) + MARGIN
        for dt in args.dt:
            for sim_name, sim in SIMULATORS.items():
                start = time.perf_counter()
                try:
                    first, count = sim(net, x, dt, t0, t1)
                except Exception as exc:  # an optional simulator that cannot run this graph
                    reason = f"{type(exc).__name__}: {exc}".replace("|", "/").splitlines()[0][:70]
                    print(f"| {name} | {sim_name} | {dt:g} | not run: {reason} | | | | |")
                    continue
                wall = time.perf_counter() - start
                both = np.isfinite(first) & np.isfinite(exact)
                err = np.abs(first - exact)[both]
                missed = int(np.sum(np.isfinite(first) != np.isfinite(exact)))
                print(f"| {name} | {sim_name} | {dt:g} | {err.max(initial=0):.4g} | {err.mean() if err.size else 0:.3g} | "
                      f"{missed}/{exact.size} | {count.mean():.3g} | {wall:.2f} |")


if __name__ == "__main__":
    main()
