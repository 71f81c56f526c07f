"""Slow, obviously-correct NumPy references for every fast engine function.

Each fast kernel in ``src/engine`` is tested against its twin here. These are
written for clarity, not speed: plain loops and textbook formulas, no numba.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- kernels & allocation

# ---------------------------------------------------------------- neural networks

# ---------------------------------------------------------------- knowledge graph, text & system
