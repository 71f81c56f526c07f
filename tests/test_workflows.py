"""action.yml and .github/workflows: schemas, the script-injection rule, permissions."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchwatch import gha

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CHECK = Path(sys.executable).parent / "check-jsonschema"


def load(path):
    # PyYAML reads the key `on` as True; keep it a string
    text = path.read_text(encoding="utf-8")
    return yaml.load(text, Loader=_Loader)


class _Loader(yaml.SafeLoader):
    pass


for first, resolvers in list(_Loader.yaml_implicit_resolvers.items()):
    _Loader.yaml_implicit_resolvers[first] = [
        (tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]


def steps_of(doc):
    if "runs" in doc:
        yield from doc["runs"]["steps"]
    for job in (doc.get("jobs") or {}).values():
        yield from job.get("steps", [])


def test_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {
        "ci.yml", "benchmarks-pr.yml", "benchmarks-comment.yml", "benchmarks-main.yml",
        "benchmarks-nightly.yml", "benchmarks-manual.yml"}


def test_action_validates_against_the_builtin_schema():
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-actions", str(ACTION)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_validates_against_the_builtin_schema(path):
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_can_fail(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  j:\n    steps: []\n")  # no runs-on
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_expression_is_pasted_into_shell(path):
    """The script-injection rule: values reach run: through env:, never ${{ }} in the text."""
    for step in steps_of(load(path)):
        assert "${{" not in step.get("run", ""), (path.name, step.get("name"))


def test_action_inputs_have_descriptions_defaults_and_a_check():
    doc = load(ACTION)
    assert set(doc["inputs"]) == set(gha.INPUTS) | {"github-token"}
    for name, spec in doc["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec, name
        if name in gha.INPUTS:
            assert str(spec["default"]) == gha.INPUTS[name].default, name
    assert set(doc["outputs"]) == {"verdict", "regressions", "report-json", "report-markdown",
                                   "site-dir", "comment-id"}
    for out in doc["outputs"].values():
        assert re.fullmatch(r"\$\{\{ steps\.run\.outputs\.[a-z-]+ \}\}", out["value"])


def test_action_steps_call_benchwatch_and_pass_every_input_by_env():
    doc = load(ACTION)
    run_steps = [s for s in doc["runs"]["steps"] if "run" in s]
    assert [s["run"] for s in run_steps] == [
        'bash "$GITHUB_ACTION_PATH/scripts/action_setup.sh"',
        "benchwatch action machine", "benchwatch action run"]
    env = run_steps[-1]["env"]
    for name in gha.INPUTS:
        if name == "python":
            continue
        key = "INPUT_" + name.upper().replace("-", "_")
        assert env[key] == "${{ inputs.%s }}" % name, key


def test_pr_workflow_has_no_write_scope_and_no_secrets():
    path = ROOT / ".github/workflows/benchmarks-pr.yml"
    text = path.read_text()
    doc = load(path)
    assert "secrets." not in text
    assert doc["permissions"] == {"contents": "read"}
    for job in doc["jobs"].values():
        assert set((job.get("permissions") or {}).values()) <= {"read", "none"}
        assert job["runs-on"] == ["self-hosted", "benchmark"]
        # forks only with the maintainer's label
        assert "run-benchmarks" in job["if"] and "head.repo.full_name" in job["if"]
        for step in job["steps"]:
            assert "github-token" not in (step.get("with") or {})
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] == "false"


def test_comment_workflow_never_runs_pr_code():
    path = ROOT / ".github/workflows/benchmarks-comment.yml"
    doc = load(path)
    assert list(doc["on"]) == ["workflow_run"]
    assert doc["permissions"]["pull-requests"] == "write"
    assert doc["permissions"]["checks"] == "write"
    for job in doc["jobs"].values():
        assert "self-hosted" not in str(job["runs-on"])
        for step in job["steps"]:
            uses = step.get("uses", "")
            assert not uses.startswith("./"), "the local action is the PR's code"
            if uses.startswith("actions/checkout"):
                # the default branch: no ref to the PR's head
                assert "ref" not in (step.get("with") or {})
            if "run" in step:
                assert "pr-number.txt" not in step["run"] or '"$(head -c 20' in step["run"]


def test_main_workflow_appends_and_deploys_pages():
    doc = load(ROOT / ".github/workflows/benchmarks-main.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["concurrency"]["cancel-in-progress"] == "false"  # booleans stay strings here
    bench, deploy = doc["jobs"]["benchmark"], doc["jobs"]["deploy"]
    assert bench["permissions"] == {"contents": "write"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact")
               for s in bench["steps"])
