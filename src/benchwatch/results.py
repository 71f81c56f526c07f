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

A missing or invalid ``machine.json`` is reported too, but that machine's results
still load (each file names its machine). Each skip is named in ``Loaded.problems`` (``"path: reason; skipped"``). With
``strict=True`` the first problem raises ``UserError`` (exit 2) instead.

Parsed files are cached (keyed by path, mtime and size) in the user's cache
directory (``benchwatch.paths.cache_root``), never beside or inside the results; a
cache that cannot be read is rebuilt. Nothing else in benchwatch parses asv JSON.
"""

from __future__ import annotations

import functools
import gc
import itertools
import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import UserError
from .rowstore import Chunk, ChunkBuilder, Columns, Heads, Row, Rows, kind_of

API_VERSION = 2
MACHINE_API_VERSION = 1  # asv's Machine.api_version, the "version" of machine.json

#: Benchmark types that measure seconds or bytes: a negative or infinite value (or
#: sample) is corrupt data, not a measurement. ``track_`` values may be anything.
NONNEGATIVE_TYPES = frozenset({"time", "timeraw", "mem", "peakmem"})

#: Environment variable naming the cache directory (``benchwatch.paths.cache_root``).
CACHE_DIR_ENV = "BENCHWATCH_CACHE_DIR"
#: Bump when parsing rules change, so caches written by older code are rebuilt.
_CACHE_FORMAT = 4


@dataclass(frozen=True)
class Run:
    """One result file as a whole: one asv run of one commit in one environment.

    ``duration`` is the run's wall time in seconds as asv recorded it: every benchmark
    entry's ``duration`` column plus the file's ``durations`` (the environment build and
    each ``setup_cache``). ``None`` when the file records neither (asv before 0.5).
    """

    machine: str
    env: str
    commit: str
    date: int | None
    duration: float | None
    benchmarks: int


_RUN_FIELDS = tuple(f.name for f in fields(Run))


@dataclass(frozen=True)
class Loaded:
    rows: Sequence[Row]  # a ``Rows`` (stored by column) from ``load``
    problems: tuple[str, ...]  # "path: reason; skipped", one per skipped file, entry or row
    files: int  # result files read successfully
    runs: tuple[Run, ...] = ()  # one per result file read, in load order


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
    else ``~/.cache/benchwatch``) so a second load re-reads only new or changed files.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise UserError("results directory not found", path=str(root))
    # Millions of new objects and no reference cycles: the cyclic collector would only
    # walk the growing heap again and again.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(root, machine, commit, strict, cache, cache_dir)
    finally:
        if collecting:
            gc.enable()


def _load(root: Path, machine: str | None, commit: str | None, strict: bool, cache: bool,
          cache_dir: Path | str | None) -> Loaded:
    problems: list[_Problem] = []

    def check() -> None:
        if strict and problems:
            raise problems[0].error()

    info_path = root / "benchmarks.json"
    info = _benchmarks_info(info_path, problems)
    check()
    store = _Cache.open(root, info_path, cache_dir) if cache else None
    benches: dict[str, _Bench] = {}
    chunks: list[Chunk] = []
    heads = Heads()
    runs: list[Run] = []
    files = 0
    # (machine, env, commit) -> the file that gave it: asv writes one file per triple,
    # so a second (a copy under another name) would count that commit's values twice
    origin: dict[tuple[str, str, str], Path] = {}
    now_ms = int(time.time() * 1000)
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
            stat = _stat(path)
            hit = store.get(path, stat) if store is not None and stat is not None else None
            if hit is None:
                chunk, file_problems, run = _parse(path, info, benches)
                if store is not None and stat is not None:
                    store.put(path, stat, chunk, file_problems, run)
            else:
                chunk, file_problems, run = hit
            problems.extend(file_problems)
            check()
            if chunk is None:
                continue
            if run is not None:
                first = origin.setdefault((run.machine, run.env, run.commit), path)
                if first is not path:
                    problems.append(_Problem(
                        str(path), f"commit {run.commit[:12]} in environment {run.env!r} is "
                        f"already loaded from {first.name} (the same run under two names)"))
                    check()
                    continue
                if run.date is not None and run.date > now_ms + FUTURE_SLACK_MS:
                    problems.append(_Problem(
                        str(path), f"commit date {_iso(run.date)} is in the future", None,
                        "loaded; it orders after every other commit unless --repo gives "
                        "git's order"))
                    check()
            files += 1
            if run is not None and (commit is None or run.commit.startswith(commit)):
                runs.append(run)
                chunks.append(heads.share(chunk))
        if store is not None and commit is None:
            store.prune(machine_dir, paths)
    # a file's rows share its run's machine, env, commit and date: one chunk per run
    columns = Columns(chunks, [(r.machine, r.env, r.commit, r.date) for r in runs], heads)
    del chunks
    return Loaded(Rows(columns), tuple(str(p) for p in problems), files, tuple(runs))


def load_file(path: Path | str, info: dict[str, dict] | None = None, *,
              problems: list[str] | None = None, strict: bool = False) -> list[Row] | None:
    """The rows of one result file, or ``None`` (with a problem recorded) if unusable.

    Skipped entries and rows are recorded in ``problems``; the rest are returned.
    """
    chunk, found, run = _parse(Path(path), info or {})
    if strict and found:
        raise found[0].error()
    if problems is not None:
        problems.extend(str(p) for p in found)
    if chunk is None:
        return None
    heads = Heads()
    return list(Rows(Columns([heads.share(chunk)],
                             [(run.machine, run.env, run.commit, run.date)], heads)))


def _parse(path: Path, info: dict[str, dict],
           benches: dict[str, _Bench] | None = None
           ) -> tuple[Chunk | None, list[_Problem], Run | None]:
    """Rows (as columns), problems and the run of one result file; ``None`` rows (and
    run) when the file is unusable.

    ``benches`` carries what is known of each benchmark across the files of a load.
    """
    problems: list[_Problem] = []

    def skip(reason: str, line: int | None = None) -> tuple[None, list[_Problem], None]:
        problems.append(_Problem(str(path), reason, line))
        return None, problems, None

    data, unreadable = _read_json(path, "result file")
    if unreadable is not None:
        return skip(*unreadable)
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
        if not _MIN_DATE_MS <= date <= _MAX_DATE_MS:
            return skip(f"malformed asv result file: 'date' {date} ms is not a date between "
                        "the years 1 and 9999")
    env = data.get("env_name")
    env = env if isinstance(env, str) and env else path.stem.split("-", 1)[-1]
    params = data.get("params")
    machine = params.get("machine") if isinstance(params, dict) else None
    machine = machine if isinstance(machine, str) and machine else path.parent.name

    where = {c: i for i, c in enumerate(columns)}
    # positions of the columns the rows use; a missing column reads past any entry
    pos = tuple(where.get(c, _ABSENT) for c in _USED_COLUMNS)
    pos += (min(pos[3:]),)  # entries shorter than this hold no statistics
    ncols = len(columns)
    benches = {} if benches is None else benches
    rows = ChunkBuilder()
    for name, entry in results.items():
        bench = benches.get(name)
        if bench is None:
            bench = benches[name] = _Bench(name, info.get(name))
        try:
            row_problems = _entry_rows(rows, bench, entry, pos, ncols)
        except _EntryError as exc:
            problems.append(_Problem(str(path), f"benchmark {name!r}: malformed entry ({exc})"))
            continue
        if row_problems:
            problems.extend(_Problem(str(path), reason) for reason in row_problems)
    return rows.freeze(), problems, Run(machine, env, commit, date,
                               _run_duration(results, where.get("duration"), data),
                               len(results))


def _run_duration(results: dict, column: int | None, data: dict) -> float | None:
    """Seconds asv spent on this file's run (``Run.duration``); odd cells are ignored,
    since the duration is a summary, not a measurement any gate reads."""
    total, seen = 0.0, False
    if column is not None:
        for entry in results.values():
            x = entry[column] if type(entry) is list and column < len(entry) else None
            if type(x) in (int, float) and math.isfinite(x) and x >= 0:
                total += x
                seen = True
    extra = data.get("durations")
    if isinstance(extra, dict):
        for x in extra.values():
            if type(x) in (int, float) and math.isfinite(x) and x >= 0:
                total += x
                seen = True
    return total if seen else None


_USED_COLUMNS = ("result", "params", "version", "stats_ci_99_a", "stats_ci_99_b",
                 "stats_q_25", "stats_q_75", "stats_number", "stats_repeat", "samples")
_STAT_COLUMNS = _USED_COLUMNS[3:]
_ABSENT = 1 << 30
_PLAIN = [()]


class _Bench:
    """What a load knows of one benchmark across files: the facts of ``benchmarks.json``
    (checked once), and the last version string and params combinations seen. Equal
    ones are reused, so 5,000 files hold one copy of each instead of 5,000."""

    __slots__ = ("name", "nonneg", "params", "seen_combos", "seen_params", "seen_version",
                 "type", "unit", "version")

    def __init__(self, name: str, binfo: Any):
        binfo = binfo if isinstance(binfo, dict) else {}
        btype = binfo.get("type")
        if not isinstance(btype, str) or not btype:
            btype = kind_of(name)
        unit = binfo.get("unit")
        self.name = name
        self.params = binfo.get("params") or []
        self.unit = unit if isinstance(unit, str) else None
        self.version = binfo.get("version")
        self.type = btype
        self.nonneg = btype in NONNEGATIVE_TYPES
        self.seen_version: str | None = None
        self.seen_params: list | None = None
        self.seen_combos: list[tuple[str, ...]] = _PLAIN


def _entry_rows(rows: ChunkBuilder, bench: _Bench, entry: Any, pos: tuple,
                ncols: int) -> list[str] | None:
    """Append one benchmark entry's rows to ``rows``; return the reasons of rows skipped.

    Raises ``_EntryError`` (before appending any row) when the entry's shape is wrong.
    This runs for every row (1.75 M in scripts/results_speed.py's 5,000 files): the
    common cells (floats, int counts) are checked inline and only unusual ones go
    through the helpers.
    """
    if type(entry) is not list:
        raise _EntryError(f"a JSON {_json_type(entry)}, expected a list of columns")
    m = len(entry)
    if m > ncols:
        raise _EntryError(f"{m} columns, but result_columns names {ncols}")
    name, unit, btype, nonneg = bench.name, bench.unit, bench.type, bench.nonneg
    p_result, p_params, p_version = pos[0], pos[1], pos[2]
    params = entry[p_params] if p_params < m else None
    if params is None:
        params = bench.params
    if not params:
        combos = _PLAIN
    elif params == bench.seen_params:
        combos = bench.seen_combos
    else:
        if type(params) is not list or not all(type(axis) is list for axis in params):
            raise _EntryError("params is not a list of lists")
        axes = [[v if type(v) is str else str(v) for v in axis] for axis in params]
        combos = list(itertools.product(*axes))
        if axes == params:  # all strings: an equal list later means equal combinations
            bench.seen_params, bench.seen_combos = params, combos
    n = len(combos)
    values = entry[p_result] if p_result < m else None
    if values is None:
        values = [None] * n
    elif type(values) is not list:
        values = [values]
    if len(values) != n:
        raise _EntryError(f"{len(values)} values for {n} parameter combinations")
    version = entry[p_version] if p_version < m else bench.version
    if version is not None:
        if version == bench.seen_version:
            version = bench.seen_version
        else:
            if type(version) is not str:
                version = str(version)
            bench.seen_version = version
    ci_a = ci_b = q25 = q75 = numbers = repeats = samples = None
    if m > pos[-1]:  # asv drops trailing empty columns: track/failed entries stop early
        stats = []
        for p, key in zip(pos[3:-1], _STAT_COLUMNS):
            x = entry[p] if p < m else None
            if x is not None and (type(x) is not list or len(x) != n):
                got = f"{len(x)} values" if type(x) is list else f"a JSON {_json_type(x)}"
                raise _EntryError(f"column {key!r} holds {got} for {n} parameter combinations")
            stats.append(x)
        ci_a, ci_b, q25, q75, numbers, repeats, samples = stats
        if ci_a is None or ci_b is None:
            ci_a = ci_b = None
        if q25 is None or q75 is None:
            q25 = q75 = None

    skipped = None
    add, head = rows.add, rows.head
    heads = None
    if n == 1:
        hid, heads = head((name, combos[0], unit, version, btype)), None
    else:
        heads = [(name, c, unit, version, btype) for c in combos]
    for i in range(n):
        try:
            v = values[i]
            if type(v) is not float or (nonneg and not 0.0 <= v < _INF):
                v = _value(v, btype, nonneg)
            ci = q = num = rep = smp = None
            if ci_a is not None:
                a, b = ci_a[i], ci_b[i]
                ci = (a, b) if type(a) is float and type(b) is float else _pair(a, b,
                                                                                "stats_ci_99")
            if q25 is not None:
                a, b = q25[i], q75[i]
                q = (a, b) if type(a) is float and type(b) is float else _pair(a, b, "stats_q")
            if numbers is not None:
                num = numbers[i]
                if type(num) is not int or not -_EXACT <= num <= _EXACT:
                    num = _count(num, "stats_number")
            if repeats is not None:
                rep = repeats[i]
                if type(rep) is not int or not -_EXACT <= rep <= _EXACT:
                    rep = _count(rep, "stats_repeat")
            if samples is not None and samples[i] is not None:
                smp = _samples(samples[i], btype, nonneg)
        except _RowError as exc:
            label = f"{name}({', '.join(combos[i])})" if combos[i] else name
            skipped = skipped or []
            skipped.append(f"benchmark {label!r}: {exc}")
            continue
        add(head(heads[i]) if heads is not None else hid, v, ci, q, num, rep, smp)
    return skipped


_INF = math.inf
# asv's ``date`` is ms since the epoch; outside datetime's years 1..9999 (with a day to
# spare for time zones) every date conversion downstream would raise
_MIN_DATE_MS = -62_135_596_800_000 + 86_400_000
_MAX_DATE_MS = 253_402_300_799_000 - 86_400_000
#: a commit date this far ahead of the reader's clock is named (clock skew is allowed for)
FUTURE_SLACK_MS = 86_400_000
#: whole numbers a float64 column holds exactly; larger counts are read as floats
_EXACT = 2 ** 53


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
    if nonneg and not math.isnan(v) and not 0.0 <= v < _INF:  # NaN (skipped) passes
        raise _RowError(f"{'negative' if v < 0 else 'infinite'} {btype} value {v!r}")
    return v


def _pair(a: Any, b: Any, what: str) -> tuple[float, float] | None:
    # asv writes inf bounds when a single sample gives no interval: keep them
    if a is None or b is None:
        return None
    return (_number(a, what), _number(b, what))


def _count(v: Any, what: str) -> int | None:
    if v is None:
        return None
    v = _number(v, what)
    if not v.is_integer():
        raise _RowError(f"{what} {v!r} is not a whole number")
    return int(v)


def _samples(raw: Any, btype: str, nonneg: bool) -> tuple[float, ...]:
    if not isinstance(raw, list):
        raise _RowError(f"samples are a JSON {_json_type(raw)}, not a list")
    out = tuple(s if type(s) is float else _number(s, "sample") for s in raw)
    if nonneg:
        for s in out:
            if not 0.0 <= s < _INF:  # also true for NaN
                raise _RowError(f"{'negative' if s < 0 else 'non-finite'} {btype} sample {s!r}")
    return out


def _iso(date_ms: int) -> str:
    import datetime as dt

    when = dt.datetime.fromtimestamp(date_ms / 1000, dt.UTC)
    return when.strftime("%Y-%m-%d %H:%M UTC")


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


def benchmark_durations(results_dir: Path | str, machine: str,
                        commit: str) -> dict[str, float]:
    """Seconds asv spent on each benchmark at ``commit`` on ``machine`` (the entries'
    ``duration`` column, every environment's file; a later file wins). Used to budget
    reruns, so unreadable files and odd cells are left out rather than reported:
    ``load`` names them."""
    out: dict[str, float] = {}
    for path in sorted((Path(results_dir) / machine).glob(f"{commit[:8]}-*.json")):
        data, unreadable = _read_json(path, "result file")
        if unreadable is not None or not isinstance(data, dict):
            continue
        columns, entries = data.get("result_columns"), data.get("results")
        if not (isinstance(columns, list) and "duration" in columns
                and isinstance(entries, dict)) \
                or not str(data.get("commit_hash")).startswith(commit):
            continue
        i = columns.index("duration")
        for name, entry in entries.items():
            x = entry[i] if type(entry) is list and i < len(entry) else None
            if type(x) in (int, float) and math.isfinite(x) and x > 0:
                out[name] = float(x)
    return out


def benchmark_names(results_dir: Path | str) -> frozenset[str] | None:
    """The benchmarks the suite defines now: the names in ``benchmarks.json``, which asv
    rewrites from the benchmark code on every run. ``None`` when there is no readable
    file. A result missing for one of these is *missing*, not *removed*."""
    path = Path(results_dir) / "benchmarks.json"
    if not path.is_file():
        return None
    problems: list[_Problem] = []
    info = _benchmarks_info(path, problems)
    return None if problems else frozenset(info)


def param_axes(results_dir: Path | str) -> dict[str, tuple[tuple[str, ...],
                                                          tuple[tuple[str, ...], ...]]]:
    """Each benchmark's asv parameter names and value reprs from ``benchmarks.json``:
    name -> (param_names, values per axis). Benchmarks with odd entries are left out;
    an absent or unreadable file gives ``{}`` (``load`` reports it)."""
    out = {}
    for name, binfo in _benchmarks_info(Path(results_dir) / "benchmarks.json", []).items():
        names, values = binfo.get("param_names") or [], binfo.get("params") or []
        if (type(names) is list and type(values) is list and len(names) == len(values)
                and all(type(n) is str for n in names)
                and all(type(axis) is list for axis in values)):
            out[name] = (tuple(names), tuple(tuple(str(v) for v in axis) for axis in values))
    return out


def _benchmarks_info(path: Path, problems: list[_Problem]) -> dict[str, dict]:
    """``benchmarks.json`` (name -> unit, type, params, version), or ``{}`` if absent/bad."""
    if not path.is_file():
        return {}
    data, unreadable = _read_json(path, "file")
    if unreadable is None and not isinstance(data, dict):
        unreadable = (f"benchmarks.json is a JSON {_json_type(data)}, not an object", None)
    if unreadable is None:
        return {k: v for k, v in data.items() if k != "version" and isinstance(v, dict)}
    problems.append(_Problem(str(path), *unreadable, "units unknown, types from method names"))
    return {}


def _check_machine_json(path: Path, problems: list[_Problem]) -> None:
    """asv writes ``machine.json`` beside a machine's results; without a valid one
    ``asv publish`` does not know the machine. Its results still load (each file
    names its machine), but the gap is reported."""
    keep = "the machine's results still load"
    if not path.exists():
        problems.append(_Problem(str(path), "missing machine.json (run `asv machine`)", None,
                                 keep))
        return
    data, unreadable = _read_json(path, "file")
    if unreadable is None and not isinstance(data, dict):
        unreadable = (f"machine.json is a JSON {_json_type(data)}, not an object", None)
    if unreadable is None and (type(data.get("version")) is not int
                               or data["version"] != MACHINE_API_VERSION):
        version = data.get("version")
        unreadable = (f"machine.json api version {version!r}, expected {MACHINE_API_VERSION}",
                      None)
    if unreadable is not None:
        problems.append(_Problem(str(path), *unreadable, keep))


def _read_json(path: Path, noun: str) -> tuple[Any, tuple[str, int | None] | None]:
    """``(data, None)``, or ``(None, (reason, line))`` when ``path`` is not readable
    UTF-8 JSON; ``line`` where the fault has one. The one reader of asv's files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, (f"cannot read {noun}: {exc.strerror}", None)
    if not raw.strip():
        return None, (f"empty {noun}", None)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, (f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                      raw.count(b"\n", 0, exc.start) + 1)
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        where = f"at line {exc.lineno}, column {exc.colno}"
        return None, (f"not a valid JSON {noun} ({exc.msg} {where})", exc.lineno)
    except RecursionError:
        return None, (f"not a valid JSON {noun} (nested too deeply)", None)


# --------------------------------------------------------------------------- cache


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


@functools.cache
def _unpickler() -> type:
    """An Unpickler refusing every global (pickle is imported here, not at the top,
    to keep ``benchwatch --help`` fast). The cache holds only tuples, lists, strings,
    bytes and numbers, so a planted cache file cannot run code when read."""
    import pickle

    class NoGlobals(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a results cache")

    return NoGlobals


class _Cache:
    """Parsed result files, one small pickle per file, checked against the result file's
    mtime and size.

    ``<cache_dir>/results-<hash of the results path>/<machine>/<file>.pickle`` holds
    ``(header, mtime_ns, size, rows, problems, run)``: rows as ``Chunk.to_plain`` (each
    column's dtype and bytes), problems as (reason, line, consequence), the run as its
    field values. One file per result file means a new asv
    run writes one small entry instead of rewriting the whole cache. Entries are
    ignored when the header differs: the loader's cache format, Run's fields, or the
    stat of ``benchmarks.json`` (it feeds unit, type and params).
    """

    def __init__(self, root: Path, directory: Path, header: tuple):
        self.root = root
        self.directory = directory
        self.header = header

    @classmethod
    def open(cls, root: Path, info_path: Path, cache_dir: Path | str | None) -> _Cache:
        from .paths import cache_key, cache_root

        if cache_dir is None:
            cache_dir = cache_root()
        return cls(root, Path(cache_dir) / f"results-{cache_key(root)}",
                   (_CACHE_FORMAT, _RUN_FIELDS, _stat(info_path)))

    def _entry(self, path: Path) -> Path:
        return self.directory / path.parent.name / (path.name + ".pickle")

    def get(self, path: Path, stat: tuple[int, int]
            ) -> tuple[Chunk | None, list[_Problem], Run | None] | None:
        try:
            with open(self._entry(path), "rb") as handle:
                header, mtime_ns, size, rows, problems, run = _unpickler()(handle).load()
            if header != self.header or (mtime_ns, size) != stat:
                return None
            return (None if rows is None else Chunk.from_plain(rows),
                    [_Problem(str(path), reason, line, consequence)
                     for reason, line, consequence in problems],
                    None if run is None else Run(*run))
        except Exception:  # noqa: BLE001 - a missing or damaged entry means: parse the file
            return None

    def put(self, path: Path, stat: tuple[int, int], rows: Chunk | None,
            problems: list[_Problem], run: Run | None) -> None:
        """Write one entry atomically; failing to (read-only, full disk) is not an error."""
        import pickle
        import tempfile

        entry = self._entry(path)
        data = (self.header, stat[0], stat[1],
                None if rows is None else rows.to_plain(),
                [(p.reason, p.line, p.consequence) for p in problems],
                None if run is None else tuple(run.__dict__.values()))
        tmp = None
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{entry.name}.", suffix=".tmp", dir=entry.parent)
            with os.fdopen(fd, "wb") as handle:
                pickle.dump(data, handle, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, entry)
            tmp = None
        except OSError:
            pass
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass

    def prune(self, machine_dir: Path, paths: list[Path]) -> None:
        """Drop the entries of result files that are gone."""
        keep = {p.name + ".pickle" for p in paths}
        try:
            for entry in os.scandir(self.directory / machine_dir.name):
                if entry.name.endswith(".pickle") and entry.name not in keep:
                    os.unlink(entry.path)
        except OSError:
            pass


# --------------------------------------------------------------------------- publishing

def safe_benchmark_name(name: str) -> str:
    """``name`` with every character outside letters, digits, ``_`` and ``.`` as ``_``."""
    return "".join(ch if (ch.isascii() and (ch.isalnum() or ch in "_.")) else "_"
                   for ch in name)


def publishable_copy(src: Path | str, dst: Path | str) -> dict[str, str]:
    """Copy an asv results tree to ``dst`` with every benchmark name made inert.

    asv 0.6.6's own HTML builds its summary grid by pasting benchmark names into
    markup, so a benchmark named ``<img src=x onerror=alert(1)>`` (anyone can add one in
    a PR) runs as script on ``asv publish``'s pages. ``benchwatch site build`` publishes
    this copy instead: names outside ``[A-Za-z0-9_.]`` are renamed in
    ``benchmarks.json`` and in every result file (``_`` for each other character, and a
    numeric suffix if two names collide). Values, samples and everything else are kept.
    Returns ``{original: renamed}`` for the names that changed. The source tree is
    only read; this is the one place besides the loader that touches asv's JSON.
    """
    import shutil

    src, dst = Path(src), Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    info_path = dst / "benchmarks.json"
    names: set[str] = set()
    info: dict[str, Any] = {}
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = {}
        names |= {k for k in info if k != "version"}
    files = sorted(p for p in dst.glob("*/*.json") if p.name != "machine.json")
    datas = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # the loader names bad files; asv publish skips them too
        if isinstance(data, dict) and isinstance(data.get("results"), dict):
            datas[path] = data
            names |= set(data["results"])
    mapping: dict[str, str] = {}
    taken = {n for n in names if safe_benchmark_name(n) == n}
    for name in sorted(names - taken):
        base = safe = safe_benchmark_name(name)
        i = 2
        while safe in taken:
            safe, i = f"{base}_{i}", i + 1
        taken.add(safe)
        mapping[name] = safe
    if not mapping:
        return mapping
    if info:
        renamed = {}
        for key, value in info.items():
            new = mapping.get(key, key)
            if isinstance(value, dict) and key in mapping:
                value = {**value, "name": new}
            renamed[new] = value
        info_path.write_text(json.dumps(renamed), encoding="utf-8")
    for path, data in datas.items():
        if any(k in mapping for k in data["results"]):
            data["results"] = {mapping.get(k, k): v for k, v in data["results"].items()}
            path.write_text(json.dumps(data), encoding="utf-8")
    return mapping
