"""benchwatch changes: the detector, its kernels, the incremental cache, the reports.

Detector kernels are compared with their plain-Python twins in tests/naive.py; the
planted-shift tests recompute the reported figures independently (geometric means,
scipy's t-test); the accuracy targets are checked on a small seeded corpus
(tests/changepoint_corpus.py; scripts/changes_benchmark.py runs the full-size one).
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path
from xml.etree import ElementTree as ET

import changepoint_corpus as corpus
import naive
import numpy as np
import pytest
from scipy import stats as sp

from benchwatch import changepoint, changes, history
from benchwatch import stats as bstats
from benchwatch.changepoint import DetectorConfig, detect
from benchwatch.cli import main
from benchwatch.results import Row

METPY = Path("/work/shared/data/real-asv/metpy-benchmark/results")
ATOM = "{http://www.w3.org/2005/Atom}"
JSON_FIELDS = {"benchmark", "params", "machine", "commit", "previous_commit", "date", "before",
               "after", "change_pct", "p_value", "direction"}


def _noise(n, cv, seed):
    return np.exp(np.random.default_rng(seed).normal(0.0, cv, n))


# ----------------------------------------------------------------------------- corpus


def test_corpus_is_deterministic_and_labelled():
    a = corpus.make_corpus(6, seed=3)
    b = corpus.make_corpus(6, seed=3)
    c = corpus.make_corpus(6, seed=4)
    for x, y in zip(a, b):
        assert np.array_equal(x.samples, y.samples) and x.change_points == y.change_points
        assert np.array_equal(x.values, np.median(x.samples, axis=1))
    assert not np.array_equal(a[0].samples, c[0].samples)
    assert [s.noise_level for s in a] == ["low", "medium", "high"] * 2
    for s in a + c:
        cps = s.change_points
        assert len(cps) <= 4 and all(corpus.EDGE <= p < 300 - corpus.EDGE for p in cps)
        assert all(q - p >= corpus.MIN_GAP for p, q in itertools.pairwise(cps))
        lo, hi = corpus.NOISE_LEVELS[s.noise_level]
        assert lo <= s.cv <= hi


def test_corpus_ci_is_asvs_own():
    from asv_runner.statistics import compute_stats

    s = corpus.make_corpus(1, seed=5)[0]
    for i in (0, 7, 150, 299):
        value, st = compute_stats(list(s.samples[i]), 1)
        assert value == pytest.approx(s.values[i], rel=1e-12)
        assert (st["ci_99_a"], st["ci_99_b"]) == pytest.approx(tuple(s.ci_99[i]), rel=1e-12)


def test_match_is_one_to_one_within_tolerance():
    sc = corpus.match((10, 12, 50), [11, 13, 53, 90])
    assert (sc.tp, sc.fp, sc.fn) == (2, 2, 1)
    empty = corpus.match((), [])
    assert (empty.precision, empty.recall, empty.f1) == (1.0, 1.0, 1.0)


# ----------------------------------------------------------------------------- kernels


@pytest.mark.parametrize("seed", range(12))
def test_optimal_partition_matches_naive(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 40))
    y = np.round(rng.normal(0, 1, n) + np.repeat(rng.normal(0, 3, 4), -(-n // 4))[:n], 1)
    if seed == 0:
        y[:] = 2.0  # constant
    w = rng.uniform(0.2, 3.0, n)
    for penalty, min_size in ((1.0, 2), (4.0, 3), (0.1, 5)):
        got = list(changepoint._optimal_partition(y, w, penalty, min_size))
        assert got == naive.naive_optimal_partition(list(y), list(w), penalty, min_size)


@pytest.mark.parametrize("seed", range(8))
def test_outlier_mask_matches_naive(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    y = rng.normal(0, 1, n)
    y[rng.random(n) < 0.15] += 8.0
    sd = rng.uniform(0.5, 1.5, n)
    got = list(changepoint._outlier_mask(y, sd, 3, 4.0))
    assert got == naive.naive_outlier_mask(list(y), list(sd), 3, 4.0)


def test_weighted_mean_test_against_naive_and_scipy():
    rng = np.random.default_rng(1)
    y1, y2 = rng.normal(0, 1, 12), rng.normal(0.8, 1, 9)
    w1, w2 = rng.uniform(0.5, 2, 12), rng.uniform(0.5, 2, 9)
    assert bstats.weighted_mean_test(y1, w1, y2, w2) == pytest.approx(
        naive.naive_weighted_mean_test(list(y1), list(w1), list(y2), list(w2)), rel=1e-10)
    # equal weights: Student's pooled t-test
    _, _, p = bstats.weighted_mean_test(y1, np.ones(12), y2, np.ones(9))
    assert p == pytest.approx(sp.ttest_ind(y1, y2).pvalue, rel=1e-10)
    assert bstats.weighted_mean_test([1, 1], [1, 1], [2, 2], [1, 1])[2] == 0.0
    assert bstats.weighted_mean_test([1, 1], [1, 1], [1, 1], [1, 1])[2] == 1.0


def test_se_of_median_rows_match_single():
    rng = np.random.default_rng(2)
    x = rng.lognormal(0, 0.1, (5, 10))
    x[4, 3:] = np.nan
    rows = bstats.se_of_median(x)
    assert rows[:4] == pytest.approx([bstats.se_of_median(r) for r in x[:4]], rel=1e-12)
    assert rows[4] == pytest.approx(bstats.se_of_median(x[4, :3]), rel=1e-12)
    assert math.isnan(bstats.se_of_median([1.0]))


def test_config_is_validated():
    with pytest.raises(ValueError, match="window"):
        DetectorConfig(window=8)
    with pytest.raises(ValueError, match="alpha"):
        DetectorConfig(alpha=0)
    with pytest.raises(ValueError, match="one per"):
        detect([1.0, 2.0], se=[1.0])


# ----------------------------------------------------------------------------- detector


def test_one_planted_shift_exact_position_and_figures():
    v = 2.0 * _noise(60, 0.01, 7)
    v[30:] *= 1.10
    (ch,) = detect(v).changes
    assert (ch.index, ch.previous, ch.provisional) == (30, 29, True)
    # equal weights (no SE given): the levels are geometric means, the p-value Student's
    logs = np.log(v)
    assert ch.before == pytest.approx(math.exp(logs[:30].mean()), rel=1e-12)
    assert ch.after == pytest.approx(math.exp(logs[30:].mean()), rel=1e-12)
    assert ch.change_pct == pytest.approx(100 * (ch.after / ch.before - 1), rel=1e-9)
    assert ch.p_value == pytest.approx(sp.ttest_ind(logs[:30], logs[30:]).pvalue, rel=1e-6)
    assert round(ch.change_pct, 2) == 10.45


def test_two_shifts_an_outlier_and_confirmation():
    v = 1e-3 * _noise(300, 0.02, 11)
    v[120:] *= 1.08
    v[200:] *= 0.90
    v[60] *= 1.5  # one disturbed run: not a change
    det = detect(v)
    assert [(c.index, c.provisional) for c in det.changes] == [(120, False), (200, False)]
    assert [round(c.change_pct, 1) for c in det.changes] == [7.7, -10.0]  # planted +8, -10


def test_no_changes_on_constant_or_pure_noise():
    assert detect(np.full(200, 3.5)).changes == ()
    for seed in range(5):
        v = _noise(300, 0.03, 100 + seed)
        v[np.random.default_rng(seed).integers(0, 300, 6)] *= 1.4  # outliers
        assert detect(v).changes == (), seed


def test_nan_and_failed_values_are_skipped():
    v = 5.0 * _noise(80, 0.01, 3)
    v[40:] *= 1.2
    v[[0, 10, 39, 40, 41, 79]] = np.nan
    v[20] = np.inf
    (ch,) = detect(v).changes
    assert (ch.index, ch.previous) == (42, 38)
    assert detect(np.full(10, np.nan)).changes == ()
    assert detect([]).changes == ()


def test_values_at_or_below_zero_use_a_linear_scale():
    v = np.r_[np.zeros(30), np.ones(30)] + np.random.default_rng(0).normal(0, 0.01, 60)
    (ch,) = detect(v).changes
    assert ch.index == 30 and ch.before == pytest.approx(v[:30].mean(), rel=1e-12)


def test_within_commit_spread_weights_commits():
    """A commit that reports a wide spread counts less: with SEs, a jump made of noisy
    commits is not a level shift."""
    v = _noise(100, 0.01, 21)
    se = np.full(100, 0.005)
    v[50:56] *= 1.06  # six commits up ...
    se[50:56] = 0.2  # ... that say themselves they are noise
    assert detect(v, se).changes == ()
    assert [c.index for c in detect(v).changes] == [50, 56]


# ----------------------------------------------------------------------------- incremental


def test_incremental_equals_from_scratch_and_does_less_work():
    s = corpus.make_corpus(3, seed=8)[2]
    se = s.se()
    for n in range(200, 300, 7):
        full = detect(s.values[:n + 1], se[:n + 1])
        prev = detect(s.values[:n], se[:n])
        inc = detect(s.values[:n + 1], se[:n + 1], state=prev.state)
        assert inc.changes == full.changes and inc.state == full.state
        assert inc.points_examined < full.points_examined


def _rows(series_list, n=None, **kw):
    return [r for s in series_list for r in corpus.to_rows(s, n=n, **kw)]


def test_cache_resumes_every_series_and_matches_scratch(tmp_path):
    cs = corpus.make_corpus(6, seed=9)
    fp = changepoint.DEFAULT_CONFIG.fingerprint()
    path = tmp_path / "cache" / "changes.json"
    c1 = changes.Cache(path, fp)
    changes.analyse(history.build(_rows(cs, n=299)), cache=c1)
    c1.save()
    series = history.build(_rows(cs))
    inc = changes.analyse(series, cache=changes.Cache(path, fp))
    scratch = changes.analyse(series)
    assert inc.change_points == scratch.change_points and len(scratch.change_points) > 5
    assert inc.resumed == 6 and scratch.resumed == 0
    assert inc.points_examined < scratch.points_examined / 2
    # an old value changed (a rerun): that series starts again from scratch
    rows = _rows(cs)
    rows[5] = Row(**{**rows[5].__dict__, "value": rows[5].value * 1.01})
    redo = changes.analyse(history.build(rows), cache=changes.Cache(path, fp))
    assert redo.resumed == 5
    assert redo.change_points == changes.analyse(history.build(rows)).change_points
    # other detector settings never reuse the states
    assert changes.analyse(series, cache=changes.Cache(path, "other")).resumed == 0


def test_corrupt_cache_is_a_warning(tmp_path):
    path = tmp_path / "changes.json"
    path.write_text("{not json")
    cache = changes.Cache(path, "x")
    assert cache.entries == {} and "unreadable changes cache" in cache.warnings[0]


# ----------------------------------------------------------------------------- accuracy


def test_small_corpus_reaches_the_targets():
    """40 seeded series of 300 commits: precision >= 0.95 and F1 >= 0.93 (the full-size
    comparison with asv and Otava is scripts/changes_benchmark.py)."""
    total = corpus.Score(0, 0, 0)
    for s in corpus.make_corpus(40, seed=2024):
        total += corpus.match(s.change_points, [c.index for c in detect(s.values, s.se()).changes])
    assert total.tp + total.fn >= 60  # the corpus plants enough changes to mean something
    assert total.precision >= 0.95 and total.f1 >= 0.93, total


# ----------------------------------------------------------------------------- reports


def _planted_rows(unit="seconds", name="bench.time_x"):
    v = 1e-3 * _noise(80, 0.01, 5)
    v[40:] *= 1.25
    return [Row(benchmark=name, params=("10", "'a'"), machine="m1", env="py", commit=f"{i:040x}",
                date=corpus.START_MS + i * corpus.DAY_MS, value=float(v[i]), unit=unit)
            for i in range(80)]


def test_json_contract_and_direction():
    an = changes.analyse(history.build(_planted_rows()))
    doc = json.loads(changes.to_json(an.change_points, an, None, changepoint.DEFAULT_CONFIG))
    (cp,) = doc["change_points"]
    assert JSON_FIELDS <= set(cp)
    assert (cp["commit"], cp["previous_commit"]) == (f"{40:040x}", f"{39:040x}")
    assert cp["params"] == ["10", "'a'"] and cp["direction"] == "regression"
    assert cp["date"] == "2023-12-24T22:13:20Z" and cp["provisional"] is True
    assert cp["change_pct"] == pytest.approx(100 * (cp["after"] / cp["before"] - 1))
    up = changes.analyse(history.build(_planted_rows(unit="ops/s")))
    assert up.change_points[0].direction == "improvement"


def test_atom_feed_parses_has_stable_ids_and_escapes():
    name = "bench.time_<b>&\"x\"\x01"
    rows = _planted_rows(name=name)
    feeds = [changes.to_atom(changes.analyse(history.build(rows)).change_points,
                             changes.analyse(history.build(rows)), None) for _ in range(2)]
    assert feeds[0] == feeds[1]
    root = ET.fromstring(feeds[0])
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{tag}") is not None
    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}id").text.startswith("urn:uuid:")
    assert entry.find(f"{ATOM}updated").text == "2023-12-24T22:13:20Z"
    assert "bench.time_<b>&\"x\" (10, 'a') on m1: +" in entry.find(f"{ATOM}title").text
    # improvements are not in the feed
    ops = changes.analyse(history.build(_planted_rows(unit="ops/s")))
    assert ET.fromstring(changes.to_atom(ops.change_points, ops, None)).findall(
        f"{ATOM}entry") == []


def test_since_filter():
    an = changes.analyse(history.build(_planted_rows()))
    ms = changes.parse_since("2023-12-24")
    assert len(changes.since(an.change_points, ms)) == 1
    assert changes.since(an.change_points, changes.parse_since("2023-12-25T00:00:00Z")) == ()
    with pytest.raises(Exception, match="not an ISO date"):
        changes.parse_since("yesterday")


# ----------------------------------------------------------------------------- CLI, real data


@pytest.fixture(scope="module")
def metpy_json(tmp_path_factory):
    out = tmp_path_factory.mktemp("cp") / "changes.json"
    assert main(["changes", "--results-dir", str(METPY), "--no-cache", "--format", "json",
                 "--output", str(out)]) == 0
    return json.loads(out.read_text())


def test_cli_on_metpy_history(metpy_json):
    pts = metpy_json["change_points"]
    assert metpy_json["series"] == 128
    assert len(pts) == EXPECTED_METPY_COUNT
    first = pts[0]
    assert JSON_FIELDS <= set(first)
    assert (first["benchmark"], first["commit"][:8], first["direction"]) == EXPECTED_METPY_FIRST
    assert sum(p["direction"] == "regression" for p in pts) == EXPECTED_METPY_REGRESSIONS


def test_cli_since_and_bad_date(metpy_json, tmp_path, capsys):
    cut = sorted(p["date"] for p in metpy_json["change_points"])[len(metpy_json["change_points"]) // 2]
    out = tmp_path / "since.json"
    assert main(["changes", "--results-dir", str(METPY), "--no-cache", "--format", "json",
                 "--since", cut, "--output", str(out)]) == 0
    got = json.loads(out.read_text())["change_points"]
    assert got == [p for p in metpy_json["change_points"] if p["date"] >= cut]
    assert 0 < len(got) < len(metpy_json["change_points"])
    assert main(["changes", "--results-dir", str(METPY), "--since", "July"]) == 2
    assert "not an ISO date" in capsys.readouterr().err


def test_cli_cache_goes_to_the_cache_dir_and_is_used(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BENCHWATCH_CACHE_DIR", str(tmp_path / "cache"))
    results = tmp_path / "proj" / "results"
    shutil.copytree(METPY, results)
    before = sorted(p.relative_to(results) for p in results.rglob("*"))
    newest = max((results / "Docker_Container").glob("*-virtualenv-*.json"),
                 key=lambda p: json.loads(p.read_text())["date"])
    held = newest.read_text()
    newest.unlink()
    assert main(["changes", "--results-dir", str(results), "--format", "json"]) == 0
    newest.write_text(held)
    capsys.readouterr()
    assert main(["changes", "--results-dir", str(results), "--format", "json"]) == 0
    cached = capsys.readouterr().out
    assert main(["changes", "--results-dir", str(results), "--format", "json", "--no-cache"]) == 0
    assert cached == capsys.readouterr().out
    from benchwatch.paths import cache_key

    assert (tmp_path / "cache" / f"changes-{cache_key(results)}.json").is_file()
    assert sorted(p.relative_to(results) for p in results.rglob("*")) == before
    assert sorted(p.name for p in (tmp_path / "proj").iterdir()) == ["results"]


def test_cli_text_and_markdown(capsys):
    assert main(["changes", "--results-dir", str(METPY), "--no-cache"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"benchwatch changes: {EXPECTED_METPY_COUNT} change points in 128 series")
    assert main(["changes", "--results-dir", str(METPY), "--no-cache", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("## Change points\n")


# Figures of the default detector on the MetPy history (60 commits, CIs, no samples),
# pinned so a change of method shows up here: the count and the newest change.
EXPECTED_METPY_COUNT = 83
EXPECTED_METPY_FIRST = ("other_benchmarks.TimeSuite.time_find_peaks", "e6aa9bb1", "improvement")
EXPECTED_METPY_REGRESSIONS = 58
