"""Feed-forward ReLU networks: affine layers with ReLU between them (the last layer is affine)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from ..errors import InputError
from .snn import MEMORY


@dataclass(frozen=True, eq=False)
class ReLUNet:
    """``z^l = W^l h^{l-1} + b^l``, ``h^l = max(0, z^l)`` for hidden layers, output ``z^L``.

    Examples
    --------
    >>> net = ReLUNet([([[1.0, -1.0]], [0.5]), ([[2.0]], [0.0])])
    >>> net.n_inputs, net.n_outputs, net.widths
    (2, 1, [2, 1, 1])
    >>> net.evaluate([[1.0, 0.0], [0.0, 1.0]]).tolist()
    [[3.0], [0.0]]
    """

    layers: Sequence[tuple[np.ndarray, np.ndarray]]
    source: str = field(default=MEMORY, compare=False)

    def __post_init__(self) -> None:
        s = self.source
        if len(self.layers) == 0:
            raise InputError(s, "layers", [], "the network has no layers")
        out: list[tuple[np.ndarray, np.ndarray]] = []
        for l, (W, b) in enumerate(self.layers):
            try:
                W = np.array(W, dtype=float)
                b = np.array(b, dtype=float).reshape(-1)
            except (TypeError, ValueError) as exc:
                raise InputError(s, f"layers[{l}]", "...", f"not numeric ({exc})") from None
            if W.ndim != 2 or 0 in W.shape:
                raise InputError(s, f"layers[{l}].weights", f"shape {W.shape}", "must be a non-empty 2-D matrix")
            if b.shape != (W.shape[0],):
                raise InputError(s, f"layers[{l}].biases", f"length {b.size}", f"expected {W.shape[0]} (one per row)")
            if l and W.shape[1] != out[-1][0].shape[0]:
                raise InputError(s, f"layers[{l}].weights", f"{W.shape[1]} columns",
                                 f"expected {out[-1][0].shape[0]} (outputs of layer {l - 1})")
            for arr, name in ((W, "weights"), (b, "biases")):
                bad = np.argwhere(~np.isfinite(arr))
                if bad.size:
                    idx = "".join(f"[{i}]" for i in bad[0])
                    raise InputError(s, f"layers[{l}].{name}{idx}", float(arr[tuple(bad[0])]), "must be a finite number")
            W.setflags(write=False)
            b.setflags(write=False)
            out.append((W, b))
        object.__setattr__(self, "layers", tuple(out))

    @property
    def n_inputs(self) -> int:
        return self.layers[0][0].shape[1]

    @property
    def n_outputs(self) -> int:
        return self.layers[-1][0].shape[0]

    @property
    def widths(self) -> list[int]:
        """Input width followed by every layer's width."""
        return [self.n_inputs] + [W.shape[0] for W, _ in self.layers]

    @property
    def n_hidden(self) -> int:
        return sum(W.shape[0] for W, _ in self.layers[:-1])

    def evaluate(self, x: np.ndarray, return_preactivations: bool = False):
        """Float evaluation of a batch ``(batch, n_inputs)`` (a single vector is accepted too)."""
        h = np.atleast_2d(np.asarray(x, dtype=float))
        pre = []
        for l, (W, b) in enumerate(self.layers):
            z = h @ W.T + b
            pre.append(z)
            h = np.maximum(z, 0.0) if l < len(self.layers) - 1 else z
        return (h, pre) if return_preactivations else h
