"""A series' noise floor: how much it moves between commits that changed nothing.

The gate must not call run-to-run noise a regression. asv's samples of one run show
the spread *within* that run; they do not show the drift *between* runs (a warmer
machine, a neighbour on the host, a different memory layout after a rebuild). The
history does: consecutive main-branch commits are mostly A/A pairs.

``sigma`` is the robust standard deviation (1.4826 x MAD) of the log ratios of
consecutive commits older than BASE. A genuine level shift in the history is one
large difference among many; the MAD ignores it, so no change-point pass is needed
to exclude it. With fewer than ``MIN_PAIRS`` pairs the floor comes from the run's own
samples (the standard error of the log ratio of this comparison).

From ``sigma``:

- ``floor``: the change two separate A/A runs exceed with probability ``FP_ALPHA``
  (one-sided), ``exp(z(1 - FP_ALPHA) * sigma) - 1``. A change must be larger to be a
  regression. It is a guard against what the samples of one run cannot show, not the
  main defence against false alarms: that is the rule's requirement that the
  confidence interval reach the threshold (``benchwatch.rule``). ``FP_ALPHA`` = 2.5 %
  was chosen on the simulation harness (``scripts/gate_calibration.py``): at 0.1 %
  the floor, inflated by drift between separate runs that interleaved rounds cancel,
  classed 40 % of CV-3 % benchmarks as too noisy and caught 58 % of true +10 %
  regressions; at 2.5 % it catches 98 % with no A/A false alarm in 300.
- ``mde(se)``: the minimum detectable effect of one comparison whose log ratio has
  standard error ``se``: the change that lands beyond the floor with probability
  ``POWER``, ``exp(log(1 + floor) + z(POWER) * se) - 1``. A benchmark whose MDE is above
  its threshold cannot be gated at that threshold: it is ``noisy``.

The floor uses the history's spread, which includes drift between separate runs; the
power term uses the comparison's own standard error, because ``asv continuous``
interleaves BASE and HEAD rounds and so cancels most of that drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .stats import robust_sd

FP_ALPHA = 0.025
POWER = 0.9
MIN_PAIRS = 8

Z_FLOOR = NormalDist().inv_cdf(1 - FP_ALPHA)
Z_POWER = NormalDist().inv_cdf(POWER)


@dataclass(frozen=True)
class NoiseFloor:
    sigma: float  # robust SD of the log ratio between two A/A measurements
    source: str  # "history" | "samples" | "none"
    pairs: int  # consecutive pairs used (history)

    @property
    def floor(self) -> float:
        """Relative change (0.05 = 5 %) an A/A pair exceeds with probability FP_ALPHA."""
        return math.exp(Z_FLOOR * self.sigma) - 1 if math.isfinite(self.sigma) else math.nan

    def mde(self, se_log: float) -> float:
        """Relative change caught with probability POWER by a comparison with this
        standard error of the log ratio."""
        if not (math.isfinite(self.sigma) and math.isfinite(se_log)):
            return math.nan
        return math.exp(Z_FLOOR * self.sigma + Z_POWER * se_log) - 1


def from_history(values: np.ndarray) -> NoiseFloor | None:
    """Floor from per-commit values in commit order (NaN = failed, skipped)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size - 1 < MIN_PAIRS:
        return None
    diffs = np.diff(np.log(v))
    return NoiseFloor(robust_sd(diffs), "history", int(diffs.size))


def from_samples(se_log: float, run_sigma: float = math.nan, run_series: int = 0) -> NoiseFloor:
    """Floor without history: this comparison's own standard error of the log ratio,
    or the spread of the whole run (``run_spread``) when that is larger.

    The samples of one run cannot show a machine that changes speed between rounds
    (a neighbour on the host, site/asv-suite.md "Noise"). The other benchmarks of the
    same run can: most of them did not change, so the robust spread of their changes
    is this run's noise, an empirical null. A change every benchmark shares moves the
    median, not the spread, so a real across-the-board slowdown still stands out.
    """
    if math.isfinite(run_sigma) and (not math.isfinite(se_log) or run_sigma > se_log):
        return NoiseFloor(run_sigma, "run", run_series)
    if not math.isfinite(se_log):
        return NoiseFloor(math.nan, "none", 0)
    return NoiseFloor(se_log, "samples", 0)


#: Series a run needs for its spread to count as the noise of the run.
MIN_RUN_SERIES = 8


def run_spread(log_ratios: "np.ndarray | list[float]") -> float:
    """Robust SD of the log ratios of every series of one comparison; NaN when too few."""
    x = np.asarray(log_ratios, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < MIN_RUN_SERIES:
        return math.nan
    return robust_sd(x)
