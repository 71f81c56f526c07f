"""benchwatch.results: the one asv results loader, on hand-written and real files."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from benchwatch import results
from benchwatch.errors import UserError
from benchwatch.results import Row

# shared/ sits beside the checkout (CI lays a copy next to its clone).
_METPY_REL = Path("data/real-asv/metpy-benchmark/results")
METPY = next((base / _METPY_REL for base in (Path(__file__).resolve().parents[2] / "shared",
                                              Path("/work/shared"))
              if (base / _METPY_REL).is_dir()), Path("/work/shared") / _METPY_REL)
COLUMNS = ["result", "params", "version", "started_at", "duration",
           "stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75",
           "stats_number", "stats_repeat", "samples", "profile"]
ENV = "virtualenv-py3.11-numpy"


def _write(path: Path, data, raw: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(raw if raw is not None else json.dumps(data))
    return path


def _result_file(commit="aaaaaaaa11112222", date=1700000000000, results_=None, version=2):
    return {
        "commit_hash": commit, "env_name": ENV, "date": date,
        "params": {"machine": "box", "python": "3.11"}, "python": "3.11",
        "requirements": {}, "env_vars": {}, "result_columns": COLUMNS,
        "results": results_ if results_ is not None else {}, "durations": {},
        "version": version,
    }


@pytest.fixture
def results_dir(tmp_path):
    root = tmp_path / "results"
    _write(root / "benchmarks.json", {
        "mod.Grid.track_x": {"name": "mod.Grid.track_x", "unit": "ns", "version": "v1",
                             "params": [["1", "2"], ["'a'", "'b'", "'c'"]],
                             "param_names": ["n", "kind"]},
        "mod.time_plain": {"name": "mod.time_plain", "unit": "seconds", "version": "v2",
                           "params": [], "param_names": []},
        "version": 2,
    })
    _write(root / "box" / "machine.json", {"machine": "box", "version": 1})
    _write(root / "box" / f"aaaaaaaa-{ENV}.json", _result_file(results_={
        # 2 x 3 grid in itertools.product order; one failed (null), one skipped (NaN)
        "mod.Grid.track_x": [[10.0, 20.0, None, 40.0, float("nan"), 60.0],
                             [["1", "2"], ["'a'", "'b'", "'c'"]], "v1"],
        "mod.time_plain": [[0.5], [], "v2", 1, 2.0, [0.4], [0.6], [0.45], [0.55], [3], [10],
                           [[0.5, 0.51]]],
    }))
    return root


def test_cartesian_order_failed_and_skipped(results_dir):
    loaded = results.load(results_dir)
    assert loaded.problems == ()
    assert loaded.files == 1
    grid = [r for r in loaded.rows if r.benchmark == "mod.Grid.track_x"]
    assert [(r.params, r.value) for r in grid[:4]] == [
        (("1", "'a'"), 10.0), (("1", "'b'"), 20.0), (("1", "'c'"), None),
        (("2", "'a'"), 40.0)]
    assert grid[4].params == ("2", "'b'") and math.isnan(grid[4].value)
    assert grid[5] == Row("mod.Grid.track_x", ("2", "'c'"), "box", ENV, "aaaaaaaa11112222",
                          1700000000000, 60.0, unit="ns", version="v1")
    assert [r.ok for r in grid] == [True, True, False, True, False, True]
    assert grid[0].label() == "mod.Grid.track_x(1, 'a')"
    plain = [r for r in loaded.rows if r.benchmark == "mod.time_plain"]
    assert plain == [Row("mod.time_plain", (), "box", ENV, "aaaaaaaa11112222", 1700000000000,
                         0.5, unit="seconds", version="v2", ci_99=(0.4, 0.6),
                         quartiles=(0.45, 0.55), number=3, repeat=10,
                         samples=(0.5, 0.51))]
    assert plain[0].key == ("mod.time_plain", (), "box", ENV)


def test_bad_files_are_named_and_skipped(results_dir):
    truncated = _write(results_dir / "box" / f"bbbbbbbb-{ENV}.json", None,
                       raw=json.dumps(_result_file(commit="bbbbbbbb"))[:40])
    old = _write(results_dir / "box" / f"cccccccc-{ENV}.json", _result_file(
        commit="cccccccc", version=1))
    future = _write(results_dir / "box" / f"dddddddd-{ENV}.json", _result_file(
        commit="dddddddd", version=3))
    loaded = results.load(results_dir)
    assert loaded.files == 1
    assert len(loaded.rows) == 7
    assert len(loaded.problems) == 3
    assert loaded.problems[0].startswith(f"{truncated}: not a valid JSON result file")
    assert loaded.problems[1] == (f"{old}: asv result api version 1, expected 2; "
                                  "run `asv update` to convert it; skipped")
    assert loaded.problems[2] == f"{future}: asv result api version 3, expected 2; skipped"
    with pytest.raises(UserError, match="not a valid JSON"):
        results.load(results_dir, strict=True)


def test_malformed_entry_skips_only_that_benchmark(results_dir):
    path = _write(results_dir / "box" / f"eeeeeeee-{ENV}.json", _result_file(
        commit="eeeeeeee", results_={"mod.Grid.track_x": [[1.0], [["1", "2"]]],
                                     "mod.time_plain": [[2.0], []]}))
    loaded = results.load(results_dir, commit="eeeeeeee")
    assert [(r.benchmark, r.value) for r in loaded.rows] == [("mod.time_plain", 2.0)]
    assert loaded.problems == ((f"{path}: benchmark 'mod.Grid.track_x': malformed entry "
                               "(1 values for 2 parameter combinations); skipped"),)


def test_filters_by_machine_and_commit(results_dir):
    assert results.load(results_dir, machine="other").rows == ()
    assert len(results.load(results_dir, machine="box", commit="aaaaaaaa1111").rows) == 7
    assert results.load(results_dir, commit="ffff").rows == ()
    with pytest.raises(UserError, match="results directory not found"):
        results.load(results_dir / "nope")


def test_real_metpy_history():
    loaded = results.load(METPY)
    assert loaded.problems == ()
    assert loaded.files == 59
    assert len(loaded.rows) == 7552
    row = next(r for r in loaded.rows if r.commit.startswith("05baf11f")
               and r.benchmark == "apparent_temp_benchmarks.TimeSuite.time_apparent_temperature")
    assert row.value == 0.00566928181797266
    assert row.unit == "seconds"
    assert row.machine == "Docker_Container"
    assert row.date == 1753724236000
    assert row.version == "2025.07.02"
    assert row.ci_99 == (0.0056116, 0.0059207)
    assert row.quartiles == (0.0056451, 0.0057621)
    assert (row.number, row.repeat, row.samples) == (2, 10, None)
    assert sum(1 for r in loaded.rows if r.value is None) == 111
    assert {r.env for r in loaded.rows} == {
        ("virtualenv-py3.12-matplotlib-netcdf4-numpy-pandas-pint-pooch-pyproj-scipy-"
        "traitlets-xarray")}


def test_aa_noise_script_on_fixed_samples(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "aa_noise", Path(__file__).resolve().parents[1] / "scripts" / "aa_noise.py")
    aa = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(aa)

    def entry(samples):
        # result, params, version, started_at, duration, ci_a, ci_b, q25, q75, number, repeat, samples, profile
        return [[float(np.median(samples))], [], "v1", 0, 1.0, None, None, None, None, [1], [len(samples)],
                [samples], None]

    one = _write(tmp_path / "one.json", _result_file(results_={"m.C.time_x": entry([1.0, 1.0, 1.0, 1.0])}))
    two = _write(tmp_path / "two.json", _result_file(results_={"m.C.time_x": entry([1.1, 1.1, 1.1, 1.1])}))
    assert aa.main([str(one), str(two)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "A/A median diff  +10.0%" in out[0]
    assert out[-1] == "1 benchmarks: median CV 0.0%, median |A/A diff| 10.0%, max |A/A diff| 10.0%"
