"""Run the composite action's steps locally, the way the GitHub runner does.

It parses ``action.yml``; for each step it evaluates the ``${{ ... }}`` expressions the
action uses (``inputs.*`` with their defaults, ``runner.*``, ``github.*``,
``steps.<id>.outputs.*``) in the step's ``env:`` and ``with:`` values, runs ``run:``
with ``bash -e`` in the workspace, and provides GitHub's files: a fresh
``GITHUB_OUTPUT`` per step (parsed back, heredoc delimiters included),
``GITHUB_STEP_SUMMARY``, ``GITHUB_PATH`` (prepended to later steps' PATH),
``GITHUB_EVENT_PATH``, ``GITHUB_ACTION_PATH`` and ``RUNNER_TEMP``.

``uses:`` steps: ``actions/cache`` is skipped (the harness prepares the cached venv
itself: ``prepare_cached_venv`` links the dev venv where ``action_setup.sh`` looks, so the
setup step takes its cache-hit path); any other ``uses:`` is an error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

EXPR = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")


@dataclass
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class ActionRun:
    steps: list[StepResult]
    outputs: dict[str, str]
    summary: str

    @property
    def returncode(self) -> int:
        return self.steps[-1].returncode if self.steps else 0

    def stdout(self) -> str:
        return "".join(s.stdout for s in self.steps)

    def stderr(self) -> str:
        return "".join(s.stderr for s in self.steps)


def parse_outputs(text: str) -> dict[str, str]:
    """``GITHUB_OUTPUT`` syntax: ``key=value`` lines and ``key<<DELIM`` ... ``DELIM``."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delim = line.split("<<", 1)
            body = []
            i += 1
            while lines[i] != delim:
                body.append(lines[i])
                i += 1
            out[key] = "\n".join(body)
        elif "=" in line:
            key, value = line.split("=", 1)
            out[key] = value
        i += 1
    return out


def prepare_cached_venv(action_path: Path, runner_temp: Path) -> None:
    """What actions/cache would restore: the venv with benchwatch, stamped with the
    action's commit, here the dev venv's bin directory."""
    venv = runner_temp / "benchwatch-venv"
    venv.mkdir(parents=True, exist_ok=True)
    if not (venv / "bin").exists():
        (venv / "bin").symlink_to(Path(sys.executable).parent)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=action_path, capture_output=True,
                          text=True, check=True).stdout.strip()
    (venv / ".benchwatch-installed").write_text(head + "\n")


def run_action(action_path: Path, workspace: Path, runner_temp: Path, inputs: dict[str, str],
               env: dict[str, str], event_path: Path | None = None) -> ActionRun:
    doc = yaml.safe_load((action_path / "action.yml").read_text(encoding="utf-8"))
    declared = doc.get("inputs") or {}
    unknown = set(inputs) - set(declared)
    if unknown:
        raise ValueError(f"inputs not declared in action.yml: {sorted(unknown)}")
    values = {k: str(inputs.get(k, spec.get("default", ""))) for k, spec in declared.items()}
    runner_temp.mkdir(parents=True, exist_ok=True)
    summary = runner_temp / "step-summary.md"
    summary.write_text("")
    path_file = runner_temp / "github-path.txt"
    path_file.write_text("")
    steps_out: dict[str, dict[str, str]] = {}

    def evaluate(text: str) -> str:
        def one(m: re.Match) -> str:
            expr = m.group(1)
            if expr.startswith("inputs."):
                return values[expr[len("inputs."):]]
            if expr == "runner.temp":
                return str(runner_temp)
            if expr in ("runner.os", "runner.arch"):
                return {"runner.os": "Linux", "runner.arch": "X64"}[expr]
            if expr == "github.action_path":
                return str(action_path)
            if expr.startswith("github.action_ref"):
                return "local"
            got = re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", expr)
            if got:
                return steps_out.get(got.group(1), {}).get(got.group(2), "")
            raise ValueError(f"expression the harness does not know: {expr}")
        return EXPR.sub(one, text)

    results: list[StepResult] = []
    for step in doc["runs"]["steps"]:
        name = step.get("name", step.get("run", step.get("uses", "")))
        if "uses" in step:
            if not step["uses"].startswith("actions/cache@"):
                raise ValueError(f"the harness cannot run uses: {step['uses']}")
            for value in (step.get("with") or {}).values():
                evaluate(str(value))  # every expression must still be known
            continue
        assert "${{" not in step["run"], "the script-injection rule"
        output_file = runner_temp / f"output-{len(results)}.txt"
        output_file.write_text("")
        extra_path = [p for p in path_file.read_text().splitlines() if p]
        step_env = {**env,
                    "PATH": os.pathsep.join(extra_path[::-1] + [env.get("PATH", os.defpath)]),
                    "GITHUB_ACTION_PATH": str(action_path), "RUNNER_TEMP": str(runner_temp),
                    "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary),
                    "GITHUB_PATH": str(path_file), "GITHUB_WORKSPACE": str(workspace),
                    "GITHUB_ACTIONS": "true"}
        if event_path is not None:
            step_env["GITHUB_EVENT_PATH"] = str(event_path)
        for key, value in (step.get("env") or {}).items():
            step_env[key] = evaluate(str(value))
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=workspace, env=step_env,
                              capture_output=True, text=True, timeout=1800)
        outputs = parse_outputs(output_file.read_text())
        if "id" in step:
            steps_out[step["id"]] = outputs
        results.append(StepResult(name, proc.returncode, proc.stdout, proc.stderr, outputs))
        if proc.returncode != 0:
            break
    action_outputs = {k: evaluate(str(spec.get("value", "")))
                      for k, spec in (doc.get("outputs") or {}).items()}
    return ActionRun(results, action_outputs, summary.read_text())
