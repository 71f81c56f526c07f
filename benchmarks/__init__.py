"""asv benchmark suite of the engine, one module per family.

Importing the package turns on numba's NRT allocation counters before numba is
imported (asv imports the package first), so ``track_nrt_allocations_per_op``
has figures; asv.conf.json sets the same variable for asv's own runs.
"""

import os

os.environ.setdefault("NUMBA_NRT_STATS", "1")
