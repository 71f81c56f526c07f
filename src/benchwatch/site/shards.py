"""Chart data: one JSON file per benchmark, fetched by the browser when its page opens.

A single data file (github-action-benchmark's ``data.js``) grows with every commit
and every page pays for all of it. Here ``data/benchmarks/<id>.json`` holds one
benchmark's series only; ``<id>`` is a hash of the name, so any name (even one with
``/`` or ``<``) is a safe file name. The browser reads the shard with ``fetch`` and
``JSON.parse`` and shows names with ``textContent``: a name is never markup.

Shard fields (``site/site-builder.md`` has the table): ``benchmark``, ``unit``,
``commit_url`` and ``series``, each with ``label``, ``params``, ``machine``, ``env``,
``version``, ``unit``, ``higher_is_better``, ``x`` (position in the global commit
order), ``commits``, ``dates`` (ms), ``y``, ``lo``/``hi`` (asv's 99 % CI), ``changes``,
``sla`` and ``samples`` (the newest commit's raw samples, or null).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

SHARD_DIR = "data/benchmarks"


def shard_id(benchmark: str) -> str:
    """A file-name-safe, stable id of a benchmark name."""
    return hashlib.sha256(benchmark.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def shard_path(benchmark: str) -> str:
    """The shard's path relative to the site root."""
    return f"{SHARD_DIR}/{shard_id(benchmark)}.json"


def _num(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def series_label(s) -> str:
    """``params · machine · env`` of a series (plus the benchmark version when set)."""
    parts = [", ".join(s.params)] if s.params else []
    parts += [s.machine, s.env]
    if s.version:
        parts.append(f"version {s.version[:12]}")
    return " · ".join(parts)


def series_data(s, rank: dict[str, int], changes: Sequence[Any],
                sla: Sequence[tuple[str, float]]) -> dict[str, Any]:
    """One series as the chart script draws it."""
    rows = list(s.rows)  # built once: loaded rows are built on each access
    pos = {r.commit: i for i, r in enumerate(rows)}
    lo, hi = [], []
    for r in rows:
        ci = r.ci_99 if r.ok else None
        lo.append(_num(ci[0]) if ci else None)
        hi.append(_num(ci[1]) if ci else None)
    latest = next((r for r in reversed(rows) if r.ok), None)
    return {
        "label": series_label(s), "params": list(s.params), "machine": s.machine,
        "env": s.env, "version": s.version, "unit": s.unit,
        "higher_is_better": s.higher_is_better,
        "x": [rank[r.commit] for r in rows],
        "commits": [r.commit for r in rows],
        "dates": [r.date for r in rows],
        "y": [r.value if r.ok else None for r in rows],
        "lo": lo, "hi": hi,
        "changes": [{"i": pos[c.commit], "commit": c.commit,
                     "previous_commit": c.previous_commit, "direction": c.direction,
                     "change_pct": _num(c.change_pct), "provisional": c.provisional}
                    for c in changes if c.commit in pos],
        "sla": [{"label": label, "value": value} for label, value in sla],
        "samples": list(latest.samples) if latest is not None and latest.samples else None,
        "samples_commit": latest.commit if latest is not None and latest.samples else None,
    }


def benchmark_shard(benchmark: str, series: Sequence[Any], rank: dict[str, int],
                    changes_of, sla_of, commit_url: str | None) -> dict[str, Any]:
    """The shard of one benchmark; ``changes_of(s)``/``sla_of(s)`` give a series' extras."""
    unit = next((s.unit for s in series if s.unit), None)
    return {"benchmark": benchmark, "unit": unit, "commit_url": commit_url,
            "series": [series_data(s, rank, changes_of(s), sla_of(s)) for s in series]}
