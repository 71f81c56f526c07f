"""The action end to end: action.yml's steps, real asv runs, a loopback GitHub.

A temporary git repository holds the tiny project (tests/data/tinyproj): commit 1, then
commit 2, which makes ``tinyproj.work`` about 8.5 times slower (median ratio of 7
``timeit`` pairs of the two functions; a planted change far beyond the noise of a loaded
2-core runner: at about 4x, one CI run under a load average of 7 saw the gate call it
noisy). ``pr`` mode must run
asv on both commits, fail the gate, and post one PR comment naming the slowed benchmark;
a second run must edit that comment, not add one. ``main`` mode must append the
results to the results branch of the repository's remote.

The tiny suite gates time at 50 %: on a loaded 2-core CI machine, interleaved runs of
identical code have differed by 50 % (site/asv-suite.md, "Noise"), and this test is
about the plumbing, not the statistics (tests/test_gate_sim.py covers those).
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from action_harness import prepare_cached_venv, run_action
from github_server import GitHubServer

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tinyproj"


def git(repo, *args):
    return subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci",
                           *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("e2e")
    repo = d / "repo"
    shutil.copytree(TINY, repo)
    suites = repo / "configs" / "suites.yaml"
    suites.write_text(suites.read_text().replace("latency_regression_pct: 10",
                                                 "latency_regression_pct: 50"))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tiny project")
    base = git(repo, "rev-parse", "HEAD")
    src = repo / "src" / "tinyproj" / "__init__.py"
    src.write_text(src.read_text().replace(
        "        total += i * i\n",
        "        total += i * i\n        total += sum(range(30)) * i  # the regression\n"))
    git(repo, "commit", "-qam", "make work slower")
    head = git(repo, "rev-parse", "HEAD")
    origin = d / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    git(repo, "remote", "add", "origin", str(origin))
    git(repo, "push", "-q", "origin", "main")
    home = d / "home"
    home.mkdir()
    return {"dir": d, "repo": repo, "base": base, "head": head, "origin": origin,
            "env": {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}}


def diagnose(run) -> str:
    return "\n".join(f"--- {st.name}: exit {st.returncode}\n{st.stdout[-1500:]}\n"
                     f"{st.stderr[-3000:]}" for st in run.steps)


def event(tiny, number=7):
    path = tiny["dir"] / f"event-{number}.json"
    path.write_text(json.dumps({"action": "synchronize", "number": number, "pull_request": {
        "number": number, "head": {"sha": tiny["head"]}, "base": {"sha": tiny["base"]}}}))
    return path


def pr_inputs(tiny, token):
    return {"mode": "pr", "suite": "tiny", "environment": "ci", "base-ref": tiny["base"],
            "head-ref": tiny["head"], "machine": "e2e-box", "comment": "true",
            "github-token": token}


def test_pr_mode_fails_the_gate_and_keeps_one_sticky_comment(tiny):
    with GitHubServer() as gh:
        gh.add_pull("octo/tiny", 7, head_sha=tiny["head"])
        env = {**tiny["env"], **gh.env(repo="octo/tiny")}
        env.pop("GITHUB_TOKEN")  # only the github-token input may carry it
        temp = tiny["dir"] / "runner-pr"
        prepare_cached_venv(ROOT, temp)
        first = run_action(ROOT, tiny["repo"], temp, pr_inputs(tiny, gh.token), env,
                           event(tiny))
        assert [st.returncode for st in first.steps] == [0, 0, 1], diagnose(first)
        assert first.outputs["verdict"] == "fail"
        assert int(first.outputs["regressions"]) >= 1
        comment_id = first.outputs["comment-id"]
        assert comment_id.isdigit()
        assert "::error title=Performance regression%3A compute.Work.time_work::+" \
            in first.stdout()
        assert "compute.Work.time_work" in first.summary.replace("\\", "")
        verdict = json.loads(Path(first.outputs["report-json"]).read_text())
        work = next(r for r in verdict["results"] if r["benchmark"] == "compute.Work.time_work")
        assert work["status"] == "regression" and work["change_pct"] > 100
        assert (temp / "benchwatch" / "pr-number.txt").read_text() == "7\n"
        posts = gh.calls("POST", "/repos/octo/tiny/issues/7/comments")
        assert len(posts) == 1
        body = posts[0].body["body"]
        assert "time\\_work" in body or "time_work" in body
        assert gh.token not in first.stdout() + first.stderr()

        prepare_cached_venv(ROOT, temp)  # as a cache restore does at each job start
        second = run_action(ROOT, tiny["repo"], temp, pr_inputs(tiny, gh.token), env,
                            event(tiny))
        assert [st.returncode for st in second.steps] == [0, 0, 1], diagnose(second)
        assert second.outputs["comment-id"] == comment_id
        assert len(gh.calls("POST", "/repos/octo/tiny/issues/7/comments")) == 1
        patches = gh.calls("PATCH", f"/repos/octo/tiny/issues/comments/{comment_id}")
        assert len(patches) == 1


def test_main_mode_appends_results_to_the_results_branch(tiny):
    temp = tiny["dir"] / "runner-main"
    prepare_cached_venv(ROOT, temp)
    inputs = {"mode": "main", "suite": "tiny", "environment": "ci", "head-ref": tiny["head"],
              "machine": "e2e-box", "results-branch": "benchmark-results"}
    run = run_action(ROOT, tiny["repo"], temp, inputs, tiny["env"])
    assert [st.returncode for st in run.steps] == [0, 0, 0], diagnose(run)
    files = subprocess.run(["git", "ls-tree", "-r", "--name-only", "benchmark-results"],
                           cwd=tiny["origin"], capture_output=True, text=True,
                           check=True).stdout.split()
    assert any(f.endswith("machine.json") and "e2e-box" in f for f in files), files
    assert any(f"{tiny['head'][:8]}-" in f for f in files), files
    # the user's checkout is untouched: still on main, nothing staged
    assert git(tiny["repo"], "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git(tiny["repo"], "status", "--porcelain", "--untracked-files=no") == ""
