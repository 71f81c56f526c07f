"""``benchwatch gate BASE HEAD``: pass or fail a change on its benchmarks.

The gate compares every series at BASE and HEAD (``benchwatch.compare``), applies the
regression rule (``benchwatch.rule``: significant, beyond the noise floor learned from
history, and a confidence interval that reaches the threshold), and with ``--suite``
also checks the suite's SLAs at HEAD (``benchwatch.run.evaluate``, the same check
``benchwatch run`` prints). It fails on a regression or an SLA breach. A series too
noisy to judge at its threshold is reported as ``noisy``; it neither passes silently
nor fails.

``--confirm`` lists the inconclusive series (and how many more samples each needs) so
that a confirm stage can rerun exactly those; ``--confirmed`` decides on results that
already hold the confirm stage's extra samples.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compare import Comparison, thresholds_of

Z99 = 2.5758293035489004


@dataclass(frozen=True)
class ConfirmNeed:
    comparison: Comparison
    extra_samples: int  # per side


def extra_samples(c: Comparison) -> int:
    """Samples per side that would shrink the 99 % interval off the threshold.

    The interval's half-width falls as 1/sqrt(n); the distance from the estimate to
    the threshold (log scale) is what it has to fit in. Capped at 4x the current count.
    """
    n = max(c.n_before, c.n_after, 2)
    if not (math.isfinite(c.ci_low_pct) and math.isfinite(c.change_pct)):
        return 3 * n
    r = 1 + c.change_pct / 100
    lo, hi = 1 + c.ci_low_pct / 100, 1 + c.ci_high_pct / 100
    se = (math.log(hi) - math.log(lo)) / (2 * 1.959963984540054)
    limit = 1 + c.threshold_pct / 100
    orient = -1 if c.higher_is_better else 1
    distance = abs(orient * math.log(r) - math.log(limit))
    if distance <= 0 or se <= 0:
        return 3 * n
    k = (Z99 * se / distance) ** 2
    return int(min(3 * n, max(n, math.ceil((k - 1) * n))))


def gate(rows, base: str, head: str, *, repo=None, resolved=None, bench_params=None,
         confirmed: bool = False, n_boot: int = 2000,
         suite_benchmarks: frozenset[str] | None = None):
    """The gate report for loaded rows. ``resolved`` is a ``ResolvedSuite`` or None.

    ``suite_benchmarks`` (``results.benchmark_names``) are the benchmarks the suite still
    defines: a series of one of them measured at BASE but not at HEAD is ``missing`` (an
    interrupted or partial run) and fails the gate; one whose benchmark is gone from the
    suite stays ``removed`` (a PR may delete a benchmark on purpose).
    """
    from . import history, report, results
    from .compare import compare
    from .run import Verdict, evaluate, select

    series = history.build(rows, repo=repo)
    thresholds = None
    selections = None
    if resolved is not None:
        thresholds = thresholds_of(resolved.gates)
        selections = select(resolved, bench_params) if bench_params is not None else None
        if selections is not None:
            series = [s for s in series if any(
                sel.benchmark == s.benchmark and sel.matches(s.params) for sel in selections)]
    comps = compare(series, base, head, thresholds=thresholds, confirmed=confirmed,
                    n_boot=n_boot)
    if suite_benchmarks is not None:
        from .compare import _replace_status

        comps = [_replace_status(c, "missing")
                 if c.status == "removed" and c.benchmark in suite_benchmarks else c
                 for c in comps]
    sla: tuple = ()
    sla_ok = True
    if resolved is not None and selections is not None:
        head_rows = (rows.at_commit(head) if isinstance(rows, results.Rows)
                     else [r for r in rows if r.commit == head])
        checks = tuple(evaluate(resolved, selections, head_rows))
        sla = checks
        sla_ok = Verdict(resolved.name, resolved.version, resolved.environment or "", "",
                         head, checks, resolved.gates.min_success_rate).passed
    failed = any(c.status in ("regression", "missing") for c in comps) or not sla_ok
    return report.Report(kind="gate", base=base, head=head, comparisons=tuple(comps),
                         verdict="fail" if failed else "pass",
                         suite=f"{resolved.name}:{resolved.version}" if resolved else None,
                         sla=sla)


def confirm_list(doc) -> list[ConfirmNeed]:
    return [ConfirmNeed(c, extra_samples(c)) for c in doc.inconclusive]


def render_confirm(needs: list[ConfirmNeed], fmt: str) -> str:
    import json

    if fmt == "json":
        return json.dumps({"confirm": [
            {"benchmark": n.comparison.benchmark, "params": list(n.comparison.params),
             "machine": n.comparison.machine, "env": n.comparison.env,
             "extra_samples": n.extra_samples,
             "bench_regex": bench_regex(n.comparison)} for n in needs]}, indent=2) + "\n"
    if not needs:
        return "no inconclusive series: nothing to confirm\n"
    lines = [f"{len(needs)} inconclusive series; rerun them for BASE and HEAD with more "
             "samples (asv run --append-samples), then gate with --confirmed:"]
    for n in needs:
        c = n.comparison
        lines.append(f"  {c.label()}  [{c.machine}/{c.env}]  change {c.change_pct:+.1f}% "
                     f"vs threshold {c.threshold_pct:g}%: ~{n.extra_samples} more samples per side")
    return "\n".join(lines) + "\n"


def bench_regex(c: Comparison) -> str:
    """An ``asv run --bench`` regex matching exactly this series."""
    import re

    if not c.params:
        return f"^{re.escape(c.benchmark)}$"
    return f"^{re.escape(c.benchmark)}\\({re.escape(', '.join(c.params))}\\)$"


# --------------------------------------------------------------------------- command

EPILOG = """\
The rule: a regression is significant (95 % CI excludes no change), larger than the
benchmark's noise floor (what consecutive main-branch commits reach by chance), and its
CI reaches the threshold. Thresholds: --suite's gates, else time 10 %, throughput 10 %,
memory 20 %. site/gate.md explains the rule and its measured error rates.

examples:
  benchwatch gate 1a2b3c4d 5e6f7a8b
  benchwatch gate --against last-release 5e6f7a8b --format markdown --output comment.md
  benchwatch gate 1a2b3c4d 5e6f7a8b --suite ci-fast --env ci --format json --output gate.json
  benchwatch gate 1a2b3c4d 5e6f7a8b --confirm          list series needing more samples

exit codes: 0 pass, 1 regression or SLA breach, 2 usage or data error.
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    from . import cli_results

    p = subparsers.add_parser(
        "gate", help="pass/fail a change: regressions beyond threshold and noise, SLAs",
        description="Gate HEAD against BASE: regressions (significant, beyond the noise "
                    "floor, CI reaching the threshold) and, with --suite, SLAs at HEAD.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", metavar="BASE", nargs="?",
                   help="base commit hash (8+ hex digits) or baseline name")
    p.add_argument("head", metavar="HEAD", help="head commit hash")
    p.add_argument("--against", metavar="NAME",
                   help="a baseline name from configs/baselines.yaml as BASE")
    p.add_argument("--baselines", metavar="PATH", type=Path,
                   help="baselines file (default: configs/baselines.yaml)")
    p.add_argument("--suite", metavar="NAME[:VERSION]",
                   help="gate only this suite's benchmarks, with its thresholds and SLAs")
    p.add_argument("--env", metavar="ENV", help="the suite's environment (with --suite)")
    p.add_argument("--config", metavar="PATH", type=Path,
                   help="suite config (default: configs/suites.yaml)")
    p.add_argument("--confirm", action="store_true",
                   help="list the inconclusive series the confirm stage should rerun")
    p.add_argument("--confirmed", action="store_true",
                   help="the results hold the confirm stage's extra samples: decide with "
                        "the 99 %% interval")
    cli_results.add_arguments(p)
    p.set_defaults(func=run_gate)


def _suite(args: argparse.Namespace) -> tuple[Any, Any]:
    if args.suite is None:
        if args.env is not None:
            from .errors import UserError

            raise UserError("--env needs --suite")
        return None, None
    from . import suite_config
    from .cli_config import find_config
    from .run import benchmark_params, find_asv_conf, read_asv_conf

    path = args.config or find_config()
    resolved = suite_config.resolve(suite_config.load(path), args.suite, env=args.env)
    conf_path = find_asv_conf(path.resolve().parent)
    conf = read_asv_conf(conf_path)
    bench_dir = conf_path.parent / conf.get("benchmark_dir", "benchmarks")
    return resolved, benchmark_params(bench_dir)


def run_gate(args: argparse.Namespace) -> int:
    from . import cli_results, report, results
    from .compare import resolve_ref
    from .errors import UserError
    from .output import emit

    if args.against and args.base:
        raise UserError("give BASE or --against NAME, not both")
    if not (args.against or args.base):
        raise UserError("give BASE (a commit or baseline name) or --against NAME")
    if args.confirm and args.confirmed:
        raise UserError("--confirm lists what to rerun; --confirmed decides after the rerun: "
                        "use one")
    resolved, bench_params = _suite(args)
    loaded = cli_results.load(args)
    base = resolve_ref(loaded.rows, args.against or args.base, args.baselines)
    head = resolve_ref(loaded.rows, args.head, args.baselines)
    doc = gate(loaded.rows, base, head, repo=args.repo, resolved=resolved,
               bench_params=bench_params, confirmed=args.confirmed,
               suite_benchmarks=results.benchmark_names(loaded.results_dir))
    if args.confirm:
        fmt = "json" if args.format == "json" else "text"
        emit(render_confirm(confirm_list(doc), fmt), args.output)
        return 0
    emit(report.render(doc, args.format), args.output)
    return 1 if doc.verdict == "fail" else 0
