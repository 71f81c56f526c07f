"""benchwatch baseline: named commits in configs/baselines.yaml, edited round-trip."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from benchwatch import baselines
from benchwatch.cli import main
from benchwatch.errors import UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
A, B, C, D, N = ("a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40)

# A maintainer's file: header, comments above and beside entries, blank lines, a
# custom (not sorted) order, quotes, and a footer.
MAINTAINED = f"""\
# Our baselines. Keep releases first.
# (second header line)

baselines:
  # the first release, kept forever
  v1.0.0:
    commit: {A}   # tagged by hand
    note: "first release"   # quoted on purpose
  # moved on every release
  last-release:
    commit: '{B}'
    date: '2026-01-01T00:00:00Z'

  # zeta comes before alpha on purpose
  zeta:
    commit: {C}
  alpha:
    commit: {D}
# footer: ask before removing v1.0.0
"""


def _write(tmp_path: Path, text: str, name: str = "baselines.yaml") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


# --------------------------------------------------------------------------- load


def test_load_reads_entries_in_file_order_with_lines(tmp_path):
    got = baselines.load(_write(tmp_path, MAINTAINED))
    assert list(got) == ["v1.0.0", "last-release", "zeta", "alpha"]
    assert got["v1.0.0"] == baselines.Baseline("v1.0.0", A, "first release", None, 6)
    assert got["last-release"] == baselines.Baseline("last-release", B, None,
                                                     "2026-01-01T00:00:00Z", 10)
    assert got["alpha"].line == 17


def test_shipped_config_is_empty_and_documented():
    path = REPO_ROOT / "configs" / "baselines.yaml"
    text = path.read_text(encoding="utf-8")
    assert baselines.load(path) == {}
    assert text == baselines.TEMPLATE
    assert text.startswith("# Named baselines")


# --------------------------------------------------------------------------- round trip


def test_set_new_then_remove_is_byte_identical(tmp_path):
    path = _write(tmp_path, MAINTAINED)
    assert baselines.set_baseline(path, "v2.0.0", N, note="second", when="2026-06-01T00:00:00Z") \
        is None
    entry = f"  v2.0.0:\n    commit: {N}\n    note: second\n    date: '2026-06-01T00:00:00Z'\n"
    expected = MAINTAINED.replace("# footer", entry + "# footer")
    assert path.read_text(encoding="utf-8") == expected
    old = baselines.remove_baseline(path, "v2.0.0")
    assert old.commit == N
    assert path.read_text(encoding="utf-8") == MAINTAINED


@pytest.mark.parametrize("name, lines", [
    # the entry, its own comment above it and nothing else
    ("v1.0.0", (4, 8)),
    ("last-release", (8, 12)),
    ("zeta", (12, 16)),
    ("alpha", (16, 18)),
])
def test_remove_drops_only_the_entry_and_its_comment(tmp_path, name, lines):
    path = _write(tmp_path, MAINTAINED)
    baselines.remove_baseline(path, name)
    src = MAINTAINED.splitlines(keepends=True)
    expected = "".join(src[:lines[0]] + src[lines[1]:])
    assert path.read_text(encoding="utf-8") == expected
    assert name not in baselines.load(path)


def test_set_existing_updates_in_place(tmp_path):
    path = _write(tmp_path, MAINTAINED)
    prev = baselines.set_baseline(path, "last-release", N, when="2026-06-02T10:00:00Z")
    assert prev.commit == B
    # only the two values change; the maintainer's quotes stay
    expected = MAINTAINED.replace(B, N).replace("2026-01-01T00:00:00Z", "2026-06-02T10:00:00Z")
    assert path.read_text(encoding="utf-8") == expected


def test_set_note_keeps_end_of_line_comment_and_empty_note_removes_it(tmp_path):
    path = _write(tmp_path, MAINTAINED)
    baselines.set_baseline(path, "v1.0.0", A, note="")
    assert path.read_text(encoding="utf-8") == MAINTAINED.replace(
        '    note: "first release"   # quoted on purpose\n', "")
    baselines.set_baseline(path, "zeta", C, note="odd one")
    assert path.read_text(encoding="utf-8").count(
        f"  zeta:\n    commit: {C}\n    note: odd one\n  alpha:") == 1


def test_template_set_and_remove_round_trip(tmp_path):
    path = _write(tmp_path, baselines.TEMPLATE)
    baselines.set_baseline(path, "v1", A)
    assert path.read_text(encoding="utf-8") == baselines.TEMPLATE.replace(
        "baselines: {}\n", f"baselines:\n  v1:\n    commit: {A}\n")
    baselines.remove_baseline(path, "v1")
    assert path.read_text(encoding="utf-8") == baselines.TEMPLATE


def test_four_space_indentation_is_kept(tmp_path):
    text = f"baselines:\n    # lead\n    a:\n        commit: '{A}'   # c\n# footer\n"
    path = _write(tmp_path, text)
    baselines.set_baseline(path, "b", B)
    assert path.read_text(encoding="utf-8") == text.replace(
        "# footer", f"    b:\n        commit: {B}\n# footer")


def test_file_of_only_comments_gets_the_mapping(tmp_path):
    path = _write(tmp_path, "# nothing yet\n")
    baselines.set_baseline(path, "b", B)
    assert path.read_text(encoding="utf-8") == f"# nothing yet\nbaselines:\n  b:\n    commit: {B}\n"


def test_writes_leave_no_temporary_files(tmp_path):
    path = _write(tmp_path, MAINTAINED)
    baselines.set_baseline(path, "x1", N)
    baselines.remove_baseline(path, "x1")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baselines.yaml"]


# --------------------------------------------------------------------------- bad files


BAD = [
    ("tab", f"baselines:\n  v1:\n\tcommit: {A}\n", 3, "tab character"),
    ("duplicate", f"baselines:\n  v1:\n    commit: {A}\n  v1:\n    commit: {B}\n", 4,
     "duplicate key 'v1' (first defined on line 2)"),
    ("anchor", f"baselines:\n  v1: &x\n    commit: {A}\n  v2: *x\n", 2, "anchors and aliases"),
    ("int commit", "baselines:\n  v1:\n    commit: 1234567890123456789012345678901234567890\n",
     3, "commit must be a string of hex digits, got a number; quote it"),
    ("short commit", "baselines:\n  v1:\n    commit: abc123\n", 3, "is not a full hash"),
    ("note list", f"baselines:\n  v1:\n    commit: {A}\n    note: [a, b]\n", 4,
     "note must be a string, got a list"),
    ("entry string", f"baselines:\n  v1: {A}\n", 2, "expected a mapping with 'commit'"),
    ("missing commit", "baselines:\n  v1:\n    note: x\n", 2, "missing 'commit'"),
    ("unknown key", f"baselines:\n  v1:\n    comit: {A}\n", 3, "unknown key 'comit'"),
    ("top list", "- a\n- b\n", 1, "expected a mapping with a 'baselines' key, got a list"),
    ("top key", "baseline: {}\n", 1, "unknown top-level key 'baseline'"),
    ("bad name", f"baselines:\n  'a b':\n    commit: {A}\n", 2, "baseline name 'a b'"),
    ("hex name", f"baselines:\n  deadbeef:\n    commit: {A}\n", 2, "looks like a commit hash"),
    ("syntax", "baselines:\n  v1: [\n", 3, "YAML:"),
    ("not utf-8", b"# caf\xe9\nbaselines: {}\n", 1, "not UTF-8 (byte 0xe9)"),
]


@pytest.mark.parametrize("case, text, line, message", BAD, ids=[b[0] for b in BAD])
def test_bad_file_is_one_line_error_and_untouched(tmp_path, capsys, case, text, line, message):
    path = _write(tmp_path, text)
    before = path.read_bytes()
    with pytest.raises(UserError) as exc:
        baselines.load(path)
    assert str(exc.value).startswith(f"{path}:{line}: ")
    assert message in str(exc.value)
    with pytest.raises(UserError):
        baselines.set_baseline(path, "new", N)
    assert main(["baseline", "remove", "v1", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{path}:{line}: " in err
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", ["", "-x", ".x", "a b", "a/b", "a:b", "x" * 101, "deadbeef1",
                                  "0123456"])
def test_bad_names_are_refused(name):
    with pytest.raises(UserError):
        baselines.check_name(name)


@pytest.mark.parametrize("name", ["v1.2.0", "last-release", "R_1", "cafe", "abcdef", "x" * 100,
                                  "1.0"])
def test_good_names(name):
    assert baselines.check_name(name) == name


# --------------------------------------------------------------------------- resolve_ref


def test_resolve_ref(tmp_path, tmp_path_factory, monkeypatch):
    path = _write(tmp_path, MAINTAINED)
    assert baselines.resolve_ref("last-release", path) == B
    assert baselines.resolve_ref("v9", path) is None
    missing = tmp_path / "nope.yaml"  # not names: the file is never read
    assert baselines.resolve_ref("HEAD~1", missing) is None
    assert baselines.resolve_ref(A[:12], missing) is None
    # default path: configs/baselines.yaml from the cwd upwards
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "baselines.yaml").write_text(MAINTAINED)
    sub = tmp_path / "deep" / "er"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert baselines.resolve_ref("alpha") == D
    # no baselines file anywhere up: nothing is a name
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    assert baselines.find_config() is None
    assert baselines.resolve_ref("alpha") is None


def test_resolve_ref_on_bad_file_is_an_error(tmp_path):
    path = _write(tmp_path, BAD[1][1])
    with pytest.raises(UserError):
        baselines.resolve_ref("v1", path)


# --------------------------------------------------------------------------- command


COLUMNS = ["result", "params", "version", "started_at", "duration"]


def _results_dir(tmp_path: Path, commits: list[str]) -> Path:
    root = tmp_path / "results"
    (root / "box").mkdir(parents=True)
    (root / "box" / "machine.json").write_text(json.dumps({"machine": "box", "version": 1}))
    for i, commit in enumerate(commits):
        f = root / "box" / f"{commit[:12]}-env.json"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps({
            "commit_hash": commit, "env_name": "env", "date": 1700000000000 + i,
            "params": {"machine": "box"}, "result_columns": COLUMNS, "version": 2,
            "results": {"b.time_x": [[1.0], [], "1", 0, 0.1]}}))
    return root


def test_cli_set_from_results_list_and_remove(tmp_path, capsys):
    h1, h2 = "1234abcd" + "0" * 32, "1234abce" + "1" * 32
    results = _results_dir(tmp_path, [h1, h2])
    config = _write(tmp_path, MAINTAINED)
    assert main(["baseline", "set", "v2", "1234ABCE", "--note", "two", "--results-dir",
                 str(results), "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"v2 -> {h2} (new, {config})\n"
    got = baselines.load(config)["v2"]
    assert (got.commit, got.note) == (h2, "two")
    assert got.date.endswith("Z") and len(got.date) == 20

    assert main(["baseline", "list", "--config", str(config), "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [b["name"] for b in listed["baselines"]] == ["v1.0.0", "last-release", "zeta",
                                                       "alpha", "v2"]
    assert listed["baselines"][0] == {"name": "v1.0.0", "commit": A, "note": "first release",
                                      "date": None}

    assert main(["baseline", "list", "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["name", "commit", "date", "note"]
    assert out[3].split() == ["last-release", B[:12], "2026-01-01T00:00:00Z"]

    assert main(["baseline", "remove", "v2", "--config", str(config)]) == 0
    assert capsys.readouterr().out == f"removed v2 (1234abce1111) from {config}\n"
    assert config.read_text(encoding="utf-8") == MAINTAINED


def test_cli_set_errors(tmp_path, capsys):
    h1, h2 = "1234abcd" + "0" * 32, "1234abcd" + "1" * 32
    results = _results_dir(tmp_path, [h1, h2])
    config = _write(tmp_path, MAINTAINED)
    base = ["--results-dir", str(results), "--config", str(config)]
    assert main(["baseline", "set", "v2", "1234abcd", *base]) == 2
    assert "is ambiguous" in capsys.readouterr().err
    assert main(["baseline", "set", "v2", "99999999", *base]) == 2
    assert "has no results" in capsys.readouterr().err
    assert main(["baseline", "set", "bad name", h1, *base]) == 2
    assert "baseline name 'bad name'" in capsys.readouterr().err
    assert main(["baseline", "remove", "nope", "--config", str(config)]) == 2
    assert "no baseline named 'nope' (defined: v1.0.0, last-release, zeta, alpha)" in \
        capsys.readouterr().err
    assert config.read_text(encoding="utf-8") == MAINTAINED


def test_cli_without_config_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["baseline", "list"]) == 2
    assert "no configs/baselines.yaml here or in a parent directory" in capsys.readouterr().err
    # --config names a new file: set creates it from the template
    results = _results_dir(tmp_path, [A])
    new = tmp_path / "b.yaml"
    assert main(["baseline", "set", "v1", A[:8], "--results-dir", str(results),
                 "--config", str(new)]) == 0
    assert baselines.load(new)["v1"].commit == A
    assert new.read_text(encoding="utf-8").startswith(baselines.TEMPLATE.split("baselines: {}")[0])


def _git(repo: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True,
                          check=True, env=env).stdout.strip()


def test_cli_set_with_repo_uses_git_revisions(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "f").write_text("1")
    _git(repo, "add", "f")
    _git(repo, "commit", "-q", "-m", "one")
    _git(repo, "tag", "v0.1")
    (repo / "f").write_text("2")
    _git(repo, "commit", "-q", "-am", "two")
    first = _git(repo, "rev-parse", "HEAD~1")
    config = _write(tmp_path, baselines.TEMPLATE)
    assert main(["baseline", "set", "rel-0.1", "v0.1", "--repo", str(repo),
                 "--config", str(config)]) == 0
    assert baselines.resolve_ref("rel-0.1", config) == first
    capsys.readouterr()
    assert main(["baseline", "set", "x", "no-such-rev", "--repo", str(repo),
                 "--config", str(config)]) == 2
    assert "git does not know revision 'no-such-rev'" in capsys.readouterr().err
    assert main(["baseline", "set", "x", "HEAD", "--repo", str(tmp_path / "nothing"),
                 "--config", str(config)]) == 2
    capsys.readouterr()


def test_help_has_examples_and_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["baseline", "--help"])
    out = capsys.readouterr().out
    assert "exit codes:" in out and "benchwatch baseline set v1.2.0" in out
