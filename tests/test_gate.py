"""benchwatch compare / gate: the rule on fixed estimates, and the commands on asv files."""

import json
import math
import re

import numpy as np
import pytest

from asvdata import Bench, entry, write_benchmarks, write_result
from benchwatch import cli, noise, rule
from benchwatch.stats import RatioEstimate

# --------------------------------------------------------------------------- the rule


def est(ratio, lo95, hi95, lo99=None, hi99=None, se=0.01):
    return RatioEstimate(ratio, lo95, hi95, lo99 or lo95 * 0.99, hi99 or hi95 * 1.01,
                         0.001, 0.5, se, "bootstrap")


QUIET = noise.NoiseFloor(0.005, "history", 30)  # floor exp(1.96 * 0.005) - 1 = 0.985 %


@pytest.mark.parametrize("e, hib, status, inconclusive", [
    (est(1.12, 1.08, 1.16), False, "regression", True),     # CI straddles 10 %
    (est(1.20, 1.15, 1.25), False, "regression", False),    # all of the CI beyond 10 %
    (est(1.05, 1.03, 1.07, hi99=1.08), False, "unchanged", False),  # CI never reaches 10 %
    (est(1.06, 1.02, 1.095, hi99=1.11), False, "unchanged", True),  # only the 99 % CI does
    (est(0.80, 0.75, 0.85), False, "improvement", False),
    (est(0.80, 0.75, 0.85), True, "regression", False),     # ops/s down 20 % is worse
    (est(1.01, 0.98, 1.04), False, "unchanged", False),     # not significant
    (est(1.008, 1.001, 1.11), False, "unchanged", True),  # under the floor; CI reaches 10 %
])
def test_rule_cases(e, hib, status, inconclusive):
    d = rule.decide(e, hib, 0.10, QUIET)
    assert (d.status, d.inconclusive) == (status, inconclusive)


def test_noisy_when_the_floor_is_above_the_threshold():
    loud = noise.NoiseFloor(0.06, "history", 30)  # floor 12.5 %: more samples cannot help
    assert loud.floor == pytest.approx(math.exp(noise.Z_FLOOR * 0.06) - 1)
    assert loud.floor == pytest.approx(0.12479, abs=1e-5)
    assert rule.decide(est(1.15, 1.05, 1.25), False, 0.10, loud) == rule.Decision("noisy", False)
    edge = noise.NoiseFloor(0.045, "history", 30)  # floor 9.2 %, mde 10.6 %: they can
    assert rule.decide(est(1.2, 1.1, 1.3), False, 0.10, edge) == rule.Decision("noisy", True)


def test_confirmed_decides_on_the_99_interval():
    e = est(1.06, 1.02, 1.095, hi99=1.11)
    assert rule.decide(e, False, 0.10, QUIET, confirmed=True).status == "regression"
    assert not rule.decide(e, False, 0.10, QUIET, confirmed=True).inconclusive
    e = est(1.06, 1.02, 1.095, hi99=1.098)
    assert rule.decide(e, False, 0.10, QUIET, confirmed=True).status == "unchanged"


def test_values_without_intervals_are_never_judged():
    e = RatioEstimate(1.5, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan,
                      math.nan, "values")
    assert rule.decide(e, False, 0.10, QUIET).status == "noisy"


def test_noise_floor_from_history_ignores_one_level_shift():
    rng = np.random.default_rng(3)
    values = np.exp(rng.normal(0, 0.01, 40))
    values[20:] *= 1.3  # a real change point in the history
    f = noise.from_history(values)
    assert f.source == "history" and f.pairs == 39
    assert 0.01 < f.sigma < 0.02  # sqrt(2) * 1 %, not inflated by the 30 % step
    assert noise.from_history(values[:8]) is None  # fewer than MIN_PAIRS pairs
    assert noise.from_samples(0.02).source == "samples"


# --------------------------------------------------------------------------- commands

N_HIST = 30
BENCHES = [Bench("fam.Time.time_stable"), Bench("fam.Time.time_slower"),
           Bench("fam.Time.time_noisy"), Bench("fam.Ops.track_rate", unit="ops/s"),
           Bench("fam.Time.time_broken"), Bench("fam.Time.time_gone"),
           Bench("fam.Time.time_param", params=[["10", "100"]]),
           Bench("fam.Time.time_<b>evil</b>|`x`")]


def commit(i: int) -> str:
    return f"{i:08x}" + "ab" * 16


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """30 history commits, then BASE and HEAD with known changes, 10 samples each."""
    root = tmp_path_factory.mktemp("gate") / "results"
    root.mkdir()
    # benchmarks.json is HEAD's suite, as asv rewrites it on every run: time_gone was
    # deleted from the code (removed), time_new added
    write_benchmarks(root, [b for b in BENCHES if b.name != "fam.Time.time_gone"]
                     + [Bench("fam.Time.time_new")])
    rng = np.random.default_rng(7)

    def s(level, cv=0.01, n=10):
        return list(level * np.exp(rng.normal(0, cv, n)))

    for i in range(N_HIST + 2):
        head = i == N_HIST + 1
        e = {}

        def add(name, level, cv=0.01, params=None, values=None):
            samples = [s(level, cv)] if params is None else [s(v, cv) for v in values]
            e[name] = entry([float(np.median(x)) for x in samples], samples,
                            params=params)

        add("fam.Time.time_stable", 1e-3)
        add("fam.Time.time_slower", 2e-3 * (1.3 if head else 1.0))
        add("fam.Time.time_noisy", 1e-3, cv=0.15)
        add("fam.Ops.track_rate", 5e4 * (0.8 if head else 1.0))
        add("fam.Time.time_param", None, params=[["10", "100"]],
            values=[1e-4, 1e-3 * (1.25 if head else 1.0)])
        add("fam.Time.time_<b>evil</b>|`x`", 1e-3)
        if head:
            e["fam.Time.time_broken"] = entry([None])
            add("fam.Time.time_new", 1e-3)
        else:
            add("fam.Time.time_broken", 1e-3)
            add("fam.Time.time_gone", 1e-3)
        write_result(root, "box", commit(i), 1_700_000_000_000 + i * 86_400_000, e)
    return root


def run(capsys, *argv):
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def statuses(doc):
    return {(r["benchmark"], tuple(r["params"])): r["status"] for r in doc["results"]}


def test_gate_json_verdict_and_statuses(results, capsys):
    code, out, err = run(capsys, "gate", commit(N_HIST)[:8], commit(N_HIST + 1)[:10],
                         "--results-dir", str(results), "--format", "json")
    assert code == 1, err
    doc = json.loads(out)
    assert doc["verdict"] == "fail"
    assert doc["base"] == commit(N_HIST) and doc["head"] == commit(N_HIST + 1)
    assert statuses(doc) == {
        ("fam.Ops.track_rate", ()): "regression",
        ("fam.Time.time_<b>evil</b>|`x`", ()): "unchanged",
        ("fam.Time.time_broken", ()): "failed",
        ("fam.Time.time_gone", ()): "removed",
        ("fam.Time.time_new", ()): "new",
        ("fam.Time.time_noisy", ()): "noisy",
        ("fam.Time.time_param", ("10",)): "unchanged",
        ("fam.Time.time_param", ("100",)): "regression",
        ("fam.Time.time_slower", ()): "regression",
        ("fam.Time.time_stable", ()): "unchanged",
    }
    by = {(r["benchmark"], tuple(r["params"])): r for r in doc["results"]}
    slower = by[("fam.Time.time_slower", ())]
    for key in ("benchmark", "params", "machine", "before", "after", "ratio", "change_pct",
                "ci_low_pct", "ci_high_pct", "p_value", "status", "severity", "threshold_pct",
                "noise_floor_pct"):
        assert key in slower
    assert slower["severity"] == "major" and slower["threshold_pct"] == 10.0
    assert slower["ci_low_pct"] < slower["change_pct"] < slower["ci_high_pct"]
    assert 25 < slower["change_pct"] < 35 and slower["method"] == "bootstrap"
    assert slower["noise_source"] == "history" and 0 < slower["noise_floor_pct"] < 10
    rate = by[("fam.Ops.track_rate", ())]
    assert rate["change_pct"] < -15 and rate["severity"] == "minor"
    assert by[("fam.Time.time_noisy", ())]["noise_floor_pct"] > 10


def test_a_benchmark_the_suite_still_defines_is_missing_and_fails_the_gate(tmp_path, capsys):
    """time_gone has results at BASE only; with benchmarks.json still defining it (an
    interrupted run), the gate calls it missing and fails; without it, removed and passes."""
    root = tmp_path / "results"
    root.mkdir()
    rng = np.random.default_rng(3)
    for i, names in enumerate((("fam.Time.time_stable", "fam.Time.time_gone"),
                               ("fam.Time.time_stable",))):
        write_result(root, "box", commit(i), 1_700_000_000_000 + i * 86_400_000,
                     {n: entry([1e-3], [list(1e-3 * np.exp(rng.normal(0, 0.01, 10)))])
                      for n in names})
    for defined, status, code_want in ((BENCHES[:1] + BENCHES[5:6], "missing", 1),
                                       (BENCHES[:1], "removed", 0)):
        write_benchmarks(root, defined)
        code, out, err = run(capsys, "gate", commit(0)[:8], commit(1)[:8], "--results-dir",
                             str(root), "--format", "json")
        doc = json.loads(out)
        assert (code, statuses(doc)[("fam.Time.time_gone", ())]) == (code_want, status), err
        assert doc["verdict"] == ("fail" if code_want else "pass")
    write_benchmarks(root, BENCHES[:1] + BENCHES[5:6])
    code, out, _ = run(capsys, "gate", commit(0)[:8], commit(1)[:8], "--results-dir",
                       str(root))
    assert out.splitlines()[0].startswith("❌ Performance gate failed") and \
        "❌ 1 missing at HEAD" in out.splitlines()[0]


def test_compare_always_exits_0_and_agrees_with_gate(results, capsys):
    code, out, _ = run(capsys, "compare", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                       "--results-dir", str(results), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "compare" and "verdict" not in doc
    assert doc["counts"] == {"failed": 1, "new": 1, "noisy": 1, "regression": 3, "removed": 1,
                             "unchanged": 3}


def test_gate_passes_on_an_aa_pair(results, capsys):
    code, out, _ = run(capsys, "gate", commit(N_HIST - 1)[:8], commit(N_HIST)[:8],
                       "--results-dir", str(results))
    assert code == 0
    assert out.splitlines()[0].startswith("✅ Performance gate passed")


def test_markdown_escapes_names_and_folds_the_rest(results, capsys):
    _, out, _ = run(capsys, "gate", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                    "--results-dir", str(results), "--format", "markdown")
    assert out.startswith("**❌ Performance gate failed: 3 regressions")
    assert "<b>" not in out and "&lt;b&gt;evil&lt;/b&gt;\\|\\`x\\`" in out
    assert "<details><summary>7 other series</summary>" in out
    table = out.split("<details>")[0]
    assert "fam\\.Time\\.time\\_slower" in table and "time\\_stable" not in table
    row = next(line for line in table.splitlines() if "time\\_slower" in line)
    assert "| 2 ms | 2.61 ms | +30.8% [+28.4%, +32.6%] | <0.001 | regression (major) |" in row
    assert row.count("|") == 8 and any(ch in row for ch in "▁▂▃▄▅▆▇█")


def test_csv_and_html(results, capsys):
    _, out, _ = run(capsys, "compare", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                    "--results-dir", str(results), "--format", "csv")
    lines = out.splitlines()
    assert lines[0].startswith("benchmark,params,machine,env,unit,before,after,ratio")
    assert len(lines) == 11
    _, out, _ = run(capsys, "compare", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                    "--results-dir", str(results), "--format", "html")
    assert out.startswith("<!doctype html>") and "<b>evil" not in out
    assert "&lt;b&gt;evil&lt;/b&gt;" in out


def test_unknown_and_ambiguous_commits_are_exit_2(results, capsys):
    code, _, err = run(capsys, "gate", "deadbeef", commit(N_HIST)[:8],
                       "--results-dir", str(results))
    assert code == 2 and "commit deadbeef has no results" in err
    code, _, err = run(capsys, "gate", "0000", commit(N_HIST)[:8], "--results-dir", str(results))
    assert code == 2 and "at least 8 hex digits" in err
    code, _, err = run(capsys, "gate", commit(1)[:8], commit(2)[:8],
                       "--results-dir", str(results / "nope"))
    assert code == 2 and "results directory not found" in err


def test_threshold_option_changes_the_verdict(results, capsys):
    code, out, _ = run(capsys, "compare", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                       "--results-dir", str(results), "--threshold", "40", "--format", "json")
    assert code == 0
    st = statuses(json.loads(out))
    assert st[("fam.Time.time_slower", ())] == "unchanged"  # +30 % cannot reach 40 %
    assert st[("fam.Time.time_param", ("100",))] == "unchanged"


def test_confirm_lists_inconclusive_series(results, capsys):
    code, out, _ = run(capsys, "gate", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                       "--results-dir", str(results), "--confirm", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    for item in doc["confirm"]:
        assert item["extra_samples"] >= 10
        assert item["bench_regex"].startswith("^fam\\.")


def test_against_a_named_baseline(results, capsys, tmp_path):
    names = tmp_path / "baselines.yaml"
    names.write_text(f"baselines:\n  last-release:\n    commit: {commit(N_HIST)}\n")
    code, out, err = run(capsys, "gate", "--against", "last-release", commit(N_HIST + 1)[:8],
                         "--baselines", str(names), "--results-dir", str(results),
                         "--format", "json")
    assert code == 1, err
    assert json.loads(out)["base"] == commit(N_HIST)
    code, _, err = run(capsys, "gate", "--against", "nope", commit(N_HIST + 1)[:8],
                       "--baselines", str(names), "--results-dir", str(results))
    assert code == 2 and f"'nope' is neither a commit hash nor a baseline in {names}" in err


SUITE = """\
configs:
  "tiny:1.0.0":
    name: tiny
    version: "1.0.0"
    benchmarks:
      - name: alloc
        category: Allocation
        select: "^allocation\\\\.AllocateLatency\\\\."
        parameters: {input_sizes: [10, 100]}
        success_criteria: {max_latency_p99: 1000}
environments:
  ci: {}
default_parameters: {sample_size: 10}
gates: {latency_regression_pct: 15, throughput_regression_pct: 10,
        memory_regression_pct: 20, min_success_rate: 1.0}
"""


def test_gate_with_a_suite_uses_its_thresholds_and_slas(tmp_path, capsys):
    from pathlib import Path

    bench_dir = Path(__file__).parent / "data" / "asv_benchmarks"
    (tmp_path / "asv.conf.json").write_text(json.dumps(
        {"version": 1, "benchmark_dir": str(bench_dir), "results_dir": "results"}))
    (tmp_path / "suites.yaml").write_text(SUITE)
    root = tmp_path / "results"
    root.mkdir()
    write_benchmarks(root, [Bench("allocation.AllocateLatency.time_allocate", params=[["10", "100"]]),
                            Bench("allocation.AllocateLatency.track_latency_p99_ns", unit="ns",
                                  params=[["10", "100"]]),
                            Bench("other.Thing.time_x")])
    rng = np.random.default_rng(3)
    for i in range(14):
        head = i == 13
        lv = [1e-4 * (1.12 if head else 1.0), 1e-3 * (1.40 if head else 1.0)]
        samples = [list(v * np.exp(rng.normal(0, 0.01, 10))) for v in lv]
        p99 = [800.0, 1500.0 if head else 900.0]
        write_result(root, "box", commit(i), 1000 + i, {
            "allocation.AllocateLatency.time_allocate":
                entry([float(np.median(s)) for s in samples], samples, params=[["10", "100"]]),
            "allocation.AllocateLatency.track_latency_p99_ns":
                entry(p99, params=[["10", "100"]]),
            "other.Thing.time_x": entry([1.0]),
        })
    code, out, err = run(capsys, "gate", commit(12)[:8], commit(13)[:8], "--suite", "tiny",
                         "--env", "ci", "--config", str(tmp_path / "suites.yaml"),
                         "--results-dir", str(root), "--format", "json")
    assert code == 1, err
    doc = json.loads(out)
    assert doc["suite"] == "tiny:1.0.0" and doc["verdict"] == "fail"
    st = statuses(doc)
    # other.Thing is not in the suite; +12 % at size 10 cannot reach the suite's 15 %
    assert st == {("allocation.AllocateLatency.time_allocate", ("10",)): "unchanged",
                  ("allocation.AllocateLatency.time_allocate", ("100",)): "regression",
                  ("allocation.AllocateLatency.track_latency_p99_ns", ("10",)): "noisy",
                  ("allocation.AllocateLatency.track_latency_p99_ns", ("100",)): "noisy"}
    assert {r["threshold_pct"] for r in doc["results"]} == {15.0}
    assert doc["sla"] == [{"entry": "alloc", "criterion": "max_latency_p99", "limit": 1000.0,
                           "unit": "ns", "observed": 1500.0,
                           "benchmark": "allocation.AllocateLatency.track_latency_p99_ns(100)",
                           "status": "fail"}]


def test_json_report_reads_back_and_renders_the_same(results, capsys):
    from benchwatch import report

    _, out, _ = run(capsys, "gate", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                    "--results-dir", str(results), "--format", "json")
    doc = json.loads(out)
    assert len(doc["results"][0]["history"]) == 20
    back = report.from_dict(doc)
    assert report.to_dict(back) == doc
    _, md_direct, _ = run(capsys, "gate", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                          "--results-dir", str(results), "--format", "markdown")
    assert report.render(back, "markdown") == md_direct


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(kind="evil"), "report 'kind' must be 'gate' or 'compare'"),
    (lambda d: d.update(base="1; rm -rf /"), "report 'base' must be a hex commit hash"),
    (lambda d: d.update(verdict="maybe"), "report 'verdict' must be 'pass' or 'fail'"),
    (lambda d: d["results"][0].update(status="<b>"), "results[0].status '<b>' is unknown"),
    (lambda d: d["results"][0].update(n_before="10"), "results[0].n_before is not a integer"),
    (lambda d: d["results"][0].update(severity="<img src=x>"),
     "results[0].severity '<img src=x>' is unknown"),
    (lambda d: d["results"][0].update(method="magic"), "results[0].method 'magic' is unknown"),
    (lambda d: d["results"][0].update(params="x"), "results[0].params must be a list"),
    (lambda d: d.update(results={}), "report 'results' must be a list"),
])
def test_untrusted_report_fields_are_checked(results, capsys, mutate, message):
    from benchwatch import report
    from benchwatch.errors import UserError

    _, out, _ = run(capsys, "gate", commit(N_HIST)[:8], commit(N_HIST + 1)[:8],
                    "--results-dir", str(results), "--format", "json")
    doc = json.loads(out)
    mutate(doc)
    with pytest.raises(UserError, match=re.escape(message)):
        report.from_dict(doc, "verdict.json")


def test_a_decisive_change_on_a_noisy_benchmark_is_still_called():
    loud = noise.NoiseFloor(0.06, "history", 30)  # floor 12.5 %: cannot gate at 10 %
    six_fold = est(6.0, 4.4, 8.7, lo99=4.0, hi99=9.5, se=0.2)
    assert rule.decide(six_fold, False, 0.10, loud) == rule.Decision("regression", False)
    assert rule.decide(six_fold, True, 0.10, loud) == rule.Decision("improvement", False)
    # the 99 % interval must clear the floor as well as the threshold
    near = est(1.2, 1.14, 1.26, lo99=1.12, hi99=1.28)
    assert rule.decide(near, False, 0.10, loud).status == "noisy"


def _two_commit_run(root, shifts, samples_cv=0.01, seed=5):
    """BASE and HEAD only (no history); series i moves by shifts[i] between them."""
    rng = np.random.default_rng(seed)
    names = [f"fam.Run.time_{i:02d}" for i in range(len(shifts))]
    write_benchmarks(root, [Bench(n) for n in names])
    for c, side in ((0, None), (1, shifts)):
        e = {}
        for i, name in enumerate(names):
            level = 1e-3 * (1 + (side[i] if side else 0.0))
            s = list(level * np.exp(rng.normal(0, samples_cv, 10)))
            e[name] = entry([float(np.median(s))], [s])
        write_result(root, "box", commit(c), 1000 + c, e)


def test_without_history_the_run_spread_is_the_floor(tmp_path, capsys):
    # a machine that changed speed between rounds: every series moved by up to +-25 %,
    # and the samples of each side are tight, so each interval alone looks significant
    shifts = [0.25, -0.2, 0.15, -0.1, 0.2, -0.25, 0.12, -0.15, 0.18, 0.3, -0.22, 0.1]
    root = tmp_path / "results"
    root.mkdir()
    _two_commit_run(root, shifts)
    code, out, _ = run(capsys, "gate", commit(0)[:8], commit(1)[:8], "--results-dir", str(root),
                       "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["counts"] == {"noisy": 12}
    assert {r["noise_source"] for r in doc["results"]} == {"run"}
    assert all(r["noise_floor_pct"] > 25 for r in doc["results"])


def test_a_slowdown_of_every_series_still_fails_without_history(tmp_path, capsys):
    root = tmp_path / "results"
    root.mkdir()
    _two_commit_run(root, [0.40 + 0.01 * (i % 3) for i in range(12)])
    code, out, _ = run(capsys, "gate", commit(0)[:8], commit(1)[:8], "--results-dir", str(root),
                       "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["counts"] == {"regression": 12}
    assert {r["noise_source"] for r in doc["results"]} <= {"run", "samples"}


def test_run_spread_uses_values_and_timed_series_only(tmp_path, capsys):
    """asv run histories keep no samples: the run's spread still comes from the values,
    and a memory series is judged on its own interval, not on the timings' spread."""
    rng = np.random.default_rng(8)
    root = tmp_path / "results"
    root.mkdir()
    shifts = [0.25, -0.2, 0.15, -0.1, 0.2, -0.25, 0.12, -0.15, 0.18, 0.3]
    names = [f"fam.Run.time_{i:02d}" for i in range(len(shifts))]
    write_benchmarks(root, [Bench(n) for n in names] + [Bench("fam.Run.peakmem_x", unit="bytes")])
    for c in (0, 1):
        e = {}
        for i, name in enumerate(names):
            v = 1e-3 * (1 + (shifts[i] if c else 0.0)) * float(np.exp(rng.normal(0, 0.001)))
            e[name] = [[v], [], "v1", 0, 1.0, [v * 0.99], [v * 1.01]]  # value and a 99 % CI
        m = 1e8 * (1.5 if c else 1.0)
        e["fam.Run.peakmem_x"] = [[m], [], "v1", 0, 1.0, [m * 0.999], [m * 1.001]]
        write_result(root, "box", commit(c), 1000 + c, e)
    code, out, _ = run(capsys, "gate", commit(0)[:8], commit(1)[:8], "--results-dir", str(root),
                       "--format", "json")
    doc = json.loads(out)
    by = {r["benchmark"]: r for r in doc["results"]}
    assert all(by[n]["noise_source"] == "run" and by[n]["status"] == "noisy" for n in names)
    assert by["fam.Run.peakmem_x"]["noise_source"] == "samples"
    assert by["fam.Run.peakmem_x"]["status"] == "regression" and code == 1
