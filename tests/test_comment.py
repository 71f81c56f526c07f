"""The PR comment markdown, ``benchwatch comment`` and ``benchwatch notify`` against the
loopback GitHub API (tests/github_server.py)."""

import json
import math
import re

import pytest
from github_server import GitHubServer

from benchwatch import changes, cli, github, report
from benchwatch.compare import Comparison
from benchwatch.report import Report

REPO = "octo/bench"
BASE, HEAD = "a" * 40, "b" * 40
ENV = "virtualenv-py3.11-numba0.68.0"
nan = math.nan


def comp(name, status, change=0.0, *, severity=None, machine="box", params=(), noise=1.0,
         mde=nan, unit="seconds", history=()):
    ratio = 1 + change / 100
    judged = status in ("regression", "improvement")
    return Comparison(
        benchmark=name, params=tuple(params), machine=machine, env=ENV, unit=unit,
        higher_is_better=False, before=1e-3, after=1e-3 * ratio, ratio=ratio,
        change_pct=change, ci_low_pct=change - 1, ci_high_pct=change + 1,
        p_value=0.0001 if judged else 0.4, effect_size=nan, method="bootstrap",
        status=status, severity=severity, threshold_pct=10.0, noise_floor_pct=noise,
        mde_pct=mde, noise_source="history", inconclusive=False, n_before=10, n_after=10,
        history=history)


def gate_doc(comps, verdict=None, kind="gate", sla=()):
    if verdict is None and kind == "gate":
        verdict = "fail" if any(c.status == "regression" for c in comps) else "pass"
    return Report(kind=kind, base=BASE, head=HEAD, comparisons=tuple(comps),
                  verdict=verdict, sla=tuple(sla))


def typical():
    return ([comp("suite.time_sort", "regression", 61.0, severity="critical"),
             comp("suite.time_hash", "regression", 12.0, severity="minor", params=("100",))]
            + [comp(f"suite.time_fast{i}", "improvement", -20.0) for i in range(3)]
            + [comp(f"suite.time_same{i:02d}", "unchanged", 0.5) for i in range(41)])


# --------------------------------------------------------------------------- the markdown

def test_headline_counts_severities_and_verdict():
    doc = gate_doc(typical())
    assert report.headline(doc) == (
        "❌ Performance gate failed: 2 regressions (1 critical, 1 minor; worst +61.0%) · "
        "✅ 3 improvements · 41 unchanged (46 series, base aaaaaaaa, head bbbbbbbb)")
    ok = gate_doc([comp("a", "unchanged"), comp("b", "noisy", 30.0, noise=15.0)])
    assert report.headline(ok) == (
        "✅ Performance gate passed: 0 regressions · 0 improvements · 1 unchanged · "
        "⚠️ 1 too noisy to judge (2 series, base aaaaaaaa, head bbbbbbbb)")


def test_markdown_anatomy():
    comps = typical() + [comp("suite.time_loud", "noisy", 14.0, noise=22.5, mde=26.4),
                         comp("suite.time_crash", "failed")]
    md = report.render_markdown(gate_doc(comps), site_url="https://o.github.io/r/")
    lines = md.split("\n")
    assert lines[0].startswith("**❌ Performance gate failed: 2 regressions")
    table = md.split("<details>")[0]
    rows = [line for line in table.split("\n") if line.startswith("| ")][2:]
    assert len(rows) == 5  # 2 regressions (worst first), then 3 improvements
    assert rows[0] == ("| [suite\\.time\\_sort](https://o.github.io/r/benchmarks/suite.time_sort/)"
                       " | 1 ms | 1.61 ms | +61.0% [+60.0%, +62.0%] | <0.001 "
                       "| regression (critical) |  |")
    assert rows[1].startswith("| [suite\\.time\\_hash\\(100\\)](https://o.github.io/r/benchmarks/"
                              "suite.time_hash/) | 1 ms | 1.12 ms |")
    assert ("- [suite\\.time\\_loud](https://o.github.io/r/benchmarks/suite.time_loud/): "
            "change +14.0% [+13.0%, +15.0%]; detectable from 26.4% (noise floor 22.5%), "
            "threshold 10.0%") in lines
    assert "**💥 Failed at head** (the benchmark raised or timed out): [suite\\.time\\_crash]" in md
    assert "<details><summary>43 other series</summary>" in md  # 41 + noisy + failed
    assert "| box | virtualenv\\-py3\\.11\\-numba0\\.68\\.0 | 3\\.11 | 0\\.68\\.0 | 48 |" in md
    assert f"base `{BASE}` · head `{HEAD}`" in md


def test_sparkline_and_sla_breaches():
    from benchwatch.run import Check

    c = comp("s.t", "regression", 30.0, severity="major", history=(1e-3, 1.1e-3, 1e-3))
    sla = [Check("alloc", "max_latency_p99", 1000.0, "ns", 1500.0, "s.t(100)", "fail"),
           Check("alloc", "max_rss", 10.0, "MiB", 5.0, "s.u", "pass")]
    md = report.render_markdown(gate_doc([c], sla=sla))
    assert "| ▁▃▁█ |" in md  # 1, 1.1, 1 ms, then HEAD 1.3 ms: int(0.1 / 0.3 * 8) = 2 -> ▃
    assert "**SLA checks not met at head:**" in md
    assert "| alloc | max\\_latency\\_p99 | s\\.t\\(100\\) | 1000 ns | 1500 | fail |" in md
    assert "max\\_rss" not in md
    assert "1 SLA check not met" in report.headline(gate_doc([c], sla=sla))


def test_one_section_per_machine():
    comps = [comp("s.a", "regression", 20.0, severity="minor", machine="runner-1"),
             comp("s.a", "unchanged", 1.0, machine="runner-2"),
             comp("s.b", "unchanged", 1.0, machine="runner-2")]
    md = report.render_markdown(gate_doc(comps))
    assert md.index("### runner\\-1\n") < md.index("### runner\\-2\n")
    assert ("### runner\\-2\n\n0 regressions · 0 improvements · 2 unchanged\n" in md)
    assert "<details><summary>2 other series</summary>" in md
    assert md.count("<details><summary>") == 2  # runner-2's rest, and the environments


HOSTILE = ["<script>alert(1)</script>", "a|b|c", "`code` ``x", "line1\nline2",
           "evil\u202eRTL\u2066", "@octocat ping", "[click](javascript:alert(1))",
           "<img src=x onerror=alert(1)>", "x](javascript:alert(1))"]


def test_hostile_names_cannot_inject_markdown_or_html():
    comps = []
    for i, name in enumerate(HOSTILE):
        comps += [comp(name, "regression", 20.0 + i, severity="minor", params=(name,)),
                  comp(name, "noisy", 3.0, noise=30.0, machine="box"),
                  comp(name, "unchanged", 0.1, unit="<b>u</b>|@x")]
    md = report.render_markdown(gate_doc(comps), site_url="https://o.github.io/r")
    body = md.split("Machines, environments and commits")[0]
    assert "<script" not in md and "<img" not in md and "<b>" not in md
    assert "\u202e" not in md and "\u2066" not in md
    assert "](javascript" not in md
    assert re.search(r"(?<!\\)@", md) is None  # no @mention
    assert re.search(r"(?<!\\)`", body) is None  # no code span opens
    for line in body.split("\n"):
        if line.startswith("| "):
            cells = re.split(r"(?<!\\)\|", line)
            assert len(cells) == 9, line  # 7 columns: no name added a cell
    assert "line1 line2" in md  # the newline became a space: one row per series
    url = github.check_url("https://o.github.io/r", "x")
    assert f"({url}/benchmarks/%3Cscript%3Ealert%281%29%3C%2Fscript%3E/)" in md


# --------------------------------------------------------------------------- comment command

@pytest.fixture
def gh(monkeypatch):
    with GitHubServer() as server:
        for k, v in server.env(REPO).items():
            monkeypatch.setenv(k, v)
        sleeps = []
        monkeypatch.setattr(github, "_sleep", sleeps.append)
        server.sleeps = sleeps
        yield server


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def verdict(tmp_path, doc, name="verdict.json"):
    path = tmp_path / name
    path.write_text(json.dumps(report.to_dict(doc)))
    return path


def test_first_run_creates_second_run_edits_the_same_comment(gh, tmp_path, capsys):
    gh.add_pull(REPO, 7, HEAD)
    path = verdict(tmp_path, gate_doc(typical()))
    code, out, err = run(capsys, "comment", "--pr", 7, "--report", path, "--head-sha", HEAD)
    assert code == 0, err
    (c,) = gh.comments[(REPO, 7)]
    assert out == f"{c['id']}\n"
    assert c["body"].startswith("<!-- benchwatch:pr-comment key=default -->\n**❌ Performance")
    assert err == f"benchwatch: created comment {c['id']} on {REPO}#7\n"
    code, out2, err = run(capsys, "comment", "--pr", 7, "--report", path, "--head-sha", HEAD)
    assert code == 0 and out2 == out and len(gh.comments[(REPO, 7)]) == 1
    assert [(r.method, r.path) for r in gh.requests if r.method != "GET"] == [
        ("POST", f"/repos/{REPO}/issues/7/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{c['id']}")]
    assert not gh.calls(path=".*check-runs")


def test_pasted_marker_untouched_and_ours_found_on_page_two(gh, tmp_path, capsys):
    gh.add_pull(REPO, 8, HEAD)
    marker = github.comment_marker("default")
    pasted = gh.add_comment(REPO, 8, marker + "\nI can edit this?", "mallory")
    for i in range(110):
        gh.add_comment(REPO, 8, f"review {i}", "alice")
    ours = gh.add_comment(REPO, 8, marker + "\nold report", "github-actions[bot]", "Bot")
    code, out, err = run(capsys, "comment", "--pr", 8, "--report",
                         verdict(tmp_path, gate_doc(typical())))
    assert code == 0, err
    assert out == f"{ours['id']}\n" and "updated comment" in err
    assert pasted["body"] == marker + "\nI can edit this?"
    assert ours["body"].startswith(marker + "\n**❌")
    assert [r.query.get("page") for r in gh.calls("GET", ".*/comments")] == [None, "2"]
    assert len(gh.comments[(REPO, 8)]) == 112


def test_a_huge_report_is_truncated_with_a_link(gh, tmp_path, capsys):
    gh.add_pull(REPO, 9, HEAD)
    comps = [comp(f"suite.family{i:04d}.time_a_rather_long_benchmark_name_{'x' * 40}",
                  "regression", 20.0, severity="minor") for i in range(900)]
    doc = gate_doc(comps)
    assert github.utf16_len(report.render_markdown(doc)) > 150_000
    run_url = "https://github.example/octo/bench/actions/runs/42"
    code, out, err = run(capsys, "comment", "--pr", 9, "--report", verdict(tmp_path, doc),
                         "--details-url", run_url)
    assert code == 0, err
    (c,) = gh.comments[(REPO, 9)]
    assert out == f"{c['id']}\n"
    assert github.utf16_len(c["body"]) <= 65536
    assert c["body"].endswith(f"character limit; the full report: {run_url}\n")
    assert c["body"].count("| suite\\.family") > 300


@pytest.mark.parametrize("pr", ["1; rm -rf /", "0", "-3", "12abc", "", " 7", "1e3", "0x1f",
                                "99999999999", "７"])
def test_pr_number_must_be_a_positive_integer(gh, tmp_path, capsys, pr):
    code, out, err = run(capsys, "comment", "--pr", pr, "--report",
                         verdict(tmp_path, gate_doc(typical())))
    assert code == 2 and out == ""
    assert err.startswith("benchwatch: error: --pr must be a positive integer (a pull "
                          "request number), got ")
    assert err.count("\n") == 1 and not gh.requests


def test_head_sha_mismatch_is_refused(gh, tmp_path, capsys):
    gh.add_pull(REPO, 7, HEAD)
    code, out, err = run(capsys, "comment", "--pr", 7, "--head-sha", "c" * 40, "--report",
                         verdict(tmp_path, gate_doc(typical())))
    assert code == 2 and out == ""
    assert err == ("benchwatch: error: pull request #7 has head bbbbbbbbbbbb, not "
                   "cccccccccccc: the report is for another commit; not commenting\n")
    assert not gh.calls("POST") and not gh.calls("PATCH")


def test_find_pr_by_head_sha_for_a_fork(gh, tmp_path, capsys):
    gh.add_pull(REPO, 3, "d" * 40)
    gh.add_pull(REPO, 21, HEAD, fork=True)
    code, out, err = run(capsys, "comment", "--find-pr", "--head-sha", HEAD, "--report",
                         verdict(tmp_path, gate_doc(typical())))
    assert code == 0, err
    assert out == f"{gh.comments[(REPO, 21)][0]['id']}\n"
    code, _, err = run(capsys, "comment", "--find-pr", "--report", tmp_path / "verdict.json")
    assert code == 2 and "--find-pr needs --head-sha" in err


@pytest.mark.parametrize("comps, kind, want", [
    (typical(), "gate", "failure"),
    ([comp("a", "unchanged"), comp("b", "noisy", 20.0, noise=15.0)], "gate", "neutral"),
    ([comp("a", "unchanged"), comp("b", "improvement", -30.0)], "gate", "success"),
    ([comp("a", "unchanged")], "compare", "neutral"),
])
def test_check_run_conclusion_follows_the_verdict(gh, tmp_path, capsys, comps, kind, want):
    gh.add_pull(REPO, 7, HEAD)
    doc = gate_doc(comps, kind=kind)
    code, _, err = run(capsys, "comment", "--pr", 7, "--report", verdict(tmp_path, doc),
                       "--check-run", "--details-url", "https://github.example/runs/5")
    assert code == 0, err
    (cr,) = gh.check_runs[REPO]
    assert (cr["name"], cr["head_sha"], cr["status"], cr["conclusion"]) == (
        "benchwatch", HEAD, "completed", want)
    assert cr["output"]["title"] == report.headline(doc)
    assert cr["output"]["summary"].startswith("**" + report.headline(doc))
    assert cr["details_url"] == "https://github.example/runs/5"
    assert f"({want}) on bbbbbbbbbbbb" in err


def test_errors_never_show_the_token(gh, tmp_path, capsys):
    gh.fail(status=502, times=99, message=f"proxy saw token {gh.token}")
    code, out, err = run(capsys, "comment", "--pr", 7, "--report",
                         verdict(tmp_path, gate_doc(typical())))
    assert code == 2 and out == ""
    assert err == ("benchwatch: error: GitHub API GET /user: HTTP 502: proxy saw token *** "
                   "after 5 attempts\n")
    assert gh.token not in err and gh.sleeps == [2.0, 4.0, 8.0, 16.0]


def test_untrusted_verdict_refused_before_the_network(gh, tmp_path, capsys):
    doc = report.to_dict(gate_doc(typical()))
    doc["results"][0]["status"] = "<script>"
    path = tmp_path / "verdict.json"
    path.write_text(json.dumps(doc))
    code, _, err = run(capsys, "comment", "--pr", 7, "--report", path)
    assert code == 2 and "results[0].status '<script>' is unknown" in err
    path.write_text('{"kind": "gate",\n "base": ')
    code, _, err = run(capsys, "comment", "--pr", 7, "--report", path)
    assert code == 2 and f"{path}:2: the report is not valid JSON" in err
    code, _, err = run(capsys, "comment", "--pr", 7, "--report", tmp_path / "nope.json",
                       "--repo", "a/b/c")
    assert code == 2 and "repository must be OWNER/NAME" in err
    assert not gh.requests


# --------------------------------------------------------------------------- notify

def change(name, direction="regression", pct=30.0, commit="1" * 40, prev="2" * 40,
           provisional=False):
    return {"benchmark": name, "params": ["10"], "machine": "box", "env": ENV,
            "version": "v1", "unit": "seconds", "commit": commit, "previous_commit": prev,
            "date": "2025-07-01T00:00:00Z", "before": 1e-3, "after": 1e-3 * (1 + pct / 100),
            "change_pct": pct, "p_value": 1e-6, "direction": direction,
            "provisional": provisional}


def changes_file(tmp_path, points):
    path = tmp_path / "changes.json"
    path.write_text(json.dumps({"change_points": points, "series": 9, "since": None,
                                "detector": {}}))
    return path


def expected_id(d):
    cp = changes.ChangePoint(**{**d, "params": tuple(d["params"]), "date": None})
    return changes.atom_entry_id(cp)


def test_notify_opens_one_issue_per_regression_then_updates(gh, tmp_path, capsys):
    points = [change("s.time_a"), change("s.time_b", pct=15.0, commit="3" * 40),
              change("s.time_c", direction="improvement", pct=-20.0)]
    path = changes_file(tmp_path, points)
    ids = [expected_id(p) for p in points[:2]]
    code, out, err = run(capsys, "notify", "--changes", path,
                         "--site-url", "https://o.github.io/r")
    assert code == 0, err
    assert out == f"created #1 {ids[0]}\ncreated #2 {ids[1]}\n"
    one, _ = gh.issues[REPO]
    assert one["title"] == "Performance regression: s.time_a(10) +30.0% on box"
    assert one["body"].startswith(f"<!-- benchwatch:change id={ids[0]} -->\n")
    assert one["labels"] == [{"name": "benchwatch-regression"}]
    assert ("| commits | [22222222...11111111](https://github.example/octo/bench/compare/"
            f"{'2' * 40}...{'1' * 40}) (the change is in this range) |") in one["body"]
    assert "| benchmark | [s\\.time\\_a](https://o.github.io/r/benchmarks/s.time_a/) |" \
        in one["body"]
    code, out, err = run(capsys, "notify", "--changes", path)
    assert out == f"updated #1 {ids[0]}\nupdated #2 {ids[1]}\n" and len(gh.issues[REPO]) == 2
    one["state"] = "closed"
    code, out, err = run(capsys, "notify", "--changes", path)
    assert out == f"closed #1 {ids[0]}\nupdated #2 {ids[1]}\n" and len(gh.issues[REPO]) == 2
    assert one["state"] == "closed"
    assert [r.method for r in gh.requests].count("POST") == 2


def test_notify_ids_match_the_atom_feed_and_skip_provisional(gh, tmp_path, capsys):
    p = change("s.time_a", provisional=True)
    ids = expected_id(p)
    assert ids.startswith("urn:uuid:")
    path = changes_file(tmp_path, [p])
    code, out, err = run(capsys, "notify", "--changes", path, "--confirmed-only")
    assert code == 0 and out == "" and "nothing to notify" in err and not gh.requests
    code, out, _ = run(capsys, "notify", "--changes", path)
    assert out == f"created #1 {ids}\n"
    assert "provisional: later commits may still move it" in gh.issues[REPO][0]["body"]


def test_notify_escapes_names_and_checks_its_input(gh, tmp_path, capsys):
    p = change("x\u202e<b>@team</b>|`y`\n", pct=12.5)
    code, out, err = run(capsys, "notify", "--changes", changes_file(tmp_path, [p]))
    assert code == 0 and out == f"created #1 {expected_id(p)}\n", err
    (issue,) = gh.issues[REPO]
    assert "\u202e" not in issue["title"] and "\n" not in issue["title"]
    assert "<b>" not in issue["body"] and re.search(r"(?<!\\)@", issue["body"]) is None
    bad = change("s.t", commit="1; rm -rf /")
    code, _, err = run(capsys, "notify", "--changes", changes_file(tmp_path, [bad]))
    assert code == 2 and "change_points[0]: commit and previous_commit must be hex" in err
    code, _, err = run(capsys, "notify", "--changes", changes_file(tmp_path, [{**p, "params":
                                                                              "10"}]))
    assert code == 2 and "change_points[0].params has the wrong type" in err


def test_notify_warns_when_the_label_is_dropped(gh, tmp_path, capsys):
    gh.labels_allowed = False
    code, out, err = run(capsys, "notify", "--changes", changes_file(tmp_path,
                                                                     [change("s.t")]))
    assert code == 0 and out.startswith("created #1 ")
    assert "did not apply the label 'benchwatch-regression' to issue #1" in err
