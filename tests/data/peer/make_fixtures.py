"""Write the peer fixtures of ``tests/test_peer_torch.py`` with the peer's own code (not run in CI).

The five networks of ``shared/benchmarks/peer-nets`` rebuilt with frafranz/ExpressivitySNN (branch
``linear-regions``): its ``SpikingNet`` from its yaml configs, changed as listed in ``VARIANTS``,
initialised with the config's ``torch_seed`` (the changed ones with seed 7). Per network this
writes ``NAME.pt`` (``torch.save(net.state_dict())``), ``NAME.yaml`` (the config, written like the
peer's ``save_config``) and, for all of them, ``outputs.json``: the peer's explicit forward pass
(label and hidden spike times) on points of the 2-D slice its region experiments use; and
``views.pt``, tensor views of other dtypes for the restricted reader.

Usage (torch and the peer's ``src/`` on the path)::

    PEER=path/to/ExpressivitySNN python tests/data/peer/make_fixtures.py
"""
from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent

#: name -> (peer config, changed network_layout fields, torch seed or None (the config's), abs weights)
VARIANTS = {
    "s1": ("xor", {"layer_sizes": [4, 2]}, None, False),
    "s3": ("yin_yang", {"layer_sizes": [6, 3]}, None, True),
    "xordel": ("xor", {"weight_means": [0.8, 0.2], "delay_means": [0.0, 0.0], "delay_stdevs": [1.0, 1.0]}, 7, False),
    "yy3": ("yin_yang_3_layer", {}, None, False),
    "yyneg": ("yin_yang", {"weight_means": [0.3, 0.0]}, 7, False),
}


def sim_params(cfg: dict) -> dict:
    """The peer's ``training.train``: a few training fields, then the neuron parameters."""
    tp = cfg["training_params"]
    sp = {k: tp.get(k, False) for k in ["rounding_precision", "max_dw_norm", "clip_weights_max"]}
    sp.update({k: tp.get(k, False) for k in ["use_forward_integrator", "resolution", "sim_time", "train_delay",
                                             "train_threshold", "substitute_delay"]})
    sp.update(cfg["neuron_params"])
    return sp


def main() -> None:
    """Only here: torch and the peer's code (pytest imports this file to collect doctests)."""
    import numpy as np
    import torch
    import yaml

    peer = Path(os.environ["PEER"])
    sys.path.insert(0, str(peer / "src"))
    from networks.spiking_network import SpikingNet

    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(13)
    xy = rng.random((8, 2))
    early, late = 0.15, 2.0                       # the peer's linear_regions.py slice
    inputs = early + np.hstack([xy, 1 - xy]) * (late - early)
    outputs = {}
    for name, (base, layout, seed, absolute) in VARIANTS.items():
        cfg = yaml.safe_load((peer / "experiment_configs" / f"{base}.yaml").read_text())
        cfg["network_layout"].update(layout)
        if seed is not None:
            cfg["training_params"]["torch_seed"] = seed
        torch.manual_seed(cfg["training_params"]["torch_seed"])
        with contextlib.redirect_stdout(io.StringIO()):    # SpikingNet prints its bias times
            net = SpikingNet(copy.deepcopy(cfg["network_layout"]), sim_params(cfg), "cpu")
        if absolute:
            for layer in net.layers:
                layer.weight.data = layer.weight.data.abs()
        torch.save(net.state_dict(), OUT / f"{name}.pt")
        (OUT / f"{name}.yaml").write_text(yaml.dump(cfg))
        exact = copy.deepcopy(sim_params(cfg))
        exact["use_forward_integrator"] = False    # the explicit (exact) simulation, not Euler steps
        for layer in net.layers:
            layer.sim_params = exact
            layer.use_forward_integrator = False
        with torch.no_grad():
            (label, hidden), _ = net(torch.tensor(inputs))
        as_list = lambda t: [[None if not np.isfinite(v) else float(v) for v in row] for row in t.numpy()]  # noqa: E731
        outputs[name] = {"label": as_list(label), "hidden": [as_list(h) for h in hidden]}
    (OUT / "outputs.json").write_text(json.dumps({"inputs": inputs.tolist(), "nets": outputs}))
    # float32 / float16 views with an offset and strides (the restricted reader without torch)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 3
    torch.save({"f32_view": base.t()[1:], "f16": base.half()[1], "f64": base.double()[:, ::2]}, OUT / "views.pt")


if __name__ == "__main__":
    main()
