"""Network models: spiking networks (:class:`SNN`) and ReLU networks (:class:`ReLUNet`)."""
from .relu import ReLUNet
from .snn import SNN, Affine, Level

__all__ = ["SNN", "ReLUNet", "Affine", "Level"]
