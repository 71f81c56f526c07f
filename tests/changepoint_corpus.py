"""A labelled corpus of synthetic benchmark histories for change-point detectors.

Each series is ``n_commits`` asv-like results in commit order. Per commit: ``samples``
raw timings (asv's ``--record-samples``), the stored value (their median) and asv's
99 % CI of the median (the order-statistic interval asv_runner computes; a test checks
it against ``asv_runner.statistics.compute_stats``). So a detector may use the values
alone, the CIs, or the samples.

What is planted, per series (seeded, deterministic):

- 0 to 4 level shifts of 5-15 % (random sign), at least ``MIN_GAP`` commits apart and
  ``EDGE`` commits from either end; the label is the first commit at the new level;
- sample noise: lognormal with a coefficient of variation from the series' noise level
  (low 1-3 %, medium 3-6 %, high 6-10 %), plus 3 % of samples hit by a hiccup (x1.2-2);
- run-to-run drift that no run's own samples show: a slow AR(1) wander (phi 0.95,
  stationary SD 0.2-1 %) and an independent per-run offset (SD 0.5-1.5 %);
- outliers: 2 % of commits are disturbed runs (every sample x1.15-1.4, or 40 % of
  samples x1.3-2), and 0.5 % start a two-commit disturbed burst. They are not changes.

Scoring: a detected change counts when it lies within ``TOLERANCE`` commits of a planted
one (one-to-one matching, closest pairs first).
"""

from __future__ import annotations

import hashlib
import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _sp

NOISE_LEVELS = {"low": (0.01, 0.03), "medium": (0.03, 0.06), "high": (0.06, 0.10)}
SAMPLES_PER_COMMIT = 10
MIN_GAP = 25
EDGE = 15
TOLERANCE = 2
DAY_MS = 86_400_000
START_MS = 1_700_000_000_000


@dataclass(frozen=True)
class LabelledSeries:
    name: str
    noise_level: str  # low | medium | high
    cv: float  # coefficient of variation of one sample
    samples: np.ndarray  # (n_commits, samples per commit)
    values: np.ndarray  # median of the samples: asv's stored value
    ci_99: np.ndarray  # (n_commits, 2): asv's 99 % CI of the median
    change_points: tuple[int, ...]  # first commit at each new level
    outliers: tuple[int, ...]  # disturbed commits (not changes)

    def se(self) -> np.ndarray:
        """Each value's standard error from its samples (the SE of a median)."""
        from benchwatch.stats import se_of_median

        return np.array([se_of_median(s) for s in self.samples])


def asv_ci_ranks(n: int, alpha: float = 0.01) -> tuple[int | None, int | None]:
    """0-based ranks (a, b) of asv's order-statistic CI of the median of n samples
    (``asv_runner.statistics.quantile_ci``); ``None`` where asv's bound is infinite."""
    cdf = _sp.binom.cdf(np.arange(n), n, 0.5)
    below = np.flatnonzero(cdf <= alpha / 2)
    above = np.flatnonzero(cdf >= 1 - alpha / 2)
    return (int(below[-1]) if below.size else None, int(above[0]) if above.size else None)


def _positions(rng: np.random.Generator, n_commits: int, k: int) -> list[int]:
    for _ in range(1000):
        pos = sorted(int(p) for p in rng.integers(EDGE, n_commits - EDGE, size=k))
        if all(b - a >= MIN_GAP for a, b in itertools.pairwise(pos)):
            return pos
    raise ValueError(f"cannot place {k} changes {MIN_GAP} apart in {n_commits} commits")


def make_series(rng: np.random.Generator, *, n_commits: int = 300, noise_level: str = "medium",
                name: str = "series", n_changes: int | None = None) -> LabelledSeries:
    lo, hi = NOISE_LEVELS[noise_level]
    cv = float(rng.uniform(lo, hi))
    k = int(rng.integers(0, 5)) if n_changes is None else n_changes
    cps = _positions(rng, n_commits, k)
    log_level = np.full(n_commits, math.log(float(rng.uniform(1e-4, 1e-1))))
    for p in cps:
        step = float(rng.uniform(0.05, 0.15)) * (1 if rng.random() < 0.5 else -1)
        log_level[p:] += math.log1p(step)

    # run-to-run drift: slow AR(1) wander plus an independent offset per run
    phi, drift_sd = 0.95, float(rng.uniform(0.002, 0.01))
    shocks = rng.normal(0.0, drift_sd * math.sqrt(1 - phi * phi), n_commits)
    drift = np.empty(n_commits)
    drift[0] = rng.normal(0.0, drift_sd)
    for i in range(1, n_commits):
        drift[i] = phi * drift[i - 1] + shocks[i]
    offset = rng.normal(0.0, float(rng.uniform(0.005, 0.015)), n_commits)

    m = SAMPLES_PER_COMMIT
    sigma = math.sqrt(math.log1p(cv * cv))
    log_s = (log_level + drift + offset)[:, None] + rng.normal(-sigma * sigma / 2, sigma, (n_commits, m))
    hiccup = rng.random((n_commits, m)) < 0.03
    log_s += np.where(hiccup, np.log(rng.uniform(1.2, 2.0, (n_commits, m))), 0.0)

    disturbed = set(np.flatnonzero(rng.random(n_commits) < 0.02).tolist())
    for start in np.flatnonzero(rng.random(n_commits - 1) < 0.005):
        disturbed.update((int(start), int(start) + 1))
    for i in sorted(disturbed):
        if rng.random() < 0.5:
            log_s[i] += math.log(float(rng.uniform(1.15, 1.4)))
        else:
            hit = rng.random(m) < 0.4
            log_s[i, hit] += np.log(rng.uniform(1.3, 2.0, int(hit.sum())))

    samples = np.exp(log_s)
    srt = np.sort(samples, axis=1)
    a, b = asv_ci_ranks(m)
    if a is None or b is None:
        raise ValueError(f"asv's CI needs more than {m} samples per commit to be finite")
    ci = np.stack([srt[:, a], srt[:, b]], axis=1)
    return LabelledSeries(name, noise_level, cv, samples, np.median(samples, axis=1), ci,
                          tuple(cps), tuple(sorted(disturbed)))


def make_corpus(n_series: int, *, n_commits: int = 300, seed: int = 0) -> list[LabelledSeries]:
    """``n_series`` series, noise levels in turn (low, medium, high, low, ...)."""
    rng = np.random.default_rng(seed)
    levels = list(NOISE_LEVELS)
    return [make_series(rng, n_commits=n_commits, noise_level=levels[i % len(levels)],
                        name=f"s{i:04d}") for i in range(n_series)]


def commit_hash(series: str, i: int) -> str:
    return hashlib.sha1(f"{series}/{i}".encode()).hexdigest()


def to_rows(s: LabelledSeries, *, machine: str = "synthetic", env: str = "py3.11",
            with_samples: bool = True, n: int | None = None):
    """The series as ``benchwatch.results.Row`` objects (one per commit, a day apart)."""
    from benchwatch.results import Row

    n = len(s.values) if n is None else n
    return [Row(benchmark=f"synthetic.time_{s.name}", params=(), machine=machine, env=env,
                commit=commit_hash(s.name, i), date=START_MS + i * DAY_MS,
                value=float(s.values[i]), unit="seconds", version="1",
                ci_99=(float(s.ci_99[i, 0]), float(s.ci_99[i, 1])),
                samples=tuple(float(x) for x in s.samples[i]) if with_samples else None)
            for i in range(n)]


# ----------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: Score) -> Score:
        return Score(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def match(true: tuple[int, ...] | list[int], found: list[int], tolerance: int = TOLERANCE) -> Score:
    """One-to-one matching of detected to planted changes within ``tolerance`` commits."""
    pairs = sorted((abs(t - f), i, j) for i, t in enumerate(true) for j, f in enumerate(found)
                   if abs(t - f) <= tolerance)
    used_t, used_f = set(), set()
    for _, i, j in pairs:
        if i not in used_t and j not in used_f:
            used_t.add(i)
            used_f.add(j)
    tp = len(used_t)
    return Score(tp, len(found) - tp, len(true) - tp)
