"""Rows of the results loader arranged as series in commit order.

Every analysis (compare, gate, changes, trends, calibrate) works on ``Series``:
one benchmark at one parameter combination, on one machine, in one asv
environment, at one benchmark version, with one row per commit in commit order.
A benchmark whose ``version`` changed starts a new series; values of different
versions are never compared.

Commit order comes from git when a repository is given (``git rev-list
--first-parent`` of its ``HEAD``, oldest first: the main-branch line), else from
each result's ``date`` (asv's commit date), ties broken by hash. This module must
not parse asv JSON; ``benchwatch.results`` does that.
"""

from __future__ import annotations

import math
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError
from .results import Row
from .rowstore import Rows

#: Units whose larger values are better. Everything else (seconds, bytes, ns,
#: counts, %) is worse when it goes up.
HIGHER_IS_BETTER_UNITS = frozenset({"ops/s", "x", "MB/s", "bool"})

_HEX = re.compile(r"[0-9a-fA-F]+")


def higher_is_better(benchmark: str, unit: str | None) -> bool:
    """Direction from the unit: throughput, speed-ups and MB/s are worse when down.

    ``track_`` benchmarks declare their unit (``track_x.unit = "ops/s"``); time
    and memory benchmarks never are higher-is-better.
    """
    return unit in HIGHER_IS_BETTER_UNITS


def kind(benchmark: str) -> str:
    """asv's benchmark type from the method name: time, timeraw, track, peakmem, mem."""
    method = benchmark.rsplit(".", 1)[-1]
    for prefix in ("timeraw", "time", "track", "peakmem", "mem"):
        if method.startswith(prefix + "_"):
            return prefix
    return "unknown"


@dataclass(frozen=True)
class Series:
    """One series in commit order. ``rows[i]`` is the result at ``commits[i]``."""

    benchmark: str
    params: tuple[str, ...]
    machine: str
    env: str
    version: str | None
    unit: str | None
    rows: Sequence[Row]  # a ``Rows`` view from ``build`` on loaded rows, else a tuple

    @property
    def key(self) -> tuple[str, tuple[str, ...], str, str]:
        return (self.benchmark, self.params, self.machine, self.env)

    @property
    def commits(self) -> tuple[str, ...]:
        if isinstance(self.rows, Rows):
            return self.rows.commits()
        return tuple(r.commit for r in self.rows)

    @property
    def dates(self) -> list[int | None]:
        """Each row's commit date (ms since the epoch), in commit order."""
        if isinstance(self.rows, Rows):
            return self.rows.dates()
        return [r.date for r in self.rows]

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.benchmark, self.unit)

    @property
    def kind(self) -> str:
        return kind(self.benchmark)

    def values(self) -> np.ndarray:
        """Values in commit order; NaN where the benchmark failed or was skipped."""
        if isinstance(self.rows, Rows):
            return self.rows.values()
        return np.array([r.value if r.ok else math.nan for r in self.rows], dtype=float)

    def label(self) -> str:
        return self.rows[0].label() if self.rows else self.benchmark

    def index_of(self, commit: str) -> int | None:
        commits = self.commits if isinstance(self.rows, Rows) else (r.commit for r in self.rows)
        for i, c in enumerate(commits):
            if c == commit:
                return i
        return None


def git_order(repo: Path | str, rev: str = "HEAD") -> list[str]:
    """Full hashes of ``rev``'s first-parent line, oldest first."""
    try:
        proc = subprocess.run(["git", "-C", str(repo), "rev-list", "--first-parent",
                               "--reverse", rev], capture_output=True, text=True, check=False)
    except OSError as exc:
        raise UserError(f"cannot run git: {exc.strerror}", path=str(repo)) from None
    if proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["git rev-list failed"])[-1]
        raise UserError(f"not a usable git repository ({msg})", path=str(repo))
    return proc.stdout.split()


def commit_order(rows: Iterable[Row], repo: Path | str | None = None) -> list[str]:
    """Every commit in ``rows``, oldest first.

    With ``repo``, commits on its first-parent line come first in git's order;
    commits git does not know (a PR head, a deleted branch) follow by date.
    """
    dates: dict[str, int] = {}
    pairs = rows.commit_dates() if isinstance(rows, Rows) else ((r.commit, r.date) for r in rows)
    for commit, date in pairs:
        d = date if date is not None else 0
        dates[commit] = min(d, dates.get(commit, d))
    by_date = sorted(dates, key=lambda c: (dates[c], c))
    if repo is None:
        return by_date
    line = [c for c in git_order(repo) if c in dates]
    known = set(line)
    return line + [c for c in by_date if c not in known]


def build(rows: Iterable[Row], repo: Path | str | None = None,
          order: Sequence[str] | None = None) -> list[Series]:
    """Group rows into series (key + benchmark version), each in commit order.

    If a commit holds two rows of one series (asv run twice), the later file wins:
    rows are taken in the order given, which for ``results.load`` is file order.
    """
    rows = rows if isinstance(rows, Rows) else list(rows)
    order = list(order) if order is not None else commit_order(rows, repo)
    rank = {c: i for i, c in enumerate(order)}
    if isinstance(rows, Rows):  # loaded rows: grouped by column, no row built
        out = [Series(*group) for group in rows.by_series(rank)]
    else:
        out = _group_rows(rows, rank)
    out.sort(key=lambda s: (s.benchmark, s.params, s.machine, s.env, s.version or ""))
    return out


def _group_rows(rows: list[Row], rank: dict[str, int]) -> list[Series]:
    """``build`` row by row: for rows given one by one (and the reference that
    ``Rows.by_series`` is tested against)."""
    groups: dict[tuple, dict[str, Row]] = {}
    for row in rows:
        if row.commit not in rank:
            continue
        groups.setdefault(row.key + (row.version,), {})[row.commit] = row
    out = []
    for (bench, params, machine, env, version), by_commit in groups.items():
        ordered = tuple(sorted(by_commit.values(), key=lambda r: rank[r.commit]))
        unit = next((r.unit for r in ordered if r.unit), None)
        out.append(Series(bench, params, machine, env, version, unit, ordered))
    return out


def resolve_commit(rows: Iterable[Row], ref: str) -> str:
    """The full hash in ``rows`` that ``ref`` (a full or 8+ digit prefix) names."""
    if not _HEX.fullmatch(ref or "") or len(ref) < 8:
        raise UserError(f"commit {ref!r}: give a full or abbreviated (at least 8 hex digits) "
                        "hash as it appears in the results")
    ref = ref.lower()
    commits = ({c for c, _ in rows.commit_dates()} if isinstance(rows, Rows)
               else {r.commit for r in rows})
    hits = sorted({c for c in commits if c.lower().startswith(ref)})
    if not hits:
        raise UserError(f"commit {ref} has no results in the results directory")
    if len(hits) > 1:
        raise UserError(f"commit {ref} is ambiguous: {', '.join(h[:12] for h in hits)}")
    return hits[0]
