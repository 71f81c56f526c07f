"""Power and sample size of the two-sample t-test, on the log scale of benchmark samples.

Benchmark noise is multiplicative, so an A/B test compares the logs of the samples and
a change is a ratio. A benchmark with coefficient of variation ``cv`` has log values with
standard deviation ``cv_to_log_sd(cv)``; a relative change ``mde`` (0.05 = 5 %) moves
their mean by ``log1p(mde)``. The standardised effect (Cohen's d on logs) is the ratio of
the two, and it is the benchmark's *measured* noise that sets it: a 5 % change is a huge
effect on a 1 %-CV benchmark and a small one on a 20 %-CV benchmark.

The power is that of the two-sample t-test (Student's pooled form): under the
alternative its statistic follows a noncentral t with ``df = n1 + n2 - 2`` and
noncentrality ``d * sqrt(n1 n2 / (n1 + n2))``. This is the textbook computation that
statsmodels' ``TTestIndPower`` performs, and the tests compare against it; statsmodels
itself is not a run-time dependency.

Pure functions of numbers: no I/O, nothing about benchmarks or asv.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "ALTERNATIVES",
    "achieved_power",
    "cv_to_log_sd",
    "sample_size_for_mde",
    "ttest_power",
    "ttest_sample_size",
]

ALTERNATIVES = ("two-sided", "larger", "smaller")

#: Largest per-arm sample size the search considers; beyond it the answer is useless for
#: benchmarking anyway (and the noncentral t would need care in its far tails).
MAX_NOBS = 10_000_000


def _check_probability(name: str, value: float) -> None:
    if not (isinstance(value, numbers.Real) and 0.0 < value < 1.0):
        raise ValueError(f"{name} must be a probability strictly between 0 and 1 "
                         f"(e.g. 0.05 for alpha, 0.8 for power); got {value!r}")


def _check_positive(name: str, value: float, example: str) -> None:
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0.0):
        raise ValueError(f"{name} must be a positive finite number ({example}); got {value!r}")


def _check_alternative(alternative: str) -> None:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {', '.join(ALTERNATIVES)}; "
                         f"got {alternative!r}")


def cv_to_log_sd(cv: float) -> float:
    """SD of log(x) for a lognormal x with coefficient of variation ``cv``.

    For a lognormal, CV**2 = exp(sigma**2) - 1, hence sigma = sqrt(log1p(CV**2)). For
    small CVs sigma is close to the CV itself (5 % -> 0.04997).
    """
    _check_positive("cv", cv, "the coefficient of variation as a fraction, 0.05 for 5 %")
    return math.sqrt(math.log1p(cv * cv))


def ttest_power(effect_size: float, nobs1: float, alpha: float = 0.05, ratio: float = 1.0,
                alternative: str = "two-sided") -> float:
    """Power of the two-sample t-test with ``nobs1`` and ``ratio * nobs1`` observations.

    ``effect_size`` is Cohen's d (difference of means / common SD), positive when the
    second sample is larger. Same definition as statsmodels' ``TTestIndPower().power``:
    two-sided power adds both rejection tails of the noncentral t.
    """
    from scipy import stats as _sp  # lazily: scipy costs seconds at start-up

    if not (isinstance(effect_size, numbers.Real) and math.isfinite(effect_size)):
        raise ValueError(f"effect_size must be a finite number (Cohen's d); got {effect_size!r}")
    _check_positive("ratio", ratio, "nobs2 / nobs1, 1.0 for equal arms")
    _check_probability("alpha", alpha)
    _check_alternative(alternative)
    nobs2 = ratio * nobs1
    df = nobs1 + nobs2 - 2.0
    if not (nobs1 > 0 and df > 0):
        raise ValueError("nobs1 must give at least 3 observations in all (df = nobs1 + nobs2 - 2 "
                         f"> 0); got nobs1={nobs1!r}, ratio={ratio!r}")
    nc = effect_size * math.sqrt(nobs1 * nobs2 / (nobs1 + nobs2))
    tail = alpha / 2.0 if alternative == "two-sided" else alpha
    power = 0.0
    if alternative in ("two-sided", "larger"):
        crit = float(_sp.t.isf(tail, df))
        p = float(_sp.nct.sf(crit, df, nc))
        power += p if math.isfinite(p) else _nct_tail(crit, df, nc, upper=True)
    if alternative in ("two-sided", "smaller"):
        crit = float(_sp.t.ppf(tail, df))
        p = float(_sp.nct.cdf(crit, df, nc))
        power += p if math.isfinite(p) else _nct_tail(crit, df, nc, upper=False)
    return power


def _nct_tail(x: float, df: float, nc: float, upper: bool) -> float:
    """P(T > x) (upper) or P(T < x) for a noncentral t, by one integral over the chi-square.

    scipy's noncentral t returns NaN far out (e.g. nc 20 with df 2: a huge effect with
    two samples per arm). T = (Z + nc) / sqrt(V / df) with V ~ chi2(df), so
    P(T > x) = E[Phi(nc - x sqrt(V / df))] and P(T < x) = E[Phi(x sqrt(V / df) - nc)].
    """
    from scipy import integrate, special
    from scipy import stats as _sp

    sign = 1.0 if upper else -1.0

    def integrand(v: float) -> float:
        return float(special.ndtr(sign * (nc - x * math.sqrt(v / df)))
                     * _sp.chi2.pdf(v, df))

    value, _ = integrate.quad(integrand, 0.0, math.inf, epsabs=1e-13, epsrel=1e-11,
                              limit=200)
    return min(1.0, max(0.0, value))


def ttest_sample_size(effect_size: float, alpha: float = 0.05, power: float = 0.8,
                      ratio: float = 1.0, alternative: str = "two-sided") -> int:
    """Smallest integer ``nobs1`` whose t-test power reaches ``power``.

    statsmodels' ``solve_power`` returns the real root (63.77 for d = 0.5); a plan needs
    whole samples, so this returns the first integer at or above it (64), checked by
    evaluating the power on both sides of the answer.
    """
    _check_probability("power", power)
    _check_probability("alpha", alpha)
    _check_positive("ratio", ratio, "nobs2 / nobs1, 1.0 for equal arms")
    _check_alternative(alternative)
    if not (isinstance(effect_size, numbers.Real) and math.isfinite(effect_size)
            and effect_size != 0.0):
        raise ValueError("effect_size must be a finite, non-zero Cohen's d (a zero effect "
                         f"cannot be detected at any sample size); got {effect_size!r}")
    if (alternative == "larger" and effect_size < 0) or (alternative == "smaller"
                                                          and effect_size > 0):
        raise ValueError(f"effect_size {effect_size} points away from the one-sided "
                         f"alternative {alternative!r}; flip its sign or the alternative")

    def pw(n: float) -> float:
        return ttest_power(effect_size, n, alpha, ratio, alternative)

    # the smallest nobs1 with df > 0
    lo = math.floor(2.0 / (1.0 + ratio)) + 1
    if pw(lo) >= power:
        return lo
    # bracket by doubling, then bisect on integers: power grows with n
    hi = max(lo + 1, 2 * lo)
    while pw(hi) < power:
        lo, hi = hi, 2 * hi
        if hi > MAX_NOBS:
            raise ValueError(f"effect_size {effect_size} needs more than {MAX_NOBS} "
                             "observations per arm; it is too small to detect")
    while hi - lo > 1:  # invariant: pw(lo) < power <= pw(hi)
        mid = (lo + hi) // 2
        if pw(mid) >= power:
            hi = mid
        else:
            lo = mid
    return hi


def _mde_effect(cv: float, mde: float) -> float:
    _check_positive("mde", mde, "the relative change to detect as a fraction, 0.05 for 5 %")
    return math.log1p(mde) / cv_to_log_sd(cv)


def sample_size_for_mde(cv: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> int:
    """Samples per arm for a two-sided t-test on logs to detect a relative change ``mde``.

    The effect on the log scale is log1p(mde) / cv_to_log_sd(cv). An increase by ``mde``
    is the harder direction (|log(1 - mde)| > log(1 + mde)), so the same n also detects
    a decrease by ``mde`` with at least this power.
    """
    return ttest_sample_size(_mde_effect(cv, mde), alpha, power)


def achieved_power(n_a: int, n_b: int, cv: float, mde: float, alpha: float = 0.05) -> float:
    """Power a two-sided t-test on logs with ``n_a`` and ``n_b`` samples had to detect a
    relative change ``mde`` on a benchmark with coefficient of variation ``cv``."""
    if not (isinstance(n_a, numbers.Integral) and isinstance(n_b, numbers.Integral)
            and n_a >= 1 and n_b >= 1 and n_a + n_b >= 3):
        raise ValueError("n_a and n_b must be whole sample counts, at least 1 each and 3 in "
                         f"all; got n_a={n_a!r}, n_b={n_b!r}")
    return ttest_power(_mde_effect(cv, mde), n_a, alpha, ratio=int(n_b) / int(n_a))
