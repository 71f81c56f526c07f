"""CSV with a header row (RFC 4180 quoting via the standard library)."""

from __future__ import annotations

import csv as _csv
import io
from typing import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    writer = _csv.writer(buf, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        # a leading = + - @ makes spreadsheets evaluate the cell: neutralise it
        writer.writerow(["'" + c if isinstance(c, str) and c[:1] in "=+-@" and not _number(c)
                         else c for c in row])
    return buf.getvalue()


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
