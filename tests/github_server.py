"""A loopback GitHub REST API for tests: real HTTP on 127.0.0.1, real state, a request log.

GitHub cannot be reached from CI runners that test benchwatch, and a mock that returns
canned answers asserts nothing about what was sent. This server keeps issues, comments,
check runs and pull requests in memory, serves them with GitHub's pagination (``Link``
headers, ``per_page`` up to 100), checks the bearer token, and records every request so a
test can assert on what the client really did. Faults can be injected: 5xx statuses,
secondary and primary rate limits, slow (timed-out) responses.

Usage::

    from github_server import GitHubServer

    with GitHubServer() as gh:                       # listens on 127.0.0.1, a free port
        gh.add_pull("o/r", 7, head_sha="ab" * 20)
        env = gh.env()                               # GITHUB_API_URL, GITHUB_TOKEN, ...
        ...
        assert [r.method for r in gh.requests] == ["GET", "POST"]
        gh.fail("POST", "/repos/o/r/check-runs", status=502, times=2)

Tokens: ``gh.token`` acts as ``github-actions[bot]`` (type Bot) and, like the Actions
token, gets 403 from ``GET /user``; ``gh.add_token(...)`` adds others (a person, a PAT).
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

BODY_LIMIT = 65536
SUMMARY_LIMIT = 65535


@dataclass
class Request:
    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, or None
    status: int = 0  # what the server answered


@dataclass
class User:
    login: str
    type: str = "User"  # or "Bot"
    can_get_user: bool = True  # False for installation tokens (Actions)

    def json(self) -> dict[str, Any]:
        return {"login": self.login, "id": abs(hash(self.login)) % 10**8, "type": self.type}


@dataclass
class Fault:
    method: str | None  # None: any
    path: str | None  # a regex matched against the path, None: any
    times: int
    status: int = 502
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "Server Error"
    delay: float = 0.0  # seconds before answering (a timeout for a client with less)


class GitHubServer:
    """The server and its state; a context manager that starts and stops it."""

    def __init__(self, token: str = "ghs_loopbackActionsToken0123456789abcdef"):
        self.token = token
        self.users: dict[str, User] = {token: User("github-actions[bot]", "Bot", False)}
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self.comments: dict[tuple[str, int], list[dict]] = {}
        self.issues: dict[str, list[dict]] = {}
        self.check_runs: dict[str, list[dict]] = {}
        self.pulls: dict[str, dict[int, dict]] = {}
        self.labels_allowed = True  # False: labels on new issues are dropped, as GitHub does
        self._ids = 1000
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        server = self

        class Handler(_Handler):
            gh = server

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._httpd is not None, "start the server first"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def env(self, repo: str = "octo/bench", token: str | None = None) -> dict[str, str]:
        """Environment variables the action and the CLI read."""
        return {"GITHUB_API_URL": self.url, "GITHUB_TOKEN": token or self.token,
                "GITHUB_REPOSITORY": repo, "GITHUB_SERVER_URL": "https://github.example"}

    # ------------------------------------------------------------------ state helpers

    def add_token(self, token: str, login: str, type: str = "User",
                  can_get_user: bool = True) -> None:
        self.users[token] = User(login, type, can_get_user)

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def add_pull(self, repo: str, number: int, head_sha: str, state: str = "open",
                 fork: bool = False) -> dict:
        """A PR; ``fork`` ones are missing from ``commits/{sha}/pulls``, as on GitHub."""
        pr = {"number": number, "state": state, "head": {"sha": head_sha, "ref": "topic"},
              "fork": fork, "html_url": f"https://github.example/{repo}/pull/{number}"}
        self.pulls.setdefault(repo, {})[number] = pr
        return pr

    def add_comment(self, repo: str, number: int, body: str, login: str,
                    type: str = "User") -> dict:
        """A comment as if someone else had written it (no request logged)."""
        c = {"id": self.next_id(), "body": body, "user": User(login, type).json(),
             "html_url": f"https://github.example/{repo}/pull/{number}#c"}
        self.comments.setdefault((repo, number), []).append(c)
        return c

    def add_issue(self, repo: str, title: str, body: str, login: str, type: str = "User",
                  state: str = "open", labels: tuple[str, ...] = ()) -> dict:
        issues = self.issues.setdefault(repo, [])
        issue = {"id": self.next_id(), "number": len(issues) + 1, "title": title,
                 "body": body, "state": state, "user": User(login, type).json(),
                 "labels": [{"name": n} for n in labels],
                 "html_url": f"https://github.example/{repo}/issues/{len(issues) + 1}"}
        issues.append(issue)
        return issue

    def fail(self, method: str | None = None, path: str | None = None, *, status: int = 502,
             times: int = 1, headers: dict[str, str] | None = None,
             message: str = "Server Error", delay: float = 0.0) -> None:
        """The next ``times`` matching requests get ``status`` (after ``delay`` seconds)."""
        self.faults.append(Fault(method, path, times, status, dict(headers or {}), message,
                                 delay))

    def secondary_rate_limit(self, method: str | None = None, path: str | None = None, *,
                             retry_after: int = 7, times: int = 1) -> None:
        self.fail(method, path, status=403, times=times,
                  headers={"Retry-After": str(retry_after)},
                  message="You have exceeded a secondary rate limit.")

    def primary_rate_limit(self, reset_epoch: int, times: int = 1) -> None:
        self.fail(status=403, times=times,
                  headers={"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset_epoch)},
                  message="API rate limit exceeded.")

    def slow(self, method: str | None = None, path: str | None = None, *, seconds: float,
             times: int = 1) -> None:
        """Answer normally, but only after ``seconds`` (a client timeout fires first)."""
        self.fail(method, path, status=0, times=times, delay=seconds)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Request]:
        return [r for r in self.requests if (method is None or r.method == method)
                and (path is None or re.fullmatch(path, r.path))]

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.times > 0 and (f.method in (None, method)) and \
                        (f.path is None or re.fullmatch(f.path, path)):
                    f.times -= 1
                    return f
        return None


class _Handler(BaseHTTPRequestHandler):
    gh: GitHubServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    # ------------------------------------------------------------------ plumbing

    def _serve(self, method: str) -> None:
        parts = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        req = Request(method, parts.path, query, {k.lower(): v for k, v in
                                                  self.headers.items()}, body)
        with self.gh._lock:
            self.gh.requests.append(req)
        fault = self.gh.take_fault(method, parts.path)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.status:
                return self._send(req, fault.status, {"message": fault.message},
                                  fault.headers)
        auth = req.headers.get("authorization", "")
        user = self.gh.users.get(auth[len("Bearer "):]) if auth.startswith("Bearer ") else None
        if user is None:
            return self._send(req, 401, {"message": "Bad credentials"})
        try:
            status, data, headers = self._route(method, parts.path, query, body, user)
        except _Status as s:
            status, data, headers = s.status, {"message": s.message}, {}
        self._send(req, status, data, headers)

    def _send(self, req: Request, status: int, data: Any,
              headers: dict[str, str] | None = None) -> None:
        req.status = status
        raw = json.dumps(data).encode("utf-8")
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(raw)))
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
            pass

    def _page(self, path: str, query: dict[str, str], items: list) -> tuple[int, Any, dict]:
        per_page = min(100, int(query.get("per_page", 30)))
        page = int(query.get("page", 1))
        chunk = items[(page - 1) * per_page: page * per_page]
        links = []
        last = max(1, -(-len(items) // per_page))
        base = {k: v for k, v in query.items() if k != "page"}
        if page < last:
            links.append(f'<{self.gh.url}{path}?'
                         f'{urllib.parse.urlencode({**base, "page": page + 1})}>; rel="next"')
            links.append(f'<{self.gh.url}{path}?'
                         f'{urllib.parse.urlencode({**base, "page": last})}>; rel="last"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    # ------------------------------------------------------------------ the API

    def _route(self, method: str, path: str, q: dict[str, str], body: Any,
               user: User) -> tuple[int, Any, dict]:
        gh = self.gh
        if path == "/user" and method == "GET":
            if not user.can_get_user:
                raise _Status(403, "Resource not accessible by integration")
            return 200, user.json(), {}
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)", path)
        if not m:
            raise _Status(404, "Not Found")
        repo, rest = m.group(1), m.group(2)

        if (m := re.fullmatch(r"/issues/(\d+)/comments", rest)):
            number = int(m.group(1))
            comments = gh.comments.setdefault((repo, number), [])
            if method == "GET":
                return self._page(path, q, comments)
            if method == "POST":
                text = _body_text(body, "body")
                c = {"id": gh.next_id(), "body": text, "user": user.json(),
                     "html_url": f"https://github.example/{repo}/pull/{number}#c"}
                comments.append(c)
                return 201, c, {}
        if (m := re.fullmatch(r"/issues/comments/(\d+)", rest)) and method == "PATCH":
            for comments in gh.comments.values():
                for c in comments:
                    if c["id"] == int(m.group(1)):
                        if c["user"]["login"] != user.login:
                            raise _Status(403, "You cannot edit this comment")
                        c["body"] = _body_text(body, "body")
                        return 200, c, {}
            raise _Status(404, "Not Found")

        if rest == "/check-runs" and method == "POST":
            run = _check_run(body, {"id": gh.next_id(), "app": {"slug": user.login}})
            gh.check_runs.setdefault(repo, []).append(run)
            return 201, run, {}
        if (m := re.fullmatch(r"/check-runs/(\d+)", rest)) and method == "PATCH":
            for run in gh.check_runs.get(repo, []):
                if run["id"] == int(m.group(1)):
                    if run["app"]["slug"] != user.login:
                        raise _Status(403, "Invalid app")
                    _check_run({**run, **(body or {})}, run)
                    return 200, run, {}
            raise _Status(404, "Not Found")
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/check-runs", rest)) and method == "GET":
            runs = [r for r in gh.check_runs.get(repo, []) if r["head_sha"] == m.group(1)
                    and r["name"] == q.get("check_name", r["name"])]
            if q.get("filter", "latest") == "latest":
                runs = runs[-1:]
            status, chunk, headers = self._page(path, q, runs[::-1])
            return status, {"total_count": len(runs), "check_runs": chunk}, headers

        if (m := re.fullmatch(r"/pulls/(\d+)", rest)) and method == "GET":
            pr = gh.pulls.get(repo, {}).get(int(m.group(1)))
            if pr is None:
                raise _Status(404, "Not Found")
            return 200, pr, {}
        if rest == "/pulls" and method == "GET":
            state = q.get("state", "open")
            prs = [p for _, p in sorted(gh.pulls.get(repo, {}).items())
                   if state == "all" or p["state"] == state]
            return self._page(path, q, prs)
        if (m := re.fullmatch(r"/commits/([0-9a-f]+)/pulls", rest)) and method == "GET":
            # like GitHub: PRs from this repository's branches only (fork PRs are missing)
            prs = [p for _, p in sorted(gh.pulls.get(repo, {}).items())
                   if p["head"]["sha"] == m.group(1) and not p.get("fork")]
            return self._page(path, q, prs)

        if rest == "/issues":
            issues = gh.issues.setdefault(repo, [])
            if method == "GET":
                state = q.get("state", "open")
                want = set(filter(None, q.get("labels", "").split(",")))
                found = [i for i in issues if (state == "all" or i["state"] == state)
                         and want <= {lb["name"] for lb in i["labels"]}]
                return self._page(path, q, found)
            if method == "POST":
                title = _body_text(body, "title")
                labels = body.get("labels") or [] if gh.labels_allowed else []
                number = len(issues) + 1
                issue = {"id": gh.next_id(), "number": number, "title": title,
                         "body": _body_text(body, "body"), "state": "open",
                         "user": user.json(), "labels": [{"name": n} for n in labels],
                         "html_url": f"https://github.example/{repo}/issues/{number}"}
                issues.append(issue)
                return 201, issue, {}
        if (m := re.fullmatch(r"/issues/(\d+)", rest)) and method == "PATCH":
            for issue in gh.issues.get(repo, []):
                if issue["number"] == int(m.group(1)):
                    for key in ("title", "body", "state"):
                        if key in (body or {}):
                            issue[key] = _body_text(body, key)
                    return 200, issue, {}
            raise _Status(404, "Not Found")
        raise _Status(404, "Not Found")


class _Status(Exception):
    def __init__(self, status: int, message: str):
        self.status, self.message = status, message


def _body_text(body: Any, key: str) -> str:
    if not isinstance(body, dict) or not isinstance(body.get(key), str):
        raise _Status(422, f"Invalid request: {key} is not a string")
    text = body[key]
    if key == "body" and len(text) > BODY_LIMIT:
        raise _Status(422, f"Validation Failed: body is too long (maximum is {BODY_LIMIT} "
                           "characters)")
    return text


def _check_run(body: Any, into: dict) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or \
            not isinstance(body.get("head_sha"), str):
        raise _Status(422, "Invalid request: name and head_sha are required")
    if body.get("conclusion") not in (None, "success", "failure", "neutral", "cancelled",
                                      "skipped", "timed_out", "action_required"):
        raise _Status(422, "Invalid request: conclusion")
    out = body.get("output") or {}
    if len(out.get("summary", "")) > SUMMARY_LIMIT:
        raise _Status(422, "Invalid request: output.summary is too long")
    into.update({k: body[k] for k in ("name", "head_sha", "status", "conclusion",
                                      "details_url", "output", "completed_at") if k in body})
    into.setdefault("html_url", f"https://github.example/runs/{into['id']}")
    return into
