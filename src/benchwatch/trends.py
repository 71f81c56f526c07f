"""``benchwatch trends``: slow drifts over the last N days, one line per series.

A change-point finder sees steps; a benchmark that gets 0.3 % slower every week
never steps. This module fits each series over a window of commit dates:

- least squares: slope, r^2 and the seed method's significance (High r^2 > 0.7,
  Medium > 0.4, else Low; at least ``MIN_POINTS`` points);
- Theil-Sen slope with a Mann-Kendall p-value: robust to the odd outlier commit.
  These two decide the direction.

The window is the last ``days`` days of commit dates *ending at the newest result
date in the data*, not at "now", so the same results always give the same report.
Slopes are given as % of the series' median level in the window per 30 days.

It works on ``history.Series``; it must not read asv files (``benchwatch.results``
does) and keeps its statistics in ``benchwatch.stats``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .errors import UserError

if TYPE_CHECKING:
    from .history import Series

DAY_MS = 86_400_000
#: Fewer finite points than this in the window: "insufficient data".
MIN_POINTS = 10
#: Mann-Kendall p-value at or above which a trend is "stable".
ALPHA = 0.05
#: |Theil-Sen slope| below this many % per 30 days is "stable" however significant.
STABLE_PCT_PER_30D = 1.0
#: r^2 bounds of the least-squares significance labels (else "Low").
SIGNIFICANCE = ((0.7, "High"), (0.4, "Medium"))

DEGRADING, IMPROVING, STABLE, INSUFFICIENT = ("degrading", "improving", "stable",
                                              "insufficient data")
_RANK = {DEGRADING: 0, IMPROVING: 1, STABLE: 2, INSUFFICIENT: 3}


@dataclass(frozen=True)
class Trend:
    """One series' trend in the window. Statistics are ``None`` with insufficient data.

    Slopes ``*_per_day`` are in the benchmark's unit per day; ``*_pct_per_30d`` are
    relative to ``median`` (the series' median value in the window).
    """

    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    version: str | None
    unit: str | None
    higher_is_better: bool
    points: int
    median: float | None
    slope_per_day: float | None
    slope_pct_per_30d: float | None
    r2: float | None
    significance: str | None
    theil_sen_per_day: float | None
    theil_sen_pct_per_30d: float | None
    mann_kendall_p: float | None
    direction: str

    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark, "params": list(self.params),
            "machine": self.machine, "env": self.env, "version": self.version,
            "unit": self.unit, "points": self.points, "median": _finite(self.median),
            "slope_pct_per_30d": _finite(self.slope_pct_per_30d), "r2": _finite(self.r2),
            "significance": self.significance,
            "theil_sen_pct_per_30d": _finite(self.theil_sen_pct_per_30d),
            "mann_kendall_p": _finite(self.mann_kendall_p), "direction": self.direction,
        }


@dataclass(frozen=True)
class TrendReport:
    """Trends of every series with results in the window, worst first."""

    window_days: int
    start_ms: int
    end_ms: int
    trends: tuple[Trend, ...]
    outside_window: int  # series with no result in the window

    def count(self, direction: str) -> int:
        return sum(1 for t in self.trends if t.direction == direction)

    def to_dict(self) -> dict[str, Any]:
        return {"window_days": self.window_days, "start_date": iso_date(self.start_ms),
                "end_date": iso_date(self.end_ms),
                "series_outside_window": self.outside_window,
                "trends": [t.to_dict() for t in self.trends]}


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def iso_date(ms: int) -> str:
    """UTC ISO 8601 time of a date in ms since the epoch (asv's unit)."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def significance(r2: float) -> str:
    """The seed method's label for a least-squares fit."""
    for bound, label in SIGNIFICANCE:
        if r2 > bound:
            return label
    return "Low"


def direction(theil_sen_per_day: float, pct_per_30d: float | None, p_value: float,
              higher_is_better: bool, *, alpha: float = ALPHA,
              stable_pct: float = STABLE_PCT_PER_30D) -> str:
    """degrading / improving / stable from the robust slope and its p-value.

    Stable when Mann-Kendall finds no monotonic trend (p >= alpha) or the Theil-Sen
    slope is below ``stable_pct`` % per 30 days; otherwise the sign of the slope and
    the benchmark's direction decide (time up is worse, ops/s up is better).
    """
    if not p_value < alpha or not theil_sen_per_day:
        return STABLE
    if pct_per_30d is not None and abs(pct_per_30d) < stable_pct:
        return STABLE
    return IMPROVING if (theil_sen_per_day > 0) == higher_is_better else DEGRADING


def _pct(slope_per_day: float, level: float) -> float | None:
    if not level or not math.isfinite(slope_per_day):
        return None
    return slope_per_day * 30.0 / abs(level) * 100.0


def fit(series: Series, x_days: Sequence[float], y: Sequence[float], *,
        alpha: float = ALPHA, stable_pct: float = STABLE_PCT_PER_30D) -> Trend:
    """The trend of one series from its finite (day, value) points in the window."""
    import numpy as np

    from . import stats

    x = np.asarray(x_days, dtype=float)
    ya = np.asarray(y, dtype=float)
    base: dict[str, Any] = {
        "benchmark": series.benchmark, "params": series.params, "machine": series.machine,
        "env": series.env, "version": series.version, "unit": series.unit,
        "higher_is_better": series.higher_is_better, "points": int(x.size)}
    if x.size < MIN_POINTS or np.all(x == x[0]):
        return Trend(**base, median=float(np.median(ya)) if ya.size else None,
                     slope_per_day=None, slope_pct_per_30d=None, r2=None, significance=None,
                     theil_sen_per_day=None, theil_sen_pct_per_30d=None, mann_kendall_p=None,
                     direction=INSUFFICIENT)
    level = float(np.median(ya))
    ols = stats.least_squares(x, ya)
    ts, mk = stats.theil_sen_mann_kendall(x, ya)
    ts_pct = _pct(ts, level)
    return Trend(**base, median=level, slope_per_day=ols.slope,
                 slope_pct_per_30d=_pct(ols.slope, level), r2=ols.r2,
                 significance=significance(ols.r2), theil_sen_per_day=ts,
                 theil_sen_pct_per_30d=ts_pct, mann_kendall_p=mk.p_value,
                 direction=direction(ts, ts_pct, mk.p_value, series.higher_is_better,
                                     alpha=alpha, stable_pct=stable_pct))


def analyse(series: Sequence[Series], days: int = 30, *, end_ms: int | None = None,
            alpha: float = ALPHA, stable_pct: float = STABLE_PCT_PER_30D) -> TrendReport:
    """Trends of ``series`` over the ``days`` days of commit dates up to ``end_ms``
    (default: the newest result date among them), both ends included.

    Results without a date cannot be placed on the time axis and are left out.
    """
    if days <= 0:
        raise UserError(f"--days must be positive, got {days}")
    if end_ms is None:
        dates = [d for s in series for d in s.dates if d is not None]
        if not dates:
            raise UserError("no result has a commit date; trends need dates")
        end_ms = max(dates)
    import numpy as np

    start_ms = end_ms - days * DAY_MS
    trends = []
    outside = 0
    for s in series:
        # -1: no date (asv dates are ms since 1970, never negative)
        dates = np.fromiter((-1 if d is None else d for d in s.dates),
                            dtype=np.int64, count=len(s.rows))
        inside = (dates >= start_ms) & (dates <= end_ms) & (dates >= 0)
        if not inside.any():
            outside += 1
            continue
        values = s.values()
        keep = inside & np.isfinite(values)
        x = (dates[keep] - end_ms) / DAY_MS
        trends.append(fit(s, x, values[keep], alpha=alpha, stable_pct=stable_pct))
    trends.sort(key=lambda t: (_RANK[t.direction], -abs(t.theil_sen_pct_per_30d or 0.0),
                               t.label(), t.machine, t.env, t.version or ""))
    return TrendReport(days, start_ms, end_ms, tuple(trends), outside)


# --------------------------------------------------------------------------- output


def _fmt_pct(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:+.2f}%"


def _fmt_p(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return "<0.001" if v < 0.001 else f"{v:.3f}"


def _fmt_r2(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def summary(report: TrendReport) -> str:
    counts = ", ".join(f"{report.count(d)} {d}" for d in _RANK)
    outside = (f"; {report.outside_window} series have no result in the window"
               if report.outside_window else "")
    return (f"trends over {report.window_days} days, {iso_date(report.start_ms)[:10]} .. "
            f"{iso_date(report.end_ms)[:10]}: {len(report.trends)} series: {counts}{outside}")


_HEADERS = ("points", "OLS %/30d", "r2", "significance", "Theil-Sen %/30d",
            "Mann-Kendall p", "direction")


def _table(report: TrendReport, label: Any) -> tuple[list[str], list[list[str]], str]:
    """Headers, cells and alignment; machine and env columns only when they vary."""
    machines = len({t.machine for t in report.trends}) > 1
    envs = len({t.env for t in report.trends}) > 1
    headers = ["benchmark"] + (["machine"] if machines else []) + (["env"] if envs else [])
    align = "l" * len(headers) + "rrrlrrl"
    rows = []
    for t in report.trends:
        name = t.label() + (f" [v{t.version}]" if _versions(report, t) else "")
        cells = [label(name)] + ([label(t.machine)] if machines else []) \
            + ([label(t.env)] if envs else [])
        cells += [str(t.points), _fmt_pct(t.slope_pct_per_30d), _fmt_r2(t.r2),
                  t.significance or "-", _fmt_pct(t.theil_sen_pct_per_30d),
                  _fmt_p(t.mann_kendall_p), t.direction]
        rows.append(cells)
    return headers + list(_HEADERS), rows, align


def _versions(report: TrendReport, t: Trend) -> bool:
    """Whether ``t``'s key appears with more than one benchmark version."""
    key = (t.benchmark, t.params, t.machine, t.env)
    return sum(1 for o in report.trends
               if (o.benchmark, o.params, o.machine, o.env) == key) > 1


def render(report: TrendReport, fmt: str) -> str:
    """The report as text, markdown, json or csv."""
    if fmt == "json":
        import json

        return json.dumps(report.to_dict(), indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        from .render import csv

        headers = ("benchmark", "params", "machine", "env", "version", "unit", "points",
                   "median", "slope_pct_per_30d", "r2", "significance",
                   "theil_sen_pct_per_30d", "mann_kendall_p", "direction")
        rows = [[d[h] if h != "params" else ", ".join(d[h]) for h in headers]
                for d in (t.to_dict() for t in report.trends)]
        return csv.table(headers, [["" if c is None else c for c in r] for r in rows])
    if fmt == "markdown":
        from .render import markdown

        headers, rows, align = _table(report, markdown.escape)
        return (f"### Benchmark trends\n\n{markdown.escape(summary(report))}\n\n"
                + (markdown.table(headers, rows, align) if rows else ""))
    from .render import text

    headers, rows, align = _table(report, str)
    return summary(report) + "\n" + ("\n" + text.table(headers, rows, align) if rows else "")


# --------------------------------------------------------------------------- command

EPILOG = f"""\
The window is the last N days of commit dates, ending at the newest result date
in the results (not today), so a report can be reproduced from the same results.
Per series (benchmark x params x machine x env x benchmark version) with at least
{MIN_POINTS} finite results in the window:
  OLS %/30d, r2      least-squares slope and its r^2; significance High (r^2 > 0.7),
                     Medium (> 0.4) or Low
  Theil-Sen %/30d    median of pairwise slopes, robust to outlier commits
  Mann-Kendall p     is there a monotonic trend at all (ties corrected)
Slopes are % of the series' median in the window per 30 days. direction: stable when
Mann-Kendall p >= --alpha or |Theil-Sen| < --stable-pct; else degrading or improving
(time and memory up is worse, ops/s up is better). Fewer points: "insufficient data".
See site/trends.md.

exit codes: 0 report written (whatever the trends), 2 usage or data error.

examples:
  benchwatch trends
  benchwatch trends --days 90 --machine ci-runner-1
  benchwatch trends --results-dir results --format json --output trends.json
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    from .cli_results import add_arguments

    p = subparsers.add_parser(
        "trends", help="slow drifts per benchmark over the last N days",
        description="Fit each benchmark series over a window of commit dates: "
                    "least-squares slope and r^2, Theil-Sen slope and a Mann-Kendall "
                    "test; say whether it is degrading, improving or stable.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=_positive_int, default=30, metavar="N",
                   help="window length in days, ending at the newest result (default: 30)")
    p.add_argument("--alpha", type=_probability, default=ALPHA, metavar="P",
                   help=f"Mann-Kendall p below which a trend is real (default: {ALPHA})")
    p.add_argument("--stable-pct", type=_non_negative, default=STABLE_PCT_PER_30D,
                   metavar="PCT", help="|Theil-Sen slope| in %% per 30 days below which a "
                                       f"trend is stable (default: {STABLE_PCT_PER_30D})")
    add_arguments(p, ("text", "markdown", "json", "csv"))
    p.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number of days: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _float_option(valid: Any, what: str) -> Any:
    """An argparse ``type`` that parses a float and checks ``valid(value)``."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not valid(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    return parse


_probability = _float_option(lambda v: 0.0 < v < 1.0, "between 0 and 1")
_non_negative = _float_option(lambda v: 0.0 <= v < math.inf, "a finite number >= 0")


def run(args: argparse.Namespace) -> int:
    from . import cli_results, history
    from .output import emit

    loaded = cli_results.load(args)
    series = history.build(loaded.rows, repo=args.repo)
    report = analyse(series, args.days, alpha=args.alpha, stable_pct=args.stable_pct)
    emit(render(report, args.format), args.output)
    return 0

