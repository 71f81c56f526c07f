"""The one exception type that carries a user-facing message.

Commands raise ``UserError`` with an actionable sentence; ``benchwatch.cli`` turns
it into one line on stderr and exit code 2. Anything else is a bug and keeps its
traceback only under ``--debug``.
"""

from __future__ import annotations


class UserError(Exception):
    """A usage, config or data error the user can fix; exit code 2."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
