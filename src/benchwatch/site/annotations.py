"""``configs/annotations.yaml``: regressions people have looked at, kept in the repository.

asv remembers "ignored" regressions in each browser's localStorage, so every reader
sees a different list. Here an acknowledged or expected regression is a reviewed line
in a versioned file::

    version: 1
    annotations:
      - benchmark: allocation.AllocationSuite.time_allocate   # exact asv name
        commit: 1a2b3c4d          # first commit at the new level, 7+ hex digits
        status: expected           # expected | acknowledged
        note: the new validation costs 5 %; accepted in #123
        machine: ci-runner-1       # optional: only this machine

A change point matches when its benchmark is equal, its ``commit`` starts with the
given hash and (when given) its machine is equal. Every error names file:line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError

VERSION = 1
STATUSES = ("acknowledged", "expected")
_KEYS = {"benchmark", "commit", "status", "note", "machine"}
_HEX = re.compile(r"[0-9a-f]{7,40}")


@dataclass(frozen=True)
class Annotation:
    benchmark: str
    commit: str  # a prefix of the change point's first new commit, lower case
    status: str  # acknowledged | expected
    note: str
    machine: str | None
    line: int  # 1-based line in the file, for messages

    def matches(self, change) -> bool:
        """Whether this annotation is about ``change`` (a ``changes.ChangePoint``)."""
        return (change.benchmark == self.benchmark
                and change.commit.lower().startswith(self.commit)
                and (self.machine is None or change.machine == self.machine))


def load(path: Path | str) -> tuple[Annotation, ...]:
    """The annotations of ``path``; a missing file is none, a bad one a ``UserError``."""
    from ruamel.yaml import YAML

    from ..yamlguard import refuse_alias_bombs, unmarked_error

    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise UserError(f"cannot read annotations ({exc.strerror})", path=str(path)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"file is not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8",
                        path=str(path), line=raw.count(b"\n", 0, exc.start) + 1) from None
    # a billion-laughs document would hang the checks below (a repr in a message)
    refuse_alias_bombs(text, str(path))
    try:
        doc = YAML(typ="rt").load(text)
    except Exception as exc:  # noqa: BLE001 - ruamel raises unmarked kinds (a list as a key)
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
        if mark is not None and problem:
            line = mark.line + 1
        else:
            line, problem = unmarked_error(exc, text)
        raise UserError(f"not valid YAML: {problem}", path=str(path), line=line) from None
    if doc is None:
        return ()

    def fail(msg: str, line: int | None) -> UserError:
        return UserError(msg, path=str(path), line=line)

    if not isinstance(doc, dict):
        raise fail("the file must be a mapping with 'version' and 'annotations'", 1)
    keys = {str(k): k for k in doc}  # a key may be null or a number: "? : x"
    unknown = sorted(set(keys) - {"version", "annotations"})
    if unknown:
        raise fail(f"unknown top-level key {unknown[0]!r} (expected version, annotations)",
                   _key_line(doc, keys[unknown[0]]))
    if doc.get("version") != VERSION:
        raise fail(f"'version' must be {VERSION}, got {doc.get('version')!r}",
                   _key_line(doc, "version") if "version" in doc else 1)
    items = doc.get("annotations") or []
    if not isinstance(items, list):
        raise fail("'annotations' must be a list", _key_line(doc, "annotations"))
    out = []
    for i, item in enumerate(items):
        line = items.lc.item(i)[0] + 1 if hasattr(items, "lc") else None
        if not isinstance(item, dict):
            raise fail(f"annotations[{i}] must be a mapping with benchmark, commit, status",
                       line)
        for key in item:
            if key not in _KEYS:
                raise fail(f"annotations[{i}]: unknown key {key!r} (expected "
                           f"{', '.join(sorted(_KEYS))})", _key_line(item, key))
        for key in ("benchmark", "commit", "status"):
            if key not in item:
                raise fail(f"annotations[{i}]: missing {key!r}", line)
        for key in sorted(_KEYS & set(item)):
            if key == "commit" and isinstance(item[key], (int, float)):
                raise fail(f"annotations[{i}].commit: YAML reads {item[key]!r} as a number; "
                           "quote the hash ('0123456')", _key_line(item, key))
            if not isinstance(item[key], str) or not item[key].strip():
                raise fail(f"annotations[{i}].{key} must be a non-empty string",
                           _key_line(item, key))
        commit = item["commit"].strip().lower()
        if not _HEX.fullmatch(commit):
            raise fail(f"annotations[{i}].commit {item['commit']!r} is not a hash of 7 to 40 "
                       "hex digits", _key_line(item, "commit"))
        if item["status"] not in STATUSES:
            raise fail(f"annotations[{i}].status {item['status']!r} is not one of "
                       f"{', '.join(STATUSES)}", _key_line(item, "status"))
        out.append(Annotation(item["benchmark"], commit, item["status"],
                              str(item.get("note", "")), item.get("machine"), line or 0))
    return tuple(out)


def _key_line(mapping, key) -> int | None:
    try:
        return mapping.lc.key(key)[0] + 1
    except (AttributeError, KeyError, TypeError):
        # a merged (<<) key has no position of its own: the mapping's line
        line = getattr(getattr(mapping, "lc", None), "line", None)
        return line + 1 if line is not None else None


def find(annotations, change) -> Annotation | None:
    """The first annotation about ``change``, if any."""
    return next((a for a in annotations if a.matches(change)), None)
