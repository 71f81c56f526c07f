"""asv benchmark suite of the engine, one module per family.

Importing the package (asv imports it before any family) does two things before
numba is imported:

- turns on numba's NRT allocation counters, so ``track_nrt_allocations_per_op`` has
  figures (asv.conf.json sets the same variable for asv's own runs);
- points numba's cache at a directory keyed by the engine's whole source
  (``_numba_cache``), so a commit is never timed with another commit's cached code.
"""

import os

from ._numba_cache import use_keyed_cache

os.environ.setdefault("NUMBA_NRT_STATS", "1")
use_keyed_cache()
