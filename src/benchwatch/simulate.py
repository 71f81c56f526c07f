"""Simulated asv histories for the regression gate: how often it is right.

A simulated series is what asv produces for one benchmark:

- a main-branch history of ``HISTORY`` commits, each its own asv run;
- then BASE and HEAD measured by ``asv continuous`` in ``ROUNDS`` interleaved rounds;
- ``SAMPLES`` samples per commit (``SAMPLES / ROUNDS`` per round).

Noise is multiplicative. Every sample has log-normal noise of CV ``cv``; every round
of a run has a drift factor of CV ``drift * cv`` (a warmer machine, a neighbour on
the host), shared by BASE and HEAD within an interleaved round and independent
between the separate runs of the history. HEAD's true level is BASE's times
``1 + effect``.

``run_gate_sim`` feeds each series to the real gate code (``compare.compare_series``
on ``history.Series`` of real ``Row`` objects) and counts statuses. The confirm stage
is modelled as it runs in CI: inconclusive series get ``CONFIRM_ROUNDS`` more
interleaved rounds for BASE and HEAD, appended to their samples, and are decided
again with ``confirmed=True``.

``asv_rule`` is asv compare's rule on the same data, for contrast: a Mann-Whitney
p < 0.002 (asv's own ``asv._stats.is_different``) and a ratio beyond the 1.1x factor.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from . import compare, history
from .results import Row

HISTORY = 30
SAMPLES = 10
ROUNDS = 2
CONFIRM_ROUNDS = 6
DRIFT = 0.5


def _run(rng: np.random.Generator, level: float, cv: float, rounds: int, per_round: int,
         drifts: np.ndarray | None = None) -> np.ndarray:
    """Samples of one commit over ``rounds`` rounds (drift per round given or drawn)."""
    if drifts is None:
        drifts = rng.normal(0, DRIFT * cv, rounds)
    noise = rng.normal(0, cv, (rounds, per_round))
    return (level * np.exp(drifts[:, None] + noise)).ravel()


@dataclass
class SimSeries:
    history: list[np.ndarray]
    base: np.ndarray
    head: np.ndarray


def simulate(rng: np.random.Generator, cv: float, effect: float, level: float = 1e-3) -> SimSeries:
    per_round = SAMPLES // ROUNDS
    past = [_run(rng, level, cv, ROUNDS, per_round) for _ in range(HISTORY)]
    drifts = rng.normal(0, DRIFT * cv, ROUNDS)  # interleaved: both commits see them
    base = _run(rng, level, cv, ROUNDS, per_round, drifts)
    head = _run(rng, level * (1 + effect), cv, ROUNDS, per_round, drifts)
    return SimSeries(past, base, head)


def confirm_rounds(rng: np.random.Generator, sim: SimSeries, cv: float, effect: float,
                   level: float = 1e-3) -> SimSeries:
    per_round = SAMPLES // ROUNDS
    drifts = rng.normal(0, DRIFT * cv, CONFIRM_ROUNDS)
    more_base = _run(rng, level, cv, CONFIRM_ROUNDS, per_round, drifts)
    more_head = _run(rng, level * (1 + effect), cv, CONFIRM_ROUNDS, per_round, drifts)
    return SimSeries(sim.history, np.concatenate([sim.base, more_base]),
                     np.concatenate([sim.head, more_head]))


def to_series(sim: SimSeries, bench: str = "sim.Bench.time_x", unit: str = "seconds") -> history.Series:
    runs = sim.history + [sim.base, sim.head]
    rows = tuple(
        Row(benchmark=bench, params=(), machine="sim", env="e", commit=f"{i:040x}",
            date=i * 1000, value=float(np.median(s)), unit=unit,
            samples=tuple(float(x) for x in s))
        for i, s in enumerate(runs))
    return history.Series(bench, (), "sim", "e", None, unit, rows)


BASE = f"{HISTORY:040x}"
HEAD = f"{HISTORY + 1:040x}"


def gate_status(sim: SimSeries, threshold: float, *, confirmed: bool = False,
                n_boot: int = 2000) -> compare.Comparison:
    return compare.compare_series(to_series(sim), BASE, HEAD, threshold, confirmed=confirmed,
                                  n_boot=n_boot)


def asv_rule(sim: SimSeries, factor: float = 1.1) -> bool:
    """asv compare's verdict "worse" for this pair."""
    from asv import _stats  # asv compare's own test (asv 0.6 keeps it private)

    a, b = list(sim.base), list(sim.head)
    ratio = float(np.median(b) / np.median(a))
    different = _stats.is_different(a, b, None, None, p_threshold=0.002)
    return bool(different and ratio > factor)


@dataclass
class Outcome:
    n: int
    one_shot: Counter  # status -> count, before the confirm stage
    final: Counter  # status -> count, after it
    confirmed: int  # series that went through the confirm stage
    asv_flagged: int

    def rate(self, status: str, final: bool = True) -> float:
        return (self.final if final else self.one_shot)[status] / self.n


def run_gate_sim(cv: float, effect: float, n: int, *, threshold: float = 0.10, seed: int = 0,
                 n_boot: int = 2000, with_asv: bool = False) -> Outcome:
    rng = np.random.default_rng(seed)
    one, final = Counter(), Counter()
    confirmed = asv = 0
    for _ in range(n):
        sim = simulate(rng, cv, effect)
        c = gate_status(sim, threshold, n_boot=n_boot)
        one[c.status] += 1
        if c.inconclusive:
            confirmed += 1
            c = gate_status(confirm_rounds(rng, sim, cv, effect), threshold, confirmed=True,
                            n_boot=n_boot)
        final[c.status] += 1
        if with_asv:
            asv += asv_rule(sim)
    return Outcome(n, one, final, confirmed, asv)
