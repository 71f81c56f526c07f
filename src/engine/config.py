"""Engine configuration: the knobs that configuration-impact analysis varies.

One frozen dataclass, read from ``ENGINE_*`` environment variables so that asv's
environment matrix can set it per run. This module only describes a
configuration; choosing compiled kernels for it is ``engine._jit``'s job.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal, Mapping

import numpy as np

ENV_PREFIX = "ENGINE_"

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_DTYPES = ("float32", "float64")

DType = Literal["float32", "float64"]


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off"
    )


def _parse_threads(name: str, raw: str) -> int | None:
    value = raw.strip().lower()
    if value in ("", "none", "auto", "0"):
        return None
    try:
        n = int(value)
    except ValueError:
        raise ValueError(
            f"{name}={raw!r} is not a thread count; use a positive integer or 'auto'"
        ) from None
    if n < 1:
        raise ValueError(f"{name}={raw!r} must be a positive integer or 'auto'")
    return n


@dataclass(frozen=True)
class EngineConfig:
    """Compilation and numeric settings shared by every engine component.

    ``fastmath`` lets LLVM reassociate floating-point sums (faster, and results may
    differ in the last bits). ``parallel`` compiles ``prange`` loops as parallel
    loops. ``num_threads`` caps numba's worker threads for parallel kernels
    (``None`` keeps numba's default). ``dtype`` is the floating type of weights,
    prototypes and embeddings; float32 by default because the engine's hot loops
    are bound by memory traffic (1024 prototypes of dim 1000 are 4 MB in
    float32, 8 MB in float64) and no kernel needs more than float32's precision.
    """

    fastmath: bool = False
    parallel: bool = True
    num_threads: int | None = None
    dtype: DType = "float32"

    def __post_init__(self) -> None:
        if not isinstance(self.fastmath, bool):
            raise TypeError(f"fastmath must be a bool, got {type(self.fastmath).__name__}")
        if not isinstance(self.parallel, bool):
            raise TypeError(f"parallel must be a bool, got {type(self.parallel).__name__}")
        if self.num_threads is not None:
            if isinstance(self.num_threads, bool) or not isinstance(self.num_threads, int):
                raise TypeError(
                    f"num_threads must be an int or None, got {type(self.num_threads).__name__}"
                )
            if self.num_threads < 1:
                raise ValueError(f"num_threads must be >= 1, got {self.num_threads}")
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    @property
    def np_dtype(self) -> np.dtype:
        """The numpy dtype for ``dtype``."""
        return np.dtype(self.dtype)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "EngineConfig":
        """Build a config from ``ENGINE_FASTMATH``, ``ENGINE_PARALLEL``,
        ``ENGINE_NUM_THREADS`` and ``ENGINE_DTYPE``.

        Unset variables keep the defaults. A bad value raises ``ValueError`` naming
        the variable, so a mistyped asv matrix entry fails loudly instead of
        silently benchmarking the default configuration.
        """
        env = os.environ if environ is None else environ
        kwargs: dict[str, object] = {}
        name = ENV_PREFIX + "FASTMATH"
        if name in env:
            kwargs["fastmath"] = _parse_bool(name, env[name])
        name = ENV_PREFIX + "PARALLEL"
        if name in env:
            kwargs["parallel"] = _parse_bool(name, env[name])
        name = ENV_PREFIX + "NUM_THREADS"
        if name in env:
            kwargs["num_threads"] = _parse_threads(name, env[name])
        name = ENV_PREFIX + "DTYPE"
        if name in env:
            raw = env[name].strip().lower()
            if raw not in _DTYPES:
                raise ValueError(f"{name}={env[name]!r} must be 'float32' or 'float64'")
            kwargs["dtype"] = raw
        return cls(**kwargs)  # type: ignore[arg-type]


def resolve(config: EngineConfig | None) -> EngineConfig:
    """Return ``config``, or the environment's config when it is ``None``.

    Public constructors take ``config=None`` meaning "whatever the environment
    says", which is what asv's matrix relies on.
    """
    if config is None:
        return EngineConfig.from_env()
    if not isinstance(config, EngineConfig):
        raise TypeError(f"config must be an EngineConfig or None, got {type(config).__name__}")
    return config
