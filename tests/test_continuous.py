"""benchwatch continuous: its plan, the asv commands and the confirm stage's rounds.

The command end to end (asv continuous, the gate, the comment) runs in
tests/test_action_e2e.py through the action's pr mode."""

import math
import subprocess
from types import SimpleNamespace

import pytest

from benchwatch import cli, continuous
from benchwatch.gate import ConfirmNeed


def need(benchmark, extra, n=40):
    c = SimpleNamespace(benchmark=benchmark, n_before=n, n_after=n)
    return ConfirmNeed(c, extra)


def test_confirm_rounds_follow_the_neediest_series_and_the_budget():
    # 40 samples over 4 rounds = 10 per round; 35 more samples need 4 rounds
    assert continuous.confirm_rounds([need("a", 35), need("b", 12)], {}, 600) == 4
    assert continuous.confirm_rounds([need("a", 500)], {}, 600) == continuous.MAX_CONFIRM_ROUNDS
    assert continuous.confirm_rounds([need("a", 1)], {}, 600) == 2  # never fewer than 2
    # a's 4 recorded rounds took 40 s: 2 commits x 10 s per round; 60 s buy 3 rounds
    assert continuous.confirm_rounds([need("a", 500)], {"a": 40.0}, 60) == 3
    assert continuous.confirm_rounds([need("a", 500)], {"a": 400.0}, 60) == 1


def plan():
    return continuous.Plan(resolved=None, conf_path=continuous.Path("/x/asv.conf.json"),
                           conf={}, repo=continuous.Path("/x"), machine="box", base="b" * 40,
                           head="h" * 40, regexes=("^a\\.", "^b\\."),
                           attrs=("-a", "repeat=10"), bench_params={})


def test_asv_commands():
    p = plan()
    assert continuous.continuous_command(p, "asv", quick=False) == [
        "asv", "continuous", "--config", "/x/asv.conf.json", "--machine", "box",
        "--interleave-rounds", "--record-samples", "--show-stderr", "--bench", "^a\\.",
        "--bench", "^b\\.", "-a", "repeat=10", "b" * 40, "h" * 40]
    assert continuous.confirm_command(p, "asv", ["^a$"], 3, continuous.Path("/t/h.txt")) == [
        "asv", "run", "--config", "/x/asv.conf.json", "--machine", "box", "--append-samples",
        "--interleave-rounds", "--show-stderr", "-a", "rounds=3", "--bench", "^a$",
        "-a", "repeat=10", "HASHFILE:/t/h.txt"]


def test_dry_run_on_this_repository(capsys):
    assert cli.main(["continuous", "HEAD~1", "HEAD", "--dry-run", "--machine", "box"]) == 0
    out = capsys.readouterr().out.splitlines()
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    assert out[0] == "suite ci-fast:1.1.0 env local machine box"
    assert out[2] == f"head {head}"
    assert "--interleave-rounds --record-samples" in out[4] and out[4].endswith(head)


def test_same_base_and_head_is_an_error(capsys):
    assert cli.main(["continuous", "HEAD", "HEAD", "--dry-run"]) == 2
    assert "BASE and HEAD are the same commit" in capsys.readouterr().err


def test_negative_budget_is_an_error(capsys):
    assert cli.main(["continuous", "--confirm-budget", "-1", "--dry-run"]) == 2
    assert "--confirm-budget must be zero or more seconds" in capsys.readouterr().err
