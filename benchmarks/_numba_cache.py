"""A numba cache directory keyed by the engine's whole source, for benchmark runs.

numba 0.68 checks a cached kernel against a hash of the kernel's *own* source file
only. A kernel that inlines an ``@njit`` callee from another module keeps its cached
machine code when only the callee changes. In asv that is a wrong measurement, not a
slow one: asv reinstalls the engine commit after commit into one environment, pip
leaves numba's ``__pycache__/*.nbi``/``*.nbc`` files behind, and the next commit
would be timed with the previous commit's code.

So benchmark runs put numba's cache in ``<env>/numba-cache/engine-<hash>``, where the
hash covers every source file of the installed ``engine`` package. Any engine change
gets a fresh, empty cache; the same sources (a commit reinstalled at every
interleaved round, or two commits that did not touch the engine) share compiled
code. This module must not import numba: the variable has to be set before numba
reads it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from pathlib import Path


def source_digest(root: Path) -> str:
    """sha256 over the relative paths and bytes of every ``.py`` file under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*.py") if "__pycache__" not in p.parts):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def cache_dir(package: str = "engine", base: Path | None = None) -> Path | None:
    """Where numba should cache ``package``'s kernels, or None if it is not installed."""
    spec = importlib.util.find_spec(package)  # locates, does not import the package
    if spec is None or spec.origin is None:
        return None
    root = Path(spec.origin).parent
    base = Path(sys.prefix) / "numba-cache" if base is None else base
    return base / f"{package}-{source_digest(root)[:16]}"


def use_keyed_cache() -> None:
    """Point ``NUMBA_CACHE_DIR`` at the keyed directory unless the user set one."""
    if "NUMBA_CACHE_DIR" in os.environ or "numba" in sys.modules:
        return
    where = cache_dir()
    if where is not None:
        os.environ["NUMBA_CACHE_DIR"] = str(where)
