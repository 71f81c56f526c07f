"""``benchwatch results push|pull`` and ``benchwatch backfill``: asv history in a git branch.

CI runners are ephemeral, so the asv results of every run are appended to a branch of
the repository (default ``benchmark-results``) and pulled back before the gate and the
site need the history. Many runners append at the same time (a matrix, two merges in a
row), so a push must be atomic, must never lose another runner's results and must never
force-push.

``push`` works with git plumbing in the user's repository, on a private temporary
index (``GIT_INDEX_FILE``) and a private temporary ref; it never touches the checkout,
the index or HEAD (a successful ``git push`` updates ``refs/remotes/<remote>/<branch>``,
as every push does). Each attempt:

1. fetches the branch tip (``git ls-remote`` then ``git fetch --refmap=`` into
   ``refs/benchwatch/tmp/<token>``, deleted afterwards; a missing branch means an
   orphan commit);
2. reads the tip's tree into the temporary index and writes the result files over it:
   a path that does not exist is added, one with other content is replaced (asv itself
   overwrites a re-run), every other path on the branch is kept; ``benchmarks.json`` is
   merged (union of the entries, the pushed file wins per name);
3. ``git write-tree``; a tree equal to the tip's means nothing to push and no commit;
4. ``git commit-tree -p <tip>`` and ``git push <remote> <sha>:refs/heads/<branch>``,
   never ``--force`` and never a ``+`` refspec, so the remote accepts only a
   fast-forward of the tip the commit was built on;
5. when the remote refuses because the tip moved (non-fast-forward, fetch first, or a
   lost race for the ref lock), it waits a jittered exponential backoff and starts
   again at 1 with the same files; any other refusal is an error (exit 2).

``pull`` copies the branch's files into a results directory and records what it wrote
(blob ids) in the user's cache directory (``benchwatch.paths.cache_root``,
``results-branch-<hash of DIR>.json``), never inside asv's tree. ``push`` does not push back a file still identical to what
``pull`` wrote: the branch holds that file already, possibly in a newer version.

``backfill`` runs a commit range through ``asv run HASHFILE:<file>`` in chunks with
``--skip-existing-commits``; commits that already have a result file for the machine
(asv's own test: ``<machine>/<hash8>-*.json``) are left out, so a killed backfill
resumes where it stopped.

This module copies asv files as bytes; it parses no result file (``benchwatch.results``
is the one loader) and reads ``benchmarks.json`` only to merge its top-level entries.
site/results-branch.md documents the layout, the algorithm and its guarantees.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Self

from .errors import UserError

DEFAULT_BRANCH = "benchmark-results"
#: Everything benchwatch writes on the branch lives under this directory.
BRANCH_ROOT = "results"
BENCHMARKS_JSON = "benchmarks.json"
TMP_REF_PREFIX = "refs/benchwatch/tmp/"
#: Backoff cap in seconds: a crowd of retrying runners spreads over at most this.
BACKOFF_CAP_S = 30.0
#: Refusals that mean "the tip moved under you": fetch again and retry.
#: non-fast-forward / fetch first: the client saw the new tip; the other three are the
#: server's words when two pushes race for the ref lock (the loser's old value is stale).
RETRYABLE = ("non-fast-forward", "fetch first", "failed to update ref", "cannot lock ref",
             "incorrect old value", "stale info")
FILE_MODE = "100644"


# --------------------------------------------------------------------------- git


def _git(repo: Path, args: Sequence[str], *, input: bytes | None = None,
         env: dict[str, str] | None = None, ok: Sequence[int] = (0,)) -> subprocess.CompletedProcess:
    """Run one git command in ``repo``; an exit code outside ``ok`` is a ``UserError``
    carrying git's last line of stderr."""
    cmd = ["git", "-C", str(repo), *args]
    try:
        proc = subprocess.run(cmd, input=input, capture_output=True, check=False,
                              env=None if env is None else {**os.environ, **env})
    except OSError as exc:
        raise UserError(f"cannot run git: {exc.strerror}") from None
    if proc.returncode not in ok:
        raise UserError(f"git {args[0]} failed: {_last_line(proc.stderr)}", path=str(repo))
    return proc


def _last_line(raw: bytes) -> str:
    """git's message in one line: its first ``fatal:``/``error:`` line, else its last."""
    lines = [line.strip() for line in raw.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        for tag in ("fatal: ", "error: "):
            if line.startswith(tag):
                return line[len(tag):]
    return lines[-1] if lines else "(no message)"


def _out(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def _check_repo(repo: Path) -> Path:
    if not Path(repo).is_dir():
        raise UserError("repository directory does not exist", path=str(repo))
    proc = _git(repo, ["rev-parse", "--git-dir"], ok=(0, 128))
    if proc.returncode != 0:
        raise UserError("not a git repository", path=str(repo))
    return Path(repo)


def _check_branch(branch: str) -> str:
    proc = subprocess.run(["git", "check-ref-format", f"refs/heads/{branch}"],
                          capture_output=True, check=False)
    if proc.returncode != 0 or branch.startswith("-"):
        raise UserError(f"invalid branch name {branch!r}")
    return branch


def _identity_env(repo: Path) -> dict[str, str]:
    """A committer for ``commit-tree`` when neither the environment nor git config has
    one (fresh CI runners): benchwatch commits only to the results branch."""
    env: dict[str, str] = {}
    for key, var in (("user.name", "NAME"), ("user.email", "EMAIL")):
        if _git(repo, ["config", key], ok=(0, 1)).returncode == 0:
            continue
        value = "benchwatch" if var == "NAME" else "benchwatch@localhost"
        for who in ("AUTHOR", "COMMITTER"):
            env.setdefault(f"GIT_{who}_{var}", os.environ.get(f"GIT_{who}_{var}", value))
    return env


def remote_tip(repo: Path, remote: str, branch: str) -> str | None:
    """The branch's commit on the remote, or None when the branch does not exist."""
    proc = _git(repo, ["ls-remote", "--exit-code", remote, f"refs/heads/{branch}"], ok=(0, 2))
    if proc.returncode == 2:
        return None
    return _out(proc).split()[0]


class _FetchedTip:
    """The remote branch fetched into a private ref (so a concurrent fetch in the same
    repository, or ``gc``, cannot lose its objects), deleted on exit. ``--refmap=``
    keeps git from updating ``refs/remotes/<remote>/<branch>`` on the side, and
    ``--no-write-fetch-head`` leaves FETCH_HEAD alone."""

    def __init__(self, repo: Path, remote: str, branch: str):
        self.repo, self.remote, self.branch = repo, remote, branch
        self.ref = f"{TMP_REF_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
        self.sha: str | None = None

    def __enter__(self) -> Self:
        if remote_tip(self.repo, self.remote, self.branch) is None:
            return self
        proc = _git(self.repo, ["-c", "gc.auto=0", "-c", "maintenance.auto=false", "fetch",
                                "--quiet", "--no-tags", "--no-write-fetch-head", "--refmap=",
                                "--no-recurse-submodules", self.remote,
                                f"+refs/heads/{self.branch}:{self.ref}"], ok=(0, 1, 128))
        if proc.returncode != 0:
            # deleted between ls-remote and fetch: treat as missing; else a real error
            if remote_tip(self.repo, self.remote, self.branch) is None:
                return self
            raise UserError(f"git fetch failed: {_last_line(proc.stderr)}", path=str(self.repo))
        self.sha = _out(_git(self.repo, ["rev-parse", "--verify", self.ref + "^{commit}"]))
        return self

    def __exit__(self, *exc: object) -> None:
        _git(self.repo, ["update-ref", "-d", self.ref], ok=(0, 1, 128))


def _tree_entries(repo: Path, commit: str | None, prefix: str) -> dict[str, tuple[str, str]]:
    """``{path: (mode, blob sha)}`` of the files under ``prefix`` in ``commit``."""
    if commit is None:
        return {}
    raw = _git(repo, ["ls-tree", "-r", "-z", "--full-tree", commit, "--", prefix]).stdout
    out = {}
    for item in raw.split(b"\0"):
        if not item:
            continue
        meta, _, path = item.partition(b"\t")
        mode, kind, sha = meta.decode().split()
        if kind == "blob":
            out[path.decode("utf-8", "surrogateescape")] = (mode, sha)
    return out


def _read_blobs(repo: Path, shas: Sequence[str]) -> dict[str, bytes]:
    """Blob contents by sha, streamed through one ``git cat-file --batch``."""
    unique = list(dict.fromkeys(shas))
    if not unique:
        return {}
    proc = subprocess.Popen(["git", "-C", str(repo), "cat-file", "--batch"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    assert proc.stdin is not None and proc.stdout is not None
    out: dict[str, bytes] = {}
    try:
        for sha in unique:
            proc.stdin.write(sha.encode() + b"\n")
            proc.stdin.flush()
            header = proc.stdout.readline().split()
            if len(header) != 3 or header[1] != b"blob":
                raise UserError(f"git cat-file: {sha} is not a blob", path=str(repo))
            out[sha] = proc.stdout.read(int(header[2]))
            proc.stdout.read(1)  # the newline after the content
    finally:
        proc.stdin.close()
        proc.wait()
    return out


def _hash_files(repo: Path, paths: Sequence[Path], write: bool) -> list[str]:
    """Blob ids of files, exact bytes (``--no-filters``: no autocrlf, no clean filter)."""
    if not paths:
        return []
    args = ["hash-object", "--no-filters", "--stdin-paths"] + (["-w"] if write else [])
    text = "".join(f"{Path(p).resolve()}\n" for p in paths)
    return _out(_git(repo, args, input=text.encode("utf-8", "surrogateescape"))).split()


def _hash_bytes(repo: Path, data: bytes) -> str:
    return _out(_git(repo, ["hash-object", "--no-filters", "-w", "--stdin"], input=data))


# --------------------------------------------------------------------------- layout


def branch_prefix(results_dir: Path, prefix: str | None = None) -> str:
    """Where ``results_dir`` lives on the branch.

    ``.asv/results/<suite>-<env>`` (``benchwatch run``'s isolation) -> ``results/<suite>-<env>``;
    any other directory (asv's plain ``results``, or ``.asv/results`` holding every
    suite) -> ``results``. So ``.asv/results`` and its subdirectories map to the same
    paths. ``prefix`` overrides the rule.
    """
    if prefix is not None:
        parts = prefix.rstrip("/").split("/")
        if prefix.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise UserError(f"--prefix must be a relative path on the branch, not {prefix!r}")
        return "/".join(parts)
    resolved = Path(results_dir).resolve()
    if resolved.parent.name == "results":
        return f"{BRANCH_ROOT}/{resolved.name}"
    return BRANCH_ROOT


def local_files(results_dir: Path) -> dict[str, Path]:
    """``{relative posix path: file}`` of the ``.json`` files under ``results_dir``;
    hidden files and directories (caches) are not results."""
    root = Path(results_dir)
    if not root.is_dir():
        raise UserError("results directory does not exist", path=str(root))
    out: dict[str, Path] = {}
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".json") and not name.startswith("."):
                path = Path(directory) / name
                if path.is_file():
                    out[path.relative_to(root).as_posix()] = path
    return out


def manifest_path(results_dir: Path) -> Path:
    from .paths import cache_key, cache_root

    return cache_root() / f"results-branch-{cache_key(results_dir)}.json"


def read_manifest(results_dir: Path) -> dict[str, str]:
    """``{relative path: blob sha}`` of the files the last ``pull`` wrote; {} when none
    or unreadable (then every file is pushed, which is safe)."""
    try:
        data = json.loads(manifest_path(results_dir).read_text(encoding="utf-8"))
        files = data["files"]
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _benchmarks_object(raw: bytes, where: str) -> dict[str, Any]:
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"not a valid JSON benchmarks.json ({exc})", path=where) from None
    if not isinstance(data, dict):
        raise UserError("benchmarks.json is not a JSON object", path=where)
    return data


def merge_benchmarks(old: bytes | None, new: bytes, where: str) -> bytes:
    """The union of two ``benchmarks.json``: every benchmark of either, ``new``'s entry
    where both name one (including asv's ``version`` key). Returns ``new`` or ``old``
    unchanged when one already holds the union, so nothing churns."""
    new_data = _benchmarks_object(new, where)
    if old is None:
        return new
    try:
        old_data = _benchmarks_object(old, f"{where} (on the results branch)")
    except UserError:
        return new  # a broken file on the branch is replaced by the pushed one
    merged = {**old_data, **new_data}
    if merged == new_data:
        return new
    if merged == old_data:
        return old
    return (json.dumps(merged, indent=4, sort_keys=True) + "\n").encode("utf-8")


# --------------------------------------------------------------------------- push


@dataclass(frozen=True)
class PushResult:
    """What one ``results push`` did; ``commit`` is None when there was nothing new."""

    branch: str
    remote: str
    prefix: str
    commit: str | None
    parent: str | None
    created: bool
    attempts: int
    added: tuple[str, ...]
    replaced: tuple[str, ...]
    merged: tuple[str, ...]
    unchanged: int
    skipped_pulled: int

    def to_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "remote": self.remote, "prefix": self.prefix,
                "pushed": self.commit is not None, "commit": self.commit,
                "parent": self.parent, "created": self.created, "attempts": self.attempts,
                "added": list(self.added), "replaced": list(self.replaced),
                "merged": list(self.merged), "unchanged": self.unchanged,
                "skipped_pulled": self.skipped_pulled}


@dataclass(frozen=True)
class _Staged:
    tree: str
    added: tuple[str, ...]
    replaced: tuple[str, ...]
    merged: tuple[str, ...]
    unchanged: int


def _stage(repo: Path, tip: str | None, prefix: str, files: dict[str, tuple[str, Path]],
           index: Path) -> _Staged:
    """Build the tree ``tip`` + ``files`` in the private index ``index``."""
    env = {"GIT_INDEX_FILE": str(index)}
    if index.exists():
        index.unlink()
    _git(repo, ["read-tree", tip] if tip else ["read-tree", "--empty"], env=env)
    existing = _tree_entries(repo, tip, prefix)
    merge_old = [existing[f"{prefix}/{rel}"][1] for rel in files
                 if PurePosixPath(rel).name == BENCHMARKS_JSON and f"{prefix}/{rel}" in existing]
    old_blobs = _read_blobs(repo, merge_old)
    added, replaced, merged, unchanged, lines = [], [], [], 0, []
    for rel, (sha, path) in files.items():
        target = f"{prefix}/{rel}"
        old = existing.get(target)
        if PurePosixPath(rel).name == BENCHMARKS_JSON and old is not None and old[1] != sha:
            data = merge_benchmarks(old_blobs[old[1]], path.read_bytes(), str(path))
            new_sha = _hash_bytes(repo, data)
            if new_sha != sha:
                sha = new_sha
                if sha != old[1]:
                    merged.append(target)
        if old is None:
            added.append(target)
        elif old[1] == sha and old[0] == FILE_MODE:
            unchanged += 1
            continue
        elif target not in merged:
            replaced.append(target)
        lines.append(f"{FILE_MODE} {sha}\t{target}\0")
    if lines:
        _git(repo, ["update-index", "-z", "--index-info"],
             input="".join(lines).encode("utf-8", "surrogateescape"), env=env)
    tree = _out(_git(repo, ["write-tree"], env=env))
    return _Staged(tree, tuple(added), tuple(replaced), tuple(merged), unchanged)


def _push_refused(proc: subprocess.CompletedProcess, branch: str) -> str:
    """git's reason for refusing our ref ("[rejected] (non-fast-forward)"), or its last
    stderr line when it did not get that far."""
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        if len(parts) >= 3 and parts[0] == "!" and parts[1].endswith(f"refs/heads/{branch}"):
            return parts[2]
    return _last_line(proc.stderr)


def _default_message(files: dict[str, tuple[str, Path]], prefix: str) -> str:
    machines = sorted({PurePosixPath(rel).parent.name for rel in files
                       if "/" in rel and PurePosixPath(rel).name != BENCHMARKS_JSON})
    who = ", ".join(machines) if machines else "no machine"
    return f"asv results from {who} ({len(files)} files under {prefix}/)"


def push(repo: Path, results_dir: Path, *, branch: str = DEFAULT_BRANCH, remote: str = "origin",
         message: str | None = None, retries: int = 5, backoff: float = 1.0,
         prefix: str | None = None, sleep: Callable[[float], None] | None = None,
         log: Callable[[str], None] | None = None) -> PushResult:
    """Append the result files under ``results_dir`` to ``branch`` on ``remote``."""
    import random
    import tempfile
    import time

    repo = _check_repo(repo)
    _check_branch(branch)
    if retries < 0:
        raise UserError(f"--retries must be >= 0, not {retries}")
    prefix = branch_prefix(results_dir, prefix)
    found = local_files(results_dir)
    if not found:
        raise UserError("no .json result files to push", path=str(results_dir))
    shas = _hash_files(repo, list(found.values()), write=True)
    for rel, sha in zip(list(found), shas):
        if PurePosixPath(rel).name == BENCHMARKS_JSON:
            _benchmarks_object(found[rel].read_bytes(), str(found[rel]))
    pulled = read_manifest(results_dir)
    files = {rel: (sha, path) for (rel, path), sha in zip(found.items(), shas)
             if pulled.get(rel) != sha}
    skipped = len(found) - len(files)
    if not files:  # everything is as pulled: the branch holds it already
        return PushResult(branch, remote, prefix, None, None, False, 0, (), (), (), 0, skipped)
    identity = _identity_env(repo)
    sleep = time.sleep if sleep is None else sleep
    log = log or (lambda text: print(f"benchwatch: {text}", file=sys.stderr))
    reason = ""
    with tempfile.TemporaryDirectory(prefix="benchwatch-push-") as tmp:
        index = Path(tmp) / "index"
        for attempt in range(1, retries + 2):
            with _FetchedTip(repo, remote, branch) as tip:
                staged = _stage(repo, tip.sha, prefix, files, index)
                tip_tree = None if tip.sha is None else \
                    _out(_git(repo, ["rev-parse", tip.sha + "^{tree}"]))
                if staged.tree == tip_tree:
                    return PushResult(branch, remote, prefix, None, tip.sha, False, attempt,
                                      (), (), (), staged.unchanged, skipped)
                parents = [] if tip.sha is None else ["-p", tip.sha]
                commit = _out(_git(repo, ["commit-tree", staged.tree, *parents, "-m",
                                          message or _default_message(files, prefix)],
                                   env=identity))
                # No --force and no "+": the remote takes only a fast-forward.
                proc = _git(repo, ["push", "--porcelain", remote,
                                   f"{commit}:refs/heads/{branch}"], ok=(0, 1, 128))
                if proc.returncode == 0:
                    return PushResult(branch, remote, prefix, commit, tip.sha, tip.sha is None,
                                      attempt, staged.added, staged.replaced, staged.merged,
                                      staged.unchanged, skipped)
                reason = _push_refused(proc, branch)
            if not any(word in reason for word in RETRYABLE):
                raise UserError(f"{remote} refused the push to {branch}: {reason}",
                                path=str(repo))
            if attempt <= retries:
                delay = min(BACKOFF_CAP_S, backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1)
                log(f"push to {branch} attempt {attempt} lost a race ({reason}); "
                    f"retrying in {delay:.2f} s")
                sleep(delay)
    raise UserError(f"push to {branch} on {remote} still refused after {retries + 1} attempts "
                    f"({reason}); retries exhausted", path=str(repo))


def render_push(result: PushResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    if result.commit is None:
        head = (f"nothing to push: {result.branch} on {result.remote} already holds these "
                f"results ({result.unchanged} files unchanged, {result.skipped_pulled} "
                f"as pulled)")
        return head + "\n"
    lines = [(f"pushed {result.commit[:12]} to {result.branch} on {result.remote} "
             f"(attempt {result.attempts}{', new branch' if result.created else ''}): "
             f"{len(result.added)} added, {len(result.replaced)} replaced, "
             f"{len(result.merged)} merged, {result.unchanged} unchanged, "
             f"{result.skipped_pulled} as pulled")]
    lines += [f"  + {p}" for p in result.added]
    lines += [f"  ~ {p}" for p in result.replaced]
    lines += [f"  m {p}" for p in result.merged]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- pull


@dataclass(frozen=True)
class PullResult:
    branch: str
    remote: str
    prefix: str
    commit: str | None  # None: the branch does not exist yet
    into: str
    written: tuple[str, ...]
    merged: tuple[str, ...]
    kept: tuple[str, ...]
    unchanged: int

    def to_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "remote": self.remote, "prefix": self.prefix,
                "commit": self.commit, "into": self.into, "written": list(self.written),
                "merged": list(self.merged), "kept": list(self.kept),
                "unchanged": self.unchanged}


def _safe(rel: str) -> bool:
    """A branch path that stays inside the target directory and is not hidden (push
    never writes hidden files; a crafted tree could hold ``..``)."""
    parts = PurePosixPath(rel).parts
    return bool(parts) and not PurePosixPath(rel).is_absolute() and all(
        part not in ("", ".", "..") and not part.startswith(".") for part in parts)


def _write_bytes_atomically(path: Path, data: bytes) -> None:
    """Bytes exactly as on the branch (so blob ids match), atomically: a killed pull
    never leaves half a result file."""
    from .output import write_atomically

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
    except OSError as exc:  # a full or read-only disk: one line, not a traceback
        raise UserError(f"cannot write a pulled result file: {exc.strerror}",
                        path=str(path)) from None


def pull(repo: Path, into: Path, *, branch: str = DEFAULT_BRANCH, remote: str = "origin",
         prefix: str | None = None) -> PullResult:
    """Copy the branch's results under ``prefix`` into ``into``.

    A file missing locally is written. A local file that differs is replaced only when
    it is still what the previous pull wrote (so the branch moved on); otherwise it is
    this machine's newer result and is kept. ``benchmarks.json`` is merged, local
    entries winning.
    """
    from .output import write_atomically

    repo = _check_repo(repo)
    _check_branch(branch)
    prefix = branch_prefix(into, prefix)
    into = Path(into)
    if into.exists() and not into.is_dir():
        raise UserError("--into is not a directory", path=str(into))
    with _FetchedTip(repo, remote, branch) as tip:
        if tip.sha is None:
            return PullResult(branch, remote, prefix, None, str(into), (), (), (), 0)
        entries = _tree_entries(repo, tip.sha, prefix)
        blobs = _read_blobs(repo, [sha for _, sha in entries.values()])
    entries = {path: entry for path, entry in entries.items()
               if entry[0] in ("100644", "100755") and _safe(path[len(prefix) + 1:])}
    previous = read_manifest(into)
    local = {rel: into / rel for rel in (p[len(prefix) + 1:] for p in entries)
             if (into / rel).is_file()}
    local_sha = dict(zip(local, _hash_files(repo, list(local.values()), write=False)))
    written, merged, kept, unchanged, manifest = [], [], [], 0, {}
    for path, (_, sha) in sorted(entries.items()):
        rel = path[len(prefix) + 1:]
        target = into / rel
        mine = local_sha.get(rel)
        if mine == sha:
            unchanged += 1
            manifest[rel] = sha
        elif mine is None or previous.get(rel) == mine:
            _write_bytes_atomically(target, blobs[sha])
            written.append(rel)
            manifest[rel] = sha
        elif PurePosixPath(rel).name == BENCHMARKS_JSON:
            data = merge_benchmarks(blobs[sha], target.read_bytes(), str(target))
            if data != target.read_bytes():
                _write_bytes_atomically(target, data)
                merged.append(rel)
            else:
                kept.append(rel)
        else:
            kept.append(rel)
    mpath = manifest_path(into)
    mpath.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(mpath, json.dumps({"branch": branch, "commit": tip.sha, "prefix": prefix,
                                        "files": manifest}, indent=1, sort_keys=True) + "\n")
    return PullResult(branch, remote, prefix, tip.sha, str(into), tuple(written),
                      tuple(merged), tuple(kept), unchanged)


def render_pull(result: PullResult, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    if result.commit is None:
        return (f"nothing to pull: no branch {result.branch} on {result.remote} yet; "
                f"{result.into} left as it was\n")
    lines = [(f"pulled {result.branch} at {result.commit[:12]} from {result.remote} "
             f"({result.prefix}/) into {result.into}: {len(result.written)} written, "
             f"{len(result.merged)} merged, {len(result.kept)} kept local, "
             f"{result.unchanged} unchanged")]
    lines += [f"  kept local: {p}" for p in result.kept]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- backfill


@dataclass(frozen=True)
class BackfillPlan:
    """The commits of a range, which already have results, and the chunks left to run."""

    range: str
    machine: str
    config: Path
    results_dir: Path
    repo: Path
    commits: tuple[str, ...]  # oldest first
    done: tuple[str, ...]
    chunks: tuple[tuple[str, ...], ...] = field(default=())

    def hashfile(self, index: int) -> Path:
        """Chunk ``index`` (1-based)'s HASHFILE, beside the config under ``.asv/``."""
        return (self.config.parent / ".asv" / "backfill" / self.machine
                / f"chunk-{index}-of-{len(self.chunks)}.txt")


def existing_result_hashes(results_dir: Path, machine: str) -> set[str]:
    """The 8-character commit prefixes that have a result file for ``machine``: asv's
    own ``--skip-existing-commits`` test (any ``<hash8>-<env>.json``), no JSON read."""
    directory = Path(results_dir) / machine
    try:
        names = os.listdir(directory)
    except OSError:
        return set()
    return {name.split("-", 1)[0] for name in names
            if name.endswith(".json") and name != "machine.json" and "-" in name}


def chunked(commits: Sequence[str], size: int) -> tuple[tuple[str, ...], ...]:
    if size < 1:
        raise UserError(f"--chunk must be >= 1, not {size}")
    return tuple(tuple(commits[i:i + size]) for i in range(0, len(commits), size))


def _asv_conf(config: Path) -> dict[str, Any]:
    from .run import read_asv_conf

    return read_asv_conf(config)


def plan_backfill(config: Path, range_spec: str, machine: str, chunk: int) -> BackfillPlan:
    """The range's commits (``git rev-list --first-parent --reverse``, as asv walks a
    range), minus those with results for ``machine``, cut into chunks of ``chunk``."""
    config = Path(config).resolve()
    conf = _asv_conf(config)
    repo_spec = str(conf.get("repo", "."))
    if "://" in repo_spec or repo_spec.startswith("git@"):
        raise UserError(f"backfill needs a local repository; asv.conf.json's repo is "
                        f"{repo_spec!r}", path=str(config))
    repo = (config.parent / repo_spec).resolve()
    results_dir = (config.parent / str(conf.get("results_dir", "results"))).resolve()
    if range_spec.startswith("-"):
        raise UserError(f"RANGE must be a git revision range, not {range_spec!r}")
    proc = _git(repo, ["rev-list", "--first-parent", "--reverse", range_spec, "--"],
                ok=(0, 128, 129))
    if proc.returncode != 0:
        raise UserError(f"not a revision range in {repo}: {range_spec!r} "
                        f"({_last_line(proc.stderr)})")
    commits = tuple(_out(proc).split())
    have = existing_result_hashes(results_dir, machine)
    done = tuple(c for c in commits if c[:8] in have)
    todo = [c for c in commits if c[:8] not in have]
    return BackfillPlan(range_spec, machine, config, results_dir, repo, commits, done,
                        chunked(todo, chunk))


def backfill_commands(asv: str, plan: BackfillPlan,
                      extra: Sequence[str] = ()) -> tuple[list[str], list[list[str]]]:
    """``asv machine`` (so asv never stops to ask) and one ``asv run`` per chunk."""
    machine_cmd = [asv, "machine", "--yes", "--machine", plan.machine,
                   "--config", str(plan.config)]
    runs = [[asv, "run", "--config", str(plan.config), "--machine", plan.machine,
             "--skip-existing-commits", *extra, f"HASHFILE:{plan.hashfile(i)}"]
            for i in range(1, len(plan.chunks) + 1)]
    return machine_cmd, runs


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _summary(plan: BackfillPlan) -> str:
    todo = sum(len(c) for c in plan.chunks)
    return (f"backfill {plan.range} on machine {plan.machine}: "
            f"{_n(len(plan.commits), 'commit')}, {len(plan.done)} with results already, "
            f"{todo} to run in {_n(len(plan.chunks), 'chunk')}")


def _span(chunk: Sequence[str]) -> str:
    return chunk[0][:10] if len(chunk) == 1 else f"{chunk[0][:10]}..{chunk[-1][:10]}"


def render_plan(plan: BackfillPlan, machine_cmd: Sequence[str],
                runs: Sequence[Sequence[str]]) -> str:
    """The dry-run text: the counts, every chunk's commits and the exact commands."""
    n = len(plan.chunks)
    lines = [_summary(plan),
             f"results dir: {plan.results_dir}",
             "$ " + shlex.join(machine_cmd)]
    for i, (chunk, cmd) in enumerate(zip(plan.chunks, runs), 1):
        lines.append(f"chunk {i}/{n}: {_n(len(chunk), 'commit')} ({_span(chunk)})")
        lines += [f"  {c}" for c in chunk]
        lines.append("$ " + shlex.join(cmd))
    return "\n".join(lines) + "\n"


def backfill(plan: BackfillPlan, asv: str, extra: Sequence[str] = (),
             out: Callable[[str], None] = print) -> int:
    """Run the chunks in order. asv exit 2 (some benchmark failed) is not fatal; any
    other failure stops with a message saying that rerunning resumes."""
    from .output import write_atomically
    from .run import _stream

    machine_cmd, runs = backfill_commands(asv, plan, extra)
    n = len(plan.chunks)
    out(_summary(plan))
    if n == 0:
        return 0
    if _stream(machine_cmd, plan.repo) != 0:
        raise UserError(f"'asv machine' failed for machine {plan.machine!r}",
                        path=str(plan.config))
    for i, (chunk, cmd) in enumerate(zip(plan.chunks, runs), 1):
        hashfile = plan.hashfile(i)
        hashfile.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(hashfile, "".join(f"{c}\n" for c in chunk))
        out(f"chunk {i}/{n}: {_n(len(chunk), 'commit')} ({_span(chunk)})")
        code = _stream(cmd, plan.repo)
        if code not in (0, 2):
            raise UserError(f"asv run exited {code} in chunk {i}/{n} ({_span(chunk)}); "
                            f"rerun the same backfill to resume", path=str(hashfile))
        note = " (some benchmarks failed)" if code == 2 else ""
        out(f"chunk {i}/{n}: done{note}")
    return 0


# --------------------------------------------------------------------------- commands


def push_command(args: argparse.Namespace) -> int:
    from .output import emit

    result = push(args.repo, args.results_dir, branch=args.branch, remote=args.remote,
                  message=args.message, retries=args.retries, backoff=args.backoff,
                  prefix=args.prefix)
    emit(render_push(result, args.format), args.output)
    return 0


def pull_command(args: argparse.Namespace) -> int:
    from .output import emit

    result = pull(args.repo, args.into, branch=args.branch, remote=args.remote,
                  prefix=args.prefix)
    emit(render_pull(result, args.format), args.output)
    return 0


def backfill_command(args: argparse.Namespace) -> int:
    from .output import emit
    from .run import asv_executable, default_machine, find_asv_conf

    config = (args.config or find_asv_conf()).resolve()
    plan = plan_backfill(config, args.range, args.machine or default_machine(), args.chunk)
    asv = asv_executable()
    if args.dry_run:
        machine_cmd, runs = backfill_commands(asv, plan, args.asv_args)
        emit(render_plan(plan, machine_cmd, runs), args.output)
        return 0
    return backfill(plan, asv, args.asv_args, out=lambda text: print(text, flush=True))


RESULTS_EPILOG = """\
The results branch keeps asv's results across CI runs and machines. 'push' appends the
.json files of a results directory in one commit on top of the branch tip and pushes it
without force; when another runner pushed first it fetches the new tip, re-applies the
same files and retries (jittered exponential backoff). 'pull' copies the branch's
results into a directory. Neither touches your checkout, index or HEAD.

Layout: .asv/results/<suite>-<env> <-> results/<suite>-<env>/ on the branch; any other
directory (asv's plain results/, or .asv/results) <-> results/. --prefix overrides.

exit codes: 0 pushed, pulled, or nothing to do; 2 usage/data/git error (the remote
refused for another reason than a moved tip, retries exhausted, not a git repository).

examples:
  benchwatch results pull --into .asv/results
  benchwatch results push --results-dir .asv/results/ci-fast-ci
  benchwatch results push --results-dir results --branch bench-history --retries 8
  benchwatch results push --results-dir results --format json --output push.json
"""

BACKFILL_EPILOG = """\
Runs every commit of RANGE (git rev-list --first-parent, oldest first, as asv walks a
range) through 'asv run HASHFILE:<file> --skip-existing-commits', CHUNK commits at a
time. Commits that already have a result file for the machine are left out, so a killed
backfill resumes where it stopped: rerun the same command. Hash files are written to
.asv/backfill/<machine>/ beside asv.conf.json. Arguments after '--' go to 'asv run'.

exit codes: 0 done (asv exit 2, some benchmark failed, is not fatal); 2 usage/config
error or an asv failure (the message names the chunk; rerun to resume).

examples:
  benchwatch backfill v1.0..main --machine ci-runner-1 --dry-run
  benchwatch backfill v1.0..main --machine ci-runner-1 --chunk 20
  benchwatch backfill HEAD~50..HEAD --machine ci-runner-1 -- --bench simd --quick
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    results = subparsers.add_parser(
        "results", help="push asv results to, or pull them from, the results branch",
        description="Append asv results to a git branch (atomic, never a force push) or "
                    "copy them back, without touching your checkout.",
        epilog=RESULTS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = results.add_subparsers(dest="results_command", metavar="ACTION", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--branch", default=DEFAULT_BRANCH,
                       help=f"the results branch (default: {DEFAULT_BRANCH})")
        p.add_argument("--remote", default="origin",
                       help="git remote name or URL (default: origin)")
        p.add_argument("--repo", type=Path, default=Path("."), metavar="PATH",
                       help="the git repository whose remote is used (default: .)")
        p.add_argument("--prefix", metavar="PATH",
                       help="directory on the branch (default: see the layout below)")
        p.add_argument("--format", choices=("text", "json"), default="text")
        p.add_argument("--output", type=Path, metavar="FILE",
                       help="write the report to FILE (atomically) instead of stdout")

    p = sub.add_parser("push", help="append a results directory to the branch",
                       description="Append the asv result files of a directory to the "
                                   "results branch in one commit; retry when another "
                                   "runner pushed first.",
                       epilog=RESULTS_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results-dir", type=Path, required=True, metavar="DIR",
                   help="asv results directory (DIR/<machine>/*.json, DIR/benchmarks.json)")
    p.add_argument("--message", metavar="MSG", help="commit message (default: names the "
                                                    "machines and the file count)")
    p.add_argument("--retries", type=int, default=5, metavar="N",
                   help="retries after a lost race with another push (default: 5)")
    p.add_argument("--backoff", type=float, default=1.0, metavar="SECONDS",
                   help="first retry delay; doubles per retry, jittered, capped at "
                        f"{BACKOFF_CAP_S:g} s (default: 1)")
    common(p)
    p.set_defaults(func=push_command)

    p = sub.add_parser("pull", help="copy the branch's results into a directory",
                       description="Fetch the results branch and copy its results into "
                                   "DIR; local results that differ are kept.",
                       epilog=RESULTS_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--into", type=Path, required=True, metavar="DIR",
                   help="results directory to fill (created if missing)")
    common(p)
    p.set_defaults(func=pull_command)

    b = subparsers.add_parser(
        "backfill", help="run a commit range through asv in resumable chunks",
        description="Benchmark every commit of a range with asv, in resumable chunks.",
        usage="benchwatch backfill [options] RANGE [-- ASV_ARGS...]",
        epilog=BACKFILL_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("range", metavar="RANGE", help="git revision range, e.g. v1.0..main")
    b.add_argument("--config", type=Path, metavar="PATH",
                   help="asv.conf.json (default: nearest one upward)")
    b.add_argument("--chunk", type=int, default=10, metavar="N",
                   help="commits per 'asv run' (default: 10)")
    b.add_argument("--machine", metavar="NAME",
                   help="asv machine name (default: benchwatch-<hostname>)")
    b.add_argument("--dry-run", action="store_true",
                   help="print the chunks and the asv commands; run nothing")
    b.add_argument("--output", type=Path, metavar="FILE",
                   help="with --dry-run: write the plan to FILE instead of stdout")
    # "+" and not "*": a "*" positional is consumed (empty) as soon as RANGE is, so
    # "RANGE --chunk 5 -- --bench x" would leave "--bench x" unparsed.
    extra = b.add_argument("asv_args", nargs="+", default=[], metavar="ASV_ARGS",
                           help="after '--': extra arguments for 'asv run'")
    extra.required = False
    b.set_defaults(func=backfill_command)
