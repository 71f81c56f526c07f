"""benchwatch.results: the one asv results loader, on hand-written and real files."""

import json
import math
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchwatch import history, results
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


def test_real_metpy_history(tmp_path):
    loaded = results.load(METPY, cache_dir=tmp_path)  # never write beside the shared data
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
    assert (row.params, row.type) == ((), "time")
    assert {r.machine for r in loaded.rows} == {"Docker_Container"}
    assert len({r.benchmark for r in loaded.rows}) == 128
    assert len({r.commit for r in loaded.rows}) == 59
    assert {r.type for r in loaded.rows} == {"time"}  # benchmarks.json's type
    assert sorted({r.version for r in loaded.rows}) == [
        "2025.07.02", "2025.07.03", "2025.07.07", "2025.07.21"]
    assert len(history.build(loaded.rows)) == 128  # one version per benchmark here
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


# --------------------------------------------------------------------------- benchmark type


def test_row_type_defaults_to_the_method_prefix():
    from benchwatch.history import kind

    for name in ("m.S.time_x", "m.S.timeraw_x", "m.S.track_x", "m.S.peakmem_x", "m.S.mem_x",
                 "m.S.compute"):
        assert Row(name, (), "box", ENV, "c", 1, 1.0).type == kind(name)
    assert Row("m.S.time_x", (), "box", ENV, "c", 1, 1.0).type == "time"
    assert Row("m.S.compute", (), "box", ENV, "c", 1, 1.0).type == "unknown"
    assert Row("m.S.compute", (), "box", ENV, "c", 1, 1.0, type="track").type == "track"


def test_type_comes_from_benchmarks_json_else_the_name(tmp_path):
    root = _copy_corpus(tmp_path, "box/good.json")
    by_name = {r.benchmark: r.type for r in results.load(root, cache=False).rows}
    # bench.renamed has no prefix (asv's benchmark_name); benchmarks.json says "time"
    assert by_name == {"bench.Suite.time_plain": "time", "bench.Suite.time_grid": "time",
                       "bench.Suite.track_rate": "track", "bench.Suite.peakmem_build": "peakmem",
                       "bench.renamed": "time"}
    (root / "benchmarks.json").unlink()
    by_name = {r.benchmark: r.type for r in results.load(root, cache=False).rows}
    assert by_name["bench.renamed"] == "unknown"
    assert by_name["bench.Suite.peakmem_build"] == "peakmem"


# --------------------------------------------------------------------------- corpus of bad files

BAD = Path(__file__).parent / "data" / "bad_results"
GOOD = "box/good.json"  # 8 rows: plain, 2 x 2 grid, track, peakmem, renamed
SKIPPED, KEPT = "skipped", "the machine's results still load"

# file, reason (the exact problem text after "path: "), line, consequence, rows the
# file still gives. Scope: file-level problems give 0 rows; entry-level ones lose a
# whole benchmark; row-level ones lose one parameter combination.
CASES = [
    ("box/truncated.json", "not a valid JSON result file (Expecting value at line 63, column 4)",
     63, SKIPPED, 0),
    ("box/empty.json", "empty result file", None, SKIPPED, 0),
    ("box/syntax_error.json", ("not a valid JSON result file (Expecting property name enclosed "
     "in double quotes at line 9, column 22)"), 9, SKIPPED, 0),
    ("box/api_version_1.json", ("asv result api version 1, expected 2; run `asv update` to "
     "convert it"), None, SKIPPED, 0),
    ("box/api_version_3.json", "asv result api version 3, expected 2", None, SKIPPED, 0),
    ("box/no_version.json", "not an asv result file (no api 'version' field)", None, SKIPPED, 0),
    ("box/no_results.json", "malformed asv result file: no 'results'", None, SKIPPED, 0),
    ("box/no_commit_hash.json", "malformed asv result file: no 'commit_hash'", None, SKIPPED, 0),
    ("box/results_is_array.json", ("malformed asv result file: 'results' is a JSON array, "
     "expected a JSON object"), None, SKIPPED, 0),
    ("box/no_result_column.json", ("malformed asv result file: 'result_columns' is not a list "
     "of column names holding 'result'"), None, SKIPPED, 0),
    ("box/top_level_array.json", ("not an asv result file (top level is a JSON array, not an "
     "object)"), None, SKIPPED, 0),
    ("box/latin1.json", "not UTF-8 text (byte 0xe9 at offset 194)", 7, SKIPPED, 0),
    # entry-level
    ("box/extra_column.json", ("benchmark 'bench.Suite.time_plain': malformed entry (14 columns, "
     "but result_columns names 13)"), None, SKIPPED, 7),
    ("box/params_product.json", ("benchmark 'bench.Suite.time_grid': malformed entry (3 values "
     "for 4 parameter combinations)"), None, SKIPPED, 4),
    ("box/entry_is_object.json", ("benchmark 'bench.Suite.track_rate': malformed entry (a JSON "
     "object, expected a list of columns)"), None, SKIPPED, 7),
    ("box/stats_length.json", ("benchmark 'bench.Suite.time_grid': malformed entry (column "
     "'stats_ci_99_a' holds 1 values for 4 parameter combinations)"), None, SKIPPED, 4),
    # row-level
    ("box/string_value.json", ("benchmark 'bench.Suite.time_plain': value '0.5' is a JSON "
     "string, not a number"), None, SKIPPED, 7),
    ("box/negative_time.json", ("benchmark \"bench.Suite.time_grid(1, 'b')\": negative time "
     "value -0.002"), None, SKIPPED, 7),
    ("box/nan_sample.json", "benchmark 'bench.Suite.time_plain': non-finite time sample nan",
     None, SKIPPED, 7),
    ("box/inf_sample.json", ("benchmark \"bench.Suite.time_grid(2, 'a')\": non-finite time "
     "sample inf"), None, SKIPPED, 7),
    ("box/negative_memory.json", ("benchmark 'bench.Suite.peakmem_build': negative peakmem "
     "value -4096.0"), None, SKIPPED, 7),
    # machine.json: the machine's result file (8 rows) still loads
    ("nomachine/machine.json", "missing machine.json (run `asv machine`)", None, KEPT, 8),
    ("badmachine/machine.json", ("not a valid JSON file (Expecting ',' delimiter at line 2, "
     "column 1)"), 2, KEPT, 8),
    ("oldmachine/machine.json", "machine.json api version 0, expected 1", None, KEPT, 8),
]


def _copy_corpus(tmp_path: Path, *rels: str) -> Path:
    """A results dir holding benchmarks.json, box/machine.json and the given corpus files
    (for a machine.json case: that machine's whole directory)."""
    import shutil

    root = tmp_path / "results"
    (root / "box").mkdir(parents=True)
    shutil.copy(BAD / "benchmarks.json", root / "benchmarks.json")
    shutil.copy(BAD / "box" / "machine.json", root / "box" / "machine.json")
    for rel in rels:
        if rel.endswith("/machine.json"):
            shutil.copytree(BAD / rel.split("/")[0], root / rel.split("/")[0])
        else:
            shutil.copy(BAD / rel, root / rel)
    return root


def test_corpus_covers_every_file():
    listed = {c[0] for c in CASES} | {GOOD, "box/machine.json", "benchmarks.json",
                                      "nomachine/good.json", "badmachine/good.json",
                                      "oldmachine/good.json"}
    on_disk = {p.relative_to(BAD).as_posix() for p in BAD.rglob("*") if p.is_file()}
    assert on_disk | {"nomachine/machine.json"} == listed


@pytest.mark.parametrize("rel, reason, line, consequence, kept", CASES,
                         ids=[c[0] for c in CASES])
def test_bad_file_is_named_and_good_files_still_load(tmp_path, rel, reason, line,
                                                     consequence, kept):
    root = _copy_corpus(tmp_path, GOOD, rel)
    good = results.load_file(root / GOOD, _info(root))
    assert len(good) == 8
    loaded = results.load(root, cache=False)
    path = root / rel
    assert loaded.problems == (f"{path}: {reason}; {consequence}",)
    assert len(loaded.rows) == 8 + kept
    assert set(good) <= set(loaded.rows)
    assert loaded.files == 1 + (kept > 0)

    with pytest.raises(UserError) as err:
        results.load(root, strict=True, cache=False)
    assert (err.value.path, err.value.line) == (str(path), line)
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    assert str(err.value) == where + reason


def _info(root: Path) -> dict:
    return {k: v for k, v in json.loads((root / "benchmarks.json").read_text()).items()
            if k != "version"}


def test_row_level_problems_keep_the_other_combinations(tmp_path):
    root = _copy_corpus(tmp_path, "box/negative_time.json", "box/inf_sample.json")
    rows = results.load(root, cache=False).rows
    grid = {(r.commit[:4], r.params): r.value for r in rows
            if r.benchmark == "bench.Suite.time_grid"}
    assert grid == {("0012", ("1", "'a'")): 0.001, ("0012", ("2", "'a'")): 0.003,
                    ("0012", ("2", "'b'")): 0.004, ("0014", ("1", "'a'")): 0.001,
                    ("0014", ("1", "'b'")): 0.002, ("0014", ("2", "'b'")): 0.004}
    # a track benchmark may be negative; only time and memory values may not
    assert [r.value for r in rows if r.benchmark == "bench.Suite.track_rate"] == [-12.5, -12.5]


def test_whole_corpus_at_once(tmp_path):
    loaded = results.load(BAD, cache=False)
    assert len(loaded.problems) == len(CASES)
    assert loaded.files == 1 + sum(1 for c in CASES if c[4] > 0 and c[0].startswith("box/")) + 3
    assert len(loaded.rows) == 8 + sum(c[4] for c in CASES)
    assert {r.machine for r in loaded.rows} == {"box", "nomachine", "badmachine", "oldmachine"}
    assert not (BAD.parent / ".benchwatch-cache").exists()


def test_unreadable_benchmarks_json_is_named_and_results_still_load(tmp_path):
    root = _copy_corpus(tmp_path, GOOD)
    (root / "benchmarks.json").write_text('{"bench.renamed": {"unit": "seconds"},\n')
    loaded = results.load(root, cache=False)
    assert loaded.problems == (
        (f"{root / 'benchmarks.json'}: not a valid JSON file (Expecting property name "
         "enclosed in double quotes at line 2, column 1); units unknown, types from method "
         "names"),)
    assert len(loaded.rows) == 8 and {r.unit for r in loaded.rows} == {None}
    with pytest.raises(UserError, match=r"benchmarks.json:2: not a valid JSON file"):
        results.load(root, strict=True, cache=False)


def test_load_file_reports_and_strict_raises():
    problems: list[str] = []
    rows = results.load_file(BAD / "box/negative_time.json", problems=problems)
    assert len(rows) == 7
    assert problems == [(f"{BAD / 'box/negative_time.json'}: benchmark "
                         "\"bench.Suite.time_grid(1, 'b')\": negative time value -0.002; skipped")]
    assert results.load_file(BAD / "box/empty.json", problems=problems) is None
    with pytest.raises(UserError, match="empty result file"):
        results.load_file(BAD / "box/empty.json", strict=True)


# --------------------------------------------------------------------------- asv semantics


def test_machines_environments_and_versions(tmp_path):
    root = tmp_path / "results"
    for machine in ("alpha", "beta"):
        _write(root / machine / "machine.json", {"machine": machine, "version": 1})
        for i, env in enumerate(("py3.11", "py3.12")):
            for c, (commit, bench_version) in enumerate([("aaaa", "v1"), ("bbbb", "v1"),
                                                         ("cccc", "v2")]):
                data = _result_file(commit=commit * 10, date=1000 + c, results_={
                    "m.S.time_x": [[float(10 * c + i)], [], bench_version]})
                data["env_name"] = env
                data["params"]["machine"] = machine
                _write(root / machine / f"{commit * 2}-{env}.json", data)
    loaded = results.load(root, cache=False)
    assert loaded.problems == () and loaded.files == 12
    series = history.build(loaded.rows)
    assert [(s.machine, s.env, s.version, s.values().tolist()) for s in series] == [
        ("alpha", "py3.11", "v1", [0.0, 10.0]), ("alpha", "py3.11", "v2", [20.0]),
        ("alpha", "py3.12", "v1", [1.0, 11.0]), ("alpha", "py3.12", "v2", [21.0]),
        ("beta", "py3.11", "v1", [0.0, 10.0]), ("beta", "py3.11", "v2", [20.0]),
        ("beta", "py3.12", "v1", [1.0, 11.0]), ("beta", "py3.12", "v2", [21.0])]
    assert history.commit_order(loaded.rows) == ["aaaa" * 10, "bbbb" * 10, "cccc" * 10]


def test_loader_matches_the_naive_reader_on_real_files(tmp_path):
    from naive import naive_asv_rows

    info = _info(METPY)
    paths = sorted(p for p in (METPY / "Docker_Container").glob("*.json")
                   if p.name != "machine.json")
    for path in paths[:20]:
        want = naive_asv_rows(json.loads(path.read_text()), info)
        got = [(r.benchmark, r.params, r.value, r.ci_99, r.quartiles, r.number, r.repeat,
                r.samples, r.version) for r in results.load_file(path, info)]
        assert repr(got) == repr(want)


@settings(max_examples=60)
@given(axes=st.lists(st.lists(st.integers(-3, 3), min_size=1, max_size=3, unique=True),
                     max_size=3),
       data=st.data())
def test_cartesian_product_matches_the_naive_reader(axes, data):
    params = [[repr(v) for v in axis] for axis in axes]
    n = math.prod(len(a) for a in params)
    cell = st.one_of(st.none(), st.floats(0, 1e3), st.just(float("nan")))
    values = data.draw(st.lists(cell, min_size=n, max_size=n))
    ci_a = data.draw(st.lists(st.one_of(st.none(), st.floats(0, 1)), min_size=n, max_size=n))
    samples = data.draw(st.lists(st.one_of(st.none(), st.lists(st.floats(0, 1), max_size=3)),
                                 min_size=n, max_size=n))
    entry = [values, params, "v9", 0, 1.0, ci_a, ci_a, None, None, [2] * n, [3] * n, samples]
    file_data = _result_file(results_={"m.S.time_x": entry})
    from naive import naive_asv_rows

    with tempfile.TemporaryDirectory() as tmp:
        path = _write(Path(tmp) / "box" / f"aaaaaaaa-{ENV}.json", file_data)
        problems: list[str] = []
        got = results.load_file(path, problems=problems)
    assert problems == []
    assert repr([(r.benchmark, r.params, r.value, r.ci_99, r.quartiles, r.number, r.repeat,
                  r.samples, r.version) for r in got]) == repr(naive_asv_rows(file_data))


# --------------------------------------------------------------------------- cache


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in root.rglob("*")}


def test_cache_gives_identical_rows_and_problems(tmp_path, monkeypatch):
    monkeypatch.setenv(results.CACHE_DIR_ENV, str(tmp_path / "cache"))
    root = _copy_corpus(tmp_path, GOOD, *[c[0] for c in CASES])
    _write(root / "box" / f"aaaaaaaa-{ENV}.json", _result_file(results_={
        "bench.Suite.time_grid": [[1.0, float("nan"), None, 4.0], None, "v1"]}))
    plain = results.load(root, cache=False)
    before = _tree(root)
    first = results.load(root)
    assert _tree(root) == before  # nothing written inside the results tree
    (cache,) = (tmp_path / "cache").iterdir()  # one per results dir
    assert len(list(cache.rglob("*.pickle"))) == len(list(root.glob("*/*.json"))) - 3
    warm = results.load(root)
    for loaded in (first, warm):
        assert repr(list(loaded.rows)) == repr(list(plain.rows))
        assert loaded.problems == plain.problems
        assert loaded.files == plain.files
        assert loaded.runs == plain.runs and len(loaded.runs) == plain.files
    assert len(plain.rows) == 8 + sum(c[4] for c in CASES) + 4
    assert math.isnan(next(r.value for r in warm.rows if r.commit == "aaaaaaaa11112222"
                           and r.params == ("1", "'b'")))


def test_warm_load_parses_only_changed_files(tmp_path, monkeypatch):
    root = _copy_corpus(tmp_path, GOOD, "box/negative_time.json", "box/empty.json")
    results.load(root, cache_dir=tmp_path / "c")
    parsed: list[str] = []
    real = results._parse

    def spy(path, *args):
        parsed.append(path.name)
        return real(path, *args)

    monkeypatch.setattr(results, "_parse", spy)
    warm = results.load(root, cache_dir=tmp_path / "c")
    assert parsed == []
    assert len(warm.rows) == 15 and len(warm.problems) == 2
    with pytest.raises(UserError, match="empty result file"):  # cached problems stay strict
        results.load(root, strict=True, cache_dir=tmp_path / "c")

    good = root / GOOD
    data = json.loads(good.read_text())
    data["results"]["bench.renamed"][0] = [0.75]
    good.write_text(json.dumps(data))
    os.utime(good, ns=(good.stat().st_mtime_ns + 10**9,) * 2)
    (root / "box" / "empty.json").unlink()
    loaded = results.load(root, cache_dir=tmp_path / "c")
    assert parsed == ["good.json"]
    assert [r.value for r in loaded.rows if r.benchmark == "bench.renamed"] == [0.75, 0.25]
    assert len(loaded.problems) == 1


def test_benchmarks_json_change_drops_the_cache(tmp_path):
    root = _copy_corpus(tmp_path, GOOD)
    assert {r.unit for r in results.load(root).rows
            if r.benchmark == "bench.renamed"} == {"seconds"}
    info = json.loads((root / "benchmarks.json").read_text())
    info["bench.renamed"]["unit"] = "ms"
    (root / "benchmarks.json").write_text(json.dumps(info, indent=2))
    assert {r.unit for r in results.load(root).rows
            if r.benchmark == "bench.renamed"} == {"ms"}


def test_a_bad_cache_is_ignored_and_rebuilt(tmp_path, monkeypatch):
    root = _copy_corpus(tmp_path, GOOD)
    cache_dir = tmp_path / "c"
    want = results.load(root, cache=False)
    results.load(root, cache_dir=cache_dir)
    (entry,) = cache_dir.glob("results-*/box/good.json.pickle")
    good = entry.read_bytes()
    entry.write_bytes(good[: len(good) // 2])
    assert results.load(root, cache_dir=cache_dir) == want
    assert entry.read_bytes() == good  # rebuilt

    marker = tmp_path / "pwned"

    class Planted:
        def __reduce__(self):
            return (Path.touch, (marker,))

    entry.write_bytes(pickle.dumps((Planted(), 0, 0, [], [])))
    assert results.load(root, cache_dir=cache_dir) == want
    assert not marker.exists()
    assert entry.read_bytes() == good

    blocked = tmp_path / "a-file"  # the cache dir cannot be created: still no error
    blocked.write_text("")
    assert results.load(root, cache_dir=blocked / "sub") == want


def test_cache_dir_from_the_environment(tmp_path, monkeypatch):
    root = _copy_corpus(tmp_path, GOOD)
    monkeypatch.setenv(results.CACHE_DIR_ENV, str(tmp_path / "elsewhere"))
    results.load(root)
    assert len(list((tmp_path / "elsewhere").iterdir())) == 1
    assert not (tmp_path / ".benchwatch-cache").exists()


def test_params_may_change_between_commits(tmp_path):
    root = tmp_path / "results"
    _write(root / "box" / "machine.json", {"machine": "box", "version": 1})
    grids = [[["1", "2"]], [["1", "2", "3"]], [["1", "2", "3"]], [[1, 2]], [["1", "2"]]]
    for c, grid in enumerate(grids):
        n = math.prod(len(axis) for axis in grid)
        _write(root / "box" / f"{c:08x}-{ENV}.json", _result_file(
            commit=f"{c:08x}", date=c, results_={"m.S.time_x": [[0.1] * n, grid, "v1"]}))
    loaded = results.load(root, cache=False)
    assert loaded.problems == ()
    assert [[r.params for r in loaded.rows if r.commit == f"{c:08x}"] for c in range(5)] == [
        [("1",), ("2",)], [("1",), ("2",), ("3",)], [("1",), ("2",), ("3",)],
        [("1",), ("2",)], [("1",), ("2",)]]


def test_shared_results_options_warn_or_refuse(tmp_path, capsys):
    import argparse

    from benchwatch import cli_results

    root = _copy_corpus(tmp_path, GOOD, "box/api_version_1.json")
    parser = argparse.ArgumentParser()
    cli_results.add_arguments(parser)
    loaded = cli_results.load(parser.parse_args(["--results-dir", str(root)]))
    assert (len(loaded.rows), loaded.files) == (8, 1)
    assert capsys.readouterr().err == (
        f"benchwatch: warning: {root / 'box/api_version_1.json'}: asv result api version 1, "
        "expected 2; run `asv update` to convert it; skipped\n")
    with pytest.raises(UserError) as err:
        cli_results.load(parser.parse_args(["--results-dir", str(root), "--strict"]))
    assert str(err.value) == (f"{root / 'box/api_version_1.json'}: asv result api version 1, "
                              "expected 2; run `asv update` to convert it")
    assert err.value.exit_code == 2


def test_publishable_copy_renames_only_names_that_could_carry_markup(tmp_path):
    from asvdata import Bench, entry, write_benchmarks, write_result

    src = tmp_path / "src"
    src.mkdir()
    evil = "fam.S.time_<img src=x onerror=alert(1)>"
    write_benchmarks(src, [Bench("fam.S.time_ok"), Bench(evil)])
    write_result(src, "box", "a" * 40, 1000, {"fam.S.time_ok": entry([1.0], [[1.0, 1.1, 0.9]]),
                                              evil: entry([2.0], [[2.0, 2.1, 1.9]])})
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}
    mapping = results.publishable_copy(src, tmp_path / "dst")
    assert mapping == {evil: "fam.S.time__img_src_x_onerror_alert_1__"}
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before
    rows = results.load(tmp_path / "dst", cache=False).rows
    assert sorted((r.benchmark, r.value, r.samples) for r in rows) == [
        ("fam.S.time__img_src_x_onerror_alert_1__", 2.0, (2.0, 2.1, 1.9)),
        ("fam.S.time_ok", 1.0, (1.0, 1.1, 0.9))]
    assert "<" not in (tmp_path / "dst" / "benchmarks.json").read_text()
    assert results.publishable_copy(tmp_path / "dst", tmp_path / "again") == {}


def test_run_duration_sums_entry_durations_and_asv_durations(tmp_path):
    root = tmp_path / "results"
    data = _result_file(results_={
        # result, params, version, started_at, duration
        "m.time_a": [[1.0], [], "v", 1700000000000, 2.5],
        "m.time_b": [[1.0], [], "v", 1700000000000, 0.25],
        "m.time_c": [[1.0], [], "v", 1700000000000, None],  # failed: no duration
        "m.time_d": [[1.0], [], "v", 1700000000000, "x"],  # odd cell: ignored
        "m.track_e": [[3.0]],  # asv dropped the trailing columns
    })
    data["durations"] = {"<build>": 10.0, "<setup_cache m:1>": 1.25, "<odd>": -1}
    _write(root / "box" / f"aaaaaaaa-{ENV}.json", data)
    no_durations = _result_file(commit="bbbbbbbb11112222", results_={"m.time_a": [[1.0]]})
    _write(root / "box" / f"bbbbbbbb-{ENV}.json", no_durations)
    loaded = results.load(root, cache=False)
    assert loaded.runs == (
        results.Run("box", ENV, "aaaaaaaa11112222", 1700000000000, 14.0, 5),
        results.Run("box", ENV, "bbbbbbbb11112222", 1700000000000, None, 1))
    assert results.load(root, commit="bbbb", cache=False).runs == loaded.runs[1:]


def test_benchmark_durations_of_one_commit(tmp_path):
    """What ``continuous`` budgets its confirm stage with: each benchmark's duration at
    one commit, over every environment's file; odd cells and other commits left out."""
    root = tmp_path / "results"
    data = _result_file(results_={
        "m.time_a": [[1.0], [], "v", 1700000000000, 2.5],
        "m.time_c": [[1.0], [], "v", 1700000000000, None],
        "m.time_d": [[1.0], [], "v", 1700000000000, "x"],
        "m.time_e": [[1.0], [], "v", 1700000000000, float("inf")],
        "m.track_f": [[3.0]],
    })
    _write(root / "box" / f"aaaaaaaa-{ENV}.json", data)
    other_env = _result_file(results_={"m.time_b": [[1.0], [], "v", 1700000000000, 4]})
    other_env["env_name"] = "other"
    _write(root / "box" / "aaaaaaaa-other.json", other_env)
    _write(root / "box" / "aaaaaaaa-broken.json", {"version": 2})
    (root / "box" / "aaaaaaaa-garbage.json").write_text("{")
    elsewhere = _result_file(commit="aaaaaaaa99999999",
                             results_={"m.time_a": [[1.0], [], "v", 1700000000000, 9.0]})
    _write(root / "box" / "aaaaaaaa-zz.json", elsewhere)  # same prefix, another commit
    assert results.benchmark_durations(root, "box", "aaaaaaaa11112222") == {
        "m.time_a": 2.5, "m.time_b": 4.0}
    assert results.benchmark_durations(root, "nobox", "aaaaaaaa11112222") == {}


def test_run_duration_of_metpy_matches_a_plain_sum():
    """Every MetPy file's run duration against a sum written out from the raw JSON."""
    loaded = results.load(METPY, cache=False)
    want = {}
    for path in sorted(METPY.glob("*/*.json")):
        if path.name == "machine.json":
            continue
        data = json.loads(path.read_text())
        col = data["result_columns"].index("duration")
        total = sum(e[col] for e in data["results"].values()
                    if len(e) > col and e[col] is not None)
        total += sum(data.get("durations", {}).values())
        want[data["commit_hash"]] = total
    got = {r.commit: r.duration for r in loaded.runs}
    assert got.keys() == want.keys()
    assert all(got[c] == pytest.approx(want[c], rel=1e-12) for c in want)
