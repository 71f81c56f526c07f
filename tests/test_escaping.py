"""Commit messages are attacker-controlled text (a PR's commits land on main with their
messages): no output may carry their markup.

Today no benchwatch output shows a commit message at all: benchwatch asks git only for
hashes, order and dates, and asv 0.6.6 reads only ``%at`` (its ``plugins/git.py``). This
test holds that down on a real repository whose every commit message is hostile
markup: the history site (``site build --no-asv``, every generated page and data file),
``benchwatch changes`` as text, markdown, JSON and Atom, and ``benchwatch gate`` as
markdown and HTML. None may contain the markup unescaped, and (today) none contains the
message at all; should an output start to show messages, the second assertion names it,
and the first keeps requiring that it is escaped.

Benchmark names and parameters with markup are covered elsewhere: tests/test_comment.py
(the PR comment), tests/test_site_browser.py (the site and asv's pages in a real browser:
no dialog, no injected element), tests/test_bad_input_fuzz.py (the renderers, fuzzed).
"""

import subprocess
import sys
from pathlib import Path

import pytest

from benchwatch import cli

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

import site_speed

MARKUP = "<img src=x onerror=alert('commit')>"
MARKER = "COMMITMSG"
AUTHOR = 'Mallory" onmouseover="alert(2)'  # git refuses < and > in names
COMMITS = 40


def hostile_repo(repo: Path, start_s: int) -> list[str]:
    """Commits whose messages are markup, a markdown link and a fake @mention."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    stream = []
    for i in range(COMMITS):
        msg = (f"{MARKER} {i} {MARKUP} [x](javascript:alert(1)) @octocat "
               f"<script>alert({i})</script>\n\n| a | b |\n").encode()
        stream.append(f"commit refs/heads/main\nmark :{i + 1}\n"
                      f"author {AUTHOR} <m@example.com> {start_s + i * 3600} +0000\n"
                      f"committer bench <bench@example.com> {start_s + i * 3600} +0000\n"
                      f"data {len(msg)}\n".encode() + msg
                      + (f"from :{i}\n".encode() if i else b"") + b"\n")
    subprocess.run(["git", "-C", str(repo), "fast-import", "--quiet"], input=b"".join(stream),
                   check=True)
    return subprocess.run(["git", "-C", str(repo), "rev-list", "--reverse", "main"],
                          capture_output=True, text=True, check=True).stdout.split()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    base = tmp_path_factory.mktemp("escaping")
    start_s = 1_600_000_000
    commits = hostile_repo(base / "repo", start_s)
    site_speed.write_results(base / "results", commits, 6, start_s)
    log = subprocess.run(["git", "-C", str(base / "repo"), "log", "-1", "--format=%B"],
                         capture_output=True, text=True, check=True).stdout
    assert MARKUP in log  # the repository really holds the hostile messages
    common = ["--results-dir", str(base / "results"), "--repo", str(base / "repo")]
    out = base / "out"
    out.mkdir()
    runs = [["site", "build", *common, "--out", str(base / "site"), "--config",
             str(ROOT / "mkdocs.yml"), "--no-asv", "--pdf", "no",
             "--annotations", str(base / "none.yaml")]]
    for fmt in ("text", "markdown", "json", "atom"):
        runs.append(["changes", *common, "--format", fmt, "--output",
                     str(out / f"changes.{fmt}")])
    for fmt in ("markdown", "html"):
        runs.append(["gate", *common, commits[-2], commits[-1], "--format", fmt,
                     "--output", str(out / f"gate.{fmt}")])
    for argv in runs:
        assert cli.main(argv) in (0, 1), argv  # 1: the gate's verdict on random data
    files = [p for p in (base / "site").rglob("*") if p.is_file()
             and p.suffix in (".html", ".json", ".xml", ".md", ".csv", ".js", ".txt")]
    files += sorted(out.iterdir())
    return {"files": files, "commits": commits}


def test_no_output_holds_a_commit_messages_markup(outputs):
    assert len(outputs["files"]) > 20
    for path in outputs["files"]:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert MARKUP not in text, path
        assert AUTHOR not in text, path
        assert "javascript:alert(1)" not in text, path


def test_no_output_shows_a_commit_message_today(outputs):
    shown = [str(p) for p in outputs["files"] if MARKER in p.read_text(encoding="utf-8",
                                                              errors="replace")]
    assert shown == []


def test_the_scan_reads_the_outputs(outputs):
    """The scans above can fail: the outputs they read do show the commits, by hash."""
    names = {p.name for p in outputs["files"]}
    assert {"changes.atom", "changes.json", "gate.html", "gate.markdown",
            "dashboard.json", "index.html"} <= names
    text = "".join(p.read_text(encoding="utf-8", errors="replace") for p in outputs["files"])
    assert outputs["commits"][-1] in text


BIDI_NAME = "bench.S.time_\u202egnp.exe\u2066x\u2069\x1b[31m\n<b>"


def test_html_tables_show_bidi_and_control_characters_as_escapes():
    """A right-to-left override in a benchmark name would make the HTML table show
    ``exe.png`` reversed for another name; every HTML output shows it as ``\\u202e``."""
    from benchwatch.render import html

    page = html.page("gate", ["benchmark"], [[BIDI_NAME]])
    body = page[page.index("<tbody>"):]
    for raw in ("\u202e", "\u2066", "\u2069", "\x1b", "<b>"):
        assert raw not in body
    assert "time_\\u202egnp.exe\\u2066x\\u2069\\x1b[31m\\n&lt;b&gt;" in body


def test_the_sites_html_templates_escape_bidi_too():
    from markupsafe import Markup

    from benchwatch.render.html import finalize
    from benchwatch.site.build import _envs

    _, html_env = _envs()
    out = html_env.from_string("<p>{{ name }}</p>{{ safe }}").render(
        name=BIDI_NAME, safe=Markup("<i>kept</i>"))
    assert "\u202e" not in out and "\\u202e" in out and "&lt;b&gt;" in out
    assert out.endswith("<i>kept</i>")
    assert finalize(3) == 3 and finalize(Markup("<u>")) == "<u>"
