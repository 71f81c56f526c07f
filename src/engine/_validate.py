"""Argument checks shared by every public wrapper of the engine.

One place for the messages users see when they pass the wrong kind of thing,
so the wording is the same everywhere and says what to pass instead. Shape and
length checks stay with each wrapper: only it knows what shape it needs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_F64 = np.dtype(np.float64)


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int, or ``TypeError``/``ValueError`` naming ``name``.

    Bools are refused even though they are ints: ``n_columns=True`` is a bug.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def as_real_array(value: Any, name: str, func: str | None = None) -> np.ndarray:
    """``value`` as a float64 ndarray of real numbers, or ``TypeError``.

    Integers and float32 convert exactly. Masked, complex, boolean, string and
    object input is refused with advice, rather than silently coerced.
    ``func`` (the public function's name) prefixes the message when given.
    """
    where = f"{func}: " if func else ""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{where}{name} is a masked array; the engine cannot skip masked values, "
            f"pass {name}.filled(0.0) or drop those entries"
        )
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged lists and the like
        raise TypeError(
            f"{where}could not turn {name} into a numeric array ({exc}); "
            "pass a numpy array of real numbers"
        ) from None
    dt = arr.dtype
    if dt.kind in "fiu":
        return arr if dt == _F64 else arr.astype(np.float64)
    if dt.kind == "c":
        raise TypeError(
            f"{where}{name} is complex ({dt}); the engine works on real vectors, "
            f"pass {name}.real or np.abs({name}) explicitly"
        )
    raise TypeError(
        f"{where}{name} has dtype {dt}, which is not numeric; "
        "pass an integer or floating-point array"
    )


def as_dtype_array(value: Any, name: str, dtype: np.dtype, func: str | None = None) -> np.ndarray:
    """``as_real_array`` cast to the engine's ``dtype``, refusing finite values the cast
    would turn into infinity (float64 beyond float32's range, about 3.4e38) with a
    ``ValueError`` instead of numpy's overflow warning and a silent inf."""
    arr = as_real_array(value, name, func)
    dtype = np.dtype(dtype)
    if arr.dtype == dtype:
        return arr
    with np.errstate(over="ignore"):
        out = arr.astype(dtype, copy=False)
    if dtype.kind == "f" and np.isinf(out).any() and (np.isinf(out) & np.isfinite(arr)).any():
        where = f"{func}: " if func else ""
        raise ValueError(f"{where}{name} has values beyond {dtype.name}'s range "
                         f"(+-{np.finfo(dtype).max:.3g}); scale them down or use "
                         "ENGINE_DTYPE=float64")
    return out
