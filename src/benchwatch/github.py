"""A small GitHub REST client: requests, pages, retries, and the three things benchwatch posts.

Only the standard library (``urllib``): the comment workflow runs with a privileged
token, and every dependency there is attack surface. What this module must get right:

* **The token stays secret.** It travels in the ``Authorization`` header and nowhere
  else: never in a message, a log line or an exception (any text that came back from the
  server is scrubbed of it), and never to another host (a ``Link`` page URL must have the
  API's own scheme and host).
* **Transient failures are retried** (5xx, timeouts, secondary rate limits) with a
  backoff; the sleep function is injectable so tests see the delays without waiting.
* **What we edit is ours.** The sticky comment and the regression issues are found by a
  hidden marker *and* by authorship, so a marker pasted into someone else's comment is
  never edited (``is_ours``).

It does not render anything: the bodies come from ``benchwatch.report`` and
``benchwatch.comment``.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import __version__
from .errors import UserError

DEFAULT_API_URL = "https://api.github.com"
#: GitHub's limit on an issue or comment body, in characters.
COMMENT_LIMIT = 65536
#: GitHub's limit on a check run's ``output.summary``.
CHECK_SUMMARY_LIMIT = 65535
#: The author of comments made with the Actions ``GITHUB_TOKEN`` (which cannot call ``/user``).
ACTIONS_BOT = "github-actions[bot]"

_sleep: Callable[[float], None] = time.sleep  # tests replace it: no real waiting
_REPO = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class GitHubError(UserError):
    """A GitHub API call failed for good (exit 2). ``status`` is None for network errors."""

    def __init__(self, message: str, status: int | None = None):
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    data: Any  # the parsed JSON body (None when empty)


@dataclass(frozen=True)
class Identity:
    """Who the token acts as: comments by this login (a Bot when ``bot``) are ours."""

    login: str
    bot: bool


def check_repo(repo: str | None) -> str:
    """``OWNER/NAME`` as GitHub spells names; anything else could rewrite the URL path."""
    if not repo:
        raise UserError("no repository: give --repo OWNER/NAME or set GITHUB_REPOSITORY")
    if not _REPO.fullmatch(repo) or any(p in (".", "..") for p in repo.split("/")):
        raise UserError(f"repository must be OWNER/NAME, got {_shown(repo)}")
    return repo


def check_sha(sha: str, what: str = "--head-sha") -> str:
    if not _SHA.fullmatch(sha or ""):
        raise UserError(f"{what} must be a full commit hash (40 or 64 lower-case hex "
                        f"digits), got {_shown(sha)}")
    return sha


def _shown(text: Any, limit: int = 60) -> str:
    """Untrusted text quoted for a one-line message: control characters out, length capped."""
    s = _CONTROL.sub(" ", str(text))
    return repr(s if len(s) <= limit else s[:limit] + "...")


class Client:
    """GitHub REST calls with retries. ``token`` defaults to ``$GITHUB_TOKEN``, the API URL
    to ``$GITHUB_API_URL`` (GitHub Enterprise Server, tests) or ``https://api.github.com``.

    ``attempts`` is the total number of tries for one request; the delay before retry k
    (1-based) is ``backoff * 2**(k-1)`` seconds, capped at ``max_delay``, unless the server
    says how long to wait (``Retry-After``, ``x-ratelimit-reset``); a wait longer than
    ``max_wait`` is not waited out but reported.
    """

    def __init__(self, token: str | None = None, api_url: str | None = None, *,
                 attempts: int = 5, backoff: float = 2.0, max_delay: float = 60.0,
                 max_wait: float = 300.0, timeout: float = 30.0,
                 sleep: Callable[[float], None] | None = None,
                 clock: Callable[[], float] = time.time):
        token = token if token is not None else os.environ.get("GITHUB_TOKEN", "")
        if not token:
            raise UserError("no GitHub token: set GITHUB_TOKEN")
        if any(ch.isspace() for ch in token):
            raise UserError("the GitHub token contains whitespace")
        self._token = token
        url = (api_url or os.environ.get("GITHUB_API_URL") or DEFAULT_API_URL).rstrip("/")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.query:
            raise UserError(f"GITHUB_API_URL must be an http(s) URL, got {_shown(url)}")
        self.api_url = url
        self._origin = (parts.scheme, parts.netloc)
        self.attempts, self.backoff, self.max_delay = attempts, backoff, max_delay
        self.max_wait, self.timeout = max_wait, timeout
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:  # never the token
        return f"Client(api_url={self.api_url!r})"

    # ------------------------------------------------------------------ plumbing

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***")

    def _url(self, path: str, params: dict[str, Any] | None) -> str:
        if path.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(path)
            if (parts.scheme, parts.netloc) != self._origin:
                # a page link to another host would receive the token
                raise GitHubError(f"GitHub API returned a page link to another host "
                                  f"({_shown(parts.netloc)}); not following it")
            url = path
        else:
            url = self.api_url + path
        if params:
            sep = "&" if "?" in url else "?"
            url += sep + urllib.parse.urlencode(params)
        return url

    def _endpoint(self, method: str, url: str) -> str:
        """``GET /repos/o/r/issues``: what error messages name (no host, no query)."""
        path = urllib.parse.urlsplit(url).path
        base = urllib.parse.urlsplit(self.api_url).path
        if base and path.startswith(base):
            path = path[len(base):] or "/"
        return f"{method} {path}"

    def _once(self, method: str, url: str, body: bytes | None) -> Response:
        headers = {"Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": f"benchwatch/{__version__}",
                   "Authorization": f"Bearer {self._token}"}
        if body is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        req = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw, status, hdrs = resp.read(), resp.status, resp.headers
        except urllib.error.HTTPError as exc:
            raw, status, hdrs = exc.read(), exc.code, exc.headers
        text = raw.decode("utf-8", errors="replace")
        try:
            data = json.loads(text) if text.strip() else None
        except ValueError:
            data = None if status >= 400 else _NotJson(text)
        return Response(status, {k.lower(): v for k, v in hdrs.items()}, data)

    def _rate_limit_wait(self, r: Response) -> float | None:
        """Seconds to wait when ``r`` is a rate limit (primary or secondary), else None."""
        if r.status not in (403, 429):
            return None
        retry_after = r.headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return 60.0
        if r.headers.get("x-ratelimit-remaining") == "0":
            try:
                return max(1.0, float(r.headers["x-ratelimit-reset"]) - self._clock() + 1)
            except (KeyError, ValueError):
                return 60.0
        message = str((r.data or {}).get("message", "")) if isinstance(r.data, dict) else ""
        if r.status == 429 or "rate limit" in message.lower():
            return 60.0  # GitHub: without a header, wait at least a minute
        return None

    def _fail(self, method: str, url: str, r: Response | None, why: str,
              attempts: int) -> GitHubError:
        where = self._endpoint(method, url)
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        if r is None:
            return GitHubError(self._scrub(f"GitHub API {where}: {why}{tries}"))
        detail = ""
        if isinstance(r.data, dict) and isinstance(r.data.get("message"), str):
            detail = ": " + _CONTROL.sub(" ", r.data["message"])[:200]
            errors = r.data.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                first = errors[0].get("message") or errors[0].get("code")
                if isinstance(first, str):
                    detail += f" ({_CONTROL.sub(' ', first)[:200]})"
        return GitHubError(self._scrub(f"GitHub API {where}: HTTP {r.status}{detail}"
                                       f"{why}{tries}"), status=r.status)

    # ------------------------------------------------------------------ the API

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: Any = None) -> Response:
        """One call, retried on 5xx, timeouts, connection errors and rate limits.

        A POST is retried too: GitHub answers a 502 for many requests it never ran; the
        rare duplicate this can make is found and reused by the next upsert.
        """
        url = self._url(path, params)
        data = None if body is None else json.dumps(body).encode("utf-8")
        sleep = self._sleep or _sleep
        for attempt in range(1, self.attempts + 1):
            last = attempt == self.attempts
            try:
                r = self._once(method, url, data)
            except TimeoutError:
                if last:
                    raise self._fail(method, url, None, "timed out", attempt) from None
                sleep(self._delay(attempt))
                continue
            except urllib.error.URLError as exc:
                reason = exc.reason
                if isinstance(reason, TimeoutError):
                    why = "timed out"
                else:
                    why = f"cannot connect ({type(reason).__name__})"
                if last:
                    raise self._fail(method, url, None, why, attempt) from None
                sleep(self._delay(attempt))
                continue
            except (ConnectionError, http.client.HTTPException) as exc:
                if last:
                    raise self._fail(method, url, None,
                                     f"connection failed ({type(exc).__name__})",
                                     attempt) from None
                sleep(self._delay(attempt))
                continue
            if r.status < 400:
                if isinstance(r.data, _NotJson):
                    raise self._fail(method, url, None, "the response is not JSON", attempt)
                return r
            wait = self._rate_limit_wait(r)
            if wait is not None:
                if wait > self.max_wait:
                    raise self._fail(method, url, r, f"; rate limited for {wait:.0f} s, "
                                     f"longer than the {self.max_wait:.0f} s this waits",
                                     attempt)
                if last:
                    raise self._fail(method, url, r, "; still rate limited", attempt)
                sleep(wait)
                continue
            if r.status >= 500:
                if last:
                    raise self._fail(method, url, r, "", attempt)
                sleep(self._delay(attempt))
                continue
            raise self._fail(method, url, r, "", 1)
        raise AssertionError("unreachable")  # pragma: no cover

    def _delay(self, attempt: int) -> float:
        return min(self.max_delay, self.backoff * 2 ** (attempt - 1))

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params=params or None).data

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body).data

    def patch(self, path: str, body: Any) -> Any:
        return self.request("PATCH", path, body=body).data

    def paginate(self, path: str, *, key: str | None = None, max_pages: int = 1000,
                 **params: Any) -> Iterator[Any]:
        """Every item of a listing, 100 a page, following ``Link: <...>; rel="next"``.

        ``key`` names the list inside an object response (``check_runs``).
        """
        params = {"per_page": 100, **params}
        url: str | None = path
        seen: set[str] = set()
        first = True
        while url is not None:
            r = self.request("GET", url, params=params if first else None)
            first = False
            items = r.data.get(key) if key and isinstance(r.data, dict) else r.data
            if not isinstance(items, list):
                raise self._fail("GET", self._url(url, None), None,
                                 "the response is not a list", 1)
            yield from items
            url = next_link(r.headers.get("link", ""))
            if url is not None:
                if url in seen or len(seen) >= max_pages:
                    raise self._fail("GET", self._url(url, None), None,
                                     "the pages do not end", 1)
                seen.add(url)


class _NotJson(str):
    """A 2xx body that failed to parse: an error, but only if someone reads it."""


_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^",;]+)"?')


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, if any."""
    for url, rels in _LINK.findall(header or ""):
        if "next" in rels.split():
            return url
    return None


# --------------------------------------------------------------------------- who we are

def identity(client: Client, login: str | None = None) -> Identity:
    """The token's identity: ``GET /user``, or the Actions bot when the token is an app's.

    The Actions ``GITHUB_TOKEN`` is an installation token: ``/user`` answers 403
    "Resource not accessible by integration", and its comments are by
    ``github-actions[bot]`` with ``user.type == "Bot"``. ``login`` overrides the fallback
    for another GitHub App's token (``<app-slug>[bot]``). A login ending in ``[bot]``
    cannot belong to a person (``[`` is not allowed in user names).
    """
    try:
        user = client.get("/user")
    except GitHubError as exc:
        if exc.status != 403:
            raise
        name = login or ACTIONS_BOT
        return Identity(name, bot=True)
    if not isinstance(user, dict) or not isinstance(user.get("login"), str):
        raise GitHubError("GitHub API GET /user: no login in the response")
    if login and login != user["login"]:
        raise UserError(f"the token acts as {_shown(user['login'])}, not {_shown(login)}")
    return Identity(user["login"], bot=user.get("type") == "Bot")


def is_ours(item: Any, who: Identity) -> bool:
    """Whether a comment or issue was written by the token's identity."""
    user = item.get("user") if isinstance(item, dict) else None
    if not isinstance(user, dict) or user.get("login") != who.login:
        return False
    return not who.bot or user.get("type") == "Bot"


def has_marker(body: Any, marker: str) -> bool:
    """The marker opens the body: we always write it first, so a quote of it elsewhere
    (a reply quoting our comment) does not count."""
    return isinstance(body, str) and body.split("\n", 1)[0].strip() == marker


# --------------------------------------------------------------------------- bodies

def utf16_len(text: str) -> int:
    """Length as GitHub counts characters at worst (UTF-16 units; >= code points)."""
    return len(text.encode("utf-16-le")) // 2


def fit(body: str, limit: int, full_url: str | None = None) -> str:
    """``body`` cut at a line boundary to fit ``limit``, with a notice and a link.

    Open ``<details>`` blocks are closed, so the rest of the page is not swallowed.
    """
    if utf16_len(body) <= limit:
        return body
    where = (f"the full report: {full_url}" if full_url
             else "the full report is in the workflow run's artifacts")
    notice = (f"\n\n> [!WARNING]\n> This report was truncated to fit GitHub's {limit:,}-"
              f"character limit; {where}\n")
    lines = body.split("\n")
    kept: list[str] = []
    used = 0
    budget = limit - utf16_len(notice) - 200  # room for the closing tags
    for line in lines:
        n = utf16_len(line) + 1
        if used + n > budget:
            break
        kept.append(line)
        used += n
    text = "\n".join(kept)
    opened = text.count("<details>") - text.count("</details>")
    text += "\n" + "</details>\n" * max(0, min(opened, 20))
    return text + notice


def check_url(url: str | None, option: str) -> str | None:
    """An http(s) URL safe to print in markdown (no spaces, quotes, brackets or <>)."""
    if url is None:
        return None
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or \
            re.search(r"[\s<>\"'()\[\]`\\]", url):
        raise UserError(f"{option} must be an http(s) URL without spaces, quotes or "
                        f"brackets, got {_shown(url)}")
    return url


# --------------------------------------------------------------------------- comments

def comment_marker(key: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:+-]{1,100}", key):
        raise UserError(f"comment key must be 1-100 of A-Z a-z 0-9 _ . : + -, got {_shown(key)}")
    return f"<!-- benchwatch:pr-comment key={key} -->"


@dataclass(frozen=True)
class Upsert:
    id: int
    number: int | None  # issue number (issues only)
    action: str  # created | updated | closed (left alone)
    url: str | None


def upsert_comment(client: Client, repo: str, pr: int, body: str, marker: str,
                   who: Identity) -> Upsert:
    """Edit our marked comment on the PR in place, or create it.

    ``body`` must already start with ``marker`` and fit ``COMMENT_LIMIT``.
    """
    if not body.startswith(marker + "\n"):
        raise ValueError("the body must start with its marker line")
    path = f"/repos/{repo}/issues/{pr}/comments"
    for c in client.paginate(path):
        if is_ours(c, who) and has_marker(c.get("body"), marker):
            done = client.patch(f"/repos/{repo}/issues/comments/{int(c['id'])}",
                                {"body": body})
            return Upsert(int(done["id"]), None, "updated", done.get("html_url"))
    done = client.post(path, {"body": body})
    return Upsert(int(done["id"]), None, "created", done.get("html_url"))


# --------------------------------------------------------------------------- pull requests

def pull_head_sha(client: Client, repo: str, pr: int) -> str:
    data = client.get(f"/repos/{repo}/pulls/{pr}")
    sha = (data.get("head") or {}).get("sha") if isinstance(data, dict) else None
    if not isinstance(sha, str):
        raise GitHubError(f"GitHub API GET /repos/{repo}/pulls/{pr}: no head.sha")
    return sha


def find_pull(client: Client, repo: str, sha: str) -> int:
    """The open PR whose head is ``sha``.

    ``commits/{sha}/pulls`` first; it misses fork PRs (their commit is not on a branch of
    this repository), so then every open PR is checked.
    """
    def matching(items) -> list[int]:
        return sorted({int(p["number"]) for p in items
                       if isinstance(p, dict) and p.get("state", "open") == "open"
                       and (p.get("head") or {}).get("sha") == sha
                       and isinstance(p.get("number"), int)})

    found = matching(client.paginate(f"/repos/{repo}/commits/{sha}/pulls"))
    if not found:
        found = matching(client.paginate(f"/repos/{repo}/pulls", state="open"))
    if not found:
        raise UserError(f"no open pull request in {repo} has head {sha}")
    if len(found) > 1:
        raise UserError(f"several open pull requests have head {sha[:12]} "
                        f"({', '.join(f'#{n}' for n in found)}): give --pr")
    return found[0]


# --------------------------------------------------------------------------- check runs

def upsert_check_run(client: Client, repo: str, sha: str, *, name: str, conclusion: str,
                     title: str, summary: str, details_url: str | None = None) -> Upsert:
    """Complete the named check run on ``sha``: update the latest one, else create one.

    Only the app that made a check run may edit it; when GitHub refuses (403/404) a new
    run is created instead.
    """
    body: dict[str, Any] = {
        "name": name, "head_sha": sha, "status": "completed", "conclusion": conclusion,
        "completed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "output": {"title": title[:1000], "summary": fit(summary, CHECK_SUMMARY_LIMIT,
                                                          details_url)}}
    if details_url:
        body["details_url"] = details_url
    runs = [r for r in client.paginate(f"/repos/{repo}/commits/{sha}/check-runs",
                                       key="check_runs", check_name=name, filter="latest")
            if isinstance(r, dict) and r.get("name") == name and isinstance(r.get("id"), int)]
    if runs:
        try:
            done = client.patch(f"/repos/{repo}/check-runs/{runs[0]['id']}", body)
            return Upsert(int(done["id"]), None, "updated", done.get("html_url"))
        except GitHubError as exc:
            if exc.status not in (403, 404):
                raise
    done = client.post(f"/repos/{repo}/check-runs", body)
    return Upsert(int(done["id"]), None, "created", done.get("html_url"))


# --------------------------------------------------------------------------- issues

def issue_marker(stable_id: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_.:+-]{1,200}", stable_id):
        raise ValueError(f"bad issue id {stable_id!r}")
    return f"<!-- benchwatch:change id={stable_id} -->"


def upsert_issue(client: Client, repo: str, *, marker: str, title: str, body: str,
                 label: str | None, who: Identity, existing: list[dict] | None = None
                 ) -> Upsert:
    """Update our open issue carrying ``marker``, or open one; a closed one is left closed.

    ``existing`` is the list of candidate issues (``list_issues``), fetched once per run.
    """
    if not body.startswith(marker + "\n"):
        raise ValueError("the body must start with its marker line")
    if existing is None:
        existing = list_issues(client, repo, label)
    for issue in existing:
        if not (is_ours(issue, who) and has_marker(issue.get("body"), marker)):
            continue
        number = int(issue["number"])
        if issue.get("state") != "open":
            return Upsert(int(issue.get("id", 0)), number, "closed", issue.get("html_url"))
        done = client.patch(f"/repos/{repo}/issues/{number}", {"title": title, "body": body})
        return Upsert(int(done["id"]), number, "updated", done.get("html_url"))
    payload: dict[str, Any] = {"title": title, "body": body}
    if label:
        payload["labels"] = [label]
    done = client.post(f"/repos/{repo}/issues", payload)
    names = {lb.get("name") for lb in done.get("labels") or [] if isinstance(lb, dict)}
    if label and label not in names:
        import sys

        print(f"benchwatch: warning: GitHub did not apply the label {label!r} to issue "
              f"#{done.get('number')} (the token may lack issues: write); the next run "
              f"looks for its issues by that label", file=sys.stderr)
    existing.append(done)
    return Upsert(int(done["id"]), int(done["number"]), "created", done.get("html_url"))


def list_issues(client: Client, repo: str, label: str | None) -> list[dict]:
    """Open and closed issues (not PRs) with ``label`` (all issues when None)."""
    params: dict[str, Any] = {"state": "all"}
    if label:
        params["labels"] = label
    return [i for i in client.paginate(f"/repos/{repo}/issues", **params)
            if isinstance(i, dict) and "pull_request" not in i]
