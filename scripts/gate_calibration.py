#!/usr/bin/env python
"""The regression gate's error rates on simulated asv histories, next to asv's rule.

    python scripts/gate_calibration.py [N]        (default N = 2000 series per cell)

For noise CVs of 1, 3, 5 and 10 % and true changes of 0 (A/A), +5 % and +10 %, it
simulates N series (benchwatch.simulate: 30 main-branch commits, then BASE and HEAD in
two interleaved rounds of 5 samples, per-round drift of half the CV) and runs the
real gate on each, with and without the confirm stage. It prints, per cell, the share
flagged as regression one-shot and after the confirm stage, the share classed noisy,
and the share asv's rule (Mann-Whitney p < 0.002 and ratio > 1.1) flags. Then it times
the gate on 500 series.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from benchwatch import simulate as gate_sim


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 2000
    if n < 1:
        print("gate_calibration.py: N must be a positive integer", file=sys.stderr)
        return 2
    print(f"{n} simulated series per cell; threshold 10 %; seed 0\n")
    print(f"{'CV':>4} {'true':>6} | {'flagged':>8} {'+confirm':>8} {'noisy':>7} "
          f"{'unchanged':>9} {'confirmed':>9} | {'asv rule':>8}")
    for cv in (0.01, 0.03, 0.05, 0.10):
        for effect in (0.0, 0.05, 0.10):
            o = gate_sim.run_gate_sim(cv, effect, n, seed=0, with_asv=True)
            print(f"{cv:4.0%} {effect:+6.0%} | {o.rate('regression', False):8.2%} "
                  f"{o.rate('regression'):8.2%} {o.rate('noisy'):7.2%} "
                  f"{o.rate('unchanged'):9.2%} {o.confirmed / n:9.1%} | "
                  f"{o.asv_flagged / n:8.2%}", flush=True)
    rng = np.random.default_rng(1)
    series = [gate_sim.to_series(gate_sim.simulate(rng, 0.03, 0.0), bench=f"sim.B.time_{i}")
              for i in range(500)]
    from benchwatch import compare

    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        out = compare.compare(series, gate_sim.BASE, gate_sim.HEAD)
        times.append(time.perf_counter() - t0)
    print(f"\ngate on {len(out)} series (10 samples a side, 30-commit history): median "
          f"{np.median(times):.2f} s of 5 runs (min {min(times):.2f}, max {max(times):.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
