"""``benchwatch continuous [BASE] [HEAD]``: the PR check, the same locally and in CI.

1. ``asv continuous --interleave-rounds`` over BASE and HEAD with the suite's selection
   and attributes (through the suite's derived asv config, as ``benchwatch run`` does),
   so results land in ``.asv/results/<suite>-<env>/`` and never mix with other suites;
2. the gate (``benchwatch.gate``) on the result files asv wrote -- never asv's own
   verdict or exit code;
3. the confirm stage: the inconclusive series are run again for BASE and HEAD with more
   rounds, their samples appended (``asv run --append-samples``), within a time budget,
   and the gate decides on all the samples (``--confirmed``);
4. the report: the same markdown a PR comment shows, or text/JSON.

The action's ``pr`` mode calls exactly this command. Run on a laptop, it gives the
verdict CI would give with the ``local`` environment's settings.
"""

from __future__ import annotations

import argparse
import json
import math
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .errors import UserError

#: Rounds of the confirm stage, at most; fewer when the time budget says so.
MAX_CONFIRM_ROUNDS = 6


@dataclass(frozen=True)
class Plan:
    """Everything ``continuous`` runs, resolved before anything runs."""

    resolved: Any
    conf_path: Path
    conf: dict
    repo: Path
    machine: str
    base: str
    head: str
    regexes: tuple[str, ...]
    attrs: tuple[str, ...]
    bench_params: dict


def default_base(repo: Path, head: str, branches: Sequence[str]) -> str:
    """The merge base of HEAD with the first of asv's ``branches`` (the PR's base);
    HEAD's parent when HEAD is on that branch already."""
    from .run import git_rev

    for branch in branches or ["main"]:
        proc = subprocess.run(["git", "merge-base", branch, head], cwd=repo,
                              capture_output=True, text=True, check=False)
        if proc.returncode == 0:
            base = proc.stdout.strip()
            if base != git_rev(repo, head):
                return base
            break
    return git_rev(repo, head + "~1")


def plan(args: argparse.Namespace) -> Plan:
    from . import suite_config
    from .cli_config import find_config
    from .run import (benchmark_params, bench_regexes, asv_attributes, default_machine,
                      derived_config, find_asv_conf, git_rev, select)

    config_path = args.config or find_config()
    resolved = suite_config.resolve(suite_config.load(config_path), args.suite, env=args.env)
    asv_conf = (args.asv_config or find_asv_conf()).resolve()
    conf_path, conf = derived_config(asv_conf, resolved.name, resolved.version, args.env)
    repo = Path(conf["repo"])
    params = benchmark_params(Path(conf["benchmark_dir"]))
    selections = select(resolved, params)
    if not selections:
        raise UserError(f"suite {resolved.name}:{resolved.version} selects no benchmark",
                        path=str(config_path))
    head = git_rev(repo, args.head)
    base = git_rev(repo, args.base) if args.base else default_base(
        repo, head, conf.get("branches") or ["main"])
    if base == head:
        raise UserError(f"BASE and HEAD are the same commit ({head[:12]})")
    return Plan(resolved, conf_path, conf, repo, args.machine or default_machine(), base, head,
                tuple(bench_regexes(selections)),
                tuple(asv_attributes(resolved, selections, args.quick)), params)


def continuous_command(p: Plan, asv: str, quick: bool) -> list[str]:
    cmd = [asv, "continuous", "--config", str(p.conf_path), "--machine", p.machine,
           "--interleave-rounds", "--record-samples", "--show-stderr"]
    for regex in p.regexes:
        cmd += ["--bench", regex]
    if quick:
        cmd.append("--quick")
    return cmd + list(p.attrs) + [p.base, p.head]


def confirm_command(p: Plan, asv: str, regexes: Sequence[str], rounds: int,
                    hashfile: Path) -> list[str]:
    cmd = [asv, "run", "--config", str(p.conf_path), "--machine", p.machine,
           "--append-samples", "--interleave-rounds", "--show-stderr", "-a", f"rounds={rounds}"]
    for regex in regexes:
        cmd += ["--bench", regex]
    return cmd + list(p.attrs) + [f"HASHFILE:{hashfile}"]


def confirm_rounds(needs: Sequence[Any], durations: dict[str, float], budget_s: float,
                   rounds_so_far: int = 4) -> int:
    """Rounds for the confirm stage: enough for the neediest series (samples per side
    over samples per round so far), at most ``MAX_CONFIRM_ROUNDS``, and no more than the
    budget allows at the measured cost per round (asv's recorded durations)."""
    want = 2
    for need in needs:
        c = need.comparison
        per_round = max(1.0, max(c.n_before, c.n_after) / rounds_so_far)
        want = max(want, math.ceil(need.extra_samples / per_round))
    want = min(want, MAX_CONFIRM_ROUNDS)
    cost_per_round = 2 * sum(durations.get(n.comparison.benchmark, 0.0) for n in needs) \
        / max(1, rounds_so_far)
    if cost_per_round > 0:
        want = min(want, max(1, int(budget_s // cost_per_round)))
    return want


def run_continuous(args: argparse.Namespace) -> int:
    from . import fingerprint, gate, report, results
    from .output import emit, write_atomically
    from .run import _stream, asv_executable

    if args.confirm_budget < 0:
        raise UserError("--confirm-budget must be zero or more seconds")
    p = plan(args)
    asv = asv_executable()
    if args.dry_run:
        lines = [f"suite {p.resolved.name}:{p.resolved.version} env {args.env} "
                 f"machine {p.machine}", f"base {p.base}", f"head {p.head}",
                 f"derived asv config: {p.conf_path}",
                 "$ " + shlex.join(continuous_command(p, asv, args.quick))]
        emit("\n".join(lines) + "\n", args.output)
        return 0
    p.conf_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(p.conf_path, json.dumps(p.conf, indent=4) + "\n")
    if _stream([asv, "machine", "--yes", "--machine", p.machine, "--config", str(p.conf_path)],
               p.repo) != 0:
        raise UserError(f"'asv machine' failed for machine {p.machine!r}")
    fingerprint.stamp_machine(p.machine, fingerprint.host_facts())
    started = time.monotonic()
    _stream(continuous_command(p, asv, args.quick), p.repo)  # asv's verdict is not ours
    results_dir = Path(p.conf["results_dir"])

    def decide(confirmed: bool):
        loaded = results.load(results_dir, machine=p.machine) if results_dir.is_dir() else None
        if loaded is None or not any(r.commit == p.head for r in loaded.rows) \
                or not any(r.commit == p.base for r in loaded.rows):
            raise UserError(f"asv wrote no results for both {p.base[:8]} and {p.head[:8]} in "
                            f"{results_dir}/{p.machine}; see asv's output above")
        return gate.gate(loaded.rows, p.base, p.head, resolved=p.resolved,
                         bench_params=p.bench_params, confirmed=confirmed,
                         suite_benchmarks=results.benchmark_names(results_dir))

    doc = decide(False)
    needs = gate.confirm_list(doc)
    notes = [f"asv continuous: {time.monotonic() - started:.0f} s"]
    if needs and not args.no_confirm and not args.quick:
        rounds = confirm_rounds(needs, results.benchmark_durations(
                                    results_dir, p.machine, p.head),
                                args.confirm_budget)
        print(f"benchwatch: confirm stage: {len(needs)} inconclusive series, {rounds} more "
              "rounds for BASE and HEAD", file=sys.stderr)
        hashfile = p.conf_path.parent / "confirm-commits.txt"
        write_atomically(hashfile, f"{p.base}\n{p.head}\n")
        regexes = sorted({gate.bench_regex(n.comparison) for n in needs})
        t0 = time.monotonic()
        _stream(confirm_command(p, asv, regexes, rounds, hashfile), p.repo)
        doc = decide(True)
        notes.append(f"confirm stage: {len(needs)} series, {rounds} rounds, "
                     f"{time.monotonic() - t0:.0f} s")
    from dataclasses import replace

    doc = replace(doc, notes=tuple(notes))
    if args.json_output:
        emit(report.render(doc, "json"), args.json_output)
    if args.markdown_output:
        emit(report.render(doc, "markdown"), args.markdown_output)
    emit(report.render(doc, args.format), args.output)
    return 1 if doc.verdict == "fail" else 0


EPILOG = """\
BASE defaults to the merge base of HEAD with asv's first branch (main), or HEAD's parent
when HEAD is on main. The suite's derived asv config keeps results under
.asv/results/<suite>-<env>/. asv's own verdict and exit code are ignored: benchwatch
gates on the result files (site/gate.md).

examples:
  benchwatch continuous                              my branch against main, ci-fast, local
  benchwatch continuous main HEAD --env ci           what the PR check runs
  benchwatch continuous HEAD~1 HEAD --format text --json-output gate.json
  benchwatch continuous --dry-run                    the asv command, nothing run

exit codes: 0 pass, 1 regression or SLA breach, 2 usage, config or data error.
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "continuous", help="asv continuous + confirm stage + gate: the PR check, locally",
        description="Benchmark BASE and HEAD with asv continuous (interleaved rounds), rerun "
                    "inconclusive series with more rounds, gate, and print the PR comment.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", nargs="?", metavar="BASE", help="base commit (default: merge base)")
    p.add_argument("head", nargs="?", default="HEAD", metavar="HEAD",
                   help="head commit (default: HEAD)")
    p.add_argument("--suite", default="ci-fast", metavar="NAME[:VERSION]",
                   help="suite of configs/suites.yaml (default: ci-fast)")
    p.add_argument("--env", default="local", metavar="ENV",
                   help="the suite's environment (default: local; the action passes ci)")
    p.add_argument("--machine", metavar="NAME",
                   help="asv machine name (default: benchwatch-<hostname>)")
    p.add_argument("--quick", action="store_true",
                   help="asv --quick: one sample each (a smoke test; never gates honestly)")
    p.add_argument("--no-confirm", action="store_true", help="skip the confirm stage")
    p.add_argument("--confirm-budget", type=float, default=600.0, metavar="SECONDS",
                   help="time budget of the confirm stage (default: 600)")
    p.add_argument("--format", choices=("markdown", "text", "json"), default="markdown",
                   help="report on stdout (default: markdown, as the PR comment shows it)")
    p.add_argument("--output", metavar="FILE", type=Path, help="write the report to FILE")
    p.add_argument("--json-output", metavar="FILE", type=Path,
                   help="also write the gate's JSON verdict document to FILE")
    p.add_argument("--markdown-output", metavar="FILE", type=Path,
                   help="also write the markdown report to FILE")
    p.add_argument("--config", metavar="PATH", type=Path,
                   help="suite config file (default: configs/suites.yaml)")
    p.add_argument("--asv-config", metavar="PATH", type=Path,
                   help="the repository's asv.conf.json (default: nearest one upward)")
    p.add_argument("--dry-run", action="store_true", help="print the plan and the asv command")
    p.set_defaults(func=run_continuous)
