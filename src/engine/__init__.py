"""The numba engine that benchwatch benchmarks.

Public names only; each lives in a module named for what it is:

- ``config``: ``EngineConfig`` (fastmath, parallel, threads, dtype; ``from_env``)
- ``allocation``: ``AllocationEngine``, ``Allocation`` (cortical-column allocation)
- ``neural``: ``build_network``, ``load_network``, ``Network``, ``ModelType``, ``WeightFileError``
- ``kernels``: ``dot_scalar``, ``dot_simd``
- ``graph``: ``KnowledgeGraph``
- ``text``: ``Chunk`` and the hashed n-gram embedding
- ``system``: ``NeuromorphicSystem``, the document workflow over all of the above

Kernels are private ``@njit`` functions behind these validated wrappers.
"""

from . import kernels
from .allocation import Allocation, AllocationEngine
from .config import EngineConfig
from .graph import KnowledgeGraph
from .neural import ModelType, Network, WeightFileError, build_network, load_network
from .system import NeuromorphicSystem
from .text import Chunk

__version__ = "0.1.0"

__all__ = [
    "Allocation",
    "AllocationEngine",
    "Chunk",
    "EngineConfig",
    "KnowledgeGraph",
    "ModelType",
    "Network",
    "NeuromorphicSystem",
    "WeightFileError",
    "build_network",
    "kernels",
    "load_network",
]
