#!/usr/bin/env python
"""How steady is this machine? Time a fixed unit of work over and over.

    python scripts/host_noise.py [SECONDS]      (default 20)

The work is a pure-Python loop of about a millisecond, with no memory traffic and no
other thread, so every variation in its time comes from the machine: frequency
scaling, steal time on a VM, a noisy neighbour on a sibling hyperthread. It prints
the median of each one-second slice and the spread of all timings. When the slices
fall into two levels far apart, no benchmark attribute can make a single run's
samples steady; only spreading samples over time (asv rounds, interleaved commits)
and comparing the two sides of a change under the same phases helps.
"""

from __future__ import annotations

import sys
import time

import numpy as np


def unit() -> int:
    total = 0
    for i in range(20_000):
        total += i
    return total


def main(argv: list[str]) -> int:
    try:
        seconds = float(argv[0]) if argv else 20.0
    except ValueError:
        print(f"host_noise.py: SECONDS must be a number, not {argv[0]!r}", file=sys.stderr)
        return 2
    if not 1 <= seconds <= 3600:
        print("host_noise.py: SECONDS must be between 1 and 3600", file=sys.stderr)
        return 2
    stamps, times = [], []
    start = time.perf_counter()
    while (now := time.perf_counter()) - start < seconds:
        t0 = time.perf_counter_ns()
        unit()
        times.append(time.perf_counter_ns() - t0)
        stamps.append(now - start)
    t = np.asarray(times, dtype=float) / 1e3
    slot = np.asarray(stamps).astype(int)
    medians = [float(np.median(t[slot == s])) for s in np.unique(slot)]
    p10, p50, p90 = np.percentile(t, [10, 50, 90])
    print(f"{t.size} timings of one work unit over {seconds:g} s")
    print("median per second (us): " + " ".join(f"{m:.0f}" for m in medians))
    print(f"p10 {p10:.0f} us  p50 {p50:.0f} us  p90 {p90:.0f} us  p90/p10 {p90 / p10:.2f}  "
          f"CV {t.std(ddof=1) / t.mean():.1%}")
    per_second = np.asarray(medians)
    print(f"per-second medians: min {per_second.min():.0f} us, max {per_second.max():.0f} us, "
          f"max/min {per_second.max() / per_second.min():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
