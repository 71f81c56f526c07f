"""GitHub-flavoured markdown: escaping and tables."""

from __future__ import annotations

import re
from typing import Sequence

# Characters with meaning in GitHub markdown (inline or table), plus HTML's.
_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&\"'=:@$])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def escape(text: object) -> str:
    """Text safe to place in a markdown paragraph or table cell.

    Every markdown/HTML special character gets a backslash (``<`` and ``>`` become
    entities, which GitHub never turns into tags), newlines and other control and
    bidirectional-override characters become spaces, so a name cannot break out of
    its table cell, open a tag, start a link, mention a user or reorder the line.
    """
    return _SPECIAL.sub(_escape_one, _CONTROL.sub(" ", str(text)))


_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}


def _escape_one(m: re.Match) -> str:
    # one pass: a backslash before '<' must not pair with the entity's own escaping
    c = m.group()
    return _ENTITIES.get(c) or "\\" + c


def table(headers: Sequence[str], rows: Sequence[Sequence[object]],
          align: str | None = None) -> str:
    """A markdown table. Cells are used as given: escape untrusted text first.

    ``align`` is one character per column: ``l``, ``r`` or ``c``.
    """
    align = align or "l" * len(headers)
    marks = {"l": ":---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join(marks[a] for a in align) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def details(summary: str, body: str) -> str:
    """A folded ``<details>`` block (summary is escaped)."""
    return f"<details><summary>{escape(summary)}</summary>\n\n{body}\n</details>\n"
