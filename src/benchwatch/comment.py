"""``benchwatch comment`` and ``benchwatch notify``: what benchwatch posts to GitHub.

``comment`` turns a gate verdict (the JSON of ``benchwatch gate --format json``) into the
sticky PR comment and, optionally, a check run. It runs in the privileged
``workflow_run`` job on an artifact an untrusted PR produced, so it re-renders the
markdown from type-checked fields (``report.from_dict``) and never posts text it was
handed; the PR number is validated and checked against the head SHA.

``notify`` opens one issue per regression change point of ``benchwatch changes --format
json`` (the nightly job), keyed by the change's stable id, and updates it on later runs.

No rendering rules live here (``benchwatch.report``) and no HTTP (``benchwatch.github``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

COMMENT_EPILOG = """\
examples:
  benchwatch comment --pr 42 --report gate.json --head-sha "$HEAD_SHA" --check-run
  benchwatch comment --find-pr --head-sha "$HEAD_SHA" --report gate.json \\
      --details-url "$RUN_URL" --site-url https://owner.github.io/repo

environment:
  GITHUB_TOKEN       the token (sent only as an Authorization header, never printed)
  GITHUB_API_URL     the API root (GitHub Enterprise Server); default https://api.github.com
  GITHUB_REPOSITORY  the default for --repo

Prints the comment id on stdout. The verdict does not change the exit code: the gate
step decides, this one reports.

exit codes: 0 posted, 2 usage, data or GitHub API error (one line, no token in it).
"""

NOTIFY_EPILOG = """\
examples:
  benchwatch changes --since 2025-07-01 --format json --output changes.json
  benchwatch notify --changes changes.json --site-url https://owner.github.io/repo

One issue per regression change point, found again on the next run by the hidden id in
its body (the Atom entry id of 'benchwatch changes'): an open issue is updated, a closed
one is left closed, none is opened twice. Prints one line per change point:
'created|updated|closed #NUMBER ID'.

exit codes: 0 done, 2 usage, data or GitHub API error.
"""

MAX_INPUT_BYTES = 50 * 2**20


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "comment", help="post the gate verdict as a sticky PR comment (and a check run)",
        description="Render a gate verdict JSON as the PR comment, edit benchwatch's own "
                    "comment on the PR in place (or create it), and optionally complete a "
                    "check run on the head commit.",
        epilog=COMMENT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--pr", metavar="N", help="the pull request number")
    which.add_argument("--find-pr", action="store_true",
                       help="find the open PR whose head is --head-sha (fork PRs, where "
                            "workflow_run carries no PR number)")
    p.add_argument("--report", metavar="FILE", type=Path, required=True,
                   help="the gate's JSON verdict (benchwatch gate --format json)")
    p.add_argument("--repo", metavar="OWNER/NAME",
                   help="the repository (default: $GITHUB_REPOSITORY)")
    p.add_argument("--head-sha", metavar="SHA",
                   help="the PR's head commit: refused unless the PR's head is this commit")
    p.add_argument("--check-run", action="store_true",
                   help="also complete a check run on the head commit")
    p.add_argument("--check-name", metavar="NAME", default="benchwatch",
                   help="the check run's name (default: benchwatch)")
    p.add_argument("--details-url", metavar="URL",
                   help="the full report (e.g. the workflow run): linked when the comment "
                        "is truncated, and the check run's details link")
    p.add_argument("--site-url", metavar="URL",
                   help="the history site: benchmarks link to URL/benchmarks/NAME/")
    p.add_argument("--key", metavar="KEY", default="default",
                   help="which sticky comment: one per key and PR (e.g. a runner name); "
                        "default: default")
    p.add_argument("--bot-login", metavar="LOGIN",
                   help="the token's bot login when it cannot call GET /user "
                        "(default: github-actions[bot])")
    p.set_defaults(func=run_comment)

    n = subparsers.add_parser(
        "notify", help="open or update one issue per regression change point",
        description="Open one GitHub issue per regression change point found by "
                    "'benchwatch changes', or update the one opened before.",
        epilog=NOTIFY_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    n.add_argument("--changes", metavar="FILE", type=Path, required=True,
                   help="the JSON of 'benchwatch changes --format json'")
    n.add_argument("--repo", metavar="OWNER/NAME",
                   help="the repository (default: $GITHUB_REPOSITORY)")
    n.add_argument("--site-url", metavar="URL",
                   help="the history site: issues link to URL/benchmarks/NAME/")
    n.add_argument("--label", metavar="NAME", default="benchwatch-regression",
                   help="label of the issues, and how the next run finds them "
                        "(default: benchwatch-regression; '' for none: every issue is "
                        "searched)")
    n.add_argument("--confirmed-only", action="store_true",
                   help="skip provisional change points (their commit range may still move)")
    n.add_argument("--bot-login", metavar="LOGIN",
                   help="the token's bot login when it cannot call GET /user "
                        "(default: github-actions[bot])")
    n.set_defaults(func=run_notify)


# --------------------------------------------------------------------------- inputs

def parse_pr_number(text: str) -> int:
    """A positive integer, digits only: the value comes from workflow data."""
    from .errors import UserError
    from .github import _shown

    if not re.fullmatch(r"[1-9][0-9]{0,9}", text or ""):
        raise UserError(f"--pr must be a positive integer (a pull request number), "
                        f"got {_shown(text)}")
    return int(text)


def read_json(path: Path, what: str) -> Any:
    import json

    from .errors import UserError

    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise UserError(f"cannot read the {what}: {exc.strerror}", path=str(path)) from None
    if len(raw) > MAX_INPUT_BYTES:
        raise UserError(f"the {what} is over {MAX_INPUT_BYTES // 2**20} MiB", path=str(path))
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"the {what} is not UTF-8", path=str(path)) from None
    except json.JSONDecodeError as exc:
        raise UserError(f"the {what} is not valid JSON: {exc.msg}", path=str(path),
                        line=exc.lineno) from None


def _repo(args: argparse.Namespace) -> str:
    import os

    from .github import check_repo

    return check_repo(args.repo or os.environ.get("GITHUB_REPOSITORY"))


# --------------------------------------------------------------------------- comment

def conclusion(doc) -> str:
    """The check run's conclusion: failure on a failed gate; neutral when it passed but
    some series could not be judged (too noisy, or a compare report); else success."""
    if doc.kind != "gate":
        return "neutral"
    if doc.verdict == "fail":
        return "failure"
    if doc.with_status("noisy"):
        return "neutral"
    return "success"


def comment_body(doc, marker: str, *, site_url: str | None = None,
                 details_url: str | None = None) -> str:
    """The marker line, the rendered report and a footer, cut to GitHub's limit."""
    from . import __version__
    from .github import COMMENT_LIMIT, fit
    from .report import render_markdown

    footer = f"\n<sub>benchwatch {__version__}"
    if details_url:
        footer += f" · [workflow run]({details_url})"
    footer += "</sub>\n"
    body = render_markdown(doc, site_url=site_url).rstrip("\n") + "\n" + footer
    return fit(marker + "\n" + body, COMMENT_LIMIT, details_url)


def run_comment(args: argparse.Namespace) -> int:
    import sys

    from . import github, report

    # everything from the workflow is checked before the network is touched
    pr = parse_pr_number(args.pr) if args.pr is not None else None
    repo = _repo(args)
    sha = github.check_sha(args.head_sha) if args.head_sha is not None else None
    if args.find_pr and sha is None:
        from .errors import UserError

        raise UserError("--find-pr needs --head-sha")
    details_url = github.check_url(args.details_url, "--details-url")
    site_url = github.check_url(args.site_url, "--site-url")
    marker = github.comment_marker(args.key)
    doc = report.from_dict(read_json(args.report, "report"), str(args.report))

    client = github.Client()
    who = github.identity(client, args.bot_login)
    if pr is None:
        pr = github.find_pull(client, repo, sha)
    else:
        head = github.pull_head_sha(client, repo, pr)
        if sha is not None and head != sha:
            from .errors import UserError

            raise UserError(f"pull request #{pr} has head {head[:12]}, not {sha[:12]}: the "
                            "report is for another commit; not commenting")
        sha = sha or head
    body = comment_body(doc, marker, site_url=site_url, details_url=details_url)
    done = github.upsert_comment(client, repo, pr, body, marker, who)
    print(f"benchwatch: {done.action} comment {done.id} on {repo}#{pr}", file=sys.stderr)
    if args.check_run:
        run = github.upsert_check_run(
            client, repo, sha, name=args.check_name, conclusion=conclusion(doc),
            title=report.headline(doc), summary=body.split("\n", 1)[1],
            details_url=details_url)
        print(f"benchwatch: {run.action} check run {run.id} ({conclusion(doc)}) on "
              f"{sha[:12]}", file=sys.stderr)
    print(done.id)
    return 0


# --------------------------------------------------------------------------- notify

_ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
_HEX = re.compile(r"[0-9a-f]{7,64}")


def read_change_points(doc: Any, path: str) -> list[tuple[Any, str | None]]:
    """(``changes.ChangePoint``, ISO date) pairs from the JSON, every field checked."""
    import math

    from .changes import ChangePoint
    from .errors import UserError

    if not isinstance(doc, dict) or not isinstance(doc.get("change_points"), list):
        raise UserError("not a 'benchwatch changes --format json' document (no "
                        "change_points list)", path=path)
    out = []
    for i, c in enumerate(doc["change_points"]):
        where = f"change_points[{i}]"
        if not isinstance(c, dict):
            raise UserError(f"{where} is not an object", path=path)

        def get(key: str, kinds: tuple, nullable: bool = False, c=c, where=where) -> Any:
            v = c.get(key)
            if v is None and nullable:
                return None
            if not isinstance(v, kinds) or isinstance(v, bool) and bool not in kinds:
                raise UserError(f"{where}.{key} has the wrong type", path=path)
            return v

        params = get("params", (list,))
        if not all(isinstance(p, str) for p in params):
            raise UserError(f"{where}.params must be a list of strings", path=path)
        commit, previous = get("commit", (str,)), get("previous_commit", (str,))
        if not (_HEX.fullmatch(commit) and _HEX.fullmatch(previous)):
            raise UserError(f"{where}: commit and previous_commit must be hex hashes",
                            path=path)
        date = get("date", (str,), nullable=True)
        if date is not None and not _ISO.fullmatch(date):
            raise UserError(f"{where}.date must be YYYY-MM-DDTHH:MM:SSZ", path=path)
        direction = get("direction", (str,))
        if direction not in ("regression", "improvement"):
            raise UserError(f"{where}.direction must be regression or improvement", path=path)
        num = {k: get(k, (int, float), nullable=True)
               for k in ("before", "after", "change_pct", "p_value")}
        point = ChangePoint(
            benchmark=get("benchmark", (str,)), params=tuple(params),
            machine=get("machine", (str,)), env=get("env", (str,)),
            version=get("version", (str,), nullable=True), unit=get("unit", (str,), True),
            commit=commit, previous_commit=previous, date=None, direction=direction,
            provisional=get("provisional", (bool,)),
            **{k: math.nan if v is None else float(v) for k, v in num.items()})
        out.append((point, date))
    return out


_TITLE_DROP = re.compile(r"[\x00-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def issue_title(c) -> str:
    from .report import fmt_pct

    title = f"Performance regression: {c.label()} {fmt_pct(c.change_pct)} on {c.machine}"
    title = _TITLE_DROP.sub(" ", title)
    return title if len(title) <= 200 else title[:197] + "..."


def issue_body(c, date: str | None, marker: str, *, repo: str, server_url: str,
               site_url: str | None) -> str:
    """The issue text: the marker first, every untrusted name escaped."""
    from .render import markdown as md
    from .report import benchmark_url, fmt_p, fmt_pct, fmt_value

    unit = c.unit if c.unit in (None, "seconds", "bytes") else md.escape(c.unit)
    name = md.escape(c.benchmark)
    url = benchmark_url(site_url, c.benchmark) if site_url else None
    rows = [
        ["benchmark", f"[{name}]({url})" if url else name],
        ["parameters", md.escape(", ".join(c.params)) if c.params else "-"],
        ["machine", md.escape(c.machine)],
        ["environment", md.escape(c.env)],
        ["commits", (f"[{c.previous_commit[:8]}...{c.commit[:8]}]"
                     f"({server_url}/{repo}/compare/{c.previous_commit}...{c.commit}) "
                     "(the change is in this range)")],
        ["date", date or "-"],
        ["level before", fmt_value(c.before, unit)],
        ["level after", fmt_value(c.after, unit)],
        ["change", fmt_pct(c.change_pct)],
        ["p-value", fmt_p(c.p_value)],
        ["state", "provisional: later commits may still move it" if c.provisional
         else "confirmed"],
    ]
    return (f"{marker}\n**Performance regression** in {md.escape(c.label())}: "
            f"{fmt_pct(c.change_pct)} on {md.escape(c.machine)}.\n\n"
            + md.table(["", ""], rows)
            + "\n<sub>Opened by `benchwatch notify` from the nightly change-point analysis. "
              "It updates this issue while the change is reported, matched by the hidden "
              "id above; close the issue when it is handled (a closed issue is never "
              "reopened).</sub>\n")


def run_notify(args: argparse.Namespace) -> int:
    import os
    import sys

    from . import github
    from .changes import atom_entry_id

    repo = _repo(args)
    site_url = github.check_url(args.site_url, "--site-url")
    server_url = github.check_url(os.environ.get("GITHUB_SERVER_URL") or "https://github.com",
                                  "GITHUB_SERVER_URL").rstrip("/")
    if args.label and not re.fullmatch(r"[^\x00-\x1f,]{1,50}", args.label):
        from .errors import UserError

        raise UserError("--label must be 1-50 characters without commas or control "
                        "characters")
    points = read_change_points(read_json(args.changes, "changes file"), str(args.changes))
    points = [(c, d) for c, d in points if c.direction == "regression"
              and not (args.confirmed_only and c.provisional)]
    if not points:
        print("benchwatch: no regression change points: nothing to notify", file=sys.stderr)
        return 0
    client = github.Client()
    who = github.identity(client, args.bot_login)
    existing = github.list_issues(client, repo, args.label or None)
    for c, date in points:
        sid = atom_entry_id(c)
        marker = github.issue_marker(sid)
        body = github.fit(issue_body(c, date, marker, repo=repo, server_url=server_url,
                                     site_url=site_url), github.COMMENT_LIMIT)
        done = github.upsert_issue(client, repo, marker=marker, title=issue_title(c),
                                   body=body, label=args.label or None, who=who,
                                   existing=existing)
        print(f"{done.action} #{done.number} {sid}")
    return 0
