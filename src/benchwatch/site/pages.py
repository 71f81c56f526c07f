"""Analysis objects -> the data of each generated page, downloads and the metrics file.

Every string that came from results, reports or configs (benchmark names, params,
machines, units, notes) leaves this module escaped for markdown
(``render.markdown.escape``) or as plain data for JSON, CSV and the jinja2 HTML
templates (which autoescape). Links are built here from percent-encoded parts and
marked safe (``Markup``) so the markdown templates pass them through unchanged.
It computes no statistics: change points, trends and calibration come in finished.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from markupsafe import Markup

from ..render import markdown as md
from ..report import fmt_p, fmt_pct, fmt_value

#: Methods the dashboard charts pick (the names ``benchwatch.run.CRITERIA`` checks).
P99_METHOD = "track_latency_p99_ns"
THROUGHPUT_METHOD = "track_throughput_ops_s"
CPU_METHOD = "track_cpu_percent"
MEMORY_PREFIXES = ("peakmem_", "mem_")
LATEST_CHANGES = 10
_RESERVED_STEMS = {"index", "readme"}


# --------------------------------------------------------------------------- naming


def page_stem(benchmark: str) -> str:
    """Where a benchmark's page lives under ``benchmarks/`` (without ``.md``).

    The name itself, so ``<site>/benchmarks/<percent-encoded name>/`` (the PR comment's
    link, ``report.benchmark_url``) is the page. Names a file system or mkdocs cannot
    hold as one path segment (``/``, a leading dot, control characters, ``index``,
    over 200 bytes) live at ``_/<hash>`` instead.
    """
    from .shards import shard_id

    if (not benchmark or "/" in benchmark or "\\" in benchmark or benchmark.startswith(".")
            or any(ord(ch) < 32 or ord(ch) == 127 for ch in benchmark)
            or benchmark.lower() in _RESERVED_STEMS
            or len(benchmark.encode("utf-8", "surrogatepass")) > 200):
        return f"_/{shard_id(benchmark)}"
    return benchmark


def page_link(benchmark: str, from_dir: str = "") -> str:
    """A markdown link target (the ``.md`` source path) to a benchmark's page."""
    rel = "benchmarks/" + page_stem(benchmark) + ".md"
    if from_dir == "benchmarks":
        rel = rel[len("benchmarks/"):]
    return quote(rel, safe="/")


def link(label_text: str, target: str) -> Markup:
    """``[escaped text](target)``: ``target`` must already be percent-encoded."""
    return Markup(f"[{text(label_text)}]({target})")


# ``render.markdown.escape`` is written for GitHub, where every ASCII punctuation
# character may be backslash-escaped. Python-Markdown (mkdocs) only knows a fixed set;
# before the others (~ " ' = : @ $) the backslash would show. They have no meaning in
# this site's markdown, so their backslash is dropped.
_NOT_ESCAPABLE = re.compile(r"\\([~\"'=:@$])")


def text(v: Any) -> str:
    """Untrusted text, safe and rendered verbatim in the site's markdown."""
    return _NOT_ESCAPABLE.sub(r"\1", md.escape("" if v is None else v))


def esc(v: Any) -> Markup:
    """A markdown-safe cell: ``Markup`` passes, anything else is escaped."""
    return v if isinstance(v, Markup) else Markup(text(v))


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str) -> Markup:
    return Markup(md.table(headers, [[esc(c) for c in r] for r in rows], align))


def label(benchmark: str, params: Sequence[str]) -> str:
    return f"{benchmark}({', '.join(params)})" if params else benchmark


def day(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d")


def method(benchmark: str) -> str:
    return benchmark.rpartition(".")[2]


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class Context:
    """Everything the pages are made of."""

    series: tuple  # history.Series, sorted
    order: tuple[str, ...]  # every commit, oldest first
    dates: dict[str, int | None]  # commit -> date (ms)
    changes: tuple  # changes.ChangePoint, newest first
    trends: tuple  # trends.Trend
    calibration: tuple  # calibrate.Calibration
    reports: tuple  # (file name, report.Report)
    annotations: tuple  # annotations.Annotation
    repo_url: str | None  # for compare/a...b links
    commit_url: str | None  # asv's show_commit_url
    asv_published: bool
    sla: dict  # series key -> ((label, limit), ...)
    trend_days: int = 30
    runs: tuple = ()  # results.Run, one per result file
    experiments: tuple = ()  # (file name, abtest/configs/recommend JSON document)

    def series_key(self, s) -> tuple:
        return (s.benchmark, s.params, s.machine, s.env, s.version)

    def benchmarks(self) -> list[str]:
        return sorted({s.benchmark for s in self.series})


def compare_url(repo_url: str | None, a: str, b: str) -> str | None:
    if not repo_url:
        return None
    return f"{repo_url.rstrip('/')}/compare/{quote(a, safe='')}...{quote(b, safe='')}"


def status_of(change, annotations, newest_of_series: bool) -> str:
    """open | acknowledged | expected | reverted | improvement (for the tables)."""
    from .annotations import find

    if change.direction != "regression":
        return "improvement"
    note = find(annotations, change)
    if note is not None:
        return note.status
    return "open" if newest_of_series else "superseded"


def newest_change_ids(changes) -> set[int]:
    """ids of each series' newest change point (a later one supersedes a regression)."""
    seen: set[tuple] = set()
    out: set[int] = set()
    for c in changes:  # newest first
        key = (c.benchmark, c.params, c.machine, c.env, c.version)
        if key not in seen:
            seen.add(key)
            out.add(id(c))
    return out


def change_rows(ctx: Context, changes, from_dir: str = "") -> list[dict[str, Any]]:
    """One dict per change point for the regressions and benchmark pages: plain strings
    (the templates and ``md_table`` escape them) and ``Markup`` links."""
    from .annotations import find

    newest = newest_change_ids(ctx.changes)
    out = []
    for c in changes:
        status = status_of(c, ctx.annotations, id(c) in newest)
        note = find(ctx.annotations, c)
        url = compare_url(ctx.repo_url, c.previous_commit, c.commit)
        span = f"{c.previous_commit[:8]}...{c.commit[:8]}"
        out.append({
            "date": day(c.date),
            "benchmark": link(c.label(), page_link(c.benchmark, from_dir)),
            "series": ", ".join(c.params) or "-",
            "machine": c.machine,
            "commits": Markup(f"[{span}]({url})") if url else span,
            "before": fmt_value(c.before, c.unit),
            "after": fmt_value(c.after, c.unit),
            "change": fmt_pct(c.change_pct),
            "p": fmt_p(c.p_value),
            "direction": c.direction + (" (provisional)" if c.provisional else ""),
            "status": status + (f": {note.note}" if note and note.note else ""),
            "raw_status": status,
        })
    return out


# --------------------------------------------------------------------------- dashboard


def latest_value(s) -> float | None:
    for r in reversed(s.rows):
        if r.ok:
            return r.value
    return None


def _many_machines(ctx: Context) -> bool:
    return len({s.machine for s in ctx.series}) > 1


def bars(ctx: Context, pick) -> dict[str, Any]:
    """Latest value of each series ``pick`` selects: labels, values, unit."""
    chosen = [s for s in ctx.series if pick(s)]
    many = _many_machines(ctx)
    items = []
    for s in chosen:
        v = latest_value(s)
        if v is None:
            continue
        name = label(s.benchmark.rpartition(".")[0] or s.benchmark, s.params)
        items.append((name + (f" @ {s.machine}" if many else ""), v))
    return {"labels": [n for n, _ in items], "values": [v for _, v in items],
            "unit": next((s.unit for s in chosen if s.unit), None)}


def performance_index(ctx: Context) -> dict[str, Any]:
    """Per commit, the geometric mean over series of value / the series' median, turned
    so that above 1 is worse (throughput inverted). 1.0 is every series' typical level."""
    import numpy as np

    rank = {c: i for i, c in enumerate(ctx.order)}
    n = len(ctx.order)
    log_sum = np.zeros(n)
    count = np.zeros(n)
    for s in ctx.series:
        v = s.values()
        ok = np.isfinite(v) & (v > 0)
        if ok.sum() < 2:
            continue
        lv = np.log(v[ok])
        lv = lv - np.median(lv)
        if s.higher_is_better:
            lv = -lv
        idx = np.array([rank[c] for c, k in zip(s.commits, ok) if k])
        np.add.at(log_sum, idx, lv)
        np.add.at(count, idx, 1)
    keep = count > 0
    y = np.exp(log_sum[keep] / count[keep])
    commits = [c for c, k in zip(ctx.order, keep) if k]
    return {"x": [int(i) for i in np.flatnonzero(keep)], "commits": commits,
            "dates": [ctx.dates.get(c) for c in commits],
            "y": [round(float(v), 6) for v in y], "series": int(len(ctx.series))}


def heatmap(ctx: Context) -> dict[str, Any]:
    """Rows: benchmark class (params, machine); columns CPU %, peak memory, throughput.
    Each cell carries its value text and a 0..1 intensity relative to its column."""
    cols = (("CPU", lambda m: m == CPU_METHOD),
            ("memory", lambda m: m.startswith(MEMORY_PREFIXES)),
            ("throughput", lambda m: m == THROUGHPUT_METHOD))
    table: dict[tuple, dict[str, tuple[float, str | None]]] = defaultdict(dict)
    for s in ctx.series:
        m = method(s.benchmark)
        for name, test in cols:
            if test(m):
                v = latest_value(s)
                if v is None:
                    continue
                key = (s.benchmark.rpartition(".")[0], s.params, s.machine)
                old = table[key].get(name)
                if old is None or v > old[0]:
                    table[key][name] = (v, s.unit)
    many = _many_machines(ctx)
    col_max = {name: max((cells[name][0] for cells in table.values() if name in cells),
                         default=0.0) for name, _ in cols}
    rows = []
    for key in sorted(table):
        cells = []
        for name, _ in cols:
            if name in table[key]:
                v, unit = table[key][name]
                top = col_max[name]
                cells.append({"text": fmt_value(v, unit),
                              "level": round(v / top, 3) if top > 0 else 0.0})
            else:
                cells.append({"text": "-", "level": None})
        rows.append({"name": label(key[0], key[1]) + (f" @ {key[2]}" if many else ""),
                     "cells": cells})
    return {"columns": [name for name, _ in cols], "rows": rows}


def last_run(ctx: Context):
    """The longest run (``results.Run``) of the newest commit that recorded a duration,
    with how many runs that commit has: "how long does a suite run take now"."""
    rank = {c: i for i, c in enumerate(ctx.order)}
    timed = [r for r in ctx.runs if r.duration is not None and r.commit in rank]
    if not timed:
        return None, 0
    newest = max(rank[r.commit] for r in timed)
    of_commit = [r for r in timed if rank[r.commit] == newest]
    return max(of_commit, key=lambda r: (r.duration, r.machine, r.env)), len(of_commit)


def cards(ctx: Context) -> list[dict[str, str]]:
    newest = newest_change_ids(ctx.changes)
    open_reg = sum(status_of(c, ctx.annotations, id(c) in newest) == "open"
                   for c in ctx.changes)
    checks = [s for _, rep in ctx.reports for s in rep.sla]
    sla = (f"{100 * sum(s.status == 'pass' for s in checks) / len(checks):.0f}%"
           if checks else "n/a")
    sla_note = (f"{sum(s.status == 'pass' for s in checks)} of {len(checks)} checks"
                if checks else "no gate report given")
    last = ctx.order[-1] if ctx.order else None
    run, n_runs = last_run(ctx)
    if run is None:
        duration, duration_note = "n/a", "no result file records asv durations"
    else:
        duration = (f"{run.duration / 60:.1f} min" if run.duration >= 120
                    else fmt_value(run.duration, "seconds"))
        duration_note = (f"{run.benchmarks} benchmarks at {run.commit[:8]} on {run.machine}"
                         + (f" (longest of {n_runs} runs)" if n_runs > 1 else ""))
    return [
        {"title": "Benchmarks", "value": str(len(ctx.benchmarks())),
         "note": f"{len(ctx.series)} series"},
        {"title": "SLA pass rate", "value": sla, "note": sla_note},
        {"title": "Last suite duration", "value": duration, "note": duration_note},
        {"title": "Open regressions", "value": str(open_reg),
         "note": "newest change of a series, not annotated"},
        {"title": "Latest commit", "value": last[:8] if last else "-",
         "note": day(ctx.dates.get(last)) if last else ""},
    ]


# --------------------------------------------------------------------------- tables


def latest_table(ctx: Context) -> tuple[list[str], list[list[Any]]]:
    head = ["benchmark", "params", "machine", "env", "version", "unit", "commit", "date",
            "value"]
    rows = []
    for s in ctx.series:
        r = next((r for r in reversed(s.rows) if r.ok), None)
        if r is None:
            continue
        rows.append([s.benchmark, ", ".join(s.params), s.machine, s.env, s.version or "",
                     s.unit or "", r.commit, day(r.date), r.value])
    return head, rows


def changes_table(ctx: Context) -> tuple[list[str], list[list[Any]]]:
    from .annotations import find

    newest = newest_change_ids(ctx.changes)
    head = ["date", "benchmark", "params", "machine", "env", "previous_commit", "commit",
            "before", "after", "change_pct", "p_value", "direction", "provisional", "status",
            "note"]
    rows = []
    for c in ctx.changes:
        note = find(ctx.annotations, c)
        rows.append([day(c.date), c.benchmark, ", ".join(c.params), c.machine, c.env,
                     c.previous_commit, c.commit, _clean(c.before), _clean(c.after),
                     _clean(c.change_pct), _clean(c.p_value), c.direction, c.provisional,
                     status_of(c, ctx.annotations, id(c) in newest),
                     note.note if note else ""])
    return head, rows


def calibration_table(ctx: Context) -> tuple[list[str], list[list[Any]]]:
    from ..calibrate import FIELDS

    head = list(FIELDS)
    rows = [[_clean(getattr(c, f)) if f != "params" else ", ".join(c.params) for f in FIELDS]
            for c in ctx.calibration]
    return head, rows


def trends_table(ctx: Context) -> tuple[list[str], list[list[Any]]]:
    head = ["benchmark", "params", "machine", "env", "version", "unit", "points", "median",
            "slope_pct_per_30d", "r2", "significance", "theil_sen_pct_per_30d",
            "mann_kendall_p", "direction"]
    rows = []
    for t in ctx.trends:
        d = t.to_dict()
        rows.append([", ".join(d[h]) if h == "params" else d[h] for h in head])
    return head, rows


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def table_files(name: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """``name.csv`` and ``name.json`` (a list of objects) of one table."""
    from ..render import csv

    cells = [["" if c is None else c for c in r] for r in rows]
    doc = [dict(zip(head, r)) for r in rows]
    text = json.dumps(doc, indent=1, allow_nan=False, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return {f"{name}.csv": csv.table(head, cells), f"{name}.json": text + "\n"}


# --------------------------------------------------------------------------- OpenMetrics


def _om_label(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _om_labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_om_label(v)}"' for k, v in kw.items()) + "}"


def metrics_text(ctx: Context) -> str:
    """OpenMetrics text: the latest value of every series and its trend slopes.

    For node_exporter's textfile collector (rename to ``*.prom``) or any OpenMetrics
    scraper. Values are in each benchmark's own unit (the ``unit`` label).
    """
    out = ["# TYPE benchwatch_latest_value gauge",
           "# HELP benchwatch_latest_value Newest finite asv result of the series, in its unit."]
    for s in ctx.series:
        v = latest_value(s)
        if v is None:
            continue
        out.append("benchwatch_latest_value" + _om_labels(
            benchmark=s.benchmark, params=", ".join(s.params), machine=s.machine, env=s.env,
            unit=s.unit or "") + f" {v!r}")
    for name, attr, help_ in (
            ("benchwatch_trend_slope_pct_per_30d", "slope_pct_per_30d",
             "Least-squares slope over the trend window, % of the median per 30 days."),
            ("benchwatch_trend_theil_sen_pct_per_30d", "theil_sen_pct_per_30d",
             "Theil-Sen slope over the trend window, % of the median per 30 days.")):
        out += [f"# TYPE {name} gauge", f"# HELP {name} {help_}"]
        for t in ctx.trends:
            v = getattr(t, attr)
            if v is None or not math.isfinite(v):
                continue
            out.append(name + _om_labels(benchmark=t.benchmark, params=", ".join(t.params),
                                         machine=t.machine, env=t.env) + f" {v!r}")
    out.append("# EOF")
    return "\n".join(out) + "\n"
