"""benchwatch.github against the loopback GitHub API (tests/github_server.py): requests,
pages, retries and their delays, the token kept secret, authorship, body limits."""

import pytest
from github_server import GitHubServer

from benchwatch import github
from benchwatch.github import Client, GitHubError, Identity

REPO = "octo/bench"
PAT = "ghp_personalAccessToken0123456789abcdefXYZ"
BOT = Identity("github-actions[bot]", bot=True)


@pytest.fixture
def gh():
    with GitHubServer() as server:
        yield server


def client(gh, sleeps=None, token=None, **kw):
    return Client(token or gh.token, gh.url, sleep=(sleeps.append if sleeps is not None
                                                    else _no_sleep), **kw)


def _no_sleep(seconds):
    raise AssertionError(f"unexpected sleep({seconds})")


# --------------------------------------------------------------------------- requests

def test_token_from_env_sent_as_bearer_and_api_url_honoured(gh, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", PAT)
    monkeypatch.setenv("GITHUB_API_URL", gh.url + "/")
    gh.add_token(PAT, "alice")
    c = Client(sleep=_no_sleep)
    assert c.api_url == gh.url
    assert c.get("/user")["login"] == "alice"
    (req,) = gh.requests
    assert req.headers["authorization"] == f"Bearer {PAT}"
    assert req.headers["accept"] == "application/vnd.github+json"
    assert req.headers["x-github-api-version"] == "2022-11-28"
    assert req.headers["user-agent"].startswith("benchwatch/")
    assert PAT not in repr(c)


def test_missing_token_and_bad_api_url(monkeypatch):
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    with pytest.raises(github.UserError, match="no GitHub token: set GITHUB_TOKEN"):
        Client()
    with pytest.raises(github.UserError, match="GITHUB_API_URL must be an http"):
        Client("t", "file:///etc/passwd")


def test_pagination_follows_link_100_a_page(gh):
    for i in range(250):
        gh.add_comment(REPO, 3, f"c{i}", "alice")
    bodies = [c["body"] for c in client(gh).paginate(f"/repos/{REPO}/issues/3/comments")]
    assert bodies == [f"c{i}" for i in range(250)]
    reqs = gh.calls("GET")
    assert [r.query.get("page") for r in reqs] == [None, "2", "3"]
    assert {r.query["per_page"] for r in reqs} == {"100"}


def test_next_link_parsing_and_no_page_link_to_another_host(gh):
    header = ('<https://api.github.com/x?page=3>; rel="last", '
              '<https://api.github.com/x?page=2>; rel="next"')
    assert github.next_link(header) == "https://api.github.com/x?page=2"
    assert github.next_link('<https://a/x?page=1>; rel="prev"') is None
    assert github.next_link("") is None
    with pytest.raises(GitHubError, match="page link to another host"):
        client(gh)._url("http://evil.example/steal", None)
    with pytest.raises(GitHubError, match="page link to another host"):
        client(gh)._url(gh.url.replace("127.0.0.1", "localhost") + "/x", None)


# --------------------------------------------------------------------------- retries

def test_502s_are_retried_with_exponential_backoff(gh):
    gh.fail("GET", "/user", status=502, times=3)
    sleeps = []
    with pytest.raises(GitHubError, match="HTTP 403"):  # then the Actions token's 403
        client(gh, sleeps).get("/user")
    assert sleeps == [2.0, 4.0, 8.0]
    assert [r.status for r in gh.requests] == [502, 502, 502, 403]


def test_retries_run_out_with_a_clear_error(gh):
    gh.fail(status=503, times=99, message="Service Unavailable")
    sleeps = []
    with pytest.raises(GitHubError) as exc:
        client(gh, sleeps, max_delay=10).get(f"/repos/{REPO}/pulls/5")
    assert str(exc.value) == (f"GitHub API GET /repos/{REPO}/pulls/5: HTTP 503: "
                              "Service Unavailable after 5 attempts")
    assert exc.value.status == 503 and exc.value.exit_code == 2
    assert sleeps == [2.0, 4.0, 8.0, 10.0]  # capped at max_delay
    assert len(gh.requests) == 5


def test_secondary_rate_limit_waits_retry_after(gh):
    gh.add_pull(REPO, 5, "a" * 40)
    gh.secondary_rate_limit("GET", f"/repos/{REPO}/pulls/5", retry_after=7, times=2)
    sleeps = []
    assert client(gh, sleeps).get(f"/repos/{REPO}/pulls/5")["number"] == 5
    assert sleeps == [7.0, 7.0]
    assert [r.status for r in gh.requests] == [403, 403, 200]


def test_primary_rate_limit_waits_until_reset(gh):
    gh.add_pull(REPO, 5, "a" * 40)
    gh.primary_rate_limit(reset_epoch=1_000_030)
    sleeps = []
    c = client(gh, sleeps, clock=lambda: 1_000_000.0)
    assert c.get(f"/repos/{REPO}/pulls/5")["number"] == 5
    assert sleeps == [31.0]  # reset - now + 1


def test_a_wait_beyond_max_wait_is_reported_not_waited(gh):
    gh.secondary_rate_limit(retry_after=3600)
    with pytest.raises(GitHubError, match="rate limited for 3600 s, longer than the 300 s"):
        client(gh, []).get("/user")
    assert len(gh.requests) == 1


def test_a_plain_403_is_not_retried(gh):
    gh.fail("POST", f"/repos/{REPO}/check-runs", status=403, message="Resource not "
            "accessible by integration")
    with pytest.raises(GitHubError, match=f"POST /repos/{REPO}/check-runs: HTTP 403: "
                                          "Resource not accessible by integration$"):
        client(gh).post(f"/repos/{REPO}/check-runs", {"name": "x", "head_sha": "a" * 40})
    assert len(gh.requests) == 1


def test_a_timeout_is_retried(gh):
    gh.add_pull(REPO, 5, "a" * 40)
    gh.slow("GET", f"/repos/{REPO}/pulls/5", seconds=1.0)
    sleeps = []
    assert client(gh, sleeps, timeout=0.2).get(f"/repos/{REPO}/pulls/5")["number"] == 5
    assert sleeps == [2.0]
    assert len(gh.calls("GET", f"/repos/{REPO}/pulls/5")) == 2


def test_timeouts_run_out(gh):
    gh.slow(seconds=1.0, times=2)
    sleeps = []
    with pytest.raises(GitHubError) as exc:
        client(gh, sleeps, timeout=0.2, attempts=2).get("/user")
    assert str(exc.value) == "GitHub API GET /user: timed out after 2 attempts"
    assert sleeps == [2.0]


def test_the_token_never_appears_in_errors(gh, capsys):
    gh.add_token(PAT, "alice")
    # a server (or proxy) that echoes the credentials back in its error message
    gh.fail(status=502, times=5, message=f"upstream rejected Authorization: Bearer {PAT}")
    with pytest.raises(GitHubError) as exc:
        client(gh, [], token=PAT).get("/user")
    assert PAT not in str(exc.value) and "Bearer ***" in str(exc.value)
    with pytest.raises(GitHubError) as exc:
        client(gh, token=PAT + "x").get("/user")  # wrong token: 401
    assert str(exc.value) == "GitHub API GET /user: HTTP 401: Bad credentials"
    out = capsys.readouterr()
    assert PAT not in out.out + out.err


def test_connection_refused_is_retried_then_reported(gh):
    url = gh.url
    gh.stop()
    sleeps = []
    with pytest.raises(GitHubError) as exc:
        Client(gh.token, url, sleep=sleeps.append, attempts=3).get("/user")
    assert str(exc.value) == ("GitHub API GET /user: cannot connect (ConnectionRefusedError) "
                              "after 3 attempts")
    assert sleeps == [2.0, 4.0]


# --------------------------------------------------------------------------- identity

def test_identity_of_a_pat_and_of_the_actions_token(gh):
    gh.add_token(PAT, "alice")
    assert github.identity(client(gh, token=PAT)) == Identity("alice", bot=False)
    assert github.identity(client(gh)) == BOT  # /user is 403 for installation tokens
    assert github.identity(client(gh), "my-app[bot]") == Identity("my-app[bot]", bot=True)
    with pytest.raises(github.UserError, match="acts as 'alice', not 'bob'"):
        github.identity(client(gh, token=PAT), "bob")


def test_authorship_needs_login_and_bot_type():
    bot_comment = {"user": {"login": "github-actions[bot]", "type": "Bot"}}
    assert github.is_ours(bot_comment, BOT)
    assert not github.is_ours({"user": {"login": "github-actions[bot]", "type": "User"}}, BOT)
    assert not github.is_ours({"user": {"login": "mallory", "type": "User"}}, BOT)
    assert not github.is_ours({"user": None}, BOT)
    alice = Identity("alice", bot=False)
    assert github.is_ours({"user": {"login": "alice", "type": "User"}}, alice)


def test_the_marker_must_open_the_body():
    m = github.comment_marker("default")
    assert m == "<!-- benchwatch:pr-comment key=default -->"
    assert github.has_marker(m + "\nreport", m)
    assert not github.has_marker("> " + m + "\nquoted", m)
    assert not github.has_marker("text\n" + m, m)
    with pytest.raises(github.UserError, match="comment key"):
        github.comment_marker("x --><script>")


# --------------------------------------------------------------------------- sticky comment

def test_upsert_creates_then_edits_in_place(gh):
    marker = github.comment_marker("default")
    c = client(gh)
    first = github.upsert_comment(c, REPO, 4, marker + "\none", marker, BOT)
    second = github.upsert_comment(c, REPO, 4, marker + "\ntwo", marker, BOT)
    assert (first.action, second.action, first.id) == ("created", "updated", second.id)
    assert [x["body"] for x in gh.comments[(REPO, 4)]] == [marker + "\ntwo"]
    assert [(r.method, r.path) for r in gh.requests if r.method != "GET"] == [
        ("POST", f"/repos/{REPO}/issues/4/comments"),
        ("PATCH", f"/repos/{REPO}/issues/comments/{first.id}")]


def test_a_pasted_marker_in_a_human_comment_is_never_edited(gh):
    marker = github.comment_marker("default")
    human = gh.add_comment(REPO, 4, marker + "\nlooks like benchwatch", "mallory")
    impostor = gh.add_comment(REPO, 4, marker + "\nalso", "github-actions[bot]", "User")
    done = github.upsert_comment(client(gh), REPO, 4, marker + "\nreal", marker, BOT)
    assert done.action == "created" and done.id not in (human["id"], impostor["id"])
    assert human["body"] == marker + "\nlooks like benchwatch"
    assert impostor["body"] == marker + "\nalso"
    assert not gh.calls("PATCH")


def test_the_bot_comment_is_found_on_page_two(gh):
    marker = github.comment_marker("default")
    for i in range(130):
        gh.add_comment(REPO, 9, f"chatter {i}", "alice")
    ours = gh.add_comment(REPO, 9, marker + "\nold", "github-actions[bot]", "Bot")
    gh.add_comment(REPO, 9, github.comment_marker("other-runner") + "\nx",
                   "github-actions[bot]", "Bot")
    done = github.upsert_comment(client(gh), REPO, 9, marker + "\nnew", marker, BOT)
    assert (done.action, done.id) == ("updated", ours["id"]) and ours["body"] == marker + "\nnew"
    assert [r.query.get("page") for r in gh.calls("GET")] == [None, "2"]
    assert len(gh.comments[(REPO, 9)]) == 132


# --------------------------------------------------------------------------- body limits

def test_fit_cuts_at_a_line_closes_details_and_links_the_report():
    body = "head\n<details><summary>x</summary>\n\n" + "".join(
        f"| row {i:05d} | {'x' * 80} |\n" for i in range(1000))
    assert github.utf16_len(body) == 97_036  # 36 + 1000 x 97
    out = github.fit(body, 65536, "https://github.example/o/r/actions/runs/1")
    assert github.utf16_len(out) <= 65536
    assert out.startswith("head\n<details>") and out.count("</details>") == 1
    assert out.endswith("character limit; the full report: "
                        "https://github.example/o/r/actions/runs/1\n")
    assert "65,536-character limit" in out
    kept = [line for line in out.split("\n") if line.startswith("| row")]
    assert kept[-1].startswith("| row 00") and all(line.endswith("|") for line in kept)
    assert len(kept) == 671  # (65536 - 142 notice - 200 spare - 38 head) // 97
    assert github.fit("short", 65536) == "short"
    assert "in the workflow run's artifacts" in github.fit("x\n" * 40_000, 65536)


def test_utf16_length_counts_astral_characters_twice():
    assert github.utf16_len("a✅") == 2 and github.utf16_len("a😀") == 3


def test_urls_for_markdown_are_checked():
    assert github.check_url("https://o.github.io/r", "--site-url") == "https://o.github.io/r"
    for bad in ("javascript:alert(1)", "https://x/a b", "https://x/)[y](z", "ftp://x/",
                'https://x/"'):
        with pytest.raises(github.UserError, match="--site-url must be an http"):
            github.check_url(bad, "--site-url")


def test_repo_and_sha_validation():
    assert github.check_repo("octo/bench.js") == "octo/bench.js"
    for bad in ("octo", "octo/bench/extra", "../x", "octo/..", "a b/c", "o/r?x=1"):
        with pytest.raises(github.UserError, match="repository must be OWNER/NAME"):
            github.check_repo(bad)
    assert github.check_sha("a" * 40) == "a" * 40
    with pytest.raises(github.UserError, match="full commit hash"):
        github.check_sha("A" * 40)


# --------------------------------------------------------------------------- PRs, checks, issues

def test_find_pull_falls_back_to_open_prs_for_forks(gh):
    gh.add_pull(REPO, 11, "b" * 40)
    gh.add_pull(REPO, 12, "c" * 40, fork=True)
    gh.add_pull(REPO, 13, "d" * 40, state="closed")
    c = client(gh)
    assert github.find_pull(c, REPO, "b" * 40) == 11
    assert github.find_pull(c, REPO, "c" * 40) == 12
    assert [r.path for r in gh.requests[-2:]] == [f"/repos/{REPO}/commits/{'c' * 40}/pulls",
                                                  f"/repos/{REPO}/pulls"]
    with pytest.raises(github.UserError, match=f"no open pull request in {REPO} has head"):
        github.find_pull(c, REPO, "d" * 40)
    gh.add_pull(REPO, 14, "b" * 40)
    with pytest.raises(github.UserError, match=r"several open pull requests .*\(#11, #14\)"):
        github.find_pull(c, REPO, "b" * 40)


def test_check_run_is_created_then_updated_and_summary_capped(gh):
    c, sha = client(gh), "e" * 40
    first = github.upsert_check_run(c, REPO, sha, name="benchwatch", conclusion="failure",
                                    title="t1", summary="s" * 70_000 + "\n")
    second = github.upsert_check_run(c, REPO, sha, name="benchwatch", conclusion="success",
                                     title="t2", summary="ok")
    (run,) = gh.check_runs[REPO]
    assert (first.action, second.action, first.id) == ("created", "updated", second.id)
    assert run["conclusion"] == "success" and run["output"] == {"title": "t2", "summary": "ok"}
    first_body = gh.calls("POST")[0].body
    assert len(first_body["output"]["summary"]) <= 65535
    assert "truncated" in first_body["output"]["summary"]


def test_a_check_run_of_another_app_is_not_edited(gh):
    sha = "f" * 40
    gh.add_token(PAT, "other-app[bot]", "Bot", can_get_user=False)
    github.upsert_check_run(client(gh, token=PAT), REPO, sha, name="benchwatch",
                            conclusion="success", title="theirs", summary="x")
    done = github.upsert_check_run(client(gh), REPO, sha, name="benchwatch",
                                   conclusion="failure", title="ours", summary="y")
    assert done.action == "created"
    assert [r["output"]["title"] for r in gh.check_runs[REPO]] == ["theirs", "ours"]


def test_issue_upsert_updates_open_leaves_closed_and_ignores_impostors(gh):
    c = client(gh)
    m1, m2 = github.issue_marker("urn:uuid:1"), github.issue_marker("urn:uuid:2")
    gh.add_issue(REPO, "fake", m1 + "\npasted", "mallory", labels=("benchwatch-regression",))
    closed = gh.add_issue(REPO, "old", m2 + "\nold", "github-actions[bot]", "Bot",
                          state="closed", labels=("benchwatch-regression",))
    made = github.upsert_issue(c, REPO, marker=m1, title="A", body=m1 + "\na", label=
                               "benchwatch-regression", who=BOT)
    assert (made.action, made.number) == ("created", 3)
    again = github.upsert_issue(c, REPO, marker=m1, title="A2", body=m1 + "\na2",
                                label="benchwatch-regression", who=BOT)
    assert (again.action, again.number) == ("updated", 3)
    left = github.upsert_issue(c, REPO, marker=m2, title="B", body=m2 + "\nb",
                               label="benchwatch-regression", who=BOT)
    assert (left.action, left.number) == ("closed", closed["number"])
    assert closed["state"] == "closed" and closed["body"] == m2 + "\nold"
    assert [(i["number"], i["title"]) for i in gh.issues[REPO]] == [(1, "fake"), (2, "old"),
                                                                   (3, "A2")]
    assert {r.query.get("labels") for r in gh.calls("GET")} == {"benchwatch-regression"}
