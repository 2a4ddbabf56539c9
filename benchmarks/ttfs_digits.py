"""A trained time-to-first-spike 784-10-10 SNN for the robustness benchmark.

The handwritten digits that ship with scikit-learn (8x8, no download) are upsampled bilinearly to
28x28 = 784 pixels (MNIST size). A pixel ``x`` in [0, 1] spikes at ``t = 1 - x`` (bright pixels
early); one constant neuron fires at 0 (bias). Hidden and output layers have 10 neurons each,
threshold 1, no delays, weights of both signs; the class is the output neuron that fires FIRST.

Training is plain gradient descent on the exact spike times: with the causal set ``C`` fixed,
``t_v = (theta + sum_C w_u a_u) / sum_C w_u``, so ``dt/dw_u = (a_u - t_v)/W_C`` and
``dt/da_u = w_u/W_C`` for ``u`` in ``C`` (the forward pass is srmverify's own simulator).

    python benchmarks/ttfs_digits.py    # trains, prints accuracy, writes benchmarks/out/ttfs_784_10_10.json
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from srmverify.formats import save_network
from srmverify.network import SNN, Affine
from srmverify.simulate import spike_times

OUT = Path(__file__).parent / "out"


def digits_784(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) with 784 pixels in [0, 1]."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    d = load_digits()
    imgs = np.stack([np.clip(zoom(im / 16.0, 3.5, order=1), 0, 1) for im in d.images]).reshape(len(d.images), -1)
    idx = np.random.default_rng(seed).permutation(len(imgs))
    cut = int(0.75 * len(idx))
    return imgs[idx[:cut]], d.target[idx[:cut]], imgs[idx[cut:]], d.target[idx[cut:]]


def build(W1: np.ndarray, W2: np.ndarray) -> SNN:
    """Layered SNN: inputs encoded t = 1 - x, one constant at 0 appended to each layer's inputs."""
    n = W1.shape[1] - 1
    return SNN.layered([W1, W2], [np.ones(len(W1)), np.ones(len(W2))], constants=[0.0],
                       encoder=Affine(np.ones(n), -np.ones(n)))


def _layer_grad(A: np.ndarray, T: np.ndarray, W: np.ndarray, gT: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward through one layer: arrivals A (B, m), times T (B, n), weights W (n, m), dL/dT."""
    fin = np.isfinite(T)
    C = (A[:, None, :] < T[:, :, None]) & fin[:, :, None]            # causal masks (B, n, m)
    WC = np.einsum("nm,bnm->bn", W, C)
    g = np.where(fin, gT, 0.0) / np.where(fin & (WC > 0), WC, np.inf)  # (B, n)
    diff = np.where(C, A[:, None, :] - np.where(fin, T, 0.0)[:, :, None], 0.0)
    gW = np.einsum("bn,bnm->nm", g, diff)
    gA = np.einsum("bn,nm,bnm->bm", g, W, C)
    return gW, gA


def train(epochs: int = 20, seed: int = 0, lr: float = 0.01, tau: float = 0.03):
    xtr, ytr, xte, yte = digits_784(seed)
    rng = np.random.default_rng(seed)
    W1 = np.hstack([rng.normal(0, 0.02, (10, 784)) + 0.002, np.full((10, 1), 0.8)])
    W2 = np.hstack([rng.normal(0, 0.3, (10, 10)) + 0.2, np.full((10, 1), 0.6)])
    params = [W1, W2]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        for batch in np.array_split(rng.permutation(len(xtr)), len(xtr) // 64):
            net = build(W1, W2)
            T = spike_times(net, net.encode(xtr[batch]))
            A1 = T[:, list(range(784)) + [784]]
            H = T[:, net.first_neuron:net.first_neuron + 10]
            O = T[:, net.outputs]
            A2 = np.hstack([H, np.zeros((len(batch), 1))])
            logits = np.where(np.isfinite(O), -O / tau, -1e3)
            p = np.exp(logits - logits.max(1, keepdims=True))
            p /= p.sum(1, keepdims=True)
            gO = -(p - np.eye(10)[ytr[batch]]) / tau / len(batch)       # dL/dO = -dL/dlogits / tau
            gW2, gA2 = _layer_grad(A2, O, W2, gO)
            gW1, _ = _layer_grad(A1, H, W1, gA2[:, :10])
            step += 1
            for k, (prm, g) in enumerate(zip(params, (gW1, gW2))):
                m[k] = 0.9 * m[k] + 0.1 * g
                v[k] = 0.999 * v[k] + 0.001 * g * g
                prm -= lr * (m[k] / (1 - 0.9 ** step)) / (np.sqrt(v[k] / (1 - 0.999 ** step)) + 1e-8)
    net = build(W1, W2)
    return net, accuracy(net, xte, yte), (xte, yte)


def predict(net: SNN, x: np.ndarray) -> np.ndarray:
    """Class = index of the earliest output spike."""
    T = spike_times(net, net.encode(np.atleast_2d(x)))
    return np.argmin(T[:, net.outputs], axis=1)


def accuracy(net: SNN, x: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(predict(net, x) == y))


if __name__ == "__main__":
    net, acc, _ = train()
    OUT.mkdir(exist_ok=True)
    save_network(net, OUT / "ttfs_784_10_10.json")
    print(f"test accuracy {acc:.3f}; weights of both signs: {not net.all_weights_positive}")
