#!/usr/bin/env python
"""Load test: benchwatch on a history of 10,000 commits x 500 series, in bounded memory.

    python scripts/load_test.py [--commits 10000] [--series 500] [--limit-gb 2]
                                [--shard-mb 10] [--timeout SECONDS]
                                [--keep DIR [--generate-only]]

Makes a git repository of ``--commits`` empty commits (``git fast-import``) and an asv
api-2 results directory with one result file per commit, with the generator of
``scripts/results_speed.py`` and the repository of ``scripts/site_speed.py`` (15 % of the
benchmarks parameterised over 6 combinations, time/track/peakmem, every 10th file with
raw samples, 1 % failed values; the number of benchmarks is chosen so the files hold
about ``--series`` series). Then it runs each step in its OWN subprocess, one after the
other, so that each step's peak memory is its own:

1. ``results.load`` with an empty cache directory (parses every file, writes the cache);
2. ``results.load`` again (warm: every file from the cache);
3. ``benchwatch gate`` between the last two commits;
4. ``benchwatch changes`` (its change-point cache empty);
5. ``benchwatch site build --no-asv --pdf no`` into a fresh directory.

Per step it prints the wall time, the CPU time (user + system, this step's process and
the processes it waited for; on a shared machine the wall clock includes waiting for a
core), and two peak-memory figures: the kernel's high-water mark of the step's own
address space (``VmHWM`` in ``/proc/PID/status``, read every 50 ms: it only grows, so the
last reading misses at most the final 50 ms; ``os.wait4``'s ``ru_maxrss`` is not used,
because on Linux it survives ``exec`` and reports the forking parent's size when that is
larger) and the largest sum of RSS over the step's process tree, sampled every 50 ms with
psutil (the two differ when the step runs processes side by side). A step passes when it exits as
expected and both figures are below ``--limit-gb``; ``--timeout`` kills a step that
runs longer (exit -9 in the table) and fails it.

Then it checks that the site has no monolithic data file: one shard per benchmark under
``data/benchmarks/``, no file under ``data/`` above ``--shard-mb``, and every data file
that is not a shard (``dashboard.json`` and the rest) holds aggregates only: at most
``aggregate_bound`` values (a few per commit plus a few per series).

Exit status: 0 when every step and check passed, 1 otherwise. Nothing here is run by the
test suite (``tests/test_load.py`` is its small, fast counterpart).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

import site_speed

ROOT = Path(__file__).resolve().parents[1]
GB = 1e9


@dataclass(frozen=True)
class Step:
    name: str
    returncode: int
    ok_codes: tuple[int, ...]
    wall_s: float
    cpu_s: float
    maxrss_bytes: int  # kernel: VmHWM of the step's own process
    tree_peak_bytes: int  # psutil: the largest sampled sum over the process tree

    def passed(self, limit_bytes: float) -> bool:
        return (self.returncode in self.ok_codes and self.maxrss_bytes < limit_bytes
                and self.tree_peak_bytes < limit_bytes)


def _tree_rss(proc: psutil.Process) -> int:
    total = 0
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(name: str, argv: list[str], env: dict[str, str], logs: Path,
            ok_codes: tuple[int, ...] = (0,), timeout_s: float | None = None) -> Step:
    """Run ``argv`` as a child; its wall and CPU time and peak memory (see the module doc).
    Past ``timeout_s`` its process group is killed and the step fails (exit -9)."""
    stem = name.replace(" ", "_")
    with open(logs / f"{stem}.out", "wb") as out, open(logs / f"{stem}.err", "wb") as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, env=env, stdout=out, stderr=err, cwd=logs,
                                 start_new_session=True)
        proc = psutil.Process(child.pid)
        peak = hwm_kb = 0
        while True:
            hwm_kb = max(hwm_kb, _vm_hwm_kb(child.pid))  # before the child can be reaped
            # wait4, not Popen.wait: it returns this child's own CPU times
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _tree_rss(proc))
            if timeout_s is not None and time.perf_counter() - start > timeout_s:
                os.killpg(child.pid, 9)
                pid, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return Step(name, child.returncode, ok_codes, wall, usage.ru_utime + usage.ru_stime,
                hwm_kb * 1024, peak)


def _vm_hwm_kb(pid: int) -> int:
    """The process's resident high-water mark in KiB (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return next((int(line.split()[1]) for line in status
                         if line.startswith("VmHWM:")), 0)
    except (OSError, ValueError):
        return 0


LOAD = """\
import sys
from benchwatch import results
loaded = results.load(sys.argv[1], cache_dir=sys.argv[2])
print(f"{len(loaded.rows)} rows, {loaded.files} files, {len(loaded.problems)} problems")
"""


def leaves(doc) -> int:
    """Scalars in a JSON document: what a data file's size grows with."""
    if isinstance(doc, dict):
        return sum(leaves(v) for v in doc.values())
    if isinstance(doc, list):
        return sum(leaves(v) for v in doc)
    return 1


def aggregate_bound(commits: int, series: int) -> int:
    """The most scalars a file of aggregates may hold: a few per commit (the dashboard's
    index line) plus a few per series (its tables); one per (commit, series) is a
    monolithic file."""
    return 10 * (commits + series)


def site_checks(out: Path, n_bench: int, commits: int, series: int,
                shard_mb: float) -> list[tuple[str, bool]]:
    data = out / "data"
    files = [p for p in data.rglob("*") if p.is_file()]
    shards = list((data / "benchmarks").glob("*.json"))
    largest = max(files, key=lambda p: p.stat().st_size)
    checks = [
        (f"one shard per benchmark: {len(shards)} shards, {n_bench} benchmarks",
         len(shards) == n_bench),
        ((f"largest data file {largest.relative_to(out)}: "
          f"{largest.stat().st_size / 1e6:.2f} MB (bound {shard_mb:g} MB)"),
         largest.stat().st_size < shard_mb * 1e6),
    ]
    bound = aggregate_bound(commits, series)
    for path in sorted(p for p in files if p.parent != data / "benchmarks"):
        n = leaves(json.loads(path.read_text()))
        label = (f"{path.relative_to(out)}: {path.stat().st_size / 1e6:.3f} MB, {n:,} "
                 f"values (aggregates only: bound {bound:,}; one per commit and series "
                 f"would be {commits * series:,})")
        checks.append((label, n <= bound))
    return checks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commits", type=int, default=10_000)
    p.add_argument("--series", type=int, default=500)
    p.add_argument("--limit-gb", type=float, default=2.0,
                   help="peak memory bound of every step (default 2)")
    p.add_argument("--shard-mb", type=float, default=10.0,
                   help="bound on the size of any file under the site's data/ (default 10)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="kill a step that runs longer, and fail it (default: no limit)")
    p.add_argument("--keep", type=Path,
                   help="write everything here and keep it; a DIR of an earlier run is "
                        "reused (its repository and results, not its caches)")
    p.add_argument("--generate-only", action="store_true",
                   help="write the repository and results (into --keep) and stop")
    args = p.parse_args(argv)
    limit = args.limit_gb * GB

    with tempfile.TemporaryDirectory(prefix="load-test-") as tmp:
        base = (args.keep or Path(tmp)).resolve()
        base.mkdir(parents=True, exist_ok=True)
        logs = base / "logs"
        logs.mkdir(exist_ok=True)
        start_s = 1_600_000_000
        t = time.perf_counter()
        results = base / "results"
        n_bench, n_series = site_speed.benchmarks_for(args.series)
        if (base / "repo").is_dir() and results.is_dir():  # --keep DIR of an earlier run
            commits = subprocess.run(["git", "-C", str(base / "repo"), "rev-list",
                                      "--reverse", "main"], capture_output=True, text=True,
                                     check=True).stdout.split()
            files = len(list((results / "runner").glob("*-*.json")))
            if len(commits) != args.commits or files != args.commits:
                p.error(f"{base} holds {len(commits)} commits and {files} result files, "
                        f"not {args.commits}: use another --keep directory")
            print(f"reusing {base}: ", end="")
        else:
            commits = site_speed.make_repo(base / "repo", args.commits, start_s)
            site_speed.write_results(results, commits, n_bench, start_s)
        conf = base / "asv.conf.json"
        conf.write_text(json.dumps({
            "version": 1, "project": "load", "repo": "repo", "dvcs": "git",
            "branches": ["main"], "show_commit_url": "https://github.com/o/r/commit/",
            "results_dir": "results", "html_dir": "html"}))
        size = sum(f.stat().st_size for f in (results / "runner").iterdir())
        print(f"{len(commits)} commits x {n_bench} benchmarks ({n_series} series, "
              f"{len(commits) * n_series:,} values), {size / 1e6:.0f} MB of results, "
              f"{time.perf_counter() - t:.0f} s", flush=True)
        if args.generate_only:
            return 0
        os.sync()

        cache = base / "cache"
        for old in (cache, base / "site"):  # a reused --keep DIR starts cold, too
            shutil.rmtree(old, ignore_errors=True)
        for old in (base / "gate.json", base / "changes.json"):
            old.unlink(missing_ok=True)
        env = {**os.environ, "BENCHWATCH_CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1"}
        py = sys.executable
        bw = [str(Path(py).parent / "benchwatch")]  # the console script next to python
        common = ["--results-dir", str(results), "--repo", str(base / "repo")]
        out = base / "site"
        plan = [
            ("results load, cold cache", [py, "-c", LOAD, str(results), str(cache)], (0,)),
            ("results load, warm cache", [py, "-c", LOAD, str(results), str(cache)], (0,)),
            # 1 is a failed gate: a verdict, as good as a pass for this test
            ("gate, last two commits", [*bw, "gate", *common, commits[-2], commits[-1],
                                        "--format", "json", "--output",
                                        str(base / "gate.json")], (0, 1)),
            ("changes", [*bw, "changes", *common, "--format", "json", "--output",
                         str(base / "changes.json")], (0,)),
            ("site build --no-asv --pdf no", [*bw, "site", "build", *common, "--out", str(out),
                                              "--config", str(ROOT / "mkdocs.yml"),
                                              "--asv-config", str(conf), "--no-asv",
                                              "--pdf", "no"], (0,)),
        ]
        steps = []
        for name, cmd, ok in plan:
            print(f"running: {name} ...", file=sys.stderr, flush=True)
            steps.append(measure(name, cmd, env, logs, ok, args.timeout))
            s = steps[-1]
            print(f"  exit {s.returncode}, {s.wall_s:.1f} s wall, {s.cpu_s:.1f} s cpu, "
                  f"{s.maxrss_bytes / GB:.2f} GB", file=sys.stderr, flush=True)

        print(f"\n| step | exit | wall s | cpu s | peak RSS GB (kernel) | "
              f"peak RSS GB (tree, sampled) | limit {args.limit_gb:g} GB |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for s in steps:
            print(f"| {s.name} | {s.returncode} | {s.wall_s:.1f} | {s.cpu_s:.1f} | "
                  f"{s.maxrss_bytes / GB:.2f} | {s.tree_peak_bytes / GB:.2f} | "
                  f"{'PASS' if s.passed(limit) else 'FAIL'} |")
        for s in steps:
            if s.returncode not in s.ok_codes:
                tail = (logs / f"{s.name.replace(' ', '_')}.err").read_text(errors="replace")
                print(f"\n{s.name} exited {s.returncode}:\n{tail[-2000:]}")
        print((logs / "results_load,_cold_cache.out").read_text().strip())
        ok = all(s.passed(limit) for s in steps)
        verdict = json.loads((base / "gate.json").read_text())["verdict"] \
            if (base / "gate.json").is_file() else None
        print(f"gate verdict: {verdict}")
        ok = ok and verdict in ("pass", "fail")
        if (out / "data" / "benchmarks").is_dir():
            print()
            for label, good in site_checks(out, n_bench, len(commits), n_series,
                                           args.shard_mb):
                print(f"{'PASS' if good else 'FAIL'}  {label}")
                ok = ok and good
        else:
            print("FAIL  the site build wrote no data/benchmarks/")
            ok = False
        print(f"\n{'PASS' if ok else 'FAIL'}: {len(commits)} commits x {n_series} series")
        if args.keep is None:
            shutil.rmtree(base / "cache", ignore_errors=True)
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
