"""benchwatch trends: slopes against scipy and naive references, directions, the CLI."""

import csv
import io
import json
import math
from pathlib import Path

import naive
import numpy as np
import pytest
from scipy import stats as sp

from benchwatch import history, stats, trends
from benchwatch.cli import main
from benchwatch.results import Row

_METPY_REL = Path("data/real-asv/metpy-benchmark/results")
METPY = next((base / _METPY_REL for base in (Path(__file__).resolve().parents[2] / "shared",
                                              Path("/work/shared"))
              if (base / _METPY_REL).is_dir()), Path("/work/shared") / _METPY_REL)

DAY = trends.DAY_MS
T0 = 1_577_836_800_000  # 2020-01-01T00:00:00Z: the window ends at the data, not today


def _rows(values, *, bench="m.time_x", unit="seconds", days=None, params=(), version="1",
          machine="box", env="env", offset=0):
    days = range(len(values)) if days is None else days
    return [Row(bench, tuple(params), machine, env, f"{offset + i:040x}",
                None if d is None else int(T0 + d * DAY), v, unit, version)
            for i, (d, v) in enumerate(zip(days, values))]


def _one(rows, days=30, **kw):
    report = trends.analyse(history.build(rows), days, **kw)
    assert len(report.trends) == 1
    return report.trends[0]


# --------------------------------------------------------------------------- statistics


def _data(kind):
    rng = np.random.default_rng(11)
    if kind == "distinct":
        x = np.sort(rng.uniform(-30, 0, 40))
        y = 5 + 0.02 * x + rng.normal(0, 0.1, 40)
    elif kind == "ties":  # several commits a day, values at a 0.05 resolution
        x = np.sort(np.round(rng.uniform(-20, 0, 45)))
        y = np.round((5 - 0.01 * x + rng.normal(0, 0.1, 45)) * 20) / 20
    elif kind == "unsorted-min":
        x = rng.permutation(np.arange(10.0))
        y = rng.normal(0, 1, 10)
    else:
        raise AssertionError(kind)
    return x, y


@pytest.mark.parametrize("kind", ["distinct", "ties", "unsorted-min"])
def test_least_squares_matches_linregress(kind):
    x, y = _data(kind)
    fit = stats.least_squares(x, y)
    ref = sp.linregress(x, y)
    assert fit.slope == pytest.approx(ref.slope, rel=1e-12)
    assert fit.intercept == pytest.approx(ref.intercept, rel=1e-12, abs=1e-12)
    assert fit.r2 == pytest.approx(ref.rvalue ** 2, rel=1e-12)


def test_least_squares_constant_inputs():
    assert stats.least_squares([0, 1, 2], [3.0, 3.0, 3.0]) == stats.LinearFit(0.0, 3.0, 0.0)
    assert math.isnan(stats.least_squares([1, 1, 1], [1.0, 2.0, 3.0]).slope)


@pytest.mark.parametrize("kind", ["distinct", "ties", "unsorted-min"])
def test_theil_sen_matches_scipy_and_naive(kind):
    x, y = _data(kind)
    slope = stats.theil_sen(x, y)
    assert slope == sp.theilslopes(y, x).slope
    assert slope == pytest.approx(naive.naive_theil_sen(list(x), list(y)), rel=1e-12)


@pytest.mark.parametrize("kind", ["distinct", "ties", "unsorted-min"])
def test_mann_kendall_matches_naive_and_scipy(kind):
    x, y = _data(kind)
    mk = stats.mann_kendall(x, y)
    s, var, p = naive.naive_mann_kendall(list(x), list(y))
    assert mk.s == s
    assert mk.var_s == pytest.approx(var, rel=1e-12)
    assert mk.p_value == pytest.approx(p, rel=1e-12)
    assert mk.p_value == pytest.approx(
        sp.kendalltau(x, y, method="asymptotic").pvalue, rel=1e-9)


def test_ties_change_the_variance():
    x, y = _data("ties")
    assert len(np.unique(x)) < x.size and len(np.unique(y)) < y.size
    n = x.size
    assert stats.mann_kendall(x, y).var_s < n * (n - 1) * (2 * n + 5) / 18


def test_all_tied_values_are_no_trend():
    mk = stats.mann_kendall(np.arange(12.0), np.full(12, 2.5))
    assert (mk.s, mk.p_value) == (0, 1.0)


def _kernel_path(x, y, **kw):
    args = {"exact_pairs": stats.TS_EXACT_PAIRS, "n_sample": stats.TS_SAMPLE,
            "margin_se": stats.TS_MARGIN_SE}
    args.update(kw)
    order = np.argsort(x, kind="stable")
    return stats._theil_sen_s(x[order], y[order], **args)


@pytest.mark.parametrize("n, ties", [(420, False), (450, True), (401, False)])
def test_large_inputs_take_the_bracket_and_stay_exact(n, ties):
    rng = np.random.default_rng(n)
    x = rng.uniform(-300, 0, n)
    x = np.round(x) if ties else x
    y = 1 + 0.001 * x + rng.standard_t(2, n) * 0.05  # heavy tails: outliers
    slope, s, path = _kernel_path(x, y)
    assert path == 1  # more than TS_EXACT_PAIRS pairs: the sampled bracket held
    assert slope == sp.theilslopes(y, x).slope
    mk = stats.mann_kendall(x, y)
    assert mk.s == s
    assert mk.p_value == pytest.approx(sp.kendalltau(x, y, method="asymptotic").pvalue,
                                       rel=1e-9)


def test_a_missed_bracket_falls_back_to_all_slopes():
    x, y = _data("ties")
    ref = sp.theilslopes(y, x).slope
    paths = set()
    for n_sample in (3, 4, 5, 6, 7, 8, 9, 11, 13):  # tiny samples, no margin: brackets miss
        slope, _, path = _kernel_path(x, y, exact_pairs=0, n_sample=n_sample, margin_se=0.0)
        assert slope == ref
        paths.add(path)
    assert paths == {1, 2}
    assert _kernel_path(x, y)[2] == 0  # few pairs: every slope, no sampling


# --------------------------------------------------------------------------- directions


def _drift(pct_per_day, n=60, noise=0.0005, seed=1):
    rng = np.random.default_rng(seed)
    day = np.arange(n, dtype=float)
    return 0.010 * (1 + pct_per_day / 100 * day) * (1 + rng.normal(0, noise, n))


def test_planted_drift_degrades_time_and_improves_ops():
    values = _drift(0.1)  # +0.1 % a day: +3 % per 30 days
    t = _one(_rows(values), days=60)
    x = np.arange(60.0) - 59
    level = float(np.median(values))
    ref = sp.linregress(x, values)
    assert t.points == 60
    assert t.direction == "degrading"
    assert t.theil_sen_pct_per_30d == pytest.approx(
        sp.theilslopes(values, x).slope * 30 / level * 100, rel=1e-12)
    assert t.slope_pct_per_30d == pytest.approx(ref.slope * 30 / level * 100, rel=1e-12)
    assert t.r2 == pytest.approx(ref.rvalue ** 2, rel=1e-12)
    assert t.significance == "High"
    assert t.mann_kendall_p == pytest.approx(
        sp.kendalltau(x, values, method="asymptotic").pvalue, rel=1e-9)
    assert 2.5 < t.theil_sen_pct_per_30d < 3.5

    ops = _one(_rows(values, bench="m.track_throughput", unit="ops/s"), days=60)
    assert ops.direction == "improving"
    assert ops.theil_sen_pct_per_30d == t.theil_sen_pct_per_30d

    faster = _one(_rows(_drift(-0.1)), days=60)
    assert faster.direction == "improving" and faster.theil_sen_pct_per_30d < -2.5


def test_pure_noise_is_stable():
    rng = np.random.default_rng(7)
    values = 0.010 * (1 + rng.normal(0, 0.01, 60))
    t = _one(_rows(values), days=60)
    x = np.arange(60.0) - 59
    p = sp.kendalltau(x, values, method="asymptotic").pvalue
    assert t.mann_kendall_p == pytest.approx(p, rel=1e-9)
    assert t.mann_kendall_p >= 0.05
    assert t.direction == "stable"
    assert t.significance == "Low"


def test_significant_but_tiny_slope_is_stable_unless_threshold_lowered():
    values = _drift(0.01, noise=0.00002)  # +0.3 % per 30 days, nearly noiseless
    t = _one(_rows(values), days=60)
    assert t.mann_kendall_p < 1e-6 and 0.25 < t.theil_sen_pct_per_30d < 0.35
    assert t.direction == "stable"
    assert _one(_rows(values), days=60, stable_pct=0.1).direction == "degrading"


def test_alpha_decides_with_a_weak_trend():
    values = _drift(0.1, noise=0.08, seed=3)
    t = _one(_rows(values), days=60)
    assert 0.001 < t.mann_kendall_p < 0.5
    assert _one(_rows(values), days=60, alpha=t.mann_kendall_p * 1.01).direction != "stable"
    assert _one(_rows(values), days=60, alpha=t.mann_kendall_p).direction == "stable"


@pytest.mark.parametrize("r2, label", [(0.71, "High"), (0.7, "Medium"), (0.41, "Medium"),
                                       (0.4, "Low"), (0.0, "Low")])
def test_significance_labels(r2, label):
    assert trends.significance(r2) == label


def test_direction_rules():
    assert trends.direction(0.1, 5.0, 0.01, False) == "degrading"
    assert trends.direction(0.1, 5.0, 0.01, True) == "improving"
    assert trends.direction(-0.1, -5.0, 0.01, False) == "improving"
    assert trends.direction(0.1, 5.0, 0.05, False) == "stable"
    assert trends.direction(0.1, 0.99, 0.001, False) == "stable"
    assert trends.direction(0.0, 0.0, 0.001, False) == "stable"
    assert trends.direction(0.1, None, 0.001, False) == "degrading"  # median level 0


# --------------------------------------------------------------------------- window


def test_window_ends_at_newest_result_and_counts_points():
    rows = _rows([1.0] * 9 + [None, math.nan], days=range(20, 31))  # 9 finite
    rows += _rows(np.linspace(1, 2, 10), bench="m.time_edge", days=range(10))  # old
    rows += _rows(np.linspace(1, 2, 10), bench="m.time_in", days=[10, *range(22, 31)])
    rows += _rows([1.0] * 12, bench="m.time_one_day", days=[30] * 12, offset=100)
    report = trends.analyse(history.build(rows), 20)
    assert report.end_ms == T0 + 30 * DAY
    assert report.start_ms == T0 + 10 * DAY
    assert report.outside_window == 1  # m.time_edge: every result before the window
    by = {t.benchmark: t for t in report.trends}
    assert set(by) == {"m.time_x", "m.time_in", "m.time_one_day"}
    assert (by["m.time_x"].points, by["m.time_x"].direction) == (9, "insufficient data")
    assert by["m.time_x"].theil_sen_pct_per_30d is None and by["m.time_x"].median == 1.0
    # the window's first day is included: 10 points, analysed
    assert by["m.time_in"].points == 10 and by["m.time_in"].direction == "degrading"
    # twelve results of one date give no time axis
    assert by["m.time_one_day"].direction == "insufficient data"
    assert [t.benchmark for t in report.trends] == ["m.time_in", "m.time_one_day", "m.time_x"]


def test_results_without_dates_are_left_out():
    rows = _rows(np.linspace(1, 2, 12), days=[None, None, *range(10)])
    assert _one(rows, days=30).points == 10


def test_versions_are_separate_series():
    rows = _rows(_drift(0.1, n=12), version="1") + _rows(
        _drift(-0.1, n=12), days=range(12, 24), version="2", offset=50)
    report = trends.analyse(history.build(rows), 30)
    assert [(t.version, t.direction) for t in report.trends] == [("1", "degrading"),
                                                                  ("2", "improving")]
    assert "m.time_x [v1]" in trends.render(report, "text")


def test_order_is_worst_first():
    rows = (_rows(_drift(0.1), bench="a.time_up") + _rows(_drift(0.3), bench="b.time_up")
            + _rows(_drift(-0.2), bench="c.time_down") + _rows([1.0] * 60, bench="d.time_flat")
            + _rows([1.0] * 3, bench="e.time_few", days=range(57, 60)))
    report = trends.analyse(history.build(rows), 30)
    assert [(t.benchmark, t.direction) for t in report.trends] == [
        ("b.time_up", "degrading"), ("a.time_up", "degrading"), ("c.time_down", "improving"),
        ("d.time_flat", "stable"), ("e.time_few", "insufficient data")]


# --------------------------------------------------------------------------- CLI


COLUMNS = ["result", "params", "version", "started_at", "duration"]
NASTY = "m.time_a|b<img src=x>"


def _results_dir(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    (root / "box").mkdir(parents=True)
    (root / "box" / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    (root / "benchmarks.json").write_text(json.dumps({
        "m.track_ops": {"unit": "ops/s", "params": [["1", "2"]], "version": "1"},
        NASTY: {"unit": "seconds", "version": "1"}, "version": 2}))
    up, down = _drift(0.2, n=15), _drift(-0.2, n=15, seed=2)
    for i in range(15):
        commit = f"{i + 1:08x}" + "0" * 32
        (root / "box" / f"{commit[:8]}-env.json").write_text(json.dumps({
            "commit_hash": commit, "env_name": "env", "date": T0 + i * DAY,
            "params": {"machine": "box"}, "result_columns": COLUMNS, "version": 2,
            "results": {"m.track_ops": [[float(up[i]), float(down[i])], [["1", "2"]], "1", 0, 1],
                        NASTY: [[float(up[i])], [], "1", 0, 1]}}))
    return root


def test_cli_json(tmp_path, capsys):
    assert main(["trends", "--results-dir", str(_results_dir(tmp_path)), "--format",
                 "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["window_days"] == 30
    assert (out["start_date"], out["end_date"]) == ("2019-12-16T00:00:00Z",
                                                    "2020-01-15T00:00:00Z")
    assert out["series_outside_window"] == 0
    fields = ["benchmark", "params", "machine", "env", "version", "unit", "points", "median",
              "slope_pct_per_30d", "r2", "significance", "theil_sen_pct_per_30d",
              "mann_kendall_p", "direction"]
    assert all(list(t) == fields for t in out["trends"])
    got = [(t["benchmark"], t["params"], t["unit"], t["points"], t["direction"])
           for t in out["trends"]]
    assert got == [("m.track_ops", ["2"], "ops/s", 15, "degrading"),
                   (NASTY, [], "seconds", 15, "degrading"),
                   ("m.track_ops", ["1"], "ops/s", 15, "improving")]


def test_cli_csv_markdown_text(tmp_path, capsys):
    d = str(_results_dir(tmp_path))
    assert main(["trends", "--results-dir", d, "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][:3] == ["benchmark", "params", "machine"] and len(table) == 4
    assert table[1][:2] == ["m.track_ops", "2"] and table[1][-1] == "degrading"

    assert main(["trends", "--results-dir", d, "--format", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "<img" not in md and "&lt;img" in md and "a\\|b" in md
    assert md.count("\n| ") == 5  # header, rule, three rows

    out = tmp_path / "t.txt"
    assert main(["trends", "--results-dir", d, "--output", str(out)]) == 0
    text = out.read_text().splitlines()
    assert text[0] == ("trends over 30 days, 2019-12-16 .. 2020-01-15: 3 series: 2 degrading, "
                       "1 improving, 0 stable, 0 insufficient data")
    assert text[2].split()[:3] == ["benchmark", "points", "OLS"]


def test_cli_errors(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["trends", "--days", "0", "--results-dir", str(tmp_path)])
    assert exc.value.code == 2
    for bad in (["--alpha", "1"], ["--alpha", "x"], ["--stable-pct", "-1"],
                ["--stable-pct", "nan"], ["--days", "1.5"]):
        with pytest.raises(SystemExit) as exc:
            main(["trends", *bad, "--results-dir", str(tmp_path)])
        assert exc.value.code == 2
    capsys.readouterr()
    assert main(["trends", "--results-dir", str(tmp_path / "none")]) == 2
    assert "results directory not found" in capsys.readouterr().err


@pytest.mark.skipif(not METPY.is_dir(), reason="MetPy results not present")
def test_cli_on_metpy_history(capsys):
    assert main(["trends", "--results-dir", str(METPY), "--days", "400", "--format",
                 "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["end_date"] == "2026-06-03T17:06:44Z"
    assert len(out["trends"]) == 128
    assert [t["direction"] for t in out["trends"]].count("stable") == 126
    top = out["trends"][0]
    assert (top["benchmark"], top["points"], top["direction"], top["significance"]) == (
        "math_fctn_benchmarks.TimeSuite.time_cross_section_components", 38, "degrading", "High")
    assert top["theil_sen_pct_per_30d"] == pytest.approx(1.2665727188014728, rel=1e-12)
    # the same figure straight from scipy on the loader's rows
    from benchwatch import results

    rows = [r for r in results.load(METPY).rows if r.benchmark == top["benchmark"]
            and r.ok and r.date >= 1780506404000 - 400 * DAY]
    x = np.array([(r.date - 1780506404000) / DAY for r in rows])
    y = np.array([r.value for r in rows])
    assert len(rows) == 38
    assert top["theil_sen_pct_per_30d"] == pytest.approx(
        sp.theilslopes(y, x).slope * 30 / np.median(y) * 100, rel=1e-12)

    assert main(["trends", "--results-dir", str(METPY), "--format", "json"]) == 0
    short = json.loads(capsys.readouterr().out)
    assert {t["direction"] for t in short["trends"]} == {"insufficient data"}
    assert len(short["trends"]) == 128
