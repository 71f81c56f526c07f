"""benchwatch configs compare: the derived asv config, the configuration analysis on
generated results with known effects, the renderings, and the accuracy probe on the
real engine."""

import json
import math
from pathlib import Path

import asvdata
import numpy as np
import pytest
from naive import naive_family_geomean, naive_holm

from benchwatch import _variant_probe as probe
from benchwatch import config_impact, configs_compare, variants
from benchwatch.cli import main
from benchwatch.errors import UserError

ASV_CONF = {
    "version": 1, "project": "demo", "repo": ".", "branches": ["main"],
    "environment_type": "virtualenv", "pythons": ["3.11"],
    "matrix": {"req": {"numpy": ["2.4.6"]},
               "env_nobuild": {"ENGINE_FASTMATH": ["0"], "ENGINE_DTYPE": ["float32"]}},
    "results_dir": "results", "env_dir": "env", "html_dir": "html",
}
VARIANTS = """\
baseline: default
variants:
  default:
    description: defaults
  fast:
    description: injected 20 % speed-up everywhere
    env: {ENGINE_FASTMATH: "1"}
  noeffect:
    description: no effect
    env: {ENGINE_DTYPE: float64}
  slowalloc:
    description: 30 % slower allocation only
    env: {NUMBA_NUM_THREADS: "1"}
"""
COMMIT = "ab12cd34" * 5
MACHINE = "m1"
#: True time factor of each variant, per family: the effects the analysis must find.
EFFECT = {"default": {}, "fast": {"allocation": 0.8, "neural": 0.8, "simd": 0.8},
          "noeffect": {}, "slowalloc": {"allocation": 1.3}}

BENCHES = [
    # percentile metrics of one measurement: one workload per parameter combination
    asvdata.Bench("neural.Single.track_latency_p50_ns", "ns", [["'MLP'", "'LSTM'"], ["10", "100"]]),
    asvdata.Bench("neural.Single.track_latency_p99_ns", "ns", [["'MLP'", "'LSTM'"], ["10", "100"]]),
    asvdata.Bench("neural.Single.track_throughput_ops_s", "ops/s",
                  [["'MLP'", "'LSTM'"], ["10", "100"]]),
    asvdata.Bench("neural.Single.track_cpu_percent", "%", [["'MLP'", "'LSTM'"], ["10", "100"]]),
    asvdata.Bench("neural.InferTime.time_infer", "seconds", [["'MLP'", "'LSTM'"]]),
    asvdata.Bench("simd.Dot.time_dot_scalar", "seconds", [["64", "128", "256", "512", "1024"]]),
    asvdata.Bench("simd.Dot.time_dot_simd", "seconds", [["64", "128", "256", "512", "1024"]]),
    asvdata.Bench("allocation.Alloc.time_allocate", "seconds", [["10", "100", "1000"]]),
    asvdata.Bench("allocation.Alloc.peakmem_allocate", "bytes", [["10", "100", "1000"]]),
]


def write_results(results: Path, envs: dict[str, str], seed: int = 7, sd: float = 0.03,
                  n: int = 20) -> None:
    """One result file per variant environment: lognormal noise (CV ~3 %), raw samples
    for the time_ benchmarks, single values for the track_ ones (as asv stores them)."""
    rng = np.random.default_rng(seed)
    results.mkdir(exist_ok=True)
    asvdata.write_benchmarks(results, BENCHES)
    for variant, env in envs.items():
        entries = {}
        for b in BENCHES:
            factor = EFFECT[variant].get(b.name.split(".")[0], 1.0)
            combos = int(np.prod([len(p) for p in b.params]))
            base = [50.0 if b.unit == "%" else 1e-6 * (3 + i) if b.unit == "seconds"
                    else 1e4 * (1 + i) for i in range(combos)]
            if b.unit in ("seconds", "ns"):
                true = [x * factor for x in base]
            elif b.unit == "ops/s":
                true = [x / factor for x in base]  # 20 % less time is 25 % more throughput
            else:
                true = base
            if b.unit == "seconds":
                samples = [list(t * np.exp(rng.normal(0, sd, n))) for t in true]
                entries[b.name] = asvdata.entry([float(np.median(s)) for s in samples],
                                                samples, b.params)
            else:
                entries[b.name] = asvdata.entry(
                    [float(t * np.exp(rng.normal(0, sd))) for t in true], None, b.params)
        asvdata.write_result(results, MACHINE, COMMIT, 1_700_000_000_000, entries, env=env)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("configs")
    (tmp / "asv.conf.json").write_text(json.dumps(ASV_CONF))
    (tmp / "variants.yaml").write_text(VARIANTS)
    derived = configs_compare.derive(tmp / "asv.conf.json", variants.load(tmp / "variants.yaml"))
    write_results(tmp / "results", derived.envs())
    return tmp, derived


def _cli(project, *extra):
    tmp, _ = project
    return ["configs", "compare", "--no-run", "--no-accuracy",
            "--asv-config", str(tmp / "asv.conf.json"), "--variants", str(tmp / "variants.yaml"),
            "--commit", COMMIT[:8], *extra]


@pytest.fixture(scope="module")
def impact(project):
    from benchwatch import results

    _, derived = project
    rows = results.load(derived.results_dir).rows
    return config_impact.analyse(rows, derived.envs(), "default")


# --------------------------------------------------------------------------- known effects


def test_injected_speedup_is_ranked_first_with_right_sign_and_interval(project, capsys):
    assert main(_cli(project, "--format", "json")) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc["ranking"][0]
    assert first["variant"] == "fast" and first["rank"] == 1 and first["significant"]
    assert first["ci_low"] < 0.8 < first["ci_high"] < 1.0  # true value in, no change out
    cells = {(c["variant"], c["family"]): c for c in doc["matrix"]}
    for family in ("allocation", "neural", "simd"):
        c = cells[("fast", family)]
        assert c["ci_low_pct"] < -20.0 < c["ci_high_pct"] < 0.0, c
        assert c["change_pct"] == pytest.approx(-20.0, abs=1.0)
        assert c["significant"] and c["better"] and c["p_adjusted"] < 0.05
    assert doc["optimal"] == {"overall": "fast", "by_family": {
        "allocation": "fast", "neural": "fast", "simd": "fast"}}


def test_null_variant_is_not_significant_and_gets_no_recommendation(project, capsys):
    assert main(_cli(project, "--format", "json")) == 0
    doc = json.loads(capsys.readouterr().out)
    null_cells = [c for c in doc["matrix"] if c["variant"] == "noeffect"]
    assert len(null_cells) == 3
    for c in null_cells:
        assert not c["significant"] and not c["better"]
        assert c["ci_low_pct"] < 0.0 < c["ci_high_pct"]
    assert not any(r["variant"] == "noeffect" or "noeffect" in r["text"]
                   for r in doc["recommendations"])
    rank = next(r for r in doc["ranking"] if r["variant"] == "noeffect")
    assert not rank["significant"]
    # the slow-down of one family is found, and only there
    slow = {c["family"]: c for c in doc["matrix"] if c["variant"] == "slowalloc"}
    assert slow["allocation"]["significant"] and not slow["allocation"]["better"]
    assert slow["allocation"]["ci_low_pct"] < 30.0 < slow["allocation"]["ci_high_pct"]
    assert not slow["neural"]["significant"] and not slow["simd"]["significant"]


TEXT = """\
configs compare: 4 variants against baseline default at ab12cd34ab12 on m1
  default    (baseline)
  fast       ENGINE_FASTMATH=1
  noeffect   ENGINE_DTYPE=float64
  slowalloc  NUMBA_NUM_THREADS=1

time ratio variant/default per family, 95% intervals, Holm-adjusted p across 9 cells

fast
  allocation  time: [-21.9% -20.0% -18.0%] (p = 0.004 < 0.05, Holm; 3 workloads)  Performance has improved.
  neural      time: [-20.9% -19.6% -18.2%] (p < 0.001 < 0.05, Holm; 6 workloads)  Performance has improved.
  simd        time: [-20.7% -20.2% -19.7%] (p < 0.001 < 0.05, Holm; 5 workloads)  Performance has improved.
noeffect
  allocation  time: [-0.1% +0.1% +0.3%] (p = 0.566 > 0.05, Holm; 3 workloads)  No change in performance detected.
  neural      time: [-1.9% -0.1% +1.6%] (p = 1.000 > 0.05, Holm; 6 workloads)  No change in performance detected.
  simd        time: [-1.5% +0.2% +1.9%] (p = 1.000 > 0.05, Holm; 5 workloads)  No change in performance detected.
slowalloc
  allocation  time: [+29.5% +30.4% +31.2%] (p < 0.001 < 0.05, Holm; 3 workloads)  Performance has regressed.
  neural      time: [-1.3% +0.3% +1.8%] (p = 1.000 > 0.05, Holm; 6 workloads)  No change in performance detected.
  simd        time: [-1.0% -0.2% +0.6%] (p = 1.000 > 0.05, Holm; 5 workloads)  No change in performance detected.

ranking (score: geometric mean time ratio against default, < 1 is faster)
rank  variant    score  95% CI          p (Holm)  workloads
----  ---------  -----  --------------  --------  ---------
   1  fast       0.801  [0.796, 0.806]  <0.001           14
   2  default    1.000  -               -                14
   3  noeffect   1.000  [0.993, 1.008]  0.927            14
   4  slowalloc  1.059  [0.992, 1.130]  0.162            14

optimal: overall fast; by family: allocation fast, neural fast, simd fast

recommendations
- Use fast overall: it cuts time by 19.9 % [19.4 %, 20.4 %] against default, p < 0.001 (Holm, 14 workloads); accuracy not probed.
- fast cuts simd time by 20.2 % [19.7 %, 20.7 %], p < 0.001 (Holm, 5 workloads); accuracy not probed.
- fast cuts allocation time by 20.0 % [18.0 %, 21.9 %], p = 0.004 (Holm, 3 workloads); accuracy not probed.
- fast cuts neural time by 19.6 % [18.2 %, 20.9 %], p < 0.001 (Holm, 6 workloads); accuracy not probed.
- Avoid slowalloc for allocation: it adds 30.4 % [29.5 %, 31.2 %] to allocation time, p < 0.001 (Holm, 3 workloads).

28 series not scored (not a time or throughput, failed, or missing in one environment)
"""


def test_text_report_exact(project, capsys):
    assert main(_cli(project)) == 0
    assert capsys.readouterr().out == TEXT


def test_markdown_and_json_carry_the_same_findings(project, capsys, tmp_path):
    out = tmp_path / "configs.md"
    assert main(_cli(project, "--format", "markdown", "--output", str(out))) == 0
    text = out.read_text()
    assert "| variant | allocation | neural | simd |\n| :--- | ---: | ---: | ---: |\n" in text
    assert ("| fast | **-20.0% [-21.9%, -18.0%]** | **-19.6% [-20.9%, -18.2%]** | "
            "**-20.2% [-20.7%, -19.7%]** |") in text
    assert "| noeffect | +0.1% [-0.1%, +0.3%] | -0.1% [-1.9%, +1.6%] | " \
           "+0.2% [-1.5%, +1.9%] |" in text
    assert "- overall: **fast**" in text
    assert main(_cli(project, "--format", "json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"kind", "version", "baseline", "variants", "commit", "machine", "alpha",
                        "families", "matrix", "benchmarks", "ranking", "optimal", "accuracy",
                        "recommendations", "unscored"}
    assert (doc["kind"], doc["version"], doc["baseline"]) == ("configs", 1, "default")
    assert doc["commit"] == COMMIT and doc["machine"] == MACHINE
    assert doc["families"] == ["allocation", "neural", "simd"]
    assert [v["name"] for v in doc["variants"]] == ["default", "fast", "noeffect", "slowalloc"]
    assert doc["variants"][1]["changes"] == {"ENGINE_FASTMATH": "1"}
    assert doc["variants"][1]["env"] == {"ENGINE_FASTMATH": "1", "ENGINE_DTYPE": "float32"}
    assert set(doc["matrix"][0]) == {"variant", "family", "ratio", "change_pct", "ci_low_pct",
                                     "ci_high_pct", "p_value", "p_adjusted", "significant",
                                     "benchmarks", "workloads", "better"}
    # 3 variants x (12 neural track + 2 neural time + 10 simd + 3 allocation) scored series
    assert len(doc["benchmarks"]) == 3 * 27
    thr = next(b for b in doc["benchmarks"] if b["variant"] == "fast"
               and b["benchmark"] == "neural.Single.track_throughput_ops_s"
               and b["params"] == ["'MLP'", "10"])
    # a throughput is reported in its own direction: up, and better
    assert thr["higher_is_better"] and thr["change_pct"] > 20 and thr["method"] == "values"
    assert doc["accuracy"] == [] and doc["unscored"] == 28
    md_recs = [line for line in text.splitlines() if line.startswith("- ") and "cuts" in line]
    assert len(md_recs) == 4 == sum("cuts" in r["text"] for r in doc["recommendations"])


def test_bench_filter_restricts_the_analysis(project, capsys):
    assert main(_cli(project, "--bench", r"^simd\.", "--format", "json")) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["families"] == ["simd"]
    assert {b["benchmark"] for b in doc["benchmarks"]} == {"simd.Dot.time_dot_scalar",
                                                           "simd.Dot.time_dot_simd"}


# --------------------------------------------------------------------------- statistics


def test_family_aggregation_against_the_naive_reference(impact):
    assert impact.families == ("allocation", "neural", "simd")
    for cell in impact.matrix:
        mine = [s for s in impact.series if s.variant == cell.variant and s.family == cell.family]
        items = [(config_impact.workload_of(s.benchmark, s.params), math.exp(s.time_log_ratio))
                 for s in mine]
        ratio, lo, hi, p = naive_family_geomean(items)
        assert cell.ratio == pytest.approx(ratio, rel=1e-12)
        assert 1 + cell.ci_low_pct / 100 == pytest.approx(lo, rel=1e-9)
        assert 1 + cell.ci_high_pct / 100 == pytest.approx(hi, rel=1e-9)
        assert cell.p_value == pytest.approx(p, rel=1e-9, abs=1e-300)
        assert cell.benchmarks == len(mine)
    assert [c.p_adjusted for c in impact.matrix] == pytest.approx(
        naive_holm([c.p_value for c in impact.matrix]), rel=1e-12)
    # the overall score is the same estimator over every workload of the variant
    for r in impact.ranking:
        if r.variant == "default":
            assert (r.score, r.ci_low, r.ci_high) == (1.0, 1.0, 1.0)
            continue
        items = [(config_impact.workload_of(s.benchmark, s.params), math.exp(s.time_log_ratio))
                 for s in impact.series if s.variant == r.variant]
        ratio, lo, hi, p = naive_family_geomean(items)
        assert (r.score, r.ci_low, r.ci_high, r.p_value) == pytest.approx((ratio, lo, hi, p),
                                                                          rel=1e-9)


def test_holm_against_the_textbook_loop():
    rng = np.random.default_rng(3)
    for m in (1, 2, 7, 40):
        p = list(rng.uniform(0, 0.2, m) ** 2)
        if m > 2:
            p[1] = math.nan
            p[2] = p[0]  # ties
        assert config_impact.holm(p) == pytest.approx(naive_holm(p), nan_ok=True, rel=1e-12)
    assert config_impact.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert config_impact.holm([]) == []


def test_throughput_is_read_as_time_and_a_series_keeps_its_own_direction(impact):
    s = next(s for s in impact.series if s.variant == "fast"
             and s.benchmark == "neural.Single.track_throughput_ops_s")
    assert s.higher_is_better and s.ratio > 1.2
    assert s.time_log_ratio == pytest.approx(-math.log(s.ratio))
    lat = next(s for s in impact.series if s.variant == "fast"
               and s.benchmark == "neural.Single.track_latency_p99_ns")
    assert not lat.higher_is_better and lat.time_log_ratio == pytest.approx(math.log(lat.ratio))
    # track values carry no interval and never count as significant on their own
    assert lat.method == "values" and not lat.significant and math.isnan(lat.ci_low_pct)
    timed = next(s for s in impact.series if s.variant == "fast"
                 and s.benchmark == "simd.Dot.time_dot_simd" and s.params == ("1024",))
    assert timed.method == "bootstrap" and timed.significant and timed.better


def _series(benchmark, params, variant, ratio, lo=math.nan, hi=math.nan, p=math.nan,
            hib=False):
    pct = lambda r: 100 * (r - 1)
    return config_impact.SeriesImpact(benchmark, params, variant, "seconds", hib, ratio,
                                      pct(ratio), pct(lo), pct(hi), p, p, False, False,
                                      "bootstrap" if math.isfinite(lo) else "values")


def test_a_family_of_one_workload_uses_its_series_interval_or_makes_no_claim():
    one = _series("simd.Dot.time_a", ("64",), "v", 0.8, 0.75, 0.85, 0.001)
    est = config_impact.aggregate([one])
    assert (est.ratio, est.ci_low, est.ci_high, est.p_value) == pytest.approx(
        (0.8, 0.75, 0.85, 0.001))
    thr = _series("simd.Dot.track_x", ("64",), "v", 1.25, 1.2, 1.3, 0.002, hib=True)
    est = config_impact.aggregate([thr])
    assert (est.ratio, est.ci_low, est.ci_high) == pytest.approx((0.8, 1 / 1.3, 1 / 1.2))
    two = [one, _series("simd.Dot.time_b", ("64",), "v", 0.9, 0.85, 0.95, 0.001)]
    est = config_impact.aggregate(two)  # one workload, two series: no interval
    assert est.workloads == 1 and est.series == 2 and math.isnan(est.ci_low)
    assert est.ratio == pytest.approx(math.sqrt(0.8 * 0.9))
    with pytest.raises(ValueError):
        config_impact.geometric_mean([0.1])
    assert config_impact.geometric_mean([0.0, 0.0]) == (1.0, 1.0, 1.0, 1.0)


def test_recommendations_quote_the_accuracy_probe(project):
    from benchwatch import results

    _, derived = project
    rows = results.load(derived.results_dir).rows
    acc = {"fast": probe.Accuracy("fast", 3126.0, "neural.MLP.infer_batch", "float32", 2.25)}
    got = config_impact.analyse(rows, derived.envs(), "default", accuracy=acc)
    assert got.recommendations[0].text == (
        "Use fast overall: it cuts time by 19.9 % [19.4 %, 20.4 %] against default, "
        "p < 0.001 (Holm, 14 workloads); results differ by at most 3126 float32 ulp "
        "(2.2 ulp of the output's scale).")
    assert got.recommendations[0].max_ulp == 3126.0
    assert got.accuracy == (acc["fast"],)
    same = {"fast": probe.Accuracy("fast", 0.0, None, "float32", 0.0)}
    got = config_impact.analyse(rows, derived.envs(), "default", accuracy=same)
    assert got.recommendations[1].text == (
        "fast cuts simd time by 20.2 % [19.7 %, 20.7 %], p < 0.001 (Holm, 5 workloads); "
        "results are bit-identical to default's.")


def test_no_significant_variant_means_baseline_is_optimal_and_nothing_is_recommended(
        tmp_path):
    from benchwatch import results

    envs = {"default": "env-a", "other": "env-b"}
    rng = np.random.default_rng(11)
    res = tmp_path / "results"
    res.mkdir()
    b = asvdata.Bench("simd.Dot.time_dot", "seconds", [["1", "2", "3"]])
    asvdata.write_benchmarks(res, [b])
    for env in envs.values():
        samples = [list(1e-6 * np.exp(rng.normal(0, 0.05, 10))) for _ in range(3)]
        asvdata.write_result(res, MACHINE, COMMIT, 0, {b.name: asvdata.entry(
            [float(np.median(s)) for s in samples], samples, b.params)}, env=env)
    got = config_impact.analyse(results.load(res).rows, envs, "default")
    assert got.optimal_overall == "default" and got.optimal_by_family == {"simd": "default"}
    assert got.recommendations == () and not got.matrix[0].significant


# --------------------------------------------------------------------------- asv config


def test_derived_config_is_the_variants_exactly_as_asv_names_them(project, tmp_path):
    from asv import config as asv_config
    from asv import environment as asv_environment

    tmp, derived = project
    conf = derived.conf
    assert conf["exclude"] == [{"python": ".*"}]
    assert conf["include"] == [
        {"python": "3.11", "req": {"numpy": "2.4.6"},
         "env_nobuild": {"ENGINE_FASTMATH": "0", "ENGINE_DTYPE": "float32"}},
        {"python": "3.11", "req": {"numpy": "2.4.6"},
         "env_nobuild": {"ENGINE_FASTMATH": "1", "ENGINE_DTYPE": "float32"}},
        {"python": "3.11", "req": {"numpy": "2.4.6"},
         "env_nobuild": {"ENGINE_FASTMATH": "0", "ENGINE_DTYPE": "float64"}},
        {"python": "3.11", "req": {"numpy": "2.4.6"},
         "env_nobuild": {"ENGINE_FASTMATH": "0", "ENGINE_DTYPE": "float32",
                         "NUMBA_NUM_THREADS": "1"}},
    ]
    assert derived.results_dir == (tmp / "results").resolve()
    assert conf["results_dir"] == str((tmp / "results").resolve())
    assert Path(conf["repo"]) == tmp.resolve() and Path(conf["env_dir"]).is_absolute()
    assert derived.path == tmp.resolve() / ".asv" / "configs" / "variants" / "asv.conf.json"
    # asv itself, reading the derived config from a file, makes exactly these environments
    path = tmp_path / "asv.conf.json"
    path.write_text(json.dumps(conf))
    envs = list(asv_environment.get_environments(asv_config.Config.load(str(path)), None,
                                                 verbose=False))
    assert sorted(e.name for e in envs) == sorted(derived.envs().values())
    for v in derived.variants:
        tagged = {("nobuild", k): val for k, val in v.env.items()}
        assert v.asv_env == asv_environment.get_env_name("virtualenv", "3.11",
                                                         {"numpy": "2.4.6"}, tagged)
    assert len({e.dir_name for e in envs}) == 1  # env_nobuild only: one build for all
    # the baseline, which changes nothing, is the ordinary runs' environment
    plain = list(asv_environment.get_environments(
        asv_config.Config.load(str(tmp / "asv.conf.json")), None, verbose=False))
    assert [e.name for e in plain] == [derived.envs()["default"]]


def test_derivation_refusals(tmp_path):
    (tmp_path / "variants.yaml").write_text(
        "baseline: a\nvariants:\n  a: {}\n  b:\n    env: {ENGINE_FASTMATH: '0'}\n")
    (tmp_path / "asv.conf.json").write_text(json.dumps(ASV_CONF))
    v = variants.load(tmp_path / "variants.yaml")
    with pytest.raises(UserError) as info:
        configs_compare.derive(tmp_path / "asv.conf.json", v)
    assert str(info.value) == (
        f"{tmp_path / 'variants.yaml'}:4: variant 'b' runs with exactly the settings of 'a' "
        f"(line 3) once the matrix defaults of {(tmp_path / 'asv.conf.json').resolve()} apply")
    two = json.loads(json.dumps(ASV_CONF))
    two["matrix"]["env_nobuild"]["ENGINE_DTYPE"] = ["float32", "float64"]
    (tmp_path / "asv.conf.json").write_text(json.dumps(two))
    (tmp_path / "variants.yaml").write_text(VARIANTS)
    with pytest.raises(UserError) as info:
        configs_compare.derive(tmp_path / "asv.conf.json", variants.load(tmp_path / "variants.yaml"))
    assert str(info.value).endswith(
        "asv.conf.json: matrix env_nobuild 'ENGINE_DTYPE' lists 2 values; a configuration "
        "experiment starts from one (the default) and sets the rest per variant")


def test_asv_commands_interleave_rounds_over_one_commit():
    plan = configs_compare.Plan((r"^simd\.", r"^neural\.X$"), ("-a", "repeat=20"), (), ())
    cmds = configs_compare.asv_commands("asv", Path("/p/c.json"), "m", plan, "abc123", False,
                                        ["--attribute=rounds=2"])
    assert cmds == [
        ["asv", "machine", "--yes", "--machine", "m", "--config", "/p/c.json"],
        ["asv", "run", "--config", "/p/c.json", "--machine", "m", "--interleave-rounds",
         "--record-samples", "--show-stderr", "--bench", r"^simd\.", "--bench", r"^neural\.X$",
         "-a", "repeat=20", "--attribute=rounds=2", "abc123^!"]]


# --------------------------------------------------------------------------- command line


def test_help_tells_config_from_configs(capsys):
    with pytest.raises(SystemExit):
        main(["configs", "--help"])
    out = capsys.readouterr().out
    assert "'config' (singular) is the suite config" in " ".join(out.split())
    with pytest.raises(SystemExit):
        main(["configs", "compare", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "'benchwatch config validate|show' is the suite config" in out
    assert "exit codes: 0 analysed" in out
    assert main(["configs"]) == 2
    assert "choose an action: compare" in capsys.readouterr().err


def test_cli_errors_are_one_line_exit_2(project, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("baseline: a\nvariants:\n  a: {}\n  b:\n    env: {PATH: /x}\n")
    argv = _cli(project)
    argv[argv.index("--variants") + 1] = str(bad)
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        f"benchwatch: error: {bad}:5: variant 'b': 'PATH' is not an ENGINE_* or NUMBA_* "
        "setting (upper-case letters, digits and '_' after the prefix)\n")
    argv = _cli(project)
    argv[argv.index("--commit") + 1] = "ffffffff"
    assert main(argv) == 2
    assert capsys.readouterr().err == (
        "benchwatch: error: commit ffffffff has no results in the results directory\n")
    assert main(_cli(project, "--alpha", "1.5")) == 2
    assert "--alpha 1.5: give a level in (0, 1)" in capsys.readouterr().err


# --------------------------------------------------------------------------- accuracy


def test_ulp_distance_exact():
    one = np.float32(1.0)
    up = np.nextafter(one, np.float32(2))
    assert probe.ulp_distance(np.array([one]), np.array([up])) == (1.0, "float32")
    # float32 against float64 is measured in float32 ulp of the baseline
    x64 = np.array([1.0 + 2.0**-24])
    assert probe.ulp_distance(np.array([one]), x64) == (0.5, "float32")
    assert probe.ulp_distance(np.array([1.0]), np.array([np.nextafter(1.0, 2.0)])) == \
        (1.0, "float64")
    nan = np.float32("nan")
    assert probe.ulp_distance(np.array([nan, one]), np.array([nan, one]))[0] == 0.0
    assert probe.ulp_distance(np.array([nan]), np.array([one]))[0] == math.inf
    # an element near zero is far in its own ulp and close in ulp of the output's scale
    a = np.array([4.0, 1e-6], dtype=np.float32)
    b = np.array([4.0, 1e-6 + 2.0**-21], dtype=np.float32)
    assert probe.ulp_distance(a, b)[0] > 1000
    assert probe.ulp_of_scale(a, b) == pytest.approx(1.0, rel=1e-6)
    with pytest.raises(ValueError):
        probe.ulp_distance(np.zeros(2), np.zeros(3))


def test_accuracy_probe_on_the_real_engine_baseline_vs_fastmath():
    """Real subprocesses, a few outputs: fastmath moves the neural outputs (sums
    reassociated) and nothing else here; a bad setting fails in the probe."""
    outputs = ["neural.MLP.infer_batch", "simd.dot_scalar", "text.embed_texts"]
    base_env = {"ENGINE_FASTMATH": "0", "ENGINE_PARALLEL": "1", "ENGINE_DTYPE": "float32",
                "NUMBA_NUM_THREADS": "2"}
    base = probe.run_probe("default", base_env, outputs=outputs)
    fast = probe.run_probe("fastmath", {**base_env, "ENGINE_FASTMATH": "1"}, outputs=outputs)
    assert sorted(base.outputs) == sorted(outputs)
    assert base.meta["fastmath"] is False and fast.meta["fastmath"] is True
    assert base.meta["dtype"] == "float32" and base.outputs["neural.MLP.infer_batch"].shape == (
        64, 8)
    assert probe.accuracy(base, base) == probe.Accuracy("default", 0.0, None, "float32", 0.0)
    acc = probe.accuracy(base, fast)
    assert acc.worst_output == "neural.MLP.infer_batch" and acc.max_ulp > 0
    # dot_scalar and the embedding do not depend on ENGINE_FASTMATH: bit-identical
    for name in ("simd.dot_scalar", "text.embed_texts"):
        assert np.array_equal(base.outputs[name], fast.outputs[name])
    with pytest.raises(RuntimeError, match="ENGINE_DTYPE='float16' must be 'float32' or"):
        probe.run_probe("bad", {**base_env, "ENGINE_DTYPE": "float16"}, outputs=outputs[:1])


def test_the_site_experiments_page_reads_the_real_report(project, capsys, tmp_path):
    """The command's own JSON feeds the site's Experiments page: the heat map marks the
    injected 20 % speed-up significant and better, and the null variant not significant."""
    from benchwatch.site import experiments

    out = tmp_path / "configs.json"
    assert main(_cli(project, "--format", "json", "--output", str(out))) == 0
    [(name, doc)] = experiments.load([out])
    ctx, charts = experiments.page([(name, doc)])
    [c] = ctx["configs"]
    assert c["baseline"] == "default" and c["families"] == ["allocation", "neural", "simd"]
    rows = {r["variant"]: r["cells"] for r in c["heat"]}
    assert set(rows) == {"fast", "noeffect", "slowalloc"}
    assert [cell["cls"] for cell in rows["fast"]] == ["bw-better"] * 3
    assert all(cell["cls"] == "" and cell["text"].endswith(" n.s.")
               for cell in rows["noeffect"])
    assert c["overall"] == "fast" and c["ranking"][0]["variant"] == "fast"
    assert c["recommendations"] == [r["text"] for r in doc["recommendations"]]
    assert c["recommendations"][0].startswith("Use fast overall")
    assert charts == {"abtests": []}
