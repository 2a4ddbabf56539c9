"""Random small networks and boxes shared by the tests (``tests/`` is on ``sys.path`` through
``conftest.py``): the one copy of each generator."""
from __future__ import annotations

import numpy as np

from srmverify.network import SNN, Affine, ReLUNet


def random_snn(rng: np.random.Generator, widths=(2, 3, 2), positive: bool = False, delays: bool = True,
               constants: int = 1, encoder: bool = False, decoder: bool = False) -> SNN:
    """A layered SNN with weights of both signs (or > 0), optional delays, constants, encoder/decoder."""
    Ws, Ds, ths = [], [], []
    for a, b in zip(widths[:-1], widths[1:]):
        W = rng.uniform(0.1, 1.5, (b, a + constants)) if positive else rng.normal(0.4, 1.0, (b, a + constants))
        Ws.append(W)
        Ds.append(rng.uniform(0, 0.5, W.shape) if delays else np.zeros(W.shape))
        ths.append(rng.uniform(0.2, 1.5, b))
    enc = Affine(rng.uniform(0, 1, widths[0]), rng.choice([-1.0, 1.0], widths[0]) * rng.uniform(0.5, 2, widths[0])) if encoder else None
    dec = Affine(rng.uniform(0, 1, widths[-1]), rng.uniform(0.5, 2, widths[-1])) if decoder else None
    return SNN.layered(Ws, ths, delays=Ds, constants=rng.uniform(0, 0.5, constants).tolist(), encoder=enc, decoder=dec)


def random_relu(rng: np.random.Generator, widths=(2, 4, 4, 1), weight_scale: float | None = None,
                bias_scale: float = 0.2) -> ReLUNet:
    """Weights N(0, s^2) with ``s = weight_scale`` (default ``1/sqrt(fan_in)``), biases
    N(0, bias_scale^2), drawn layer by layer (weights, then biases)."""
    return ReLUNet([(rng.normal(0, 1 / np.sqrt(a) if weight_scale is None else weight_scale, (b, a)),
                     rng.normal(0, bias_scale, b)) for a, b in zip(widths[:-1], widths[1:])])


def random_box(rng: np.random.Generator, n: int, width: float = 1.0) -> np.ndarray:
    c = rng.uniform(-1, 1, n)
    r = rng.uniform(0.05, width, n)
    return np.stack([c - r, c + r], axis=1)


def sample_box(rng: np.random.Generator, box: np.ndarray, k: int) -> np.ndarray:
    return box[:, 0] + rng.random((k, box.shape[0])) * (box[:, 1] - box[:, 0])
