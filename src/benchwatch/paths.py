"""Finding a project file from the working directory upwards, as git finds .git."""

from __future__ import annotations

from pathlib import Path


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
