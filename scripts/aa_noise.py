#!/usr/bin/env python
"""A/A noise of asv ``time_`` benchmarks: two result files of the same commit.

Run the same commit twice with ``asv run --record-samples`` (copying the results
file away between runs), then:

    python scripts/aa_noise.py RUN1.json RUN2.json

For every timed benchmark and parameter combination it prints the coefficient
of variation of each run's samples and the difference between the two runs'
medians, then the medians over all of them. A suite whose median CV is above the
gate's threshold cannot tell a regression of that size from noise.
Reads the files with benchwatch.results, the one asv results loader.
"""

from __future__ import annotations

import sys

import numpy as np

from benchwatch.results import load_file


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    runs = []
    for path in argv:
        problems: list[str] = []
        rows = load_file(path, problems=problems) or []
        for problem in problems:
            print(f"warning: {problem}", file=sys.stderr)
        runs.append({(r.benchmark, r.params): r for r in rows
                     if ".time_" in r.benchmark and r.samples})
    common = sorted(set(runs[0]) & set(runs[1]))
    if not common:
        print("no time_ benchmarks with samples in both files (use --record-samples)", file=sys.stderr)
        return 2
    cvs, diffs = [], []
    for key in common:
        a, b = (np.asarray(run[key].samples) for run in runs)
        cv_a, cv_b = a.std(ddof=1) / a.mean(), b.std(ddof=1) / b.mean()
        diff = np.median(b) / np.median(a) - 1
        cvs += [cv_a, cv_b]
        diffs.append(abs(diff))
        label = f"{key[0]}({', '.join(key[1])})"
        print(f"{label:70s} n={a.size:3d}/{b.size:<3d} cv {cv_a:6.1%} {cv_b:6.1%}  A/A median diff {diff:+7.1%}")
    print(f"{len(common)} benchmarks: median CV {np.median(cvs):.1%}, "
          f"median |A/A diff| {np.median(diffs):.1%}, max |A/A diff| {max(diffs):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
