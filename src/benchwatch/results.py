"""The one asv results loader: ``results/<machine>/<hash>-<env>.json`` -> tidy rows.

asv (api version 2) writes one JSON file per (machine, commit, environment). Each
benchmark's entry is a list whose columns are named by the file's ``result_columns``
(``result``, ``params``, ``version``, ``started_at``, ``duration``, ``stats_ci_99_a``,
...; asv drops trailing empty columns). A parameterised benchmark stores one value per
combination of its ``params`` (lists of ``repr`` strings) in ``itertools.product`` order.

Values: ``None`` means the benchmark failed, ``NaN`` that it was skipped (asv's own
convention); both are kept as rows so an analysis can tell "absent" from "broken".

The loader is tolerant at three scopes, so one bad byte never costs more data than it
must (``site/results.md`` lists every case):

- a **file** that cannot be read, is not UTF-8 JSON, has another api version or lacks
  ``commit_hash``/``result_columns``/``results`` is skipped whole;
- a benchmark **entry** whose shape is wrong (not a list, more columns than
  ``result_columns``, a value count that is not the params product) is skipped, the
  rest of the file loads;
- one parameter combination (a **row**) with an impossible value (a string, a negative
  or infinite time or memory, a NaN/inf/negative sample of a time benchmark) is
  skipped, the other combinations load.

Each skip is named in ``Loaded.problems`` (``"path: reason; skipped"``). With
``strict=True`` the first problem raises ``UserError`` (exit 2) instead.

Parsed files are cached (keyed by path, mtime and size) in ``.benchwatch-cache/``
beside the results directory, never inside asv's tree; a cache that cannot be read
is rebuilt. Nothing else in benchwatch parses asv JSON.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import math
import operator
import os
import pickle
import tempfile
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import UserError

API_VERSION = 2
MACHINE_API_VERSION = 1  # asv's Machine.api_version, the "version" of machine.json

#: Benchmark types that measure seconds or bytes: a negative or infinite value (or
#: sample) is corrupt data, not a measurement. ``track_`` values may be anything.
NONNEGATIVE_TYPES = frozenset({"time", "timeraw", "mem", "peakmem"})

CACHE_DIRNAME = ".benchwatch-cache"
#: Environment variable naming another cache directory (a read-only checkout, CI).
CACHE_DIR_ENV = "BENCHWATCH_CACHE_DIR"
#: Bump when parsing rules change, so caches written by older code are rebuilt.
_CACHE_FORMAT = 1


@dataclass(frozen=True)
class Row:
    """One measured value: a benchmark at one parameter combination, on one machine,
    in one asv environment, at one commit.

    ``params`` holds asv's repr strings (``"10"``, ``"'MLP'"``), ``()`` for a plain
    benchmark. ``date`` is the commit date in ms since the epoch (asv's ``date``).
    ``value`` is ``None`` when the benchmark failed and NaN when it was skipped.
    The statistics fields are ``None`` when asv did not record them. ``type`` is
    asv's benchmark type (``time``, ``timeraw``, ``track``, ``mem``, ``peakmem``);
    left out, it follows from the method name's prefix.
    """

    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    commit: str
    date: int | None
    value: float | None
    unit: str | None = None
    version: str | None = None  # the benchmark's code version; a new one starts a new series
    # statistics asv may store next to the value
    ci_99: tuple[float, float] | None = None
    quartiles: tuple[float, float] | None = None  # (q_25, q_75)
    number: int | None = None
    repeat: int | None = None
    samples: tuple[float, ...] | None = None  # only with --record-samples / continuous
    type: str | None = None  # from benchmarks.json, else the method-name prefix

    def __post_init__(self) -> None:
        if self.type is None:
            object.__setattr__(self, "type", _kind(self.benchmark))

    @property
    def key(self) -> tuple[str, tuple[str, ...], str, str]:
        """The series key: (benchmark, params, machine, env)."""
        return (self.benchmark, self.params, self.machine, self.env)

    @property
    def ok(self) -> bool:
        """A finite measured value (neither failed nor skipped)."""
        return self.value is not None and math.isfinite(self.value)

    def label(self) -> str:
        """``name(p0, p1)`` as asv's ``--bench`` regexes see it; ``name`` when plain."""
        return f"{self.benchmark}({', '.join(self.params)})" if self.params else self.benchmark


_FIELDS = tuple(f.name for f in fields(Row))
_row_values = operator.attrgetter(*_FIELDS)


@dataclass(frozen=True)
class Loaded:
    rows: tuple[Row, ...]
    problems: tuple[str, ...]  # "path: reason; skipped", one per skipped file, entry or row
    files: int  # result files read successfully


@functools.lru_cache(maxsize=None)
def _kind(benchmark: str) -> str:
    # history imports this module; import it here, not at the top, to avoid a cycle
    from .history import kind

    return kind(benchmark)


@dataclass(frozen=True)
class _Problem:
    """One skipped file, entry or row; ``line`` only where a line is known."""

    path: str
    reason: str
    line: int | None = None
    consequence: str = "skipped"

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}; {self.consequence}"

    def error(self) -> UserError:
        return UserError(self.reason, path=self.path, line=self.line)


class _EntryError(ValueError):
    """A benchmark entry's shape is wrong: skip the whole entry."""


class _RowError(ValueError):
    """One parameter combination holds an impossible value: skip that row."""


# --------------------------------------------------------------------------- loading


def load(results_dir: Path | str, *, machine: str | None = None,
         commit: str | None = None, strict: bool = False, cache: bool = True,
         cache_dir: Path | str | None = None) -> Loaded:
    """Every result row under ``results_dir`` (optionally one machine / commit prefix).

    Units, types and params come from ``results_dir/benchmarks.json`` when present.
    ``cache`` keeps parsed files in ``cache_dir`` (default: ``$BENCHWATCH_CACHE_DIR``,
    else ``.benchwatch-cache/`` beside ``results_dir``) so a second load re-reads only
    new or changed files.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise UserError("results directory not found", path=str(root))
    problems: list[_Problem] = []

    def check() -> None:
        if strict and problems:
            raise problems[0].error()

    info_path = root / "benchmarks.json"
    info = _benchmarks_info(info_path, problems)
    check()
    store = _Cache.open(root, info_path, cache_dir) if cache else None
    rows: list[Row] = []
    files = 0
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if machine_dir.name.startswith(".") or (machine is not None
                                                and machine_dir.name != machine):
            continue
        paths = sorted(p for p in machine_dir.glob("*.json") if p.name != "machine.json")
        if not paths and not (machine_dir / "machine.json").exists():
            continue  # not a machine directory
        _check_machine_json(machine_dir / "machine.json", problems)
        check()
        for path in paths:
            if commit is not None and not path.name.startswith(commit[:8]):
                continue
            hit = store.get(path) if store is not None else None
            if hit is None:
                stat = _stat(path)
                file_rows, file_problems = _parse(path, info)
                if store is not None and stat is not None:
                    store.put(path, stat, file_rows, file_problems)
            else:
                file_rows, file_problems = hit
            problems.extend(file_problems)
            check()
            if file_rows is None:
                continue
            files += 1
            rows.extend(r for r in file_rows if commit is None or r.commit.startswith(commit))
    if store is not None:
        store.save()
    return Loaded(tuple(rows), tuple(str(p) for p in problems), files)


def load_file(path: Path | str, info: dict[str, dict] | None = None, *,
              problems: list[str] | None = None, strict: bool = False) -> list[Row] | None:
    """The rows of one result file, or ``None`` (with a problem recorded) if unusable.

    Skipped entries and rows are recorded in ``problems``; the rest are returned.
    """
    rows, found = _parse(Path(path), info or {})
    if strict and found:
        raise found[0].error()
    if problems is not None:
        problems.extend(str(p) for p in found)
    return rows


def _parse(path: Path, info: dict[str, dict]) -> tuple[list[Row] | None, list[_Problem]]:
    """Rows and problems of one result file; ``None`` rows when the file is unusable."""
    problems: list[_Problem] = []

    def skip(reason: str, line: int | None = None) -> tuple[None, list[_Problem]]:
        problems.append(_Problem(str(path), reason, line))
        return None, problems

    try:
        raw = path.read_bytes()
    except OSError as exc:
        return skip(f"cannot read result file: {exc.strerror}")
    if not raw.strip():
        return skip("empty result file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return skip(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})", line)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return skip(f"not a valid JSON result file ({exc.msg} at line {exc.lineno}, "
                    f"column {exc.colno})", exc.lineno)
    except RecursionError:
        return skip("not a valid JSON result file (nested too deeply)")
    if not isinstance(data, dict):
        return skip(f"not an asv result file (top level is a JSON {_json_type(data)}, "
                    "not an object)")
    if "version" not in data:
        return skip("not an asv result file (no api 'version' field)")
    version = data["version"]
    if type(version) is not int or version != API_VERSION:
        hint = "; run `asv update` to convert it" if type(version) is int and version == 1 else ""
        return skip(f"asv result api version {version!r}, expected {API_VERSION}{hint}")

    commit = data.get("commit_hash")
    columns = data.get("result_columns")
    results = data.get("results")
    for key, value, want, want_name in (("commit_hash", commit, str, "string"),
                                        ("result_columns", columns, list, "array"),
                                        ("results", results, dict, "object")):
        if value is None:
            return skip(f"malformed asv result file: no {key!r}")
        if not isinstance(value, want):
            return skip(f"malformed asv result file: {key!r} is a JSON {_json_type(value)}, "
                        f"expected a JSON {want_name}")
    if not commit.strip():
        return skip("malformed asv result file: 'commit_hash' is empty")
    if not all(isinstance(c, str) for c in columns) or "result" not in columns:
        return skip("malformed asv result file: 'result_columns' is not a list of column "
                    "names holding 'result'")
    date = data.get("date")
    if date is not None:
        if type(date) not in (int, float) or not math.isfinite(date):
            return skip(f"malformed asv result file: 'date' {date!r} is not a number")
        date = int(date)
    env = data.get("env_name")
    env = env if isinstance(env, str) and env else path.stem.split("-", 1)[-1]
    params = data.get("params")
    machine = params.get("machine") if isinstance(params, dict) else None
    machine = machine if isinstance(machine, str) and machine else path.parent.name

    rows: list[Row] = []
    for name, entry in results.items():
        binfo = info.get(name) or {}
        btype = binfo.get("type")
        if not isinstance(btype, str) or not btype:
            btype = _kind(name)
        try:
            entry_rows, row_problems = _entry_rows(name, entry, columns, binfo, btype,
                                                   machine, env, commit, date)
        except _EntryError as exc:
            problems.append(_Problem(str(path), f"benchmark {name!r}: malformed entry ({exc})"))
            continue
        rows.extend(entry_rows)
        problems.extend(_Problem(str(path), reason) for reason in row_problems)
    return rows, problems


def _entry_rows(name: str, entry: Any, columns: list[str], binfo: dict, btype: str,
                machine: str, env: str, commit: str,
                date: int | None) -> tuple[list[Row], list[str]]:
    """The rows of one benchmark entry and the reasons for rows it skipped.

    Raises ``_EntryError`` (before building any row) when the entry's shape is wrong.
    """
    if not isinstance(entry, list):
        raise _EntryError(f"a JSON {_json_type(entry)}, expected a list of columns")
    if len(entry) > len(columns):
        raise _EntryError(f"{len(entry)} columns, but result_columns names {len(columns)}")
    col = dict(zip(columns, entry))
    params = col.get("params")
    if params is None:
        params = binfo.get("params") or []
    if not isinstance(params, list) or not all(isinstance(axis, list) for axis in params):
        raise _EntryError("params is not a list of lists")
    combos = list(itertools.product(*[[str(v) for v in axis] for axis in params])) \
        if params else [()]
    n = len(combos)
    values = col.get("result")
    if values is None:
        values = [None] * n
    elif not isinstance(values, list):
        values = [values]
    if len(values) != n:
        raise _EntryError(f"{len(values)} values for {n} parameter combinations")

    def column(key: str) -> list | None:
        v = col.get(key)
        if v is None:
            return None
        if not isinstance(v, list) or len(v) != n:
            got = f"{len(v)} values" if isinstance(v, list) else f"a JSON {_json_type(v)}"
            raise _EntryError(f"column {key!r} holds {got} for {n} parameter combinations")
        return v

    ci_a, ci_b = column("stats_ci_99_a"), column("stats_ci_99_b")
    q25, q75 = column("stats_q_25"), column("stats_q_75")
    numbers, repeats, samples = column("stats_number"), column("stats_repeat"), column("samples")
    version = col.get("version", binfo.get("version"))
    version = None if version is None else str(version)
    unit = binfo.get("unit")
    unit = unit if isinstance(unit, str) else None
    nonneg = btype in NONNEGATIVE_TYPES

    rows: list[Row] = []
    skipped: list[str] = []
    for i, combo in enumerate(combos):
        try:
            row = Row(name, combo, machine, env, commit, date,
                      _value(values[i], btype, nonneg), unit, version,
                      _pair(ci_a, ci_b, i, "stats_ci_99"), _pair(q25, q75, i, "stats_q"),
                      _count(numbers, i, "stats_number"), _count(repeats, i, "stats_repeat"),
                      _samples(samples, i, btype, nonneg), btype)
        except _RowError as exc:
            label = f"{name}({', '.join(combo)})" if combo else name
            skipped.append(f"benchmark {label!r}: {exc}")
            continue
        rows.append(row)
    return rows, skipped


def _number(v: Any, what: str) -> float:
    if type(v) is float:
        return v
    if type(v) is int:
        try:
            return float(v)
        except OverflowError:
            raise _RowError(f"{what} {v} is out of range") from None
    raise _RowError(f"{what} {_short(v)} is a JSON {_json_type(v)}, not a number")


def _value(v: Any, btype: str, nonneg: bool) -> float | None:
    if v is None:
        return None
    v = _number(v, "value")
    if nonneg and v == v and (v < 0 or v == math.inf):  # NaN (skipped) passes
        raise _RowError(f"{'negative' if v < 0 else 'infinite'} {btype} value {v!r}")
    return v


def _pair(a: list | None, b: list | None, i: int, what: str) -> tuple[float, float] | None:
    # asv writes inf bounds when a single sample gives no interval: keep them
    if a is None or b is None or a[i] is None or b[i] is None:
        return None
    return (_number(a[i], what), _number(b[i], what))


def _count(column: list | None, i: int, what: str) -> int | None:
    if column is None or column[i] is None:
        return None
    v = _number(column[i], what)
    if not v.is_integer():
        raise _RowError(f"{what} {v!r} is not a whole number")
    return int(v)


def _samples(column: list | None, i: int, btype: str,
             nonneg: bool) -> tuple[float, ...] | None:
    if column is None or column[i] is None:
        return None
    raw = column[i]
    if not isinstance(raw, list):
        raise _RowError(f"samples are a JSON {_json_type(raw)}, not a list")
    out = tuple(_number(s, "sample") for s in raw)
    if nonneg:
        for s in out:
            if not math.isfinite(s) or s < 0:
                raise _RowError(f"{'negative' if s < 0 else 'non-finite'} {btype} sample {s!r}")
    return out


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    for py, name in ((bool, "boolean"), (str, "string"), (dict, "object"), (list, "array"),
                     (int, "number"), (float, "number")):
        if isinstance(v, py):
            return name
    return type(v).__name__


def _short(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _benchmarks_info(path: Path, problems: list[_Problem]) -> dict[str, dict]:
    """``benchmarks.json`` (name -> unit, type, params, version), or ``{}`` if absent/bad."""
    if not path.is_file():
        return {}
    line = None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("top level is not an object")
    except json.JSONDecodeError as exc:
        line, reason = exc.lineno, f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    except (OSError, UnicodeDecodeError, ValueError, TypeError, RecursionError) as exc:
        reason = str(exc) or type(exc).__name__
    else:
        return {k: v for k, v in data.items() if k != "version" and isinstance(v, dict)}
    problems.append(_Problem(str(path), f"unreadable benchmarks.json ({reason})", line,
                             "units unknown, types from method names"))
    return {}


def _check_machine_json(path: Path, problems: list[_Problem]) -> None:
    """asv writes ``machine.json`` beside a machine's results; without a valid one
    ``asv publish`` does not know the machine. Its results still load (each file
    names its machine), but the gap is reported."""
    keep = "the machine's results still load"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(_Problem(str(path), "missing machine.json (run `asv machine`)", None,
                                 keep))
        return
    except OSError as exc:
        problems.append(_Problem(str(path), f"cannot read machine.json: {exc.strerror}", None,
                                 keep))
        return
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        problems.append(_Problem(str(path), f"machine.json is not UTF-8 text ({exc.reason})",
                                 raw.count(b"\n", 0, exc.start) + 1, keep))
        return
    except json.JSONDecodeError as exc:
        problems.append(_Problem(str(path), f"machine.json is not valid JSON ({exc.msg} at "
                                 f"line {exc.lineno}, column {exc.colno})", exc.lineno, keep))
        return
    except RecursionError:
        problems.append(_Problem(str(path), "machine.json is nested too deeply", None, keep))
        return
    if not isinstance(data, dict):
        problems.append(_Problem(str(path), f"machine.json is a JSON {_json_type(data)}, "
                                 "not an object", None, keep))
    elif type(data.get("version")) is not int or data["version"] != MACHINE_API_VERSION:
        problems.append(_Problem(str(path), f"machine.json api version "
                                 f"{data.get('version')!r}, expected {MACHINE_API_VERSION}",
                                 None, keep))


# --------------------------------------------------------------------------- cache


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class _NoGlobals(pickle.Unpickler):
    """The cache holds only tuples, lists, dicts, strings and numbers: refusing every
    global means a planted cache file cannot run code when read."""

    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a results cache")


class _Cache:
    """Parsed result files keyed by path relative to the results dir, mtime and size.

    One pickle per results directory under ``.benchwatch-cache/`` beside it. Rows are
    stored as tuples of field values, problems as (reason, line, consequence). The
    whole cache is dropped when ``benchmarks.json`` changes (it feeds unit, type and
    params), when its format or Row's fields change, or when it cannot be read.
    """

    def __init__(self, root: Path, file: Path, header: dict, entries: dict):
        self.root = root
        self.file = file
        self.header = header
        self.entries = entries
        self.dirty = False

    @classmethod
    def open(cls, root: Path, info_path: Path, cache_dir: Path | str | None) -> _Cache:
        resolved = root.resolve()
        if cache_dir is None:
            cache_dir = os.environ.get(CACHE_DIR_ENV) or resolved.parent / CACHE_DIRNAME
        directory = Path(cache_dir)
        digest = hashlib.sha256(str(resolved).encode("utf-8", "surrogateescape")).hexdigest()
        file = directory / f"results-{digest[:16]}.pickle"
        header = {"format": _CACHE_FORMAT, "fields": _FIELDS, "root": str(resolved),
                  "info": _stat(info_path)}
        entries: dict = {}
        try:
            with open(file, "rb") as handle:
                data = _NoGlobals(handle).load()
            if (isinstance(data, dict) and data.get("header") == header
                    and isinstance(data.get("files"), dict)):
                entries = data["files"]
        except Exception:  # noqa: BLE001 - a cache that cannot be read is rebuilt, never fatal
            entries = {}
        return cls(root, file, header, entries)

    def get(self, path: Path) -> tuple[list[Row] | None, list[_Problem]] | None:
        entry = self.entries.get(path.relative_to(self.root).as_posix())
        if entry is None:
            return None
        try:
            mtime_ns, size, rows, problems = entry
            if (mtime_ns, size) != _stat(path):
                return None
            return (None if rows is None else [Row(*values) for values in rows],
                    [_Problem(str(path), reason, line, consequence)
                     for reason, line, consequence in problems])
        except Exception:  # noqa: BLE001 - a damaged entry is re-parsed
            return None

    def put(self, path: Path, stat: tuple[int, int], rows: list[Row] | None,
            problems: list[_Problem]) -> None:
        self.entries[path.relative_to(self.root).as_posix()] = (
            stat[0], stat[1], None if rows is None else [_row_values(r) for r in rows],
            [(p.reason, p.line, p.consequence) for p in problems])
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically if anything changed; failing to is not an error."""
        if not self.dirty:
            return
        files = {rel: e for rel, e in self.entries.items() if (self.root / rel).is_file()}
        tmp = None
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{self.file.name}.", suffix=".tmp",
                                       dir=self.file.parent)
            with os.fdopen(fd, "wb") as handle:
                pickle.dump({"header": self.header, "files": files}, handle,
                            protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, self.file)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
