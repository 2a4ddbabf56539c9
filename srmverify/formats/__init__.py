"""Readers and writers: JSON networks, ONNX ReLU networks, NIR spiking networks, the peer's torch
checkpoints, VNN-LIB properties, input arrays."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .files import stem

#: imported on first use (:mod:`srmverify.lazy`): the readers load numpy, ONNX, NIR and networkx
_EXPORTS = {
    ".json_net": ("load_json", "save_json", "network_from_dict", "network_to_dict"),
    ".arrays": ("load_inputs", "parse_box", "parse_vector"),
    ".peer_torch": ("load_peer", "peer_snn", "use_peer_config"),
    ".torch_zip": ("read_state_dict",),
}
__getattr__, __dir__, _LAZY = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:
    from ..network import ReLUNet, SNN
    from .arrays import load_inputs, parse_box, parse_vector
    from .json_net import load_json, network_from_dict, network_to_dict, save_json
    from .peer_torch import load_peer, peer_snn, use_peer_config
    from .torch_zip import read_state_dict


def load_network(path: str | Path) -> SNN | ReLUNet:
    """Load a network from ``.json`` (SNN or ReLU) or ``.onnx`` (ReLU), either possibly gzipped
    (``.json.gz``, ``.onnx.gz``), ``.nir`` (SNN), or ``.pt`` / ``.pth`` (SNN: a state_dict of the
    peer implementation with its yaml config, :func:`~srmverify.formats.peer_torch.load_peer`)."""
    if str(path).endswith((".pt", ".pth")):
        from .peer_torch import load_peer

        return load_peer(path)
    if str(path).endswith(".nir"):
        from .nir_net import load_nir

        return load_nir(path)
    if stem(path).endswith(".onnx"):
        from .onnx_net import load_onnx

        return load_onnx(path)
    from .json_net import load_json

    return load_json(path)


def save_network(net: SNN | ReLUNet, path: str | Path) -> None:
    """Write ``.json`` (either kind), ``.onnx`` (ReLU networks) or ``.nir`` (SNNs, exact form)."""
    if str(path).endswith(".nir"):
        from .nir_net import save_nir

        save_nir(net, path)
    elif str(path).endswith(".onnx"):
        from .onnx_net import save_onnx

        save_onnx(net, path)
    else:
        from .json_net import save_json

        save_json(net, path)


__all__ = ["load_network", "save_network", *_LAZY]
