"""``benchwatch action``: the Python behind every step of the composite ``action.yml``.

Composite actions pass inputs as strings and do not enforce ``required``; the workflow
author (and, in ``pull_request`` runs, the PR's own files) control them. So every
input arrives through ``env:`` as ``INPUT_<NAME>`` (never pasted into shell text) and
is validated here against a strict pattern before anything uses it.

GitHub's files: ``GITHUB_OUTPUT`` (outputs, multi-line values between random
delimiters), ``GITHUB_STEP_SUMMARY`` (the job summary, at most 1 MiB: truncated with a
notice), ``GITHUB_EVENT_PATH`` (the event payload; the PR number is read from it and
must be a positive integer), and ``::error``/``::warning`` workflow commands on stdout
for annotations, with GitHub's escaping.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .errors import UserError

MODES = ("pr", "main", "nightly", "backfill", "abtest", "configs", "bisect")
SUMMARY_LIMIT = 1024 * 1024  # GitHub refuses job summaries over 1 MiB

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_SUITE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}(?::[0-9]+(?:\.[0-9]+){0,2})?")
_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/~^-]{0,199}")
_PATH = re.compile(r"[A-Za-z0-9._/-][A-Za-z0-9._/ -]{0,299}")


@dataclass(frozen=True)
class Spec:
    """One input: its default, a description (action.yml says the same), a check."""

    default: str
    check: Callable[[str], bool]
    hint: str


def _bool(v: str) -> bool:
    return v in ("true", "false")


INPUTS: dict[str, Spec] = {
    "mode": Spec("pr", lambda v: v in MODES, "one of " + ", ".join(MODES)),
    "suite": Spec("ci-fast", lambda v: bool(_SUITE.fullmatch(v)), "a suite NAME[:VERSION]"),
    "environment": Spec("ci", lambda v: bool(_NAME.fullmatch(v)), "an environment name"),
    "base-ref": Spec("", lambda v: v == "" or bool(_REF.fullmatch(v)), "a git ref or SHA"),
    "head-ref": Spec("", lambda v: v == "" or bool(_REF.fullmatch(v)), "a git ref or SHA"),
    "asv-config": Spec("asv.conf.json", lambda v: bool(_PATH.fullmatch(v)) and ".." not in v,
                       "a path inside the repository"),
    "machine": Spec("", lambda v: v == "" or bool(_NAME.fullmatch(v)),
                    "letters, digits, '.', '_' or '-'"),
    "results-branch": Spec("benchmark-results", lambda v: bool(_REF.fullmatch(v))
                           and ".." not in v and not v.endswith(".lock"), "a branch name"),
    "fail-on-regression": Spec("true", _bool, "true or false"),
    "comment": Spec("false", _bool, "true or false"),
    "site": Spec("false", _bool, "true or false"),
    "python": Spec("python3", lambda v: bool(_PATH.fullmatch(v)), "a Python executable"),
}


def read_inputs(environ: dict[str, str] | None = None) -> dict[str, str]:
    """Every input from ``INPUT_<NAME>`` (GitHub's own convention), validated."""
    environ = os.environ if environ is None else environ
    out = {}
    for name, spec in INPUTS.items():
        raw = environ.get("INPUT_" + name.upper().replace("-", "_"), "")
        value = raw.strip() or spec.default
        if not spec.check(value):
            shown = value if len(value) < 60 and value.isprintable() else repr(value[:60])
            raise UserError(f"input '{name}' is {shown!r}: it must be {spec.hint}")
        out[name] = value
    return out


# --------------------------------------------------------------------------- GitHub files


def escape_data(text: str) -> str:
    """Workflow-command message escaping (%, CR, LF), as GitHub's toolkit does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotate(level: str, title: str, message: str) -> None:
    print(f"::{level} title={escape_property(title)}::{escape_data(message)}", flush=True)


def set_outputs(values: dict[str, str], path: str | None = None) -> None:
    """Append outputs to ``GITHUB_OUTPUT``; every value uses a random delimiter, so no
    value (a multi-line report, a crafted name) can end it early."""
    path = path or os.environ.get("GITHUB_OUTPUT")
    if not path:
        for k, v in values.items():
            print(f"output {k}={v}", file=sys.stderr)
        return
    with open(path, "a", encoding="utf-8") as handle:
        for key, value in values.items():
            delim = f"ghadelim_{secrets.token_hex(16)}"
            while delim in value:  # pragma: no cover - 128 random bits
                delim = f"ghadelim_{secrets.token_hex(16)}"
            handle.write(f"{key}<<{delim}\n{value}\n{delim}\n")


def write_summary(markdown: str, path: str | None = None, limit: int = SUMMARY_LIMIT) -> bool:
    """Append to the job summary, truncated to ``limit`` bytes with a notice.

    Returns whether it was truncated."""
    path = path or os.environ.get("GITHUB_STEP_SUMMARY")
    notice = ("\n\n> **Truncated**: the full report is over 1 MiB; download the "
              "`report-json` / `report-markdown` files of this run.\n")
    data = markdown.encode("utf-8")
    truncated = len(data) > limit
    if truncated:
        cut = data[:limit - len(notice.encode("utf-8"))].decode("utf-8", errors="ignore")
        markdown = cut + notice
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(markdown)
    return truncated


def pr_number(event_path: str | None = None) -> int | None:
    """The pull request number of the event payload, or None for other events."""
    event_path = event_path or os.environ.get("GITHUB_EVENT_PATH")
    if not event_path:
        return None
    try:
        event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the event payload ({exc})", path=event_path) from None
    pr = event.get("pull_request") if isinstance(event, dict) else None
    if pr is None:
        return None
    number = pr.get("number") if isinstance(pr, dict) else None
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise UserError(f"pull_request.number is {number!r}, not a positive integer",
                        path=event_path)
    return number


# --------------------------------------------------------------------------- modes


def _workdir() -> Path:
    base = Path(os.environ.get("RUNNER_TEMP") or ".")
    out = base / "benchwatch"
    out.mkdir(parents=True, exist_ok=True)
    return out


def _cli(argv: list[str]) -> int:
    from .cli import main

    print("benchwatch " + " ".join(argv), file=sys.stderr, flush=True)
    return main(argv)


def _machine(inputs: dict[str, str]) -> str:
    from .run import default_machine

    return inputs["machine"] or os.environ.get("BENCHWATCH_MACHINE") or default_machine()


def mode_pr(inputs: dict[str, str]) -> int:
    from . import report

    work = _workdir()
    verdict_json, comment_md = work / "verdict.json", work / "report.md"
    number = pr_number()
    if number is not None:
        (work / "pr-number.txt").write_text(f"{number}\n", encoding="utf-8")
    if inputs["head-ref"] and not inputs["base-ref"]:
        raise UserError("input 'head-ref' needs 'base-ref' (the PR's base SHA)")
    argv = ["continuous"]  # without base-ref: the merge base of HEAD with main
    if inputs["base-ref"]:
        argv += [inputs["base-ref"], inputs["head-ref"] or "HEAD"]
    argv += ["--suite", inputs["suite"], "--env", inputs["environment"],
             "--machine", _machine(inputs), "--asv-config", inputs["asv-config"],
             "--json-output", str(verdict_json), "--markdown-output", str(comment_md),
             "--format", "text"]
    code = _cli(argv)
    if code == 2 or not verdict_json.is_file():
        return 2
    doc = report.from_dict(json.loads(verdict_json.read_text(encoding="utf-8")),
                           str(verdict_json))
    regressions = doc.with_status("regression")
    for c in regressions:
        annotate("error", f"Performance regression: {c.label()}",
                 f"{report.fmt_change(c)} ({c.severity or 'below minor'}) on {c.machine}")
    for s in doc.sla:
        if s.status == "fail":
            annotate("error", f"SLA {s.criterion}", f"{s.where}: {s.observed:g} vs {s.limit:g}")
    markdown = comment_md.read_text(encoding="utf-8")
    write_summary(markdown)
    outputs = {"verdict": doc.verdict or "", "regressions": str(len(regressions)),
               "report-json": str(verdict_json), "report-markdown": str(comment_md),
               "site-dir": "", "comment-id": ""}
    # the outputs first: when GitHub is down and the comment fails, later steps
    # (if: always()) still find the report files
    set_outputs(outputs)
    if inputs["comment"] == "true":
        if number is None:
            annotate("warning", "benchwatch", "comment: true, but this is not a pull_request "
                                              "event; no comment posted")
        else:
            set_outputs({"comment-id": _comment(number, verdict_json, doc.head)})
    if doc.verdict == "fail" and inputs["fail-on-regression"] == "true":
        return 1
    return 0


def _comment(number: int, verdict_json: Path, head: str) -> str:
    """Post the sticky comment through ``benchwatch comment`` (which refuses a PR whose
    head is not the commit benchmarked); the comment id, which it prints last."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = _cli(["comment", "--pr", str(number), "--report", str(verdict_json),
                     "--head-sha", head])
    sys.stdout.write(buf.getvalue())
    if code != 0:
        raise UserError("posting the PR comment failed (see above)")
    found = re.findall(r"\b(\d+)\b", buf.getvalue())
    return found[-1] if found else ""


def _suite_results(inputs: dict[str, str]) -> tuple[Any, str]:
    """(resolved suite, its asv results directory), as ``benchwatch run`` lays it out."""
    resolved, _, conf = _suite_config(inputs)
    return resolved, conf["results_dir"]


def _suite_config(inputs: dict[str, str]) -> tuple[Any, Path, dict]:
    """(resolved suite, derived asv config path, its content) for the inputs."""
    from . import suite_config
    from .cli_config import find_config
    from .run import derived_config

    resolved = suite_config.resolve(suite_config.load(find_config()), inputs["suite"],
                                    env=inputs["environment"])
    path, conf = derived_config(Path(inputs["asv-config"]).resolve(), resolved.name,
                                resolved.version, inputs["environment"])
    return resolved, path, conf


def mode_main(inputs: dict[str, str]) -> int:
    """Benchmark the pushed commit, append its results to the results branch, and
    find change points; the SLA table goes to the job summary."""
    from .run import suite_slug

    machine = _machine(inputs)
    work = _workdir()
    sla_md, changes = work / "sla.md", work / "changes.json"
    _, results_dir = _suite_results(inputs)
    # the history first, so that change points and the site see every commit so far
    if _cli(["results", "pull", "--into", results_dir,
             "--branch", inputs["results-branch"]]) != 0:
        return 2
    code = _cli(["run", inputs["suite"], "--env", inputs["environment"], "--machine", machine,
                 "--asv-config", inputs["asv-config"], "--format", "markdown",
                 "--output", str(sla_md), (inputs["head-ref"] or "HEAD") + "^!"])
    if code == 2:
        return 2
    resolved, results_dir = _suite_results(inputs)
    if _cli(["results", "push", "--results-dir", results_dir,
             "--branch", inputs["results-branch"]]) != 0:
        return 2
    _cli(["changes", "--results-dir", results_dir, "--format", "json", "--output", str(changes)])
    sla = sla_md.read_text(encoding="utf-8") if sla_md.is_file() else ""
    write_summary(f"## benchwatch: {suite_slug(resolved.name, inputs['environment'])} on "
                  f"{machine}\n\n{sla}\n")
    set_outputs({"verdict": "pass" if code == 0 else "fail", "regressions": "0",
                 "report-json": str(changes), "report-markdown": str(sla_md),
                 "site-dir": "", "comment-id": ""})
    return 0


def mode_backfill(inputs: dict[str, str]) -> int:
    """BASE..HEAD through asv in resumable chunks, then append to the results branch."""
    if not (inputs["base-ref"] and inputs["head-ref"]):
        raise UserError("backfill needs inputs 'base-ref' and 'head-ref' (BASE..HEAD)")
    from .output import write_atomically
    from .run import bench_regexes, benchmark_params, select

    # the suite's derived config and selection, as 'benchwatch run' uses: the results
    # land in .asv/results/<suite>-<env>/ like every other run of this suite
    resolved, conf_path, conf = _suite_config(inputs)
    conf_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(conf_path, json.dumps(conf, indent=4) + "\n")
    selections = select(resolved, benchmark_params(Path(conf["benchmark_dir"])))
    bench = [x for regex in bench_regexes(selections) for x in ("--bench", regex)]
    code = _cli(["backfill", f"{inputs['base-ref']}..{inputs['head-ref']}",
                 "--machine", _machine(inputs), "--config", str(conf_path), "--", *bench])
    if code != 0:
        return code
    return 0 if _cli(["results", "push", "--results-dir", conf["results_dir"], "--branch",
                      inputs["results-branch"]]) == 0 else 2


def mode_not_yet(inputs: dict[str, str]) -> int:
    command = {"abtest": "benchwatch abtest", "configs": "benchwatch configs compare"}.get(
        inputs["mode"])
    hint = f"; run `{command}` on the runner itself" if command else ""
    raise UserError(f"mode '{inputs['mode']}' is not available in this version of the "
                    f"action{hint}; use pr, main, nightly or backfill")


def mode_nightly(inputs: dict[str, str]) -> int:
    """``main`` with the suite the workflow names (production), then trends, and one
    issue per new regression when a token is given."""
    code = mode_main(inputs)
    if code != 0:
        return code
    _, results_dir = _suite_results(inputs)
    work = _workdir()
    _cli(["trends", "--results-dir", results_dir, "--format", "markdown",
          "--output", str(work / "trends.md")])
    if os.environ.get("GITHUB_TOKEN"):
        return _cli(["notify", "--changes", str(work / "changes.json")])
    return 0


MODE_RUNNERS: dict[str, Callable[[dict[str, str]], int]] = {
    "pr": mode_pr, "main": mode_main, "nightly": mode_nightly, "backfill": mode_backfill,
    "abtest": mode_not_yet, "configs": mode_not_yet, "bisect": mode_not_yet,
}


def run_action(args: argparse.Namespace) -> int:
    inputs = read_inputs()
    if args.step == "machine":
        from .run import _stream, asv_executable
        from . import fingerprint

        machine = _machine(inputs)
        conf = Path(inputs["asv-config"])
        if _stream([asv_executable(), "machine", "--yes", "--machine", machine,
                    "--config", str(conf)], Path.cwd()) != 0:
            raise UserError(f"'asv machine' failed for machine {machine!r}", path=str(conf))
        fingerprint.stamp_machine(machine, fingerprint.host_facts())
        return 0
    return MODE_RUNNERS[inputs["mode"]](inputs)


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "action", help="the steps of the GitHub Action (reads INPUT_* variables)",
        description="Run one step of the composite action. Inputs come from INPUT_<NAME> "
                    "environment variables, as GitHub sets them, and are validated.",
        epilog="See site/action.md. exit codes: 0 ok, 1 the gate failed, 2 bad input or "
               "error.", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("step", choices=("machine", "run"),
                   help="machine: asv machine --yes with a stable name; run: the mode")
    p.set_defaults(func=run_action)
