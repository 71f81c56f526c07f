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

What it must not do: be clever with the public wrappers' fast path. They are
timed from Python at n=1024, so the common case (two contiguous, native,
same-dtype float32/float64 1-D arrays) costs a few attribute checks before the
compiled call; every other input goes through ``_as_vectors`` which converts or
raises a ``TypeError``/``ValueError`` saying what to do. No numba typing error
can reach a caller, because only arrays of the two supported dtypes are ever
passed to the kernels.

The raw dispatchers ``_dot_scalar_f`` and ``_dot_simd_f`` are exposed (privately)
so a speed script can call them from inside its own compiled timing loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _jit

_F32 = np.dtype(np.float32)
_F64 = np.dtype(np.float64)


def _dot(a, b):
    # Accumulate in the input dtype: float32 inputs give a float32 sum, which is
    # what a "scalar float32 loop" means. Without fastmath the adds stay in
    # source order; with it LLVM vectorises the reduction.
    acc = a.dtype.type(0)
    for i in range(a.shape[0]):
        acc += a[i] * b[i]
    return acc


# One source loop, two flag variants: the only difference between the baseline
# and the SIMD kernel is whether LLVM may reassociate the sum.
_dot_scalar_f = _jit.specialise(_dot, fastmath=False, parallel=False)
_dot_simd_f = _jit.specialise(_dot, fastmath=True, parallel=False)


def _as_vector(x: Any, name: str, func: str) -> np.ndarray:
    """Convert one argument of ``func`` to a native float 1-D array or raise."""
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
        arr = x
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
    # A strided view would make numba compile and run a slower 'A'-layout loop.
    return np.ascontiguousarray(arr)


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
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 1 and b.ndim == 1:
        dt = a.dtype
        if (
            dt is b.dtype
            and (dt is _F64 or dt is _F32)
            and a.shape[0] == b.shape[0]
            and a.flags.c_contiguous
            and b.flags.c_contiguous
        ):
            return _dot_scalar_f(a, b)
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
    if type(a) is np.ndarray and type(b) is np.ndarray and a.ndim == 1 and b.ndim == 1:
        dt = a.dtype
        if (
            dt is b.dtype
            and (dt is _F64 or dt is _F32)
            and a.shape[0] == b.shape[0]
            and a.flags.c_contiguous
            and b.flags.c_contiguous
        ):
            return _dot_simd_f(a, b)
    a, b = _as_vectors(a, b, "dot_simd")
    return _dot_simd_f(a, b)
