"""Suite configs: located validation errors, merging, `config validate|show`, discovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from benchwatch import suite_config
from benchwatch.benchmarks_index import discover
from benchwatch.cli import main
from benchwatch.errors import UserError

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SHIPPED = ROOT / "configs" / "suites.yaml"
FIXTURE_BENCH = DATA / "asv_benchmarks"
VERSIONS = DATA / "configs" / "versions.yaml"
REAL_BENCH = ROOT / "benchmarks"

FIXTURE_NAMES = [
    "allocation.AllocateLatency.time_allocate",
    "allocation.AllocateLatency.track_latency_p99_ns",
    "allocation.BatchThroughput.track_throughput_ops_s",
    "allocation.time_module_level",
    "e2e.ProcessDocument.time_process",
    "e2e.ProcessDocument.track_latency_p99_ns",
    "memory.Construction.peakmem_build",
    "neural.BatchInference.track_throughput_ops_s",
    "neural.SingleInference.time_infer",
    "neural.SingleInference.track_latency_p99_ns",
    "simd.DotProduct.track_speedup",
    "sub.nested.mem_nested",
    "weights.LoadNetwork.time_load",
]

# Line 2 is the suite key (column 3); the entry's `name` key sits at 6:9; `select`'s
# value at 8:17. Cases below append lines 9+ or substitute one line.
BASE = textwrap.dedent("""\
    configs:
      "s:1.0.0":
        name: s
        version: "1.0.0"
        benchmarks:
          - name: a
            category: Allocation
            select: "^allocation"
    """)


def _sub(old: str, new: str) -> str:
    assert BASE.count(old) == 1
    return BASE.replace(old, new)


def _params(line: str) -> str:
    return BASE + "        parameters:\n" + line + "\n"


def _criteria(line: str) -> str:
    return BASE + "        success_criteria:\n" + line + "\n"


# (id, file content, expected "line:col", message fragment)
BAD = [
    ("unknown-top-key", BASE + "colour: red\n", "9:1", "top level: unknown key 'colour'"),
    ("unknown-entry-key", BASE + "        speed: 3\n", "9:9",
     "benchmarks[0]: unknown key 'speed'"),
    ("unknown-param-key", _params("          samples: 20"), "10:11", "unknown key 'samples'"),
    ("unknown-suite-key", _sub("    name: s\n", "    name: s\n    owner: me\n"), "4:5",
     "unknown key 'owner'"),
    ("sample-size-string", _params('          sample_size: "20"'), "10:24",
     "sample_size: expected an integer, got a string"),
    ("sample-size-bool", _params("          sample_size: true"), "10:24",
     "expected an integer, got a boolean"),
    ("sample-size-too-small", _params("          sample_size: 5"), "10:24",
     "sample_size: must be at least 10, got 5"),
    ("empty-input-sizes", _params("          input_sizes: []"), "10:24",
     "input_sizes: must not be empty"),
    ("input-sizes-not-list", _params("          input_sizes: 10"), "10:24",
     "expected a list of integers, got an integer"),
    ("input-size-negative", _params("          input_sizes: [10, -1]"), "10:29",
     "input_sizes[1]: expected a positive integer, got -1"),
    ("parameters-not-mapping", BASE + "        parameters: [1]\n", "9:21",
     "parameters: expected a mapping, got a list"),
    ("latency-p99-under-1us", _criteria("          max_latency_p99: 999"), "10:28",
     "max_latency_p99: 999 ns is below 1 us"),
    ("latency-p50-under-1us", _criteria("          max_latency_p50: 10"), "10:28",
     "max_latency_p50: 10 ns is below 1 us"),
    ("latency-float", _criteria("          max_latency_p95: 1500.5"), "10:28",
     "max_latency_p95: expected an integer, got a number"),
    ("cpu-over-100", _criteria("          max_cpu_usage: 150"), "10:26",
     "max_cpu_usage: must be greater than 0 and at most 100, got 150"),
    ("throughput-nan", _criteria("          min_throughput: .nan"), "10:27",
     "min_throughput: must be a finite number"),
    ("bad-version", _sub('version: "1.0.0"', 'version: "1.0"'), "4:14",
     "'1.0' is not a semantic version MAJOR.MINOR.PATCH"),
    ("version-unquoted-float", _sub('version: "1.0.0"', "version: 1.0"), "4:14",
     "expected a version string like \"1.0.0\" (quote it), got a number"),
    ("key-disagrees-with-version", _sub('"s:1.0.0":', '"s:2.0.0":'), "2:3",
     "key does not match its fields; expected 's:1.0.0'"),
    ("key-disagrees-with-name", _sub("name: s\n", "name: t\n"), "2:3",
     "expected 't:1.0.0' from name 't'"),
    ("unknown-category", _sub("category: Allocation", "category: Memory"), "7:19",
     "unknown category 'Memory'; expected one of: Allocation, NeuralNetwork"),
    ("category-not-string", _sub("category: Allocation", "category: [Allocation]"), "7:19",
     "category: expected a string, got a list"),
    ("missing-select", _sub('        select: "^allocation"\n', ""), "6:9",
     "benchmarks[0]: missing required key 'select'"),
    ("missing-configs", "gates: {}\n", "1:1", "top level: missing required key 'configs'"),
    ("configs-not-mapping", "configs: []\n", "1:10", "configs: expected a mapping, got a list"),
    ("no-benchmarks", _sub("    benchmarks:\n", "    benchmarks: []\n").split("      - ")[0],
     "5:17", "must list at least one benchmark entry"),
    ("duplicate-entry-name",
     BASE + "      - name: a\n        category: Allocation\n        select: ^simd\n", "9:15",
     "duplicate entry name 'a'"),
    ("invalid-regex", _sub('select: "^allocation"', 'select: "(alloc"'), "8:17",
     "invalid regular expression '(alloc'"),
    ("select-matches-nothing", _sub('select: "^allocation"', 'select: "^nothing\\\\."'), "8:17",
     "matches none of the 13 asv benchmarks found"),
    ("override-unknown-entry",
     BASE + "environments:\n  ci:\n    parameter_overrides:\n      nope: {sample_size: 10}\n",
     "12:7", "no benchmark entry named 'nope' in any suite; known entries: a"),
    ("override-bad-value",
     BASE + "environments:\n  ci:\n    parameter_overrides:\n      a: {sample_size: 3}\n",
     "12:24", "parameter_overrides['a'].sample_size: must be at least 10, got 3"),
    ("env-unknown-key", BASE + "environments:\n  ci:\n    cores: 2\n", "11:5",
     "environments['ci']: unknown key 'cores'"),
    ("env-zero-cores",
     BASE + "environments:\n  ci:\n    resource_constraints: {max_cpu_cores: 0}\n", "11:43",
     "max_cpu_cores: must be at least 1, got 0"),
    ("gate-rate-over-1", BASE + "gates:\n  min_success_rate: 1.5\n", "10:21",
     "gates.min_success_rate: must be at least 0 and at most 1, got 1.5"),
    ("gate-unknown-key", BASE + "gates:\n  latency_pct: 10\n", "10:3",
     "gates: unknown key 'latency_pct'"),
    ("default-sample-size", BASE + "default_parameters: {sample_size: 9}\n", "9:35",
     "default_parameters.sample_size: must be at least 10, got 9"),
    ("tab", _sub("    name: s\n", "    name:\ts\n"), "3:10", "tab character"),
    ("duplicate-key", _sub("    name: s\n", "    name: s\n    name: s\n"), "4:5",
     "YAML: duplicate key 'name' (first defined on line 3)"),
    ("yaml-syntax", "configs: [1, 2\n", "2:1", "YAML: expected ',' or ']'"),
    ("empty-file", "", "1:1", "config file is empty"),
    ("top-level-list", "- 1\n", "1:1", "top level: expected a mapping, got a list"),
]


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "suites.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def test_base_config_is_valid(tmp_path):
    loaded = suite_config.load(_write(tmp_path, BASE), FIXTURE_NAMES)
    assert [s.key for s in loaded.suites] == ["s:1.0.0"]


@pytest.mark.parametrize("content, where, fragment", [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_config_is_located(tmp_path, content, where, fragment):
    path = _write(tmp_path, content)
    with pytest.raises(suite_config.ConfigError) as info:
        suite_config.load(path, FIXTURE_NAMES)
    first = info.value.errors[0]
    assert first.startswith(f"{path}:{where}: "), info.value.errors
    assert fragment in first, info.value.errors


def test_non_utf8_is_located(tmp_path):
    path = _write(tmp_path, b"configs:\n  caf\xe9: {}\n")
    with pytest.raises(suite_config.ConfigError) as info:
        suite_config.load(path)
    assert info.value.errors == [f"{path}:2:6: file is not UTF-8 (byte 0xe9); save it as UTF-8"]


def test_all_errors_are_collected_in_position_order(tmp_path):
    content = (_sub("category: Allocation", "category: Memory")
               .replace('version: "1.0.0"', 'version: "1.0"')
               + "        parameters: {sample_size: 5, input_sizes: []}\ncolour: red\n")
    path = _write(tmp_path, content)
    with pytest.raises(suite_config.ConfigError) as info:
        suite_config.load(path)
    positions = [line.split(": ")[0].removeprefix(f"{path}:") for line in info.value.errors]
    assert positions == ["4:14", "7:19", "9:35", "9:51", "10:1"]


def test_no_select_check_without_benchmark_names(tmp_path):
    path = _write(tmp_path, _sub('select: "^allocation"', 'select: "^nothing"'))
    assert suite_config.load(path).suites[0].benchmarks[0].select == "^nothing"


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="config file not found"):
        suite_config.load(tmp_path / "absent.yaml")


@settings(max_examples=40)
@given(st.binary(max_size=200))
def test_any_bytes_give_config_errors_not_tracebacks(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("fuzz") / "suites.yaml"
    path.write_bytes(data)
    try:
        suite_config.load(path)
    except suite_config.ConfigError as exc:
        assert exc.errors and all(e.startswith(f"{path}:") for e in exc.errors)


@settings(max_examples=40)
@given(st.data())
def test_shipped_config_with_a_line_dropped_never_crashes(tmp_path_factory, data):
    lines = SHIPPED.read_text(encoding="utf-8").splitlines(keepends=True)
    drop = data.draw(st.integers(0, len(lines) - 1))
    path = tmp_path_factory.mktemp("drop") / "suites.yaml"
    path.write_text("".join(lines[:drop] + lines[drop + 1:]), encoding="utf-8")
    try:
        suite_config.load(path, FIXTURE_NAMES)
    except suite_config.ConfigError as exc:
        assert exc.errors


# ---------------------------------------------------------------- discovery


def test_discover_fixture_names():
    assert discover(FIXTURE_BENCH) == FIXTURE_NAMES


def test_discover_names_the_broken_module_and_line():
    with pytest.raises(UserError) as info:
        discover(DATA / "asv_benchmarks_broken")
    message = str(info.value)
    assert message.startswith(f"{DATA / 'asv_benchmarks_broken' / 'broken.py'}:4: ")
    assert "No module named 'no_such_module_for_benchwatch_tests'" in message


def test_discover_leaves_sys_path_modules_and_environ_clean():
    before_path = list(sys.path)
    discover(FIXTURE_BENCH)
    assert sys.path == before_path
    assert "BENCHWATCH_FIXTURE_IMPORTED" not in os.environ
    assert not any(m == "asv_benchmarks" or m.startswith("asv_benchmarks.")
                   for m in sys.modules)


def test_discover_missing_dir(tmp_path):
    with pytest.raises(UserError, match="benchmark directory not found"):
        discover(tmp_path / "nope")


# ---------------------------------------------------------------- shipped configs


def test_shipped_configs_validate_against_fixture_benchmarks():
    loaded = suite_config.load(SHIPPED, discover(FIXTURE_BENCH))
    assert {s.name for s in loaded.suites} >= {"ci-fast", "production-comprehensive"}
    assert {e.name for e in loaded.environments} >= {"ci", "production", "local"}


@pytest.mark.skipif(not REAL_BENCH.is_dir(), reason="benchmarks/ not written yet")
def test_shipped_configs_validate_against_real_benchmarks():
    suite_config.load(SHIPPED, discover(REAL_BENCH))


def test_shipped_sla_targets():
    loaded = suite_config.load(SHIPPED)
    prod = suite_config.resolve(loaded, "production-comprehensive")
    by_name = {b.name: b for b in prod.benchmarks}
    assert by_name["allocation_latency"].success_criteria.max_latency_p99 == 100_000
    assert by_name["allocation_latency"].success_criteria.min_throughput == 10_000
    assert by_name["neural_inference"].success_criteria.max_latency_p99 == 1_000
    assert by_name["neural_inference"].success_criteria.min_throughput == 1_000_000
    assert by_name["e2e_pipeline"].success_criteria.max_latency_p99 == 10_000_000
    assert by_name["memory_footprint"].success_criteria.max_memory_usage == 2 * 1024**3
    assert by_name["allocation_concurrency"].parameters.concurrency_levels == (1, 4, 8, 16)
    assert by_name["allocation_latency"].parameters.input_sizes == (10, 50, 100, 500, 1000)


@pytest.mark.parametrize("suite", ["ci-fast", "production-comprehensive"])
@pytest.mark.parametrize("env", [None, "ci", "production", "local"])
def test_every_shipped_suite_resolves_in_every_environment(suite, env):
    resolved = suite_config.resolve(suite_config.load(SHIPPED), suite, env=env)
    for bench in resolved.benchmarks:
        assert bench.parameters.sample_size >= suite_config.MIN_SAMPLE_SIZE
        assert bench.parameters.timeout_seconds == 300


# ---------------------------------------------------------------- resolve


def test_resolve_picks_latest_semver_and_merges_layers():
    loaded = suite_config.load(VERSIONS)
    assert loaded.versions("demo") == ["1.2.0", "1.9.0", "1.10.0"]
    plain = suite_config.resolve(loaded, "demo")
    assert plain.version == "1.10.0"
    alloc = plain.benchmarks[0].parameters
    # default_parameters <- entry parameters
    assert (alloc.warm_up_iterations, alloc.sample_size, alloc.input_sizes) == (1000, 40, (10, 100))
    ci = suite_config.resolve(loaded, "demo", env="ci")
    alloc_ci, infer_ci = (b.parameters for b in ci.benchmarks)
    # <- environment parameter_overrides, only for the entry they name
    assert (alloc_ci.sample_size, alloc_ci.input_sizes) == (10, (10,))
    assert infer_ci.sample_size == 100
    assert ci.resource_constraints == suite_config.ResourceConstraints(4.0, 2)
    assert suite_config.resolve(loaded, "demo:1.9.0").benchmarks[0].parameters.sample_size == 30


@pytest.mark.parametrize("spec, env, fragment", [
    ("nope", None, "unknown suite 'nope'; available: demo"),
    ("demo:2.0.0", None, "suite 'demo' has no version '2.0.0'; available: 1.2.0, 1.9.0, 1.10.0"),
    ("demo", "prod", "unknown environment 'prod'; available: ci"),
])
def test_resolve_unknown_lists_available(spec, env, fragment):
    with pytest.raises(UserError, match=fragment.replace(".", r"\.")):
        suite_config.resolve(suite_config.load(VERSIONS), spec, env=env)


# ---------------------------------------------------------------- CLI


def test_cli_validate_ok(capsys):
    assert main(["config", "validate", str(SHIPPED), "--benchmarks", str(FIXTURE_BENCH)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ok: 3 suites, 3 environments")


def test_cli_validate_lists_every_error_first_first(tmp_path, capsys):
    path = _write(tmp_path, _sub("category: Allocation", "category: Memory") + "colour: red\n")
    assert main(["config", "validate", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"{path}:7:19: ") and "unknown category" in err[0]
    assert err[1].startswith(f"{path}:9:1: ") and len(err) == 2


def test_cli_validate_select_error_names_the_benchmark_dir(tmp_path, capsys):
    path = _write(tmp_path, _sub('select: "^allocation"', 'select: "^nothing"'))
    assert main(["config", "validate", str(path), "--benchmarks", str(FIXTURE_BENCH)]) == 2
    assert capsys.readouterr().err == (
        f"{path}:8:17: configs['s:1.0.0'].benchmarks[0].select: '^nothing' matches none of "
        f"the 13 asv benchmarks found in {FIXTURE_BENCH}\n")


def test_cli_validate_bad_benchmark_dir_exits_2(capsys):
    rc = main(["config", "validate", str(SHIPPED), "--benchmarks",
               str(DATA / "asv_benchmarks_broken")])
    assert rc == 2
    assert "broken.py:4: cannot import benchmark module 'broken'" in capsys.readouterr().err


def test_cli_validate_default_path_from_cwd(monkeypatch, capsys):
    monkeypatch.chdir(ROOT / "src")  # found in a parent directory
    assert main(["config", "validate", "--benchmarks", str(FIXTURE_BENCH)]) == 0


def test_cli_show_yaml_and_json_agree(capsys):
    args = ["config", "show", "demo", "--config", str(VERSIONS), "--env", "ci"]
    assert main(args + ["--format", "json"]) == 0
    as_json = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    as_yaml = yaml.safe_load(capsys.readouterr().out)
    assert as_yaml == as_json
    assert as_json["version"] == "1.10.0" and as_json["environment"] == "ci"
    assert as_json["benchmarks"][0]["parameters"]["sample_size"] == 10
    assert as_json["benchmarks"][0]["success_criteria"] == {"max_latency_p99": 100000,
                                                            "min_throughput": 10000.0}


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_cli_show_output_file(tmp_path, capsys, fmt):
    out = tmp_path / f"resolved.{fmt}"
    assert main(["config", "show", "ci-fast", "--config", str(SHIPPED), "--env", "local",
                 "--format", fmt, "--output", str(out)]) == 0
    assert capsys.readouterr().out == ""
    data = (json.loads if fmt == "json" else yaml.safe_load)(out.read_text(encoding="utf-8"))
    assert data["suite"] == "ci-fast" and data["environment"] == "local"
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp file left behind


def test_cli_show_unknown_suite_exits_2(capsys):
    assert main(["config", "show", "nope", "--config", str(VERSIONS)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("benchwatch: error: ") and "available: demo" in err


def test_cli_show_missing_output_dir_exits_2(tmp_path, capsys):
    rc = main(["config", "show", "demo", "--config", str(VERSIONS),
               "--output", str(tmp_path / "no" / "x.yaml")])
    assert rc == 2
    assert "output directory does not exist" in capsys.readouterr().err


def test_cli_config_without_action_exits_2(capsys):
    assert main(["config"]) == 2
    assert "choose an action" in capsys.readouterr().err


def test_cli_help_has_examples(capsys):
    with pytest.raises(SystemExit) as info:
        main(["config", "show", "--help"])
    assert info.value.code == 0
    assert "benchwatch config show ci-fast:1.0.0 --env ci" in capsys.readouterr().out


def test_console_script_exit_codes(tmp_path):
    script = str(Path(sys.executable).parent / "benchwatch")
    ok = subprocess.run([script, "config", "validate", str(SHIPPED),
                         "--benchmarks", str(FIXTURE_BENCH)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    bad = _write(tmp_path, _sub("    name: s\n", "    name: s\n    name: s\n"))
    run = subprocess.run([script, "config", "validate", str(bad)],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 2
    assert run.stderr == f"{bad}:4:5: YAML: duplicate key 'name' (first defined on line 3)\n"
