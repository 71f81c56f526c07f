"""``benchwatch run``: run one suite of ``configs/suites.yaml`` with asv and gate its SLAs.

1. Resolve the suite for an environment (``suite_config.resolve``).
2. Turn each entry's ``select`` regex and parameter lists into ``asv run --bench``
   regexes (asv searches them in ``name`` or ``name(p0, p1, ...)``, each ``p`` the repr of
   a parameter value).
3. Write a derived asv config whose ``results_dir`` is ``.asv/results/<suite>-<env>``, so
   results of different suites and environments never mix.
4. Run ``asv machine``, add the CPU governor to the machine's entry
   (``benchwatch.fingerprint``), and run ``asv run`` (output streamed to stderr). asv's exit code is not
   the verdict: ``asv run`` exits 2 whenever any benchmark errored.
5. Read the results written for the head commit (``benchwatch.results``) and check every
   entry's ``success_criteria``: pass, fail or missing (no result is never a pass).

site/run.md documents the mapping, the isolation and the output.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

# suite parameter list -> asv param names it restricts (see site/run.md)
PARAM_MAP: dict[str, tuple[str, ...]] = {
    "input_sizes": ("input_size", "size"),
    "batch_sizes": ("batch",),
    "concurrency_levels": ("concurrency", "threads"),
    "iteration_counts": ("iterations",),
}

# criterion -> (direction, how a benchmark method qualifies, unit of the limit)
CRITERIA: dict[str, tuple[str, str, str]] = {
    "max_latency_p50": ("max", "track_latency_p50_ns", "ns"),
    "max_latency_p95": ("max", "track_latency_p95_ns", "ns"),
    "max_latency_p99": ("max", "track_latency_p99_ns", "ns"),
    "min_throughput": ("min", "track_throughput_ops_s", "ops/s"),
    "max_memory_usage": ("max", "peakmem_*", "bytes"),
    "max_cpu_usage": ("max", "track_cpu_percent", "%"),
}


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class BenchParams:
    """A benchmark's asv parameters: names and, per axis, the values' repr strings."""

    names: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Selection:
    """One benchmark selected by one suite entry, with the parameter values kept per axis."""

    entry: str
    benchmark: str
    param_names: tuple[str, ...]
    values: tuple[tuple[str, ...], ...]  # () for a plain benchmark

    def matches(self, params: tuple[str, ...]) -> bool:
        return len(params) == len(self.values) and all(
            p in allowed for p, allowed in zip(params, self.values))


def benchmark_params(benchmark_dir: Path) -> dict[str, BenchParams]:
    """Every benchmark's param names and value reprs, found by importing the modules
    the way ``benchmarks_index.discover`` (and asv) does; nothing is run."""
    from . import benchmarks_index as bi

    names = bi.discover(benchmark_dir)
    out: dict[str, BenchParams] = {}
    with bi.importable(benchmark_dir) as package:
        for name in names:
            holders = _holders(package, name)
            func, owner = holders[-1], holders[-2]
            params = _first_attr((func, owner), "params", [])
            pnames = _first_attr((func, owner), "param_names", [])
            if params and not isinstance(params[0], (list, tuple)):
                params = [params]  # asv: a single list is one parameter
            if not params:
                out[name] = BenchParams((), ())
                continue
            pnames = list(pnames) + [f"param{i + 1}" for i in range(len(pnames), len(params))]
            out[name] = BenchParams(tuple(pnames[:len(params)]),
                                    tuple(tuple(_asv_repr(v) for v in axis) for axis in params))
    return out


def _holders(package: str, name: str) -> list[Any]:
    """[module, (class,) function] for a discovered ``module[.sub].Class.method`` name."""
    import importlib

    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join([package, *parts[:cut]]))
        except ImportError:
            continue
        holders = [obj]
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
            holders.append(obj)
        return holders
    raise UserError(f"cannot import the module of benchmark {name!r}")  # pragma: no cover


def _first_attr(objs: Iterable[Any], attr: str, default: Any) -> Any:
    for obj in objs:
        if hasattr(obj, attr):
            return getattr(obj, attr)
    return default


def _asv_repr(value: Any) -> str:
    """asv's ``_repr_no_address``: repr without a memory address."""
    return re.sub(r" at 0x[0-9a-fA-F]+", "", repr(value))


def select(resolved: Any, bench_params: dict[str, BenchParams]) -> list[Selection]:
    """The benchmarks each suite entry runs, in suite then name order.

    A suite parameter restricts the asv params it maps to (``PARAM_MAP``); a benchmark
    without such a param is not restricted; one whose values intersect nothing is dropped.
    """
    out: list[Selection] = []
    for entry in resolved.benchmarks:
        pattern = re.compile(entry.select)
        wanted: dict[str, set[str]] = {}
        for key, asv_names in PARAM_MAP.items():
            values = getattr(entry.parameters, key, None)
            if values is not None:
                for asv_name in asv_names:
                    wanted[asv_name] = {_asv_repr(v) for v in values}
        for name in sorted(bench_params):
            if not pattern.search(name):
                continue
            bp = bench_params[name]
            axes = []
            for pname, values in zip(bp.names, bp.values):
                keep = tuple(v for v in values if pname not in wanted or v in wanted[pname])
                axes.append(keep)
            if any(not axis for axis in axes):
                continue
            out.append(Selection(entry.name, name, bp.names, tuple(axes)))
    return out


def bench_regexes(selections: Sequence[Selection]) -> list[str]:
    """``asv run --bench`` regexes: one per (class, parameter subset), methods grouped.

    ``^mod\\.Class\\.(?:track_a|track_b)\\((?:10|100), (?:1)\\)$`` matches asv's
    ``name(p0, p1)`` form exactly; a plain benchmark is ``^name$``.
    """
    groups: dict[tuple[str, str], list[str]] = {}
    for sel in selections:
        prefix, _, method = sel.benchmark.rpartition(".")
        if sel.values:
            tail = r"\(" + ", ".join(
                "(?:" + "|".join(re.escape(v) for v in axis) + ")" for axis in sel.values
            ) + r"\)$"
        else:
            tail = "$"
        methods = groups.setdefault((prefix, tail), [])
        if method not in methods:
            methods.append(method)
    out = []
    for (prefix, tail), methods in groups.items():
        head = "^" + (re.escape(prefix) + r"\." if prefix else "")
        body = methods[0] if len(methods) == 1 else "(?:" + "|".join(methods) + ")"
        regex = head + body + tail
        if regex not in out:
            out.append(regex)
    return out


def asv_attributes(resolved: Any, selections: Sequence[Selection], quick: bool) -> list[str]:
    """``-a`` options: ``repeat`` = the largest ``sample_size`` of the entries that run
    something, ``warmup_time=0`` when every such entry sets ``warm_up_iterations: 0``,
    ``timeout`` = the largest ``timeout_seconds``. ``--quick`` drops repeat and warm-up."""
    used = {s.entry for s in selections}
    params = [e.parameters for e in resolved.benchmarks if e.name in used]
    attrs = []
    if not quick:
        sizes = [p.sample_size for p in params if p.sample_size is not None]
        if sizes:
            attrs.append(f"repeat={max(sizes)}")
        warm = [p.warm_up_iterations for p in params if p.warm_up_iterations is not None]
        if warm and max(warm) == 0:
            attrs.append("warmup_time=0")
    timeouts = [p.timeout_seconds for p in params if p.timeout_seconds is not None]
    if timeouts:
        attrs.append(f"timeout={max(timeouts):g}")
    return [x for a in attrs for x in ("-a", a)]


# --------------------------------------------------------------------------- asv config


def read_asv_conf(path: Path | str) -> dict:
    """asv.conf.json as asv 0.6 reads it (json5: ``//`` comments and trailing commas
    allowed); ``UserError`` naming the file when it cannot be read or is no object.
    The one reader of asv configs in benchwatch."""
    import json5

    try:
        conf = json5.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read asv config ({exc})", path=str(path)) from None
    if not isinstance(conf, dict):
        raise UserError("asv config is not a JSON object", path=str(path))
    return conf


def suite_slug(name: str, env: str) -> str:
    return f"{name}-{env}"


def derived_config(asv_conf: Path, suite: str, version: str, env: str) -> tuple[Path, dict]:
    """(path, content) of the per-suite asv config: the repo's config with results and
    html isolated under ``.asv/results/<suite>-<env>``, every path absolute."""
    asv_conf = Path(asv_conf).resolve()
    root = asv_conf.parent
    conf = read_asv_conf(asv_conf)
    slug = suite_slug(suite, env)
    conf["repo"] = str((root / conf.get("repo", ".")).resolve())
    conf["benchmark_dir"] = str((root / conf.get("benchmark_dir", "benchmarks")).resolve())
    conf["env_dir"] = str((root / conf.get("env_dir", ".asv/env")).resolve())
    conf["results_dir"] = str(root / ".asv" / "results" / slug)
    conf["html_dir"] = str(root / ".asv" / "html" / slug)
    path = root / ".asv" / "suites" / f"{suite}-{version}-{env}" / "asv.conf.json"
    return path, conf


def find_asv_conf(start: Path | None = None) -> Path:
    from .paths import find_upwards

    found = find_upwards("asv.conf.json", start)
    if found is None:
        here = (start or Path.cwd()).resolve()
        raise UserError(f"no asv.conf.json in {here} or its parents; pass --asv-config")
    return found.resolve()


def asv_executable() -> str:
    candidate = Path(sys.executable).parent / "asv"
    if candidate.is_file():
        return str(candidate)
    import shutil

    found = shutil.which("asv")
    if found is None:
        raise UserError("asv is not installed next to this Python nor on PATH")
    return found


def asv_commands(asv: str, config: Path, machine: str, regexes: Sequence[str],
                 attrs: Sequence[str], quick: bool, ranges: Sequence[str],
                 asv_env: str | None = None, commit: str | None = None,
                 skip_existing: bool = False) -> list[list[str]]:
    machine_cmd = [asv, "machine", "--yes", "--machine", machine, "--config", str(config)]
    run_cmd = [asv, "run", "--config", str(config), "--machine", machine]
    for regex in regexes:
        run_cmd += ["--bench", regex]
    if quick:
        run_cmd.append("--quick")
    run_cmd += list(attrs)
    run_cmd.append("--show-stderr")
    if skip_existing:
        # asv saves a commit's results once its benchmark set is done: after a killed
        # run, what earlier runs saved is kept and only the rest is run
        run_cmd.append("--skip-existing")
    if asv_env is not None:
        # an existing environment takes no range; results are filed under the commit
        run_cmd += ["-E", asv_env, "--set-commit-hash", commit or "HEAD"]
    else:
        run_cmd += list(ranges) or ["HEAD^!"]
    return [machine_cmd, run_cmd]


def head_of(ranges: Sequence[str]) -> str:
    """The git revision whose results are gated: the tip of the last RANGE."""
    spec = ranges[-1] if ranges else "HEAD^!"
    spec = spec.removesuffix("^!")
    if ".." in spec:
        spec = spec.split("..")[-1].lstrip(".")
    return spec or "HEAD"


def git_rev(repo: Path, rev: str) -> str:
    try:
        proc = subprocess.run(["git", "rev-parse", "--verify", "--quiet", rev + "^{commit}"],
                              cwd=repo, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UserError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode != 0:
        raise UserError(f"not a commit in {repo}: {rev!r}")
    return proc.stdout.strip()


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Check:
    """One (entry, criterion) row of the table."""

    entry: str
    criterion: str
    limit: float
    unit: str
    observed: float | None  # the worst value seen, None when missing
    where: str | None  # benchmark(params) of the worst value
    status: str  # "pass", "fail" or "missing"


@dataclass(frozen=True)
class Verdict:
    suite: str
    version: str
    environment: str
    machine: str
    commit: str | None
    checks: tuple[Check, ...]
    min_success_rate: float

    @property
    def success_rate(self) -> float | None:
        if not self.checks:
            return None
        return sum(c.status == "pass" for c in self.checks) / len(self.checks)

    @property
    def passed(self) -> bool:
        rate = self.success_rate
        return not any(c.status == "fail" for c in self.checks) and (
            rate is None or rate >= self.min_success_rate)

    def to_dict(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "version": self.version, "environment": self.environment,
            "machine": self.machine, "commit": self.commit,
            "checks": [{"entry": c.entry, "criterion": c.criterion, "limit": c.limit,
                        "unit": c.unit, "observed": c.observed, "benchmark": c.where,
                        "status": c.status} for c in self.checks],
            "passed": sum(c.status == "pass" for c in self.checks),
            "failed": sum(c.status == "fail" for c in self.checks),
            "missing": sum(c.status == "missing" for c in self.checks),
            "success_rate": self.success_rate,
            "min_success_rate": self.min_success_rate,
            "verdict": "pass" if self.passed else "fail",
        }


def _qualifies(method: str, pattern: str) -> bool:
    if pattern.endswith("*"):
        return method.startswith(pattern[:-1])
    return method == pattern


def evaluate(resolved: Any, selections: Sequence[Selection], rows: Iterable[Any]) -> list[Check]:
    """Each entry's success criteria against ``rows`` (already the head commit's)."""
    rows = list(rows)
    checks = []
    for entry in resolved.benchmarks:
        mine = [s for s in selections if s.entry == entry.name]
        criteria = entry.success_criteria.to_dict()
        for criterion, (direction, pattern, unit) in CRITERIA.items():
            if criterion not in criteria:
                continue
            limit = float(criteria[criterion])
            observed = [
                r for r in rows
                if r.ok and _qualifies(r.benchmark.rpartition(".")[2], pattern)
                and any(s.benchmark == r.benchmark and s.matches(r.params) for s in mine)
            ]
            if not observed:
                checks.append(Check(entry.name, criterion, limit, unit, None, None, "missing"))
                continue
            pick = max if direction == "max" else min
            worst = pick(observed, key=lambda r: r.value)
            ok = worst.value <= limit if direction == "max" else worst.value >= limit
            checks.append(Check(entry.name, criterion, limit, unit, worst.value, worst.label(),
                                "pass" if ok else "fail"))
    return checks


# --------------------------------------------------------------------------- rendering


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def _footer(v: Verdict) -> str:
    d = v.to_dict()
    rate = "n/a (no criteria)" if v.success_rate is None else f"{v.success_rate:.2f}"
    return (f"{d['passed']} passed, {d['failed']} failed, {d['missing']} missing; "
            f"success rate {rate} (min {v.min_success_rate:g}): {d['verdict'].upper()}")


def render(v: Verdict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(v.to_dict(), indent=2) + "\n"
    header = ["entry", "criterion", "limit", "observed", "benchmark", "status"]
    body = [[c.entry, c.criterion, f"{_num(c.limit)} {c.unit}",
             "-" if c.observed is None else f"{_num(c.observed)} {c.unit}",
             c.where or "-", c.status.upper() if c.status == "fail" else c.status]
            for c in v.checks]
    title = (f"suite {v.suite}:{v.version} env {v.environment} machine {v.machine} "
             f"commit {(v.commit or '?')[:12]}")
    if fmt == "markdown":
        lines = [f"### {title}", "", "| " + " | ".join(header) + " |",
                 "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |"
                  for row in body]
        return "\n".join(lines + ["", f"**{_footer(v)}**"]) + "\n"
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(header)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in body]
    return "\n".join(lines + [_footer(v)]) + "\n"


def render_dry_run(selections: Sequence[Selection], commands: Sequence[Sequence[str]],
                   config_path: Path, results_dir: str) -> str:
    lines = [f"derived asv config: {config_path}", f"results dir: {results_dir}",
             "selection:"]
    for sel in selections:
        params = "" if not sel.values else " " + ", ".join(
            f"{n}=[{', '.join(vals)}]" for n, vals in zip(sel.param_names, sel.values))
        lines.append(f"  {sel.entry}: {sel.benchmark}{params}")
    if not selections:
        lines.append("  (nothing)")
    lines.append("commands:")
    lines += ["  " + shlex.join(cmd) for cmd in commands]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command


def _stream(cmd: Sequence[str], cwd: Path) -> int:
    print("$ " + shlex.join(cmd), file=sys.stderr, flush=True)
    try:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
    except OSError as exc:
        raise UserError(f"cannot run {cmd[0]}: {exc.strerror}") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stderr.write(line)
        sys.stderr.flush()
    return proc.wait()


def default_machine() -> str:
    return f"benchwatch-{socket.gethostname()}"


def run_command(args: argparse.Namespace) -> int:
    from . import suite_config
    from .cli_config import find_config
    from .output import emit, write_atomically

    config_path = args.config or find_config()
    resolved = suite_config.resolve(suite_config.load(config_path), args.suite,
                                    env=args.env)
    asv_conf = (args.asv_config or find_asv_conf()).resolve()
    conf_path, conf = derived_config(asv_conf, resolved.name, resolved.version, args.env)
    repo = Path(conf["repo"])
    selections = select(resolved, benchmark_params(Path(conf["benchmark_dir"])))
    for entry in resolved.benchmarks:
        if not any(s.entry == entry.name for s in selections):
            print(f"benchwatch: warning: entry {entry.name!r} selects no benchmark with "
                  "its parameters", file=sys.stderr)
    machine = args.machine or default_machine()
    regexes = bench_regexes(selections)
    attrs = asv_attributes(resolved, selections, args.quick)
    commit = None if args.dry_run else git_rev(repo, head_of(args.range))
    commands = asv_commands(asv_executable(), conf_path, machine, regexes, attrs, args.quick,
                            args.range, args.asv_env, commit, args.skip_existing)
    if args.dry_run:
        emit(render_dry_run(selections, commands, conf_path, conf["results_dir"]), args.output)
        return 0
    if not selections:
        raise UserError(f"suite {resolved.name}:{resolved.version} selects no benchmark",
                        path=str(config_path))

    conf_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(conf_path, json.dumps(conf, indent=4) + "\n")
    if _stream(commands[0], repo) != 0:
        raise UserError(f"'asv machine' failed for machine {machine!r}", path=str(conf_path))
    from . import fingerprint

    fingerprint.stamp_machine(machine, fingerprint.host_facts())
    code = _stream(commands[1], repo)  # 2 just means some benchmark errored

    from . import results

    loaded = results.load(conf["results_dir"], machine=machine, commit=commit) \
        if Path(conf["results_dir"]).is_dir() else None
    if loaded is None or not loaded.rows:
        raise UserError(f"asv run exited {code} and wrote no results for {commit[:12]} "
                        f"in {conf['results_dir']}/{machine}")
    for problem in loaded.problems:
        print(f"benchwatch: warning: {problem}", file=sys.stderr)
    verdict = Verdict(resolved.name, resolved.version, args.env, machine, commit,
                      tuple(evaluate(resolved, selections, loaded.rows)),
                      resolved.gates.min_success_rate)
    emit(render(verdict, args.format), args.output)
    return 0 if verdict.passed else 1


RUN_EPILOG = """\
Runs one suite version with asv and checks its success criteria (SLAs) against the
results written for the head commit. Results go to .asv/results/<suite>-<env>/ through
a derived asv config (.asv/suites/<suite>-<version>-<env>/asv.conf.json), so suites and
environments never mix. asv's output is streamed to stderr; the table goes to stdout.

exit codes: 0 every criterion passed (and the success rate meets min_success_rate),
1 a criterion failed or too few passed (missing results never pass), 2 usage/config error.

examples:
  benchwatch run ci-fast --env ci --quick
  benchwatch run production-comprehensive:1.0.0 --env production HEAD~3..HEAD
  benchwatch run ci-fast --dry-run
  benchwatch run ci-fast --env ci --skip-existing     resume after a killed run
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="run a benchmark suite with asv and check its SLAs",
        description="Run one benchmark suite of configs/suites.yaml with asv and print a "
                    "pass/fail table of its success criteria.",
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("suite", metavar="SUITE[:VERSION]", help="suite name, optionally a version")
    p.add_argument("range", nargs="*", metavar="RANGE",
                   help="asv commit range(s) (default: HEAD^!); the last one's tip is gated")
    p.set_defaults(trailing_positionals="range")
    p.add_argument("--env", default="local", metavar="ENV",
                   help="suite environment whose overrides apply (default: local)")
    p.add_argument("--machine", metavar="NAME",
                   help="asv machine name (default: benchwatch-<hostname>)")
    p.add_argument("--quick", action="store_true",
                   help="asv --quick: each benchmark once, no repeat/warm-up attributes")
    p.add_argument("--dry-run", action="store_true",
                   help="print the selection and the asv commands; run nothing")
    p.add_argument("--skip-existing", action="store_true",
                   help="asv --skip-existing: benchmarks that already have a result for "
                        "the commit are not run again (resume a killed run)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--output", metavar="FILE", type=Path,
                   help="write the table to FILE (atomically) instead of stdout")
    p.add_argument("--config", metavar="PATH", type=Path,
                   help="suite config file (default: configs/suites.yaml)")
    p.add_argument("--asv-config", metavar="PATH", type=Path,
                   help="the repository's asv.conf.json (default: nearest one upward)")
    p.add_argument("--asv-env", metavar="SPEC",
                   help="asv -E environment spec, e.g. 'existing:/usr/bin/python3'; the head "
                        "commit is recorded with --set-commit-hash")
    p.set_defaults(func=run_command)
