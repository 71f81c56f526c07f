"""Small neural networks (MLP, 1-D CNN, LSTM, spiking) with a versioned weight file."""

from ._format import FORMAT_VERSION, WeightFileError
from ._layout import ModelType
from .network import Network, build_network, load_network

__all__ = ["FORMAT_VERSION", "ModelType", "Network", "WeightFileError", "build_network", "load_network"]
