"""``benchwatch backfill``: chunking, resume and the exact asv commands.

A real git repository supplies the range; a fake ``asv`` (a small Python script)
writes one result file per commit of its HASHFILE and can die in the middle of a
chunk, which is what a killed backfill looks like. No benchmark runs.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from benchwatch import cli, run
from benchwatch.errors import UserError
from benchwatch.results_branch import chunked, existing_result_hashes

MACHINE = "ci-runner-1"

FAKE_ASV = """\
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_ASV_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args[0] == "machine":
    sys.exit(0)
conf = os.path.abspath(args[args.index("--config") + 1])
machine = args[args.index("--machine") + 1]
with open(conf) as f:
    text = "".join(line for line in f if not line.strip().startswith("//"))
mdir = os.path.join(os.path.dirname(conf), json.loads(text)["results_dir"], machine)
os.makedirs(mdir, exist_ok=True)
hashfile = next(a for a in args if a.startswith("HASHFILE:"))[len("HASHFILE:"):]
with open(hashfile) as f:
    hashes = f.read().split()
with open(os.environ["FAKE_ASV_LOG"], "a") as log:
    log.write(json.dumps(hashes) + "\\n")
for h in hashes:
    if os.environ.get("FAKE_ASV_DIE_AT") == h:
        sys.exit(1)
    if "--skip-existing-commits" in args and any(
            n.startswith(h[:8] + "-") for n in os.listdir(mdir)):
        continue
    with open(os.path.join(mdir, h[:8] + "-py3.11.json"), "w") as f:
        f.write("{}")
sys.exit(int(os.environ.get("FAKE_ASV_EXIT", "0")))
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A repository with seven commits on main, an asv.conf.json (with a comment) and
    results for the 3rd and 5th commit on MACHINE; a fake asv on the path."""
    repo = tmp_path / "proj"
    repo.mkdir()
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    git(repo, "init", "-q", "-b", "main")
    (repo / "asv.conf.json").write_text(
        '{\n  // asv allows comments\n  "repo": ".",\n  "results_dir": "results"\n}\n')
    for i in range(7):
        (repo / "f.txt").write_text(f"{i}\n")
        git(repo, "add", "f.txt", "asv.conf.json")
        git(repo, "-c", "user.name=dev", "-c", "user.email=dev@x", "commit", "-q", "-m", f"c{i}")
    commits = git(repo, "rev-list", "--reverse", "main").split()
    mdir = repo / "results" / MACHINE
    mdir.mkdir(parents=True)
    (mdir / "machine.json").write_text("{}")
    for c in (commits[2], commits[4]):
        (mdir / f"{c[:8]}-py3.11.json").write_text("{}")
    (repo / "results" / "other-machine").mkdir()
    (repo / "results" / "other-machine" / f"{commits[1][:8]}-py3.11.json").write_text("{}")
    fake = tmp_path / "asv"
    fake.write_text(f"#!{sys.executable}\n{FAKE_ASV}")
    fake.chmod(0o755)
    monkeypatch.setattr(run, "asv_executable", lambda: str(fake))
    monkeypatch.setenv("FAKE_ASV_LOG", str(tmp_path / "asv.log"))
    monkeypatch.chdir(repo)
    return repo, commits, fake


def calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "asv.log"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_chunked_and_existing_hashes(tmp_path):
    assert chunked(list("abcdefg"), 3) == (("a", "b", "c"), ("d", "e", "f"), ("g",))
    assert chunked([], 3) == ()
    assert chunked(list("ab"), 10) == (("a", "b"),)
    with pytest.raises(UserError, match="--chunk must be >= 1, not 0"):
        chunked(["a"], 0)
    m = tmp_path / "m"
    m.mkdir()
    for name in ("machine.json", "deadbeef-py3.11.json", "cafef00d-conda-py3.12.json",
                 "12345678-env.json.tmp", "notes.txt"):
        (m / name).write_text("")
    assert existing_result_hashes(tmp_path, "m") == {"deadbeef", "cafef00d"}
    assert existing_result_hashes(tmp_path, "absent") == set()


def test_dry_run_prints_the_chunks_and_exact_commands(project, tmp_path, capsys):
    repo, c, fake = project
    code = cli.main(["backfill", f"{c[0]}..main", "--machine", MACHINE, "--chunk", "2",
                     "--dry-run", "--", "--bench", "simd", "-a", "repeat=3"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    conf = repo / "asv.conf.json"
    hf = repo / ".asv" / "backfill" / MACHINE

    def run_cmd(i: int) -> str:
        return shlex.join([str(fake), "run", "--config", str(conf), "--machine", MACHINE,
                           "--skip-existing-commits", "--bench", "simd", "-a", "repeat=3",
                           f"HASHFILE:{hf}/chunk-{i}-of-2.txt"])

    assert out.splitlines() == [
        (f"backfill {c[0]}..main on machine {MACHINE}: 6 commits, 2 with results already, "
        "4 to run in 2 chunks"),
        f"results dir: {repo / 'results'}",
        "$ " + shlex.join([str(fake), "machine", "--yes", "--machine", MACHINE,
                           "--config", str(conf)]),
        f"chunk 1/2: 2 commits ({c[1][:10]}..{c[3][:10]})",
        f"  {c[1]}", f"  {c[3]}",
        "$ " + run_cmd(1),
        f"chunk 2/2: 2 commits ({c[5][:10]}..{c[6][:10]})",
        f"  {c[5]}", f"  {c[6]}",
        "$ " + run_cmd(2),
    ]
    assert calls(tmp_path) == [] and not hf.exists()  # nothing run, nothing written


def test_a_killed_backfill_resumes_where_it_stopped(project, tmp_path, capsys):
    repo, c, _fake = project
    argv = ["backfill", "main", "--machine", MACHINE, "--chunk", "3"]
    os.environ["FAKE_ASV_DIE_AT"] = c[5]  # dies in chunk 2, after writing c[3]
    try:
        code = cli.main(argv)
    finally:
        del os.environ["FAKE_ASV_DIE_AT"]
    out, err = capsys.readouterr()
    assert code == 2
    assert out.splitlines() == [
        (f"backfill main on machine {MACHINE}: 7 commits, 2 with results already, "
        "5 to run in 2 chunks"),
        f"chunk 1/2: 3 commits ({c[0][:10]}..{c[3][:10]})",
        "chunk 1/2: done",
        f"chunk 2/2: 2 commits ({c[5][:10]}..{c[6][:10]})",
    ]
    hashfile = repo / ".asv" / "backfill" / MACHINE / "chunk-2-of-2.txt"
    assert err.splitlines()[-1] == (
        f"benchwatch: error: {hashfile}: asv run exited 1 in chunk 2/2 "
        f"({c[5][:10]}..{c[6][:10]}); rerun the same backfill to resume")
    assert hashfile.read_text() == f"{c[5]}\n{c[6]}\n"
    log = calls(tmp_path)
    assert [log[0][0], log[1][0], log[3][0]] == ["machine", "run", "run"] and len(log) == 5
    assert log[2] == [c[0], c[1], c[3]] and log[4] == [c[5], c[6]]
    assert existing_result_hashes(repo / "results", MACHINE) == {
        x[:8] for x in (c[0], c[1], c[2], c[3], c[4])}

    (tmp_path / "asv.log").unlink()
    assert cli.main(argv) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines() == [
        (f"backfill main on machine {MACHINE}: 7 commits, 5 with results already, "
        "2 to run in 1 chunk"),
        f"chunk 1/1: 2 commits ({c[5][:10]}..{c[6][:10]})",
        "chunk 1/1: done",
    ]
    assert calls(tmp_path)[2] == [c[5], c[6]]
    assert existing_result_hashes(repo / "results", MACHINE) == {x[:8] for x in c}

    (tmp_path / "asv.log").unlink()
    assert cli.main(argv) == 0
    out, _ = capsys.readouterr()
    assert out == (f"backfill main on machine {MACHINE}: 7 commits, 7 with results already, "
                   "0 to run in 0 chunks\n")
    assert calls(tmp_path) == []  # asv is not even asked about the machine


def test_asv_exit_2_some_benchmark_failed_is_not_fatal(project, tmp_path, capsys,
                                                        monkeypatch):
    repo, c, _ = project
    monkeypatch.setenv("FAKE_ASV_EXIT", "2")
    assert cli.main(["backfill", f"{c[4]}..main", "--machine", MACHINE]) == 0
    out, _ = capsys.readouterr()
    assert out.splitlines()[-1] == "chunk 1/1: done (some benchmarks failed)"
    assert existing_result_hashes(repo / "results", MACHINE) >= {c[5][:8], c[6][:8]}


@pytest.mark.parametrize("argv, message", [
    (["backfill", "nosuch..main"], "not a revision range in"),
    (["backfill", "main", "--chunk", "0"], "--chunk must be >= 1, not 0"),
    (["backfill", "main", "--config", "missing.json"], "missing.json: cannot read asv config"),
])
def test_bad_input_is_one_line_exit_2(project, capsys, argv, message):
    code = cli.main([*argv, "--machine", MACHINE, "--dry-run"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and message in err, err


def test_a_remote_asv_repo_is_refused(project, capsys):
    repo, _, _ = project
    (repo / "remote.json").write_text('{"repo": "https://github.com/x/y.git"}')
    assert cli.main(["backfill", "main", "--config", "remote.json", "--dry-run"]) == 2
    assert "backfill needs a local repository" in capsys.readouterr().err
