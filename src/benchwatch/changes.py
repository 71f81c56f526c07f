"""``benchwatch changes``: level shifts (change points) in every series' history.

Loads the results (``cli_results``), arranges them as series in main-branch commit
order (``history``), runs the detector (``changepoint``) on each, and reports every
change with the commits around it, the levels before and after, the % change, its
p-value and whether it is a regression or an improvement. Formats: text, markdown,
json (the contract in site/changes.md) and atom (a feed of regressions for the site).

Incremental: the detector's state per series (confirmed changes, where the open
window starts, a digest of the points that state depends on) is cached in
``~/.cache/benchwatch/changes-<hash of the results path>.json`` (or ``--cache PATH``;
``BENCHWATCH_CACHE_DIR`` moves the directory). A run
with one more commit resumes each series at its open window instead of re-examining
its whole history; a series whose old points changed (a rerun, a deleted result) or a
detector with other settings starts from scratch. The cache never goes inside asv's
results tree, and a cache that cannot be read or written is a warning, not an error.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import UserError

FORMATS = ("text", "markdown", "json", "atom")
CACHE_FORMAT = 1

EPILOG = """\
examples:
  benchwatch changes                                 every change point, newest first
  benchwatch changes --since 2025-01-01 --format json --output changes.json
  benchwatch changes --format atom --output site/regressions.xml
  benchwatch changes --results-dir results --machine ci-runner-1 --no-cache

exit codes:
  0  the report was written (finding changes is not a failure)
  2  usage or data error (no results, bad --since date, unwritable --output)

The JSON fields and the method are documented in site/changes.md.
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    from . import cli_results

    p = subparsers.add_parser(
        "changes", help="level shifts (change points) in each series' history",
        description="Find the commits where a benchmark's level shifted, along the main "
                    "branch, with the levels before and after, the % change, its p-value "
                    "and the direction (regression or improvement).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    cli_results.add_arguments(p, FORMATS)
    p.add_argument("--since", metavar="DATE",
                   help="only change points whose first new commit is dated at or after DATE "
                        "(ISO 8601: 2025-07-01 or 2025-07-01T12:00:00Z; UTC when no zone)")
    d = p.add_argument_group("detector")
    d.add_argument("--min-change", metavar="PCT", type=float, default=None,
                   help="smallest step reported, in %% (default: 4)")
    d.add_argument("--alpha", metavar="P", type=float, default=None,
                   help="p-value a change must beat (default: 0.001)")
    c = p.add_argument_group("cache")
    c.add_argument("--cache", metavar="PATH", type=Path,
                   help="cache file (default: ~/.cache/benchwatch/changes-<hash>.json; "
                        "BENCHWATCH_CACHE_DIR moves it)")
    c.add_argument("--no-cache", action="store_true",
                   help="analyse every series from scratch and write no cache")
    p.set_defaults(func=_run)


# ----------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class ChangePoint:
    """One change point of one series, with everything the reports show."""

    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    version: str | None
    unit: str | None
    commit: str  # the first commit at the new level
    previous_commit: str  # the last commit at the old level
    date: int | None  # ms since the epoch, of ``commit``
    before: float
    after: float
    change_pct: float
    p_value: float
    direction: str  # "regression" | "improvement"
    provisional: bool  # in the newest window: may still move as commits arrive

    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["params"] = list(self.params)
        d["date"] = iso_date(self.date)
        for k in ("before", "after", "change_pct", "p_value"):
            if not math.isfinite(d[k]):
                d[k] = None
        return d


@dataclass(frozen=True)
class Analysis:
    change_points: tuple[ChangePoint, ...]  # newest first
    series: int  # series analysed
    points_examined: int  # work done by the detector, in points
    windows: int
    resumed: int  # series extended from the cache rather than analysed from scratch
    newest_date: int | None  # ms, newest result date in the data


def iso_date(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_since(text: str) -> int:
    """ISO date or date-time (naive means UTC) -> ms since the epoch."""
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(f"--since {text!r}: not an ISO date; write e.g. 2025-07-01 or "
                        "2025-07-01T12:00:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


def standard_errors(series) -> list[float]:
    """Each commit's standard error, in the value's unit: from its samples (the SE of
    their median) when asv kept them, else from asv's stored 99 % CI, else NaN."""
    import numpy as np

    from . import stats

    rows = list(series.rows)  # built once: loaded rows are built on each access
    out = [math.nan] * len(rows)
    by_size: dict[int, list[int]] = {}  # samples per commit -> commits, one array each
    for i, r in enumerate(rows):
        if not r.ok:
            continue
        if r.samples and len(r.samples) >= 2:
            by_size.setdefault(len(r.samples), []).append(i)
        elif r.ci_99 is not None and r.value > 0:
            out[i] = stats.se_from_asv_ci(r.value, r.ci_99) * r.value
    for idx in by_size.values():
        se = stats.se_of_median(np.array([rows[i].samples for i in idx]))
        for i, e in zip(idx, se):
            out[i] = float(e)
    return out


def series_id(series) -> str:
    return json.dumps([series.benchmark, list(series.params), series.machine, series.env,
                       series.version])


def prefix_digest(commits: Sequence[str], values, se, n: int) -> str:
    """Digest of the first ``n`` points: a cached state is valid only while they hold."""
    import numpy as np

    h = hashlib.sha256("\n".join(commits[:n]).encode())
    h.update(np.ascontiguousarray(values[:n], dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(se[:n], dtype=np.float64).tobytes())
    return h.hexdigest()


class Cache:
    """The detector states of earlier runs, one JSON file (see the module docstring)."""

    def __init__(self, path: Path, fingerprint: str):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.entries: dict[str, dict] = {}
        self.warnings: list[str] = []
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.warnings.append(f"{self.path}: unreadable changes cache ({exc}); "
                                 "analysing from scratch")
            return
        if (isinstance(data, dict) and data.get("format") == CACHE_FORMAT
                and data.get("detector") == fingerprint and isinstance(data.get("series"), dict)):
            self.entries = data["series"]

    def state(self, sid: str, commits: Sequence[str], values, se):
        """The cached state of a series if its points are still the ones it was made on."""
        from .changepoint import Change, DetectorState

        entry = self.entries.get(sid)
        try:
            closed = int(entry["closed"])
            if closed > len(commits) or entry["digest"] != prefix_digest(commits, values, se,
                                                                         closed):
                return None
            changes = tuple(Change(int(i), int(p), float(b), float(a), float(c), float(pv),
                                   False) for i, p, b, a, c, pv in entry["changes"])
            return DetectorState(int(entry["anchor"]), closed, changes)
        except (TypeError, KeyError, ValueError):
            return None

    def put(self, sid: str, state, digest: str) -> None:
        self.entries[sid] = {
            "anchor": state.anchor, "closed": state.closed, "digest": digest,
            "changes": [[c.index, c.previous, c.before, c.after, c.change_pct, c.p_value]
                        for c in state.changes]}

    def save(self) -> None:
        from .output import write_atomically

        text = json.dumps({"format": CACHE_FORMAT, "detector": self.fingerprint,
                           "series": self.entries}, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.path, text)
        except (OSError, UserError) as exc:
            self.warnings.append(f"{self.path}: cannot write changes cache ({exc}); "
                                 "the next run starts from scratch")


def analyse(series_list: Iterable, config=None, cache: Cache | None = None) -> Analysis:
    """Change points of every series (``history.Series``), newest first."""
    from . import changepoint

    config = config or changepoint.DEFAULT_CONFIG
    points: list[ChangePoint] = []
    n_series = examined = windows = resumed = 0
    newest: int | None = None
    for s in series_list:
        n_series += 1
        values = s.values()
        se = standard_errors(s)
        commits = s.commits
        dates = [d for d in s.dates if d is not None]
        if dates:
            newest = max(dates) if newest is None else max(newest, max(dates))
        sid = series_id(s)
        state = cache.state(sid, commits, values, se) if cache is not None else None
        resumed += state is not None
        det = changepoint.detect(values, se, config, state)
        examined += det.points_examined
        windows += det.windows
        if cache is not None:
            cache.put(sid, det.state, prefix_digest(commits, values, se, det.state.closed))
        for ch in det.changes:
            new, old = s.rows[ch.index], s.rows[ch.previous]
            worse = ch.after < ch.before if s.higher_is_better else ch.after > ch.before
            points.append(ChangePoint(
                s.benchmark, s.params, s.machine, s.env, s.version, s.unit, new.commit,
                old.commit, new.date, ch.before, ch.after, ch.change_pct, ch.p_value,
                "regression" if worse else "improvement", ch.provisional))
    points.sort(key=lambda c: (-(c.date if c.date is not None else -1), c.benchmark, c.params,
                               c.machine, c.env, c.commit))
    return Analysis(tuple(points), n_series, examined, windows, resumed, newest)


def since(points: Iterable[ChangePoint], ms: int) -> tuple[ChangePoint, ...]:
    """Change points dated at or after ``ms`` (undated ones cannot be, so are left out)."""
    return tuple(c for c in points if c.date is not None and c.date >= ms)


# ----------------------------------------------------------------------------- reports


def headline(points: Sequence[ChangePoint], n_series: int) -> str:
    reg = sum(c.direction == "regression" for c in points)
    word = "change point" if len(points) == 1 else "change points"
    return (f"{len(points)} {word} in {n_series} series "
            f"({reg} regressions, {len(points) - reg} improvements)")


def _cells(c: ChangePoint) -> list[str]:
    from .report import fmt_p, fmt_pct, fmt_value

    return [(iso_date(c.date) or "")[:10], c.label(), c.machine,
            f"{c.previous_commit[:8]}..{c.commit[:8]}", fmt_value(c.before, c.unit),
            fmt_value(c.after, c.unit), fmt_pct(c.change_pct), fmt_p(c.p_value),
            c.direction + (" (provisional)" if c.provisional else "")]


HEADERS = ("date", "benchmark", "machine", "commits", "before", "after", "change", "p",
           "direction")
ALIGN = "lllllrrrl"


def to_text(points: Sequence[ChangePoint], n_series: int) -> str:
    from .render import text

    out = "benchwatch changes: " + headline(points, n_series) + "\n"
    if points:
        out += "\n" + text.table(HEADERS, [_cells(c) for c in points], ALIGN)
    return out


def to_markdown(points: Sequence[ChangePoint], n_series: int) -> str:
    from .render import markdown as md

    out = f"## Change points\n\n{md.escape(headline(points, n_series))}\n"
    if points:
        rows = [[md.escape(x) for x in _cells(c)] for c in points]
        out += "\n" + md.table(HEADERS, rows, ALIGN)
    return out


def to_json(points: Sequence[ChangePoint], analysis: Analysis, since_ms: int | None,
            config) -> str:
    doc = {"change_points": [c.to_json() for c in points], "series": analysis.series,
           "since": iso_date(since_ms), "detector": asdict(config)}
    return json.dumps(doc, indent=2) + "\n"


def atom_entry_id(c: ChangePoint) -> str:
    """Stable per (series, commit range): the same change gets the same id every run."""
    from .render.atom import entry_id

    return entry_id("benchwatch-change", c.benchmark, json.dumps(list(c.params)), c.machine,
                    c.env, c.version or "", c.previous_commit, c.commit)


def to_atom(points: Sequence[ChangePoint], analysis: Analysis, machine: str | None) -> str:
    """A feed of the regressions; entries dated by their commit, the feed by the newest."""
    from .render import atom
    from .report import fmt_p, fmt_pct, fmt_value

    def when(ms: int | None) -> datetime:
        return datetime.fromtimestamp((ms or 0) / 1000, tz=UTC)

    entries = []
    for c in points:
        if c.direction != "regression":
            continue
        span = f"{c.previous_commit[:8]}..{c.commit[:8]}"
        note = " (provisional)" if c.provisional else ""
        entries.append(atom.Entry(
            id=atom_entry_id(c),
            title=f"{c.label()} on {c.machine}: {fmt_pct(c.change_pct)} ({span}){note}",
            updated=when(c.date),
            summary=(f"{c.label()} on {c.machine} ({c.env}) regressed "
                     f"{fmt_pct(c.change_pct)}: {fmt_value(c.before, c.unit)} -> "
                     f"{fmt_value(c.after, c.unit)}, p {fmt_p(c.p_value)}, between "
                     f"{c.previous_commit} and {c.commit}{note}."),
            categories=(c.machine,)))
    newest = max((c.date for c in points if c.date is not None), default=analysis.newest_date)
    return atom.feed(feed_id=atom.entry_id("benchwatch-changes-feed", machine or "*"),
                     title="benchwatch: performance regressions",
                     subtitle="Level shifts for the worse along the main branch",
                     updated=when(newest), entries=entries)


# ----------------------------------------------------------------------------- command


def _config(args: argparse.Namespace):
    from . import changepoint

    kw = {}
    if args.min_change is not None:
        kw["min_change_pct"] = args.min_change
    if args.alpha is not None:
        kw["alpha"] = args.alpha
    try:
        return changepoint.DetectorConfig(**kw)
    except ValueError as exc:
        raise UserError(f"detector settings: {exc}") from None


def _run(args: argparse.Namespace) -> int:
    from . import cli_results, history
    from .output import emit

    since_ms = parse_since(args.since) if args.since else None
    config = _config(args)
    loaded = cli_results.load(args)
    series = history.build(loaded.rows, repo=args.repo)
    cache = None
    if not args.no_cache:
        from .paths import cache_key, cache_root

        path = args.cache or cache_root() / f"changes-{cache_key(loaded.results_dir)}.json"
        cache = Cache(path, config.fingerprint())
    analysis = analyse(series, config, cache)
    if cache is not None:
        cache.save()
        for w in cache.warnings:
            print(f"benchwatch: warning: {w}", file=sys.stderr)
    points = analysis.change_points
    if since_ms is not None:
        points = since(points, since_ms)
    if args.format == "json":
        text = to_json(points, analysis, since_ms, config)
    elif args.format == "atom":
        text = to_atom(points, analysis, args.machine)
    elif args.format == "markdown":
        text = to_markdown(points, analysis.series)
    else:
        text = to_text(points, analysis.series)
    emit(text, args.output)
    return 0
