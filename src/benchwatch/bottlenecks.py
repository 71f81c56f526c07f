"""Bottleneck rules: measured figures in, ``Recommendation`` objects out.

Every rule here is a pure function over facts that were measured elsewhere:

- the result rows of one commit, one machine and one environment (``MetricSet``,
  built from ``benchwatch.results`` rows; nothing here reads asv files);
- the suite's SLA checks, computed by ``benchwatch.run.evaluate`` (the same checks
  ``benchwatch run`` and ``gate --suite`` make; they are not re-implemented here);
- the numba facts ``benchwatch.numba_diagnostics`` collected (vectorisation of hot
  loops, parallel loops, object mode, allocation cost, memory growth).

A recommendation's priority and its expected impact range are computed from those
figures (how far over the SLA, how far from ideal scaling, which share of a run
compilation takes), never written down as fixed text; each rule's docstring says
how. The action text names the measured figures it rests on.

What this module must not do: run benchmarks, compile kernels, or print. The
command (``benchwatch.recommend``) orchestrates and renders.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .results import Row

if TYPE_CHECKING:
    from .numba_diagnostics import Diagnostics

PRIORITIES = ("high", "medium", "low")
_RANK = {p: i for i, p in enumerate(PRIORITIES)}

# ---------------------------------------------------------------- defaults
#: NRT allocations per call above which a benchmark is flagged. The engine's hot
#: paths are written to allocate nothing per call (scratch buffers are reused), and
#: the counter divides setup allocations by thousands of calls, so any real
#: per-call allocation shows as >= 1.
MAX_ALLOCS_PER_OP = 0.5
#: Scaling efficiency (measured throughput / ideal linear throughput up to the core
#: count) below which a concurrency curve is flagged.
MIN_SCALING_EFFICIENCY = 0.7
#: A process at or above this % of the whole machine's CPU counts as busy.
CPU_HIGH_PCT = 80.0
#: ... and is flagged when its throughput per CPU-% is this much below the best
#: point of the same curve (0.5: the best point does 1.5x the work per CPU).
CPU_EFFICIENCY_GAP = 0.5
#: Calls a short-lived process makes, for the compile-share rule.
CALLS_PER_PROCESS = 10_000
#: Compile share of such a process at or above which compilation "dominates".
COMPILE_SHARE = 0.5
#: Memory growth across iterations: flagged when the fitted growth over the
#: measured span is at least this % of the starting value and the slope is
#: significant at ``GROWTH_ALPHA``; NRT blocks: at least this many per iteration.
MIN_GROWTH_PCT = 5.0
GROWTH_ALPHA = 0.01
MIN_LEAKED_BLOCKS_PER_ITER = 0.5

#: Parameter names that mean "concurrent callers" and "iterations", as ``benchwatch
#: run`` maps suite parameter lists onto asv params (``run.PARAM_MAP``).
CONCURRENCY_PARAMS = ("concurrency", "threads")
ITERATION_PARAMS = ("iterations",)


# ---------------------------------------------------------------- model


@dataclass(frozen=True)
class Evidence:
    """One measured fact: ``subject`` is an asv benchmark name or, for numba facts, a
    kernel (``engine.kernels._dot``) or a source location (``file.py:12-15``)."""

    benchmark: str
    params: tuple[str, ...]
    figure: float
    unit: str
    note: str = ""

    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark

    def to_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "params": list(self.params),
                "figure": _finite(self.figure), "unit": self.unit, "note": self.note}


@dataclass(frozen=True)
class Recommendation:
    """One finding and what to do about it.

    ``impact_low_pct``/``impact_high_pct`` are the expected improvement of the figure
    the finding is about, in % (time, latency, memory and CPU: reduction; throughput:
    increase); each rule says how it computes them. ``None`` when the measurements do
    not allow an estimate (said in the evidence notes).
    """

    id: str
    rule: str
    category: str
    priority: str  # high | medium | low
    title: str
    evidence: tuple[Evidence, ...]
    action: str
    impact_low_pct: float | None
    impact_high_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "rule": self.rule, "category": self.category,
                "priority": self.priority, "title": self.title,
                "evidence": [e.to_dict() for e in self.evidence], "action": self.action,
                "impact_low_pct": _round(self.impact_low_pct),
                "impact_high_pct": _round(self.impact_high_pct)}


@dataclass(frozen=True)
class GrowthSeries:
    """A quantity measured at increasing iteration counts, for the leak rule.

    ``unit`` is ``bytes`` (RSS, peak memory) or ``blocks`` (numba NRT allocations not
    yet freed). ``source`` says where the points came from.
    """

    subject: str
    params: tuple[str, ...]
    unit: str
    iterations: tuple[float, ...]
    values: tuple[float, ...]
    source: str = ""


@dataclass(frozen=True)
class MetricSet:
    """The rows of one commit on one machine and environment, indexed for the rules.

    ``axes`` maps a benchmark name to its asv parameter names (``benchmarks.json`` or
    the benchmark modules); without it the rules that need a named axis (thread
    scaling, CPU per throughput, memory across iterations) find nothing.
    """

    rows: tuple[Row, ...]
    axes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        index = {(r.benchmark, r.params): r for r in self.rows}
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_labels", {r.label(): r for r in self.rows})

    def get(self, benchmark: str, params: tuple[str, ...]) -> Row | None:
        row = self._index.get((benchmark, params))  # type: ignore[attr-defined]
        return row if row is not None and row.ok else None

    def by_label(self, label: str) -> Row | None:
        row = self._labels.get(label)  # type: ignore[attr-defined]
        return row if row is not None and row.ok else None

    def sibling(self, row: Row, method: str) -> Row | None:
        """The row of another method of the same class, at the same parameters."""
        return self.get(row.benchmark.rpartition(".")[0] + "." + method, row.params)

    def with_method(self, method: str) -> list[Row]:
        return [r for r in self.rows if r.ok and r.benchmark.rpartition(".")[2] == method]

    def axis(self, benchmark: str, names: Sequence[str]) -> int | None:
        """Position of the first parameter of ``benchmark`` named in ``names``."""
        pnames = self.axes.get(benchmark, ())
        for i, n in enumerate(pnames):
            if n in names:
                return i
        return None


# ---------------------------------------------------------------- helpers


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _round(v: float | None) -> float | None:
    return round(v, 2) if v is not None and math.isfinite(v) else None


def rank(rec: Recommendation) -> tuple:
    """Sort key: priority, then the larger expected impact, then id."""
    return (_RANK[rec.priority], -(rec.impact_high_pct or 0.0), rec.id)


def fmt_figure(value: float, unit: str | None) -> str:
    """A figure with a readable unit: ``183 us``, ``1.2 GiB``, ``5,120 ops/s``."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit in ("ns", "seconds"):
        ns = value if unit == "ns" else value * 1e9
        for scale, name in ((1e9, "s"), (1e6, "ms"), (1e3, "us"), (1, "ns")):
            if abs(ns) >= scale or scale == 1:
                return f"{ns / scale:.3g} {name}"
    if unit == "bytes":
        for scale, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"), (1, "B")):
            if abs(value) >= scale or scale == 1:
                return f"{value / scale:.3g} {name}"
    if unit == "%":
        return f"{value:.1f}%"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    else:
        text = f"{value:.3g}"
    return text + (f" {unit}" if unit else "")


def _label(benchmark: str, params: Sequence[str]) -> str:
    return f"{benchmark}({', '.join(params)})" if params else benchmark


def _split_label(label: str) -> tuple[str, tuple[str, ...]]:
    """``name(a, b)`` -> (name, (a, b)); asv's params never hold ``", "`` here."""
    if label.endswith(")") and "(" in label:
        name, _, rest = label.partition("(")
        return name, tuple(p for p in rest[:-1].split(", ") if p)
    return label, ()


def _gap_words(gap_pct: float, direction: str) -> str:
    """How far off a limit is: ``+35% over`` / ``25% short``, and from a factor of two
    on ``12x the limit`` / ``the target is 12x`` (a 24,908,894 % gap reads badly)."""
    if not math.isfinite(gap_pct):
        return "no finite limit" if direction == "max" else "nothing measured"
    if gap_pct < 100:
        return f"+{gap_pct:.0f}% over" if direction == "max" else f"{gap_pct:.0f}% short"
    ratio = gap_pct / 100 + 1
    times = f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.3g}x"
    return f"{times} the limit" if direction == "max" else f"the target is {times}"


def _by_priority(value: float, high: float, medium: float) -> str:
    if value >= high:
        return "high"
    if value >= medium:
        return "medium"
    return "low"


def _param_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _groups_along(rows: Iterable[Row], axis: int) -> dict[tuple[str, ...], list[tuple[float, Row]]]:
    """Rows grouped by every parameter except ``axis``, each group sorted by the
    numeric value of ``axis``."""
    out: dict[tuple[str, ...], list[tuple[float, Row]]] = {}
    for r in rows:
        if axis >= len(r.params):
            continue
        x = _param_number(r.params[axis])
        if x is None:
            continue
        rest = r.params[:axis] + r.params[axis + 1:]
        out.setdefault(rest, []).append((x, r))
    for pts in out.values():
        pts.sort(key=lambda p: p[0])
    return out


# ---------------------------------------------------------------- SLA


_SLA_CATEGORY = {"max_latency_p50": "latency", "max_latency_p95": "latency",
                 "max_latency_p99": "latency", "min_throughput": "throughput",
                 "max_memory_usage": "memory", "max_cpu_usage": "cpu"}


def sla_breaches(checks: Sequence[Any], metrics: MetricSet | None = None) -> list[Recommendation]:
    """One recommendation per failed SLA check (``benchwatch.run.Check``).

    The gap: for a maximum, ``observed / limit - 1``; for a minimum (throughput),
    ``limit / observed - 1``. Priority: gap >= 50 % high, >= 10 % medium, else low
    (the gate's major/minor severity bounds).

    Impact range, in % of the observed figure:

    - low: what must change to meet the limit (latency, memory, CPU: the reduction
      ``1 - limit / observed``; throughput: the increase ``limit / observed - 1``);
    - high, p95/p99 with the median measured: ``1 - p50 / observed``, the reduction
      if the tail were cut down to the median call (at least the low end);
    - high, throughput with the CPU figure measured: ``100 / cpu% - 1``, the gain if
      the same work used the whole machine (idle cores are the headroom);
    - otherwise high = low.
    """
    from .run import CRITERIA

    out = []
    for c in checks:
        if c.status != "fail" or c.observed is None or c.criterion not in CRITERIA:
            continue
        direction = CRITERIA[c.criterion][0]
        obs, lim, unit = float(c.observed), float(c.limit), c.unit
        where = c.where or "?"
        row = metrics.by_label(where) if metrics is not None else None
        bench, params = (row.benchmark, row.params) if row is not None else _split_label(where)
        if direction == "max":
            gap = (obs / lim - 1) * 100 if lim > 0 else math.inf
            need = (1 - lim / obs) * 100 if obs > 0 else None
        else:
            gap = (lim / obs - 1) * 100 if obs > 0 else math.inf
            need = gap if math.isfinite(gap) else None
        evidence = [Evidence(bench, params, obs, unit,
                             f"{c.entry}: {c.criterion} limit {fmt_figure(lim, unit)}")]
        high = need
        category = _SLA_CATEGORY.get(c.criterion, "sla")
        what = fmt_figure(obs, unit)
        if category == "latency":
            p50 = metrics.sibling(row, "track_latency_p50_ns") if (
                metrics is not None and row is not None
                and c.criterion in ("max_latency_p99", "max_latency_p95")) else None
            if p50 is not None and p50.value > 0:
                evidence.append(Evidence(p50.benchmark, p50.params, p50.value, "ns",
                                         "median call of the same benchmark"))
                tail = (1 - p50.value / obs) * 100
                high = max(need or 0.0, tail)
                if p50.value <= lim:
                    action = (f"The median call ({fmt_figure(p50.value, 'ns')}) meets the "
                              f"{fmt_figure(lim, unit)} limit but the tail is "
                              f"{obs / p50.value:.1f}x the median: cut what only some calls "
                              "pay (waiting for a lock held by another thread, waking numba's "
                              "thread pool for a short call, allocation or compilation inside "
                              "the timed call).")
                else:
                    action = (f"Even the median call ({fmt_figure(p50.value, 'ns')}) is over "
                              f"the {fmt_figure(lim, unit)} limit: the operation itself must "
                              f"get {need:.0f}% faster. Profile it (--profile) and check the "
                              "numba diagnostics of its kernels (vectorisation, allocations).")
            else:
                action = (f"Bring {_label(bench, params)} from {what} down to "
                          f"{fmt_figure(lim, unit)}: profile the call (--profile) and check "
                          "the numba diagnostics of its kernels.")
        elif category == "throughput":
            cpu = metrics.sibling(row, "track_cpu_percent") if (
                metrics is not None and row is not None) else None
            action = (f"Raise {_label(bench, params)} from {what} to at least "
                      f"{fmt_figure(lim, unit)} (+{gap:.0f}%).")
            if cpu is not None and 0 < cpu.value < 100:
                evidence.append(Evidence(cpu.benchmark, cpu.params, cpu.value, "%",
                                         "CPU of the whole machine during the run"))
                high = max(need or 0.0, (100 / cpu.value - 1) * 100)
                action += (f" The run used {cpu.value:.0f}% of the machine's CPU, so "
                           f"{100 - cpu.value:.0f}% was idle: batch the calls, or run "
                           "independent calls on more threads (the kernels release the GIL).")
        elif category == "memory":
            action = (f"Peak memory of {_label(bench, params)} is {what}, over the "
                      f"{fmt_figure(lim, unit)} limit by {gap:.0f}%: process the input in "
                      "chunks, reuse buffers instead of allocating per call, or use float32.")
        else:
            action = (f"{_label(bench, params)} used {what} against a limit of "
                      f"{fmt_figure(lim, unit)}: see the CPU and thread-scaling findings.")
        out.append(Recommendation(
            id=f"sla.{c.criterion}:{c.entry}", rule=f"sla.{c.criterion}", category=category,
            priority=_by_priority(gap, 50, 10),
            title=f"{c.entry}: {c.criterion} is {what}, "
                  + ("limit" if direction == "max" else "needs")
                  + f" {fmt_figure(lim, unit)} ({_gap_words(gap, direction)})",
            evidence=tuple(evidence), action=action, impact_low_pct=need,
            impact_high_pct=high))
    return out


# ---------------------------------------------------------------- NRT allocations


def nrt_allocations(metrics: MetricSet, *, max_per_op: float = MAX_ALLOCS_PER_OP,
                    alloc_cost_ns: tuple[float, float] | None = None) -> list[Recommendation]:
    """Benchmarks whose ``track_nrt_allocations_per_op`` is above ``max_per_op``.

    numba's NRT counts two kinds of allocation per call: arrays created inside
    compiled code, and one MemInfo for every NumPy array passed from Python into a
    compiled function. A count that is the same at every parameter value (input
    size, batch) is therefore a fixed per-call cost, not a buffer sized by the work;
    the action says which case the figures show.

    One recommendation per benchmark; evidence lists every parameter combination
    over the bound. ``alloc_cost_ns`` is the measured cost of one NRT allocation and
    free (a 64-byte and a 4 KiB block: ``numba_diagnostics.alloc_cost_ns``). With it
    and the same combination's median latency, the impact range is the share of the
    median call spent allocating, ``allocs * cost / p50`` at the low and high cost
    (capped at 100 %), the largest over the flagged combinations; priority from its
    high end: >= 20 % high, >= 5 % medium, else low. Without it, impact is unknown and
    priority comes from the count: >= 10 per call high, >= 2 medium, else low.
    """
    out = []
    flagged: dict[str, list[Row]] = {}
    measured: dict[str, list[float]] = {}
    for r in metrics.with_method("track_nrt_allocations_per_op"):
        measured.setdefault(r.benchmark, []).append(r.value)
        if r.value > max_per_op:
            flagged.setdefault(r.benchmark, []).append(r)
    for bench, rows in sorted(flagged.items()):
        shares: dict[tuple[str, ...], tuple[float, float, Row]] = {}
        for r in rows:
            p50 = metrics.sibling(r, "track_latency_p50_ns")
            if alloc_cost_ns is not None and p50 is not None and p50.value > 0:
                shares[r.params] = (min(100.0, 100 * r.value * alloc_cost_ns[0] / p50.value),
                                    min(100.0, 100 * r.value * alloc_cost_ns[1] / p50.value),
                                    p50)
        # the combinations where allocating weighs most (or the most allocations) first
        rows.sort(key=lambda r: (-shares[r.params][1] if r.params in shares else 0.0,
                                 -r.value, r.params))
        worst = rows[0]
        evidence = []
        for r in rows[:3]:
            evidence.append(Evidence(r.benchmark, r.params, r.value, "allocations/call",
                                     f"bound {max_per_op:g}"))
            if r.params in shares:
                lo, hi, p50 = shares[r.params]
                evidence.append(Evidence(p50.benchmark, p50.params, p50.value, "ns",
                                         f"median call; allocating takes {lo:.1f}-{hi:.1f}% "
                                         "of it"))
        if len(rows) > 3:
            evidence.append(Evidence(bench, (), float(len(rows)), "combinations",
                                     f"{len(rows)} parameter combinations over the bound, "
                                     "the 3 where allocating weighs most shown"))
        if shares:
            lo = max(v[0] for v in shares.values())
            hi = max(v[1] for v in shares.values())
            evidence.append(Evidence("numba NRT", (), alloc_cost_ns[0], "ns",
                                     "measured allocate+free of a 64-byte block; "
                                     f"{alloc_cost_ns[1]:.0f} ns for 4 KiB"))
            priority = _by_priority(hi, 20, 5)
        else:
            lo = hi = None
            priority = _by_priority(max(r.value for r in rows), 10, 2)
        values = measured[bench]
        constant = len(values) >= 2 and max(values) - min(values) < 1e-9
        if constant:
            action = (f"{bench} makes {worst.value:g} NRT allocations per call at every one "
                      f"of its {len(values)} parameter values, so they do not grow with the "
                      "work: a fixed per-call cost, such as numba wrapping each NumPy array "
                      "passed from Python in a MemInfo (one per array argument) or fixed "
                      "temporaries in the kernel. Pass fewer arrays per call (pack scratch "
                      "buffers into one array allocated once) and create no temporaries "
                      "inside the kernel.")
        else:
            action = (f"NRT allocations per call change with the parameters (from "
                      f"{min(values):.3g} to {max(values):.3g}): arrays are created inside "
                      "compiled code in proportion to the work. Pass preallocated output "
                      "and scratch buffers (per thread), hoist np.empty/np.zeros out of "
                      "loops, and avoid slicing copies and array-returning helpers in hot "
                      "paths.")
        out.append(Recommendation(
            id=f"nrt_allocations:{bench}", rule="nrt_allocations", category="allocations",
            priority=priority,
            title=f"{bench}: {worst.value:.3g} NRT allocations per call "
                  f"(bound {max_per_op:g}) at {worst.label()}",
            evidence=tuple(evidence), action=action, impact_low_pct=lo, impact_high_pct=hi))
    return out


# ---------------------------------------------------------------- thread scaling


def thread_scaling(metrics: MetricSet, *, cores: int,
                   min_efficiency: float = MIN_SCALING_EFFICIENCY) -> list[Recommendation]:
    """Throughput curves over a concurrency axis against ideal scaling.

    For each throughput benchmark (unit ops/s) with a ``concurrency``/``threads``
    parameter, and each combination of its other parameters, the lowest concurrency
    c0 with throughput T0 is the base. Ideal throughput at c is
    ``T0 * min(c, cores) / min(c0, cores)``: linear until the cores run out, flat
    after (each caller is assumed to keep one core busy; a kernel that is parallel
    inside already uses more, which the CPU figures in the evidence show). Efficiency =
    measured / ideal. The curve's worst point is flagged when its
    efficiency is below ``min_efficiency``. One recommendation per benchmark, for its
    worst curve. Priority: efficiency < 0.5 high (on a 2-core box: more threads gave
    *less* than one thread), else medium.

    Impact range (throughput increase at the worst point): low, reaching
    ``min_efficiency`` of ideal; high, reaching ideal.
    """
    out = []
    for bench in sorted({r.benchmark for r in metrics.with_method("track_throughput_ops_s")}):
        axis = metrics.axis(bench, CONCURRENCY_PARAMS)
        if axis is None:
            continue
        rows = [r for r in metrics.rows if r.benchmark == bench and r.ok]
        worst: tuple | None = None
        n_bad = n_groups = 0
        for rest, pts in sorted(_groups_along(rows, axis).items()):
            if len(pts) < 2 or pts[0][1].value <= 0:
                continue
            n_groups += 1
            c0, base = pts[0]
            t0 = base.value
            curve = []
            for c, r in pts[1:]:
                ideal = t0 * min(c, cores) / min(c0, cores)
                curve.append((r.value / ideal, c, r, ideal))
            eff, c, r, ideal = min(curve, key=lambda p: p[0])
            if eff < min_efficiency:
                n_bad += 1
                if worst is None or eff < worst[0]:
                    worst = (eff, c, r, ideal, c0, base, pts)
        if worst is None:
            continue
        eff, c, r, ideal, c0, base, pts = worst
        evidence = []
        for x, p in pts:
            cpu = metrics.sibling(p, "track_cpu_percent")
            evidence.append(Evidence(
                p.benchmark, p.params, p.value, "ops/s",
                f"concurrency {x:g}; ideal "
                f"{fmt_figure(base.value * min(x, cores) / min(c0, cores), 'ops/s')} on "
                f"{cores} cores" + (f"; CPU {cpu.value:.1f}% of the machine" if cpu else "")))
        evidence.append(Evidence(r.benchmark, r.params, eff * 100, "% of ideal",
                                 f"worst point; {n_bad} of {n_groups} curves below "
                                 f"{min_efficiency:.0%}"))
        if r.value < base.value:
            why = (f"More callers made it slower ({fmt_figure(r.value, 'ops/s')} at "
                   f"{c:g} against {fmt_figure(base.value, 'ops/s')} at {c0:g}): the calls "
                   "serialise on something shared (a lock held for the whole call, the GIL "
                   "outside nogil kernels) or oversubscribe the cores (caller threads times "
                   "numba's own pool). ")
        else:
            why = (f"More callers add little ({fmt_figure(base.value, 'ops/s')} at {c0:g}, "
                   f"{fmt_figure(r.value, 'ops/s')} at {c:g}, ideal "
                   f"{fmt_figure(ideal, 'ops/s')}). ")
        out.append(Recommendation(
            id=f"thread_scaling:{bench}", rule="thread_scaling", category="concurrency",
            priority="high" if eff < 0.5 else "medium",
            title=f"{bench}: {eff:.0%} of ideal throughput at concurrency {c:g} "
                  f"({r.label()})",
            evidence=tuple(evidence),
            action=why + ("Shorten the critical section or shard the state per thread, "
                          "and keep caller threads times numba threads at or below the "
                          "core count (numba.set_num_threads, parallel=False for calls "
                          "made from many threads)."),
            impact_low_pct=max(0.0, (min_efficiency * ideal / r.value - 1) * 100)
            if r.value > 0 else None,
            impact_high_pct=(ideal / r.value - 1) * 100 if r.value > 0 else None))
    return out


# ---------------------------------------------------------------- CPU vs throughput


def cpu_without_throughput(metrics: MetricSet, *, cpu_high: float = CPU_HIGH_PCT,
                           gap: float = CPU_EFFICIENCY_GAP) -> list[Recommendation]:
    """Busy CPU that does not turn into throughput.

    For each benchmark class with ``track_cpu_percent`` and ``track_throughput_ops_s``
    over a concurrency axis, and each combination of its other parameters: work per
    CPU = throughput / CPU %. A point is flagged when its CPU is at least
    ``cpu_high`` % of the machine and the curve's best point does ``1 + gap`` times
    more work per CPU (same workload, so the extra CPU is spinning, contention or
    oversubscription, not work). Priority: best/this >= 3 high, else medium.

    Impact range (throughput at the same CPU): low, reaching the curve's median work
    per CPU (0 if already above it); high, reaching its best.
    """
    out = []
    classes = sorted({r.benchmark.rpartition(".")[0]
                      for r in metrics.with_method("track_cpu_percent")})
    for cls in classes:
        thr_name = cls + ".track_throughput_ops_s"
        axis = metrics.axis(thr_name, CONCURRENCY_PARAMS)
        if axis is None:
            axis = metrics.axis(cls + ".track_cpu_percent", CONCURRENCY_PARAMS)
        if axis is None:
            continue
        thr_rows = [r for r in metrics.rows if r.benchmark == thr_name and r.ok]
        worst = None
        for rest, pts in sorted(_groups_along(thr_rows, axis).items()):
            points = []
            for c, thr in pts:
                cpu = metrics.sibling(thr, "track_cpu_percent")
                if cpu is None or cpu.value <= 0 or thr.value <= 0:
                    continue
                points.append((c, thr, cpu, thr.value / cpu.value))
            if len(points) < 2:
                continue
            best = max(p[3] for p in points)
            median = statistics.median(p[3] for p in points)
            for c, thr, cpu, eff in points:
                if cpu.value >= cpu_high and best / eff >= 1 + gap and (
                        worst is None or best / eff > worst[0]):
                    worst = (best / eff, c, thr, cpu, eff, best, median, points)
        if worst is None:
            continue
        ratio, c, thr, cpu, eff, best, median, points = worst
        evidence = []
        for x, t, u, e in points:
            evidence.append(Evidence(t.benchmark, t.params, t.value, "ops/s",
                                     f"concurrency {x:g}"))
            evidence.append(Evidence(u.benchmark, u.params, u.value, "%",
                                     f"concurrency {x:g}; {e:.4g} ops/s per CPU-%"))
        out.append(Recommendation(
            id=f"cpu_without_throughput:{cls}", rule="cpu_without_throughput", category="cpu",
            priority="high" if ratio >= 3 else "medium",
            title=f"{cls}: {cpu.value:.0f}% CPU at concurrency {c:g} for "
                  f"{fmt_figure(thr.value, 'ops/s')}; the best point does {ratio:.1f}x more "
                  "work per CPU",
            evidence=tuple(evidence),
            action=(f"At concurrency {c:g} the machine is {cpu.value:.0f}% busy but each "
                    f"CPU-% yields {eff:.4g} ops/s against {best:.4g} at the best point: "
                    "threads spin or contend instead of working. Check spin-waiting "
                    "(OMP_WAIT_POLICY=PASSIVE, the threading layer), caller threads times "
                    "numba threads against the core count, and lock hold times."),
            impact_low_pct=max(0.0, (median / eff - 1) * 100),
            impact_high_pct=(best / eff - 1) * 100))
    return out


# ---------------------------------------------------------------- compile time


def compile_dominance(metrics: MetricSet, *, calls: int = CALLS_PER_PROCESS,
                      threshold: float = COMPILE_SHARE) -> list[Recommendation]:
    """Compilation time against the calls it pays for, per benchmark family.

    A family is the benchmark module (``allocation``, ``neural``). Its compile time C
    is a ``timeraw_compile_*`` benchmark (a fresh interpreter and an empty numba
    cache, so it includes a constant import cost); its calls are the family's
    ``time_*`` benchmarks (seconds per call). A short-lived process making ``calls``
    calls of time t spends ``C / (C + calls * t)`` of its wall time compiling. It is
    flagged when that share, at the family's fastest call, reaches ``threshold``.
    Priority: share >= 90 % high, else medium.

    Impact range (wall time of such a process saved by a warm cache): low, the share
    at the slowest call; high, at the fastest.
    """
    out = []
    # by method name: asv's benchmarks.json files timeraw_ benchmarks under type "time"
    def method(r: Row) -> str:
        return r.benchmark.rpartition(".")[2]

    compiles = [r for r in metrics.rows if r.ok and method(r).startswith("timeraw_")
                and "compile" in method(r)]
    for comp in sorted(compiles, key=lambda r: r.label()):
        family = comp.benchmark.split(".", 1)[0]
        calls_rows = [r for r in metrics.rows if r.ok and method(r).startswith("time_")
                      and r.benchmark.split(".", 1)[0] == family and r.value > 0]
        if not calls_rows:
            continue
        fast = min(calls_rows, key=lambda r: r.value)
        slow = max(calls_rows, key=lambda r: r.value)
        c = comp.value

        def share(t: float, c: float = c) -> float:
            return c / (c + calls * t)

        if share(fast.value) < threshold:
            continue
        out.append(Recommendation(
            id=f"compile_dominance:{comp.benchmark}", rule="compile_dominance",
            category="compile-time",
            priority="high" if share(fast.value) >= 0.9 else "medium",
            title=f"{family}: compiling takes {fmt_figure(c, 'seconds')}, "
                  f"{share(fast.value):.0%} of a {calls:,}-call process",
            evidence=(
                Evidence(comp.benchmark, comp.params, c, "seconds",
                         "fresh interpreter, empty numba cache (includes imports)"),
                Evidence(fast.benchmark, fast.params, fast.value, "seconds",
                         f"fastest call; compile = {c / fast.value:,.0f} such calls"),
                Evidence(slow.benchmark, slow.params, slow.value, "seconds",
                         f"slowest call; compile = {c / slow.value:,.0f} such calls"),
            ),
            action=(f"A process that makes fewer than {c / fast.value:,.0f} calls of "
                    f"{fast.label()} spends most of its time compiling. Keep numba's "
                    "cache warm where the engine runs (a persistent NUMBA_CACHE_DIR, a "
                    "warm-up at install or container build), compile only the signatures "
                    "the process uses, and make sure benchmarks compile in setup, not in "
                    "the timed call."),
            impact_low_pct=100 * share(slow.value), impact_high_pct=100 * share(fast.value)))
    return out


# ---------------------------------------------------------------- memory growth


def growth_from_rows(metrics: MetricSet) -> list[GrowthSeries]:
    """Memory benchmarks (bytes) with an ``iterations`` parameter, one series per
    combination of the other parameters."""
    out = []
    benches = sorted({r.benchmark for r in metrics.rows
                      if r.ok and (r.type in ("peakmem", "mem") or r.unit == "bytes")})
    for bench in benches:
        axis = metrics.axis(bench, ITERATION_PARAMS)
        if axis is None:
            continue
        rows = [r for r in metrics.rows if r.benchmark == bench and r.ok]
        for rest, pts in sorted(_groups_along(rows, axis).items()):
            if len(pts) >= 3:
                out.append(GrowthSeries(bench, rest, "bytes", tuple(x for x, _ in pts),
                                        tuple(r.value for _, r in pts),
                                        "asv results across the iterations parameter"))
    return out


def memory_growth(series: Sequence[GrowthSeries], *, min_growth_pct: float = MIN_GROWTH_PCT,
                  alpha: float = GROWTH_ALPHA,
                  min_blocks_per_iter: float = MIN_LEAKED_BLOCKS_PER_ITER
                  ) -> list[Recommendation]:
    """Memory that keeps growing with the iteration count (a leak).

    Each series is fitted by least squares (``scipy.stats.linregress``, at least 3
    points). Bytes: flagged when the slope is significant (p < ``alpha``, one-sided,
    positive) and the fitted growth over the measured span is at least
    ``min_growth_pct`` % of the fitted start. Impact range: the memory a fix saves
    after the measured iterations, the fitted growth in % of the fitted end value,
    low from the lower end of the slope's 95 % interval, high from the slope itself. Priority: growth >= 50 %
    high, >= 10 % medium, else low. Blocks (numba NRT allocations not freed): flagged
    at ``min_blocks_per_iter`` or more per iteration, high priority (compiled code
    leaks every time); the block size is not recorded, so impact is unknown.
    """
    out = []
    for s in series:
        x = [float(v) for v in s.iterations]
        y = [float(v) for v in s.values]
        if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
            continue
        from scipy import (
            stats as sstats,  # here: only a series worth fitting pays the import
        )

        fit = sstats.linregress(x, y)
        slope = float(fit.slope)
        if not math.isfinite(slope) or slope <= 0:
            continue
        p_one = float(fit.pvalue) / 2 if fit.stderr > 0 else 0.0
        span = max(x) - min(x)
        start = float(fit.intercept + slope * min(x))
        end = float(fit.intercept + slope * max(x))
        subject = _label(s.subject, s.params)
        if s.unit == "blocks":
            if slope < min_blocks_per_iter:
                continue
            out.append(Recommendation(
                id=f"memory_growth:{subject}", rule="memory_growth", category="memory",
                priority="high",
                title=f"{subject}: {slope:.3g} numba allocations per iteration are never freed",
                evidence=(Evidence(s.subject, s.params, slope, "blocks/iteration",
                                   f"{s.source}; {len(x)} points over {span:g} iterations"),
                          Evidence(s.subject, s.params, y[-1] - y[0], "blocks",
                                   "net live NRT allocations added over the span")),
                action=("Compiled code allocates arrays that are never released: look for "
                        "arrays stored in global or reflected containers, reference cycles "
                        "through jitclass members, and returned views kept alive by a "
                        "cache; numba's NRT statistics (alloc - free) should return to their "
                        "start after each call."),
                impact_low_pct=None, impact_high_pct=None))
            continue
        if p_one >= alpha or start <= 0:
            continue
        growth_pct = 100 * slope * span / start
        if growth_pct < min_growth_pct:
            continue
        lo_slope = max(0.0, slope - 1.96 * float(fit.stderr))
        out.append(Recommendation(
            id=f"memory_growth:{subject}", rule="memory_growth", category="memory",
            priority=_by_priority(growth_pct, 50, 10),
            title=f"{subject}: memory grows {fmt_figure(slope, 'bytes')} per iteration "
                  f"(+{growth_pct:.0f}% over {span:g} iterations)",
            evidence=(Evidence(s.subject, s.params, slope, "bytes/iteration",
                               f"{s.source}; least squares over {len(x)} points, "
                               f"p = {p_one:.2g}"),
                      Evidence(s.subject, s.params, y[0], "bytes",
                               f"at {x[0]:g} iterations"),
                      Evidence(s.subject, s.params, y[-1], "bytes",
                               f"at {x[-1]:g} iterations")),
            action=(f"Memory rises with the iteration count ({fmt_figure(y[0], 'bytes')} at "
                    f"{x[0]:g}, {fmt_figure(y[-1], 'bytes')} at {x[-1]:g}) although the work "
                    "per iteration is the same: find what each iteration keeps (growing "
                    "lists or caches, per-call arrays stored on an object, NRT allocations "
                    "not freed) and bound or release it."),
            impact_low_pct=100 * lo_slope * span / end, impact_high_pct=100 * slope * span / end))
    return out


# ---------------------------------------------------------------- numba facts


def _exercising(metrics: MetricSet | None, pattern: str | None,
                limit: int = 3) -> list[Row]:
    """Median-latency rows (or time rows) of the benchmarks a kernel serves."""
    import re

    if metrics is None or not pattern:
        return []
    rx = re.compile(pattern)
    rows = [r for r in metrics.rows if r.ok and rx.search(r.label())
            and (r.benchmark.endswith(".track_latency_p50_ns") or r.type == "time")]
    rows.sort(key=lambda r: -r.value if r.unit in ("ns", "seconds") else 0)
    return rows[:limit]


def numba_findings(diag: Diagnostics, metrics: MetricSet | None = None,
                   checks: Sequence[Any] = ()) -> list[Recommendation]:
    """Recommendations from the numba diagnostics of the engine's kernels.

    - **object mode** (a dispatcher with object-mode signatures or ``forceobj``): high.
      Impact from the measured speed-up of the same function in nopython mode
      (``1 - t_nopython / t_object``, low from the slowest nopython and fastest object
      run, high the other way), unknown when it could not be timed.
    - **parallel** (a ``prange`` that numba did not turn into a parallel loop, or a
      ``parallel=True`` kernel with no parallel loop at all): medium. A ``prange``
      serialised because it is nested in another parallel loop: low. Impact: up to
      ``1 - 1/threads`` of that loop's time (numba's thread count); low end 0.
    - **vectorisation** (an innermost loop doing floating-point arithmetic with scalar
      instructions only, in a kernel not marked as scalar by design): the range is the
      measured SIMD gain on this machine, ``1 - 1/speedup`` of the loop's time, from
      ``simd.DotSpeedup.track_speedup`` (min and max over sizes) when the results have
      it, else ``0 .. 1 - 1/lanes`` with the lane count of the widest vector the same
      build used. Priority: high when a benchmark the kernel serves fails an SLA,
      medium when it has results, low otherwise.
    """
    out: list[Recommendation] = []
    failing = {c.where for c in checks if c.status == "fail" and c.where}
    for om in diag.object_mode:
        if not om.object_signatures and not om.forceobj:
            continue
        ev = [Evidence(om.name, (), float(len(om.object_signatures)), "signatures",
                       "compiled in object mode: " + "; ".join(om.object_signatures[:3]))]
        lo = hi = None
        if om.times_object and om.times_nopython:
            lo = 100 * (1 - max(om.times_nopython) / min(om.times_object))
            hi = 100 * (1 - min(om.times_nopython) / max(om.times_object))
            ev.append(Evidence(om.name, (), statistics.median(om.times_object) * 1e9, "ns",
                               "median call, object mode"))
            ev.append(Evidence(om.name, (), statistics.median(om.times_nopython) * 1e9, "ns",
                               "median call, same function in nopython mode"))
        out.append(Recommendation(
            id=f"numba.object_mode:{om.name}", rule="numba.object_mode", category="object-mode",
            priority="high", title=f"{om.name} runs in numba's object mode",
            evidence=tuple(ev),
            action=(f"{om.name} is compiled in object mode, i.e. it runs as Python objects: "
                    "make it compile with @njit (nopython): replace the unsupported "
                    "Python constructs numba names in its error, move object work "
                    "(dicts of objects, string formatting, I/O) out of the kernel."),
            impact_low_pct=lo, impact_high_pct=hi))
    threads = diag.threads
    for par in diag.parallel:
        not_conv = list(par.prange_not_converted)
        serial = [p for p in par.parfors if p.status == "serialised"]
        no_parfor = any("no transformation for parallel execution" in w for w in par.warnings)
        if not (not_conv or serial or no_parfor):
            continue
        ev = []
        for line in not_conv:
            ev.append(Evidence(f"{par.file}:{line}", (), float(line), "line",
                               f"prange in {par.kernel} was not converted to a parallel loop"))
        for p in serial:
            ev.append(Evidence(f"{par.file}:{p.line}", (), float(p.id), "loop id",
                               f"parallel loop #{p.id} serialised inside loop "
                               f"#{p.nested_in}"))
        if no_parfor:
            ev.append(Evidence(par.kernel, (), 0.0, "parallel loops",
                               "parallel=True but numba found nothing to parallelise"))
        ev.append(Evidence("numba", (), float(threads), "threads", "NUMBA_NUM_THREADS"))
        serious = bool(not_conv or no_parfor)
        out.append(Recommendation(
            id=f"numba.parallel:{par.kernel}", rule="numba.parallel", category="parallelism",
            priority="medium" if serious else "low",
            title=(f"{par.kernel}: {len(not_conv) + int(no_parfor)} parallel loop(s) run "
                   "serially" if serious else
                   f"{par.kernel}: {len(serial)} nested prange loop(s) serialised"),
            evidence=tuple(ev),
            action=("Make the loop numba can parallelise: iterations independent of each "
                    "other, no early exit, reductions written as `acc += ...` on a scalar; "
                    "see the kernel's parallel_diagnostics(level=4)." if serious else
                    "The inner prange runs serially inside the outer parallel loop, which "
                    "is numba's rule: write it as range (it documents what runs), or "
                    "parallelise the inner loop instead if the outer one is short."),
            impact_low_pct=0.0,
            impact_high_pct=100 * (1 - 1 / threads) if serious and threads > 0 else 0.0))
    speedups = sorted(r.value for r in (metrics.with_method("track_speedup")
                                        if metrics is not None else [])
                      if r.benchmark.startswith("simd.") and r.value > 0)
    for k in diag.kernels:
        scalar = [lp for lp in k.loops if lp.scalar_fp > 0 and not lp.vectorised
                  and not lp.remainder]
        if not scalar or k.expected_scalar:
            continue
        served = _exercising(metrics, k.benchmarks)
        ev = [Evidence(k.name, (), float(k.packed_fp_asm), "packed FP instructions",
                       f"{k.scalar_fp_asm} scalar FP instructions in its assembly "
                       f"(fastmath={k.fastmath}, {k.signature})")]
        for lp in scalar:
            ev.append(Evidence(f"{lp.file}:{lp.first_line}-{lp.last_line}", (),
                               float(lp.scalar_fp), "scalar FP ops/iteration",
                               lp.reason or "not vectorised"))
        for r in served:
            ev.append(Evidence(r.benchmark, r.params, r.value, r.unit or "",
                               "a benchmark this kernel serves"))
        if speedups:
            lo = 100 * (1 - 1 / speedups[0]) if speedups[0] > 1 else 0.0
            hi = 100 * (1 - 1 / speedups[-1]) if speedups[-1] > 1 else 0.0
            ev.append(Evidence("simd.DotSpeedup.track_speedup", (), speedups[-1], "x",
                               f"measured SIMD gain on this machine, {speedups[0]:.2g}x to "
                               f"{speedups[-1]:.2g}x over sizes"))
        else:
            lanes = diag.vector_lanes or 1
            lo, hi = 0.0, 100 * (1 - 1 / lanes)
            ev.append(Evidence("llvm", (), float(lanes), "lanes",
                               "widest vector the same build used; upper bound"))
        if any(r.label() in failing for r in served) or any(
                f for f in failing if k.benchmarks and _matches(k.benchmarks, f)):
            priority = "high"
        elif served:
            priority = "medium"
        else:
            priority = "low"
        where = ", ".join(f"{lp.file}:{lp.first_line}-{lp.last_line}" for lp in scalar)
        reasons = sorted({lp.reason for lp in scalar if lp.reason})
        out.append(Recommendation(
            id=f"numba.vectorisation:{k.name}", rule="numba.vectorisation",
            category="vectorisation", priority=priority,
            title=f"{k.name}: {len(scalar)} floating-point loop(s) not vectorised ({where})",
            evidence=tuple(ev),
            action=(f"LLVM left {len(scalar)} innermost loop(s) of {k.name} scalar "
                    f"({'; '.join(reasons) or 'see the loop notes'}). Give the innermost "
                    "loop independent lanes on contiguous data (a short inner loop over "
                    "several outputs or columns, which LLVM packs into vector registers, "
                    "instead of separate scalar accumulators or one running sum), or allow "
                    "reassociation for that reduction (fastmath={'reassoc', 'contract'}) "
                    "where bit-exact summation order is not needed. Check with inspect_asm "
                    "(packed vmulps/vfmadd...ps) and the benchmark before keeping it."),
            impact_low_pct=lo, impact_high_pct=hi))
    return out


def _matches(pattern: str, label: str) -> bool:
    import re

    return re.search(pattern, label) is not None


# ---------------------------------------------------------------- everything


def analyse(metrics: MetricSet | None, checks: Sequence[Any] = (), *,
            diagnostics: Diagnostics | None = None, cores: int = 1,
            max_allocs_per_op: float = MAX_ALLOCS_PER_OP,
            min_efficiency: float = MIN_SCALING_EFFICIENCY, cpu_high: float = CPU_HIGH_PCT,
            calls: int = CALLS_PER_PROCESS, growth: Sequence[GrowthSeries] = ()
            ) -> list[Recommendation]:
    """Every rule, sorted by priority and impact."""
    recs = sla_breaches(checks, metrics)
    if metrics is not None:
        recs += nrt_allocations(metrics, max_per_op=max_allocs_per_op,
                                alloc_cost_ns=diagnostics.alloc_cost_ns if diagnostics else None)
        recs += thread_scaling(metrics, cores=cores, min_efficiency=min_efficiency)
        recs += cpu_without_throughput(metrics, cpu_high=cpu_high)
        recs += compile_dominance(metrics, calls=calls)
        growth = list(growth_from_rows(metrics)) + list(growth)
    if diagnostics is not None:
        growth = list(growth) + list(diagnostics.leaks)
        recs += numba_findings(diagnostics, metrics, checks)
    recs += memory_growth(growth)
    return sorted(recs, key=rank)
