"""Plain-text tables for terminals."""

from __future__ import annotations

import re
from typing import Sequence

# C0/C1 controls (a newline, ESC starting a terminal sequence) and bidi overrides: from
# a benchmark name they would break the row, recolour or retitle the terminal, or start
# a GitHub Actions "::command::" line in a CI log; they are shown escaped instead.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """``text`` with control and bidi characters written as escapes (``\\u202e``)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          align: str | None = None) -> str:
    """Columns padded to their widest cell; ``align`` is ``l``/``r`` per column.

    Control and bidi characters in cells are printed escaped (``\\n``, ``\\x1b``)."""
    cells = [[str(h) for h in headers]] + [[visible(str(c)) for c in row] for row in rows]
    align = align or "l" * len(headers)
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "  ".join(c.rjust(w) if a == "r" else c.ljust(w)
                         for c, w, a in zip(row, widths, align)).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out) + "\n"
