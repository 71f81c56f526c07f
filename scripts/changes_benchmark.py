"""Change-point detectors side by side on a labelled synthetic corpus, and a speed run.

Detectors, all on the same series (``tests/changepoint_corpus.py``):

- ``benchwatch``: ``benchwatch.changepoint.detect`` with each commit's standard error
  from its samples (what ``benchwatch changes`` does when asv kept samples);
- ``benchwatch-ci``: the same with the SE from asv's stored 99 % CI only (``asv run``
  histories);
- ``benchwatch-values``: the same on the values alone (no samples, no CI);
- ``benchwatch-min2%``: samples, with the noise threshold at 2 % instead of 4 %;
- ``asv``: the boundaries of ``asv.step_detect.detect_steps`` (its Potts model with
  ``solve_potts_autogamma``) on the values, weighted as ``asv publish`` weights them
  (2 / CI width); every step boundary counts, in both directions;
- ``otava``: Apache Otava 0.8.0 ``compute_change_points`` (window 50, p = 0.001, its
  defaults) in a separate virtualenv (``--otava-python``), through a subprocess.

A detected change counts when within 2 commits of a planted one. Precision, recall and
F1 per noise level and overall are printed as a markdown table.

Speed: ``--speed-series`` series of ``--speed-commits`` commits through
``benchwatch.changes.analyse`` (standard errors from samples, the detector, the report
objects), wall time printed; then the same data with one commit more, resumed from the
cache, to show the incremental work.

    .venv/bin/python scripts/changes_benchmark.py --otava-python /tmp/otava-venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "src"))

import changepoint_corpus as corpus

from benchwatch import changepoint

#: Ablation: the noise threshold at 2 % instead of 4 % (what slow drift costs).
MIN_CHANGE_2 = changepoint.DetectorConfig(min_change_pct=2.0)

OTAVA_PROGRAM = """
import json, sys
from otava.analysis import compute_change_points
out = []
for values in json.load(sys.stdin):
    cps, _ = compute_change_points(values, window_len=50, max_pvalue=0.001)
    out.append([int(c.index) for c in cps])
json.dump(out, sys.stdout)
"""


def ours(s: corpus.LabelledSeries, source: str,
         config: changepoint.DetectorConfig = changepoint.DEFAULT_CONFIG) -> list[int]:
    if source == "samples":
        se = s.se()
    elif source == "ci":
        from benchwatch.stats import se_from_asv_ci

        se = np.array([se_from_asv_ci(v, tuple(ci)) * v for v, ci in zip(s.values, s.ci_99)])
    else:
        se = None
    return [c.index for c in changepoint.detect(s.values, se, config).changes]


def asv_steps(s: corpus.LabelledSeries) -> list[int]:
    from asv import step_detect

    w = [2.0 / abs(b - a) for a, b in s.ci_99]  # asv._stats.get_weight
    steps = step_detect.detect_steps(list(map(float, s.values)), w)
    return [left for left, *_ in steps[1:]]


def otava(series: list[corpus.LabelledSeries], python: str) -> list[list[int]]:
    data = json.dumps([list(map(float, s.values)) for s in series])
    proc = subprocess.run([python, "-c", OTAVA_PROGRAM], input=data, capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"otava failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def accuracy(args: argparse.Namespace) -> dict:
    series = corpus.make_corpus(args.series, n_commits=args.commits, seed=args.seed)
    found: dict[str, list[list[int]]] = {}
    seconds: dict[str, float] = {}
    runs = {"benchwatch": lambda s: ours(s, "samples"), "benchwatch-ci": lambda s: ours(s, "ci"),
            "benchwatch-values": lambda s: ours(s, "values"),
            "benchwatch-min2%": lambda s: ours(s, "samples", MIN_CHANGE_2), "asv": asv_steps}
    for name, fn in runs.items():
        t0 = time.perf_counter()
        found[name] = [fn(s) for s in series]
        seconds[name] = time.perf_counter() - t0
    if args.otava_python:
        t0 = time.perf_counter()
        try:
            found["otava"] = otava(series, args.otava_python)
            seconds["otava"] = time.perf_counter() - t0
        except (OSError, RuntimeError) as exc:
            print(f"otava: not run: {exc}", file=sys.stderr)
    table = {}
    for name, per_series in found.items():
        by_level = {lvl: corpus.Score(0, 0, 0) for lvl in corpus.NOISE_LEVELS}
        for s, f in zip(series, per_series):
            by_level[s.noise_level] += corpus.match(s.change_points, f)
        by_level["overall"] = sum(by_level.values(), corpus.Score(0, 0, 0))
        table[name] = by_level
    planted = sum(len(s.change_points) for s in series)
    print(f"corpus: {len(series)} series x {args.commits} commits, seed {args.seed}, "
          f"{planted} planted changes, "
          f"{sum(len(s.outliers) for s in series)} outlier commits\n")
    print("| detector | noise | precision | recall | F1 | TP | FP | FN |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, by_level in table.items():
        for lvl, sc in by_level.items():
            print(f"| {name} | {lvl} | {sc.precision:.3f} | {sc.recall:.3f} | {sc.f1:.3f} | "
                  f"{sc.tp} | {sc.fp} | {sc.fn} |")
    print("\nseconds: " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()))
    return {name: {lvl: {"precision": sc.precision, "recall": sc.recall, "f1": sc.f1,
                         "tp": sc.tp, "fp": sc.fp, "fn": sc.fn} for lvl, sc in t.items()}
            for name, t in table.items()}


def speed(args: argparse.Namespace) -> None:
    from benchwatch import changes, history

    rng = np.random.default_rng(args.seed + 1)
    levels = list(corpus.NOISE_LEVELS)
    rows = []
    for i in range(args.speed_series):
        s = corpus.make_series(rng, n_commits=args.speed_commits + 1,
                               noise_level=levels[i % 3], name=f"speed{i:04d}")
        rows.extend(corpus.to_rows(s))
    cut = {corpus.commit_hash(f"speed{i:04d}", args.speed_commits)
           for i in range(args.speed_series)}
    old_rows = [r for r in rows if r.commit not in cut]
    series = history.build(old_rows, order=_order(old_rows))
    changepoint.detect(np.ones(10))  # numba compiles (or loads its cache) outside the timing
    with tempfile.TemporaryDirectory() as tmp:
        cache = changes.Cache(Path(tmp) / "changes.json", changepoint.DEFAULT_CONFIG.fingerprint())
        t0 = time.perf_counter()
        full = changes.analyse(series, cache=cache)
        t_full = time.perf_counter() - t0
        cache.save()
        print(f"\nspeed: {full.series} series x {args.speed_commits} commits from scratch: "
              f"{t_full:.2f} s, {full.points_examined} points examined in {full.windows} "
              f"windows, {len(full.change_points)} change points")
        series2 = history.build(rows, order=_order(rows))
        cache2 = changes.Cache(Path(tmp) / "changes.json", changepoint.DEFAULT_CONFIG.fingerprint())
        t0 = time.perf_counter()
        inc = changes.analyse(series2, cache=cache2)
        t_inc = time.perf_counter() - t0
        t0 = time.perf_counter()
        scratch = changes.analyse(series2)
        t_scratch = time.perf_counter() - t0
        same = inc.change_points == scratch.change_points
        print(f"speed: one commit more, resumed from the cache: {t_inc:.2f} s, "
              f"{inc.points_examined} points examined ({inc.resumed} series resumed); "
              f"from scratch {t_scratch:.2f} s, {scratch.points_examined} points; "
              f"same change points: {same}")


def _order(rows) -> list[str]:
    """Commit order of the synthetic rows: by date, then by hash (as history does)."""
    from benchwatch import history

    return history.commit_order(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--series", type=int, default=300)
    ap.add_argument("--commits", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--otava-python", metavar="PYTHON",
                    help="python of a virtualenv with apache-otava installed")
    ap.add_argument("--speed-series", type=int, default=500)
    ap.add_argument("--speed-commits", type=int, default=1000)
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--json", metavar="FILE", type=Path, help="also write the scores as JSON")
    args = ap.parse_args()
    scores = accuracy(args)
    if args.json:
        args.json.write_text(json.dumps(scores, indent=2) + "\n")
    if not args.no_speed:
        speed(args)


if __name__ == "__main__":
    main()
