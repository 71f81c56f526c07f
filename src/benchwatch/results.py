"""The one asv results loader: ``results/<machine>/<hash>-<env>.json`` -> tidy rows.

asv (api version 2) writes one JSON file per (machine, commit, environment). Each
benchmark's entry is a list whose columns are named by the file's ``result_columns``
(``result``, ``params``, ``version``, ``started_at``, ``duration``, ``stats_ci_99_a``,
...; asv drops trailing empty columns). A parameterised benchmark stores one value per
combination of its ``params`` (lists of ``repr`` strings) in ``itertools.product`` order.

Values: ``None`` means the benchmark failed, ``NaN`` that it was skipped (asv's own
convention); both are kept as rows so an analysis can tell "absent" from "broken".

The loader is tolerant: a file that cannot be read, is not JSON, has an unknown
``version`` or a malformed entry is named in ``Loaded.problems`` and skipped; the rest
still loads. With ``strict=True`` the first problem raises ``UserError`` (exit 2).
Nothing else in benchwatch parses asv JSON.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import UserError

API_VERSION = 2


@dataclass(frozen=True)
class Row:
    """One measured value: a benchmark at one parameter combination, on one machine,
    in one asv environment, at one commit.

    ``params`` holds asv's repr strings (``"10"``, ``"'MLP'"``), ``()`` for a plain
    benchmark. ``date`` is the commit date in ms since the epoch (asv's ``date``).
    ``value`` is ``None`` when the benchmark failed and NaN when it was skipped.
    The statistics fields are ``None`` when asv did not record them.
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


@dataclass(frozen=True)
class Loaded:
    rows: tuple[Row, ...]
    problems: tuple[str, ...]  # "path: reason", one per skipped file or entry
    files: int  # result files read successfully


def load(results_dir: Path | str, *, machine: str | None = None,
         commit: str | None = None, strict: bool = False) -> Loaded:
    """Every result row under ``results_dir`` (optionally one machine / commit prefix).

    Units come from ``results_dir/benchmarks.json`` when present.
    """
    root = Path(results_dir)
    if not root.is_dir():
        raise UserError("results directory not found", path=str(root))
    problems: list[str] = []
    info = _benchmarks_info(root / "benchmarks.json", problems, strict)
    rows: list[Row] = []
    files = 0
    for machine_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if machine is not None and machine_dir.name != machine:
            continue
        for path in sorted(machine_dir.glob("*.json")):
            if path.name == "machine.json":
                continue
            if commit is not None and not path.name.startswith(commit[:8]):
                continue
            file_rows = load_file(path, info, problems=problems, strict=strict)
            if file_rows is None:
                continue
            files += 1
            rows.extend(r for r in file_rows if commit is None or r.commit.startswith(commit))
    return Loaded(tuple(rows), tuple(problems), files)


def load_file(path: Path | str, info: dict[str, dict] | None = None, *,
              problems: list[str] | None = None, strict: bool = False) -> list[Row] | None:
    """The rows of one result file, or ``None`` (with a problem recorded) if unusable."""
    path = Path(path)
    problems = problems if problems is not None else []
    info = info or {}

    def problem(reason: str) -> None:
        if strict:
            raise UserError(reason, path=str(path))
        problems.append(f"{path}: {reason}")

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        problem(f"cannot read result file: {exc.strerror}; skipped")
        return None
    except (UnicodeDecodeError, ValueError) as exc:
        problem(f"not a valid JSON result file ({exc}); skipped")
        return None
    if not isinstance(data, dict):
        problem("not an asv result file (top level is not an object); skipped")
        return None
    version = data.get("version")
    if version != API_VERSION:
        hint = "; run `asv update` to convert it" if version == 1 else ""
        problem(f"asv result api version {version!r}, expected {API_VERSION}{hint}; skipped")
        return None
    try:
        columns = list(data["result_columns"])
        results = data["results"]
        commit = str(data["commit_hash"])
        env = str(data.get("env_name") or path.stem.split("-", 1)[-1])
        machine = str((data.get("params") or {}).get("machine") or path.parent.name)
        date = data.get("date")
        date = int(date) if date is not None else None
        if not isinstance(results, dict):
            raise TypeError("'results' is not an object")
    except (KeyError, TypeError, ValueError) as exc:
        problem(f"malformed asv result file ({type(exc).__name__}: {exc}); skipped")
        return None

    rows: list[Row] = []
    for name, entry in results.items():
        try:
            rows.extend(_entry_rows(name, entry, columns, info.get(name, {}),
                                    machine, env, commit, date))
        except (TypeError, ValueError, IndexError) as exc:
            problem(f"benchmark {name!r}: malformed entry ({exc}); skipped")
    return rows


def _entry_rows(name: str, entry: Any, columns: list[str], info: dict, machine: str,
                env: str, commit: str, date: int | None) -> Iterable[Row]:
    if not isinstance(entry, list):
        raise TypeError("entry is not a list")
    col = dict(zip(columns, entry))
    params = col.get("params")
    if params is None:
        params = info.get("params") or []
    params = [[str(v) for v in axis] for axis in params]
    combos = list(itertools.product(*params)) if params else [()]
    values = col.get("result")
    if values is None:
        values = [None] * len(combos)
    elif not isinstance(values, list):
        values = [values]
    if len(values) != len(combos):
        raise ValueError(f"{len(values)} values for {len(combos)} parameter combinations")

    def per(key: str) -> list:
        v = col.get(key)
        return v if isinstance(v, list) and len(v) == len(combos) else [None] * len(combos)

    ci_a, ci_b, q25, q75 = per("stats_ci_99_a"), per("stats_ci_99_b"), \
        per("stats_q_25"), per("stats_q_75")
    number, repeat, samples = per("stats_number"), per("stats_repeat"), per("samples")
    version = col.get("version", info.get("version"))
    for i, combo in enumerate(combos):
        yield Row(
            benchmark=name, params=tuple(combo), machine=machine, env=env, commit=commit,
            date=date, value=_num(values[i]), unit=info.get("unit"),
            version=None if version is None else str(version),
            ci_99=_pair(ci_a[i], ci_b[i]), quartiles=_pair(q25[i], q75[i]),
            number=None if number[i] is None else int(number[i]),
            repeat=None if repeat[i] is None else int(repeat[i]),
            samples=None if samples[i] is None else tuple(float(s) for s in samples[i]),
        )


def _num(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"value {value!r} is not a number")
    return float(value)


def _pair(a: Any, b: Any) -> tuple[float, float] | None:
    if a is None or b is None:
        return None
    return (float(a), float(b))


def _benchmarks_info(path: Path, problems: list[str], strict: bool) -> dict[str, dict]:
    """``benchmarks.json`` (name -> unit, params, version), or ``{}`` if absent/bad."""
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise TypeError("top level is not an object")
    except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:
        if strict:
            raise UserError(f"unreadable benchmarks.json ({exc})", path=str(path)) from None
        problems.append(f"{path}: unreadable benchmarks.json ({exc}); units unknown")
        return {}
    return {k: v for k, v in data.items() if k != "version" and isinstance(v, dict)}
