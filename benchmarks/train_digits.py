"""Train the bundled digits model: a 64-32-10 ReLU MLP on scikit-learn's 8x8 handwritten digits.

The data ship inside scikit-learn (no download). Pixels 0..16 are scaled to ``x = pixel/16`` in
[0, 1] (exact in binary). scikit-learn is needed only here, never by the library: the weights are
exported as srmverify's ReLU JSON (``srmverify/data/digits_mlp.json``) with a few held-out test
digits (``srmverify/data/digits_test.json``) for ``srmverify demo``.

    python benchmarks/train_digits.py            # ~2 s; prints train/test accuracy
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from srmverify.formats import save_network
from srmverify.network import ReLUNet

DATA = Path(__file__).resolve().parent.parent / "srmverify" / "data"
N_BUNDLED = 100


def main(hidden: tuple[int, ...] = (32,), seed: int = 0) -> None:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier

    digits = load_digits()
    pixels, labels = digits.data.astype(int), digits.target.astype(int)
    p_tr, p_te, y_tr, y_te = train_test_split(pixels, labels, test_size=0.25, random_state=seed, stratify=labels)
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", alpha=1e-3, max_iter=2000, random_state=seed)
    clf.fit(p_tr / 16.0, y_tr)
    net = ReLUNet([(W.T, b) for W, b in zip(clf.coefs_, clf.intercepts_)], source="digits_mlp")
    # the exported network must predict exactly what scikit-learn predicts
    assert np.array_equal(net.evaluate(p_te / 16.0).argmax(axis=1), clf.predict(p_te / 16.0))
    save_network(net, DATA / "digits_mlp.json")
    sel = np.random.default_rng(seed).choice(len(p_te), size=N_BUNDLED, replace=False)
    (DATA / "digits_test.json").write_text(json.dumps({
        "description": f"{N_BUNDLED} held-out scikit-learn digits (8x8); model input x = pixels / 16",
        "scale": 1 / 16, "pixels": p_te[sel].tolist(), "labels": y_te[sel].tolist()}))
    print(f"64-{'-'.join(map(str, hidden))}-10 ReLU MLP: train accuracy {clf.score(p_tr / 16.0, y_tr):.4f}, "
          f"test accuracy {clf.score(p_te / 16.0, y_te):.4f} ({len(y_te)} digits); "
          f"bundled {N_BUNDLED} test digits -> {DATA}")


if __name__ == "__main__":
    main()
