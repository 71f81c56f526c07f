"""``benchwatch configs compare``: run engine-configuration variants through asv and
report their impact against a baseline.

Not to be confused with ``benchwatch config`` (``cli_config``), which validates and
shows the *suite* config (``configs/suites.yaml``). ``configs compare`` is the
*engine-variant experiment* of ``configs/variants.yaml``.

1. Load the variants (``benchwatch.variants``).
2. Derive ONE asv config from asv.conf.json whose environments are exactly the
   variants: the matrix's cartesian product is excluded whole (an ``exclude`` rule
   matching every Python) and each variant is an ``include`` rule holding the
   matrix's single values with the variant's settings applied. ENGINE_* and NUMBA_*
   are ``env_nobuild`` variables, so every variant shares one environment
   directory and one build. Each variant's asv environment name is the one asv
   itself computes (``asv.environment.get_environments`` on the derived config).
3. Run the accuracy probe once per variant (``benchwatch._variant_probe``).
4. ``asv run --interleave-rounds --record-samples`` over ``COMMIT^!`` with the
   suite's ``--bench`` regexes (``benchwatch.run.select`` and ``bench_regexes``):
   round 1 of every variant, then round 2 of every variant, ..., so a slow phase of
   the machine hits all variants alike. Results go to asv.conf.json's own
   ``results_dir``, one file per variant environment, tracked like any other run.
5. Read them back with ``benchwatch.results.load`` and analyse them
   (``benchwatch.config_impact``). ``--no-run`` skips step 4 (re-analysis).

site/configs-compare.md documents the derivation, the statistics and the JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

#: Keys of asv.conf.json the derivation owns: a configuration experiment replaces them.
EXCLUDE_ALL = {"python": ".*"}


@dataclass(frozen=True)
class VariantEnv:
    """A variant as asv will run it: every setting (matrix defaults plus the
    variant's own), the settings it changes, and asv's name for its environment."""

    name: str
    description: str
    env: Mapping[str, str]
    changes: Mapping[str, str]
    asv_env: str
    line: int


@dataclass(frozen=True)
class DerivedConfig:
    """The derived asv config (not yet written), where it goes, and its variants."""

    path: Path
    conf: dict[str, Any]
    results_dir: Path
    variants: tuple[VariantEnv, ...]

    def envs(self) -> dict[str, str]:
        """variant name -> asv environment name, in file order."""
        return {v.name: v.asv_env for v in self.variants}


# --------------------------------------------------------------------------- derivation


def _single_values(conf: dict[str, Any], asv_conf: Path) -> tuple[str, dict, dict, dict]:
    """(python, req, build env, nobuild env) with the one value each entry of the
    matrix lists; parsed by asv's own matrix parser (old and new styles)."""
    from asv import environment as asv_environment

    pythons = conf.get("pythons") or [f"{sys.version_info[0]}.{sys.version_info[1]}"]
    if not isinstance(pythons, list) or len(pythons) != 1:
        raise UserError(f"'pythons' lists {len(pythons) if isinstance(pythons, list) else 0} "
                        "versions; a configuration experiment runs on one, list one",
                        path=str(asv_conf))
    try:
        parsed = asv_environment._parse_matrix(conf.get("matrix") or {})
    except Exception as exc:  # noqa: BLE001 - asv raises its own UserError type
        raise UserError(f"asv cannot read 'matrix': {exc}", path=str(asv_conf)) from None
    sections: dict[str, dict[str, Any]] = {"req": {}, "env": {}, "env_nobuild": {}}
    for (kind, key), values in parsed.items():
        values = values if isinstance(values, list) else [values]
        values = values or [""]
        if len(values) != 1:
            raise UserError(f"matrix {kind} {key!r} lists {len(values)} values; a "
                            "configuration experiment starts from one (the default) and "
                            "sets the rest per variant", path=str(asv_conf))
        sections[kind][key] = values[0]
    return str(pythons[0]), sections["req"], sections["env"], sections["env_nobuild"]


def derive(asv_conf: Path, variants: Any) -> DerivedConfig:
    """The one asv config whose environments are exactly ``variants`` (a
    ``benchwatch.variants.Variants``), every path absolute, results in asv.conf.json's
    own ``results_dir``."""
    from . import run

    asv_conf = Path(asv_conf).resolve()
    stem = Path(variants.path).stem
    _, conf = run.derived_config(asv_conf, f"configs-{stem}", "variants", "local")
    original = run.read_asv_conf(asv_conf)
    results_dir = (asv_conf.parent / original.get("results_dir", "results")).resolve()
    conf["results_dir"] = str(results_dir)
    python, req, build, nobuild = _single_values(conf, asv_conf)
    rules, fulls = [], {}
    for v in variants.variants:
        b, nb = dict(build), dict(nobuild)
        for key, value in v.env:
            (b if key in build else nb)[key] = value  # a build variable stays one
        rule: dict[str, Any] = {"python": python}
        for section, values in (("req", req), ("env", b), ("env_nobuild", nb)):
            if values:
                rule[section] = values
        rules.append(rule)
        fulls[v.name] = {**b, **nb}
    conf["exclude"] = [dict(EXCLUDE_ALL)]
    conf["include"] = rules
    seen: dict[tuple, Any] = {}
    for v in variants.variants:
        key = tuple(sorted(fulls[v.name].items()))
        if key in seen:
            raise UserError(f"variant {v.name!r} runs with exactly the settings of "
                            f"{seen[key].name!r} (line {seen[key].line}) once the matrix "
                            f"defaults of {asv_conf} apply", path=variants.path, line=v.line)
        seen[key] = v
    names = asv_env_names(conf)
    out = []
    for v in variants.variants:
        match = [n for n, env in names.items() if env == fulls[v.name]]
        if len(match) != 1:
            raise UserError(f"asv made {len(match)} environments for variant {v.name!r} "
                            f"(python {python}: is it installed and is 'virtualenv' "
                            "available?)", path=str(asv_conf))
        out.append(VariantEnv(v.name, v.description, fulls[v.name], v.env_dict(), match[0],
                              v.line))
    path = asv_conf.parent / ".asv" / "configs" / stem / "asv.conf.json"
    return DerivedConfig(path, conf, results_dir, tuple(out))


def asv_env_names(conf: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """asv's environment name -> its environment variables, for every environment asv
    builds from ``conf`` (asv's own ``get_environments`` and naming)."""
    from asv import config as asv_config
    from asv import environment as asv_environment

    c = asv_config.Config.from_json(copy.deepcopy(dict(conf)))
    return {e.name: dict(e.env_vars)
            for e in asv_environment.get_environments(c, None, verbose=False)}


# --------------------------------------------------------------------------- selection


@dataclass(frozen=True)
class Plan:
    """What to run: asv ``--bench`` regexes and ``-a`` options, and which rows count."""

    regexes: tuple[str, ...]
    attrs: tuple[str, ...]
    selections: tuple[Any, ...]  # run.Selection of the suite, () without one
    extra: tuple[str, ...]  # --bench regexes given on the command line

    def wants(self, row: Any) -> bool:
        """A row the experiment selected: in the suite's selection (with its
        parameter values) or matching a ``--bench`` regex as asv matches them."""
        if not self.selections and not self.extra:
            return True
        if any(s.benchmark == row.benchmark and s.matches(row.params)
               for s in self.selections):
            return True
        return any(re.search(rx, row.benchmark) or re.search(rx, row.label())
                   for rx in self.extra)


def plan(args: argparse.Namespace, benchmark_dir: Path) -> Plan:
    from . import run

    selections: list[Any] = []
    regexes: list[str] = []
    attrs: list[str] = []
    if args.suite:
        from . import suite_config
        from .cli_config import find_config

        resolved = suite_config.resolve(suite_config.load(args.config or find_config()),
                                        args.suite, env=args.env)
        selections = run.select(resolved, run.benchmark_params(benchmark_dir))
        if not selections:
            raise UserError(f"suite {resolved.name}:{resolved.version} selects no benchmark")
        regexes = run.bench_regexes(selections)
        attrs = run.asv_attributes(resolved, selections, args.quick)
    extra = list(args.bench or [])
    for rx in extra:
        try:
            re.compile(rx)
        except re.error as exc:
            raise UserError(f"--bench {rx!r} is not a regex: {exc}") from None
    return Plan(tuple(regexes + extra), tuple(attrs), tuple(selections), tuple(extra))


def asv_commands(asv: str, config: Path, machine: str, plan_: Plan, commit: str,
                 quick: bool, asv_args: Sequence[str]) -> list[list[str]]:
    """``asv machine`` and the interleaved ``asv run`` of every variant at ``commit``."""
    machine_cmd = [asv, "machine", "--yes", "--machine", machine, "--config", str(config)]
    run_cmd = [asv, "run", "--config", str(config), "--machine", machine,
               "--interleave-rounds", "--record-samples", "--show-stderr"]
    for rx in plan_.regexes:
        run_cmd += ["--bench", rx]
    if quick:
        run_cmd.append("--quick")
    run_cmd += list(plan_.attrs) + list(asv_args)
    run_cmd.append(f"{commit}^!")
    return [machine_cmd, run_cmd]


# --------------------------------------------------------------------------- output


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_dict(impact: Any, derived: DerivedConfig, commit: str, machine: str) -> dict[str, Any]:
    """The JSON document (site/configs-compare.md has the table of fields)."""
    return {
        "kind": "configs", "version": 1, "baseline": impact.baseline,
        "variants": [{"name": v.name, "description": v.description, "env": dict(v.env),
                      "changes": dict(v.changes), "asv_env": v.asv_env}
                     for v in derived.variants],
        "commit": commit, "machine": machine, "alpha": impact.alpha,
        "families": list(impact.families),
        "matrix": [{k: _clean(getattr(c, k)) for k in (
            "variant", "family", "ratio", "change_pct", "ci_low_pct", "ci_high_pct",
            "p_value", "p_adjusted", "significant", "benchmarks", "workloads", "better")}
            for c in impact.matrix],
        "benchmarks": [{"benchmark": s.benchmark, "params": list(s.params),
                        **{k: _clean(getattr(s, k)) for k in (
                            "variant", "family", "unit", "higher_is_better", "ratio",
                            "change_pct", "ci_low_pct", "ci_high_pct", "p_value",
                            "p_adjusted", "significant", "better", "method")}}
                       for s in impact.series],
        "ranking": [{k: _clean(getattr(r, k)) for k in (
            "variant", "score", "ci_low", "ci_high", "p_value", "p_adjusted", "significant",
            "rank", "workloads")} for r in impact.ranking],
        "optimal": {"overall": impact.optimal_overall,
                    "by_family": dict(impact.optimal_by_family)},
        "accuracy": [{"variant": a.variant, "max_ulp": _clean(a.max_ulp),
                      "worst_output": a.worst_output, "ulp_dtype": a.ulp_dtype,
                      "max_ulp_of_scale": _clean(a.max_ulp_of_scale)}
                     for a in impact.accuracy],
        "recommendations": [{k: _clean(getattr(r, k)) for k in (
            "text", "variant", "family", "change_pct", "ci_low_pct", "ci_high_pct",
            "p_value", "max_ulp")} for r in impact.recommendations],
        "unscored": impact.unscored,
    }


def _pct(v: float) -> str:
    return f"{v:+.1f}%" if math.isfinite(v) else "n/a"


def _verdict(c: Any) -> str:
    """criterion.rs's closing words for one cell."""
    if not math.isfinite(c.ci_low_pct):
        return "No interval: no claim."
    if c.better:
        return "Performance has improved."
    if c.significant:
        return "Performance has regressed."
    return "No change in performance detected."


def cell_line(c: Any, alpha: float) -> str:
    """``time: [-22.1% -18.2% -14.0%] (p < 0.001 < 0.05, Holm; 12 workloads)  Performance
    has improved.``: the estimate inside its interval, the adjusted p, the verdict."""
    n = f"{c.workloads} workload{'s' * (c.workloads != 1)}"
    if not math.isfinite(c.ci_low_pct):
        return f"time: {_pct(c.change_pct)} ({n})  {_verdict(c)}"
    p = c.p_adjusted
    ps = "p < 0.001" if p < 0.001 else f"p = {p:.3f}"
    rel = "<" if p < alpha else ">"
    return (f"time: [{_pct(c.ci_low_pct)} {_pct(c.change_pct)} {_pct(c.ci_high_pct)}] "
            f"({ps} {rel} {alpha:g}, Holm; {n})  {_verdict(c)}")


def _score(r: Any, baseline: str) -> tuple[str, str, str]:
    if r.variant == baseline:
        return f"{r.score:.3f}", "-", "-"
    ci = f"[{r.ci_low:.3f}, {r.ci_high:.3f}]" if math.isfinite(r.ci_low) else "-"
    p = "-" if not math.isfinite(r.p_adjusted) else (
        "<0.001" if r.p_adjusted < 0.001 else f"{r.p_adjusted:.3f}")
    return f"{r.score:.3f}", ci, p


def _ulp(x: float) -> str:
    from .config_impact import fmt_ulp

    return fmt_ulp(x)


def _changes(v: VariantEnv, baseline: str) -> str:
    if v.name == baseline:
        return "(baseline)"
    return " ".join(f"{k}={val}" for k, val in v.changes.items()) or "(no changes)"


def render_text(impact: Any, derived: DerivedConfig, commit: str, machine: str) -> str:
    from .render import text as rtext

    alpha = impact.alpha
    lines = [(f"configs compare: {len(impact.variants)} variants against baseline "
             f"{impact.baseline} at {commit[:12]} on {machine}")]
    width = max(len(v.name) for v in derived.variants)
    lines += [f"  {v.name.ljust(width)}  {_changes(v, impact.baseline)}"
              for v in derived.variants]
    lines += ["", (f"time ratio variant/{impact.baseline} per family, {100 * (1 - alpha):g}% "
                  f"intervals, Holm-adjusted p across {len(impact.matrix)} cells"), ""]
    width = max([len(f) for f in impact.families] or [0])
    for v in impact.variants:
        if v == impact.baseline:
            continue
        cells = [c for c in impact.matrix if c.variant == v]
        lines.append(v)
        lines += [f"  {c.family.ljust(width)}  {cell_line(c, alpha)}" for c in cells]
        if not cells:
            lines.append("  (no benchmark measured in both environments)")
    lines += ["", (f"ranking (score: geometric mean time ratio against {impact.baseline}, "
                  "< 1 is faster)")]
    rows = [[str(r.rank), r.variant, *_score(r, impact.baseline), str(r.workloads)]
            for r in impact.ranking]
    lines.append(rtext.table(["rank", "variant", "score", f"{100 * (1 - alpha):g}% CI",
                              "p (Holm)", "workloads"], rows, "rllllr").rstrip("\n"))
    by = ", ".join(f"{f} {v}" for f, v in impact.optimal_by_family.items()) or "-"
    lines += ["", f"optimal: overall {impact.optimal_overall}; by family: {by}"]
    if impact.accuracy:
        lines += ["", f"accuracy against {impact.baseline} (accuracy probe)"]
        rows = [[a.variant, _ulp(a.max_ulp), a.ulp_dtype, _ulp(a.max_ulp_of_scale),
                 a.worst_output or "-"] for a in impact.accuracy]
        lines.append(rtext.table(["variant", "max ulp", "dtype", "ulp of scale",
                                  "worst output"], rows, "lrlrl").rstrip("\n"))
    lines += ["", "recommendations"]
    lines += [f"- {r.text}" for r in impact.recommendations] or \
        ["- none: no variant differs significantly from the baseline"]
    if impact.unscored:
        lines += ["", (f"{impact.unscored} series not scored (not a time or throughput, "
                      "failed, or missing in one environment)")]
    return "\n".join(lines) + "\n"


def render_markdown(impact: Any, derived: DerivedConfig, commit: str, machine: str) -> str:
    from .render import markdown as md

    alpha = impact.alpha
    level = f"{100 * (1 - alpha):g} %"

    def cell(c: Any) -> str:
        if c is None:
            return "-"
        if not math.isfinite(c.ci_low_pct):
            return f"{_pct(c.change_pct)} (no interval)"
        text = f"{_pct(c.change_pct)} [{_pct(c.ci_low_pct)}, {_pct(c.ci_high_pct)}]"
        return f"**{text}**" if c.significant else text

    out = [f"### Configuration impact against {md.escape(impact.baseline)}", "",
           (f"Commit `{commit[:12]}` on machine `{md.escape(machine)}`: change of time "
           f"(variant / {md.escape(impact.baseline)}) per benchmark family with its {level} "
           f"interval. **Bold**: significant after Holm's adjustment (alpha {alpha:g})."), ""]
    out += [f"- {md.escape(v.name)}: {md.escape(_changes(v, impact.baseline))}"
            for v in derived.variants]
    out.append("")
    fams = list(impact.families)
    rows = [[md.escape(v)] + [cell(impact.cell(v, f)) for f in fams]
            for v in impact.variants if v != impact.baseline]
    out.append(md.table(["variant"] + [md.escape(f) for f in fams], rows,
                        "l" + "r" * len(fams)))
    out += ["#### Ranking", ""]
    rows = [[str(r.rank), md.escape(r.variant), *_score(r, impact.baseline), str(r.workloads)]
            for r in impact.ranking]
    out.append(md.table(["rank", "variant", "score", level + " CI", "p (Holm)",
                         "workloads"], rows, "rlrrrr"))
    out += ["#### Optimal configuration", "",
            f"- overall: **{md.escape(impact.optimal_overall)}**"]
    out += [f"- {md.escape(f)}: {md.escape(v)}" for f, v in impact.optimal_by_family.items()]
    if impact.accuracy:
        out += ["", "#### Accuracy", ""]
        rows = [[md.escape(a.variant), _ulp(a.max_ulp), a.ulp_dtype, _ulp(a.max_ulp_of_scale),
                 md.escape(a.worst_output or "-")] for a in impact.accuracy]
        out.append(md.table(["variant", "max ulp", "dtype", "ulp of scale", "worst output"],
                            rows, "lrlrl"))
    out += ["", "#### Recommendations", ""]
    out += [f"- {md.escape(r.text)}" for r in impact.recommendations] or \
        ["- none: no variant differs significantly from the baseline"]
    if impact.unscored:
        out += ["", (f"{impact.unscored} series not scored (not a time or throughput, failed, "
                    "or missing in one environment).")]
    return "\n".join(out) + "\n"


def render(impact: Any, derived: DerivedConfig, commit: str, machine: str, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(to_dict(impact, derived, commit, machine), indent=2,
                          allow_nan=False) + "\n"
    if fmt == "markdown":
        return render_markdown(impact, derived, commit, machine)
    return render_text(impact, derived, commit, machine)


# --------------------------------------------------------------------------- command


def _progress(message: str) -> None:
    print(f"benchwatch: {message}", file=sys.stderr, flush=True)


def _resolve_commit(rows: Sequence[Any], ref: str, repo: Path) -> str:
    """The full hash of a hash prefix among the results (``--no-run`` where git does
    not know ``ref``: a results directory without its repository)."""
    from . import history

    if not re.fullmatch(r"[0-9a-fA-F]{4,}", ref):
        raise UserError(f"--commit {ref!r}: git at {repo} does not know it; give a hash "
                        "prefix present in the results")
    return history.resolve_commit(rows, ref)


def _pick_machine(rows: Sequence[Any], envs: Mapping[str, str], commit: str) -> str:
    machines = sorted({r.machine for r in rows
                       if r.commit == commit and r.env in set(envs.values())})
    if len(machines) != 1:
        raise UserError(f"results of {len(machines)} machines for commit {commit[:12]} in "
                        "the variants' environments" + (f" ({', '.join(machines)})"
                                                         if machines else "")
                        + "; pass --machine")
    return machines[0]


def run_cli(args: argparse.Namespace) -> int:
    from . import config_impact, results
    from . import run as runmod
    from . import variants as variants_mod
    from .output import emit, write_atomically

    if not 0.0 < args.alpha < 1.0:
        raise UserError(f"--alpha {args.alpha:g}: give a level in (0, 1), e.g. 0.05")
    vpath = args.variants or _default_variants()
    loaded_variants = variants_mod.load(vpath)
    asv_conf = (args.asv_config or runmod.find_asv_conf()).resolve()
    derived = derive(asv_conf, loaded_variants)
    repo = Path(derived.conf["repo"])
    the_plan = plan(args, Path(derived.conf["benchmark_dir"]))
    envs = derived.envs()
    baseline = loaded_variants.baseline

    accuracy = {}
    if args.accuracy:
        from . import _variant_probe as probe

        runs = {}
        for i, v in enumerate(derived.variants, 1):
            _progress(f"accuracy probe {i}/{len(derived.variants)}: {v.name}")
            try:
                runs[v.name] = probe.run_probe(v.name, v.env, cwd=repo)
            except RuntimeError as exc:
                raise UserError(str(exc), path=loaded_variants.path, line=v.line) from None
        accuracy = {name: probe.accuracy(runs[baseline], r) for name, r in runs.items()
                    if name != baseline}

    machine = args.machine
    if not args.no_run:
        commit = runmod.git_rev(repo, args.commit)
        machine = machine or runmod.default_machine()
        cmds = asv_commands(runmod.asv_executable(), derived.path, machine, the_plan, commit,
                            args.quick, args.asv_args or [])
        derived.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(derived.path, json.dumps(derived.conf, indent=4) + "\n")
        _progress(f"derived asv config {derived.path}: {len(envs)} environments")
        for v in derived.variants:
            _progress(f"  {v.name}: {v.asv_env}")
        if runmod._stream(cmds[0], repo) != 0:
            raise UserError(f"'asv machine' failed for machine {machine!r}",
                            path=str(derived.path))
        from . import fingerprint

        fingerprint.stamp_machine(machine, fingerprint.host_facts())
        code = runmod._stream(cmds[1], repo)
        if code != 0:
            _progress(f"warning: asv run exited {code} (2: some benchmark failed); "
                      "analysing what it recorded")

    if not derived.results_dir.is_dir():
        raise UserError("results directory not found (run without --no-run first)",
                        path=str(derived.results_dir))
    if args.no_run:
        try:  # a full hash from git when it knows the revision: then load only its files
            commit = runmod.git_rev(repo, args.commit) if (repo / ".git").exists() else None
        except UserError:
            commit = None
    loaded = results.load(derived.results_dir, machine=machine, commit=commit)
    for problem in loaded.problems:
        print(f"benchwatch: warning: {problem}", file=sys.stderr)
    if commit is None:
        commit = _resolve_commit(loaded.rows, args.commit, repo)
    if machine is None:
        machine = _pick_machine(loaded.rows, envs, commit)
    rows = [r for r in loaded.rows if r.commit == commit and r.machine == machine
            and r.env in set(envs.values()) and the_plan.wants(r)]
    have = {r.env for r in rows}
    if envs[baseline] not in have:
        raise UserError(f"no results of the baseline {baseline!r} (environment "
                        f"{envs[baseline]}) for commit {commit[:12]} on machine {machine}",
                        path=str(derived.results_dir))
    for v in derived.variants:
        if v.asv_env not in have:
            _progress(f"warning: no results of variant {v.name!r} for {commit[:12]}")
    impact = config_impact.analyse(rows, envs, baseline, accuracy=accuracy, alpha=args.alpha)
    emit(render(impact, derived, commit, machine, args.format), args.output)
    return 0


def _default_variants() -> Path:
    from .paths import find_upwards
    from .variants import DEFAULT_PATH

    found = find_upwards(DEFAULT_PATH)
    if found is None:
        raise UserError(f"no {DEFAULT_PATH} here or above; pass --variants PATH")
    return found


CONFIGS_EPILOG = """\
'configs' is the engine-variant experiment (configs/variants.yaml: ENGINE_* and
NUMBA_* settings run as asv environments). It is not 'benchwatch config', which
validates and shows the suite config (configs/suites.yaml).

examples:
  benchwatch configs compare --suite ci-fast
  benchwatch configs compare --no-run --format json --output configs.json
"""

COMPARE_EPILOG = """\
Runs every variant of the variants file as one asv environment of one derived asv
config (.asv/configs/<variants-file-stem>/asv.conf.json; the variants share one build),
interleaving asv's rounds across the variants over COMMIT^!, with results in
asv.conf.json's own results_dir. Before that, an accuracy probe runs each variant in a
subprocess and measures how far its engine outputs move from the baseline's (ulp).
Then each benchmark family gets a time ratio against the baseline with an interval and
a Holm-adjusted p; variants are ranked by their geometric mean time ratio; the optimal
variant per family and overall is the significantly fastest (else the baseline); only
significant findings become recommendations. asv's output goes to stderr.

This is the engine-variant experiment; 'benchwatch config validate|show' is the suite
config. Details and the JSON fields: site/configs-compare.md.

exit codes: 0 analysed (whatever it found), 2 usage, config or data error (a bad
variants file is reported as file:line: cause).

examples:
  benchwatch configs compare --suite ci-fast
  benchwatch configs compare --bench '^simd\\.DotProduct\\.' -a repeat=10
  benchwatch configs compare --no-run --format markdown --output configs.md
  benchwatch configs compare --variants my-variants.yaml --no-run --commit 1a2b3c4d \\
      --machine runner-1 --no-accuracy --format json
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    configs = subparsers.add_parser(
        "configs", help="engine-variant experiment: compare ENGINE_*/NUMBA_* configurations "
                        "(not 'config', the suite config)",
        description="Configuration experiments on the engine: named variants of ENGINE_* "
                    "and NUMBA_* settings (configs/variants.yaml). 'config' (singular) is "
                    "the suite config; 'configs compare' is this experiment.",
        epilog=CONFIGS_EPILOG, formatter_class=fmt)
    configs.set_defaults(func=lambda args: _usage(configs))
    actions = configs.add_subparsers(dest="configs_command", metavar="ACTION")
    p = actions.add_parser(
        "compare", help="run the variants through asv and report their impact",
        description="Run engine-configuration variants as asv environments and report "
                    "each one's impact per benchmark family against the baseline: an "
                    "impact matrix, a ranking, the optimal configuration and "
                    "recommendations backed by significant evidence.",
        epilog=COMPARE_EPILOG, formatter_class=fmt)
    p.add_argument("--variants", metavar="PATH", type=Path,
                   help="variants file (default: configs/variants.yaml)")
    p.add_argument("--suite", metavar="NAME[:VERSION]",
                   help="run this suite's selection (configs/suites.yaml) with its "
                        "repeat/warm-up/timeout attributes")
    p.add_argument("--env", default="local", metavar="ENV",
                   help="suite environment whose overrides apply (default: local)")
    p.add_argument("--config", metavar="PATH", type=Path,
                   help="suite config file (default: configs/suites.yaml)")
    p.add_argument("--bench", metavar="REGEX", action="append",
                   help="also run benchmarks matching REGEX (asv --bench; repeatable)")
    p.add_argument("-a", "--attribute", dest="asv_args", metavar="KEY=VALUE",
                   action="append", type=lambda s: f"--attribute={s}",
                   help="asv benchmark attribute, e.g. repeat=10 or rounds=2 (repeatable)")
    p.add_argument("--asv-arg", dest="asv_args", metavar="ARG", action="append",
                   help="pass ARG through to 'asv run' (repeatable)")
    p.add_argument("--quick", action="store_true",
                   help="asv --quick: one sample per benchmark (family intervals only)")
    p.add_argument("--commit", default="HEAD", metavar="REV",
                   help="commit to run and analyse (default: HEAD)")
    p.add_argument("--machine", metavar="NAME",
                   help="asv machine name (default: benchwatch-<hostname>; with --no-run "
                        "the one machine with results)")
    p.add_argument("--no-run", action="store_true",
                   help="analyse results already in the results directory; run nothing "
                        "in asv")
    p.add_argument("--no-accuracy", dest="accuracy", action="store_false",
                   help="skip the accuracy probe (recommendations then say so)")
    p.add_argument("--alpha", type=float, default=0.05, metavar="A",
                   help="family-wise significance level (default: 0.05)")
    p.add_argument("--asv-config", metavar="PATH", type=Path,
                   help="the repository's asv.conf.json (default: nearest one upward)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text")
    p.add_argument("--output", metavar="FILE", type=Path,
                   help="write to FILE (atomically) instead of stdout")
    p.set_defaults(func=run_cli)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print("benchwatch configs: error: choose an action: compare "
          "(the suite config is 'benchwatch config')", file=sys.stderr)
    return 2
