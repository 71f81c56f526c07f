"""benchwatch run: selection regexes, derived asv config, criteria, dry-run, one real run."""

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchwatch import cli, fingerprint, run, suite_config
from benchwatch.results import Row
from benchwatch.run import BenchParams, Check, Verdict

REPO = Path(__file__).resolve().parents[1]

SUITE_YAML = """\
configs:
  "s:1.0.0":
    name: s
    version: "1.0.0"
    benchmarks:
      - name: alloc
        category: Allocation
        select: "^allocation\\\\."
        parameters: {input_sizes: [10, 100, 7], batch_sizes: [100], concurrency_levels: [1, 4]}
        success_criteria:
          max_latency_p99: 200000
          min_throughput: 5000.0
          max_memory_usage: 1000000
          max_cpu_usage: 70.0
      - name: neural
        category: NeuralNetwork
        select: "^neural\\\\.Single"
        parameters: {input_sizes: [500]}
        success_criteria: {max_latency_p50: 2000}
      - name: nothing
        category: NeuralNetwork
        select: "^simd\\\\."
        parameters: {input_sizes: [3]}
environments:
  local:
    parameter_overrides:
      alloc: {sample_size: 30}
default_parameters: {sample_size: 20, warm_up_iterations: 0, timeout_seconds: 120}
gates: {min_success_rate: 0.5}
"""

PARAMS = {
    "allocation.AllocateLatency.track_latency_p99_ns":
        BenchParams(("input_size",), (("10", "50", "100"),)),
    "allocation.AllocateLatency.track_throughput_ops_s":
        BenchParams(("input_size",), (("10", "50", "100"),)),
    "allocation.BatchThroughput.track_cpu_percent":
        BenchParams(("batch", "concurrency"), (("100", "500"), ("1", "4", "8"))),
    "allocation.ConcurrentStress.track_latency_p99_ns": BenchParams(("threads",), (("8", "32"),)),
    "allocation.CompileTime.timeraw_compile_allocation": BenchParams((), ()),
    "allocation.MemoryPressure.peakmem_allocate_batch": BenchParams(("rows",), (("1000",),)),
    "neural.SingleInference.track_latency_p50_ns":
        BenchParams(("model_type", "input_size"), (("'MLP'", "'CNN1D'"), ("10", "500"))),
    "simd.DotProduct.time_dot_simd": BenchParams(("size",), (("64", "128"),)),
}


@pytest.fixture
def resolved(tmp_path):
    path = tmp_path / "suites.yaml"
    path.write_text(SUITE_YAML)
    return suite_config.resolve(suite_config.load(path), "s", env="local")


def test_selection_maps_suite_parameters(resolved):
    sels = run.select(resolved, PARAMS)
    assert [(s.entry, s.benchmark, s.values) for s in sels] == [
        ("alloc", "allocation.AllocateLatency.track_latency_p99_ns", (("10", "100"),)),
        ("alloc", "allocation.AllocateLatency.track_throughput_ops_s", (("10", "100"),)),
        ("alloc", "allocation.BatchThroughput.track_cpu_percent", (("100",), ("1", "4"))),
        # ConcurrentStress: threads {8, 32} meet concurrency {1, 4} nowhere -> not run
        ("alloc", "allocation.CompileTime.timeraw_compile_allocation", ()),
        ("alloc", "allocation.MemoryPressure.peakmem_allocate_batch", (("1000",),)),
        ("neural", "neural.SingleInference.track_latency_p50_ns", (("'MLP'", "'CNN1D'"), ("500",))),
    ]


def test_bench_regexes_exact(resolved):
    regexes = run.bench_regexes(run.select(resolved, PARAMS))
    assert regexes == [
        (r"^allocation\.AllocateLatency\.(?:track_latency_p99_ns|track_throughput_ops_s)"
        r"\((?:10|100)\)$"),
        r"^allocation\.BatchThroughput\.track_cpu_percent\((?:100), (?:1|4)\)$",
        r"^allocation\.CompileTime\.timeraw_compile_allocation$",
        r"^allocation\.MemoryPressure\.peakmem_allocate_batch\((?:1000)\)$",
        r"^neural\.SingleInference\.track_latency_p50_ns\((?:'MLP'|'CNN1D'), (?:500)\)$",
    ]
    # they select exactly what asv would run, in asv's name(p0, p1) form
    names = ["allocation.BatchThroughput.track_cpu_percent(100, 4)",
             "allocation.BatchThroughput.track_cpu_percent(100, 8)",
             "allocation.BatchThroughput.track_cpu_percent(500, 1)",
             "neural.SingleInference.track_latency_p50_ns('CNN1D', 500)",
             "neural.SingleInference.track_latency_p50_ns('CNN1D', 10)",
             "allocation.CompileTime.timeraw_compile_allocation"]
    assert [any(re.search(r, n) for r in regexes) for n in names] == [
        True, False, False, True, False, True]


def test_attributes(resolved):
    sels = run.select(resolved, PARAMS)
    assert run.asv_attributes(resolved, sels, quick=False) == [
        "-a", "repeat=30", "-a", "warmup_time=0", "-a", "timeout=120"]
    assert run.asv_attributes(resolved, sels, quick=True) == ["-a", "timeout=120"]


def test_benchmark_params_of_the_real_suite():
    params = run.benchmark_params(REPO / "benchmarks")
    assert params["allocation.BatchThroughput.track_cpu_percent"] == BenchParams(
        ("batch", "concurrency"), (("100", "500", "1000"), ("1", "4", "8", "16")))
    assert params["simd.DotProduct.time_dot_simd"] == BenchParams(
        ("size",), (("64", "128", "256", "512", "1024"),))
    assert params["e2e.Workflow.track_stage_ns"].names == ("stage",)
    assert params["memory.Construction.peakmem_mlp_1024"] == BenchParams((), ())
    assert params["neural.SingleInference.track_latency_p99_ns"].values[0][0] == "'MLP'"


def test_derived_config_isolates_results(tmp_path):
    conf = tmp_path / "asv.conf.json"
    conf.write_text('{\n  // a comment\n  "repo": ".", "project_url": "https://x.org/a",\n'
                    '  "benchmark_dir": "benchmarks", "results_dir": ".asv/results",\n'
                    '  "env_dir": ".asv/env", "matrix": {"req": {"numba": ["0.1"]}}\n}\n')
    path, data = run.derived_config(conf, "ci-fast", "1.0.0", "ci")
    root = tmp_path.resolve()
    assert path == root / ".asv/suites/ci-fast-1.0.0-ci/asv.conf.json"
    assert data == {
        "repo": str(root), "project_url": "https://x.org/a",
        "benchmark_dir": str(root / "benchmarks"),
        "results_dir": str(root / ".asv/results/ci-fast-ci"),
        "env_dir": str(root / ".asv/env"), "matrix": {"req": {"numba": ["0.1"]}},
        "html_dir": str(root / ".asv/html/ci-fast-ci"),
    }
    _, other = run.derived_config(conf, "ci-fast", "1.0.0", "local")
    assert other["results_dir"] != data["results_dir"]
    assert other["env_dir"] == data["env_dir"]
    # the real config parses and keeps its keys
    _, real = run.derived_config(REPO / "asv.conf.json", "s", "1.0.0", "local")
    assert real["launch_method"] == "spawn" and real["build_cache_size"] == 4


def test_head_of_range():
    assert run.head_of([]) == "HEAD"
    assert run.head_of(["HEAD^!"]) == "HEAD"
    assert run.head_of(["main..feature"]) == "feature"
    assert run.head_of(["v1...abc123"]) == "abc123"


def _row(bench, params, value):
    return Row(bench, params, "m", "env", "c0ffee", 1, value)


def test_criteria_evaluation_exact(resolved):
    sels = run.select(resolved, PARAMS)
    rows = [
        _row("allocation.AllocateLatency.track_latency_p99_ns", ("10",), 150000.0),
        _row("allocation.AllocateLatency.track_latency_p99_ns", ("100",), 250000.0),
        _row("allocation.AllocateLatency.track_latency_p99_ns", ("50",), 9e9),  # not selected
        _row("allocation.AllocateLatency.track_throughput_ops_s", ("10",), 9000.0),
        _row("allocation.AllocateLatency.track_throughput_ops_s", ("100",), 6000.5),
        _row("allocation.MemoryPressure.peakmem_allocate_batch", ("1000",), None),  # failed
        _row("allocation.BatchThroughput.track_cpu_percent", ("100", "1"), float("nan")),
        _row("neural.SingleInference.track_latency_p50_ns", ("'MLP'", "500"), 1500.0),
    ]
    checks = run.evaluate(resolved, sels, rows)
    assert checks == [
        Check("alloc", "max_latency_p99", 200000.0, "ns", 250000.0,
              "allocation.AllocateLatency.track_latency_p99_ns(100)", "fail"),
        Check("alloc", "min_throughput", 5000.0, "ops/s", 6000.5,
              "allocation.AllocateLatency.track_throughput_ops_s(100)", "pass"),
        Check("alloc", "max_memory_usage", 1000000.0, "bytes", None, None, "missing"),
        Check("alloc", "max_cpu_usage", 70.0, "%", None, None, "missing"),
        Check("neural", "max_latency_p50", 2000.0, "ns", 1500.0,
              "neural.SingleInference.track_latency_p50_ns('MLP', 500)", "pass"),
    ]
    verdict = Verdict("s", "1.0.0", "local", "m", "c0ffee", tuple(checks), 0.5)
    assert verdict.success_rate == 0.4 and not verdict.passed
    text = run.render(verdict, "text")
    assert text.splitlines()[0] == "suite s:1.0.0 env local machine m commit c0ffee"
    assert text.splitlines()[2].split() == [
        "alloc", "max_latency_p99", "200000", "ns", "250000", "ns",
        "allocation.AllocateLatency.track_latency_p99_ns(100)", "FAIL"]
    assert text.splitlines()[-1] == ("2 passed, 1 failed, 2 missing; success rate 0.40 "
                                     "(min 0.5): FAIL")
    md = run.render(verdict, "markdown")
    assert "| alloc | max_cpu_usage | 70 % | - | - | missing |" in md
    data = json.loads(run.render(verdict, "json"))
    assert (data["passed"], data["failed"], data["missing"], data["verdict"]) == (2, 1, 2, "fail")
    assert data["checks"][1]["observed"] == 6000.5


def test_verdict_rules():
    ok = Check("e", "min_throughput", 1.0, "ops/s", 2.0, "b", "pass")
    miss = Check("e", "max_cpu_usage", 1.0, "%", None, None, "missing")
    fail = Check("e", "max_cpu_usage", 1.0, "%", 3.0, "b", "fail")
    assert Verdict("s", "1", "e", "m", "c", (ok, ok, ok, miss), 0.75).passed
    assert not Verdict("s", "1", "e", "m", "c", (ok, ok, ok, miss), 0.8).passed
    assert not Verdict("s", "1", "e", "m", "c", (ok, ok, ok, fail), 0.5).passed
    assert not Verdict("s", "1", "e", "m", "c", (miss,), 0.95).passed  # missing never passes
    empty = Verdict("s", "1", "e", "m", "c", (), 0.95)
    assert empty.passed and empty.success_rate is None


def test_dry_run_prints_selection_and_commands(tmp_path, capsys, monkeypatch):
    suites = tmp_path / "suites.yaml"
    suites.write_text(SUITE_YAML.replace('"^simd\\\\."', '"^simd\\\\.DotProduct"'))
    monkeypatch.chdir(REPO)
    code = cli.main(["run", "s:1.0.0", "--config", str(suites), "--dry-run",
                     "--machine", "box", "--quick"])
    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    conf = REPO / ".asv/suites/s-1.0.0-local/asv.conf.json"
    assert lines[0] == f"derived asv config: {conf}"
    assert lines[1] == f"results dir: {REPO / '.asv/results/s-local'}"
    assert "  alloc: allocation.BatchThroughput.track_cpu_percent batch=[100], "\
           "concurrency=[1, 4]" in lines
    assert "  nothing: simd.DotProduct.time_dot_simd" not in out
    asv = str(Path(sys.executable).parent / "asv")
    assert f"  {asv} machine --yes --machine box --config {conf}" in lines
    run_line = next(line for line in lines if line.startswith(f"  {asv} run "))
    assert run_line.endswith("--quick -a timeout=120 --show-stderr 'HEAD^!'")
    assert r"--bench '^allocation\.CompileTime\.timeraw_compile_allocation$'" in run_line
    assert "entry 'nothing' selects no benchmark" in err
    assert not conf.exists()  # a dry run writes nothing


def test_unknown_suite_is_exit_2(tmp_path, capsys, monkeypatch):
    suites = tmp_path / "suites.yaml"
    suites.write_text(SUITE_YAML)
    monkeypatch.chdir(REPO)
    assert cli.main(["run", "nope", "--config", str(suites), "--dry-run"]) == 2
    assert "unknown suite 'nope'" in capsys.readouterr().err


TINY = """\
configs:
  "tiny:0.1.0":
    name: tiny
    version: "0.1.0"
    benchmarks:
      - name: dot
        category: NeuralNetwork
        select: "^simd\\\\.DotProduct\\\\.time_dot_simd$"
        parameters: {input_sizes: [64]}
      - name: mem
        category: MemoryManagement
        select: "^memory\\\\.Construction\\\\.peakmem_mlp_1024$"
        success_criteria: {max_memory_usage: 1099511627776}
environments:
  local: {}
default_parameters: {sample_size: 10, timeout_seconds: 60}
gates: {min_success_rate: 1.0}
"""


def test_real_run_on_a_clone(tmp_path):
    """benchwatch run for real: asv in the existing dev Python (no env build)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    suites = tmp_path / "tiny.yaml"
    suites.write_text(TINY)
    home = tmp_path / "home"
    home.mkdir()
    bw = Path(sys.executable).parent / "benchwatch"
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        [str(bw), "run", "tiny", "--config", str(suites), "--quick", "--machine", "testbox",
         "--asv-env", f"existing:{sys.executable}", "--format", "json"],
        check=False, cwd=clone, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(proc.stdout)
    assert data["verdict"] == "pass"
    assert [(c["entry"], c["criterion"], c["status"], c["benchmark"])
            for c in data["checks"]] == [
        ("mem", "max_memory_usage", "pass", "memory.Construction.peakmem_mlp_1024")]
    assert data["checks"][0]["observed"] > 1e6
    results_dir = clone / ".asv/results/tiny-local/testbox"
    files = [p.name for p in results_dir.glob("*.json") if p.name != "machine.json"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True,
                          text=True, check=True).stdout.strip()
    assert len(files) == 1 and files[0].startswith(head[:8])
    assert (clone / ".asv/suites/tiny-0.1.0-local/asv.conf.json").is_file()
    assert "asv machine --yes --machine testbox" in proc.stderr
    # the fingerprint: asv copies the governor benchwatch stamped into every result
    governor = fingerprint.cpu_governor()
    assert json.loads((home / ".asv-machine.json").read_text())["testbox"]["governor"] == governor
    assert json.loads((results_dir / "machine.json").read_text())["governor"] == governor
    assert json.loads((results_dir / files[0]).read_text())["params"]["governor"] == governor
    from benchwatch import results

    rows = results.load(clone / ".asv/results/tiny-local").rows
    dot = [r for r in rows if r.benchmark == "simd.DotProduct.time_dot_simd"]
    assert dot[0].params == ("64",) and dot[0].ok and dot[0].unit == "seconds"
    assert not any(math.isfinite(r.value or math.nan) for r in dot[1:])


def test_ranges_may_follow_options(capsys):
    from benchwatch.cli import main

    assert main(["run", "ci-fast", "--env", "ci", "--dry-run", "HEAD~1..HEAD", "HEAD"]) == 0
    out = capsys.readouterr().out
    assert "'HEAD~1..HEAD' HEAD" in out or "HEAD~1..HEAD HEAD" in out
