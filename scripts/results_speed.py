#!/usr/bin/env python
"""How fast ``benchwatch.results.load`` reads a big asv results directory.

    python scripts/results_speed.py [--files 5000] [--benchmarks 200] [--keep DIR]

Writes a synthetic asv api-2 results directory into a temporary directory (one
machine, one environment, ``--files`` commits of ``--benchmarks`` benchmarks: 15 %
parameterised over 2 x 3 combinations, 10 % ``track_``, 5 % ``peakmem_``, the rest
plain ``time_``; every 10th file carries raw samples as ``asv continuous`` does; the
files are compact JSON like asv's own). Then it times, in one process:

- two loads with ``cache=False`` (each parses every file);
- a first load with the cache on (parses every file and writes the cache);
- two warm loads (every file's mtime and size match the cache);
- a load after touching 1 % of the files (those re-parsed, the rest from the cache);

and checks that every load returned the same rows. It prints wall-clock and CPU
seconds of this process (on a busy machine the wall clock includes waiting for a
core); nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchwatch import results

COLUMNS = ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
           "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat",
           "samples", "profile"]
ENV = "virtualenv-py3.11-numba-numpy"
GRID = [["100", "10000", "1000000"], ["'float32'", "'float64'"]]


def _five(x: float) -> float:
    return float(f"{x:.4e}")  # asv keeps 5 significant digits of stats


def benchmark_table(count: int) -> dict[str, dict]:
    table = {}
    for i in range(count):
        suite = f"suite{i % 10}.Suite{i % 7}"
        share = i % 20
        if share < 3:
            name, kind, unit, params = f"{suite}.time_grid_{i}", "time", "seconds", GRID
        elif share < 5:
            name, kind, unit, params = f"{suite}.track_rate_{i}", "track", "ops/s", []
        elif share < 6:
            name, kind, unit, params = f"{suite}.peakmem_build_{i}", "peakmem", "bytes", []
        else:
            name, kind, unit, params = f"{suite}.time_op_{i}", "time", "seconds", []
        table[name] = {"name": name, "type": kind, "unit": unit, "params": params,
                       "param_names": ["size", "dtype"] if params else [],
                       "version": f"{i:064x}"}
    return table


def entry(info: dict, rng: random.Random, with_samples: bool) -> list:
    combos = 6 if info["params"] else 1
    values, ci_a, ci_b, q25, q75, samples = [], [], [], [], [], []
    for _ in range(combos):
        base = rng.uniform(1e-6, 1e-2) if info["type"] == "time" else rng.uniform(1, 1e6)
        if info["type"] == "peakmem":
            base = float(rng.randrange(1 << 20, 1 << 30))
        s = sorted(base * rng.lognormvariate(0, 0.05) for _ in range(10))
        values.append(_five(s[5]))
        ci_a.append(_five(s[1]))
        ci_b.append(_five(s[8]))
        q25.append(_five(s[2]))
        q75.append(_five(s[7]))
        samples.append(s)
    if rng.random() < 0.01:  # a failed benchmark now and then
        values[0] = None
    row = [values, info["params"], info["version"], 1700000000000, _five(rng.uniform(1, 20))]
    if info["type"] == "time":
        row += [ci_a, ci_b, q25, q75, [100] * combos, [10] * combos]
        if with_samples:
            row.append(samples)
    return row


def write_results(root: Path, files: int, benchmarks: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    table = benchmark_table(benchmarks)
    (root / "runner").mkdir(parents=True)
    (root / "benchmarks.json").write_text(json.dumps({**table, "version": 2}))
    (root / "runner" / "machine.json").write_text(json.dumps(
        {"machine": "runner", "arch": "x86_64", "cpu": "synthetic", "num_cpu": "2",
         "os": "Linux", "ram": "8000000", "version": 1}))
    for i in range(files):
        commit = f"{rng.getrandbits(160):040x}"
        data = {"commit_hash": commit, "env_name": ENV, "date": 1600000000000 + i * 3600_000,
                "params": {"machine": "runner", "python": "3.11"}, "python": "3.11",
                "requirements": {}, "env_vars": {}, "result_columns": COLUMNS,
                "results": {name: entry(info, rng, i % 10 == 0) for name, info in table.items()},
                "durations": {}, "version": 2}
        (root / "runner" / f"{commit[:8]}-{ENV}.json").write_text(json.dumps(data))


def timed(label: str, files: int, **kwargs) -> tuple[results.Loaded, float]:
    start, cpu = time.perf_counter(), time.process_time()
    loaded = results.load(kwargs.pop("root"), **kwargs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:34s} {seconds:6.2f} s wall {cpu:6.2f} s cpu {files / seconds:6.0f} files/s "
          f"{len(loaded.rows):8d} rows {len(loaded.problems)} problems")
    return loaded, seconds


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--files", type=int, default=5000)
    p.add_argument("--benchmarks", type=int, default=200)
    p.add_argument("--keep", type=Path, help="write the results here and keep them")
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="results-speed-") as tmp:
        base = args.keep or Path(tmp)
        root = base / "results"
        cache_dir = base / "cache"
        start = time.perf_counter()
        write_results(root, args.files, args.benchmarks)
        size = sum(f.stat().st_size for f in (root / "runner").iterdir())
        print(f"wrote {args.files} files x {args.benchmarks} benchmarks, {size / 1e6:.0f} MB, "
              f"in {time.perf_counter() - start:.1f} s")
        os.sync()  # so the loads below do not compete with writing the files back
        n = args.files
        plain, _ = timed("load, cache=False", n, root=root, cache=False)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux
        print(f"peak resident memory after this one load: {peak:.2f} GB")
        # the synthetic data holds no NaN, so Row equality is exact here
        same = []
        again, _ = timed("load, cache=False, again", n, root=root, cache=False)
        same.append(again.rows == plain.rows)
        del again
        first, _ = timed("load, cache on, first (writes it)", n, root=root, cache_dir=cache_dir)
        same.append(first.rows == plain.rows)
        del first
        os.sync()
        cache_files = [f for f in cache_dir.rglob("*") if f.is_file()]
        print(f"cache: {sum(f.stat().st_size for f in cache_files) / 1e6:.0f} MB "
              f"in {len(cache_files)} files")
        for label in ("load, cache on, warm", "load, cache on, warm, again"):
            warm, _ = timed(label, n, root=root, cache_dir=cache_dir)
            same.append(warm.rows == plain.rows)
            del warm
        touched = sorted((root / "runner").glob("*-*.json"))[:: 100]
        for path in touched:
            os.utime(path, ns=(time.time_ns(), time.time_ns()))
        partly, _ = timed(f"load, cache on, {len(touched)} files touched", n, root=root,
                          cache_dir=cache_dir)
        same.append(partly.rows == plain.rows)
        print(f"identical rows in all {len(same) + 1} loads: {all(same)}")
        same = all(same)
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
