"""The regression rule: when a change between BASE and HEAD is a regression.

A threshold of 10 % means "we care about slowdowns of 10 % or more". A rule that
fires only when the point estimate passes the threshold (asv's 1.1x factor) catches
a true 10 % slowdown half the time. benchwatch flags a regression when all three hold:

1. **significant**: the 95 % confidence interval of the ratio excludes 1;
2. **beyond the noise floor**: the change is larger than what consecutive A/A
   commits of this benchmark reach with probability 2.5 % (``benchwatch.noise``);
3. **plausibly at the threshold**: the interval's worse-side bound reaches the
   threshold (``hi95 >= 1 + T`` for a time). A true change of exactly T then passes
   with probability 97.5 %, and a true change of T/2 only when its estimate lands
   well above T/2.

A benchmark whose minimum detectable effect is above its threshold is ``noisy``:
reported, never passed silently and never failed on the strength of a change near the
threshold. Only a decisive change, whose whole 99 % interval lies beyond both the
threshold and the noise floor (a sixfold slowdown on a noisy machine), is still called a
regression or an improvement.

**The confirm stage.** A series is *inconclusive* when it is significant and its
interval straddles the threshold (``lo95 < 1 + T <= hi99``), or when its minimum
detectable effect is above the threshold while its history floor is below it: more
samples would settle it. After the confirm stage reran those benchmarks and appended the samples,
``confirmed=True`` decides with the 99 % interval: with several times the samples
the interval is narrow, so a true change of T passes with probability 99.5 % while
a change of T/2 rarely reaches it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .noise import NoiseFloor
from .stats import RatioEstimate

@dataclass(frozen=True)
class Decision:
    status: str  # regression | improvement | unchanged | noisy
    inconclusive: bool  # the confirm stage should rerun this series


def decide(est: RatioEstimate, higher_is_better: bool, threshold: float,
           floor: NoiseFloor, *, confirmed: bool = False) -> Decision:
    """Classify one comparison. ``threshold`` is relative (0.10 = 10 %)."""
    if not math.isfinite(est.lo95):
        # values only, no interval: no claim of significance can be made
        return Decision("noisy", False)
    # orient so that > 1 is worse; a drop of T in a higher-is-better series is 1/(1-T)
    if higher_is_better:
        ratio, lo95, hi95, lo99, hi99 = (1 / est.ratio, 1 / est.hi95, 1 / est.lo95,
                                         1 / est.hi99, 1 / est.lo99)
        limit = 1 / (1 - threshold) if threshold < 1 else math.inf
    else:
        ratio, lo95, hi95, lo99, hi99 = est.ratio, est.lo95, est.hi95, est.lo99, est.hi99
        limit = 1 + threshold
    mde = floor.mde(est.se_log)
    if math.isfinite(mde) and mde > threshold:
        # Too noisy to gate changes of size T. A change whose whole 99 % interval clears
        # both the threshold and the noise floor is decisive all the same: calling a
        # sixfold slowdown "noisy" would hide it.
        bar = max(limit, 1 + floor.floor) if math.isfinite(floor.floor) else math.inf
        if lo99 > bar:
            return Decision("regression", False)
        if hi99 < 1 / bar:
            return Decision("improvement", False)
        # more samples shrink the comparison's own error, not the history's floor
        return Decision("noisy", floor.floor < threshold)
    beyond = (not math.isfinite(floor.floor)) or abs(math.log(ratio)) > math.log1p(floor.floor)
    reach_hi, reach_lo = (hi99, lo99) if confirmed else (hi95, lo95)
    if lo95 > 1 and beyond and reach_hi >= limit:
        return Decision("regression", lo95 < limit <= hi99 and not confirmed)
    if hi95 < 1 and beyond and reach_lo <= 1 / limit:
        return Decision("improvement", False)
    inconclusive = (not confirmed and lo95 > 1 and hi99 >= limit)
    return Decision("unchanged", inconclusive)
