"""Measurement helpers shared by the benchmark families.

asv's ``time_`` benchmarks give one robust timing per benchmark. The plan also
asks for latency percentiles of individually timed operations, throughput, CPU
and numba allocations per operation. ``_Metrics`` measures those once per class
and environment in ``setup_cache`` (so compilation and data set-up happen before
any timed region, and once), and exposes every figure as a ``track_`` benchmark
with its unit, tracked commit by commit like any other.

The class name starts with an underscore so asv does not collect it as a
benchmark itself; its subclasses inherit the ``track_`` methods.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from typing import Any, Callable

import numpy as np
import psutil

try:  # numba's NRT counters exist only when NUMBA_NRT_STATS=1 was set before import
    from numba.core.runtime import rtsys
except Exception:  # pragma: no cover
    rtsys = None

pc = time.perf_counter_ns

#: ``rounds`` of asv's ``time_`` benchmarks. asv runs round 1 of every selected
#: benchmark before round 2, so four rounds spread one benchmark's samples over the
#: whole run, and with ``asv continuous --interleave-rounds`` they alternate between
#: the two commits. Shared runners change speed for seconds at a time (see
#: site/asv-suite.md, "Noise"); spread samples meet those phases on both sides of a
#: comparison alike instead of pinning one side to a slow phase. asv's own default
#: is 2; ``-a repeat=N`` (a suite's ``sample_size``) sets the samples per round.
TIME_ROUNDS = 4


def nrt_allocations() -> float:
    """numba NRT allocations so far, or NaN when statistics are off."""
    if rtsys is None:
        return math.nan
    try:
        return float(rtsys.get_allocation_stats().alloc)
    except Exception:  # statistics disabled
        return math.nan


def run_threads(op: Callable[[int], None], ops_per_thread: int, threads: int) -> tuple[np.ndarray, float]:
    """Run ``op(i)`` ops_per_thread times on each of ``threads`` threads, timing each call.

    Returns (latencies in ns, wall seconds). Threads start together at a barrier.
    """
    lat = [np.empty(ops_per_thread, dtype=np.int64) for _ in range(threads)]
    barrier = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        mine = lat[t]
        barrier.wait()
        for i in range(ops_per_thread):
            t0 = pc()
            op(i)
            mine[i] = pc() - t0

    if threads == 1:
        barrier = threading.Barrier(1)
        t0 = pc()
        work(0)
        return lat[0], (pc() - t0) / 1e9
    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    barrier.wait()
    t0 = pc()
    for th in pool:
        th.join()
    return np.concatenate(lat), (pc() - t0) / 1e9


def measure(op: Callable[[int], None], *, ops: int, threads: int = 1, warmup: int = 10,
            units_per_op: int = 1) -> dict[str, float]:
    """Time ``ops`` calls of ``op`` per thread and summarise them.

    ``units_per_op`` turns calls into operations for throughput (a batch call of
    100 rows is 100 operations).
    """
    for i in range(warmup):
        op(i)
    # CPU time of the whole process (all threads). Not psutil.Process().cpu_times():
    # it reads /proc/<pid>/stat in clock ticks (10 ms), so a run of a few ms showed
    # 0 % or 210 % of a 2-core machine. process_time is the same quantity
    # (CLOCK_PROCESS_CPUTIME_ID) in nanoseconds.
    cpu0 = time.process_time_ns()
    nrt0 = nrt_allocations()
    lat, wall = run_threads(op, ops, threads)
    nrt1 = nrt_allocations()
    cpu_s = (time.process_time_ns() - cpu0) / 1e9
    calls = ops * threads
    return {
        "p50": float(np.percentile(lat, 50)),
        "p95": float(np.percentile(lat, 95)),
        "p99": float(np.percentile(lat, 99)),
        "mean": float(lat.mean()),
        "throughput": calls * units_per_op / wall if wall > 0 else math.nan,
        # Percent of the whole machine (all cores busy = 100), so that limits
        # mean the same on runners with different core counts.
        "cpu": 100.0 * cpu_s / (wall * (psutil.cpu_count() or 1)) if wall > 0 else math.nan,
        "nrt": (nrt1 - nrt0) / calls,
    }


class _Metrics:
    """Base of the percentile benchmarks: subclasses set ``params``/``param_names``,
    implement ``measure(*params) -> dict`` (see ``measure`` above), and define

        def setup_cache(self):
            return self._measure_all()

    in their own body. asv keys its setup cache by the module and line of the
    ``setup_cache`` function, so an inherited one would be shared by every
    subclass; ``tests/test_asv_suite.py`` checks each class has its own.
    """

    timeout = 600
    params: Any = []
    param_names: list[str] = []

    def _combos(self) -> list[tuple]:
        if not self.param_names:
            return [()]
        grids = self.params if len(self.param_names) > 1 else [self.params]
        return list(itertools.product(*grids))

    def _measure_all(self) -> dict:
        return {combo: self.measure(*combo) for combo in self._combos()}

    def measure(self, *params: Any) -> dict[str, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def track_latency_p50_ns(self, cache: dict, *params: Any) -> float:
        return cache[params]["p50"]

    def track_latency_p95_ns(self, cache: dict, *params: Any) -> float:
        return cache[params]["p95"]

    def track_latency_p99_ns(self, cache: dict, *params: Any) -> float:
        return cache[params]["p99"]

    def track_throughput_ops_s(self, cache: dict, *params: Any) -> float:
        return cache[params]["throughput"]

    def track_cpu_percent(self, cache: dict, *params: Any) -> float:
        return cache[params]["cpu"]

    def track_nrt_allocations_per_op(self, cache: dict, *params: Any) -> float:
        return cache[params]["nrt"]

    track_latency_p50_ns.unit = "ns"
    track_latency_p95_ns.unit = "ns"
    track_latency_p99_ns.unit = "ns"
    track_throughput_ops_s.unit = "ops/s"
    track_cpu_percent.unit = "%"
    track_nrt_allocations_per_op.unit = "allocations"


def compile_snippet(body: str) -> str:
    """Code for a ``timeraw_`` benchmark: a fresh interpreter, an empty numba
    cache, then ``body``; asv times the whole run, so this is compile time plus
    a constant import cost."""
    return (
        "import os, tempfile\n"
        "os.environ['NUMBA_CACHE_DIR'] = tempfile.mkdtemp(prefix='bw-compile-')\n"
        "import numpy as np\n"
        + body
    )
