"""The column store behind ``results.load``: ``Rows`` must read exactly like the tuple of
``Row`` objects the loader used to return, and its column methods (grouping into series,
commit order, one commit's rows) must agree with the row-by-row code they stand in for.
The row-by-row paths of ``history`` (given a plain list) are the slow reference."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from asvdata import Bench, entry, write_benchmarks, write_result
from test_results import METPY  # shared/ beside the checkout, else /work/shared

from benchwatch import history, results
from benchwatch.rowstore import ChunkBuilder, Columns, Heads, Row, Rows

C = [f"{i:02x}" * 20 for i in range(1, 9)]  # eight commit hashes


def _crafted(root: Path) -> Path:
    """Two machines, two environments, a parameterised benchmark, a version change,
    failed and skipped values, samples (NaN among a track benchmark's), a commit with
    no date order of its own (two commits on one date) and a file of no rows."""
    res = root / "results"
    res.mkdir()
    write_benchmarks(res, [Bench("m.S.time_grid", params=[["1", "2"], ["'a'", "'b'"]]),
                           Bench("m.S.time_plain"), Bench("m.S.track_hits", unit="count")])
    for machine in ("alpha", "beta"):
        for env in ("env-a", "env-b"):
            for i, commit in enumerate(C[:6]):
                version = "v1" if i < 3 else "v2"
                grid = [float(i + 1), math.nan if i == 2 else 2.0 * (i + 1),
                        None if i == 4 else 3.0, 4.5]
                write_result(res, machine, commit, 1_000 + min(i, 4) * 10, {
                    "m.S.time_grid": entry(grid, params=[["1", "2"], ["'a'", "'b'"]],
                                           version=version),
                    "m.S.time_plain": entry([0.5 + i], samples=[[0.5 + i, 0.6 + i, 0.4 + i]]),
                    "m.S.track_hits": entry([float(i)], samples=[[1.0, math.nan, 2.0]]),
                }, env=env)
    write_result(res, "alpha", C[6], 5_000, {}, env="env-a")  # a run that holds no row
    return res


def _same_series(fast: list, slow: list) -> None:
    assert len(fast) == len(slow)
    for a, b in zip(fast, slow):
        assert (a.benchmark, a.params, a.machine, a.env, a.version, a.unit) == \
               (b.benchmark, b.params, b.machine, b.env, b.version, b.unit)
        assert isinstance(a.rows, Rows) and isinstance(b.rows, tuple)
        assert repr(list(a.rows)) == repr(list(b.rows))
        assert a.commits == b.commits and a.dates == b.dates
        np.testing.assert_array_equal(a.values(), b.values())
        assert [a.index_of(c) for c in C] == [b.index_of(c) for c in C]


@pytest.mark.parametrize("source", ["crafted", "metpy"])
def test_grouping_by_column_equals_grouping_row_by_row(tmp_path, source):
    root = _crafted(tmp_path) if source == "crafted" else METPY
    loaded = results.load(root, cache=False)
    plain = list(loaded.rows)
    assert len(plain) == (4 * 6 * 6 if source == "crafted" else 7552)
    assert history.commit_order(loaded.rows) == history.commit_order(plain)
    _same_series(history.build(loaded.rows), history.build(plain))
    order = history.commit_order(plain)[::2]  # only some commits, in another order
    _same_series(history.build(loaded.rows, order=order[::-1]),
                 history.build(plain, order=order[::-1]))


def test_rows_read_like_the_tuple_they_replace(tmp_path):
    loaded = results.load(_crafted(tmp_path), cache=False)
    rows, plain = loaded.rows, tuple(loaded.rows)
    assert rows == plain and plain == rows and rows == list(plain) and rows != plain[1:]
    assert hash(rows) == hash(plain)
    assert rows[5] == plain[5] and rows[-1] == plain[-1]
    assert rows[3:9] == plain[3:9] and list(reversed(rows[3:9])) == list(reversed(plain[3:9]))
    at = next(i for i, r in enumerate(rows) if r.value is not None and math.isnan(r.value))
    first, again = rows[at], rows[at]  # two builds of one skipped row
    assert first is not again and first == again and not first.ok  # NaN is shared
    failed = [r for r in rows if r.value is None]
    assert len(failed) == 4 and all(r.params == ("2", "'a'") for r in failed)
    track = next(r for r in rows if r.benchmark == "m.S.track_hits")
    assert track.samples[0] == 1.0 and math.isnan(track.samples[1]) and track.type == "track"
    assert rows[0].number is None and next(r for r in rows if r.samples and
                                           r.type == "time").number == 1
    for commit in (C[0], C[4], C[6], "0" * 40):
        assert list(rows.at_commit(commit)) == [r for r in plain if r.commit == commit]
    assert results.Rows(rows._cols, np.empty(0, dtype=np.int64)) == ()
    assert history.resolve_commit(rows, C[3][:10]) == C[3]


def test_a_later_file_wins_a_commit_held_twice():
    """The loader refuses a second file of one (machine, env, commit); should rows of one
    commit still meet (they did in ``history.build`` by design), the later one wins."""
    chunks, heads = [], Heads()
    for value in (1.0, 2.0, 3.0):
        b = ChunkBuilder()
        b.add(b.head(("m.S.time_x", (), "seconds", "v1", "time")), value, None, None,
              None, None, None)
        chunks.append(heads.share(b.freeze()))
    runs = [("box", "env", C[0], 10), ("box", "env", C[1], 20), ("box", "env", C[0], 30)]
    rows = Rows(Columns(chunks, runs, heads))
    assert len(heads.items) == 1
    (fast,) = history.build(rows)
    (slow,) = history.build(list(rows))
    assert fast.values().tolist() == slow.values().tolist() == [3.0, 2.0]
    assert fast.commits == slow.commits == (C[0], C[1])


def test_cache_round_trip_keeps_every_column(tmp_path, monkeypatch):
    monkeypatch.setenv(results.CACHE_DIR_ENV, str(tmp_path / "cache"))
    root = _crafted(tmp_path)
    cold, warm = results.load(root), results.load(root)
    assert repr(list(cold.rows)) == repr(list(warm.rows))
    assert any(p.suffix == ".pickle" for p in (tmp_path / "cache").rglob("*"))


def test_bytes_per_row(tmp_path):
    """What made 10,000 commits x 500 series fit: 73 bytes of columns per row (sid 4,
    run 4, value 8, flags 1, six statistics 48, samples end 8) plus the samples."""
    loaded = results.load(_crafted(tmp_path), cache=False)
    cols = loaded.rows._cols
    per_row = sum(getattr(cols, name).nbytes for name in
                  ("sid", "run", "value", "flags", "stats", "ends")) / len(loaded.rows)
    assert per_row == 73
    assert cols.flat.nbytes == 8 * 3 * 2 * 24  # 3 samples, 2 benchmarks, 24 files
    assert len(cols.heads) == 4 + 4 + 1 + 1  # grid at v1 and v2 (4 combos each), plain, track


def test_counts_too_large_for_a_float_are_read_as_floats(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    e = entry([1.0])
    e[9], e[10] = [2 ** 60 + 1], [7]
    write_result(res, "box", C[0], 1_000, {"m.S.time_x": e})
    (row,) = results.load(res, cache=False).rows
    assert row.number == 2 ** 60 and row.repeat == 7
    assert isinstance(row, Row)
