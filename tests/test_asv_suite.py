"""The asv suite: asv itself accepts it, and the measurement helpers count right."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import _measure  # noqa: E402

FAMILIES = ["allocation", "neural", "simd", "weights", "e2e", "memory"]


def _asv(*args: str) -> subprocess.CompletedProcess:
    asv = Path(sys.executable).parent / "asv"
    return subprocess.run([str(asv), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_asv_check_passes():
    out = _asv("check", "--python=same")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "No problems found" in out.stdout


def test_config_is_asv_json_with_pinned_requirements():
    text = (ROOT / "asv.conf.json").read_text()
    # asv.conf.json allows // comments; strip them the way asv does before parsing.
    conf = json.loads(re.sub(r"^\s*//.*$", "", text, flags=re.M))
    req = conf["matrix"]["req"]
    for pkg in ("numpy", "numba", "llvmlite"):
        assert len(req[pkg]) == 1 and re.fullmatch(r"\d+\.\d+\.\d+", req[pkg][0]), pkg
    assert conf["launch_method"] == "spawn"
    assert conf["results_dir"].startswith(".asv/")
    assert len(conf["build_command"]) == 1 and "pip wheel --no-deps" in conf["build_command"][0]
    # One baseline combination: every env value list has a single entry.
    assert all(len(v) == 1 for v in conf["matrix"]["env_nobuild"].values())


def test_every_family_has_a_module():
    for family in FAMILIES:
        assert (ROOT / "benchmarks" / f"{family}.py").is_file(), family


def test_measure_counts_calls_and_operations():
    calls = []
    stats = _measure.measure(lambda i: calls.append(i), ops=50, threads=3, warmup=4, units_per_op=10)
    assert len(calls) == 4 + 150
    assert sorted(calls[4:]) == sorted(list(range(50)) * 3)
    assert stats["p50"] <= stats["p95"] <= stats["p99"]
    assert stats["throughput"] > 0
    assert set(stats) == {"p50", "p95", "p99", "mean", "throughput", "cpu", "nrt"}


def test_metrics_base_measures_every_parameter_combination():
    seen = []

    class Probe(_measure._Metrics):
        params = [[1, 2], ["a", "b", "c"]]
        param_names = ["x", "y"]

        def measure(self, x, y):
            seen.append((x, y))
            return {"p50": float(x), "p95": 0.0, "p99": 0.0, "throughput": 0.0, "cpu": 0.0, "nrt": 0.0}

    cache = Probe()._measure_all()
    assert seen == [(1, "a"), (1, "b"), (1, "c"), (2, "a"), (2, "b"), (2, "c")]
    assert Probe().track_latency_p50_ns(cache, 2, "c") == 2.0
    assert Probe.track_latency_p99_ns.unit == "ns"


def test_nrt_counter_reads_a_number_when_stats_are_on():
    # benchmarks/__init__ sets NUMBA_NRT_STATS before numba is imported in a
    # fresh process; here numba may already be imported, so check in a child.
    code = ("import benchmarks._measure as m, numpy as np, numba\n"
            "f = numba.njit(lambda n: np.ones(n).sum())\n"
            "f(3); a = m.nrt_allocations(); f(3); print(m.nrt_allocations() - a)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) == 1.0  # np.ones allocates exactly once
    assert np.isfinite(float(out.stdout))


def test_every_metrics_class_has_its_own_setup_cache():
    """asv keys setup_cache by module and line: an inherited one would be shared."""
    import importlib
    import inspect

    keys = set()
    count = 0
    for family in FAMILIES:
        module = importlib.import_module(f"benchmarks.{family}")
        for name, cls in vars(module).items():
            if inspect.isclass(cls) and issubclass(cls, _measure._Metrics) and cls is not _measure._Metrics:
                assert "setup_cache" in vars(cls), f"{family}.{name} inherits setup_cache"
                code = cls.setup_cache.__code__
                keys.add((code.co_filename, code.co_firstlineno))
                count += 1
    assert count == 7 and len(keys) == count
