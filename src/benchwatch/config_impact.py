"""Configuration impact: what each variant does to each benchmark family, against a baseline.

The analysis of ``benchwatch configs compare``, on rows that ``benchwatch.results``
loaded (one commit, one machine, one asv environment per variant). Pure: no files,
no asv, no subprocesses.

1. **Series.** For every benchmark series measured in the baseline's and a variant's
   environment: the ratio variant / baseline with its 95 % interval and p-value from
   ``benchwatch.stats`` (bootstrap of the median ratio and Mann-Whitney U when both
   sides have raw samples, which ``asv run --interleave-rounds --record-samples``
   keeps for ``time_`` benchmarks; asv's stored 99 % intervals otherwise; the ratio
   alone for a ``track_`` value, which asv stores without either). Only speed is
   scored: time units and throughput (``SPEED_UNITS``). Memory, CPU %, counters and
   flags are left out of the score.
2. **Direction.** Every ratio is turned into a *time* ratio (lower is better) with
   ``history.higher_is_better``: a throughput up 25 % is time per operation down 20 %.
   So a family's change is always "time", and a mean never cancels a throughput gain
   against a latency gain.
3. **Workloads.** The metrics of one benchmark class at one parameter combination
   (p50, p95, p99, throughput of one measurement; the ``time_`` methods of one setup)
   are not independent, so their log time ratios are averaged into one workload
   ratio first. Workloads are the replicates.
4. **Family** (the benchmark's module: ``neural``, ``simd``, ...): the geometric mean
   of its workloads' ratios, with a one-sample t interval and p-value on the log
   ratios (scipy). A family of one workload falls back to that workload's own
   interval when it is a single series that has one; otherwise it has no interval
   and makes no claim.
5. **Multiple testing.** Holm's step-down adjustment across every (variant, family)
   cell of the matrix, across the variants' overall scores, and across all series.
   A cell is *significant* when its adjusted p is below ``alpha``; nothing that is
   not significant is called better, worse, optimal or recommended.
6. **Ranking.** A variant's score is the geometric mean of all its workload ratios
   (< 1 is faster than the baseline) with a t interval; rank 1 is the lowest score.
   The optimal configuration of a family is its significantly-better variant with
   the lowest ratio, else the baseline; overall likewise with the scores.
7. **Recommendations** quote the estimate, the interval, the adjusted p, the number
   of workloads and, from the accuracy probe, how far the variant's results move.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from . import compare, history, stats
from ._variant_probe import Accuracy
from .results import Row

#: Units scored as speed: times (lower is better) and throughputs (higher is better).
TIME_UNITS = frozenset({"seconds", "s", "ms", "us", "ns"})
THROUGHPUT_UNITS = frozenset({"ops/s", "MB/s"})
SPEED_UNITS = TIME_UNITS | THROUGHPUT_UNITS
#: asv benchmark kinds whose value is a time whatever the unit field says.
TIME_KINDS = ("time", "timeraw")


@dataclass(frozen=True)
class SeriesImpact:
    """One benchmark series in one variant against the baseline.

    ``ratio`` and the percentages are of the benchmark's own value (a throughput up
    is positive); ``better`` reads them with the unit's direction. ``p_adjusted`` is
    Holm's across every series; ``method`` is ``bootstrap``, ``asv-ci`` or ``values``
    (no interval).
    """

    benchmark: str
    params: tuple[str, ...]
    variant: str
    unit: str | None
    higher_is_better: bool
    ratio: float
    change_pct: float
    ci_low_pct: float
    ci_high_pct: float
    p_value: float
    p_adjusted: float
    significant: bool
    better: bool
    method: str

    @property
    def family(self) -> str:
        return family_of(self.benchmark)

    @property
    def time_log_ratio(self) -> float:
        """log of the time ratio (negative: faster)."""
        lr = math.log(self.ratio)
        return -lr if self.higher_is_better else lr


@dataclass(frozen=True)
class Estimate:
    """A geometric mean of time ratios: ``ratio`` with its interval, the p-value of
    "no change", and how many workloads and series it rests on."""

    ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    workloads: int
    series: int


@dataclass(frozen=True)
class FamilyImpact:
    """One cell of the matrix: a variant's time ratio on one family."""

    variant: str
    family: str
    ratio: float
    change_pct: float
    ci_low_pct: float
    ci_high_pct: float
    p_value: float
    p_adjusted: float
    significant: bool
    better: bool
    benchmarks: int
    workloads: int


@dataclass(frozen=True)
class Rank:
    """A variant's overall score (geometric mean time ratio, < 1 faster) and rank."""

    variant: str
    score: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    significant: bool
    rank: int
    workloads: int


@dataclass(frozen=True)
class Recommendation:
    """One sentence and the figures it quotes (``family`` is None for overall)."""

    text: str
    variant: str
    family: str | None
    change_pct: float
    ci_low_pct: float
    ci_high_pct: float
    p_value: float
    max_ulp: float | None


@dataclass(frozen=True)
class Impact:
    """The whole analysis. ``matrix`` is in variant then family order."""

    baseline: str
    variants: tuple[str, ...]  # file order, baseline included
    alpha: float
    families: tuple[str, ...]
    matrix: tuple[FamilyImpact, ...]
    series: tuple[SeriesImpact, ...]
    ranking: tuple[Rank, ...]
    optimal_overall: str
    optimal_by_family: Mapping[str, str]
    accuracy: tuple[Accuracy, ...]
    recommendations: tuple[Recommendation, ...]
    unscored: int  # series left out: not speed, failed, or missing on one side

    def cell(self, variant: str, family: str) -> FamilyImpact | None:
        for c in self.matrix:
            if c.variant == variant and c.family == family:
                return c
        return None


# --------------------------------------------------------------------------- helpers


def family_of(benchmark: str) -> str:
    """The benchmark family: its module, the first part of asv's dotted name."""
    return benchmark.split(".", 1)[0]


def workload_of(benchmark: str, params: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """(class path, params): the metrics measured together."""
    return benchmark.rpartition(".")[0] or benchmark, params


def is_speed(row: Row) -> bool:
    """Scored as speed: a ``time``/``timeraw`` benchmark or a time/throughput unit."""
    return row.type in TIME_KINDS or (row.unit in SPEED_UNITS)


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and is not counted).

    Sorted ascending, p_(i) is multiplied by (m - i) for i = 0..m-1, then made
    non-decreasing and capped at 1: rejecting where the adjusted p < alpha controls the
    family-wise error rate at alpha.
    """
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, math.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if m == 0:
        return out.tolist()
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out.tolist()


def geometric_mean(log_ratios: Sequence[float], alpha: float = 0.05) -> tuple[float, float,
                                                                             float, float]:
    """(ratio, low, high, p) of the mean of ``log_ratios`` with a one-sample t interval
    at 1 - alpha (scipy); needs two or more values. All equal: a zero-width interval
    and p 0 (1 when they are all 0)."""
    x = np.asarray(log_ratios, dtype=float)
    if x.size < 2:
        raise ValueError("a t interval needs two or more log ratios")
    m = float(x.mean())
    if np.all(x == x[0]):
        return math.exp(m), math.exp(m), math.exp(m), (1.0 if m == 0.0 else 0.0)
    from scipy import stats as sps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # near-identical values
        res = sps.ttest_1samp(x, 0.0)
        ci = res.confidence_interval(1.0 - alpha)
    return math.exp(m), math.exp(float(ci.low)), math.exp(float(ci.high)), float(res.pvalue)


def _pct(r: float) -> float:
    return 100.0 * (r - 1.0) if math.isfinite(r) else math.nan


# --------------------------------------------------------------------------- analysis


def series_impacts(rows: Iterable[Row], envs: Mapping[str, str], baseline: str, *,
                   alpha: float = 0.05, n_boot: int = 2000) -> tuple[list[SeriesImpact], int]:
    """Every scored series of every variant against the baseline, and the number of
    series left out (not speed, not ok, or absent on one side).

    ``envs`` maps variant name -> asv environment name; rows of other environments are
    ignored. The rows must be of one commit and one machine.
    """
    variant_of = {env: name for name, env in envs.items()}
    if len(variant_of) != len(envs):
        raise ValueError("two variants share one asv environment name")
    by_variant: dict[str, dict[tuple[str, tuple[str, ...]], Row]] = {v: {} for v in envs}
    where = set()
    unscored_keys: set[tuple[str, str, tuple[str, ...]]] = set()
    for row in rows:
        name = variant_of.get(row.env)
        if name is None:
            continue
        where.add((row.commit, row.machine))
        if row.ok and row.value > 0 and is_speed(row):
            by_variant[name][(row.benchmark, row.params)] = row
        else:
            unscored_keys.add((name, row.benchmark, row.params))
    if len(where) > 1:
        raise ValueError(f"rows of {len(where)} (commit, machine) pairs; pass one of each")
    base = by_variant[baseline]
    pairs: list[tuple[str, Row, Row]] = []
    for name in envs:
        if name == baseline:
            continue
        mine = by_variant[name]
        for key in sorted(set(base) | set(mine)):
            if key in base and key in mine:
                pairs.append((name, base[key], mine[key]))
            else:
                unscored_keys.add((name, *key))
    # one batched bootstrap for every pair with samples on both sides
    sampled = [i for i, (_, a, b) in enumerate(pairs)
               if compare._samples(a) is not None and compare._samples(b) is not None]
    boot = stats.bootstrap_ratios([(pairs[i][1].samples, pairs[i][2].samples)
                                   for i in sampled], n_boot=n_boot) if sampled else []
    estimates: dict[int, stats.RatioEstimate | None] = dict(zip(sampled, boot))
    for i, (_, a, b) in enumerate(pairs):
        if i not in estimates:
            estimates[i] = compare.estimate(a, b)
    raw = []
    for i, (name, a, b) in enumerate(pairs):
        est = estimates[i]
        if est is None or not (est.ratio > 0 and math.isfinite(est.ratio)):
            unscored_keys.add((name, a.benchmark, a.params))
            continue
        raw.append((name, a, b, est))
    adjusted = holm([est.p_value for *_, est in raw])
    out = []
    for (name, a, b, est), p_adj in zip(raw, adjusted):
        hib = history.higher_is_better(a.benchmark, a.unit)
        excludes_one = math.isfinite(est.lo95) and (est.lo95 > 1.0 or est.hi95 < 1.0)
        significant = bool(p_adj < alpha and excludes_one)
        faster = est.ratio > 1.0 if hib else est.ratio < 1.0
        out.append(SeriesImpact(
            benchmark=a.benchmark, params=a.params, variant=name, unit=a.unit,
            higher_is_better=hib, ratio=est.ratio, change_pct=_pct(est.ratio),
            ci_low_pct=_pct(est.lo95), ci_high_pct=_pct(est.hi95), p_value=est.p_value,
            p_adjusted=p_adj, significant=significant, better=significant and faster,
            method=est.method))
    return out, len(unscored_keys)


def aggregate(impacts: Sequence[SeriesImpact], alpha: float = 0.05) -> Estimate:
    """The geometric mean time ratio of ``impacts`` (one variant) over their workloads,
    with its interval (see the module docstring, steps 3 and 4)."""
    workloads: dict[tuple[str, tuple[str, ...]], list[SeriesImpact]] = {}
    for s in impacts:
        workloads.setdefault(workload_of(s.benchmark, s.params), []).append(s)
    logs = [float(np.mean([s.time_log_ratio for s in members]))
            for members in workloads.values()]
    n = len(impacts)
    if len(logs) >= 2:
        return Estimate(*geometric_mean(logs, alpha), len(logs), n)
    if not logs:
        return Estimate(math.nan, math.nan, math.nan, math.nan, 0, 0)
    ratio = math.exp(logs[0])
    only = next(iter(workloads.values()))
    if len(only) == 1 and math.isfinite(only[0].ci_low_pct):
        s = only[0]
        lo, hi = 1.0 + s.ci_low_pct / 100.0, 1.0 + s.ci_high_pct / 100.0
        if s.higher_is_better:
            lo, hi = 1.0 / hi, 1.0 / lo
        return Estimate(ratio, lo, hi, s.p_value, 1, 1)
    return Estimate(ratio, math.nan, math.nan, math.nan, 1, n)


def analyse(rows: Iterable[Row], envs: Mapping[str, str], baseline: str, *,
            accuracy: Mapping[str, Accuracy] | None = None, alpha: float = 0.05,
            n_boot: int = 2000) -> Impact:
    """The configuration impact of every variant in ``envs`` (name -> asv env name, in
    the order to report; the baseline among them) on rows of one commit and machine."""
    if baseline not in envs:
        raise ValueError(f"baseline {baseline!r} is not among the variants")
    if not 0.0 < alpha < 1.0:
        raise ValueError("alpha must be in (0, 1)")
    series, unscored = series_impacts(rows, envs, baseline, alpha=alpha, n_boot=n_boot)
    others = [v for v in envs if v != baseline]
    families = tuple(sorted({s.family for s in series}))

    cells: list[tuple[str, str, Estimate]] = []
    for v in others:
        for f in families:
            mine = [s for s in series if s.variant == v and s.family == f]
            if mine:
                cells.append((v, f, aggregate(mine, alpha)))
    cell_adj = holm([e.p_value for *_, e in cells])
    matrix = tuple(
        FamilyImpact(variant=v, family=f, ratio=e.ratio, change_pct=_pct(e.ratio),
                     ci_low_pct=_pct(e.ci_low), ci_high_pct=_pct(e.ci_high),
                     p_value=e.p_value, p_adjusted=p_adj,
                     significant=bool(p_adj < alpha), better=bool(p_adj < alpha and e.ratio < 1),
                     benchmarks=e.series, workloads=e.workloads)
        for (v, f, e), p_adj in zip(cells, cell_adj))

    overall = {v: aggregate([s for s in series if s.variant == v], alpha) for v in others}
    score_adj = dict(zip(others, holm([overall[v].p_value for v in others])))
    n_base = len({workload_of(s.benchmark, s.params) for s in series})
    scored = [(baseline, Estimate(1.0, 1.0, 1.0, math.nan, n_base, 0), math.nan)]
    scored += [(v, overall[v], score_adj[v]) for v in others if overall[v].workloads]
    scored.sort(key=lambda t: (t[1].ratio, t[0] != baseline, t[0]))
    ranking = tuple(Rank(v, e.ratio, e.ci_low, e.ci_high, e.p_value, p_adj,
                         bool(p_adj < alpha), i, e.workloads)
                    for i, (v, e, p_adj) in enumerate(scored, 1))

    by_family = {}
    for f in families:
        wins = [c for c in matrix if c.family == f and c.better]
        by_family[f] = min(wins, key=lambda c: (c.ratio, c.variant)).variant if wins else baseline
    wins = [r for r in ranking if r.variant != baseline and r.significant and r.score < 1]
    best = min(wins, key=lambda r: (r.score, r.variant)).variant if wins else baseline

    acc = accuracy or {}
    accuracy_rows = tuple(acc[v] for v in others if v in acc)
    recs = recommendations(baseline, matrix, ranking, best, acc)
    return Impact(baseline=baseline, variants=tuple(envs), alpha=alpha, families=families,
                  matrix=matrix, series=tuple(series), ranking=ranking, optimal_overall=best,
                  optimal_by_family=by_family, accuracy=accuracy_rows,
                  recommendations=tuple(recs), unscored=unscored)


# --------------------------------------------------------------------------- wording


def fmt_p(p: float) -> str:
    """``p < 0.001`` or ``p = 0.012``."""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def fmt_ulp(x: float) -> str:
    if not math.isfinite(x):
        return "inf"
    return f"{x:.0f}" if x == int(x) or x >= 100 else f"{x:.2g}" if x < 1 else f"{x:.1f}"


def accuracy_clause(acc: Accuracy | None, baseline: str) -> str:
    """How far the variant's results move, as the recommendation says it."""
    if acc is None:
        return "accuracy not probed"
    if acc.max_ulp == 0:
        return f"results are bit-identical to {baseline}'s"
    return (f"results differ by at most {fmt_ulp(acc.max_ulp)} {acc.ulp_dtype} ulp "
            f"({fmt_ulp(acc.max_ulp_of_scale)} ulp of the output's scale)")


def _workloads(n: int) -> str:
    return f"{n} workload{'s' * (n != 1)}"


def recommendations(baseline: str, matrix: Sequence[FamilyImpact], ranking: Sequence[Rank],
                    best: str, accuracy: Mapping[str, Accuracy]) -> list[Recommendation]:
    """Sentences for the significant findings only: the best variant overall (if it is
    not the baseline), then every significant family improvement (largest first),
    then every significant family slow-down. A variant with no significant cell gets
    no sentence at all."""
    out = []
    if best != baseline:
        r = next(r for r in ranking if r.variant == best)
        acc = accuracy.get(best)
        cut, lo, hi = 100 * (1 - r.score), 100 * (1 - r.ci_high), 100 * (1 - r.ci_low)
        out.append(Recommendation(
            text=(f"Use {best} overall: it cuts time by {cut:.1f} % [{lo:.1f} %, {hi:.1f} %] "
                  f"against {baseline}, {fmt_p(r.p_adjusted)} (Holm, "
                  f"{_workloads(r.workloads)}); {accuracy_clause(acc, baseline)}."),
            variant=best, family=None, change_pct=_pct(r.score), ci_low_pct=_pct(r.ci_low),
            ci_high_pct=_pct(r.ci_high), p_value=r.p_adjusted,
            max_ulp=acc.max_ulp if acc else None))

    def cell(c: FamilyImpact, text: str) -> Recommendation:
        acc = accuracy.get(c.variant)
        return Recommendation(text=text, variant=c.variant, family=c.family,
                              change_pct=c.change_pct, ci_low_pct=c.ci_low_pct,
                              ci_high_pct=c.ci_high_pct, p_value=c.p_adjusted,
                              max_ulp=acc.max_ulp if acc else None)

    better = sorted((c for c in matrix if c.better), key=lambda c: (c.ratio, c.family, c.variant))
    out += [cell(c, f"{c.variant} cuts {c.family} time by {-c.change_pct:.1f} % "
                    f"[{-c.ci_high_pct:.1f} %, {-c.ci_low_pct:.1f} %], {fmt_p(c.p_adjusted)} "
                    f"(Holm, {_workloads(c.workloads)}); "
                    f"{accuracy_clause(accuracy.get(c.variant), baseline)}.")
            for c in better]
    worse = sorted((c for c in matrix if c.significant and not c.better),
                   key=lambda c: (-c.ratio, c.family, c.variant))
    out += [cell(c, f"Avoid {c.variant} for {c.family}: it adds {c.change_pct:.1f} % "
                    f"[{c.ci_low_pct:.1f} %, {c.ci_high_pct:.1f} %] to {c.family} time, "
                    f"{fmt_p(c.p_adjusted)} (Holm, {_workloads(c.workloads)}).")
            for c in worse]
    return out
