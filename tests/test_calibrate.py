"""benchwatch calibrate: noise, detectable effect, error rates and recommendations."""

import json
import math

import numpy as np
import pytest
from scipy import stats as sp

from asvdata import Bench, entry, write_benchmarks, write_result
from benchwatch import calibrate, cli, history, noise
from benchwatch.results import Row

METPY = "/work/shared/data/real-asv/metpy-benchmark/results"


def series_of(values, samples=None, name="f.C.time_x"):
    rows = tuple(Row(name, (), "m", "e", f"{i:040x}", i, float(v), "seconds",
                     samples=None if samples is None else tuple(samples[i]))
                 for i, v in enumerate(values))
    return history.Series(name, (), "m", "e", None, "seconds", rows)


def test_error_rates_normal_model():
    fp, recall = calibrate.error_rates(0.02, 0.015, 0.10)
    cut = max(math.log(1.02), math.log(1.1) - 1.959964 * 0.015, 1.959964 * 0.015)
    assert fp == pytest.approx(sp.norm.sf(cut / 0.015), rel=1e-5)
    assert recall == pytest.approx(0.975, abs=1e-4)  # the interval's bound decides at T
    fp, recall = calibrate.error_rates(0.12, 0.015, 0.10)  # floor above T: mostly missed
    assert recall == pytest.approx(sp.norm.sf((math.log(1.12) - math.log(1.1)) / 0.015))
    assert recall == pytest.approx(0.1148, abs=1e-4)


def test_calibrate_series_exact():
    rng = np.random.default_rng(4)
    samples = [1e-3 * np.exp(rng.normal(0, 0.02, 10)) for _ in range(30)]
    values = [float(np.median(s)) for s in samples]
    c = calibrate.calibrate_series(series_of(values, samples), 0.10)
    assert c.points == 30 and c.samples_per_run == 10
    cvs = [np.std(s, ddof=1) / np.mean(s) for s in samples]
    assert c.cv_pct == pytest.approx(100 * np.median(cvs))
    fl = noise.from_history(np.asarray(values))
    assert c.noise_floor_pct == pytest.approx(100 * fl.floor)
    se = math.sqrt(2) * math.sqrt(math.pi / 2) * c.cv_pct / 100 / math.sqrt(10)
    assert c.se_pct == pytest.approx(100 * se)
    assert c.mde_pct == pytest.approx(100 * fl.mde(se))
    assert c.verdict == "ok" and c.recommendation == ""


def test_recommendations():
    rng = np.random.default_rng(5)
    # loud within runs, quiet between them: more samples help
    samples = [1e-3 * np.exp(rng.normal(0, 0.12, 10)) for _ in range(30)]
    values = [1e-3 * math.exp(rng.normal(0, 0.01)) for _ in range(30)]
    c = calibrate.calibrate_series(series_of(values, samples), 0.10)
    assert c.verdict == "noisy"
    assert c.recommendation.startswith("needs ~") and "samples per commit (has 10)" in c.recommendation
    # loud between runs: a higher threshold or a quieter runner
    values = [1e-3 * math.exp(rng.normal(0, 0.08)) for _ in range(30)]
    samples = [[v * (1 + 0.001 * k) for k in range(10)] for v in values]
    c = calibrate.calibrate_series(series_of(values, samples), 0.10)
    assert c.verdict == "noisy" and "the noise between runs alone reaches" in c.recommendation
    c = calibrate.calibrate_series(series_of(values[:5], samples[:5]), 0.10)
    assert c.verdict == "insufficient"


def test_cli_on_metpy_history(capsys):
    assert cli.main(["calibrate", "--results-dir", METPY, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["window"] == 30 and doc["fp_alpha"] == noise.FP_ALPHA
    assert sum(doc["counts"].values()) == len(doc["benchmarks"]) > 100
    first = doc["benchmarks"][0]
    assert set(first) == set(calibrate.FIELDS)
    assert first["verdict"] in ("ok", "noisy", "insufficient")


def test_cli_aa_pair(tmp_path, capsys):
    root = tmp_path / "results"
    root.mkdir()
    write_benchmarks(root, [Bench("f.C.time_x")])
    rng = np.random.default_rng(1)
    for i in range(2):
        s = list(1e-3 * np.exp(rng.normal(0, 0.01, 10)))
        write_result(root, "box", f"{i:08x}" + "c" * 32, 1000 + i,
                     {"f.C.time_x": entry([float(np.median(s))], [s])})
    code = cli.main(["calibrate", "--results-dir", str(root), "--aa", "00000000", "00000001",
                     "--format", "json"])
    assert code == 0
    b = json.loads(capsys.readouterr().out)["benchmarks"][0]
    assert b["verdict"] in ("ok", "noisy") and b["run_sigma_pct"] is not None
    assert cli.main(["calibrate", "--results-dir", str(root), "--window", "3"]) == 2
