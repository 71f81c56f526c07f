"""Standalone HTML tables (jinja2 with autoescaping on).

Every value is also passed through ``text.visible``: a right-to-left override or other
control character in a benchmark name is shown as its escape, so it cannot reorder
what a reader sees (``exe.tset_emit`` displayed for another name) in the table."""

from __future__ import annotations

from typing import Any, Sequence

import jinja2
from markupsafe import Markup

from .text import visible


def finalize(value: Any) -> Any:
    """jinja2's ``finalize`` for HTML: plain strings shown with ``visible``; markup the
    template marked safe is left alone (autoescaping still escapes the rest)."""
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


_ENV = jinja2.Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True,
                          finalize=finalize)
_TABLE = _ENV.from_string("""\
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}
td.r{text-align:right}</style></head>
<body><h1>{{ title }}</h1>
{% if summary %}<p>{{ summary }}</p>{% endif %}
<table><thead><tr>{% for h in headers %}<th>{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in rows %}<tr>{% for c in row %}<td{% if align[loop.index0] == 'r' %} class="r"{% endif %}>{{ c }}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table></body></html>
""")


def page(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]],
         summary: str = "", align: str | None = None) -> str:
    """A complete HTML page with one table; every cell is escaped."""
    return _TABLE.render(title=title, headers=headers, rows=rows, summary=summary,
                         align=align or "l" * len(headers))
