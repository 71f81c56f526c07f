"""``benchwatch calibrate``: can the gate honestly decide each benchmark at its threshold?

For every series with enough history it estimates:

- ``cv``: the noise of one sample within a run (median over commits of the samples'
  CV; without samples, from asv's stored quartiles, IQR / 1.349 / median);
- ``run_sigma``: the spread between runs, the robust SD of the log ratio of
  consecutive commits (``benchwatch.noise``), and from it the noise floor;
- ``se``: the standard error of the log ratio of one BASE/HEAD comparison with the
  run's sample count (the median's standard error, 1.2533 cv / sqrt(n), on each side);
- ``mde``: the smallest change the gate catches with probability ``noise.POWER``;
- ``false_positive_rate`` and ``recall_at_threshold``: the gate rule's error rates
  under a normal model of the estimate (the rule fires when the estimate passes
  both the floor and ``threshold - 1.96 se``). ``scripts/gate_calibration.py`` checks
  that model against full simulations of asv runs.

Then it recommends, where the gate cannot decide: more samples (when the run's own
error is the problem and more samples shrink it) or a higher threshold (when the
floor between runs is, which more samples in one run cannot fix).
``--aa BASE HEAD`` uses two commits known to be identical (an A/A pair) as the
history instead: their difference is the run-to-run noise.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Sequence

import numpy as np

from . import noise
from .history import Series

Z95 = NormalDist().inv_cdf(0.975)
MEDIAN_SE = math.sqrt(math.pi / 2)  # SE of a normal sample's median, in SDs / sqrt(n)


@dataclass(frozen=True)
class Calibration:
    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    points: int
    samples_per_run: int
    cv_pct: float
    run_sigma_pct: float
    se_pct: float
    noise_floor_pct: float
    mde_pct: float
    threshold_pct: float
    false_positive_rate: float
    recall_at_threshold: float
    verdict: str  # ok | noisy | insufficient
    recommendation: str


def within_run_cv(series: Series) -> tuple[float, int]:
    """(median CV of one sample, typical samples per run) over the series' commits."""
    cvs, ns = [], []
    for row in series.rows:
        if not row.ok:
            continue
        if row.samples and len(row.samples) >= 3:
            s = np.asarray(row.samples, dtype=float)
            if s.mean() > 0:
                cvs.append(float(s.std(ddof=1) / s.mean()))
                ns.append(len(s))
        elif row.quartiles and row.value:
            q25, q75 = row.quartiles
            cvs.append((q75 - q25) / 1.349 / abs(row.value))
            if row.repeat:
                ns.append(row.repeat)
    if not cvs:
        return math.nan, 0
    return float(np.median(cvs)), int(np.median(ns)) if ns else 0


def _sf(z: float) -> float:
    """Upper tail of the standard normal, accurate far out (erfc, not 1 - cdf)."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def error_rates(floor: float, se: float, threshold: float) -> tuple[float, float]:
    """(A/A false-positive rate, recall of a true change of ``threshold``).

    Normal model on the log scale: the rule flags when the estimate exceeds both
    the floor and ``log(1 + T) - 1.96 se`` (the 95 % interval reaches T).
    """
    if not (math.isfinite(se) and se > 0 and math.isfinite(floor)):
        return math.nan, math.nan
    log_t = math.log1p(threshold)
    cut = max(math.log1p(floor), log_t - Z95 * se, Z95 * se)
    return _sf(cut / se), _sf((cut - log_t) / se)


def calibrate_series(series: Series, threshold: float, *, window: int = 30,
                     aa: tuple[str, str] | None = None) -> Calibration:
    values = series.values()
    cv, n = within_run_cv(series)
    if aa is not None:
        i, j = series.index_of(aa[0]), series.index_of(aa[1])
        pair = values[[i, j]] if i is not None and j is not None else np.array([])
        fl = None
        if pair.size == 2 and np.all(np.isfinite(pair)) and np.all(pair > 0):
            # one A/A difference is one draw of the log ratio: |d| ~ half-normal
            d = abs(math.log(pair[1] / pair[0]))
            fl = noise.NoiseFloor(d / 0.6745, "aa", 1)  # median |N(0, s)| = 0.6745 s
    else:
        fl = noise.from_history(values[-window:])
    n_eff = n or 10
    se = math.sqrt(2) * MEDIAN_SE * cv / math.sqrt(n_eff) if math.isfinite(cv) else math.nan
    nan = math.nan

    def make(verdict: str, rec: str, fl_: noise.NoiseFloor | None = None,
             fp: float = nan, recall: float = nan) -> Calibration:
        floor = fl_.floor if fl_ else nan
        mde = fl_.mde(se) if fl_ else nan
        return Calibration(series.benchmark, series.params, series.machine, series.env,
                           int(np.isfinite(values).sum()), n, 100 * cv,
                           100 * fl_.sigma if fl_ else nan, 100 * se, 100 * floor, 100 * mde,
                           100 * threshold, fp, recall, verdict, rec)

    if fl is None or not math.isfinite(fl.sigma) or not math.isfinite(se):
        need = "an A/A pair measured for both commits" if aa else \
            f"at least {noise.MIN_PAIRS + 1} commits with values, and samples or quartiles"
        return make("insufficient", f"needs {need}")
    fp, recall = error_rates(fl.floor, se, threshold)
    if fl.mde(se) <= threshold:
        return make("ok", "", fl, fp, recall)
    if fl.floor >= threshold:
        t = math.ceil(100 * fl.mde(0.0)) + 1
        return make("noisy", f"the noise between runs alone reaches {100 * fl.floor:.1f} %: "
                             f"gate it at >= {t} % or measure on a quieter runner", fl, fp, recall)
    # more samples shrink se: solve floor + z_power * se' <= threshold
    se_needed = (math.log1p(threshold) - math.log1p(fl.floor)) / noise.Z_POWER
    n_needed = math.ceil(n_eff * (se / se_needed) ** 2)
    return make("noisy", f"needs ~{n_needed} samples per commit (has {n_eff}) to gate at "
                         f"{100 * threshold:g} %", fl, fp, recall)


def calibrate(series_list: Sequence[Series], *, thresholds: dict[str, float] | None = None,
              window: int = 30, aa: tuple[str, str] | None = None) -> list[Calibration]:
    from .compare import DEFAULT_THRESHOLDS, metric_of

    thresholds = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    out = []
    for s in series_list:
        if not any(r.ok for r in s.rows):
            continue
        out.append(calibrate_series(s, thresholds[metric_of(s)], window=window, aa=aa))
    return out


FIELDS = ("benchmark", "params", "machine", "env", "points", "samples_per_run", "cv_pct",
          "run_sigma_pct", "se_pct", "noise_floor_pct", "mde_pct", "threshold_pct",
          "false_positive_rate", "recall_at_threshold", "verdict", "recommendation")


def to_dict(items: Sequence[Calibration], meta: dict[str, Any]) -> dict[str, Any]:
    def clean(v: Any) -> Any:
        if isinstance(v, float):
            return round(v, 6) if math.isfinite(v) else None
        return list(v) if isinstance(v, tuple) else v

    counts: dict[str, int] = {}
    for c in items:
        counts[c.verdict] = counts.get(c.verdict, 0) + 1
    return {**meta, "counts": dict(sorted(counts.items())),
            "benchmarks": [{f: clean(getattr(c, f)) for f in FIELDS} for c in items]}


def render(items: Sequence[Calibration], fmt: str, meta: dict[str, Any]) -> str:
    import json

    from .render import markdown as md
    from .render import text as rtext

    if fmt == "json":
        return json.dumps(to_dict(items, meta), indent=2, allow_nan=False) + "\n"

    def p(v: float) -> str:
        return f"{v:.1f}%" if math.isfinite(v) else "n/a"

    def r(v: float) -> str:
        return f"{100 * v:.2f}%" if math.isfinite(v) else "n/a"

    head = ["benchmark", "cv", "floor", "mde", "threshold", "false pos.", "recall", "verdict"]
    label = lambda c: f"{c.benchmark}({', '.join(c.params)})" if c.params else c.benchmark  # noqa: E731
    rows = [[label(c), p(c.cv_pct), p(c.noise_floor_pct), p(c.mde_pct), p(c.threshold_pct),
             r(c.false_positive_rate), r(c.recall_at_threshold),
             c.verdict + (f": {c.recommendation}" if c.recommendation else "")] for c in items]
    counts = to_dict(items, {})["counts"]
    summary = ", ".join(f"{v} {k}" for k, v in counts.items()) or "no series"
    if fmt == "markdown":
        rows = [[md.escape(x[0])] + x[1:-1] + [md.escape(x[-1])] for x in rows]
        return f"**Calibration: {summary}**\n\n" + md.table(head, rows, "lrrrrrrl")
    return f"calibration: {summary}\n\n" + rtext.table(head, rows, "lrrrrrrl")


EPILOG = """\
examples:
  benchwatch calibrate                                 every series, last 30 commits
  benchwatch calibrate --suite ci-fast --format json --output calibration.json
  benchwatch calibrate --aa 1a2b3c4d 5e6f7a8b          two runs of identical code

verdicts: ok (the gate can decide at the threshold), noisy (it cannot; the
recommendation says what would fix it), insufficient (too little data).

exit codes: 0 done, 2 usage or data error.
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    from pathlib import Path

    from . import cli_results

    p = subparsers.add_parser(
        "calibrate", help="per-benchmark noise, detectable effect and gate error rates",
        description="Estimate each benchmark's noise, minimum detectable effect and the "
                    "gate's false-positive rate and recall at its threshold; recommend "
                    "thresholds or sample counts where the gate cannot decide.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--window", metavar="N", type=int, default=30,
                   help="history commits per series (default: 30)")
    p.add_argument("--aa", nargs=2, metavar=("BASE", "HEAD"),
                   help="two commits of identical code: their difference is the noise")
    p.add_argument("--suite", metavar="NAME[:VERSION]",
                   help="use this suite's gate thresholds (configs/suites.yaml)")
    p.add_argument("--config", metavar="PATH", type=Path, help="suite config file")
    cli_results.add_arguments(p, ("text", "markdown", "json"))
    p.set_defaults(func=run_calibrate)


def run_calibrate(args: argparse.Namespace) -> int:
    from . import cli_results, history
    from .errors import UserError
    from .output import emit

    if args.window < noise.MIN_PAIRS + 1:
        raise UserError(f"--window {args.window}: needs at least {noise.MIN_PAIRS + 1} commits")
    thresholds = None
    if args.suite:
        from . import suite_config
        from .cli_config import find_config

        from .compare import thresholds_of

        thresholds = thresholds_of(suite_config.resolve(
            suite_config.load(args.config or find_config()), args.suite).gates)
    loaded = cli_results.load(args)
    aa = None
    if args.aa:
        aa = (history.resolve_commit(loaded.rows, args.aa[0]),
              history.resolve_commit(loaded.rows, args.aa[1]))
    series = history.build(loaded.rows, repo=args.repo)
    items = calibrate(series, thresholds=thresholds, window=args.window, aa=aa)
    meta = {"window": args.window, "aa": list(aa) if aa else None,
            "fp_alpha": noise.FP_ALPHA, "power": noise.POWER}
    emit(render(items, args.format, meta), args.output)
    return 0
