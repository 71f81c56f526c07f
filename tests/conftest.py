"""Shared pytest setup.

Hypothesis runs a bounded number of examples here so the suite stays within a
few minutes on two cores; ``scripts/`` holds the long runs.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,  # the first example of a test may include numba compilation
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci")

import sys
from pathlib import Path

# tests/naive.py is imported as a plain module by the test files.
sys.path.insert(0, str(Path(__file__).parent))


import os
import tempfile

# benchwatch caches parsed results under the user's cache directory; tests keep theirs
# in a throwaway directory so they neither read a stale cache nor leave one behind.
os.environ["BENCHWATCH_CACHE_DIR"] = tempfile.mkdtemp(prefix="benchwatch-test-cache-")
