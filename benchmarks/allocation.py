"""Allocation family: single-call latency, batch throughput under concurrency,
concurrent stress, memory pressure, and compile time."""

import numpy as np

from engine import AllocationEngine

from ._measure import TIME_ROUNDS, _Metrics, compile_snippet, measure

N_COLUMNS = 1024


def _full_engine(dim: int, seed: int = 0) -> AllocationEngine:
    """An engine with every column in use, so each call scores all 1024."""
    eng = AllocationEngine(N_COLUMNS, dim)
    eng.allocate_batch(np.random.default_rng(seed).normal(size=(N_COLUMNS, dim)))
    return eng


def _inputs(n: int, dim: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


class AllocateLatency(_Metrics):
    """One ``allocate`` call at a time, 1024 columns in use."""

    params = [10, 50, 100, 500, 1000]
    param_names = ["input_size"]

    def setup_cache(self):
        return self._measure_all()

    def measure(self, input_size):
        eng = _full_engine(input_size)
        xs = _inputs(256, input_size)
        return measure(lambda i: eng.allocate(xs[i % 256]), ops=2000)


class AllocateTime:
    """asv's own timing of ``allocate`` (samples for the regression gate)."""

    rounds = TIME_ROUNDS

    params = [10, 100, 1000]
    param_names = ["input_size"]

    def setup(self, input_size):
        self.eng = _full_engine(input_size)
        self.x = _inputs(1, input_size)[0]
        self.eng.allocate(self.x)

    def time_allocate(self, input_size):
        self.eng.allocate(self.x)

    def peakmem_allocate(self, input_size):
        self.eng.allocate(self.x)


class BatchThroughput(_Metrics):
    """``allocate_batch`` calls from several threads sharing one engine."""

    params = [[100, 500, 1000], [1, 4, 8, 16]]
    param_names = ["batch", "concurrency"]

    def setup_cache(self):
        return self._measure_all()

    def measure(self, batch, concurrency):
        eng = _full_engine(100)
        X = _inputs(batch * 4, 100)
        calls = max(4, 40 // concurrency)
        return measure(lambda i: eng.allocate_batch(X[(i % 4) * batch:(i % 4 + 1) * batch]),
                       ops=calls, threads=concurrency, warmup=2, units_per_op=batch)


class ConcurrentStress(_Metrics):
    """Many threads, a fixed number of single allocations each: the latency
    distribution under contention for the engine's lock."""

    params = [8, 32]
    param_names = ["threads"]

    def setup_cache(self):
        return self._measure_all()

    def measure(self, threads):
        eng = _full_engine(100)
        xs = _inputs(512, 100)
        return measure(lambda i: eng.allocate(xs[i % 512]), ops=250, threads=threads)


class MemoryPressure:
    """Growing batches of 1000-dim inputs (8 MB to 800 MB of float64 rows)."""

    params = [1_000, 10_000, 100_000]
    param_names = ["rows"]
    timeout = 600

    def setup(self, rows):
        self.X = np.random.default_rng(2).normal(size=(rows, 1000))

    def peakmem_allocate_batch(self, rows):
        AllocationEngine(N_COLUMNS, 1000).allocate_batch(self.X)

    def track_columns_kept(self, rows):
        eng = AllocationEngine(N_COLUMNS, 1000)
        eng.allocate_batch(self.X[:2000])
        return eng.n_used

    track_columns_kept.unit = "columns"


class CompileTime:
    """Compiling the allocation kernels from an empty numba cache."""

    number = 1
    repeat = (1, 3, 120.0)
    timeout = 600

    def timeraw_compile_allocation(self):
        return compile_snippet(
            "from engine import AllocationEngine\n"
            "e = AllocationEngine(8, 4)\n"
            "e.allocate(np.ones(4)); e.allocate_batch(np.ones((3, 4))); e.scores(np.ones(4))\n"
        )
