"""Where command output goes: stdout, or a file written atomically.

Every ``--output FILE`` in benchwatch goes through ``emit``, so a crash or a
full disk never leaves a half-written report under the final name.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .errors import UserError


def write_atomically(path: Path, text: str | bytes) -> None:
    """Write ``text`` (UTF-8) or ``bytes`` (as they are) to ``path`` via a temporary file
    in the same directory and a rename: a crash never leaves half a file under the name."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise UserError("output directory does not exist", path=str(directory))
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def emit(text: str, output: Path | None) -> None:
    """Print ``text``, or write it atomically to ``output`` when given."""
    if output is None:
        sys.stdout.write(text)
        return
    try:
        write_atomically(output, text)
    except OSError as exc:
        raise UserError(f"cannot write output: {exc.strerror}", path=str(output)) from None
