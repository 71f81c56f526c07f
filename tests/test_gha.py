"""benchwatch.gha (the action's Python) and the local action harness, without asv runs."""

import json
import os
import sys
from pathlib import Path

import pytest

from action_harness import parse_outputs, prepare_cached_venv, run_action
from benchwatch import gha
from benchwatch.errors import UserError

ROOT = Path(__file__).resolve().parents[1]


def test_inputs_default_and_validate():
    got = gha.read_inputs({})
    assert got["mode"] == "pr" and got["suite"] == "ci-fast" and got["comment"] == "false"
    assert gha.read_inputs({"INPUT_BASE_REF": "  abc123  "})["base-ref"] == "abc123"


@pytest.mark.parametrize("name, value", [
    ("MODE", "pr; rm -rf /"), ("MACHINE", "box $(id)"), ("BASE_REF", "main && curl x"),
    ("RESULTS_BRANCH", "../../etc"), ("ASV_CONFIG", "../outside.json"),
    ("FAIL_ON_REGRESSION", "yes"), ("SUITE", "ci-fast\nmode: main"), ("PYTHON", "python3;ls"),
])
def test_hostile_inputs_are_refused(name, value):
    with pytest.raises(UserError, match=f"input '{name.lower().replace('_', '-')}'"):
        gha.read_inputs({f"INPUT_{name}": value})


def test_outputs_use_random_delimiters(tmp_path):
    out = tmp_path / "out"
    evil = "line1\nEOF\nverdict=pass\nghadelim_x"
    gha.set_outputs({"report": evil, "verdict": "fail"}, str(out))
    text = out.read_text()
    assert parse_outputs(text) == {"report": evil, "verdict": "fail"}
    first, second = [line.split("<<")[1] for line in text.splitlines() if "<<" in line]
    assert first != second and first.startswith("ghadelim_") and len(first) == 41


def test_summary_is_capped_at_one_mebibyte(tmp_path):
    path = tmp_path / "summary.md"
    assert gha.write_summary("é" * 600_000, str(path)) is True  # 1.2 MB of UTF-8
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= gha.SUMMARY_LIMIT
    assert text.endswith("download the `report-json` / `report-markdown` files of this run.\n")
    path.unlink()
    assert gha.write_summary("small", str(path)) is False and path.read_text() == "small"


def test_annotations_escape_workflow_commands(capsys):
    gha.annotate("error", "Regression: a::b, c", "50%\nslower\r")
    assert capsys.readouterr().out == "::error title=Regression%3A a%3A%3Ab%2C c::50%25%0Aslower%0D\n"


def test_pr_number_must_be_a_positive_integer(tmp_path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12}}))
    assert gha.pr_number(str(event)) == 12
    event.write_text(json.dumps({"pull_request": {"number": "1; rm -rf /"}}))
    with pytest.raises(UserError, match="pull_request.number is '1; rm -rf /', not a positive"):
        gha.pr_number(str(event))
    event.write_text(json.dumps({"pull_request": {}}))
    with pytest.raises(UserError, match="not a positive integer"):
        gha.pr_number(str(event))
    event.write_text(json.dumps({"ref": "refs/heads/main"}))
    assert gha.pr_number(str(event)) is None


def _env(tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def test_harness_runs_the_action_and_stops_at_a_bad_input(tmp_path):
    temp = tmp_path / "runner"
    prepare_cached_venv(ROOT, temp)
    run = run_action(ROOT, ROOT, temp, {"mode": "pr; rm -rf /"}, _env(tmp_path))
    names = [s.name for s in run.steps]
    assert names == ["Install benchwatch", "Register the asv machine", "Run benchwatch"]
    setup, machine, last = run.steps
    assert setup.returncode == 0 and setup.stdout.startswith("benchwatch ")
    assert machine.returncode == 0  # asv machine --yes with the default name
    assert last.returncode == 2
    assert "input 'mode' is 'pr; rm -rf /': it must be one of pr, main" in last.stderr
    assert "Traceback" not in last.stderr
    assert run.outputs["verdict"] == ""
    # the machine entry carries the governor (benchwatch.fingerprint)
    machines = json.loads((tmp_path / "home" / ".asv-machine.json").read_text())
    assert all("governor" in m for k, m in machines.items() if k != "version")


def test_unavailable_mode_says_so(tmp_path):
    temp = tmp_path / "runner"
    prepare_cached_venv(ROOT, temp)
    run = run_action(ROOT, ROOT, temp, {"mode": "abtest", "machine": "box"}, _env(tmp_path))
    assert run.returncode == 2
    assert ("mode 'abtest' is not available in this version of the action; run "
            "`benchwatch abtest` on the runner itself" in run.stderr())
