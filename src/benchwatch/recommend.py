"""``benchwatch recommend``: bottlenecks of one measured commit, and what to do next.

It gathers facts, hands them to the rules, and renders what comes back:

1. the metric set: the rows of the newest commit (or ``--commit``) of one machine and
   environment, loaded by ``benchwatch.results`` (``--results-dir``), or the head
   values of a gate report (``--report``, read back with ``report.from_dict``);
2. the SLA checks: ``--suite`` evaluates the suite's success criteria on those rows
   with ``benchwatch.run.select``/``evaluate`` (the same checks ``benchwatch run``
   makes); without it, a gate report's own SLA checks are used;
3. numba diagnostics of the engine's kernels (``benchwatch.numba_diagnostics``:
   object mode, parallel loops, vectorisation, NRT allocation cost, leak probes),
   unless ``--no-diagnostics``;
4. the rules (``benchwatch.bottlenecks``), and with ``--profile N`` a cProfile run of
   the N benchmarks the top findings name, in this process.

The JSON document is the contract the site's recommendations page is built from
(site/recommend.md documents it). What this module must not do: decide what is a
bottleneck (bottlenecks.py) or parse asv files (results.py).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .bottlenecks import PRIORITIES, Evidence, MetricSet, Recommendation, fmt_figure
from .errors import UserError

JSON_VERSION = 1


# ---------------------------------------------------------------- model


@dataclass(frozen=True)
class ProfiledFunction:
    function: str  # file:line(name), or numba's/builtins' own description
    ncalls: int
    cumulative_s: float
    own_s: float

    def to_dict(self) -> dict[str, Any]:
        return {"function": self.function, "ncalls": self.ncalls,
                "cumulative_s": round(self.cumulative_s, 6), "own_s": round(self.own_s, 6)}


@dataclass(frozen=True)
class Profile:
    """cProfile of one benchmark run in-process; ``error`` when it could not run."""

    benchmark: str
    params: tuple[str, ...]
    how: str
    total_s: float
    top: tuple[ProfiledFunction, ...]
    error: str | None = None

    def label(self) -> str:
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark

    def to_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "params": list(self.params), "how": self.how,
                "total_s": round(self.total_s, 6), "top": [f.to_dict() for f in self.top],
                "error": self.error}


@dataclass(frozen=True)
class Result:
    source: dict[str, Any]
    recommendations: tuple[Recommendation, ...]
    diagnostics: Any = None  # numba_diagnostics.Diagnostics
    profile: tuple[Profile, ...] = ()
    sla: tuple = ()  # run.Check
    sla_source: str | None = None
    notes: tuple[str, ...] = ()

    def count(self, priority: str) -> int:
        return sum(r.priority == priority for r in self.recommendations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "recommend", "version": JSON_VERSION, "source": self.source,
            "sla": {"source": self.sla_source,
                    "checks": [{"entry": c.entry, "criterion": c.criterion, "limit": c.limit,
                                "unit": c.unit, "observed": _finite(c.observed),
                                "benchmark": c.where, "status": c.status}
                               for c in self.sla]},
            "counts": {p: self.count(p) for p in PRIORITIES},
            "recommendations": [r.to_dict() for r in self.recommendations],
            "diagnostics": self.diagnostics.to_dict() if self.diagnostics is not None else None,
            "profile": [p.to_dict() for p in self.profile],
            "notes": list(self.notes)}


def _finite(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


# ---------------------------------------------------------------- inputs


def rows_from_report(doc: Any, machine: str | None = None) -> tuple[list, str]:
    """The head values of a gate or compare report as result rows, and the head hash."""
    from .results import Row

    rows = [Row(c.benchmark, c.params, c.machine, c.env, doc.head, None, c.after, c.unit)
            for c in doc.comparisons
            if c.after is not None and (machine is None or c.machine == machine)]
    return rows, doc.head


def read_report(path: Path) -> Any:
    """A gate/compare JSON report, read and type-checked the way the site reads them
    (``site.build.load_reports``, which uses ``report.from_dict``)."""
    from .site.build import load_reports

    [(_, doc)] = load_reports([path])
    return doc


def one_commit(rows: Sequence[Any], commit: str | None, repo: Path | None,
               machine: str | None, env: str | None) -> tuple[list, str, str, str]:
    """Rows of ``commit`` (default: the newest) for one machine and environment."""
    from . import history

    if env is not None:
        rows = [r for r in rows if r.env == env]
        if not rows:
            raise UserError(f"no results for environment {env!r}")
    if commit is not None:
        head = history.resolve_commit(rows, commit)
    else:
        head = history.commit_order(rows, repo)[-1]
    mine = [r for r in rows if r.commit == head]
    pairs = sorted({(r.machine, r.env) for r in mine})
    if len(pairs) > 1:
        listed = ", ".join(f"{m}/{e}" for m, e in pairs)
        raise UserError(f"commit {head[:12]} has results from {len(pairs)} machine/environment "
                        f"pairs ({listed}); choose one with --machine and --asv-env")
    machine_name, env_name = pairs[0]
    return mine, head, machine_name, env_name


def axes_of(results_dir: Path | None, benchmark_dir: Path | None,
            notes: list[str]) -> dict[str, tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]]:
    """Each benchmark's parameter names and values: ``benchmarks.json`` of the results,
    else the benchmark modules themselves (``run.benchmark_params``)."""
    from . import results

    axes = results.param_axes(results_dir) if results_dir is not None else {}
    if axes or benchmark_dir is None:
        return axes
    from .run import benchmark_params

    try:
        found = benchmark_params(benchmark_dir)
    except UserError as exc:
        notes.append(f"parameter names unknown ({exc}); thread-scaling and CPU rules skipped")
        return {}
    return {name: (bp.names, bp.values) for name, bp in found.items()}


def sla_checks(rows: Sequence[Any], axes: dict, suite: str, env: str | None,
               config: Path | None) -> tuple[list, str]:
    """``suite``'s success criteria checked on ``rows`` exactly as ``benchwatch run``
    checks them (``run.select`` over the benchmarks' parameters, ``run.evaluate``)."""
    from . import suite_config
    from .cli_config import find_config
    from .run import BenchParams, evaluate, select

    resolved = suite_config.resolve(suite_config.load(config or find_config()), suite, env=env)
    known: dict[str, BenchParams] = {}
    for r in rows:
        if r.benchmark in known:
            continue
        names, values = axes.get(r.benchmark, ((), ()))
        if len(names) != len(r.params):  # unknown: every value seen is allowed
            names = tuple(f"param{i + 1}" for i in range(len(r.params)))
            values = tuple(tuple(sorted({x.params[i] for x in rows if x.benchmark == r.benchmark
                                         and len(x.params) == len(names)}))
                           for i in range(len(names)))
        known[r.benchmark] = BenchParams(tuple(names), tuple(values))
    checks = evaluate(resolved, select(resolved, known), rows)
    where = f" (env {env})" if env else ""
    return checks, f"suite {resolved.name}:{resolved.version}{where}"


# ---------------------------------------------------------------- profiling


def _literal(text: str) -> Any:
    import ast

    return ast.literal_eval(text)


def profile_benchmark(benchmark_dir: Path, benchmark: str, params: Sequence[str], *,
                      repeats: int = 3, top: int = 8) -> Profile:
    """Run one asv benchmark in this process under cProfile.

    ``_Metrics`` benchmarks (the ``track_`` figures of ``benchmarks/_measure.py``)
    profile ``measure(*params)``, the workload behind every figure; ``time_``/``mem_``/
    ``peakmem_`` ones call ``setup`` unprofiled, then the method ``repeats`` times;
    other ``track_`` benchmarks with a ``setup_cache`` profile it. ``timeraw_`` ones
    run in a fresh interpreter and are not profiled.
    """
    import cProfile
    import pstats

    from . import benchmarks_index as bi
    from .run import _holders

    method = benchmark.rpartition(".")[2]
    if method.startswith("timeraw_"):
        return Profile(benchmark, tuple(params), "-", 0.0, (),
                       "timeraw benchmarks run in a fresh interpreter; not profiled here")
    prof = cProfile.Profile()
    how = ""
    teardown = None
    with bi.importable(benchmark_dir) as package:
        try:
            values = [_literal(p) for p in params]
            holders = _holders(package, benchmark)
        except (ValueError, SyntaxError, ImportError, AttributeError, UserError) as exc:
            return Profile(benchmark, tuple(params), "-", 0.0, (),
                           f"cannot load the benchmark: {type(exc).__name__}: {exc}")
        owner, func = holders[-2], holders[-1]
        if not isinstance(owner, type):
            how = f"{method}(*params) x{repeats}"
            target = lambda: [func(*values) for _ in range(repeats)]
        else:
            obj = owner()
            if method.startswith("track_") and hasattr(obj, "measure"):
                how = "measure(*params): the workload behind the track_ figures"
                target = lambda: obj.measure(*values)
            elif method.startswith("track_") and hasattr(obj, "setup_cache"):
                how = "setup_cache(): the workload behind the track_ figures"
                target = obj.setup_cache
            else:
                if hasattr(obj, "setup"):
                    obj.setup(*values)
                if hasattr(obj, "teardown"):
                    teardown = lambda: obj.teardown(*values)
                how = f"setup(*params), then {method}(*params) x{repeats}"
                bound = getattr(obj, method)
                target = lambda: [bound(*values) for _ in range(repeats)]
        try:
            prof.enable()
            try:
                target()
            finally:
                prof.disable()
        except Exception as exc:  # noqa: BLE001 - a benchmark's own failure is reported
            return Profile(benchmark, tuple(params), how, 0.0, (),
                           f"the benchmark raised {type(exc).__name__}: {exc}")
        finally:
            if teardown is not None:
                try:
                    teardown()
                except Exception as exc:  # noqa: BLE001 - cleanup only; the profile stands
                    print(f"benchwatch: warning: teardown of {benchmark} raised {exc!r}",
                          file=sys.stderr)
    stats = pstats.Stats(prof)
    entries = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if name in ("<lambda>", "<listcomp>") and file == __file__:
            continue
        if "_lsprof" in file or (file == "~" and "disable" in name):
            continue
        func = name if file == "~" else f"{os.path.basename(file)}:{line}({name})"
        entries.append(ProfiledFunction(func, int(nc), float(ct), float(tt)))
    entries.sort(key=lambda e: (-e.cumulative_s, e.function))
    total = max((e.cumulative_s for e in entries), default=0.0)
    return Profile(benchmark, tuple(params), how, total, tuple(entries[:top]))


def offenders(recs: Sequence[Recommendation], metrics: MetricSet, n: int) -> list[tuple[str, tuple]]:
    """The first ``n`` measured benchmarks the findings name, in rank order, one per
    class and parameters: the ``track_`` methods of one class share one workload."""
    out: list[tuple[str, tuple]] = []
    seen: set[tuple[str, tuple]] = set()
    for rec in recs:
        for ev in rec.evidence:
            workload = (ev.benchmark.rpartition(".")[0], ev.params)
            if workload in seen or metrics.get(ev.benchmark, ev.params) is None:
                continue
            seen.add(workload)
            out.append((ev.benchmark, ev.params))
            if len(out) >= n:
                return out
    return out


def _with_profile(recs: list[Recommendation], profiles: Sequence[Profile]) -> list[Recommendation]:
    """Each profiled benchmark's three costliest functions added to the findings that
    name it, as evidence."""
    by_key = {(p.benchmark, p.params): p for p in profiles if p.error is None}
    out = []
    for rec in recs:
        extra = []
        for ev in rec.evidence:
            p = by_key.get((ev.benchmark, ev.params))
            if p is None:
                continue
            # where the time is spent: the largest own times among the costliest calls
            for f in sorted(p.top, key=lambda f: -f.own_s)[:3]:
                extra.append(Evidence(f.function, (), f.own_s * 1e3, "ms own time",
                                      f"cProfile of {p.label()}: {f.ncalls} calls, "
                                      f"{f.cumulative_s * 1e3:.1f} ms cumulative"))
            by_key.pop((ev.benchmark, ev.params))
        out.append(replace(rec, evidence=rec.evidence + tuple(extra)) if extra else rec)
    return out


# ---------------------------------------------------------------- orchestration


def recommend(metrics: MetricSet | None, source: dict[str, Any], *, checks: Sequence[Any] = (),
              sla_source: str | None = None, diagnostics: Any = None, cores: int = 1,
              benchmark_dir: Path | None = None, profile_n: int = 0,
              options: dict[str, Any] | None = None,
              notes: Sequence[str] = ()) -> Result:
    """Apply every rule (``bottlenecks.analyse``) and, with ``profile_n``, profile the
    top offenders. ``options`` passes the rules' thresholds."""
    from . import bottlenecks

    recs = bottlenecks.analyse(metrics, checks, diagnostics=diagnostics, cores=cores,
                               **(options or {}))
    profiles: list[Profile] = []
    if profile_n and metrics is not None and benchmark_dir is not None:
        for bench, params in offenders(recs, metrics, profile_n):
            print(f"benchwatch: profiling {bench}({', '.join(params)})", file=sys.stderr)
            profiles.append(profile_benchmark(benchmark_dir, bench, params))
        recs = _with_profile(recs, profiles)
    return Result(source, tuple(recs), diagnostics, tuple(profiles), tuple(checks), sla_source,
                  tuple(notes))


# ---------------------------------------------------------------- rendering


def _pct(v: float) -> str:
    """A percentage without rounding 99.99 up to 100 (a reduction of 100 % would mean
    the figure disappears)."""
    if 99 <= v < 100:
        return f"{math.floor(v * 10) / 10:.1f}"
    return f"{v:.0f}" if v >= 1 else f"{v:.1f}"


def _impact(rec: Recommendation) -> str:
    lo, hi = rec.impact_low_pct, rec.impact_high_pct
    if lo is None or hi is None:
        return "unknown"
    if _pct(lo) == _pct(hi):
        return f"{_pct(lo)}%"
    return f"{_pct(lo)}-{_pct(hi)}%"


def _evidence_line(ev: Evidence) -> str:
    note = f"  ({ev.note})" if ev.note else ""
    return f"{ev.label()} = {fmt_figure(ev.figure, ev.unit)}{note}"


def headline(result: Result) -> str:
    n = len(result.recommendations)
    counts = ", ".join(f"{result.count(p)} {p}" for p in PRIORITIES)
    src = result.source
    where = f"commit {(src.get('commit') or '?')[:8]}"
    if src.get("machine"):
        where += f" on {src['machine']}"
    return f"{n} recommendation{'s' * (n != 1)} ({counts}) for {where}"


def _sla_line(result: Result) -> str:
    if not result.sla_source:
        return "SLAs: none checked (pass --suite NAME to check a suite's success criteria)"
    failed = sum(c.status == "fail" for c in result.sla)
    missing = sum(c.status == "missing" for c in result.sla)
    return (f"SLAs: {result.sla_source}: {len(result.sla)} checks, {failed} failed, "
            f"{missing} without results")


def _diag_lines(d: Any) -> list[str]:
    if d is None:
        return ["numba diagnostics: not run (--no-diagnostics)"]
    scalar = sum(1 for k in d.kernels for lp in k.loops
                 if lp.scalar_fp and not lp.vectorised and not lp.remainder)
    vector = sum(1 for k in d.kernels for lp in k.loops if lp.vectorised)
    serial = sum(1 for p in d.parallel for x in p.parfors if x.status == "serialised")
    not_conv = sum(len(p.prange_not_converted) for p in d.parallel)
    objs = [o.name for o in d.object_mode if o.object_signatures or o.forceobj]
    lines = [(f"numba diagnostics ({d.seconds:.1f} s, numba {d.numba_version}, {d.threads} "
              f"threads, {d.cpu}):"),
             (f"  vectorisation: {len(d.kernels)} kernels inspected, {vector} vectorised "
              f"loops, {scalar} scalar floating-point loops"),
             (f"  parallel: {len(d.parallel)} parallel kernels, "
              f"{sum(len(p.parfors) for p in d.parallel)} parallel loops, {serial} serialised, "
              f"{not_conv} prange loops not converted"),
             f"  object mode: {', '.join(objs) if objs else 'none'}"]
    if d.alloc_cost_ns:
        lines.append(f"  NRT allocate+free: {d.alloc_cost_ns[0]:.0f} ns (64 B), "
                     f"{d.alloc_cost_ns[1]:.0f} ns (4 KiB)")
    if d.leaks:
        lines.append(f"  leak probes: {len({s.subject for s in d.leaks})} engine calls, "
                     "1,000 iterations each")
    for s in d.skipped:
        lines.append(f"  skipped: {s}")
    for e in d.errors:
        lines.append(f"  error: {e}")
    return lines


def render_text(result: Result) -> str:
    from .render import text as rtext

    out = [headline(result), _sla_line(result)] + [f"note: {n}" for n in result.notes] + [""]
    recs = result.recommendations
    if recs:
        rows = [[str(i), r.priority, r.category, _impact(r), r.title]
                for i, r in enumerate(recs, 1)]
        out.append(rtext.table(["#", "priority", "category", "impact", "finding"], rows,
                               "rlllll"))
        for i, r in enumerate(recs, 1):
            out.append(f"{i}. [{r.priority}] {r.title}")
            out.append(f"   rule {r.rule}, category {r.category}, expected impact "
                       f"{_impact(r)}")
            out.append("   evidence:")
            out += [f"     - {_evidence_line(ev)}" for ev in r.evidence]
            out.append(f"   action: {r.action}")
            out.append("")
    else:
        out.append("no bottleneck found by any rule\n")
    out += _diag_lines(result.diagnostics)
    if result.profile:
        out.append("")
        out.append("profile (cProfile, cumulative time):")
        for p in result.profile:
            if p.error:
                out.append(f"  {p.label()}: {p.error}")
                continue
            out.append(f"  {p.label()}: {p.how}, {p.total_s * 1e3:.1f} ms")
            out += [f"    {f.cumulative_s * 1e3:9.2f} ms  {f.ncalls:>7}  {f.function}"
                    for f in p.top]
    return "\n".join(out).rstrip() + "\n"


def render_markdown(result: Result) -> str:
    from .render import markdown as md

    out = ["## Recommendations\n", f"**{md.escape(headline(result))}**\n",
           md.escape(_sla_line(result)) + "\n"]
    out += [f"> {md.escape(n)}\n" for n in result.notes]
    recs = result.recommendations
    if recs:
        rows = [[str(i), r.priority, md.escape(r.category), _impact(r), md.escape(r.title)]
                for i, r in enumerate(recs, 1)]
        out.append(md.table(["#", "priority", "category", "expected impact", "finding"],
                            rows, "rllll"))
        for i, r in enumerate(recs, 1):
            out.append(f"### {i}. {md.escape(r.title)}\n")
            out.append(f"Priority **{r.priority}** · category {md.escape(r.category)} · rule "
                       f"`{r.rule}` · expected impact **{_impact(r)}**\n")
            out.append(md.table(["evidence", "figure", "note"],
                                [[md.escape(ev.label()),
                                  md.escape(fmt_figure(ev.figure, ev.unit)),
                                  md.escape(ev.note)] for ev in r.evidence], "lrl"))
            out.append(f"**Action.** {md.escape(r.action)}\n")
    else:
        out.append("No bottleneck found by any rule.\n")
    out.append(md.details("numba diagnostics",
                          "\n".join(f"    {line}" for line in _diag_lines(result.diagnostics))))
    if result.profile:
        body = []
        for p in result.profile:
            if p.error:
                body.append(f"- {md.escape(p.label())}: {md.escape(p.error)}")
                continue
            body.append(f"**{md.escape(p.label())}** ({md.escape(p.how)}, "
                        f"{p.total_s * 1e3:.1f} ms)\n")
            body.append(md.table(["function", "calls", "cumulative"],
                                 [[md.escape(f.function), str(f.ncalls),
                                   f"{f.cumulative_s * 1e3:.2f} ms"] for f in p.top], "lrr"))
        out.append(md.details("profile (cProfile)", "\n".join(body)))
    return "\n".join(out)


def render(result: Result, fmt: str) -> str:
    if fmt == "json":
        import json

        return json.dumps(result.to_dict(), indent=2, allow_nan=False) + "\n"
    if fmt == "markdown":
        return render_markdown(result)
    return render_text(result)


# ---------------------------------------------------------------- command

EPILOG = """\
Rules (site/recommend.md explains each, with how its priority and impact range are
computed from the measurements):
  sla.*                   a suite success criterion failed (p99 over its limit,
                          throughput under it, peak memory, CPU)
  nrt_allocations         numba NRT allocations per call above --max-allocs-per-op
  thread_scaling          throughput over the concurrency parameter vs ideal scaling
  cpu_without_throughput  high CPU that does not turn into throughput
  compile_dominance       compile time vs the calls of a short-lived process
  memory_growth           memory growing with iterations (a leak)
  numba.object_mode, numba.parallel, numba.vectorisation
                          from the engine's compiled kernels (--no-diagnostics skips)

exit codes: 0 done (with or without findings), 1 with --fail-on P when a finding of
priority P or higher exists, 2 usage or data error.

examples:
  benchwatch recommend --results-dir .asv/results/ci-fast-ci --suite ci-fast --env ci
  benchwatch recommend --report gate.json --format markdown --output recommend.md
  benchwatch recommend --suite production-comprehensive --profile 3 --format json
  benchwatch recommend --no-diagnostics --fail-on high
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    from . import bottlenecks as b
    from .cli_results import add_arguments

    p = subparsers.add_parser(
        "recommend", help="bottlenecks of the latest results and what to do about them",
        description="Find bottlenecks in one commit's results (SLA breaches, allocations "
                    "per call, thread scaling, CPU without throughput, compile time, "
                    "memory growth) and in the engine's compiled kernels (object mode, "
                    "parallel loops, vectorisation); each finding comes with its "
                    "evidence, a priority, an action and an expected impact range.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--report", metavar="FILE", type=Path,
                   help="a gate/compare JSON report: use its head values (instead of "
                        "--results-dir)")
    p.add_argument("--commit", metavar="HASH",
                   help="commit to analyse (default: the newest in the results)")
    p.add_argument("--asv-env", metavar="NAME",
                   help="asv environment of the results (when the commit has several)")
    s = p.add_argument_group("SLAs")
    s.add_argument("--suite", metavar="NAME[:VERSION]",
                   help="check this suite's success criteria (configs/suites.yaml)")
    s.add_argument("--env", metavar="ENV", help="the suite's environment (with --suite)")
    s.add_argument("--config", metavar="PATH", type=Path, help="suite config file")
    r = p.add_argument_group("rules")
    r.add_argument("--max-allocs-per-op", type=float, default=b.MAX_ALLOCS_PER_OP, metavar="N",
                   help=f"NRT allocations per call to flag (default: {b.MAX_ALLOCS_PER_OP:g})")
    r.add_argument("--min-efficiency", type=float, default=b.MIN_SCALING_EFFICIENCY,
                   metavar="F", help="scaling efficiency below which a curve is flagged "
                                     f"(default: {b.MIN_SCALING_EFFICIENCY:g})")
    r.add_argument("--cpu-high", type=float, default=b.CPU_HIGH_PCT, metavar="PCT",
                   help=f"%% of the machine that counts as busy (default: {b.CPU_HIGH_PCT:g})")
    r.add_argument("--calls", type=int, default=b.CALLS_PER_PROCESS, metavar="N",
                   help="calls of a short-lived process, for compile_dominance "
                        f"(default: {b.CALLS_PER_PROCESS:,})")
    r.add_argument("--cores", type=int, default=None, metavar="N",
                   help="cores for ideal scaling (default: this machine's, "
                        f"{os.cpu_count()})")
    d = p.add_argument_group("diagnostics and profiling")
    d.add_argument("--no-diagnostics", action="store_true",
                   help="skip the numba diagnostics of the engine's kernels")
    d.add_argument("--diagnostics-budget", type=float, default=30.0, metavar="SECONDS",
                   help="wall time the numba diagnostics may spend; the rest is listed "
                        "as skipped (default: 30)")
    d.add_argument("--kernels", metavar="REGEX",
                   help="inspect only kernels whose module.function matches")
    d.add_argument("--profile", nargs="?", type=int, const=3, default=0, metavar="N",
                   help="cProfile the N benchmarks the top findings name (default N: 3)")
    d.add_argument("--benchmark-dir", metavar="DIR", type=Path,
                   help="asv benchmark directory (default: benchmark_dir of asv.conf.json)")
    p.add_argument("--fail-on", choices=PRIORITIES, metavar="PRIORITY",
                   help="exit 1 when a finding of this priority or higher exists "
                        "(high, medium, low)")
    add_arguments(p, ("text", "markdown", "json"))
    p.set_defaults(func=run_cli)


def _benchmark_dir(args: argparse.Namespace) -> Path | None:
    if args.benchmark_dir is not None:
        if not args.benchmark_dir.is_dir():
            raise UserError("benchmark directory not found", path=str(args.benchmark_dir))
        return args.benchmark_dir
    from .run import find_asv_conf, read_asv_conf

    try:
        conf_path = find_asv_conf()
        conf = read_asv_conf(conf_path)
    except UserError:
        return None
    found = conf_path.parent / conf.get("benchmark_dir", "benchmarks")
    return found if found.is_dir() else None


def run_cli(args: argparse.Namespace) -> int:
    from .output import emit

    if args.report is not None and args.results_dir is not None:
        raise UserError("give --report FILE or --results-dir DIR, not both")
    if args.env is not None and args.suite is None:
        raise UserError("--env needs --suite")
    for name in ("max_allocs_per_op", "min_efficiency", "cpu_high", "diagnostics_budget"):
        value = getattr(args, name)
        if not (math.isfinite(value) and value >= 0):
            raise UserError(f"--{name.replace('_', '-')} must be a number >= 0, got {value}")
    if args.calls < 1 or (args.cores is not None and args.cores < 1) or args.profile < 0:
        raise UserError("--calls, --cores and --profile take positive whole numbers")
    if not args.no_diagnostics:
        from . import numba_diagnostics

        numba_diagnostics.enable_nrt_stats()  # before anything imports numba
    notes: list[str] = []
    bench_dir = _benchmark_dir(args)
    if args.profile and bench_dir is None:
        raise UserError("--profile needs the benchmark directory: pass --benchmark-dir DIR")
    checks: list = []
    sla_source = None
    if args.report is not None:
        doc = read_report(args.report)
        rows, head = rows_from_report(doc, args.machine)
        if not rows:
            raise UserError("report has no head values to analyse", path=str(args.report))
        rows, head, machine, env = one_commit(rows, None, None, args.machine, args.asv_env)
        source: dict[str, Any] = {"report": str(args.report), "commit": head,
                                  "machine": machine, "env": env}
        axes = axes_of(None, bench_dir, notes)
        if args.suite is None and doc.sla:
            checks, sla_source = list(doc.sla), "the gate report's SLA checks"
    else:
        from . import cli_results

        loaded = cli_results.load(args)
        rows, head, machine, env = one_commit(loaded.rows, args.commit, args.repo,
                                              args.machine, args.asv_env)
        source = {"results_dir": str(loaded.results_dir), "commit": head, "machine": machine,
                  "env": env}
        axes = axes_of(loaded.results_dir, bench_dir, notes)
    if args.suite is not None:
        checks, sla_source = sla_checks(rows, axes, args.suite, args.env, args.config)
        source["suite"] = sla_source
    metrics = MetricSet(tuple(rows), {name: names for name, (names, _) in axes.items()})
    cores = args.cores or os.cpu_count() or 1
    notes.append(f"ideal thread scaling assumes {cores} cores"
                 + (" (this machine's; --cores to change)" if args.cores is None else ""))
    diagnostics = None
    if not args.no_diagnostics:
        from . import numba_diagnostics

        def say(msg: str) -> None:
            print(f"benchwatch: {msg}", file=sys.stderr, flush=True)

        try:
            diagnostics = numba_diagnostics.engine_diagnostics(
                budget_s=args.diagnostics_budget, kernel_filter=args.kernels, progress=say)
        except ImportError as exc:
            notes.append(f"numba diagnostics skipped: the engine cannot be imported ({exc})")
    result = recommend(
        metrics, source, checks=checks, sla_source=sla_source, diagnostics=diagnostics,
        cores=cores, benchmark_dir=bench_dir, profile_n=args.profile, notes=notes,
        options={"max_allocs_per_op": args.max_allocs_per_op,
                 "min_efficiency": args.min_efficiency, "cpu_high": args.cpu_high,
                 "calls": args.calls})
    emit(render(result, args.format), args.output)
    if args.fail_on is not None:
        limit = PRIORITIES.index(args.fail_on)
        if any(PRIORITIES.index(r.priority) <= limit for r in result.recommendations):
            return 1
    return 0
