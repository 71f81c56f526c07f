"""``benchwatch compare BASE HEAD``: every series measured at both commits, side by side.

For each series (benchmark x params x machine x env) present at BASE or HEAD it
reports the values, the ratio and % change with a 95 % confidence interval, a
p-value, Cliff's delta, a status and a severity. With raw samples on both sides the
interval is a bootstrap of the median ratio and the p-value Mann-Whitney's; without,
both come from asv's stored 99 % intervals (``benchwatch.stats``). The status comes
from the same rule the gate uses (``benchwatch.rule``), at the default thresholds
(time 10 %, throughput 10 %, memory 20 %) unless ``--threshold`` says otherwise, and
with the noise floor learned from the history before BASE.

``compare`` always exits 0 when it ran: it describes, ``gate`` decides.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence
from dataclasses import dataclass

from . import history, noise, rule, stats
from .history import Series
from .results import Row

#: Default thresholds by what a benchmark measures (relative, 0.10 = 10 %).
DEFAULT_THRESHOLDS = {"time": 0.10, "throughput": 0.10, "memory": 0.20}


def thresholds_of(gates) -> dict[str, float]:
    """Relative thresholds from a suite's ``gates`` (``suite_config.Gates``, in %)."""
    return {"time": gates.latency_regression_pct / 100,
            "throughput": gates.throughput_regression_pct / 100,
            "memory": gates.memory_regression_pct / 100}


def metric_of(series: Series) -> str:
    """time | throughput | memory: which threshold applies."""
    if series.kind in ("peakmem", "mem") or (series.unit or "").lower() in ("bytes", "b"):
        return "memory"
    if series.higher_is_better:
        return "throughput"
    return "time"


@dataclass(frozen=True)
class Comparison:
    """One series at BASE and HEAD. Ratios are after/before; percentages are of BASE."""

    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    unit: str | None
    higher_is_better: bool
    before: float | None
    after: float | None
    ratio: float
    change_pct: float
    ci_low_pct: float
    ci_high_pct: float
    p_value: float
    effect_size: float  # Cliff's delta, NaN without samples
    method: str  # bootstrap | asv-ci | values | none
    status: str  # regression improvement unchanged noisy failed new removed incomparable
    severity: str | None
    threshold_pct: float
    noise_floor_pct: float
    mde_pct: float
    noise_source: str
    inconclusive: bool
    n_before: int
    n_after: int
    history: tuple[float, ...] = ()  # main-branch values before BASE, for sparklines

    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark

    @property
    def worse_pct(self) -> float:
        """The change in the worse direction (positive = worse)."""
        if not math.isfinite(self.ratio):
            return math.nan
        return 100 * (1 - self.ratio) if self.higher_is_better else 100 * (self.ratio - 1)


def _samples(row: Row) -> tuple[float, ...] | None:
    s = row.samples
    if s and len(s) >= 3 and all(math.isfinite(x) and x > 0 for x in s):
        return s
    return None


def estimate(before: Row, after: Row, n_boot: int = 2000) -> stats.RatioEstimate | None:
    """The ratio estimate for two ok rows, from samples when both have them."""
    a, b = _samples(before), _samples(after)
    if a is not None and b is not None:
        return stats.bootstrap_ratio(a, b, n_boot=n_boot)
    if not (before.value and after.value and before.value > 0 and after.value > 0):
        return None
    return stats.normal_ratio(before.value, after.value,
                              stats.se_from_asv_ci(before.value, before.ci_99),
                              stats.se_from_asv_ci(after.value, after.ci_99))


def _pct(r: float) -> float:
    return 100 * (r - 1) if math.isfinite(r) else math.nan


def compare_series(series: Series, base: str, head: str, threshold: float, *,
                   confirmed: bool = False, n_boot: int = 2000,
                   est: stats.RatioEstimate | None = None,
                   run: tuple[float, int] = (math.nan, 0)) -> Comparison:
    """Compare one series at two commits (either may be missing).

    ``est`` is the ratio estimate when already computed (``compare`` batches them);
    ``run`` the (spread, series) of the whole comparison on this machine and
    environment, the noise floor when the series has no history."""
    ib, ih = series.index_of(base), series.index_of(head)
    rb = series.rows[ib] if ib is not None else None
    rh = series.rows[ih] if ih is not None else None
    past = series.values()[:ib] if ib is not None else series.values()
    floor = noise.from_history(past)
    nan = math.nan

    def make(status: str, est: stats.RatioEstimate | None = None,
             fl: noise.NoiseFloor | None = None, inconclusive: bool = False) -> Comparison:
        fl = fl or floor or noise.NoiseFloor(nan, "none", 0)
        ratio = est.ratio if est else nan
        sev = None
        if status == "regression":
            # a time 20 % up and a throughput 20 % down are both 20 % worse
            sev = stats.severity(100 * (1 - ratio) if series.higher_is_better
                                 else 100 * (ratio - 1))
        return Comparison(
            benchmark=series.benchmark, params=series.params, machine=series.machine,
            env=series.env, unit=series.unit, higher_is_better=series.higher_is_better,
            before=rb.value if rb is not None else None,
            after=rh.value if rh is not None else None,
            ratio=ratio, change_pct=_pct(ratio),
            ci_low_pct=_pct(est.lo95) if est else nan, ci_high_pct=_pct(est.hi95) if est else nan,
            p_value=est.p_value if est else nan, effect_size=est.effect if est else nan,
            method=est.method if est else "none", status=status, severity=sev,
            threshold_pct=100 * threshold, noise_floor_pct=100 * fl.floor,
            mde_pct=100 * fl.mde(est.se_log) if est else nan, noise_source=fl.source,
            inconclusive=inconclusive,
            n_before=len(rb.samples or ()) if rb is not None else 0,
            n_after=len(rh.samples or ()) if rh is not None else 0,
            history=tuple(float(v) for v in past[-20:]))

    if rb is None and rh is None:
        raise ValueError("series has neither commit")
    if rb is None:
        return make("new")
    if rh is None:
        return make("removed")
    if rb.value is None or rh.value is None:
        return make("failed")
    if not (rb.ok and rh.ok):
        return make("incomparable")
    est = est or estimate(rb, rh, n_boot)
    if est is None:
        return make("incomparable")
    fl = floor or noise.from_samples(est.se_log, *run)
    decision = rule.decide(est, series.higher_is_better, threshold, fl, confirmed=confirmed)
    return make(decision.status, est, fl, decision.inconclusive)


def compare(series_list: Sequence[Series], base: str, head: str, *,
            thresholds: dict[str, float] | None = None,
            threshold_for: object = None, confirmed: bool = False,
            n_boot: int = 2000) -> list[Comparison]:
    """Every series with a row at BASE or HEAD.

    A series whose benchmark version differs between BASE and HEAD appears as two
    series (one per version); they are reported as ``incomparable`` and not compared.
    ``threshold_for(series) -> float | None`` overrides the per-metric thresholds.
    """
    thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    by_key: dict[tuple, list[Series]] = {}
    for s in series_list:
        ib, ih = s.index_of(base), s.index_of(head)
        if ib is None and ih is None:
            continue
        if not _measured(s, ib) and not _measured(s, ih):
            continue  # skipped on both sides (a parameter the run did not select)
        by_key.setdefault(s.key, []).append(s)
    singles = [g for group in by_key.values() if len(group) == 1 for g in group]
    estimates = _batch_estimates(singles, base, head, n_boot)
    spreads = _run_spreads(singles, base, head)
    out = []
    for key, group in by_key.items():
        if len(group) > 1:  # a version change between BASE and HEAD
            s = next(g for g in group if g.index_of(head) is not None) \
                if any(g.index_of(head) is not None for g in group) else group[0]
            c = compare_series(s, base, head, thresholds[metric_of(s)], n_boot=n_boot)
            out.append(_replace_status(c, "incomparable"))
            continue
        s = group[0]
        t = threshold_for(s) if callable(threshold_for) else None
        t = thresholds[metric_of(s)] if t is None else t
        out.append(compare_series(s, base, head, t, confirmed=confirmed, n_boot=n_boot,
                                  est=estimates.get(id(s)),
                                  run=spreads.get((s.machine, s.env), (math.nan, 0))
                                  if s.kind in TIMED else (math.nan, 0)))
    out.sort(key=lambda c: (c.benchmark, c.params, c.machine, c.env))
    return out


#: Benchmark kinds whose noise is the machine's speed: the run's spread is theirs.
TIMED = ("time", "timeraw")


def _run_spreads(series_list: Sequence[Series], base: str,
                 head: str) -> dict[tuple[str, str], tuple[float, int]]:
    """(spread, count) of the log ratios of every timed series measured at both
    commits, per machine and environment: the run's own noise (``noise.run_spread``).
    Values, not samples: ``asv run`` histories have none, and the spread is about
    how far unchanged benchmarks moved."""
    by_run: dict[tuple[str, str], list[float]] = {}
    for s in series_list:
        if s.kind not in TIMED:
            continue
        ib, ih = s.index_of(base), s.index_of(head)
        if ib is None or ih is None:
            continue
        a, b = s.rows[ib], s.rows[ih]
        if a.ok and b.ok and a.value > 0 and b.value > 0:
            by_run.setdefault((s.machine, s.env), []).append(math.log(b.value / a.value))
    return {k: (noise.run_spread(v), len(v)) for k, v in by_run.items()}


def _batch_estimates(series_list: Sequence[Series], base: str, head: str,
                     n_boot: int) -> dict[int, stats.RatioEstimate]:
    """Bootstrap estimates of every series with samples on both sides, in one batch."""
    keys, pairs = [], []
    for s in series_list:
        ib, ih = s.index_of(base), s.index_of(head)
        if ib is None or ih is None:
            continue
        rb, rh = s.rows[ib], s.rows[ih]
        if not (rb.ok and rh.ok):
            continue
        a, b = _samples(rb), _samples(rh)
        if a is not None and b is not None:
            keys.append(id(s))
            pairs.append((a, b))
    return dict(zip(keys, stats.bootstrap_ratios(pairs, n_boot=n_boot))) if pairs else {}


def _measured(series: Series, index: int | None) -> bool:
    """A value or a failure at ``index``; False when absent or skipped (NaN)."""
    if index is None:
        return False
    row = series.rows[index]
    return row.value is None or row.ok


def _replace_status(c: Comparison, status: str) -> Comparison:
    from dataclasses import replace

    return replace(c, status=status, severity=None, inconclusive=False)


# --------------------------------------------------------------------------- command

EPILOG = """\
BASE and HEAD are full or abbreviated (8+ hex digits) commit hashes as they appear in
the results, or a baseline name from configs/baselines.yaml (see 'benchwatch baseline').

examples:
  benchwatch compare 1a2b3c4d 5e6f7a8b
  benchwatch compare last-release HEADHASH --format markdown --output cmp.md
  benchwatch compare 1a2b3c4d 5e6f7a8b --results-dir .asv/results/ci-fast-ci --format json

statuses: regression, improvement, unchanged, noisy (the benchmark's noise floor is
above the threshold: it cannot be judged), failed (a side errored), new, removed,
incomparable (skipped value, or the benchmark's version changed).

exit codes: 0 compared (whatever the statuses), 2 usage or data error.
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    from . import cli_results

    p = subparsers.add_parser(
        "compare", help="compare every benchmark between two commits",
        description="Compare every benchmark series between BASE and HEAD: ratio, 95 % CI, "
                    "p-value, effect size, status and severity.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", metavar="BASE", help="commit hash or baseline name")
    p.add_argument("head", metavar="HEAD", help="commit hash or baseline name")
    p.add_argument("--threshold", metavar="PCT", type=float,
                   help="one threshold in %% for every benchmark (default: time 10, "
                        "throughput 10, memory 20)")
    p.add_argument("--baselines", metavar="PATH", type=_path,
                   help="baselines file for names (default: configs/baselines.yaml)")
    cli_results.add_arguments(p)
    p.set_defaults(func=run_compare)


def _path(text: str):
    from pathlib import Path

    return Path(text)


def resolve_ref(rows: Sequence[Row], ref: str, baselines_path=None) -> str:
    """A commit hash from a hash prefix or a baseline name."""
    import re

    from . import baselines
    from .errors import UserError

    named = baselines.resolve_ref(ref, baselines_path)
    if named is None and not re.fullmatch(r"[0-9a-fA-F]+", ref or ""):
        where = baselines_path or baselines.find_config() or "configs/baselines.yaml"
        raise UserError(f"{ref!r} is neither a commit hash nor a baseline in {where}")
    return history.resolve_commit(rows, named or ref)


def run_compare(args: argparse.Namespace) -> int:
    from . import cli_results, report
    from .errors import UserError
    from .output import emit

    if args.threshold is not None and not 0 < args.threshold < 1000:
        raise UserError(f"--threshold {args.threshold:g}: give a percentage above 0")
    loaded = cli_results.load(args)
    base = resolve_ref(loaded.rows, args.base, args.baselines)
    head = resolve_ref(loaded.rows, args.head, args.baselines)
    series = history.build(loaded.rows, repo=args.repo)
    thresholds = None
    if args.threshold is not None:
        t = args.threshold / 100
        thresholds = {"time": t, "throughput": t, "memory": t}
    comps = compare(series, base, head, thresholds=thresholds)
    doc = report.Report(kind="compare", base=base, head=head, comparisons=tuple(comps))
    emit(report.render(doc, args.format), args.output)
    return 0
