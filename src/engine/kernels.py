"""Dot-product kernels: a strict scalar baseline and a vectorised variant.

What it is for: the two reference points of the engine's SIMD story.
``dot_scalar`` accumulates strictly left to right in the input dtype, so LLVM
may not reorder it and it runs one dependent add per element. ``dot_simd`` is
the same loop compiled with ``fastmath=True``: reassociation lets LLVM's loop
vectoriser split the sum into independent vector accumulators (on AVX2 it emits
four 8-lane float32 / 4-lane float64 FMA chains, i.e. 32 or 16 independent
partial sums, folded at the end).

Why not a hand-unrolled loop with 8 scalar accumulators: it was measured and is
slower here. LLVM's SLP pass packs the 8 scalars into a *single* vector, one
dependent FMA chain, while the plain loop gets four chains. Timed inside a
compiled loop on this project's 2-core AMD EPYC box (float32, n=1024):
plain+fastmath 0.059 us, 8 accumulators 0.20 us, strict scalar 0.98 us; at
float32 n=1e6 the plain loop is on par with ``np.dot`` (146 us vs 144 us).

Call overhead. The wrappers are timed from Python at n=1024, where the kernel
itself takes 0.1-1 us, so their fast path is two type checks, one shape
comparison and the compiled call. Each dispatcher is compiled for exactly two
signatures (a contiguous float32 pair, a contiguous float64 pair) and then
closed to new compilations, so other argument types make numba raise before
running anything; the wrapper catches that and falls back to ``_as_vectors``,
which converts (strided, byte-swapped, read-only, list inputs) or raises a
``TypeError``/``ValueError`` saying what to do. So no numba error reaches a
caller, and lengths are always checked before a kernel runs. Even so, from
Python at n=1024 dot_simd is only ~1.9x faster than dot_scalar here (0.94 vs
1.77 us per call): numba's own argument unboxing, ~0.45 us, outweighs the
0.16 us SIMD kernel. Inside a compiled loop the kernels differ 5.6-6.9x.

The raw dispatchers ``_dot_scalar_f`` and ``_dot_simd_f`` are exposed (privately)
so a speed script can call them from inside its own compiled timing loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import types
from numba.core.errors import NumbaError

from . import _jit

_F64 = np.dtype(np.float64)


def _dot(a, b):
    # Accumulate in the input dtype: float32 inputs give a float32 sum, which is
    # what a "scalar float32 loop" means. Without fastmath the adds stay in
    # source order; with it LLVM vectorises the reduction.
    acc = a.dtype.type(0)
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


_SIGNATURES = (
    (types.float64[::1], types.float64[::1]),
    (types.float32[::1], types.float32[::1]),
)


def _closed(dispatcher: Any) -> Any:
    """Compile (or load from numba's disk cache) the supported signatures, then
    refuse any other: a call with other types raises ``TypeError`` at once."""
    if not hasattr(dispatcher, "disable_compile"):  # NUMBA_DISABLE_JIT=1: plain Python
        return dispatcher
    for sig in _SIGNATURES:
        dispatcher.compile(sig)
    dispatcher.disable_compile()
    return dispatcher


# One source loop, two flag variants: the only difference between the baseline
# and the SIMD kernel is whether LLVM may reassociate the sum.
_dot_scalar_f = _closed(_jit.specialise(_dot, fastmath=False, parallel=False))
_dot_simd_f = _closed(_jit.specialise(_dot, fastmath=True, parallel=False))


def _as_vector(x: Any, name: str, func: str) -> np.ndarray:
    """Convert one argument of ``func`` to a native float 1-D array or raise."""
    if isinstance(x, np.ma.MaskedArray):
        raise TypeError(
            f"{func}: {name} is a masked array; the kernels cannot skip masked "
            f"elements, pass {name}.filled(0.0) to drop them"
        )
    if not isinstance(x, np.ndarray):
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{func}: could not turn {name} into an array ({exc}); "
                "pass a 1-D float32 or float64 numpy array"
            ) from None
        if arr.dtype != _F64:
            raise TypeError(
                f"{func}: {name} became a {arr.dtype} array; non-array inputs are "
                f"accepted only if they convert to float64, so pass "
                f"np.asarray({name}, dtype=np.float64)"
            )
    else:
        arr = np.asarray(x)  # subclasses such as np.memmap become plain arrays
    dt = arr.dtype
    if dt.kind != "f" or dt.itemsize not in (4, 8):
        raise TypeError(
            f"{func}: {name} has dtype {dt}; only float32 and float64 are supported, "
            f"cast with {name}.astype(np.float64) (or np.float32)"
        )
    if arr.ndim != 1:
        raise ValueError(
            f"{func}: {name} must be 1-D, got shape {arr.shape}; "
            f"flatten it with {name}.ravel() if that is what you mean"
        )
    if not dt.isnative:
        arr = arr.astype(dt.newbyteorder("="))
    if not (arr.flags.c_contiguous and arr.flags.writeable and arr.flags.aligned):
        # The kernels are compiled for contiguous, writeable, aligned arrays only
        # (numba types read-only and unaligned arrays separately).
        arr = np.array(arr, order="C")
    return arr


def _as_vectors(a: Any, b: Any, func: str) -> tuple[np.ndarray, np.ndarray]:
    a = _as_vector(a, "a", func)
    b = _as_vector(b, "b", func)
    if a.dtype != b.dtype:
        raise TypeError(
            f"{func}: a is {a.dtype} but b is {b.dtype}; mixed precision is not "
            f"promoted silently, cast one of them, e.g. b.astype(np.{a.dtype})"
        )
    if a.shape[0] != b.shape[0]:
        raise ValueError(
            f"{func}: a has {a.shape[0]} elements but b has {b.shape[0]}; "
            "a dot product needs vectors of the same length"
        )
    return a, b


def dot_scalar(a: np.ndarray, b: np.ndarray) -> float:
    """Dot product with a strict sequential loop, accumulating in the input dtype.

    The scalar baseline: no fastmath, so the additions happen in index order and
    the result is reproducible bit for bit. ``a`` and ``b`` are 1-D float32 or
    float64 arrays of equal length and dtype (lists are accepted when they
    convert to float64). Empty inputs give ``0.0``.
    """
    if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape:
        try:
            return _dot_scalar_f(a, b)
        except (TypeError, NumbaError):  # not one of the compiled signatures
            pass
    a, b = _as_vectors(a, b, "dot_scalar")
    return _dot_scalar_f(a, b)


def dot_simd(a: np.ndarray, b: np.ndarray) -> float:
    """Vectorised dot product (fastmath, several independent SIMD accumulators).

    Same inputs and validation as :func:`dot_scalar`. The summation order is
    LLVM's choice, so the result may differ from ``dot_scalar`` in the last bits
    (within about ``n * eps * sum(|a_i * b_i|)``). NaN and inf propagate as in
    ordinary arithmetic on x86-64, though fastmath formally allows the compiler
    to assume they are absent.
    """
    if type(a) is np.ndarray and type(b) is np.ndarray and a.shape == b.shape:
        try:
            return _dot_simd_f(a, b)
        except (TypeError, NumbaError):  # not one of the compiled signatures
            pass
    a, b = _as_vectors(a, b, "dot_simd")
    return _dot_simd_f(a, b)
