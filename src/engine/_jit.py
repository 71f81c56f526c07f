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

import threading
import types
from typing import Any, Callable

import numba

from .config import EngineConfig

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


def apply_threads(config: EngineConfig) -> None:
    """Set numba's thread count for the calling thread from ``config``.

    numba keeps the count per calling thread, so this is done right before each
    parallel kernel call. Requests above the pool size are capped at it.
    """
    if config.parallel and config.num_threads is not None:
        numba.set_num_threads(min(config.num_threads, numba.config.NUMBA_NUM_THREADS))
