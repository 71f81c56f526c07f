"""Faults, nothing lost (issue 8): what benchwatch guarantees when the world breaks.

One section per fault; each test fails if the guarantee it names is broken.

1. A run killed with SIGKILL half-way: what asv wrote is intact, the next run skips it
   (``--skip-existing``), and the gate names what is missing at HEAD (``missing``, which
   fails it: the suite's benchmarks.json still defines those benchmarks).
2. Concurrent appends to the results branch: every push lands, none forces.
3. GitHub API faults: 502, secondary rate limits and timeouts are retried; when the
   retries run out the command fails in one line and the job summary and report files
   are written all the same.
4. A read-only or full output directory: a one-line error, exit 2, no half-written file,
   and the previous site intact.
5. Clock skew between runners: with a repository at hand, commit order comes from git.

Real processes throughout: git, asv, a loopback HTTP server, tmpfs mounts (when this
process may mount; the same faults are also injected by patching ``os`` calls).
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import asvdata
import numpy as np
import pytest

from benchwatch import cli, history, results

ROOT = Path(__file__).resolve().parents[1]


def git(repo: Path, *args: str, env: dict | None = None) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c",
                           "user.email=t@example.com", *args], check=True,
                          capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env}).stdout.strip()


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchwatch: error: "), err
    assert "Traceback" not in err
    return lines[0]


# =========================================================================== 5. clock skew


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    """24 commits an hour apart; the runner that benchmarked commits 12-17 had its clock
    two days behind, so by ``date`` they sort before commit 0. The benchmark slows 50 %
    from commit 12 on (git order). Read-only for the tests that use it."""
    tmp_path = tmp_path_factory.mktemp("skewed")
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    commits = []
    for i in range(24):
        (repo / "f").write_text(str(i))
        stamp = f"{1_700_000_000 + i * 3600} +0000"
        git(repo, "add", "f")
        git(repo, "commit", "-qm", f"c{i}",
            env={"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp})
        commits.append(git(repo, "rev-parse", "HEAD"))
    res = tmp_path / "results"
    res.mkdir()
    asvdata.write_benchmarks(res, [asvdata.Bench("b.T.time_x")])
    rng = np.random.default_rng(1)
    for i, commit in enumerate(commits):
        samples = list((1.0 if i < 12 else 1.5) * (1 + 0.01 * rng.standard_normal(10)))
        skew_s = 2 * 86400 if 12 <= i < 18 else 0
        date_ms = (1_700_000_000 + i * 3600 - skew_s) * 1000
        asvdata.write_result(res, "m", commit, date_ms,
                             {"b.T.time_x": asvdata.entry([float(np.median(samples))],
                                                          [samples])})
    return repo, res, commits


def test_clock_skew_commit_order_comes_from_git(skewed):
    repo, res, commits = skewed
    rows = results.load(res, cache=False).rows
    assert history.commit_order(rows, repo) == commits
    # the dates alone put the skewed runner's six commits first: what --repo avoids
    by_date = history.commit_order(rows)
    assert by_date == commits[12:18] + commits[:12] + commits[18:]
    (series,) = history.build(rows, repo=repo)
    assert series.commits == tuple(commits)


def test_clock_skew_changes_finds_the_one_real_step_with_repo(skewed, capsys):
    repo, res, commits = skewed
    code, out, err = run_cli(["changes", "--results-dir", str(res), "--repo", str(repo),
                              "--no-cache", "--format", "json"], capsys)
    assert code == 0, err
    found = [(c["commit"], c["previous_commit"], c["direction"])
             for c in json.loads(out)["change_points"]]
    assert found == [(commits[12], commits[11], "regression")]
    # by date, the same data shows two steps that never happened (a jump and a drop)
    code, out, _ = run_cli(["changes", "--results-dir", str(res), "--no-cache",
                            "--format", "json"], capsys)
    assert len(json.loads(out)["change_points"]) == 2


# =========================================================================== 4. disk full, read-only


@pytest.fixture
def tmpfs(tmp_path):
    """``mount(name, size)``: a real tmpfs of ``size`` under tmp_path (needs CAP_SYS_ADMIN,
    as root on the CI box); ``readonly(dir)`` remounts it read-only. Unmounted after."""
    mounts: list[Path] = []

    def mount(name: str, size: str = "64k") -> Path:
        d = tmp_path / name
        d.mkdir()
        proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                               "tmpfs", str(d)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip()}); the patched "
                        "variants of these tests still run")
        mounts.append(d)
        return d

    def readonly(d: Path) -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(d)], check=True)

    mount.readonly = readonly  # type: ignore[attr-defined]
    yield mount
    for d in reversed(mounts):
        subprocess.run(["umount", "-l", str(d)], check=False)


def fill(directory: Path) -> Path:
    """Fill a tmpfs to the last byte."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for size in (65536, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def changes_argv(res: Path, repo: Path, out: Path) -> list[str]:
    return ["changes", "--results-dir", str(res), "--repo", str(repo), "--no-cache",
            "--format", "json", "--output", str(out)]


def test_output_into_a_read_only_directory_is_exit_2_and_writes_nothing(skewed, tmpfs,
                                                                         capsys):
    repo, res, _ = skewed
    ro = tmpfs("ro")
    (ro / "changes.json").write_text("previous\n")
    tmpfs.readonly(ro)
    code, out, err = run_cli(changes_argv(res, repo, ro / "changes.json"), capsys)
    assert (code, out) == (2, "")
    line = one_line_error(err)
    assert line == (f"benchwatch: error: {ro / 'changes.json'}: cannot write output: "
                    "Read-only file system")
    assert listing(ro) == ["changes.json"]
    assert (ro / "changes.json").read_text() == "previous\n"


def test_output_onto_a_full_disk_is_exit_2_and_keeps_the_previous_file(skewed, tmpfs,
                                                                       capsys):
    repo, res, _ = skewed
    full = tmpfs("full")
    (full / "changes.json").write_text("previous\n")
    fill(full)
    code, out, err = run_cli(changes_argv(res, repo, full / "changes.json"), capsys)
    assert (code, out) == (2, "")
    assert one_line_error(err) == (f"benchwatch: error: {full / 'changes.json'}: cannot "
                                   "write output: No space left on device")
    assert listing(full) == ["changes.json", "filler"]  # no temporary file left behind
    assert (full / "changes.json").read_text() == "previous\n"


def test_a_failure_at_fsync_leaves_no_temp_file_and_the_old_output(skewed, tmp_path,
                                                                   monkeypatch, capsys):
    """The same guarantee without a mount: the disk fills up as the data is flushed."""
    repo, res, _ = skewed
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    (outdir / "changes.json").write_text("previous\n")

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("benchwatch.output.os.fsync", full)
    code, out, err = run_cli(changes_argv(res, repo, outdir / "changes.json"), capsys)
    assert (code, out) == (2, "")
    assert one_line_error(err).endswith("cannot write output: No space left on device")
    assert listing(outdir) == ["changes.json"]
    assert (outdir / "changes.json").read_text() == "previous\n"


def test_pull_onto_a_full_disk_leaves_no_half_written_result_file(skewed, tmp_path, tmpfs,
                                                                  capsys):
    repo, res, _ = skewed
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", str(origin)], check=True)
    code, _, err = run_cli(["results", "push", "--repo", str(repo), "--remote", str(origin),
                            "--results-dir", str(res)], capsys)
    assert code == 0, err
    full = tmpfs("full", size="128k")
    into = full / "results"
    (into / "m").mkdir(parents=True)
    fill(full)
    code, out, err = run_cli(["results", "pull", "--repo", str(repo), "--remote", str(origin),
                              "--into", str(into)], capsys)
    assert (code, out) == (2, "")
    line = one_line_error(err)
    assert "No space left on device" in line and str(into) in line
    # every file there is complete (none was), no temporary file is left
    left = sorted(p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file())
    assert left == []
    assert results.load(into, cache=False).rows == ()


@pytest.fixture(scope="module")
def docs_project(tmp_path_factory) -> Path:
    """mkdocs.yml and site/ as committed (others edit the working tree's site/ meanwhile)."""
    proj = tmp_path_factory.mktemp("docs")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "HEAD", "mkdocs.yml", "site"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(proj)], input=archive, check=True)
    return proj / "mkdocs.yml"


def old_site(out: Path) -> None:
    from benchwatch.site import build as sb

    out.mkdir()
    (out / sb.MARKER).write_text("built by benchwatch site build\n")
    (out / "index.html").write_text("the previous site\n")


def site_argv(res: Path, repo: Path, out: Path, mkdocs_yml: Path, tmp: Path) -> list[str]:
    return ["site", "build", "--results-dir", str(res), "--repo", str(repo), "--no-asv",
            "--pdf", "no", "--out", str(out), "--config", str(mkdocs_yml),
            "--annotations", str(tmp / "none.yaml")]


def assert_previous_site_intact(parent: Path, out: Path) -> None:
    from benchwatch.site import build as sb

    assert listing(out) == sorted([sb.MARKER, "index.html"])
    assert (out / "index.html").read_text() == "the previous site\n"
    assert [p for p in listing(parent) if p.startswith(".")] == []  # no staging left


def test_site_build_into_a_read_only_parent_keeps_the_previous_site(skewed, tmpfs, tmp_path,
                                                                    docs_project, capsys):
    repo, res, _ = skewed
    parent = tmpfs("pages", size="1m")
    old_site(parent / "site")
    tmpfs.readonly(parent)
    code, out, err = run_cli(site_argv(res, repo, parent / "site", docs_project, tmp_path),
                             capsys)
    assert (code, out) == (2, "")
    line = one_line_error(err)
    assert "Read-only file system" in line and str(parent) in line
    assert_previous_site_intact(parent, parent / "site")


def test_site_build_onto_a_full_disk_keeps_the_previous_site(skewed, tmpfs, tmp_path,
                                                             docs_project, capsys):
    repo, res, _ = skewed
    parent = tmpfs("pages", size="256k")
    old_site(parent / "site")
    fill(parent)
    code, out, err = run_cli(site_argv(res, repo, parent / "site", docs_project, tmp_path),
                             capsys)
    assert (code, out) == (2, "")
    assert err.startswith("benchwatch: error: ") and "Traceback" not in err
    assert "No space left on device" in err
    (parent / "filler").unlink()
    assert_previous_site_intact(parent, parent / "site")


# =========================================================================== 3. GitHub API faults

REPO = "octo/bench"


@pytest.fixture
def gh(monkeypatch):
    """The loopback GitHub API as the environment's API; sleeps recorded, never slept."""
    from github_server import GitHubServer

    from benchwatch import github

    with GitHubServer() as server:
        for key, value in server.env(REPO).items():
            monkeypatch.setenv(key, value)
        server.sleeps = []
        monkeypatch.setattr(github, "_sleep", server.sleeps.append)
        yield server


@pytest.fixture(scope="module")
def gated(tmp_path_factory):
    """A real gate verdict (JSON and markdown) on a 40 % slowdown, from asv results."""
    tmp_path = tmp_path_factory.mktemp("gated")
    res = tmp_path / "gate-results"
    res.mkdir()
    asvdata.write_benchmarks(res, [asvdata.Bench("s.T.time_a"), asvdata.Bench("s.T.time_b")])
    rng = np.random.default_rng(3)
    base, head = "a" * 40, "b" * 40
    for i, (commit, factor) in enumerate(((base, 1.0), (head, 1.4))):
        entries = {}
        for name, f in (("s.T.time_a", factor), ("s.T.time_b", 1.0)):
            s = list(f * (1 + 0.005 * rng.standard_normal(20)))
            entries[name] = asvdata.entry([float(np.median(s))], [s])
        asvdata.write_result(res, "m", commit, 1_700_000_000_000 + i * 1000, entries)
    paths = {}
    for fmt in ("json", "markdown"):
        paths[fmt] = tmp_path / f"gate.{fmt}"
        code = cli.main(["gate", base, head, "--results-dir", str(res), "--format", fmt,
                         "--output", str(paths[fmt])])
        assert code == 1  # the regression
    return {"results": res, "base": base, "head": head, **paths}


def comment_argv(gated) -> list[str]:
    return ["comment", "--pr", "7", "--report", str(gated["json"]), "--head-sha",
            gated["head"]]


def test_a_502_is_retried_and_the_comment_posted_once(gh, gated, capsys):
    gh.add_pull(REPO, 7, gated["head"])
    gh.fail("POST", f"/repos/{REPO}/issues/7/comments", status=502, times=1)
    code, out, err = run_cli(comment_argv(gated), capsys)
    assert code == 0, err
    (posted,) = gh.comments[(REPO, 7)]
    assert out == f"{posted['id']}\n"
    assert [r.status for r in gh.calls("POST")] == [502, 201]
    assert gh.sleeps == [2.0]  # the client's first backoff step


def test_a_secondary_rate_limit_waits_retry_after_then_retries(gh, gated, capsys):
    gh.add_pull(REPO, 7, gated["head"])
    gh.secondary_rate_limit("POST", f"/repos/{REPO}/issues/7/comments", retry_after=1)
    code, _, err = run_cli(comment_argv(gated), capsys)
    assert code == 0, err
    assert [r.status for r in gh.calls("POST")] == [403, 201]
    assert gh.sleeps == [1.0]  # Retry-After honoured, not the backoff's 2 s
    assert len(gh.comments[(REPO, 7)]) == 1


def test_a_timeout_is_retried(gh, gated, capsys, monkeypatch):
    import functools

    from benchwatch import github

    # the command's client with a 0.3 s timeout; the server answers after 1.5 s once
    monkeypatch.setattr(github.Client, "__init__",
                        functools.partialmethod(github.Client.__init__, timeout=0.3))
    gh.add_pull(REPO, 7, gated["head"])
    gh.slow("GET", f"/repos/{REPO}/pulls/7", seconds=1.5)
    code, _, err = run_cli(comment_argv(gated), capsys)
    assert code == 0, err
    assert len(gh.calls("GET", f"/repos/{REPO}/pulls/7")) == 2
    assert gh.sleeps == [2.0]
    assert len(gh.comments[(REPO, 7)]) == 1


def test_retries_exhausted_is_one_line_exit_2(gh, gated, capsys):
    gh.add_pull(REPO, 7, gated["head"])
    gh.fail("POST", f"/repos/{REPO}/issues/7/comments", status=502, times=99)
    code, out, err = run_cli(comment_argv(gated), capsys)
    assert (code, out) == (2, "")
    assert one_line_error(err) == (f"benchwatch: error: GitHub API POST /repos/{REPO}/issues/7/"
                                   "comments: HTTP 502: Server Error after 5 attempts")
    assert gh.sleeps == [2.0, 4.0, 8.0, 16.0]
    assert gh.comments.get((REPO, 7), []) == []


def test_action_pr_mode_writes_summary_outputs_and_reports_when_github_is_down(
        gh, gated, tmp_path, monkeypatch, capsys):
    """The action's pr mode with comment: true while every comment POST gets a 502.

    ``benchwatch continuous`` (real asv runs, tests/test_action_e2e.py) is replaced by the
    gate on prepared results, writing the same two files; the comment step is real."""
    from benchwatch import gha

    gh.add_pull(REPO, 7, gated["head"])
    gh.fail("POST", f"/repos/{REPO}/issues/7/comments", status=502, times=99)
    temp, summary, outputs = tmp_path / "runner", tmp_path / "summary.md", tmp_path / "out.txt"
    summary.write_text("")
    outputs.write_text("")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    for key, value in {"INPUT_MODE": "pr", "INPUT_COMMENT": "true",
                       "INPUT_BASE_REF": gated["base"], "INPUT_HEAD_REF": gated["head"],
                       "INPUT_MACHINE": "m", "RUNNER_TEMP": str(temp),
                       "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs),
                       "GITHUB_EVENT_PATH": str(event)}.items():
        monkeypatch.setenv(key, value)
    real_cli = gha._cli

    def cli_with_gate_for_continuous(argv: list[str]) -> int:
        if argv[0] != "continuous":
            return real_cli(argv)
        json_out = argv[argv.index("--json-output") + 1]
        md_out = argv[argv.index("--markdown-output") + 1]
        common = ["gate", gated["base"], gated["head"], "--results-dir", str(gated["results"])]
        real_cli(common + ["--format", "markdown", "--output", md_out])
        return real_cli(common + ["--format", "json", "--output", json_out])

    monkeypatch.setattr(gha, "_cli", cli_with_gate_for_continuous)
    code, _, err = run_cli(["action", "run"], capsys)
    assert code == 2
    errors = [line for line in err.splitlines() if line.startswith("benchwatch: error: ")]
    assert errors == [
        (f"benchwatch: error: GitHub API POST /repos/{REPO}/issues/7/comments: HTTP 502: "
         "Server Error after 5 attempts"),
        "benchwatch: error: posting the PR comment failed (see above)"]
    assert gh.token not in err
    # the report files, the job summary and the outputs that point at them: all there
    from action_harness import parse_outputs

    got = parse_outputs(outputs.read_text())
    assert got["verdict"] == "fail" and got["regressions"] == "1"
    assert "comment-id" not in got or got["comment-id"] == ""
    assert json.loads(Path(got["report-json"]).read_text()) == json.loads(
        gated["json"].read_text())
    markdown = Path(got["report-markdown"]).read_text()
    assert markdown == gated["markdown"].read_text()
    assert summary.read_text() == markdown
    assert "time\\_a" in markdown or "time_a" in markdown


# =========================================================================== 2. concurrent appends


@pytest.fixture
def git_log(tmp_path, monkeypatch):
    """Every git command run by any process below, logged by a ``git`` wrapper on PATH
    (argv joined by US, one line per call: a single O_APPEND write, so lines from
    concurrent processes never interleave). No global or system git config."""
    import shutil

    real = shutil.which("git")
    log = tmp_path / "git-argv.log"
    bindir = tmp_path / "bin"
    bindir.mkdir()
    wrapper = bindir / "git"
    wrapper.write_text(f"""#!/bin/sh
us=$(printf '\\037')
line=""
for a in "$@"; do line="$line$a$us"; done
printf '%s\\n' "$line" >> "{log}"
exec "{real}" "$@"
""")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    cfg = tmp_path / "gitconfig"
    cfg.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")

    def calls() -> list[list[str]]:
        if not log.exists():
            return []
        return [line.split("\x1f")[:-1] for line in log.read_text().splitlines()]

    return calls


def subcommand(argv: list[str]) -> tuple[str, list[str]]:
    """(git subcommand, its arguments) of a logged argv, skipping -C DIR and -c K=V."""
    i = 0
    while i < len(argv) and argv[i] in ("-C", "-c"):
        i += 2
    return (argv[i], argv[i + 1:]) if i < len(argv) else ("", [])


def assert_no_force(calls: list[list[str]]) -> list[list[str]]:
    pushes = [args for cmd, args in map(subcommand, calls) if cmd == "push"]
    for args in pushes:
        assert not any(a in ("-f", "--force", "--mirror")
                       or a.startswith(("--force-with-lease", "--force-if-includes"))
                       for a in args), args
        refspecs = [a for a in args if ":" in a and not a.startswith("-")]
        assert refspecs and not any(r.startswith("+") for r in refspecs), args
    return pushes


def appends_race(tmp_path: Path, machines: list[str]) -> tuple[Path, list[tuple]]:
    """Each machine's runner pushes its results at the same moment; origin's pre-receive
    hook holds every push until all have arrived, so all are built on one tip."""
    from test_results_branch import (
        clone,
        hold_pushes_until,
        push_argv,
        push_together,
        write_results,
    )

    origin = tmp_path / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(origin)], check=True)
    git(origin, "config", "core.logAllRefUpdates", "true")
    jobs = []
    for i, name in enumerate(machines):
        runner = clone(origin, tmp_path / f"runner-{name}")
        write_results(runner / "results", name, {f"{i}" * 8: f"{name}\n", "abcdef12": "x\n"},
                      {f"bench.{name}": {"v": 1}, "version": 2})
        jobs.append((runner, push_argv(runner, runner / "results", "--format", "json",
                                       "--retries", "8")))
    hold_pushes_until(origin, len(machines), tmp_path / "marks")
    return origin, push_together(jobs, tmp_path / "barrier")


def assert_all_landed_linear_never_forced(origin: Path, machines: list[str],
                                          outcomes: list[tuple]) -> None:
    assert [code for code, _, _ in outcomes] == [0] * len(machines), outcomes
    attempts = sorted(json.loads(out)["attempts"] for _, out, _ in outcomes)
    assert attempts[0] == 1 and all(a >= 2 for a in attempts[1:])  # the losers retried
    branch = "benchmark-results"
    names = git(origin, "ls-tree", "-r", "--name-only", branch).splitlines()
    want = sorted([f"results/{m}/{f'{i}' * 8}-py3.11.json" for i, m in enumerate(machines)]
                  + [f"results/{m}/abcdef12-py3.11.json" for m in machines]
                  + [f"results/{m}/machine.json" for m in machines]
                  + ["results/benchmarks.json"])
    assert sorted(names) == want
    merged = json.loads(git(origin, "show", f"{branch}:results/benchmarks.json"))
    assert merged == {**{f"bench.{m}": {"v": 1} for m in machines}, "version": 2}
    chain = [line.split() for line in git(origin, "rev-list", "--parents", branch).splitlines()]
    assert [len(c) for c in chain] == [2] * (len(machines) - 1) + [1]  # linear
    values = list(reversed(git(origin, "reflog", "show", "--format=%H",
                               f"refs/heads/{branch}").splitlines()))
    assert values == [c[0] for c in reversed(chain)]  # every commit was the tip once
    for old, new in itertools.pairwise(values):  # each update a fast-forward
        git(origin, "merge-base", "--is-ancestor", old, new)


@pytest.mark.parametrize("machines", [["m1", "m2"], ["m1", "m2", "m3"]],
                         ids=["two-appends", "matrix-of-three"])
def test_concurrent_appends_all_land_and_no_push_forces(tmp_path, git_log, machines):
    origin, outcomes = appends_race(tmp_path, machines)
    assert_all_landed_linear_never_forced(origin, machines, outcomes)
    pushes = assert_no_force(git_log())
    # one push per attempt, each a plain "<sha>:refs/heads/<branch>"
    total = sum(json.loads(out)["attempts"] for _, out, _ in outcomes)
    assert len(pushes) == total > len(machines)
    assert all(args[-1].endswith(":refs/heads/benchmark-results") for args in pushes)


def test_the_force_check_catches_a_forced_push():
    """The checker above is not vacuous: each way of forcing is caught."""
    for args in (["push", "-f", "origin", "x:refs/heads/b"],
                 ["push", "--force", "origin", "x:refs/heads/b"],
                 ["push", "--force-with-lease", "origin", "x:refs/heads/b"],
                 ["push", "origin", "+x:refs/heads/b"]):
        with pytest.raises(AssertionError):
            assert_no_force([["-C", "/r", *args]])


# =========================================================================== 1. SIGKILL mid-suite

SLOW_BENCHMARKS = '''"""Benchmarks slow enough to kill a run half-way (tests/test_faults.py)."""
import time


class Sleep:
    number = 1
    repeat = 1
    rounds = 1
    warmup_time = 0.0
    min_run_count = 1
''' + "".join(f'''
    def time_s{i}(self):
        time.sleep(0.1)
''' for i in range(1, 7)) + '''

def track_fast():
    return 1.0
'''

KILL_SUITES = """\
configs:
  "faults:1.0.0":
    name: faults
    version: "1.0.0"
    description: six sleeping benchmarks and a fast one
    benchmarks:
      - name: slow
        category: Allocation
        select: "^slow\\\\."
environments:
  ci: {}
default_parameters: {sample_size: 10, timeout_seconds: 120}
gates: {latency_regression_pct: 10, throughput_regression_pct: 10,
        memory_regression_pct: 20, min_success_rate: 0.0}
"""

SLOW = [f"slow.Sleep.time_s{i}" for i in range(1, 7)] + ["slow.track_fast"]


@pytest.fixture
def killable(tmp_path):
    """tests/data/tinyproj plus benchmarks/slow.py in a git repository: commit C0 (base),
    C1 (head, main's tip); asv's machine registered; benchwatch's derived asv config for
    suite faults/ci written, so raw asv runs and ``benchwatch run`` share one results
    directory."""
    import shutil

    from benchwatch.run import derived_config

    repo = tmp_path / "tinyproj"
    shutil.copytree(ROOT / "tests" / "data" / "tinyproj", repo)
    (repo / "benchmarks" / "slow.py").write_text(SLOW_BENCHMARKS)
    (repo / "configs" / "suites.yaml").write_text(KILL_SUITES)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    base = git(repo, "rev-parse", "HEAD")
    (repo / "README").write_text("head\n")
    git(repo, "add", "README")
    git(repo, "commit", "-qm", "head")
    head = git(repo, "rev-parse", "HEAD")
    home = tmp_path / "home"
    home.mkdir()
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    conf_path, conf = derived_config(repo / "asv.conf.json", "faults", "1.0.0", "ci")
    conf_path.parent.mkdir(parents=True)
    conf_path.write_text(json.dumps(conf, indent=4))
    asv = str(Path(sys.executable).parent / "asv")
    subprocess.run([asv, "machine", "--yes", "--machine", "box", "--config", str(conf_path)],
                   cwd=repo, env=env, check=True, capture_output=True)
    return {"repo": repo, "base": base, "head": head, "env": env, "asv": asv,
            "conf": conf_path, "results": Path(conf["results_dir"])}


def asv_run(k: dict, commit: str, bench: str) -> list[str]:
    return [k["asv"], "run", "--config", str(k["conf"]), "--machine", "box", "--quick",
            "--show-stderr", "-E", f"existing:{sys.executable}", "--set-commit-hash", commit,
            "--bench", bench]


def result_file(k: dict, commit: str) -> Path:
    (path,) = (k["results"] / "box").glob(f"{commit[:8]}-*.json")
    return path


def started(k: dict, commit: str) -> dict[str, int]:
    """asv's per-benchmark ``started_at`` (ms) of the commit: a benchmark run again gets a
    new one. Read through the loader's raw view would duplicate it; asv's column is it."""
    data = json.loads(result_file(k, commit).read_text())
    col = data["result_columns"].index("started_at")
    return {name: row[col] for name, row in data["results"].items()}


def test_sigkill_mid_suite_keeps_what_was_saved_resumes_and_gates_missing(killable, capsys):
    import signal

    k = killable
    # the base: every benchmark
    subprocess.run(asv_run(k, k["base"], r"^slow\."), cwd=k["repo"], env=k["env"],
                   check=True, capture_output=True)
    # the head: an earlier, complete asv run saved two benchmarks...
    subprocess.run(asv_run(k, k["head"], r"^slow\.Sleep\.time_s[12]$"), cwd=k["repo"],
                   env=k["env"], check=True, capture_output=True)
    saved = result_file(k, k["head"]).read_bytes()
    before = started(k, k["head"])
    assert sorted(before) == SLOW[:2]

    # ...then the full run is killed with SIGKILL after its third benchmark finished
    proc = subprocess.Popen(asv_run(k, k["head"], r"^slow\."), cwd=k["repo"], env=k["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if "slow.Sleep.time_s3" in line:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.stdout.close()
    assert proc.wait(timeout=60) == -signal.SIGKILL, "".join(seen)
    assert not any("time_s6" in line for line in seen)  # killed half-way, not at the end

    # what was saved is intact, byte for byte, and loads
    assert result_file(k, k["head"]).read_bytes() == saved
    loaded = results.load(k["results"], cache=False)
    assert loaded.problems == ()
    assert sorted(r.benchmark for r in loaded.rows if r.commit == k["head"]) == SLOW[:2]

    # the gate names what is missing at HEAD: missing, and the gate fails
    code, out, err = run_cli(["gate", k["base"], k["head"], "--results-dir", str(k["results"]),
                              "--format", "json"], capsys)
    assert code == 1, err
    doc = json.loads(out)
    status = {r["benchmark"]: r["status"] for r in doc["results"]}
    assert {b: status[b] for b in SLOW[2:]} == dict.fromkeys(SLOW[2:], "missing")
    assert set(status) == set(SLOW) and doc["verdict"] == "fail"
    code, text, _ = run_cli(["gate", k["base"], k["head"], "--results-dir",
                             str(k["results"])], capsys)
    headline = text.splitlines()[0]
    assert code == 1 and "❌ 5 missing at HEAD (7 series" in headline, headline
    assert [line.split()[-1] for line in text.splitlines()
            if line.startswith(tuple(SLOW[2:]))] == ["missing"] * 5

    # the next run resumes: only the five missing benchmarks run, the two saved stay
    bw = Path(sys.executable).parent / "benchwatch"
    resumed = subprocess.run(
        [str(bw), "run", "faults", "--env", "ci", "--config",
         str(k["repo"] / "configs" / "suites.yaml"), "--asv-config",
         str(k["repo"] / "asv.conf.json"), "--machine", "box", "--quick", "--skip-existing",
         "--asv-env", f"existing:{sys.executable}", "--format", "json"],
        cwd=k["repo"], env=k["env"], capture_output=True, text=True, timeout=300, check=False)
    assert resumed.returncode in (0, 1), resumed.stderr[-3000:]
    assert "--skip-existing" in resumed.stderr  # the asv command it ran
    ran = [name for name in SLOW if f"··· {name} " in resumed.stderr]
    assert ran == SLOW[2:], resumed.stderr[-3000:]
    after = started(k, k["head"])
    assert sorted(after) == sorted(SLOW)
    assert {b: after[b] for b in SLOW[:2]} == before  # not run again
    code, out, err = run_cli(["gate", k["base"], k["head"], "--results-dir",
                              str(k["results"]), "--format", "json"], capsys)
    assert not {"removed", "missing"} & {r["status"] for r in json.loads(out)["results"]}, out
