"""SIMD family: the scalar and vectorised dot products side by side."""

import numba
import numpy as np

from engine import kernels

from ._measure import TIME_ROUNDS

SIZES = [64, 128, 256, 512, 1024]


def _pair(n: int):
    rng = np.random.default_rng(n)
    return rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)


class DotProduct:
    """asv's timing of each kernel, called from Python."""

    rounds = TIME_ROUNDS

    params = SIZES
    param_names = ["size"]

    def setup(self, size):
        self.a, self.b = _pair(size)
        kernels.dot_scalar(self.a, self.b)
        kernels.dot_simd(self.a, self.b)

    def time_dot_scalar(self, size):
        kernels.dot_scalar(self.a, self.b)

    def time_dot_simd(self, size):
        kernels.dot_simd(self.a, self.b)


class DotSpeedup:
    """The kernel-level speed-up, timed inside a compiled loop so that it
    measures the kernels rather than numba's call overhead (which dominates at
    these sizes), and whether both kernels agree with a float64 reference."""

    params = SIZES
    param_names = ["size"]
    timeout = 300

    def setup_cache(self):
        scalar_k, simd_k = kernels._dot_scalar_f, kernels._dot_simd_f

        @numba.njit
        def loop_scalar(a, b, reps):
            acc = 0.0
            for _ in range(reps):
                acc += scalar_k(a, b)
            return acc

        @numba.njit
        def loop_simd(a, b, reps):
            acc = 0.0
            for _ in range(reps):
                acc += simd_k(a, b)
            return acc

        import time

        out = {}
        for size in SIZES:
            a, b = _pair(size)
            reps = max(1, 2_000_000 // size)
            loop_scalar(a, b, 1)
            loop_simd(a, b, 1)
            ts, tv = [], []
            for _ in range(7):
                t0 = time.perf_counter()
                loop_scalar(a, b, reps)
                t1 = time.perf_counter()
                loop_simd(a, b, reps)
                ts.append(t1 - t0)
                tv.append(time.perf_counter() - t1)
            exact = float(np.dot(a.astype(np.float64), b.astype(np.float64)))
            tol = 1e-5 * float(np.abs(a.astype(np.float64) * b).sum()) + 1e-12
            match = (abs(kernels.dot_scalar(a, b) - exact) <= tol
                     and abs(kernels.dot_simd(a, b) - exact) <= tol)
            out[size] = {"speedup": float(np.median(ts) / np.median(tv)), "match": float(match)}
        return out

    def track_speedup(self, cache, size):
        return cache[size]["speedup"]

    track_speedup.unit = "x"

    def track_results_match(self, cache, size):
        """1 when both kernels agree with a float64 reference within float tolerance."""
        return cache[size]["match"]

    track_results_match.unit = "bool"
