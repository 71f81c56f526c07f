"""Loaded rows stored by column: one numpy array per field, not one object per value.

A history of 10,000 commits x 500 series holds five million values. As one ``Row``
object each they took 540-780 bytes a value (3.1-4.8 GB peak in
``scripts/load_test.py``); stored here they take about 75 bytes. ``Rows`` is a
read-only sequence of ``Row`` over the columns: indexing and iterating build ``Row``
objects on the fly, equal to what the loader returns for the same file, so every
analysis reads rows as before. The few places that would otherwise touch every row
(grouping into series, commit order, resolving a commit, the rows of one commit) use
its column methods instead.

Only ``benchwatch.results`` fills these columns; nothing here parses asv JSON.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


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
            object.__setattr__(self, "type", kind_of(self.benchmark))

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


@functools.cache
def kind_of(benchmark: str) -> str:
    # history imports this module; import it here, not at the top, to avoid a cycle
    from .history import kind

    return kind(benchmark)


#: What a row shares with every other row of its benchmark in one load:
#: (benchmark, params, unit, version, type). Stored once, referenced by index.
Head = tuple

# flag bits of one row
FAILED, HAS_CI, HAS_Q, HAS_SAMPLES = 1, 2, 4, 8
# columns of ``stats``; number and repeat are whole floats (asv's counts are read as
# floats first, so the float holds the count exactly), NaN when absent
CI_A, CI_B, Q25, Q75, NUMBER, REPEAT = range(6)
_NAN = math.nan
_new = object.__new__


class ChunkBuilder:
    """The rows of one result file, appended column by column as the file is parsed."""

    __slots__ = ("heads", "head_ids", "hid", "value", "flags", "stats", "flat", "ends")

    def __init__(self) -> None:
        self.heads: list[Head] = []
        self.head_ids: dict[Head, int] = {}
        self.hid: list[int] = []
        self.value: list[float] = []
        self.flags: list[int] = []
        self.stats: list[float] = []  # six per row
        self.flat: list[float] = []  # every row's samples, one after the other
        self.ends: list[int] = []  # where each row's samples end in ``flat``

    def head(self, head: Head) -> int:
        found = self.head_ids.get(head)
        if found is None:
            found = self.head_ids[head] = len(self.heads)
            self.heads.append(head)
        return found

    def add(self, hid: int, value: float | None, ci: tuple | None, q: tuple | None,
            number: int | None, repeat: int | None, samples: tuple | None) -> None:
        flags = 0
        if value is None:
            flags, value = FAILED, _NAN
        if ci is None:
            a = b = _NAN
        else:
            flags |= HAS_CI
            a, b = ci
        if q is None:
            c = d = _NAN
        else:
            flags |= HAS_Q
            c, d = q
        if samples is not None:
            flags |= HAS_SAMPLES
            self.flat.extend(samples)
        self.hid.append(hid)
        self.value.append(value)
        self.flags.append(flags)
        self.stats.extend((a, b, c, d, _NAN if number is None else number,
                           _NAN if repeat is None else repeat))
        self.ends.append(len(self.flat))

    def freeze(self) -> Chunk:
        return Chunk(self.heads, np.array(self.hid, dtype=np.int32),
                     np.array(self.value, dtype=np.float64),
                     np.array(self.flags, dtype=np.uint8),
                     np.array(self.stats, dtype=np.float64).reshape(-1, 6),
                     np.array(self.flat, dtype=np.float64),
                     np.array(self.ends, dtype=np.int64))


class Chunk:
    """The rows of one result file as columns; ``hid`` indexes ``heads``."""

    __slots__ = ("heads", "hid", "value", "flags", "stats", "flat", "ends")

    def __init__(self, heads: list[Head], hid: np.ndarray, value: np.ndarray,
                 flags: np.ndarray, stats: np.ndarray, flat: np.ndarray, ends: np.ndarray):
        self.heads, self.hid, self.value, self.flags = heads, hid, value, flags
        self.stats, self.flat, self.ends = stats, flat, ends

    def __len__(self) -> int:
        return len(self.hid)

    def to_plain(self) -> tuple:
        """Lists, tuples, strings, numbers and bytes only: what the results cache's
        unpickler (which refuses every global) can read back."""
        return (self.heads, *((a.dtype.str, a.tobytes()) for a in (
            self.hid, self.value, self.flags, self.stats, self.flat, self.ends)))

    @classmethod
    def from_plain(cls, plain: tuple) -> Chunk:
        heads, *arrays = plain
        hid, value, flags, stats, flat, ends = (np.frombuffer(raw, dtype=np.dtype(dt)).copy()
                                               for dt, raw in arrays)
        return cls([tuple(h) for h in heads], hid, value, flags, stats.reshape(-1, 6),
                   flat, ends)


class Heads:
    """Every distinct head of one load, each stored once. A chunk read from the cache
    brings its own copies of the names and versions (10,000 files x 500 heads took
    1.3 GB in ``scripts/load_test.py``); ``share`` swaps them for these as each chunk
    arrives."""

    __slots__ = ("items", "_ids")

    def __init__(self) -> None:
        self.items: list[Head] = []
        self._ids: dict[Head, int] = {}

    def share(self, chunk: Chunk) -> Chunk:
        """``chunk`` with ``hid`` indexing ``items`` and its own heads dropped."""
        local = []
        for h in chunk.heads:
            g = self._ids.get(h)
            if g is None:
                g = self._ids[h] = len(self.items)
                self.items.append(h)
            local.append(g)
        chunk.hid = np.array(local or [0], dtype=np.int32)[chunk.hid]
        chunk.heads = self.items
        return chunk


class Columns:
    """Every row of one load: the chunks of its files joined.

    ``run[i]`` indexes ``runs``, the (machine, env, commit, date) of the file that row
    ``i`` came from; rows are in file order, so a later file's row comes later. The
    chunks must have been passed through one ``Heads.share`` (``heads`` is its items).
    """

    __slots__ = ("heads", "runs", "sid", "run", "value", "flags", "stats", "flat", "starts",
                 "ends")

    def __init__(self, chunks: Sequence[Chunk], runs: Sequence[tuple], heads: Heads):
        shifted = []
        base = 0
        for chunk in chunks:
            shifted.append(chunk.ends + base)
            base += len(chunk.flat)
        self.heads = heads.items
        self.runs = tuple(runs)
        self.sid = _join([c.hid for c in chunks], np.int32)
        self.run = _join([np.full(len(c), i, dtype=np.int32) for i, c in enumerate(chunks)],
                         np.int32)
        self.value = _join([c.value for c in chunks], np.float64)
        self.flags = _join([c.flags for c in chunks], np.uint8)
        self.stats = (np.concatenate([c.stats for c in chunks]) if chunks
                      else np.empty((0, 6), dtype=np.float64))
        self.flat = _join([c.flat for c in chunks], np.float64)
        self.ends = _join(shifted, np.int64)
        self.starts = np.concatenate([[0], self.ends[:-1]]).astype(np.int64)

    def rows(self, idx: np.ndarray) -> Iterator[Row]:
        """The rows at ``idx``, built in blocks (numpy's ``tolist`` per block, not one
        scalar at a time)."""
        heads, runs, flat = self.heads, self.runs, self.flat
        for lo in range(0, len(idx), 4096):
            block = idx[lo:lo + 4096]
            for s, r, v, f, st, a, b in zip(
                    self.sid[block].tolist(), self.run[block].tolist(),
                    self.value[block].tolist(), self.flags[block].tolist(),
                    self.stats[block].tolist(), self.starts[block].tolist(),
                    self.ends[block].tolist()):
                row = _new(Row)
                d = row.__dict__
                bench, params, unit, version, btype = heads[s]
                d["benchmark"], d["params"] = bench, params
                d["machine"], d["env"], d["commit"], d["date"] = runs[r]
                # NaN as one shared object (``_NAN``) here and below, so two builds of
                # one row compare equal: a tuple compares items by identity first, and
                # NaN == NaN is false
                d["value"] = None if f & FAILED else (v if v == v else _NAN)
                d["unit"], d["version"] = unit, version
                if f & HAS_CI:
                    a_, b_ = st[CI_A], st[CI_B]
                    d["ci_99"] = (a_ if a_ == a_ else _NAN, b_ if b_ == b_ else _NAN)
                else:
                    d["ci_99"] = None
                if f & HAS_Q:
                    a_, b_ = st[Q25], st[Q75]
                    d["quartiles"] = (a_ if a_ == a_ else _NAN, b_ if b_ == b_ else _NAN)
                else:
                    d["quartiles"] = None
                n, k = st[NUMBER], st[REPEAT]
                d["number"] = None if n != n else int(n)
                d["repeat"] = None if k != k else int(k)
                if f & HAS_SAMPLES:
                    smp = flat[a:b].tolist()
                    d["samples"] = tuple(x if x == x else _NAN for x in smp) \
                        if any(x != x for x in smp) else tuple(smp)
                else:
                    d["samples"] = None
                d["type"] = btype
                yield row


def _join(parts: list[np.ndarray], dtype: Any) -> np.ndarray:
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.empty(0, dtype)


class Rows(Sequence):
    """A read-only sequence of ``Row`` over ``Columns`` (all rows, or those at ``idx``).

    Equal to any sequence holding equal rows in the same order (``loaded.rows == ()``),
    hashable like a tuple. Rows are built on access: hold on to a ``Row`` you need
    again rather than indexing twice in a hot loop.
    """

    __slots__ = ("_cols", "_idx")

    def __init__(self, cols: Columns, idx: np.ndarray | None = None):
        self._cols = cols
        self._idx = np.arange(len(cols.sid), dtype=np.int64) if idx is None else idx

    def __len__(self) -> int:
        return len(self._idx)

    def __getitem__(self, i):  # an int or a slice, as a tuple takes
        if isinstance(i, slice):
            return Rows(self._cols, self._idx[i])
        return next(self._cols.rows(self._idx[[i]]))

    def __iter__(self) -> Iterator[Row]:
        return self._cols.rows(self._idx)

    def __reversed__(self) -> Iterator[Row]:
        return self._cols.rows(self._idx[::-1])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (Rows, tuple, list)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return f"<Rows: {len(self)} rows>"

    # ---- column methods: what would otherwise build every row

    def commits(self) -> tuple[str, ...]:
        """Each row's commit, in order."""
        runs = self._cols.runs
        return tuple(runs[r][2] for r in self._cols.run[self._idx].tolist())

    def values(self) -> np.ndarray:
        """Each row's value; NaN where it failed, was skipped or is not finite."""
        v = self._cols.value[self._idx]
        bad = (self._cols.flags[self._idx] & FAILED).astype(bool) | ~np.isfinite(v)
        return np.where(bad, np.nan, v)

    def dates(self) -> list[int | None]:
        runs = self._cols.runs
        return [runs[r][3] for r in self._cols.run[self._idx].tolist()]

    def commit_dates(self) -> list[tuple[str, int | None]]:
        """(commit, date) of each result file these rows came from: every row's commit
        and date, without building the rows."""
        runs = self._cols.runs
        return [runs[r][2:] for r in np.unique(self._cols.run[self._idx]).tolist()]

    def at_commit(self, commit: str) -> Rows:
        """The rows measured at ``commit``."""
        hits = np.array([i for i, run in enumerate(self._cols.runs) if run[2] == commit],
                        dtype=np.int32)
        return Rows(self._cols, self._idx[np.isin(self._cols.run[self._idx], hits)])

    def by_series(self, rank: dict[str, int]) -> list[tuple]:
        """Rows grouped as ``history.build`` groups them: per (benchmark, params,
        machine, env, version), one row per commit in ``rank`` (the later file's row
        where a commit has two), in rank order. Returns (benchmark, params, machine,
        env, version, unit, Rows) per group, unsorted."""
        cols, idx = self._cols, self._idx
        run_rank = np.array([rank.get(run[2], -1) for run in cols.runs] or [0], dtype=np.int64)
        r = run_rank[cols.run[idx]]
        keep = r >= 0
        idx, r = idx[keep], r[keep]
        # a group: the head's (benchmark, params, version) with the run's (machine, env)
        bpv: dict[tuple, int] = {}
        head_group = np.array([bpv.setdefault((h[0], h[1], h[3]), len(bpv))
                               for h in cols.heads] or [0], dtype=np.int64)
        me: dict[tuple, int] = {}
        run_group = np.array([me.setdefault((run[0], run[1]), len(me)) for run in cols.runs]
                             or [0], dtype=np.int64)
        gid = head_group[cols.sid[idx]] * max(len(me), 1) + run_group[cols.run[idx]]
        order = np.lexsort((idx, r, gid))  # by group, then commit rank, then file order
        idx, r, gid = idx[order], r[order], gid[order]
        last = np.ones(len(idx), dtype=bool)  # the last row of each (group, commit)
        last[:-1] = (gid[1:] != gid[:-1]) | (r[1:] != r[:-1])
        idx, gid = idx[last], gid[last]
        bounds = np.flatnonzero(np.diff(gid)) + 1
        out = []
        for part in np.split(idx, bounds) if len(idx) else []:
            sids = cols.sid[part]
            first = cols.heads[sids[0]]
            run = cols.runs[cols.run[part[0]]]
            unit = next((cols.heads[s][2] for s in sids.tolist() if cols.heads[s][2]), None)
            out.append((first[0], first[1], run[0], run[1], first[3], unit,
                        Rows(cols, part)))
        return out
