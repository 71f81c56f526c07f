"""The bad-input corpus (tests/data/bad/cases.yaml) through ``benchwatch.cli.main``.

Every case: the exit code, a message naming the file (and its line where the input
has one), stderr one ``benchwatch: error:`` line (or the config validator's located
list, or warnings where the loader tolerates the input), no traceback, and no file
under the ``--output`` name. Result-file cases also run without ``--strict``: exit 0,
the problem as a warning, and the rest of the data loaded (exact commits and rows).
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import markupsafe
import pytest
import yaml

from benchwatch import cli, results

DATA = Path(__file__).parent / "data" / "bad"
REPO = Path(__file__).resolve().parent.parent
CASES = yaml.safe_load((DATA / "cases.yaml").read_text(encoding="utf-8"))["cases"]
BY_ID = {c["id"]: c for c in CASES}

BIG_COMMIT = "00b1" + "c0ffee" * 6
BIG_BENCHMARKS = 1200
BIG_SAMPLES = 2200


def _sub(text: str, d: Path) -> str:
    return text.replace("{dir}", str(d)).replace("{repo}", str(REPO))


def _write_big(path: Path) -> None:
    """About 50 MB of valid asv JSON: 1,200 time benchmarks with 2,200 samples each
    (the text is assembled, not json.dumps'ed, to keep the test quick)."""
    good = json.loads((DATA.parent / "bad_results" / "box" / "good.json").read_text())
    good["commit_hash"] = BIG_COMMIT
    good["results"] = {}
    head, tail = json.dumps(good).split('"results": {}')
    samples = json.dumps([0.0012345678901234 + i * 1e-12 for i in range(BIG_SAMPLES)])
    entry = ('[[0.0012345], [], "v1", 1700000000000, 1.0, [0.001], [0.002], [0.0011], '
             f'[0.0013], [3], [10], [{samples}]]')
    body = ", ".join(f'"big.Suite.time_{i:04d}": {entry}' for i in range(BIG_BENCHMARKS))
    path.write_text(head + '"results": {' + body + "}" + tail, encoding="utf-8")


def _setup(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "case"
    d.mkdir()
    for dest, src in (case.get("files") or {}).items():
        target = d / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(DATA / src, target)
    if case.get("generate") == "50mb":
        _write_big(d / "results" / "box" / f"{BIG_COMMIT[:8]}-virtualenv-py3.12.json")
    for key, value in (case.get("env") or {}).items():
        monkeypatch.setenv(key, _sub(value, d))
    # the loader's cache lives outside the results; keep it per test
    monkeypatch.setenv("BENCHWATCH_CACHE_DIR", str(tmp_path / "cache"))
    return d


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def _check_clean(out: str, err: str) -> None:
    assert "Traceback" not in out + err
    assert "Error:" not in err.replace("benchwatch: error:", "")  # no exception class dump


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case, tmp_path, monkeypatch, capsys):
    d = _setup(case, tmp_path, monkeypatch)
    argv = [_sub(a, d) for a in case["command"]]
    code, out, err = _run(argv, capsys)
    _check_clean(out, err)
    assert code == case["expect_exit"], err
    lines = err.splitlines()
    style = case.get("stderr", "error" if case["expect_exit"] == 2 else "warning")
    if style == "error":
        message = _sub(case["message"], d)
        assert lines and lines[-1].startswith("benchwatch: error: "), err
        assert all(line.startswith("benchwatch: warning: ") for line in lines[:-1]), err
        assert message in lines[-1], err
    elif style == "located":
        message = _sub(case["message"], d)
        path = str(d / Path(argv[argv.index("--config") + 1]).name)
        assert lines and all(line.startswith(path + ":") for line in lines), err
        assert message == lines[0] or message in lines[0], err
    elif style == "none":
        assert err == ""
    else:
        raise AssertionError(f"unknown stderr style {style!r}")
    if case["expect_exit"] == 2 and case.get("output"):
        output = Path(_sub(case["output"], d))
        assert not output.exists()
        # nor a temporary file beside it
        assert not [p for p in output.parent.iterdir() if p.name.startswith(f".{output.name}.")]
    if case["expect_exit"] == 0 and "--output" in argv:
        assert Path(argv[argv.index("--output") + 1]).stat().st_size > 0
    if case.get("tolerant"):
        tolerant = [a for a in argv if a != "--strict"]
        code, out, err = _run(tolerant, capsys)
        _check_clean(out, err)
        assert code == 0, err
        warning = _sub(case["warning"], d)
        assert any(line.startswith("benchwatch: warning: ") and warning in line
                   for line in err.splitlines()), err
        assert json.loads(Path(tolerant[tolerant.index("--output") + 1]).read_text())
    if case.get("keeps"):
        loaded = results.load(d / "results", cache=False)
        assert sorted({r.commit[:8] for r in loaded.rows}) == sorted(case["keeps"]["commits"])
        assert len(loaded.rows) == case["keeps"]["rows"]


def test_every_issue_item_has_a_case():
    """The audit: each item under "Bad input" in issue 8 is in the corpus."""
    items = {
        "truncated JSON": "result-truncated-json", "empty file": "result-empty-file",
        "unknown api version": "result-unknown-api-version",
        "missing results": "result-missing-results",
        "result_columns disagree": "result-columns-disagree-with-entry",
        "params product": "result-params-product-wrong-length",
        "string values": "result-string-value", "negative times": "result-negative-time",
        "NaN sample": "result-nan-sample", "inf sample": "result-inf-sample",
        "duplicate commit": "result-duplicate-commit-two-names",
        "future date": "result-date-in-the-future", "far past date": "result-date-far-past",
        "50 MB": "result-50-mb-file", "hostile name": "result-hostile-benchmark-name",
        "machine.json missing": "machine-json-missing",
        "machine.json wrong": "machine-json-wrong-version",
        "event without PR number": "event-without-pr-number",
        "PR number shell string": "event-pr-number-is-a-shell-string",
    }
    for loader in ("suites", "baselines", "variants", "annotations"):
        for fault in ("tab", "duplicate-key", "anchor-bomb", "wrong-type", "not-utf8"):
            items[f"{loader} {fault}"] = f"{loader}-{fault}"
    missing = sorted(k for k, v in items.items() if v not in BY_ID)
    assert not missing
    for case in CASES:
        for src in (case.get("files") or {}).values():
            assert (DATA / src).is_file(), (case["id"], src)


def test_50_mb_file_loads_in_bounded_memory(tmp_path, monkeypatch):
    """The loader keeps parsed rows, not copies of the text: the peak RSS of a process
    loading the 50 MB file stays under 8x the file's size (json.loads needs the text
    and its objects at once), and every row is there."""
    d = _setup(BY_ID["result-50-mb-file"], tmp_path, monkeypatch)
    big = d / "results" / "box" / f"{BIG_COMMIT[:8]}-virtualenv-py3.12.json"
    size = big.stat().st_size
    assert size >= 50_000_000
    # VmHWM of the child's own address space: getrusage's ru_maxrss survives exec on
    # Linux and would report the forking pytest process's size (720 MB in a full run)
    code = ("import json, sys\n"
            "from benchwatch import results\n"
            "loaded = results.load(sys.argv[1], cache=False)\n"
            "big = [r for r in loaded.rows if r.commit == sys.argv[2]]\n"
            "hwm = next(int(line.split()[1]) for line in open('/proc/self/status')\n"
            "           if line.startswith('VmHWM:'))\n"
            "print(json.dumps({'problems': list(loaded.problems), 'rows': len(loaded.rows),\n"
            "    'big': len(big), 'samples': sorted({len(r.samples) for r in big}),\n"
            "    'rss_kb': hwm}))\n")
    done = subprocess.run([sys.executable, "-c", code, str(d / "results"), BIG_COMMIT],
                          capture_output=True, text=True, check=True)
    got = json.loads(done.stdout)
    assert got["problems"] == []
    assert (got["rows"], got["big"], got["samples"]) == (8 + BIG_BENCHMARKS, BIG_BENCHMARKS,
                                                         [BIG_SAMPLES])
    assert got["rss_kb"] * 1024 < 8 * size, (got["rss_kb"], size)


HOSTILE_MARKUP = ("<script>", "<img", "</script>")


def test_hostile_benchmark_name_escaped_per_format(tmp_path, monkeypatch, capsys):
    case = BY_ID["result-hostile-benchmark-name"]
    d = _setup(case, tmp_path, monkeypatch)
    raw = json.loads((DATA / "results" / "hostile_base.json").read_text(encoding="utf-8"))
    (name,) = raw["results"]
    assert "\n" in name and "\u202e" in name and "<script>" in name and "**" in name
    base = [_sub(a, d) for a in case["command"] if a not in ("json",)]
    fmt_at = base.index("--format") + 1
    out_at = base.index("--output") + 1

    def render(fmt: str) -> str:
        argv = base[:fmt_at] + [fmt] + base[fmt_at:]
        argv[out_at + 1] = str(d / f"out.{fmt}")
        code, _, err = _run(argv, capsys)
        assert code == 0 and err == "", err
        return (d / f"out.{fmt}").read_text(encoding="utf-8")

    # JSON: verbatim
    doc = json.loads(render("json"))
    assert [c["benchmark"] for c in doc["results"]] == [name]
    # HTML: no tag from the name, the name's text escaped, control and bidi characters
    # shown as their escapes (as in text tables)
    page = render("html")
    for tag in HOSTILE_MARKUP:
        assert tag not in page
    assert "\u202e" not in page and "\n" + "second line" not in page
    assert str(markupsafe.escape(name.replace("\n", "\\n").replace("\u202e", "\\u202e")
                                 .replace("\u202c", "\\u202c"))) in page
    # markdown: no tag, no raw newline, no bidi override, and Python-Markdown shows the
    # text the escaping produced (the name with control characters as spaces)
    md = render("markdown")
    for tag in HOSTILE_MARKUP:
        assert tag not in md
    assert "\u202e" not in md
    row = next(line for line in md.splitlines() if "script" in line)
    header = next(line for line in md.splitlines() if line.startswith("| "))
    assert row.count(" | ") == header.count(" | ")  # the cell did not split
    # GitHub renders comments as CommonMark (+ tables); raw HTML is on, as on GitHub
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").enable("table").render(md)
    assert "<script" not in rendered and "<img" not in rendered
    cell = next(line for line in rendered.splitlines() if "script" in line)
    shown = html.unescape(re.search(r"<td[^>]*>(.*?)</td>", cell).group(1))
    expected = name.replace("\n", " ").replace("\u202e", " ").replace("\u202c", " ")
    assert shown == expected
    # text: control and bidi characters shown escaped, one line per row
    text = render("text")
    assert "\u202e" not in text and "\\u202e" in text and "\\n" in text
    assert len([line for line in text.splitlines() if "script" in line]) == 1


def test_no_output_is_left_when_the_disk_fills_midway(tmp_path, monkeypatch, capsys):
    """Atomic writes: the text is in the temporary file when fsync fails (a full disk);
    the --output name never appears, nor the temporary file."""
    from benchwatch import output

    case = BY_ID["result-hostile-benchmark-name"]
    d = _setup(case, tmp_path, monkeypatch)
    target = d / "out.json"
    written = []

    def full(fd):
        written.append(os.fstat(fd).st_size)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.os, "fsync", full)
    code, out, err = _run([_sub(a, d) for a in case["command"]], capsys)
    _check_clean(out, err)
    assert code == 2
    assert written and written[0] > 0  # the failure came after part of the work
    assert err == f"benchwatch: error: {target}: cannot write output: No space left on device\n"
    assert sorted(p.name for p in d.iterdir()) == ["results"]


def test_no_output_is_left_when_the_renderer_raises(tmp_path, monkeypatch, capsys):
    """A renderer that fails after rendering part of the page (a bug) writes nothing."""
    from benchwatch.render import html as html_render

    case = BY_ID["result-hostile-benchmark-name"]
    d = _setup(case, tmp_path, monkeypatch)
    real_page = html_render.page
    parts = []

    def broken(*args, **kwargs):
        parts.append(real_page(*args, **kwargs)[:100])
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(html_render, "page", broken)
    argv = [_sub(a, d) for a in case["command"]]
    argv[argv.index("json")] = "html"
    with pytest.raises(RuntimeError, match="renderer bug"):
        cli.main(argv)
    assert parts and parts[0].startswith("<!")
    assert sorted(p.name for p in d.iterdir()) == ["results"]


def test_every_output_option_is_written_atomically():
    """Static audit: wherever a command reads ``args.output`` (or ``--json-output``,
    ``--markdown-output``), the value goes straight into ``emit`` or
    ``write_atomically`` (temporary file + rename), or is only tested in an ``if``."""
    import ast

    src = REPO / "src" / "benchwatch"
    seen, bad = 0, []
    for path in sorted(src.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and node.attr.endswith("output")
                    and isinstance(node.value, ast.Name) and node.value.id == "args"):
                continue
            seen += 1
            up, ok = node, False
            while up in parents:
                up = parents[up]
                if isinstance(up, ast.Call) and getattr(up.func, "id", getattr(
                        up.func, "attr", None)) in ("emit", "write_atomically"):
                    ok = True
                    break
                if isinstance(up, ast.If) and up.test is not None and any(
                        n is node for n in ast.walk(up.test)):
                    ok = True
                    break
                if isinstance(up, (ast.stmt,)):
                    break
            if not ok:
                bad.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert seen >= 22  # the 22 reads of 2026-11-29: none may drop out of the audit unseen
    assert bad == []
