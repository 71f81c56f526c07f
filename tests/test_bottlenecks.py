"""benchwatch.bottlenecks: every rule on crafted metric sets, with exact figures.

Each rule gets a case that fires (evidence figures, priority and the impact range,
worked out by hand in the comments) and a healthy case that must not.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchwatch import bottlenecks as b
from benchwatch.bottlenecks import Evidence, GrowthSeries, MetricSet
from benchwatch.numba_diagnostics import (
    Diagnostics,
    KernelReport,
    Loop,
    ObjectModeReport,
    ParallelReport,
    ParforLoop,
)
from benchwatch.results import Row
from benchwatch.run import Check

M, E, C = "box", "env", "c" * 40


def row(name, params, value, unit=None, type_=None):
    return Row(name, tuple(str(p) for p in params), M, E, C, 0, float(value), unit, type=type_)


def lat(cls, params, p50, p99, nrt=None):
    out = [row(f"{cls}.track_latency_p50_ns", params, p50, "ns"),
           row(f"{cls}.track_latency_p99_ns", params, p99, "ns")]
    if nrt is not None:
        out.append(row(f"{cls}.track_nrt_allocations_per_op", params, nrt, "allocations"))
    return out


AL = "allocation.AllocateLatency"


# ---------------------------------------------------------------- SLA


def test_p99_breach_with_the_median_inside_the_limit():
    rows = lat(AL, [100], 50_000, 250_000)
    m = MetricSet(tuple(rows))
    check = Check("allocation_latency", "max_latency_p99", 100_000, "ns", 250_000,
                  f"{AL}.track_latency_p99_ns(100)", "fail")
    [rec] = b.sla_breaches([check], m)
    assert rec.id == "sla.max_latency_p99:allocation_latency"
    assert rec.category == "latency"
    # 250 us against 100 us: 150 % over -> high
    assert rec.priority == "high"
    # meeting the limit needs 1 - 100/250 = 60 %; cutting the tail to p50 gives 1 - 50/250
    assert rec.impact_low_pct == pytest.approx(60.0)
    assert rec.impact_high_pct == pytest.approx(80.0)
    assert [(e.benchmark, e.params, e.figure, e.unit) for e in rec.evidence] == [
        (f"{AL}.track_latency_p99_ns", ("100",), 250_000, "ns"),
        (f"{AL}.track_latency_p50_ns", ("100",), 50_000, "ns")]
    assert "the tail is 5.0x the median" in rec.action
    assert rec.title == ("allocation_latency: max_latency_p99 is 250 us, limit 100 us "
                         "(2.5x the limit)")


def test_p99_breach_with_the_median_over_the_limit_says_so():
    rows = lat(AL, [1000], 120_000, 130_000)
    check = Check("e", "max_latency_p99", 100_000, "ns", 130_000,
                  f"{AL}.track_latency_p99_ns(1000)", "fail")
    [rec] = b.sla_breaches([check], MetricSet(tuple(rows)))
    assert rec.priority == "medium"  # 30 % over
    assert rec.title.endswith("limit 100 us (+30% over)")
    assert rec.impact_low_pct == pytest.approx(100 * (1 - 100 / 130))
    # the tail alone (1 - 120/130 = 7.7 %) would not close the gap: high stays the need
    assert rec.impact_high_pct == pytest.approx(100 * (1 - 100 / 130))
    assert "Even the median call (120 us)" in rec.action


def test_throughput_breach_uses_idle_cpu_for_the_high_end():
    cls = "allocation.BatchThroughput"
    rows = [row(f"{cls}.track_throughput_ops_s", [100, 1], 8000, "ops/s"),
            row(f"{cls}.track_cpu_percent", [100, 1], 40.0, "%")]
    check = Check("batch", "min_throughput", 10_000, "ops/s", 8000,
                  f"{cls}.track_throughput_ops_s(100, 1)", "fail")
    [rec] = b.sla_breaches([check], MetricSet(tuple(rows)))
    assert rec.category == "throughput"
    assert rec.priority == "medium"  # 10000/8000 - 1 = 25 %
    assert rec.impact_low_pct == pytest.approx(25.0)
    assert rec.impact_high_pct == pytest.approx(150.0)  # 100/40 - 1
    assert "60% was idle" in rec.action
    assert "25% short" in rec.title


def test_throughput_far_below_the_target_reads_as_a_ratio():
    check = Check("n", "min_throughput", 1_000_000, "ops/s", 1250, "neural.X.track_t(1)", "fail")
    [rec] = b.sla_breaches([check], None)
    assert rec.title == "n: min_throughput is 1,250 ops/s, needs 1,000,000 ops/s (the target is 800x)"
    assert rec.impact_low_pct == pytest.approx(79_900.0)


def test_memory_breach_and_passing_or_missing_checks():
    checks = [Check("mem", "max_memory_usage", 2 * 2**30, "bytes", 3 * 2**30,
                    "memory.Construction.peakmem_x", "fail"),
              Check("ok", "max_latency_p99", 100_000, "ns", 90_000, f"{AL}.x(1)", "pass"),
              Check("gone", "max_latency_p99", 100_000, "ns", None, None, "missing")]
    [rec] = b.sla_breaches(checks, None)
    assert rec.priority == "high"  # exactly 50 % over
    assert rec.impact_low_pct == pytest.approx(100 / 3)
    assert rec.impact_high_pct == pytest.approx(100 / 3)
    assert rec.evidence[0].benchmark == "memory.Construction.peakmem_x"
    assert "3 GiB" in rec.title and "2 GiB" in rec.title


def test_no_sla_finding_when_every_check_passes():
    checks = [Check("a", "max_latency_p99", 100_000, "ns", 99_999, "x.y(1)", "pass"),
              Check("b", "min_throughput", 10, "ops/s", 11, "x.z", "pass")]
    assert b.sla_breaches(checks, None) == []


# ---------------------------------------------------------------- NRT allocations


def test_constant_allocations_per_call_with_measured_cost():
    rows = lat(AL, [10], 5390, 19_000, nrt=8.0) + lat(AL, [100], 21_781, 60_000, nrt=8.0)
    [rec] = b.nrt_allocations(MetricSet(tuple(rows)), alloc_cost_ns=(44.0, 96.0))
    # the 10-dim call is the cheapest, so allocating is the largest share of it:
    # 8 * 44 / 5390 = 6.53 %, 8 * 96 / 5390 = 14.25 %
    assert rec.impact_low_pct == pytest.approx(100 * 8 * 44 / 5390)
    assert rec.impact_high_pct == pytest.approx(100 * 8 * 96 / 5390)
    assert rec.priority == "medium"
    figures = [(e.benchmark, e.params, e.figure) for e in rec.evidence
               if e.unit == "allocations/call"]
    assert figures == [(f"{AL}.track_nrt_allocations_per_op", ("10",), 8.0),
                       (f"{AL}.track_nrt_allocations_per_op", ("100",), 8.0)]
    assert "at every one of its 2 parameter values" in rec.action


def test_allocations_growing_with_the_work_and_no_cost_measured():
    rows = lat(AL, [10], 5000, 9000, nrt=3.0) + lat(AL, [100], 9000, 19000, nrt=30.0)
    [rec] = b.nrt_allocations(MetricSet(tuple(rows)))
    assert rec.impact_low_pct is None and rec.impact_high_pct is None
    assert rec.priority == "high"  # 30 per call
    assert "from 3 to 30" in rec.action


def test_many_flagged_combinations_show_the_three_that_weigh_most():
    p50 = {10: 5000, 50: 9000, 100: 20000, 500: 60000, 1000: 130000}
    rows = [r for n, v in p50.items() for r in lat(AL, [n], v, 2 * v, nrt=8.0)]
    [rec] = b.nrt_allocations(MetricSet(tuple(rows)), alloc_cost_ns=(40.0, 90.0))
    assert [e.params for e in rec.evidence if e.unit == "allocations/call"] == [
        ("10",), ("50",), ("100",)]
    assert [e.figure for e in rec.evidence if e.unit == "combinations"] == [5.0]
    assert rec.impact_high_pct == pytest.approx(100 * 8 * 90 / 5000)
    assert rec.priority == "medium"  # 14.4 %


def test_no_allocation_finding_below_the_bound():
    rows = lat(AL, [10], 5000, 9000, nrt=0.001) + lat(AL, [100], 9000, 19000, nrt=0.0)
    assert b.nrt_allocations(MetricSet(tuple(rows)), alloc_cost_ns=(44.0, 96.0)) == []


# ---------------------------------------------------------------- thread scaling

BT = "allocation.BatchThroughput.track_throughput_ops_s"
AXES = {BT: ("batch", "concurrency")}


def test_throughput_falling_with_more_threads():
    rows = [row(BT, [100, 1], 50_000, "ops/s"), row(BT, [100, 4], 40_000, "ops/s"),
            row(BT, [100, 8], 30_000, "ops/s")]
    [rec] = b.thread_scaling(MetricSet(tuple(rows), AXES), cores=2)
    # ideal on 2 cores: 100k at 4 and 8; worst point 8 threads, 30k = 30 % of ideal
    assert rec.priority == "high"
    assert rec.impact_low_pct == pytest.approx(100 * (0.7 * 100_000 / 30_000 - 1))
    assert rec.impact_high_pct == pytest.approx(100 * (100_000 / 30_000 - 1))
    worst = rec.evidence[-1]
    assert (worst.params, worst.figure, worst.unit) == (("100", "8"), pytest.approx(30.0),
                                                         "% of ideal")
    assert "More callers made it slower" in rec.action
    assert "30% of ideal throughput at concurrency 8" in rec.title


def test_scaling_evidence_carries_the_cpu_figures():
    cpu = "allocation.BatchThroughput.track_cpu_percent"
    rows = [row(BT, [100, 1], 50_000, "ops/s"), row(BT, [100, 8], 30_000, "ops/s"),
            row(cpu, [100, 1], 48.5, "%"), row(cpu, [100, 8], 51.0, "%")]
    [rec] = b.thread_scaling(MetricSet(tuple(rows), AXES), cores=2)
    assert rec.evidence[0].note == ("concurrency 1; ideal 50,000 ops/s on 2 cores; CPU 48.5% "
                                    "of the machine")
    assert rec.evidence[1].note.endswith("; CPU 51.0% of the machine")


def test_threads_adding_little_is_medium():
    rows = [row(BT, [100, 1], 50_000, "ops/s"), row(BT, [100, 4], 60_000, "ops/s")]
    [rec] = b.thread_scaling(MetricSet(tuple(rows), AXES), cores=2)
    assert rec.priority == "medium"  # 60 % of 100k
    assert rec.impact_low_pct == pytest.approx(100 * (70_000 / 60_000 - 1))
    assert "add little" in rec.action


def test_good_scaling_and_unknown_axes_find_nothing():
    rows = [row(BT, [100, 1], 50_000, "ops/s"), row(BT, [100, 4], 95_000, "ops/s"),
            row(BT, [100, 8], 90_000, "ops/s")]
    assert b.thread_scaling(MetricSet(tuple(rows), AXES), cores=2) == []
    bad = [row(BT, [100, 1], 50_000, "ops/s"), row(BT, [100, 8], 10_000, "ops/s")]
    assert b.thread_scaling(MetricSet(tuple(bad)), cores=2) == []  # no parameter names


# ---------------------------------------------------------------- CPU vs throughput

PD = "e2e.ProcessDocument"


def cpu_rows(pairs):
    out = []
    for c, thr, cpu in pairs:
        out += [row(f"{PD}.track_throughput_ops_s", [c], thr, "ops/s"),
                row(f"{PD}.track_cpu_percent", [c], cpu, "%")]
    return out


def test_busy_cpu_without_throughput():
    m = MetricSet(tuple(cpu_rows([(1, 1000, 50), (5, 1100, 95), (10, 900, 99)])),
                  {f"{PD}.track_throughput_ops_s": ("concurrency",)})
    [rec] = b.cpu_without_throughput(m)
    # work per CPU-%: 20, 11.58, 9.09; the worst busy point is 10 threads (2.2x below best)
    assert rec.priority == "medium"
    assert rec.impact_low_pct == pytest.approx(100 * ((1100 / 95) / (900 / 99) - 1))
    assert rec.impact_high_pct == pytest.approx(100 * (20 / (900 / 99) - 1))
    assert "99% CPU at concurrency 10" in rec.title


def test_cpu_below_the_busy_mark_is_not_flagged():
    m = MetricSet(tuple(cpu_rows([(1, 1000, 50), (5, 1100, 60), (10, 900, 70)])),
                  {f"{PD}.track_throughput_ops_s": ("concurrency",)})
    assert b.cpu_without_throughput(m) == []


# ---------------------------------------------------------------- compile time


def compile_rows(compile_s):
    # asv's benchmarks.json files timeraw_ benchmarks under type "time", as here
    return [row("allocation.CompileTime.timeraw_compile_allocation", [], compile_s, "seconds",
                "time"),
            row("allocation.AllocateTime.time_allocate", [10], 30e-6, "seconds", "time"),
            row("allocation.AllocateTime.time_allocate", [1000], 400e-6, "seconds", "time"),
            row("neural.InferTime.time_infer", ["'MLP'", 10], 1e-6, "seconds", "time")]


def test_compile_dominates_a_short_process():
    [rec] = b.compile_dominance(MetricSet(tuple(compile_rows(30.0))), calls=10_000)
    # 30 s against 10,000 calls of 30 us (0.3 s) and of 400 us (4 s)
    assert rec.priority == "high"
    assert rec.impact_high_pct == pytest.approx(100 * 30 / 30.3)
    assert rec.impact_low_pct == pytest.approx(100 * 30 / 34)
    assert rec.evidence[1].note == "fastest call; compile = 1,000,000 such calls"
    # the neural call is another family and plays no part
    assert all(not e.benchmark.startswith("neural") for e in rec.evidence)


def test_cheap_compile_is_not_flagged():
    assert b.compile_dominance(MetricSet(tuple(compile_rows(0.01))), calls=10_000) == []


# ---------------------------------------------------------------- memory growth


def test_memory_growing_with_iterations_matches_a_least_squares_reference():
    x = np.arange(0, 1001, 200, dtype=float)
    noise = np.array([300.0, -200.0, 100.0, -400.0, 250.0, -50.0])
    y = 1e6 + 1000 * x + noise
    [rec] = b.memory_growth([GrowthSeries("engine.op", (), "bytes", tuple(x), tuple(y), "t")])
    slope, intercept = np.polyfit(x, y, 1)  # reference fit
    growth = slope * 1000
    assert rec.evidence[0].figure == pytest.approx(slope)
    assert rec.priority == "high"  # ~100 % of the start
    assert rec.impact_high_pct == pytest.approx(100 * growth / (intercept + slope * 1000))


def test_flat_memory_is_not_a_leak():
    y = (1e6, 1e6 + 300, 1e6 - 200, 1e6 + 100, 1e6 - 400, 1e6 + 250)
    s = GrowthSeries("engine.op", (), "bytes", (0, 200, 400, 600, 800, 1000), y)
    assert b.memory_growth([s]) == []


def test_nrt_blocks_never_freed():
    s = GrowthSeries("engine.op", (), "blocks", (0, 200, 400, 600), (0, 200, 400, 600))
    [rec] = b.memory_growth([s])
    assert rec.priority == "high" and rec.impact_high_pct is None
    assert rec.evidence[0].figure == pytest.approx(1.0)
    none = GrowthSeries("engine.op", (), "blocks", (0, 200, 400, 600), (0, 0, 0, 0))
    assert b.memory_growth([none]) == []


def test_growth_series_from_an_iterations_parameter():
    name = "mem.Loop.peakmem_run"
    rows = [row(name, ["'a'", n], 1e8 + 5e4 * n, "bytes", "peakmem") for n in (100, 1000, 10000)]
    [s] = b.growth_from_rows(MetricSet(tuple(rows), {name: ("kind", "iterations")}))
    assert s.params == ("'a'",) and s.iterations == (100.0, 1000.0, 10000.0)
    [rec] = b.memory_growth([s])
    assert rec.evidence[0].figure == pytest.approx(5e4)


# ---------------------------------------------------------------- numba facts


def diag(**kw):
    base = {"numba_version": "0", "threads": 2, "cpu": "test"}
    base.update(kw)
    return Diagnostics(**base)


def test_object_mode_impact_from_the_recorded_timings():
    om = ObjectModeReport("m.f", ("(float64,)",), ("(float64,)",), False,
                          (1e-5, 1.2e-5), (1e-7, 2e-7))
    [rec] = b.numba_findings(diag(object_mode=(om,)))
    assert rec.priority == "high" and rec.category == "object-mode"
    assert rec.impact_low_pct == pytest.approx(100 * (1 - 2e-7 / 1e-5))
    assert rec.impact_high_pct == pytest.approx(100 * (1 - 1e-7 / 1.2e-5))
    clean = ObjectModeReport("m.g", ("(float64,)",), (), False)
    assert b.numba_findings(diag(object_mode=(clean,))) == []


def test_parallel_loops_not_converted_and_serialised():
    rep = ParallelReport("m.k", "k.py", (ParforLoop(0, 10, "parallel", None, "prange"),),
                         (10, 14), (14,), ())
    [rec] = b.numba_findings(diag(parallel=(rep,)))
    assert rec.priority == "medium"
    assert (rec.impact_low_pct, rec.impact_high_pct) == (0.0, 50.0)  # 1 - 1/2 threads
    assert rec.evidence[0].benchmark == "k.py:14"
    nested = ParallelReport("m.n", "n.py", (ParforLoop(0, 10, "parallel", None, "prange"),
                                            ParforLoop(1, 11, "serialised", 0, "prange")),
                            (10, 11), (), ())
    [rec] = b.numba_findings(diag(parallel=(nested,)))
    assert rec.priority == "low" and rec.impact_high_pct == 0.0
    fine = ParallelReport("m.p", "p.py", (ParforLoop(0, 10, "parallel", None, "prange"),),
                          (10,), (), ())
    assert b.numba_findings(diag(parallel=(fine,))) == []


def kernel(loops, **kw):
    return KernelReport("engine.neural._kernels._mlp_one", False, "(...)", tuple(loops), 0,
                        198, kw.get("benchmarks", r"^neural\.\w+\.\w+\('MLP'"),
                        kw.get("expected_scalar"))


SCALAR = Loop("_kernels.py", 52, 52, False, False, 32, 0, None, "loop-carried")
VECTOR = Loop("_kernels.py", 60, 60, True, False, 0, 4, 8, None)
REMAINDER = Loop("_kernels.py", 60, 60, False, True, 2, 0, None, None)


def test_scalar_loop_with_measured_simd_gain():
    rows = [row("simd.DotSpeedup.track_speedup", [64], 2.0, "x"),
            row("simd.DotSpeedup.track_speedup", [1024], 6.0, "x"),
            row("neural.SingleInference.track_latency_p50_ns", ["'MLP'", 10], 900, "ns")]
    [rec] = b.numba_findings(diag(kernels=(kernel([SCALAR, VECTOR, REMAINDER]),)),
                             MetricSet(tuple(rows)))
    assert rec.priority == "medium"  # it serves a measured benchmark
    assert rec.impact_low_pct == pytest.approx(50.0)  # 1 - 1/2
    assert rec.impact_high_pct == pytest.approx(100 * (1 - 1 / 6))
    assert [e.benchmark for e in rec.evidence][:3] == [
        "engine.neural._kernels._mlp_one", "_kernels.py:52-52",
        "neural.SingleInference.track_latency_p50_ns"]
    assert "1 floating-point loop(s) not vectorised (_kernels.py:52-52)" in rec.title


def test_scalar_loop_priority_follows_the_sla_and_lanes_bound():
    rows = [row("neural.SingleInference.track_latency_p99_ns", ["'MLP'", 10], 5000, "ns"),
            row("neural.SingleInference.track_latency_p50_ns", ["'MLP'", 10], 900, "ns")]
    check = Check("neural", "max_latency_p99", 1000, "ns", 5000,
                  "neural.SingleInference.track_latency_p99_ns('MLP', 10)", "fail")
    d = diag(kernels=(kernel([SCALAR]), KernelReport("x.v", True, "()", (VECTOR,), 4, 0)))
    recs = b.numba_findings(d, MetricSet(tuple(rows)), [check])
    [rec] = [r for r in recs if r.rule == "numba.vectorisation"]
    assert rec.priority == "high"
    assert (rec.impact_low_pct, rec.impact_high_pct) == (0.0, pytest.approx(87.5))  # 8 lanes


def test_vectorised_and_by_design_scalar_kernels_are_not_flagged():
    d = diag(kernels=(kernel([VECTOR, REMAINDER]),
                      kernel([SCALAR], expected_scalar="the scalar baseline")))
    assert b.numba_findings(d) == []


# ---------------------------------------------------------------- the whole


def test_analyse_orders_by_priority_then_impact():
    rows = lat(AL, [10], 5390, 19_000, nrt=8.0) + [
        row(BT, [100, 1], 50_000, "ops/s"), row(BT, [100, 8], 30_000, "ops/s")]
    m = MetricSet(tuple(rows), AXES)
    recs = b.analyse(m, [], diagnostics=diag(alloc_cost_ns=(44.0, 96.0)), cores=2)
    assert [(r.rule, r.priority) for r in recs] == [("thread_scaling", "high"),
                                                     ("nrt_allocations", "medium")]
    assert b.analyse(MetricSet(()), [], cores=2) == []


@pytest.mark.parametrize("value, unit, text", [
    (250_000, "ns", "250 us"), (1.5e-6, "seconds", "1.5 us"), (3 * 2**30, "bytes", "3 GiB"),
    (12_345.6, "ops/s", "12,346 ops/s"), (8.0, "allocations/call", "8 allocations/call"),
    (47.25, "%", "47.2%"), (float("nan"), "ns", "n/a")])
def test_fmt_figure(value, unit, text):
    assert b.fmt_figure(value, unit) == text


def test_evidence_json_drops_non_finite_figures():
    assert Evidence("a", ("1",), float("inf"), "ns").to_dict() == {
        "benchmark": "a", "params": ["1"], "figure": None, "unit": "ns", "note": ""}
