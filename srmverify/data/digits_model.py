"""The bundled digits model: a 64-32-10 ReLU MLP trained on scikit-learn's 8x8 digits
(``benchmarks/train_digits.py``) and 100 held-out test digits. No scikit-learn needed to load."""
from __future__ import annotations

import json

import numpy as np

from ..formats import load_network
from ..network import ReLUNet
from . import DATA_DIR

HERE = DATA_DIR
MODEL = HERE / "digits_mlp.json"
TEST = HERE / "digits_test.json"


def load_digits_model() -> ReLUNet:
    """The trained ReLU network (64 inputs in [0, 1], 10 class scores).

    >>> load_digits_model().widths
    [64, 32, 10]
    """
    net = load_network(MODEL)
    assert isinstance(net, ReLUNet)  # bundled file, not user input
    return net


def load_digits_test() -> tuple[np.ndarray, np.ndarray]:
    """``(x, labels)``: the bundled test digits, ``x = pixels / 16`` in [0, 1] (exact floats).

    >>> x, y = load_digits_test(); x.shape, float(x.max()) <= 1.0
    ((100, 64), True)
    """
    d = json.loads(TEST.read_text())
    return np.asarray(d["pixels"], dtype=float) * d["scale"], np.asarray(d["labels"], dtype=np.int64)
