"""action.yml and .github/workflows: schemas, the script-injection rule, permissions."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from benchwatch import gha

ROOT = Path(__file__).resolve().parents[1]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
CHECK = Path(sys.executable).parent / "check-jsonschema"


def load(path):
    # PyYAML reads the key `on` as True; keep it a string
    text = path.read_text(encoding="utf-8")
    return yaml.load(text, Loader=_Loader)


class _Loader(yaml.SafeLoader):
    pass


for first, resolvers in list(_Loader.yaml_implicit_resolvers.items()):
    _Loader.yaml_implicit_resolvers[first] = [
        (tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]


def steps_of(doc):
    if "runs" in doc:
        yield from doc["runs"]["steps"]
    for job in (doc.get("jobs") or {}).values():
        yield from job.get("steps", [])


def test_workflows_exist():
    assert {p.name for p in WORKFLOWS} == {
        "ci.yml", "benchmarks-pr.yml", "benchmarks-comment.yml", "benchmarks-main.yml",
        "benchmarks-nightly.yml", "benchmarks-manual.yml"}


def test_action_validates_against_the_builtin_schema():
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-actions", str(ACTION)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_validates_against_the_builtin_schema(path):
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_can_fail(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("name: x\non: push\njobs:\n  j:\n    steps: []\n")  # no runs-on
    proc = subprocess.run([str(CHECK), "--builtin-schema", "vendor.github-workflows", str(bad)],
                          capture_output=True, text=True)
    assert proc.returncode == 1


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_expression_is_pasted_into_shell(path):
    """The script-injection rule: values reach run: through env:, never ${{ }} in the text."""
    for step in steps_of(load(path)):
        assert "${{" not in step.get("run", ""), (path.name, step.get("name"))


def test_action_inputs_have_descriptions_defaults_and_a_check():
    doc = load(ACTION)
    assert set(doc["inputs"]) == set(gha.INPUTS) | {"github-token"}
    for name, spec in doc["inputs"].items():
        assert spec.get("description"), name
        assert "default" in spec, name
        if name in gha.INPUTS:
            assert str(spec["default"]) == gha.INPUTS[name].default, name
    assert set(doc["outputs"]) == {"verdict", "regressions", "report-json", "report-markdown",
                                   "site-dir", "comment-id"}
    for out in doc["outputs"].values():
        assert re.fullmatch(r"\$\{\{ steps\.run\.outputs\.[a-z-]+ \}\}", out["value"])


def test_action_steps_call_benchwatch_and_pass_every_input_by_env():
    doc = load(ACTION)
    run_steps = [s for s in doc["runs"]["steps"] if "run" in s]
    assert [s["run"] for s in run_steps] == [
        'bash "$GITHUB_ACTION_PATH/scripts/action_setup.sh"',
        "benchwatch action machine", "benchwatch action run"]
    env = run_steps[-1]["env"]
    for name in gha.INPUTS:
        if name == "python":
            continue
        key = "INPUT_" + name.upper().replace("-", "_")
        assert env[key] == "${{ inputs.%s }}" % name, key


def test_pr_workflow_has_no_write_scope_and_no_secrets():
    path = ROOT / ".github/workflows/benchmarks-pr.yml"
    text = path.read_text()
    doc = load(path)
    assert "secrets." not in text
    assert doc["permissions"] == {"contents": "read"}
    for job in doc["jobs"].values():
        assert set((job.get("permissions") or {}).values()) <= {"read", "none"}
        assert job["runs-on"] == ["self-hosted", "benchmark"]
        # forks only with the maintainer's label
        assert "run-benchmarks" in job["if"] and "head.repo.full_name" in job["if"]
        for step in job["steps"]:
            assert "github-token" not in (step.get("with") or {})
            if step.get("uses", "").startswith("actions/checkout"):
                assert step["with"]["persist-credentials"] == "false"


def test_comment_workflow_never_runs_pr_code():
    path = ROOT / ".github/workflows/benchmarks-comment.yml"
    doc = load(path)
    assert list(doc["on"]) == ["workflow_run"]
    assert doc["permissions"]["pull-requests"] == "write"
    assert doc["permissions"]["checks"] == "write"
    for job in doc["jobs"].values():
        assert "self-hosted" not in str(job["runs-on"])
        for step in job["steps"]:
            uses = step.get("uses", "")
            assert not uses.startswith("./"), "the local action is the PR's code"
            if uses.startswith("actions/checkout"):
                # the default branch: no ref to the PR's head
                assert "ref" not in (step.get("with") or {})
            if "run" in step:
                assert "pr-number.txt" not in step["run"] or '"$(head -c 20' in step["run"]


def test_main_workflow_appends_and_deploys_pages():
    doc = load(ROOT / ".github/workflows/benchmarks-main.yml")
    assert doc["on"]["push"]["branches"] == ["main"]
    assert doc["concurrency"]["cancel-in-progress"] == "false"  # booleans stay strings here
    bench, deploy = doc["jobs"]["benchmark"], doc["jobs"]["deploy"]
    assert bench["permissions"] == {"contents": "write"}
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert any(s.get("uses", "").startswith("actions/deploy-pages") for s in deploy["steps"])
    assert any(s.get("uses", "").startswith("actions/upload-pages-artifact")
               for s in bench["steps"])


# --------------------------------------------------------------------------- security model
#
# Issue 8's security model, read off the workflow files themselves. site/reliability.md
# lists each guarantee next to the test that shows it.

class _Expr:
    """Just enough of GitHub's expression language to evaluate the workflows' `if:`s:
    literals, context paths (with `*` over lists), ! == != && || ( ) and contains().
    Strings compare case-insensitively and && / || return an operand, as on GitHub."""

    TOKEN = re.compile(r"\s*(?:('(?:[^']|'')*')|(==|!=|&&|\|\||[!(),])|"
                       r"([A-Za-z_][\w-]*(?:\.(?:[\w-]+|\*))*))")

    def __init__(self, text, context):
        text = text.strip()
        if text.startswith("${{") and text.endswith("}}"):
            text = text[3:-2]
        self.tokens, pos = [], 0
        text = text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            assert m and m.end() > pos, f"cannot read {text[pos:]!r}"
            self.tokens.append(m.group(1) or m.group(2) or m.group(3))
            pos = m.end()
            while pos < len(text) and text[pos].isspace():
                pos += 1
        self.context, self.i = context, 0

    def value(self):
        out = self.or_()
        assert self.i == len(self.tokens), self.tokens[self.i:]
        return out

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self):
        self.i += 1
        return self.tokens[self.i - 1]

    def or_(self):
        left = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            left = left if left else right
        return left

    def and_(self):
        left = self.cmp()
        while self.peek() == "&&":
            self.take()
            right = self.cmp()
            left = right if left else left
        return left

    def cmp(self):
        left = self.unary()
        while self.peek() in ("==", "!="):
            op = self.take()
            right = self.unary()
            same = (left.lower() == right.lower() if isinstance(left, str)
                    and isinstance(right, str) else left == right)
            left = same if op == "==" else not same
        return left

    def unary(self):
        if self.peek() == "!":
            self.take()
            return not self.unary()
        tok = self.take()
        if tok == "(":
            out = self.or_()
            assert self.take() == ")"
            return out
        if tok.startswith("'"):
            return tok[1:-1].replace("''", "'")
        if tok in ("true", "false"):
            return tok == "true"
        if self.peek() == "(":
            self.take()
            args = [self.or_()]
            while self.peek() == ",":
                self.take()
                args.append(self.or_())
            assert self.take() == ")"
            assert tok == "contains", tok
            hay, needle = args
            if isinstance(hay, list):
                return any(str(h).lower() == str(needle).lower() for h in hay)
            return str(needle).lower() in str(hay).lower()
        return self.lookup(tok)

    def lookup(self, path):
        values = [self.context]
        for part in path.split("."):
            nxt = []
            for v in values:
                if part == "*":
                    nxt.extend(v if isinstance(v, list) else [])
                elif isinstance(v, dict) and part in v:
                    nxt.append(v[part])
                elif isinstance(v, dict) or v is None:
                    nxt.append(None)
            values = nxt
        return values if "*" in path else (values[0] if values else None)


def evaluate(text, context):
    return _Expr(text, context).value()


def pr_event(action, fork, labels=(), label=None):
    """The `github` context of a pull_request event as far as the `if:`s read it."""
    head_repo = "mallory/engine" if fork else "octo/engine"
    event = {"action": action, "pull_request": {
        "number": 7, "head": {"repo": {"full_name": head_repo}, "sha": "b" * 40},
        "base": {"sha": "a" * 40}, "labels": [{"name": n} for n in labels]}}
    if label is not None:
        event["label"] = {"name": label}
    return {"github": {"repository": "octo/engine", "event_name": "pull_request",
                       "event": event, "run_id": "1234"}}


def test_the_expression_reader_agrees_with_github_semantics():
    ctx = {"github": {"a": "X", "n": None, "l": [{"name": "p"}, {"name": "Q"}]}}
    assert evaluate("github.a == 'x'", ctx) is True  # case-insensitive, as on GitHub
    assert evaluate("github.a != 'x' || 'fallback'", ctx) == "fallback"
    assert evaluate("github.n && 'no' || 'yes'", ctx) == "yes"
    assert evaluate("contains(github.l.*.name, 'q') && !(github.a == 'y')", ctx) is True
    assert evaluate("contains(github.l.*.name, 'r')", ctx) is False


PR_CASES = [
    # (event action, fork?, labels on the PR, the label just added, runs?)
    ("opened", False, (), None, True),
    ("synchronize", False, (), None, True),
    ("reopened", False, (), None, True),
    ("labeled", False, ("documentation",), "documentation", False),  # nothing new to run
    ("labeled", False, ("run-benchmarks",), "run-benchmarks", True),  # a re-run on request
    ("opened", True, (), None, False),
    ("synchronize", True, (), None, False),
    ("labeled", True, ("documentation",), "documentation", False),
    ("labeled", True, ("run-benchmarks",), "run-benchmarks", True),  # a maintainer's approval
    # the label stays on while the fork pushes new, unread code: that push must not run
    ("synchronize", True, ("run-benchmarks",), None, False),
    ("reopened", True, ("run-benchmarks",), None, False),
]


@pytest.mark.parametrize("action, fork, labels, label, runs", PR_CASES)
def test_fork_prs_run_only_when_a_maintainer_adds_the_label(action, fork, labels, label, runs):
    doc = load(ROOT / ".github/workflows/benchmarks-pr.yml")
    assert doc["on"]["pull_request"]["types"] == ["opened", "synchronize", "reopened",
                                                  "labeled"]
    job = doc["jobs"]["benchmark"]
    assert bool(evaluate(job["if"], pr_event(action, fork, labels, label))) is runs


def test_an_unrelated_label_cancels_no_benchmark_run():
    """The workflow's concurrency group cancels the older run of a PR; a run started by
    another label (whose job is skipped) must not cancel a benchmark in progress."""
    doc = load(ROOT / ".github/workflows/benchmarks-pr.yml")
    assert doc["concurrency"]["cancel-in-progress"] == "true"
    group = doc["concurrency"]["group"]

    def group_of(*args):
        ctx = pr_event(*args)
        return EXPR_ANY.sub(lambda m: str(evaluate(m.group(1), ctx)), group)

    push = group_of("synchronize", False)
    assert push == "benchmarks-pr-7-benchmark"
    assert group_of("labeled", False, ("run-benchmarks",), "run-benchmarks") == push
    assert group_of("labeled", True, ("run-benchmarks",), "run-benchmarks") == push
    assert group_of("labeled", False, ("documentation",), "documentation") \
        == "benchmarks-pr-7-1234"


def test_pr_workflow_token_is_read_only_everywhere():
    """No job may widen the read-only token, and nothing hands a token to the PR's code:
    no secrets, no github.token / GITHUB_TOKEN anywhere in the file."""
    path = ROOT / ".github/workflows/benchmarks-pr.yml"
    text = path.read_text()
    for forbidden in ("secrets.", "github.token", "GITHUB_TOKEN", "github-token",
                      "pull_request_target", "write"):
        assert forbidden not in text.split("\nname:", 1)[1], forbidden  # past the comment
    doc = load(path)
    assert doc["permissions"] == {"contents": "read"}
    for job in doc["jobs"].values():
        assert job.get("permissions", {"contents": "read"}) == {"contents": "read"}


EXPR_ANY = re.compile(r"\$\{\{\s*(.*?)\s*\}\}", re.DOTALL)

# Fields of the github context whose text an outside contributor chooses (GitHub Security
# Lab's "untrusted input" list, plus the workflow_run event's copies of them). Any of them
# pasted into a shell script is a script injection. (github.event.label.name is not here:
# only people with triage access can label, and the PR workflow compares it in `if:`.)
ATTACKER_CONTROLLED = re.compile(r"""
    github\.head_ref
  | github\.event\.(issue|pull_request|discussion)\.(title|body)
  | github\.event\.(comment|review|review_comment)\.body
  | github\.event\.pages\.[^ ]*\.page_name
  | github\.event\.(head_commit|commits\.[^ .]+|workflow_run\.head_commit)
        \.(message|author\.(email|name)|committer\.(email|name))
  | github\.event\.pull_request\.head\.(ref|label|repo\.(default_branch|description|name))
  | github\.event\.workflow_run\.(head_branch|display_title|head_repository)
  | github\.event\.workflow_run\.pull_requests\.[^ .]+\.head\.ref
""", re.VERBOSE)


def injection_findings(doc, name="workflow"):
    """Where an expression reaches a shell (or script) as text: every ${{ }} inside a run:
    script, and every attacker-controlled field inside one, or inside the script input of
    actions/github-script. Values passed through env: are data, not code, and allowed."""
    found = []
    for step in steps_of(doc):
        label = f"{name}: step {step.get('name') or step.get('run') or step.get('uses')!r}"
        scripts = [("run", step.get("run", ""))]
        if str(step.get("uses", "")).startswith("actions/github-script"):
            scripts.append(("script", (step.get("with") or {}).get("script", "")))
        for where, text in scripts:
            for m in EXPR_ANY.finditer(str(text)):
                hostile = ATTACKER_CONTROLLED.search(m.group(1))
                found.append(f"{label}: {where}: ${{{{ {m.group(1)} }}}}"
                             + (" (attacker-controlled)" if hostile else ""))
    return found


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_attacker_controlled_field_reaches_a_script(path):
    assert injection_findings(load(path), path.name) == []


def test_attacker_controlled_fields_appear_only_in_conditions():
    """Outside run: scripts, an attacker-controlled field may be compared in an `if:`,
    never passed on: not into env: (a careless script could still eval it), with: or
    concurrency. Today no workflow uses one at all; the list above is what it checks."""
    for path in [ACTION, *WORKFLOWS]:
        text = path.read_text()
        for m in EXPR_ANY.finditer(text):
            assert not ATTACKER_CONTROLLED.search(m.group(1)), (path.name, m.group(0))


CRAFTED = """\
name: crafted
on: pull_request
jobs:
  j:
    runs-on: ubuntu-latest
    steps:
      - name: greet
        run: echo "Thanks for ${{ github.event.pull_request.title }}"
      - name: branch
        run: |
          git fetch origin ${{ github.head_ref }}
      - name: safe
        env:
          TITLE: ${{ github.event.pull_request.title }}
        run: echo "Thanks for $TITLE"
      - name: script
        uses: actions/github-script@v7
        with:
          script: console.log("${{ github.event.comment.body }}")
      - name: inputs
        run: echo ${{ inputs.mode }}
"""


def test_the_injection_scan_can_fail(tmp_path):
    path = tmp_path / "crafted.yml"
    path.write_text(CRAFTED)
    found = injection_findings(load(path), "crafted.yml")
    assert found == [
        ("crafted.yml: step 'greet': run: ${{ github.event.pull_request.title }} "
         "(attacker-controlled)"),
        "crafted.yml: step 'branch': run: ${{ github.head_ref }} (attacker-controlled)",
        ("crafted.yml: step 'script': script: ${{ github.event.comment.body }} "
         "(attacker-controlled)"),
        "crafted.yml: step 'inputs': run: ${{ inputs.mode }}",
    ]
    # every field of the list is recognised
    for field in ("github.event.issue.title", "github.event.issue.body",
                  "github.event.review.body", "github.event.review_comment.body",
                  "github.event.head_commit.message", "github.event.commits.0.message",
                  "github.event.head_commit.author.email",
                  "github.event.commits.1.author.name", "github.event.pull_request.head.label",
                  "github.event.pull_request.head.repo.default_branch",
                  "github.event.workflow_run.head_branch",
                  "github.event.workflow_run.head_commit.message",
                  "github.event.workflow_run.display_title",
                  "github.event.discussion.body", "github.event.pages.0.page_name"):
        assert ATTACKER_CONTROLLED.search(field), field
    for field in ("github.event.pull_request.number", "github.event.workflow_run.head_sha",
                  "github.event.pull_request.head.sha", "github.repository", "github.token"):
        assert not ATTACKER_CONTROLLED.search(field), field


# --------------------------------------------------------------------------- the comment step
#
# The comment workflow's own `run:` text, executed by bash with the workflow's env: (its
# expressions filled in as GitHub would) and the real `benchwatch comment`, against the
# loopback GitHub API, on crafted artifacts of an untrusted PR run.

REPO, HEAD_SHA = "octo/engine", "b" * 40


def comment_step():
    doc = load(ROOT / ".github/workflows/benchmarks-comment.yml")
    (step,) = [s for s in doc["jobs"]["comment"]["steps"] if "benchwatch comment" in
               s.get("run", "")]
    return step


def run_comment_step(gh, tmp_path, pr_number: bytes, verdict_doc, head_sha=HEAD_SHA):
    artifact = tmp_path / "verdict"
    artifact.mkdir(exist_ok=True)
    (artifact / "pr-number.txt").write_bytes(pr_number)
    (artifact / "verdict.json").write_text(verdict_doc if isinstance(verdict_doc, str)
                                           else json.dumps(verdict_doc))
    # what the untrusted run would like to have posted: never used
    (artifact / "report.md").write_text("PWNED <img src=x onerror=alert(1)>\n")
    known = {"github.token": gh.token, "github.event.workflow_run.head_sha": head_sha,
             "runner.temp": str(tmp_path),
             "github.event.workflow_run.html_url": "https://github.example/runs/9"}
    step = comment_step()
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "LANG": "C.UTF-8", **gh.env(REPO)}
    for key, value in step["env"].items():
        env[key] = EXPR_ANY.sub(lambda m: known[m.group(1)], str(value))
    assert env["VERDICT_DIR"] == str(artifact)
    work = tmp_path / "cwd"
    work.mkdir(exist_ok=True)
    return subprocess.run(["bash", "-e", "-c", step["run"]], cwd=work, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def gate_verdict(name="suite.time_sort", status="regression", **extra):
    from test_comment import comp, gate_doc

    from benchwatch import report

    doc = report.to_dict(gate_doc([comp(name, status, 40.0, severity="major"),
                                   comp("suite.time_ok", "unchanged", 0.2)]))
    doc["head"] = HEAD_SHA
    doc.update(extra)
    return doc


@pytest.fixture
def gh():
    from github_server import GitHubServer

    with GitHubServer() as server:
        server.add_pull(REPO, 7, head_sha=HEAD_SHA)
        server.add_pull(REPO, 8, head_sha="c" * 40)
        yield server


def test_comment_step_posts_a_comment_rendered_from_the_data(gh, tmp_path):
    hostile = "<img src=x onerror=alert(1)>"
    doc = gate_verdict(hostile, markdown="PWNED", comment="PWNED", body="PWNED")
    proc = run_comment_step(gh, tmp_path, b"7\n", doc)
    assert proc.returncode == 0, proc.stderr
    (post,) = gh.calls("POST", f"/repos/{REPO}/issues/7/comments")
    body = post.body["body"]
    assert "PWNED" not in body and "<img" not in body
    assert "| &lt;img src\\=x onerror\\=alert\\(1\\)&gt; | 1 ms | 1.4 ms |" in body
    (check,) = gh.check_runs[REPO]
    assert (check["head_sha"], check["conclusion"]) == (HEAD_SHA, "failure")
    assert gh.token not in proc.stdout + proc.stderr


@pytest.mark.parametrize("pr_number, message", [
    (b"1; rm -rf /\n", "--pr must be a positive integer"),
    (b"$(touch pwned)\n", "--pr must be a positive integer"),
    (b"`touch pwned`", "--pr must be a positive integer"),
    (b"7 8", "--pr must be a positive integer"),
    (b"9" * 1_000_000, "--pr must be a positive integer"),  # read 20 bytes of it, no more
    (b"", "--pr must be a positive integer"),
    (b"\xff\xfe7", "--pr must be a positive integer"),
])
def test_comment_step_refuses_a_pr_number_that_is_not_an_integer(gh, tmp_path, pr_number,
                                                                  message):
    proc = run_comment_step(gh, tmp_path, pr_number, gate_verdict())
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert not gh.requests  # refused before the network
    assert not (tmp_path / "cwd" / "pwned").exists()


def test_comment_step_refuses_a_pr_whose_head_is_not_the_runs_head(gh, tmp_path):
    # the artifact names PR 8, but the run benchmarked HEAD_SHA, the head of PR 7
    proc = run_comment_step(gh, tmp_path, b"8\n", gate_verdict())
    assert proc.returncode == 2
    assert ("pull request #8 has head cccccccccccc, not bbbbbbbbbbbb: the report is for "
            "another commit; not commenting") in proc.stderr
    assert not gh.calls("POST") and not gh.calls("PATCH")


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["results"][0].update(status="<script>"),
     "results[0].status '<script>' is unknown"),
    (lambda d: d.update(verdict="pass; rm -rf /"), "report 'verdict' must be 'pass' or 'fail'"),
    (lambda d: d.update(base="$(id)"), "report 'base' must be a hex commit hash"),
    (lambda d: d.update(kind="markdown"), "report 'kind' must be 'gate' or 'compare'"),
    (lambda d: d.update(results="<b>"), "report 'results' must be a list"),
    (lambda d: d["results"][0].update(change_pct="40"), "results[0].change_pct"),
])
def test_comment_step_refuses_a_verdict_that_fails_the_schema(gh, tmp_path, mutate, message):
    doc = gate_verdict()
    mutate(doc)
    proc = run_comment_step(gh, tmp_path, b"7\n", doc)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "verdict.json" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not gh.requests


def test_comment_step_refuses_a_verdict_that_is_not_json(gh, tmp_path):
    proc = run_comment_step(gh, tmp_path, b"7\n", '{"kind": "gate",\n "base": ')
    assert proc.returncode == 2
    assert f"{tmp_path / 'verdict' / 'verdict.json'}:2: the report is not valid JSON" \
        in proc.stderr
    assert not gh.requests
