"""Named baselines (``configs/baselines.yaml``) and the ``benchwatch baseline`` command.

A baseline is a name (``v1.2.0``, ``last-release``) for one full commit hash, so a
command that compares against a commit can take a name that outlives any branch
(``resolve_ref``). The file is a maintainer's file: ``set`` and ``remove`` edit it
round-trip with ruamel.yaml, keeping every comment, blank line, quote style and the
order of entries, and write it atomically. Bad YAML (tabs, duplicate keys, anchors or
aliases, wrong types, non-UTF-8) is a one-line error naming ``file:line``, exit 2, and
the file is left untouched.

This module must not parse asv results itself; ``set`` resolves commits through
``benchwatch.results`` / ``benchwatch.history`` or ``git rev-parse``.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from .errors import UserError

DEFAULT_CONFIG = Path("configs") / "baselines.yaml"

#: Baseline names: a letter or digit, then letters, digits, '.', '_' or '-'.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
#: A name made only of 7+ hex digits would read as an abbreviated commit hash.
_HEXISH = re.compile(r"[0-9a-fA-F]{7,}")
_FULL_HASH = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_ENTRY_KEYS = ("commit", "note", "date")

TEMPLATE = """\
# Named baselines for benchwatch: a name (v1.2.0, last-release) for one commit.
#
# Manage entries with
#   benchwatch baseline set NAME COMMIT [--note TEXT]
#   benchwatch baseline list
#   benchwatch baseline remove NAME
# or edit by hand: the commands keep comments, blank lines and the order of entries.
#
#   baselines:
#     NAME:             # letters, digits, '.', '_', '-'; not 7+ hex digits alone
#       commit: HASH    # the full commit hash (40 or 64 hex digits)
#       note: TEXT      # optional
#       date: ISO-8601  # optional: when the baseline was set (UTC)
#
# See site/baselines.md.
baselines: {}
"""


@dataclass(frozen=True)
class Baseline:
    """One named baseline as the file holds it; ``line`` is where its name is (1-based)."""

    name: str
    commit: str
    note: str | None = None
    date: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("line")
        return d


# --------------------------------------------------------------------------- names


def check_name(name: str) -> str:
    """``name`` if it is a valid baseline name, else a ``UserError`` saying what is allowed."""
    if not NAME_PATTERN.fullmatch(name or ""):
        raise UserError(f"baseline name {name!r}: use 1-100 letters, digits, '.', '_' or '-', "
                        "starting with a letter or digit (e.g. v1.2.0, last-release)")
    if _HEXISH.fullmatch(name):
        raise UserError(f"baseline name {name!r} looks like a commit hash; "
                        "add a letter outside a-f (e.g. rel-{name})")
    return name


def find_config(start: Path | None = None) -> Path | None:
    """``configs/baselines.yaml`` in ``start`` (default: the cwd) or its nearest parent."""
    from .paths import find_upwards

    return find_upwards(DEFAULT_CONFIG, start)


# --------------------------------------------------------------------------- reading


def _yaml() -> Any:
    from ruamel.yaml import YAML

    y = YAML(typ="rt", pure=True)
    y.preserve_quotes = True
    y.width = 4096  # never re-wrap a maintainer's long notes
    return y


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise UserError("baselines file not found", path=str(path)) from None
    except OSError as exc:
        raise UserError(f"cannot read baselines file: {exc.strerror}", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise UserError(f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
                        path=str(path), line=line) from None
    for lineno, line_text in enumerate(text.splitlines(), 1):
        if "\t" in line_text:
            raise UserError("tab character; indent and separate with spaces",
                            path=str(path), line=lineno)
    return text


def _parse(text: str, path: Path) -> Any:
    """The round-trip tree of ``text``; anchors, aliases and YAML errors are refused."""
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.events import AliasEvent

    from .yamlguard import flow_too_deep

    deep = flow_too_deep(text)
    if deep is not None:
        raise UserError(f"YAML: {deep[1]}", path=str(path), line=deep[0])
    y = _yaml()
    try:
        # Aliases would make one edit change two entries; refuse them before loading.
        for event in y.parse(text):
            if isinstance(event, AliasEvent) or getattr(event, "anchor", None):
                mark = event.start_mark
                raise UserError("YAML anchors and aliases are not allowed in baselines; "
                                "write each entry out", path=str(path), line=mark.line + 1)
        return y.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "invalid YAML").strip()
        if type(exc).__name__ == "DuplicateKeyError":
            problem = re.sub(r'found duplicate key "(.*?)".*$', r"duplicate key '\1'", problem)
            if exc.context_mark is not None:
                problem += f" (first defined on line {exc.context_mark.line + 1})"
        raise UserError(f"YAML: {problem}", path=str(path), line=line) from None
    except UserError:
        raise
    except (YAMLError, AssertionError, RecursionError) as exc:  # ruamel asserts on odd input
        from .yamlguard import unmarked_error

        line, problem = unmarked_error(exc, text)
        raise UserError(f"YAML: {problem}", path=str(path), line=line) from None


def _line(node: Any, key: Any = None, *, value: bool = False) -> int | None:
    try:
        if key is None:
            return node.lc.line + 1
        return (node.lc.value(key) if value else node.lc.key(key))[0] + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, (date, datetime)):
        return "a date"
    return "a string" if isinstance(value, str) else type(value).__name__


def _validate(data: Any, path: Path) -> dict[str, Baseline]:
    """Every baseline in the loaded tree, or a ``UserError`` at the first problem."""
    p = str(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"expected a mapping with a 'baselines' key, got {_kind(data)}",
                        path=p, line=_line(data) or 1)
    for key in data:
        if key != "baselines":
            raise UserError(f"unknown top-level key {key!r}; expected 'baselines'",
                            path=p, line=_line(data, key))
    entries = data.get("baselines")
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        raise UserError(f"'baselines' must be a mapping of names, got {_kind(entries)}",
                        path=p, line=_line(data, "baselines", value=True))
    out: dict[str, Baseline] = {}
    for name, entry in entries.items():
        line = _line(entries, name)
        if not isinstance(name, str):
            raise UserError(f"baseline names are strings, got {_kind(name)} {name!r}; "
                            "quote it", path=p, line=line)
        try:
            check_name(name)
        except UserError as exc:
            raise UserError(str(exc), path=p, line=line) from None
        if not isinstance(entry, dict):
            raise UserError(f"baseline {name!r}: expected a mapping with 'commit', got "
                            f"{_kind(entry)}", path=p, line=line)
        for key in entry:
            if key not in _ENTRY_KEYS:
                raise UserError(f"baseline {name!r}: unknown key {key!r}; expected one of: "
                                f"{', '.join(_ENTRY_KEYS)}", path=p, line=_line(entry, key))
        if "commit" not in entry:
            raise UserError(f"baseline {name!r}: missing 'commit'", path=p, line=line)
        commit = entry["commit"]
        cline = _line(entry, "commit", value=True)
        if not isinstance(commit, str):
            raise UserError(f"baseline {name!r}: commit must be a string of hex digits, got "
                            f"{_kind(commit)}; quote it", path=p, line=cline)
        if not _FULL_HASH.fullmatch(commit.lower()):
            raise UserError(f"baseline {name!r}: commit {commit!r} is not a full hash "
                            "(40 or 64 hex digits)", path=p, line=cline)
        note = entry.get("note")
        if note is not None and not isinstance(note, str):
            raise UserError(f"baseline {name!r}: note must be a string, got {_kind(note)}",
                            path=p, line=_line(entry, "note", value=True))
        when = entry.get("date")
        if isinstance(when, (date, datetime)):
            when = when.isoformat()
        elif when is not None and not isinstance(when, str):
            raise UserError(f"baseline {name!r}: date must be an ISO 8601 string, got "
                            f"{_kind(when)}", path=p, line=_line(entry, "date", value=True))
        out[name] = Baseline(name, commit.lower(), None if note is None else str(note),
                             None if when is None else str(when), line)
    return out


def load(path: Path | str) -> dict[str, Baseline]:
    """The baselines in ``path``, by name in file order. Bad files raise ``UserError``."""
    path = Path(path)
    return _validate(_parse(_read_text(path), path), path)


def resolve_ref(ref: str, path: Path | None = None) -> str | None:
    """The commit hash a baseline name stands for; ``None`` if ``ref`` is not a name.

    ``path`` defaults to ``configs/baselines.yaml`` found from the cwd upwards; with no
    such file nothing is a name. Anything that is not a valid name (a hash, ``HEAD~1``)
    returns ``None`` without reading the file, so callers can try names first.
    """
    if not NAME_PATTERN.fullmatch(ref or "") or _HEXISH.fullmatch(ref):
        return None
    if path is None:
        path = find_config()
        if path is None:
            return None
    found = load(path).get(ref)
    return found.commit if found is not None else None


# --------------------------------------------------------------------------- editing
#
# ruamel keeps a comment with the node *before* it: the lines between two entries
# (the next entry's own comment, blank lines, a footer) hang off the last scalar of
# the previous entry, and the lines before the first entry sit in the parent's
# "before" slot. Deleting or appending an entry therefore moves those lines to
# where the reader sees them belong, so nothing but the changed entry differs.


def _tail(mapping: Any, key: Any) -> tuple[Any, Any]:
    """(container, key) of the last scalar in ``mapping[key]``: where ruamel keeps the
    comment lines that follow that entry."""
    from ruamel.yaml.comments import CommentedMap

    value = mapping[key]
    if isinstance(value, CommentedMap) and len(value):
        return _tail(value, list(value)[-1])
    return mapping, key


def _after(holder: tuple[Any, Any]) -> tuple[Any, str]:
    container, key = holder
    item = container.ca.items.get(key)
    token = item[2] if item and len(item) > 2 else None
    return token, (token.value if token is not None else "")


def _split(after: str) -> tuple[str, str]:
    """(end of the holder's own line, the full lines that follow)."""
    if not after:
        return "", ""
    head, _, rest = after.partition("\n")
    return head + "\n", rest


def _set_after(holder: tuple[Any, Any], text: str, donor: Any = None) -> None:
    """Make ``text`` the comment after ``holder``'s scalar (``""``/``"\\n"``: none)."""
    import copy

    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    container, key = holder
    token, _ = _after(holder)
    if text in ("", "\n"):
        if token is not None:
            container.ca.items[key][2] = None
            if not any(container.ca.items[key]):
                del container.ca.items[key]
        return
    if token is None:
        token = copy.copy(donor) if donor is not None else CommentToken(text, CommentMark(0))
        item = container.ca.items.setdefault(key, [None, None, None, None])
        item[2] = token
    token.value = text


def _before_tokens(lines: str, indent_default: int) -> list[Any]:
    """Full comment/blank ``lines`` in the token form of a mapping's "before" slot."""
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    tokens: list[Any] = []
    for line in lines.splitlines():
        stripped = line.strip()
        if not stripped:
            if tokens:
                tokens[-1].value += "\n"
            else:
                tokens.append(CommentToken("\n", CommentMark(0)))
            continue
        col = len(line) - len(line.lstrip(" "))
        tokens.append(CommentToken(stripped + "\n", CommentMark(col or indent_default)))
    return tokens


def _delete(parent: Any, parent_key: Any, key: Any) -> None:
    """Delete ``parent[parent_key][key]`` with its own comment lines, keeping the rest."""
    mapping = parent[parent_key]
    keys = list(mapping)
    i = keys.index(key)
    token, after = _after(_tail(mapping, key))
    _, rest = _split(after)  # what follows the deleted entry: the next one's comment
    if i > 0:
        # The lines between the previous entry and this one are this one's comment.
        prev = _tail(mapping, keys[i - 1])
        head, _ = _split(_after(prev)[1])
        _set_after(prev, (head or "\n") + rest, donor=token)
    else:
        # The deleted entry's own comment is in the "before" slot; what followed it
        # becomes the next entry's (or, with none left, the document's end).
        if len(keys) > 1:
            tokens = _before_tokens(rest, 0) or None
            item = parent.ca.items.setdefault(parent_key, [None, None, None, None])
            item[3] = tokens
            if mapping.ca.comment is None:
                mapping.ca.comment = [None, None]
            mapping.ca.comment[1] = tokens
        else:
            if parent_key in parent.ca.items:
                parent.ca.items[parent_key][3] = None
            if mapping.ca.comment is not None:
                mapping.ca.comment[1] = None
            if rest.strip():
                parent.ca.end = _before_tokens(rest, 0)
    mapping.ca.items.pop(key, None)
    del mapping[key]


def _append(mapping: Any, key: Any, value: Any) -> None:
    """Add ``key: value`` at the end of ``mapping``; lines that followed the old last
    entry (a footer) stay after the new one."""
    if mapping.fa.flow_style():
        mapping.fa.set_block_style()
    if not len(mapping):
        mapping[key] = value
        return
    last = _tail(mapping, list(mapping)[-1])
    token, after = _after(last)
    head, rest = _split(after)
    _set_after(last, head)
    mapping[key] = value
    if rest:
        _set_after(_tail(mapping, key), "\n" + rest, donor=token)


def _put(parent: Any, parent_key: Any, key: str, value: Any) -> None:
    mapping = parent[parent_key]
    if key in mapping:
        mapping[key] = value  # in place: position and comments stay
    else:
        _append(mapping, key, value)


def _edit(path: Path, change: Any) -> None:
    """Load ``path`` round-trip, let ``change(root)`` edit it, check and write atomically."""
    import io

    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.util import load_yaml_guess_indent

    from .output import write_atomically

    text = _read_text(path)
    data = _parse(text, path)
    _validate(data, path)
    if data is None:  # only comments (or nothing): keep them, add the mapping
        text = (text if text.endswith("\n") or not text else text + "\n") + "baselines: {}\n"
        data = _parse(text, path)
    if data.get("baselines") is None:
        data["baselines"] = CommentedMap()
    change(data)
    y = _yaml()
    _, indent, block_seq_indent = load_yaml_guess_indent(text)
    y.indent(mapping=indent or 2, sequence=indent or 2, offset=block_seq_indent or 0)
    buf = io.StringIO()
    y.dump(data, buf)
    new_text = buf.getvalue()
    # Never write what load() would refuse.
    _validate(_parse(new_text, path), path)
    try:
        write_atomically(path, new_text)
    except OSError as exc:
        raise UserError(f"cannot write baselines file: {exc.strerror}", path=str(path)) from None


def set_baseline(path: Path | str, name: str, commit: str, *, note: str | None = None,
                 when: str | None = None) -> Baseline | None:
    """Set ``name`` to ``commit`` (a full hash) in ``path``; return the previous entry.

    An existing entry is updated in place (its comments and position stay). ``note``
    replaces the note when given (``""`` removes it); ``when`` is stored as ``date``.
    A missing ``path`` is created from ``TEMPLATE``.
    """
    from ruamel.yaml.comments import CommentedMap

    path = Path(path)
    check_name(name)
    commit = commit.lower()
    if not _FULL_HASH.fullmatch(commit):
        raise UserError(f"commit {commit!r} is not a full hash (40 or 64 hex digits)")
    if not path.exists():
        if not path.parent.is_dir():
            raise UserError("directory does not exist", path=str(path.parent))
        from .output import write_atomically

        write_atomically(path, TEMPLATE)
    previous = load(path).get(name)

    def change(root: Any) -> None:
        entries = root["baselines"]
        if name not in entries:
            entry = CommentedMap()
            entry["commit"] = commit
            if note:
                entry["note"] = note
            if when:
                entry["date"] = when
            _append(entries, name, entry)
            return
        entry = entries[name]
        _put(entries, name, "commit", commit)
        if note is not None:
            if note:
                _put(entries, name, "note", note)
            elif "note" in entry:
                _delete(entries, name, "note")
        if when:
            _put(entries, name, "date", when)

    _edit(path, change)
    return previous


def remove_baseline(path: Path | str, name: str) -> Baseline:
    """Remove ``name`` from ``path`` (with its own comment lines); return what it was."""
    path = Path(path)
    existing = load(path)
    if name not in existing:
        known = ", ".join(existing) or "none"
        raise UserError(f"no baseline named {name!r} (defined: {known})", path=str(path))
    _edit(path, lambda root: _delete(root, "baselines", name))
    return existing[name]


# --------------------------------------------------------------------------- command

EPILOG = """\
Baselines live in configs/baselines.yaml (found from the current directory upwards;
--config PATH names another file). 'set' and 'remove' keep the file's comments and
order; every write is atomic. See site/baselines.md for the format.

COMMIT for 'set' is a full or abbreviated (8+ hex digits) hash that has results in
the results directory (default: results_dir of ./asv.conf.json), or, with --repo,
any git revision of that repository (a tag, a branch, HEAD~3).

exit codes: 0 ok, 2 usage, config or data error (the message names file:line).

examples:
  benchwatch baseline set v1.2.0 3f2a9c1e --note "release 1.2.0"
  benchwatch baseline set last-release v1.2.0 --repo .
  benchwatch baseline list
  benchwatch baseline list --format json
  benchwatch baseline remove v1.1.0
"""


def setup_arguments(subparsers: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = subparsers.add_parser(
        "baseline", help="name commits (v1.2.0, last-release) to compare against",
        description="Named baselines: set, list and remove names for commits in "
                    "configs/baselines.yaml.",
        epilog=EPILOG, formatter_class=fmt)
    p.set_defaults(func=lambda args: _usage(p))
    actions = p.add_subparsers(dest="baseline_command", metavar="ACTION")

    def config_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--config", metavar="PATH", type=Path,
                         help="baselines file (default: configs/baselines.yaml, "
                              "searched from the current directory upwards)")

    s = actions.add_parser("set", help="name a commit (creates or moves the name)",
                           description="Name a commit. An existing name is moved to the "
                                       "new commit in place.", epilog=EPILOG,
                           formatter_class=fmt)
    s.add_argument("name", metavar="NAME", help="baseline name, e.g. v1.2.0 or last-release")
    s.add_argument("commit", metavar="COMMIT",
                   help="commit hash (8+ hex digits) with results, or with --repo any git "
                        "revision")
    s.add_argument("--note", metavar="TEXT",
                   help="a note stored with the baseline ('' removes an existing note)")
    s.add_argument("--results-dir", metavar="DIR", type=Path,
                   help="asv results directory (default: results_dir of ./asv.conf.json)")
    s.add_argument("--machine", metavar="NAME", help="only look at this asv machine's results")
    s.add_argument("--repo", metavar="PATH", type=Path,
                   help="resolve COMMIT with 'git rev-parse' in this repository instead")
    config_option(s)
    s.set_defaults(func=run_set)

    ls = actions.add_parser("list", help="print the baselines",
                            description="Print every baseline in file order.",
                            epilog=EPILOG, formatter_class=fmt)
    ls.add_argument("--format", choices=("text", "json"), default="text",
                    help="output format (default: text)")
    ls.add_argument("--output", metavar="FILE", type=Path,
                    help="write to FILE atomically instead of stdout")
    config_option(ls)
    ls.set_defaults(func=run_list)

    rm = actions.add_parser("remove", help="delete a baseline",
                            description="Delete a baseline and its own comment lines.",
                            epilog=EPILOG, formatter_class=fmt)
    rm.add_argument("name", metavar="NAME")
    config_option(rm)
    rm.set_defaults(func=run_remove)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    print("benchwatch baseline: error: choose an action: set, list or remove", file=sys.stderr)
    return 2


def _config_path(args: argparse.Namespace) -> Path:
    if args.config is not None:
        return args.config
    found = find_config()
    if found is None:
        raise UserError(f"no {DEFAULT_CONFIG} here or in a parent directory; "
                        "pass --config PATH (set creates the file)")
    return found


def git_commit(repo: Path, rev: str) -> str:
    """The full hash of git revision ``rev`` in ``repo`` (``git rev-parse``)."""
    if rev.startswith("-"):
        raise UserError(f"commit {rev!r}: a revision cannot start with '-'")
    try:
        proc = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                               "--end-of-options", f"{rev}^{{commit}}"],
                              capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UserError(f"cannot run git: {exc.strerror}", path=str(repo)) from None
    if proc.returncode != 0:
        if not (Path(repo) / ".git").exists() and subprocess.run(
                ["git", "-C", str(repo), "rev-parse", "--git-dir"],
                capture_output=True, check=False).returncode != 0:
            raise UserError("not a git repository", path=str(repo))
        raise UserError(f"git does not know revision {rev!r}", path=str(repo))
    return proc.stdout.strip().lower()


def run_set(args: argparse.Namespace) -> int:
    check_name(args.name)
    path = _config_path(args)
    if args.repo is not None:
        commit = git_commit(args.repo, args.commit)
    else:
        from . import cli_results, history

        loaded = cli_results.load(argparse.Namespace(
            results_dir=args.results_dir, machine=args.machine, strict=False))
        commit = history.resolve_commit(loaded.rows, args.commit)
    when = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    previous = set_baseline(path, args.name, commit, note=args.note, when=when)
    if previous is None:
        print(f"{args.name} -> {commit} (new, {path})")
    elif previous.commit == commit:
        print(f"{args.name} -> {commit} (unchanged commit, {path})")
    else:
        print(f"{args.name} -> {commit} (was {previous.commit[:12]}, {path})")
    return 0


def render_list(baselines: dict[str, Baseline], fmt: str, path: Path) -> str:
    if fmt == "json":
        import json

        return json.dumps({"config": str(path),
                           "baselines": [b.to_dict() for b in baselines.values()]},
                          indent=2) + "\n"
    if not baselines:
        return f"no baselines in {path}\n"
    from .render import text

    rows = [(b.name, b.commit[:12], b.date or "", b.note or "") for b in baselines.values()]
    return text.table(("name", "commit", "date", "note"), rows)


def run_list(args: argparse.Namespace) -> int:
    from .output import emit

    path = _config_path(args)
    emit(render_list(load(path), args.format, path), args.output)
    return 0


def run_remove(args: argparse.Namespace) -> int:
    path = _config_path(args)
    old = remove_baseline(path, args.name)
    print(f"removed {old.name} ({old.commit[:12]}) from {path}")
    return 0
