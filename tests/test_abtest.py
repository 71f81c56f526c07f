"""benchwatch abtest: specs, ABBA order, the plan's figures, wording, JSON, and real runs.

The end-to-end runs use a copy of tests/data/tinyproj with one added benchmark that
sleeps ``tinyproj.DELAY`` seconds, 30 % longer when ``ENGINE_X=1``; a second commit
raises ``DELAY`` by 30 %. Those are known effects put there on purpose, so the tests
assert the test's *verdict* (A wins, at a boundary), never a time.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
from pathlib import Path

import asvdata
import numpy as np
import pytest

from benchwatch import abtest, cli, sequential
from benchwatch.abtest import Spec, parse_spec
from benchwatch.errors import UserError

TINY = Path(__file__).parent / "data" / "tinyproj"
MACHINE = "abtest-box"
SLEEP = "slow.Sleep.time_sleep"
# asv samples of SLEEP in the synthetic history: its CV is what the plan must use
HISTORY_SAMPLES = [3.9e-3, 4.3e-3, 3.5e-3, 4.1e-3, 3.7e-3, 4.6e-3, 3.3e-3, 3.9e-3]

SLOW_BENCHMARK = '''\
import os
import time


class Sleep:
    number = 2          # calls per sample (asv attribute), no auto-calibration
    warmup_time = 0     # no warm-up before each sample: there is nothing to warm

    def time_sleep(self):
        from tinyproj import DELAY  # the arm's sources: PYTHONPATH points at its export

        time.sleep(DELAY * (1.3 if os.environ.get("ENGINE_X") == "1" else 1.0))
'''


BROKEN_BENCHMARK = '''\
import os


def time_broken():
    if os.environ.get("ENGINE_X") == "1":
        raise ValueError("boom in B")
'''


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.name=dev", "-c",
                           "user.email=dev@example.com", *args], check=True,
                          capture_output=True, text=True, env=env).stdout.strip()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """tinyproj + benchmarks/slow.py in git: commit 1 with DELAY 3 ms, commit 2 (HEAD)
    with DELAY 3.9 ms (30 % slower); a history of SLEEP on MACHINE under results/."""
    root = tmp_path_factory.mktemp("abtest") / "proj"
    shutil.copytree(TINY, root)
    (root / "benchmarks" / "slow.py").write_text(SLOW_BENCHMARK)
    (root / "benchmarks" / "broken.py").write_text(BROKEN_BENCHMARK)
    init = root / "src" / "tinyproj" / "__init__.py"
    original = init.read_text()
    init.write_text(original + "\nDELAY = 0.003\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "3 ms")
    init.write_text(original + "\nDELAY = 0.0039\n")
    git(root, "commit", "-q", "-am", "3.9 ms")
    results = root / "results"
    results.mkdir()
    asvdata.write_benchmarks(results, [asvdata.Bench(SLEEP)])
    for i, commit in enumerate((git(root, "rev-parse", "HEAD~1"), git(root, "rev-parse", "HEAD"))):
        asvdata.write_result(results, MACHINE, commit, 1_700_000_000_000 + i * 60_000,
                             {SLEEP: asvdata.entry([float(np.median(HISTORY_SAMPLES))],
                                                   samples=[HISTORY_SAMPLES])})
    return root


def run(project: Path, tmp_path: Path, *args: str, name: str = "out.json"
        ) -> tuple[int, dict | None]:
    out = tmp_path / name
    code = cli.main(["abtest", "--asv-config", str(project / "asv.conf.json"),
                     "--format", "json", "--output", str(out), *args])
    return code, (json.loads(out.read_text()) if out.exists() else None)


def history_plan(mde: float, alpha: float = 0.05, power: float = 0.8, looks: int = 5
                 ) -> tuple[float, int, int]:
    """(cv, n_fixed, n_max) for SLEEP from its history, by statsmodels (an independent
    implementation of the t-test's power) and the design's inflation."""
    from statsmodels.stats.power import TTestIndPower

    s = np.asarray(HISTORY_SAMPLES)
    cv = float(s.std(ddof=1) / s.mean())
    effect = math.log1p(mde) / math.sqrt(math.log1p(cv * cv))
    n_fixed = math.ceil(TTestIndPower().solve_power(effect_size=effect, alpha=alpha,
                                                    power=power))
    inflation = sequential.design(looks, alpha, "obrien-fleming", power).inflation
    return cv, n_fixed, math.ceil(n_fixed * inflation)


# --------------------------------------------------------------------------- specs


@pytest.mark.parametrize("text, ref, env", [
    ("main", "main", ()),
    ("HEAD", "HEAD", ()),
    ("HEAD+ENGINE_FASTMATH=1", "HEAD", (("ENGINE_FASTMATH", "1"),)),
    ("+ENGINE_FASTMATH=1", "HEAD", (("ENGINE_FASTMATH", "1"),)),
    ("ENGINE_FASTMATH=1,ENGINE_PARALLEL=0", "HEAD",
     (("ENGINE_FASTMATH", "1"), ("ENGINE_PARALLEL", "0"))),
    ("v1.2+NUMBA_OPT=3,ENGINE_DTYPE=float64", "v1.2",
     (("NUMBA_OPT", "3"), ("ENGINE_DTYPE", "float64"))),
    ("feature/x~2+ENGINE_NUM_THREADS=auto", "feature/x~2", (("ENGINE_NUM_THREADS", "auto"),)),
    ("1a2b3c4d", "1a2b3c4d", ()),
])
def test_parse_spec_good(text, ref, env):
    assert parse_spec(text, "--b") == Spec(text, ref, env)


@pytest.mark.parametrize("text, message", [
    ("", "--b '': empty spec; write REF, NAME=VALUE[,NAME=VALUE...] or REF+NAME=VALUE[,...]"),
    ("HEAD+", ("--b 'HEAD+': nothing after '+'; write REF, NAME=VALUE[,NAME=VALUE...] or "
              "REF+NAME=VALUE[,...]")),
    ("HEAD+FOO=1", ("--b 'HEAD+FOO=1': FOO is not an ENGINE_* or NUMBA_* variable "
                   "(upper case letters, digits and '_')")),
    ("engine_x=1", ("--b 'engine_x=1': engine_x is not an ENGINE_* or NUMBA_* variable "
                   "(upper case letters, digits and '_')")),
    ("HEAD+ENGINE_X", "--b 'HEAD+ENGINE_X': ENGINE_X has no value; write NAME=VALUE"),
    ("HEAD+ENGINE_X=1,", ("--b 'HEAD+ENGINE_X=1,': an empty item has no value; "
                         "write NAME=VALUE")),
    ("ENGINE_X=a b", ("--b 'ENGINE_X=a b': value 'a b' of ENGINE_X may only hold letters, "
                     "digits, '_', '.' and '-'")),
    ("ENGINE_X=1;rm", ("--b 'ENGINE_X=1;rm': value '1;rm' of ENGINE_X may only hold "
                      "letters, digits, '_', '.' and '-'")),
    ("ENGINE_X=", ("--b 'ENGINE_X=': value '' of ENGINE_X may only hold letters, digits, "
                  "'_', '.' and '-'")),
    ("ENGINE_X=1,ENGINE_X=2", "--b 'ENGINE_X=1,ENGINE_X=2': ENGINE_X is set twice"),
    ("--upload-pack=x", ("--b '--upload-pack=x': --upload-pack is not an ENGINE_* or "
                        "NUMBA_* variable (upper case letters, digits and '_')")),
    ("-x+ENGINE_X=1", "--b '-x+ENGINE_X=1': a ref cannot start with '-': '-x'"),
    ("my ref", "--b 'my ref': a ref cannot hold whitespace: 'my ref'"),
])
def test_parse_spec_bad(text, message):
    with pytest.raises(UserError) as info:
        parse_spec(text, "--b")
    assert str(info.value) == message


def test_bad_spec_is_exit_2_with_one_line(capsys):
    code = cli.main(["abtest", "--a", "HEAD", "--b", "HEAD+FOO=1", "--bench", "x"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == ("benchwatch: error: --b 'HEAD+FOO=1': FOO is not an ENGINE_* or NUMBA_* "
                   "variable (upper case letters, digits and '_')\n")


def test_unknown_ref_is_exit_2(project, tmp_path, capsys):
    code, doc = run(project, tmp_path, "--a", "nosuchref", "--b", "HEAD", "--bench", "slow")
    err = capsys.readouterr().err
    assert (code, doc) == (2, None)
    assert err.splitlines()[-1] == (f"benchwatch: error: --a 'nosuchref': 'nosuchref' is not "
                                    f"a commit in {project.resolve()}")


# --------------------------------------------------------------------------- order


def test_abba_schedule_exact_for_a_seed():
    # random.Random(7).random() < 0.5 (A first) for the first five draws: T, T, F, T, F
    assert "".join(abtest.abba_schedule(5, 7)) == "ABBA" "ABBA" "BAAB" "ABBA" "BAAB"


@pytest.mark.parametrize("seed", range(20))
def test_abba_schedule_is_balanced_blocks(seed):
    order = abtest.abba_schedule(50, seed)
    blocks = ["".join(order[i:i + 4]) for i in range(0, len(order), 4)]
    assert set(blocks) <= {"ABBA", "BAAB"}
    assert order.count("A") == order.count("B") == 100
    # both block kinds occur: the first arm is drawn, not fixed
    assert {"ABBA", "BAAB"} == set(blocks)


def test_abba_schedule_depends_on_seed_only():
    assert abtest.abba_schedule(30, 123) == abtest.abba_schedule(30, 123)
    assert abtest.abba_schedule(30, 123) != abtest.abba_schedule(30, 124)


# --------------------------------------------------------------------------- plan


def test_plan_for_a_fixed_cv_matches_statsmodels():
    from statsmodels.stats.power import TTestIndPower

    design = sequential.design(5, 0.025, "obrien-fleming", 0.8)
    plan = abtest.make_plan(0.05, 0.05, design)
    effect = math.log1p(0.05) / math.sqrt(math.log1p(0.05 ** 2))
    assert plan.n_fixed == math.ceil(TTestIndPower().solve_power(
        effect_size=effect, alpha=0.025, power=0.8)) == 22
    assert plan.n_max == math.ceil(22 * design.inflation) == 23
    assert (plan.capped, plan.planned_power) == (False, 0.8)


def test_plan_cap_reports_the_power_at_the_cap():
    from statsmodels.stats.power import TTestIndPower

    design = sequential.design(5, 0.025, "obrien-fleming", 0.8)
    plan = abtest.make_plan(0.05, 0.05, design, max_samples=10,
                            seconds_per_sample=0.5)
    effect = math.log1p(0.05) / math.sqrt(math.log1p(0.05 ** 2))
    n_eq = math.floor(10 / design.inflation)  # 9: what 10 sequential samples are worth
    assert (plan.n_fixed, plan.n_max, plan.capped, n_eq) == (22, 10, True, 9)
    assert plan.planned_power == pytest.approx(
        TTestIndPower().power(effect, nobs1=9, alpha=0.025), rel=1e-9)
    assert plan.expected_duration_s == 0.5 * 2 * 10


def test_pooled_cv_is_the_lognormal_cv_of_the_pooled_log_sd():
    a, b = [1.0, 1.2, 0.9, 1.1], [2.0, 2.6, 1.9, 2.1]
    la, lb = np.log(a), np.log(b)
    var = (np.var(la, ddof=1) * 3 + np.var(lb, ddof=1) * 3) / 6
    assert abtest.pooled_cv(a, b) == pytest.approx(math.sqrt(math.expm1(var)), rel=1e-12)
    # B's doubling is not noise: the same arms shifted together give the same CV
    assert abtest.pooled_cv(a, [x * 10 for x in b]) == pytest.approx(abtest.pooled_cv(a, b))
    assert math.isnan(abtest.pooled_cv([1.0, 0.0, 1.0], [1.0, 1.0, 1.0]))


# --------------------------------------------------------------------------- selection


LISTING = [
    {"name": "neural.InferTime.time_infer", "type": "time", "unit": "seconds",
     "params": [["'MLP'", "'LSTM'"], ["10", "100"]]},
    {"name": "neural.InferTime.peakmem_infer", "type": "peakmem", "unit": "bytes",
     "params": [["'MLP'"]]},
    {"name": "weights.LoadNetwork.track_load_mb_s", "type": "track", "unit": "MB/s",
     "params": []},
]


def test_select_matches_like_asv_bench():
    rx = [re.compile(r"time_infer\('LSTM', 10\)")]
    got = abtest.select_combinations(LISTING, rx)
    assert [(c.label(), c.param_idx) for c in got] == [
        ("neural.InferTime.time_infer('LSTM', 10)", 2)]
    got = abtest.select_combinations(LISTING, [re.compile("InferTime|load")])
    assert [c.label() for c in got] == [
        "neural.InferTime.time_infer('MLP', 10)", "neural.InferTime.time_infer('MLP', 100)",
        "neural.InferTime.time_infer('LSTM', 10)", "neural.InferTime.time_infer('LSTM', 100)",
        "weights.LoadNetwork.track_load_mb_s"]


def test_select_refuses_memory_benchmarks_and_empty_matches():
    with pytest.raises(UserError) as info:
        abtest.select_combinations(LISTING, [re.compile("peakmem")])
    assert str(info.value) == (
        "--bench 'peakmem' matches only benchmarks that give no per-call sample "
        "(neural.InferTime.peakmem_infer); abtest takes time_, timeraw_ and track_ benchmarks")
    with pytest.raises(UserError) as info:
        abtest.select_combinations(LISTING, [re.compile("nothing")])
    assert str(info.value) == (
        "--bench 'nothing' matches no benchmark; there are 2, e.g. "
        "neural.InferTime.time_infer, weights.LoadNetwork.track_load_mb_s")


# --------------------------------------------------------------------------- wording


def _result(decision, lift, lo, hi, unit="seconds", bench="neural.InferTime.time_infer",
            params=("10",), reason="", index=2, z=-3.41, boundary=3.36):
    from benchwatch.history import higher_is_better

    kind = "track" if ".track_" in bench else "time"
    c = abtest.Combination(bench, params, 0, kind, unit)
    hib = higher_is_better(bench, unit)
    look = sequential.Look(index, 24, 24, z, boundary, lift)
    o = sequential.Outcome(decision, reason, (look,), 24, 24, lift, lo, hi, -1.94, -0.8, 0.001)
    return abtest.Result(c, hib, None, decision, abtest.winner_of(decision, hib), reason, o,
                         0.9712)


def test_result_line_for_a_faster_b():
    r = _result("b_lower", -12.3, -16.2, -8.1)
    assert r.winner == "B"
    assert abtest.result_line(r, 5, "obrien-fleming") == (
        "neural.InferTime.time_infer(10): B faster by 12.3% [8.1%, 16.2%] (d=1.9, "
        "power 0.97, 24+24 samples, stopped at look 2/5: crossed the O'Brien-Fleming "
        "boundary (|z| 3.41 >= 3.36))")


def test_result_line_for_a_slower_b_and_a_throughput():
    r = _result("b_higher", 30.4, 20.0, 41.7, z=4.1, boundary=2.6, index=3)
    assert r.winner == "A"
    assert abtest.result_line(r, 5, "pocock") == (
        "neural.InferTime.time_infer(10): B slower by 30.4% [20.0%, 41.7%] (d=1.9, "
        "power 0.97, 24+24 samples, stopped at look 3/5: crossed the Pocock boundary "
        "(|z| 4.10 >= 2.60))")
    t = _result("b_higher", 5.0, 1.0, 9.0, unit="ops/s",
                bench="allocation.Batch.track_throughput_ops_s", params=())
    assert t.winner == "B"
    assert abtest.result_line(t, 5, "obrien-fleming").startswith(
        "allocation.Batch.track_throughput_ops_s: B higher by 5.0% [1.0%, 9.0%] (better) (")
    assert abtest.winner_of("b_lower", True) == "A"
    assert abtest.winner_of("no_difference", False) is None


def test_result_line_without_a_decision_says_why():
    r = _result("no_difference", 1.5, -10.5, 15.1, reason="reached the maximum sample size "
                "(24 per arm) without crossing a boundary", z=0.27, boundary=2.3)
    assert r.winner is None
    assert abtest.result_line(r, 5, "obrien-fleming") == (
        "neural.InferTime.time_infer(10): no decision, B +1.5% [-10.5%, +15.1%] (d=1.9, "
        "power 0.97, 24+24 samples, reached the maximum sample size (24 per arm) without "
        "crossing a boundary)")


# --------------------------------------------------------------------------- real runs

RESULT_FIELDS = {
    "benchmark", "params", "type", "unit", "higher_is_better", "cv", "cv_source", "n_fixed",
    "n_max", "capped", "planned_power", "seconds_per_sample", "expected_duration_s",
    "pilot_samples_a", "pilot_samples_b", "decision", "winner", "reason", "lift_pct",
    "ci_low_pct", "ci_high_pct", "effect_size", "cliffs_delta", "p_value", "achieved_power",
    "n_a", "n_b", "number_a", "number_b", "duration_s", "looks", "samples_a", "samples_b"}
TOP_FIELDS = {
    "kind", "version", "a", "b", "bench", "alpha", "power", "mde", "looks", "spending", "seed",
    "pilot", "max_samples", "comparisons", "alpha_per_test", "machine", "started_at",
    "dry_run", "base_env", "worker_start_s", "duration_s", "design", "results"}


def test_env_variant_slower_by_30pct_loses_at_a_boundary(project, tmp_path):
    cv, n_fixed, n_max = history_plan(0.05)
    code, doc = run(project, tmp_path, "--a", "HEAD", "--b", "HEAD+ENGINE_X=1",
                    "--bench", "^slow", "--mde", "0.05", "--seed", "3",
                    "--results-dir", str(project / "results"), "--machine", MACHINE)
    assert code == 0
    assert set(doc) == TOP_FIELDS
    head = git(project, "rev-parse", "HEAD")
    assert doc["a"] == {"spec": "HEAD", "ref": "HEAD", "commit": head, "env": {}}
    assert doc["b"] == {"spec": "HEAD+ENGINE_X=1", "ref": "HEAD", "commit": head,
                        "env": {"ENGINE_X": "1"}}
    assert (doc["kind"], doc["version"], doc["seed"], doc["machine"]) == (
        "abtest", 1, 3, MACHINE)
    assert (doc["comparisons"], doc["alpha_per_test"]) == (1, 0.05)
    assert set(doc["design"]) == {"fractions", "boundaries", "alpha_spent", "inflation"}
    [r] = doc["results"]
    assert set(r) == RESULT_FIELDS
    # the plan: the history's CV, sized by statsmodels' t-test power and the inflation
    assert r["cv_source"] == "history (2 commits)"
    assert r["cv"] == pytest.approx(cv, rel=1e-6)
    assert (r["n_fixed"], r["n_max"], r["capped"]) == (n_fixed, n_max, False)
    assert r["pilot_samples_a"] == r["pilot_samples_b"] == []
    # the verdict: B (30 % longer sleeps) is slower, A wins, stopped at a boundary
    assert (r["decision"], r["winner"], r["higher_is_better"]) == ("b_higher", "A", False)
    assert "crossed the O'Brien-Fleming boundary" in r["reason"]
    last = r["looks"][-1]
    assert abs(last["z"]) >= last["boundary"]
    assert all(abs(lk["z"]) < lk["boundary"] for lk in r["looks"][:-1])
    assert r["n_a"] == r["n_b"] == last["n_a"] <= n_max
    assert len(r["samples_a"]) >= r["n_a"] and len(r["samples_b"]) >= r["n_b"]
    assert r["ci_low_pct"] > 0 and r["lift_pct"] > 0
    assert (r["number_a"], r["number_b"]) == (2, 2)  # the benchmark's own asv `number`
    assert 0 < r["achieved_power"] <= 1


def test_older_ref_is_measured_from_its_own_sources(project, tmp_path, capsys):
    """HEAD~1 sleeps 3 ms, HEAD 3.9 ms: B = HEAD is slower only if arm A really imports
    the exported HEAD~1 tree rather than the checkout's sources."""
    code, doc = run(project, tmp_path, "--a", "HEAD~1", "--b", "HEAD", "--bench", "^slow",
                    "--mde", "0.05", "--seed", "4", "--results-dir", str(project / "results"),
                    "--machine", MACHINE)
    assert code == 0
    assert doc["a"]["commit"] == git(project, "rev-parse", "HEAD~1")
    [r] = doc["results"]
    assert (r["decision"], r["winner"]) == ("b_higher", "A")
    err = capsys.readouterr().err
    assert "look 1/5" in err or "look 2/5" in err  # progress per look on stderr


def test_aa_run_with_a_pilot_and_a_cap(project, tmp_path, capsys):
    code, doc = run(project, tmp_path, "--a", "HEAD", "--b", "HEAD", "--bench", "^slow",
                    "--max-samples", "8", "--looks", "2", "--pilot", "4", "--seed", "5",
                    "--results-dir", str(tmp_path))  # an empty history: the pilot decides
    assert code == 0
    err = capsys.readouterr().err
    assert "A and B are the same variant: this is an A/A test" in err
    [r] = doc["results"]
    assert r["cv_source"] == "pilot (4+4)"
    assert len(r["pilot_samples_a"]) == len(r["pilot_samples_b"]) == 4
    assert r["n_max"] <= 8 and r["n_a"] <= 8 and r["n_a"] == r["n_b"]
    assert r["decision"] in ("no_difference", "b_higher", "b_lower")
    assert (r["winner"] is None) == (r["decision"] == "no_difference")
    assert r["ci_low_pct"] <= r["lift_pct"] <= r["ci_high_pct"]
    assert all(s > 0 for s in r["samples_a"] + r["samples_b"])
    if r["capped"]:
        assert r["n_max"] == 8 and r["planned_power"] < 0.8


def test_dry_run_prints_the_plan_only(project, tmp_path, capsys):
    cv, n_fixed, n_max = history_plan(0.05, alpha=0.05 / 2)
    code = cli.main(["abtest", "--asv-config", str(project / "asv.conf.json"),
                     "--a", "HEAD~1", "--b", "HEAD", "--bench", "^slow", "--bench", "steady",
                     "--mde", "0.05", "--dry-run", "--seed", "6", "--pilot", "2",
                     "--results-dir", str(project / "results"), "--machine", MACHINE])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"A/B test on {MACHINE}, seed 6 (dry run)"
    assert lines[3] == ("  alpha 0.05 (Bonferroni over 2 benchmark/parameter combinations: "
                        "0.025 each), power 0.8, mde 5%")
    row = next(line for line in lines if line.startswith(SLEEP))
    assert row.split()[1:6] == [f"{100 * cv:.1f}%", "history", "(2", "commits)",
                                str(n_fixed)]
    assert row.split()[6] == str(n_max)
    assert any(line.startswith("compute.Work.time_steady") and "pilot (2+2)" in line
               for line in lines)
    assert "results" not in out


def test_regex_matching_nothing_lists_names(project, tmp_path, capsys):
    code, doc = run(project, tmp_path, "--a", "HEAD", "--b", "HEAD", "--bench", "nothing")
    assert (code, doc) == (2, None)
    assert capsys.readouterr().err.splitlines()[-1] == (
        "benchwatch: error: --bench 'nothing' matches no benchmark; there are 4, e.g. "
        "broken.time_broken, compute.Work.time_steady, compute.Work.time_work, "
        "slow.Sleep.time_sleep")


def test_markdown_and_text_of_one_run(project, tmp_path, capsys):
    md = tmp_path / "ab.md"
    code = cli.main(["abtest", "--asv-config", str(project / "asv.conf.json"),
                     "--a", "HEAD~1", "--b", "HEAD", "--bench", "^slow", "--mde", "0.05",
                     "--seed", "8", "--results-dir", str(project / "results"),
                     "--machine", MACHINE, "--format", "markdown", "--output", str(md)])
    assert code == 0
    text = md.read_text()
    assert text.startswith("### A/B test\n\n- **A**: `HEAD~1` (")
    assert "| slow\\.Sleep\\.time\\_sleep | **A wins** | B slower by " in text
    assert "<details><summary>Plan</summary>" in text


def test_a_benchmark_failing_in_one_arm_is_reported_not_fatal(project, tmp_path):
    code, doc = run(project, tmp_path, "--a", "HEAD", "--b", "ENGINE_X=1", "--bench", "broken",
                    "--pilot", "2", "--seed", "9", "--results-dir", str(tmp_path))
    assert code == 0
    [r] = doc["results"]
    assert (r["decision"], r["winner"], r["n_a"]) == ("failed", None, None)
    assert r["reason"] == "failed in arm B: ValueError: boom in B"
    assert doc["b"]["env"] == {"ENGINE_X": "1"} and doc["b"]["ref"] == "HEAD"


def test_the_site_experiments_page_reads_the_real_report(project, tmp_path):
    """A real run's JSON feeds the site's Experiments page and its boundary plot: the
    z path ends outside the band at the look the test stopped."""
    from benchwatch.site import experiments

    code, doc = run(project, tmp_path, "--a", "HEAD", "--b", "HEAD+ENGINE_X=1",
                    "--bench", "^slow", "--mde", "0.05", "--seed", "3",
                    "--results-dir", str(project / "results"), "--machine", MACHINE)
    assert code == 0
    [(name, loaded)] = experiments.load([tmp_path / "out.json"])
    ctx, charts = experiments.page([(name, loaded)])
    [r] = doc["results"]
    [row] = ctx["abtests"][0]["rows"]
    assert row["winner"] == "A" and row["reason"] == r["reason"]
    assert row["samples"] == f"{r['n_a']}+{r['n_b']} of {r['n_max']}+{r['n_max']}"
    [chart] = charts["abtests"]
    reached = [z for z in chart["z"] if z is not None]
    assert reached == [lk["z"] for lk in r["looks"]]
    stop = len(reached) - 1
    assert abs(reached[-1]) >= chart["boundary"][stop] - 0.5  # planned vs recomputed
    assert chart["n"][-1] == r["n_max"]
