"""Compile one kernel per configuration variant, once per process.

Kernels are written once as plain Python functions. ``specialise`` turns a kernel
into a numba dispatcher for a given (fastmath, parallel) pair and memoises it, so
public objects pick their compiled kernels when they are constructed and never
re-jit on a call.

Why copy the function: numba's on-disk cache names its files after the function's
qualified name and line, and its index does not key on compile flags, so two
dispatchers of the *same* function with different ``fastmath`` would load each
other's machine code. Each variant therefore gets its own qualname, and with it
its own cache file.
"""

from __future__ import annotations

import os
import threading
import types
from typing import Any, Callable

# libgomp (numba's "omp" threading layer) spin-waits between parallel regions by
# default. On a shared or oversubscribed machine that spinning steals the very
# cores the kernels need: top-10 over 100k x 128 measured 24 ms with spinning vs
# 4 ms passive on this project's 2-core box, and allocate interleaved with NumPy
# (whose OpenBLAS threads spin too) went from ~0.1 ms to ~4 ms. libgomp reads
# this once, when numba starts its thread pool, so it is set here, before any
# engine kernel can run; an explicit user setting always wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
import numpy as np  # noqa: E402

from .config import EngineConfig  # noqa: E402

_lock = threading.Lock()
_variants: dict[tuple[Any, bool, bool], Any] = {}


def specialise(pyfunc: Callable[..., Any], *, fastmath: bool, parallel: bool) -> Any:
    """Return the compiled dispatcher of ``pyfunc`` for these flags.

    Every variant is ``nogil`` and disk-cached, so the GIL is released during
    kernels and a second process skips compilation.
    """
    key = (pyfunc, bool(fastmath), bool(parallel))
    disp = _variants.get(key)
    if disp is not None:
        return disp
    with _lock:
        disp = _variants.get(key)
        if disp is None:
            clone = types.FunctionType(
                pyfunc.__code__,
                pyfunc.__globals__,
                pyfunc.__name__,
                pyfunc.__defaults__,
                pyfunc.__closure__,
            )
            clone.__qualname__ = f"{pyfunc.__qualname__}__fm{int(fastmath)}_par{int(parallel)}"
            clone.__module__ = pyfunc.__module__
            clone.__doc__ = pyfunc.__doc__
            disp = numba.njit(cache=True, nogil=True, fastmath=fastmath, parallel=parallel)(clone)
            _variants[key] = disp
    return disp


def for_config(pyfunc: Callable[..., Any], config: EngineConfig, *, parallel: bool | None = None) -> Any:
    """``specialise`` with the flags of ``config``.

    ``parallel`` overrides the config for kernels that must stay serial (for
    example, an update whose order matters).
    """
    par = config.parallel if parallel is None else parallel
    return specialise(pyfunc, fastmath=config.fastmath, parallel=par)


# numba's "workqueue" threading layer aborts the process if two threads launch
# parallel regions at once; "omp" and "tbb" do not. The layer is only chosen at
# the first parallel launch, so the first check runs a tiny probe kernel (under
# the lock) to find out, and the answer is kept for the life of the process.
_LAUNCH_LOCK = threading.Lock()
_layer_is_threadsafe: bool | None = None


def _pool_probe(out):
    for i in numba.prange(out.shape[0]):
        out[i] = i


def _launch_needs_lock() -> bool:
    global _layer_is_threadsafe
    if numba.config.DISABLE_JIT:  # plain Python: no thread pool at all
        return False
    if _layer_is_threadsafe is None:
        with _LAUNCH_LOCK:
            if _layer_is_threadsafe is None:
                probe = specialise(_pool_probe, fastmath=False, parallel=True)
                probe(np.empty(2, dtype=np.int64))
                _layer_is_threadsafe = numba.threading_layer() != "workqueue"
    return not _layer_is_threadsafe


def launch(kernel: Any, config: EngineConfig, *args: Any) -> Any:
    """Call a parallel ``kernel``: set the thread count, and serialise launches
    when numba's threading layer cannot take two at once.

    Every public wrapper that runs a ``prange`` kernel goes through here, so the
    engine is thread-safe whichever threading layer numba picked.
    """
    apply_threads(config)
    if _launch_needs_lock():
        with _LAUNCH_LOCK:
            return kernel(*args)
    return kernel(*args)


def apply_threads(config: EngineConfig) -> None:
    """Set numba's thread count for the calling thread from ``config``.

    numba keeps the count per calling thread, so this is done right before each
    parallel kernel call. Requests above the pool size are capped at it.
    """
    if config.parallel and config.num_threads is not None:
        numba.set_num_threads(min(config.num_threads, numba.config.NUMBA_NUM_THREADS))
