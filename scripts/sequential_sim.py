#!/usr/bin/env python
"""Error rates of benchwatch's group-sequential A/B test, next to naive peeking.

    .venv/bin/python scripts/sequential_sim.py [N]        (default N = 2000 per cell)

Prints the 5-look designs (boundaries, alpha spent, inflation), the sample sizes for
two noise/MDE scenarios, and then, per design and scenario, N simulated experiments of:

- A/A, the sequential procedure (benchwatch.sequential.simulate): the false-positive
  rate of the whole procedure, looks and early stopping included;
- A/A, naive peeking: the same looks, each compared with 1.96 (a fixed-alpha p < 0.05);
- A/A, Welch's t compared with the z boundaries directly, without moving it to the z
  scale: what small early looks do to a normal-theory boundary;
- B = A x (1 + MDE), the sequential procedure: the power, and the average samples per
  arm used.

Each rate comes with its exact (Clopper-Pearson) 95 % interval. Samples are lognormal
with the scenario's CV; seeds are fixed, so the output is reproducible.
tests/test_sequential.py runs the same simulations at 400 experiments.
"""

from __future__ import annotations

import sys
import time

from scipy import stats as sp

from benchwatch import power, sequential

SCENARIOS = ((0.05, 0.05), (0.05, 0.02))  # (CV, MDE)
LOOKS, ALPHA, POWER = 5, 0.05, 0.8


def ci95(k: int, n: int) -> str:
    ci = sp.binomtest(k, n).proportion_ci(0.95, method="exact")
    return f"[{ci.low:6.2%}, {ci.high:6.2%}]"


def row(label: str, s: sequential.Simulation) -> str:
    return (f"  {label:<34} {s.rate:7.2%} {ci95(s.decisions, s.n_sims)}  "
            f"mean n {s.mean_n:6.1f}")


def main(argv: list[str]) -> int:
    n = int(argv[0]) if argv else 2000
    if n < 1:
        print("sequential_sim.py: N must be a positive integer", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    designs = [sequential.design(LOOKS, ALPHA, name, POWER) for name in sequential.SPENDINGS]
    print(f"Designs: {LOOKS} equally spaced looks, two-sided alpha {ALPHA}, power {POWER}\n")
    print(f"{'look':>4} {'t':>5} | " + " | ".join(
        f"{sequential.SPENDINGS[d.spending] + ' |z| >=':>20} {'alpha spent':>11}"
        for d in designs))
    for k in range(LOOKS):
        print(f"{k + 1:>4} {designs[0].fractions[k]:5.2f} | " + " | ".join(
            f"{d.boundaries[k]:20.4f} {d.alpha_spent[k]:11.6f}" for d in designs))
    print("inflation (max n / fixed n): " + ", ".join(
        f"{sequential.SPENDINGS[d.spending]} {d.inflation:.4f}" for d in designs))

    print(f"\n{n} simulated experiments per line; lognormal samples; seeds fixed\n")
    for cv, mde in SCENARIOS:
        n_fixed = power.sample_size_for_mde(cv, mde, ALPHA, POWER)
        print(f"CV {cv:.0%}, MDE {mde:.0%}: fixed-sample t-test needs {n_fixed} per arm "
              f"(achieved power {power.achieved_power(n_fixed, n_fixed, cv, mde, ALPHA):.4f})")
        for d in designs:
            n_max = sequential.max_sample_size(d, cv, mde)
            p = sequential.plan(d, n_max)
            name = sequential.SPENDINGS[d.spending]
            print(f" {name}: n_max {n_max} per arm, looks at n = "
                  f"{', '.join(map(str, p.sizes))}; boundaries "
                  f"{', '.join(f'{c:.3f}' for c in p.boundaries)}")
            aa = sequential.simulate_summary(n, d, n_max, cv, 0.0, seed=1)
            peek = sequential.simulate_summary(n, d, n_max, cv, 0.0, peeking=True, seed=1)
            raw = sequential._simulation(n, d, n_max, cv, 0.0, False, seed=1, raw_t=True)
            pw = sequential.simulate_summary(n, d, n_max, cv, mde, seed=2)
            print(row("A/A, sequential (false positives)", aa))
            print(row("A/A, naive peeking at 1.96", peek))
            print(row("A/A, Welch t vs z boundary (wrong)", raw))
            print(row(f"B +{mde:.0%}, sequential (power)", pw))
        print()
    print(f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
