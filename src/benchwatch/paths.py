"""Finding a project file from the working directory upwards, as git finds .git."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

CACHE_DIR_ENV = "BENCHWATCH_CACHE_DIR"


def find_upwards(relative: str | Path, start: Path | None = None) -> Path | None:
    """``relative`` in ``start`` (default: the cwd) or its nearest parent, else None.

    The path is returned relative to the cwd when it lies below it, so messages that
    name it stay short.
    """
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / relative
        if candidate.is_file():
            try:
                return candidate.relative_to(Path.cwd().resolve())
            except ValueError:
                return candidate
    return None


def cache_root() -> Path:
    """Where benchwatch keeps caches: ``$BENCHWATCH_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/benchwatch``, else ``~/.cache/benchwatch``.

    Never beside the data: a results directory may be read-only, shared, or someone
    else's checkout, and a cache must not appear in it.
    """
    explicit = os.environ.get(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "benchwatch"


def cache_key(path: Path | str) -> str:
    """A short stable name for ``path`` (its resolved absolute form) inside the cache."""
    resolved = str(Path(path).resolve())
    return hashlib.sha256(resolved.encode("utf-8", "surrogateescape")).hexdigest()[:16]
