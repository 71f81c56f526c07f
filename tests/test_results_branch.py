"""``benchwatch results push|pull`` against local bare repositories with real git.

A bare repository plays ``origin``; clones play CI runners. Concurrent pushes are real
subprocesses released together by a barrier file, and the bare repository's
``pre-receive`` hook holds every push until all of them have arrived, so they are
guaranteed to be built on the same tip and all but one must lose the race and retry.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchwatch import cli, results
from benchwatch.results_branch import branch_prefix, merge_benchmarks

METPY = Path("/work/shared/data/real-asv/metpy-benchmark/results")
BRANCH = "benchmark-results"


@pytest.fixture(autouse=True)
def isolated_git(tmp_path, monkeypatch):
    """No global or system git config: no identity, no hooks, no templates."""
    cfg = tmp_path / "gitconfig"
    cfg.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(cfg))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                "GIT_COMMITTER_EMAIL", "GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE"):
        monkeypatch.delenv(var, raising=False)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def origin(tmp_path) -> Path:
    """A bare origin with a main branch; the reflog records every ref update."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(bare, "config", "core.logAllRefUpdates", "true")
    seed = tmp_path / "seed"
    git(tmp_path, "clone", "-q", str(bare), str(seed))
    (seed / "README").write_text("engine\n")
    git(seed, "add", "README")
    git(seed, "-c", "user.name=dev", "-c", "user.email=dev@x", "commit", "-q", "-m", "init")
    git(seed, "push", "-q", "origin", "main")
    return bare


def clone(origin: Path, path: Path) -> Path:
    git(origin.parent, "clone", "-q", str(origin), str(path))
    return path


def write_results(results_dir: Path, machine: str, commits: dict[str, str],
                  benchmarks: dict | None = None) -> None:
    """asv's layout; result contents are opaque to push/pull, so small stand-ins do."""
    mdir = results_dir / machine
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "machine.json").write_text(json.dumps({"machine": machine, "version": 1}) + "\n")
    for hash8, body in commits.items():
        (mdir / f"{hash8}-py3.11.json").write_text(body)
    if benchmarks is not None:
        (results_dir / "benchmarks.json").write_text(json.dumps(benchmarks, indent=4) + "\n")


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def branch_files(origin: Path) -> dict[str, str]:
    names = git(origin, "ls-tree", "-r", "--name-only", BRANCH).splitlines()
    return {n: git(origin, "show", f"{BRANCH}:{n}") for n in names}


def history(origin: Path) -> list[list[str]]:
    """[commit, parents...] of the branch, newest first."""
    return [line.split() for line in git(origin, "rev-list", "--parents", BRANCH).splitlines()]


def reflog(origin: Path) -> list[str]:
    """Every value the branch ref took on origin, oldest first."""
    out = git(origin, "reflog", "show", "--format=%H", f"refs/heads/{BRANCH}")
    return list(reversed(out.splitlines()))


def assert_never_forced(origin: Path) -> None:
    values = reflog(origin)
    for old, new in itertools.pairwise(values):
        subprocess.run(["git", "-C", str(origin), "merge-base", "--is-ancestor", old, new],
                       check=True)


def push_argv(repo: Path, results_dir: Path, *extra: str) -> list[str]:
    return ["results", "push", "--repo", str(repo), "--results-dir", str(results_dir),
            "--backoff", "0.05", *extra]


# --------------------------------------------------------------------------- layout


def test_branch_prefix_follows_the_run_layout(tmp_path):
    assert branch_prefix(tmp_path / ".asv" / "results" / "ci-fast-ci") == "results/ci-fast-ci"
    assert branch_prefix(tmp_path / ".asv" / "results") == "results"
    assert branch_prefix(tmp_path / "results") == "results"
    assert branch_prefix(tmp_path / "anything", "hist/x/") == "hist/x"
    for bad in ("../x", "/abs", "a/../b", "", "./a"):
        with pytest.raises(Exception, match="--prefix must be a relative path"):
            branch_prefix(tmp_path, bad)


def test_merge_benchmarks_union_newer_wins():
    old = json.dumps({"a": {"v": 1}, "b": {"v": 1}, "version": 2}).encode()
    new = json.dumps({"b": {"v": 2}, "c": {"v": 2}, "version": 2}).encode()
    merged = json.loads(merge_benchmarks(old, new, "x"))
    assert merged == {"a": {"v": 1}, "b": {"v": 2}, "c": {"v": 2}, "version": 2}
    # one side already holds the union: its bytes come back untouched
    assert merge_benchmarks(old, old[:-1] + b" }", "x") == old[:-1] + b" }"
    sub = json.dumps({"a": {"v": 1}}).encode()
    assert merge_benchmarks(old, sub, "x") == old
    assert merge_benchmarks(None, new, "x") == new
    assert merge_benchmarks(b"{broken", new, "x") == new


# --------------------------------------------------------------------------- push


def test_push_creates_the_branch_as_an_orphan_then_repush_is_a_noop(origin, tmp_path, capsys):
    a = clone(origin, tmp_path / "a")
    res = a / ".asv" / "results" / "ci-fast-ci"
    write_results(res, "m1", {"aaaa1111": "r1\n", "bbbb2222": "r2\n"}, {"x.t": {"v": 1}})
    code, out, err = run_cli(push_argv(a, res), capsys)
    assert code == 0, err
    sha = git(origin, "rev-parse", BRANCH)
    assert out.splitlines() == [
        (f"pushed {sha[:12]} to {BRANCH} on origin (attempt 1, new branch): 4 added, "
        "0 replaced, 0 merged, 0 unchanged, 0 as pulled"),
        "  + results/ci-fast-ci/benchmarks.json",
        "  + results/ci-fast-ci/m1/aaaa1111-py3.11.json",
        "  + results/ci-fast-ci/m1/bbbb2222-py3.11.json",
        "  + results/ci-fast-ci/m1/machine.json",
    ]
    assert history(origin) == [[sha]]  # an orphan: no parent, main's files absent
    files = branch_files(origin)
    assert sorted(files) == ["results/ci-fast-ci/benchmarks.json",
                             "results/ci-fast-ci/m1/aaaa1111-py3.11.json",
                             "results/ci-fast-ci/m1/bbbb2222-py3.11.json",
                             "results/ci-fast-ci/m1/machine.json"]
    assert files["results/ci-fast-ci/m1/aaaa1111-py3.11.json"] == "r1"
    # no identity configured anywhere: benchwatch commits as itself
    assert git(origin, "log", "-1", "--format=%an <%ae>|%s", BRANCH) == (
        "benchwatch <benchwatch@localhost>|asv results from m1 (4 files under "
        "results/ci-fast-ci/)")

    code, out, _ = run_cli(push_argv(a, res, "--format", "json"), capsys)
    assert code == 0
    report = json.loads(out)
    assert (report["pushed"], report["commit"], report["unchanged"], report["added"]) == (
        False, None, 4, [])
    assert git(origin, "rev-parse", BRANCH) == sha
    assert reflog(origin) == [sha]


def test_push_and_pull_leave_checkout_index_head_and_refs_alone(origin, tmp_path, capsys):
    a = clone(origin, tmp_path / "a")
    (a / "README").write_text("edited, not staged\n")
    (a / "staged.txt").write_text("staged\n")
    git(a, "add", "staged.txt")
    (a / "untracked.txt").write_text("x\n")
    res = tmp_path / "elsewhere" / "results"
    write_results(res, "m1", {"aaaa1111": "r1\n"})

    def state() -> tuple:
        refs = [r for r in git(a, "for-each-ref", "--format=%(refname) %(objectname)")
                .splitlines() if not r.startswith(f"refs/remotes/origin/{BRANCH} ")]
        return (git(a, "status", "--porcelain=v1", "-uall"), git(a, "rev-parse", "HEAD"),
                git(a, "ls-files", "-s"), (a / ".git" / "index").read_bytes(),
                git(a, "symbolic-ref", "HEAD"), refs, git(a, "stash", "list"),
                sorted(p.name for p in (a / ".git").iterdir()))

    before = state()
    assert run_cli(push_argv(a, res), capsys)[0] == 0
    write_results(res, "m1", {"cccc3333": "r3\n"})
    assert run_cli(push_argv(a, res), capsys)[0] == 0
    code, _, err = run_cli(["results", "pull", "--repo", str(a), "--into",
                            str(tmp_path / "pulled" / "results")], capsys)
    assert code == 0, err
    assert state() == before
    assert git(a, "for-each-ref", "refs/benchwatch") == ""  # temporary refs deleted
    assert not (a / ".git" / "FETCH_HEAD").exists()


def test_collision_replaces_same_path_keeps_others_and_merges_benchmarks(origin, tmp_path,
                                                                          capsys):
    a, b = clone(origin, tmp_path / "a"), clone(origin, tmp_path / "b")
    ra, rb = a / "results", b / "results"
    write_results(ra, "m1", {"aaaa1111": "first run\n", "bbbb2222": "r2\n"},
                  {"s.a": {"v": 1}, "s.b": {"v": 1}, "version": 2})
    assert run_cli(push_argv(a, ra), capsys)[0] == 0
    write_results(rb, "m1", {"aaaa1111": "re-run\n"}, {"s.b": {"v": 2}, "s.c": {"v": 2},
                                                      "version": 2})
    code, out, err = run_cli(push_argv(b, rb, "--format", "json"), capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["added"] == []
    assert report["replaced"] == ["results/m1/aaaa1111-py3.11.json"]
    assert report["merged"] == ["results/benchmarks.json"]
    assert report["unchanged"] == 1  # machine.json, identical
    files = branch_files(origin)
    assert files["results/m1/aaaa1111-py3.11.json"] == "re-run"
    assert files["results/m1/bbbb2222-py3.11.json"] == "r2"  # not in b's push: kept
    assert json.loads(files["results/benchmarks.json"]) == {
        "s.a": {"v": 1}, "s.b": {"v": 2}, "s.c": {"v": 2}, "version": 2}
    assert len(history(origin)) == 2 and history(origin)[0][1] == history(origin)[1][0]


# --------------------------------------------------------------------------- concurrency


BARRIER_SCRIPT = """
import os, sys, time
barrier = sys.argv[1]
deadline = time.monotonic() + 30
while not os.path.exists(barrier) and time.monotonic() < deadline:
    time.sleep(0.005)
from benchwatch import cli
sys.exit(cli.main(sys.argv[2:]))
"""


def hold_pushes_until(origin: Path, count: int, marks: Path) -> None:
    """A pre-receive hook that keeps each push waiting until ``count`` pushes have
    arrived (10 s at most), so all of them were built on the same tip."""
    marks.mkdir()
    hook = origin / "hooks" / "pre-receive"
    hook.write_text(f"""#!/bin/sh
cat > /dev/null
: > "{marks}/arrived.$$"
i=0
while [ "$(ls "{marks}" | wc -l)" -lt {count} ] && [ $i -lt 200 ]; do
  sleep 0.05; i=$((i+1))
done
exit 0
""")
    hook.chmod(0o755)


def push_together(jobs: list[tuple[Path, list[str]]], barrier: Path) -> list[tuple]:
    procs = [subprocess.Popen([sys.executable, "-c", BARRIER_SCRIPT, str(barrier), *argv],
                              cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for cwd, argv in jobs]
    time.sleep(0.3)  # every interpreter is up and polling
    barrier.write_text("go")
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=60)
        out.append((proc.returncode, stdout, stderr))
    return out


@pytest.mark.parametrize("branch_exists", [False, True])
def test_two_concurrent_pushes_from_two_machines_both_land(origin, tmp_path, capsys,
                                                           branch_exists):
    if branch_exists:
        s = clone(origin, tmp_path / "s")
        write_results(s / "results", "m0", {"00000000": "seed\n"})
        assert run_cli(push_argv(s, s / "results"), capsys)[0] == 0
    jobs = []
    for name, commit in (("m1", "aaaa1111"), ("m2", "bbbb2222")):
        c = clone(origin, tmp_path / name)
        write_results(c / "results", name, {commit: f"{name}\n"},
                      {f"bench.{name}": {"v": 1}, "version": 2})
        jobs.append((c, push_argv(c, c / "results", "--format", "json")))
    hold_pushes_until(origin, 2, tmp_path / "marks")
    outcomes = push_together(jobs, tmp_path / "barrier")
    assert [code for code, _, _ in outcomes] == [0, 0], outcomes
    reports = [json.loads(stdout) for _, stdout, _ in outcomes]
    assert sorted(r["attempts"] for r in reports) == [1, 2]  # one lost the race once
    loser = next(err for (_, _, err), r in zip(outcomes, reports) if r["attempts"] == 2)
    assert "attempt 1 lost a race" in loser
    files = branch_files(origin)
    assert files["results/m1/aaaa1111-py3.11.json"] == "m1"
    assert files["results/m2/bbbb2222-py3.11.json"] == "m2"
    assert json.loads(files["results/benchmarks.json"]) == {
        "bench.m1": {"v": 1}, "bench.m2": {"v": 1}, "version": 2}
    chain = history(origin)
    assert len(chain) == 2 + branch_exists
    assert all(len(c) <= 2 for c in chain)  # linear: no merges
    assert [c[0] for c in reversed(chain)] == reflog(origin)  # every tip was a tip once
    assert_never_forced(origin)


def test_matrix_of_three_machines_all_land_linear_never_forced(origin, tmp_path, capsys):
    s = clone(origin, tmp_path / "s")
    write_results(s / "results", "m0", {"00000000": "seed\n"})
    assert run_cli(push_argv(s, s / "results"), capsys)[0] == 0
    jobs = []
    for i in (1, 2, 3):
        c = clone(origin, tmp_path / f"runner{i}")
        write_results(c / "results", f"m{i}", {f"{i}" * 8: f"m{i}\n", f"{i}abcdef0": "x\n"})
        jobs.append((c, push_argv(c, c / "results", "--format", "json", "--retries", "8")))
    hold_pushes_until(origin, 3, tmp_path / "marks")
    outcomes = push_together(jobs, tmp_path / "barrier")
    assert [code for code, _, _ in outcomes] == [0, 0, 0], outcomes
    attempts = sorted(json.loads(stdout)["attempts"] for _, stdout, _ in outcomes)
    assert attempts[0] == 1 and attempts[1] >= 2 and attempts[2] >= 2
    files = branch_files(origin)
    assert sorted(files) == sorted(
        ["results/m0/00000000-py3.11.json", "results/m0/machine.json"]
        + [f"results/m{i}/{name}" for i in (1, 2, 3)
           for name in (f"{i}" * 8 + "-py3.11.json", f"{i}abcdef0-py3.11.json",
                        "machine.json")])
    chain = history(origin)
    assert len(chain) == 4
    assert [len(c) for c in chain] == [2, 2, 2, 1]  # linear, the seed commit an orphan
    assert [c[0] for c in reversed(chain)] == reflog(origin)
    assert_never_forced(origin)


def test_retries_exhausted_is_exit_2_and_the_winner_stays(origin, tmp_path, capsys):
    jobs = []
    for name in ("m1", "m2"):
        c = clone(origin, tmp_path / name)
        write_results(c / "results", name, {"aaaa1111": f"{name}\n"})
        jobs.append((c, push_argv(c, c / "results", "--retries", "0")))
    hold_pushes_until(origin, 2, tmp_path / "marks")
    outcomes = push_together(jobs, tmp_path / "barrier")
    assert sorted(code for code, _, _ in outcomes) == [0, 2]
    _, out, err = next(o for o in outcomes if o[0] == 2)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("benchwatch: error: ")
    assert "still refused after 1 attempts" in lines[0] and "retries exhausted" in lines[0]
    assert len(history(origin)) == 1


def test_a_refusal_that_is_not_a_race_is_exit_2_without_retry(origin, tmp_path, capsys):
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'results branch is frozen' >&2\nexit 1\n")
    hook.chmod(0o755)
    a = clone(origin, tmp_path / "a")
    write_results(a / "results", "m1", {"aaaa1111": "r\n"})
    code, out, err = run_cli(push_argv(a, a / "results"), capsys)
    assert code == 2 and out == ""
    assert err == (f"benchwatch: error: {a}: origin refused the push to {BRANCH}: "
                   "[remote rejected] (pre-receive hook declined)\n")


# --------------------------------------------------------------------------- pull


def test_pull_round_trips_the_metpy_history_byte_for_byte(origin, tmp_path, capsys):
    a = clone(origin, tmp_path / "a")
    src = tmp_path / "src" / "results"
    shutil.copytree(METPY, src)
    code, out, _ = run_cli(push_argv(a, src, "--format", "json"), capsys)
    assert code == 0 and len(json.loads(out)["added"]) == 61  # 59 runs, machine, benchmarks
    into = tmp_path / "b" / "results"
    code, out, _ = run_cli(["results", "pull", "--repo", str(a), "--into", str(into)], capsys)
    assert code == 0
    assert out.endswith(f"into {into}: 61 written, 0 merged, 0 kept local, 0 unchanged\n")
    for path in src.rglob("*.json"):
        assert (into / path.relative_to(src)).read_bytes() == path.read_bytes()
    got, want = results.load(into, cache=False), results.load(src, cache=False)
    assert len(got.rows) == len(want.rows) == 7552
    assert len({r.commit for r in got.rows}) == 59  # 60 files, one without rows
    # pulling again changes nothing
    code, out, _ = run_cli(["results", "pull", "--repo", str(a), "--into", str(into)], capsys)
    assert out.endswith("0 written, 0 merged, 0 kept local, 61 unchanged\n")


def test_pull_of_a_missing_branch_is_exit_0_and_writes_nothing(origin, tmp_path, capsys):
    a = clone(origin, tmp_path / "a")
    into = tmp_path / "r" / "results"
    code, out, err = run_cli(["results", "pull", "--repo", str(a), "--into", str(into)], capsys)
    assert (code, err) == (0, "")
    assert out == f"nothing to pull: no branch {BRANCH} on origin yet; {into} left as it was\n"
    assert not into.exists()


def test_pull_keeps_local_results_and_push_never_sends_stale_pulled_files(origin, tmp_path,
                                                                         capsys):
    a, b = clone(origin, tmp_path / "a"), clone(origin, tmp_path / "b")
    write_results(a / "results", "m1", {"aaaa1111": "v1\n", "bbbb2222": "r2\n"})
    assert run_cli(push_argv(a, a / "results"), capsys)[0] == 0
    rb = b / "results"
    assert run_cli(["results", "pull", "--repo", str(b), "--into", str(rb)], capsys)[0] == 0
    # a re-runs aaaa1111 and pushes v2; b still has v1 exactly as pulled
    (a / "results" / "m1" / "aaaa1111-py3.11.json").write_text("v2\n")
    assert run_cli(push_argv(a, a / "results"), capsys)[0] == 0
    # b benchmarks a new commit and pushes its whole directory
    write_results(rb, "m2", {"cccc3333": "m2\n"})
    code, out, err = run_cli(push_argv(b, rb, "--format", "json"), capsys)
    assert code == 0, err
    report = json.loads(out)
    assert report["skipped_pulled"] == 3
    assert report["added"] == ["results/m2/cccc3333-py3.11.json", "results/m2/machine.json"]
    assert report["replaced"] == []
    assert branch_files(origin)["results/m1/aaaa1111-py3.11.json"] == "v2"
    # pull: the as-pulled v1 is updated to v2; a locally changed file is kept
    (rb / "m1" / "bbbb2222-py3.11.json").write_text("local edit\n")
    code, out, _ = run_cli(["results", "pull", "--repo", str(b), "--into", str(rb),
                            "--format", "json"], capsys)
    report = json.loads(out)
    assert (report["written"], report["kept"], report["unchanged"]) == (
        ["m1/aaaa1111-py3.11.json"], ["m1/bbbb2222-py3.11.json"], 3)
    assert (rb / "m1" / "aaaa1111-py3.11.json").read_text() == "v2\n"
    assert (rb / "m1" / "bbbb2222-py3.11.json").read_text() == "local edit\n"


# --------------------------------------------------------------------------- bad input


def test_bad_input_is_one_line_exit_2_and_pushes_nothing(origin, tmp_path, capsys):
    a = clone(origin, tmp_path / "a")
    res = a / "results"
    write_results(res, "m1", {"aaaa1111": "r\n"})
    (res / "benchmarks.json").write_text("{not json")
    cases = [
        (push_argv(a, res), f"{res / 'benchmarks.json'}: not a valid JSON benchmarks.json"),
        (push_argv(a, tmp_path / "none"), (f"{tmp_path / 'none'}: results directory does not "
                                          "exist")),
        (push_argv(a, tmp_path / "empty"), (f"{tmp_path / 'empty'}: no .json result files "
                                            "to push")),
        (push_argv(tmp_path, res), f"{tmp_path}: not a git repository"),
        (push_argv(a, res, "--branch", "bad..name"), "invalid branch name 'bad..name'"),
        (push_argv(a, res, "--retries", "-1"), "--retries must be >= 0, not -1"),
        (push_argv(a, res, "--remote", "nowhere"), ("git ls-remote failed: 'nowhere' does not "
                                                   "appear to be a git repository")),
    ]
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "stray.txt").write_text("not json\n")
    (res / "benchmarks.json").write_text("{not json")
    for argv, message in cases:
        if "nowhere" in argv:
            (res / "benchmarks.json").unlink()
        code, out, err = run_cli(argv, capsys)
        assert (code, out) == (2, ""), argv
        assert err.count("\n") == 1 and err.startswith("benchwatch: error: "), err
        assert message in err, (message, err)
    assert git(origin, "for-each-ref", "--format=%(refname)") == "refs/heads/main"


def test_a_push_landing_between_fetch_and_push_is_retried_on_the_new_tip(origin, tmp_path,
                                                                          capsys):
    """Deterministic interleaving: a's reference-transaction hook fires when a fetches
    the tip into its private ref, and makes b push first; a's commit is then built on a
    stale tip and git refuses it client-side ("fetch first")."""
    a, b = clone(origin, tmp_path / "a"), clone(origin, tmp_path / "b")
    write_results(a / "results", "m1", {"aaaa1111": "a\n"})
    write_results(b / "results", "m2", {"bbbb2222": "b\n"})
    assert run_cli(push_argv(b, b / "results", "--prefix", "seed"), capsys)[0] == 0
    hook = a / ".git" / "hooks" / "reference-transaction"
    mark = tmp_path / "interleaved"
    hook.write_text(f"""#!/bin/sh
[ "$1" = committed ] || exit 0
grep -q ' refs/benchwatch/tmp/' || exit 0
[ -e "{mark}" ] && exit 0
: > "{mark}"
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE GIT_PREFIX GIT_QUARANTINE_PATH
cd "{b}" && "{sys.executable}" -m benchwatch.cli results push --results-dir results >/dev/null
""")
    hook.chmod(0o755)
    code, out, err = run_cli(push_argv(a, a / "results", "--format", "json"), capsys)
    assert code == 0, err
    assert mark.exists()
    assert json.loads(out)["attempts"] == 2
    assert "attempt 1 lost a race ([rejected] (fetch first))" in err
    assert sorted(branch_files(origin)) == [
        "results/m1/aaaa1111-py3.11.json", "results/m1/machine.json",
        "results/m2/bbbb2222-py3.11.json", "results/m2/machine.json",
        "seed/m2/bbbb2222-py3.11.json", "seed/m2/machine.json"]
    assert [len(c) for c in history(origin)] == [2, 2, 1]
    assert_never_forced(origin)
