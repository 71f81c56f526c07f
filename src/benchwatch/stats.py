"""The one statistics module: every test, interval and effect size benchwatch reports.

Comparisons are of *ratios* (after / before), because benchmark noise is
multiplicative: a 3 % coefficient of variation is 3 % at 1 us and at 1 s. Intervals
on a ratio are computed on the log scale and reported back as ratios.

- With raw samples on both sides: a percentile bootstrap of the ratio of medians
  (vectorised, seeded, so the same data always gives the same interval), the
  Mann-Whitney U p-value (scipy), and Cliff's delta.
- Without samples (``asv run`` histories keep only a 99 % CI and quartiles): a normal
  approximation on the log ratio, with each side's standard error recovered from asv's
  stored 99 % CI.

Nothing here reads files or knows about benchmarks; it takes numbers and returns numbers.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Sequence

import numpy as np

_N = NormalDist()

#: z of asv's stored interval (asv's ``stats_ci_99_a/b`` are a 99 % interval).
Z_ASV_CI = _N.inv_cdf(0.995)

SEVERITIES = ((50.0, "critical"), (25.0, "major"), (10.0, "minor"))


@dataclass(frozen=True)
class RatioEstimate:
    """after/before with confidence intervals at two levels and a p-value.

    ``lo95/hi95`` and ``lo99/hi99`` are ratio bounds; ``p_value`` is Mann-Whitney's
    (samples) or the z-test's (stored CIs), NaN when it cannot be computed;
    ``effect`` is Cliff's delta (samples only, else NaN); ``se_log`` the standard
    error of the log ratio; ``method`` says which way it was computed.
    """

    ratio: float
    lo95: float
    hi95: float
    lo99: float
    hi99: float
    p_value: float
    effect: float
    se_log: float
    method: str  # "bootstrap" | "asv-ci" | "values"


def cliffs_delta(before: Sequence[float], after: Sequence[float]) -> float:
    """P(after > before) - P(after < before) over all pairs, in [-1, 1].

    Computed from the Mann-Whitney U statistic (ties count half), O(n log n).
    """
    a = np.asarray(before, dtype=float)
    b = np.asarray(after, dtype=float)
    if a.size == 0 or b.size == 0:
        return math.nan
    from scipy import stats as _sp  # lazily: scipy costs seconds at start-up

    u = _sp.mannwhitneyu(b, a, alternative="two-sided", method="asymptotic").statistic
    return float(2.0 * u / (a.size * b.size) - 1.0)


def mann_whitney_p(before: Sequence[float], after: Sequence[float]) -> float:
    """Two-sided Mann-Whitney U p-value; NaN when either side has < 2 samples or all
    samples are equal (no ranking information)."""
    a = np.asarray(before, dtype=float)
    b = np.asarray(after, dtype=float)
    if a.size < 2 or b.size < 2:
        return math.nan
    if np.all(a == a[0]) and np.all(b == a[0]):
        return 1.0
    from scipy import stats as _sp

    return float(_sp.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def bootstrap_medians(samples: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Medians of ``n_boot`` resamples (with replacement) of ``samples``."""
    idx = rng.integers(0, samples.size, size=(n_boot, samples.size))
    return np.median(samples[idx], axis=1)


def bootstrap_ratio(before: Sequence[float], after: Sequence[float], *, n_boot: int = 2000,
                    seed: int = 0) -> RatioEstimate:
    """Ratio of medians with percentile-bootstrap intervals, MWU p and Cliff's delta."""
    return bootstrap_ratios([(before, after)], n_boot=n_boot, seed=seed)[0]


def _checked(samples: Sequence[float]) -> np.ndarray:
    x = np.asarray(samples, dtype=float)
    if x.size == 0:
        raise ValueError("both sides need samples")
    if np.any(x <= 0) or not np.all(np.isfinite(x)):
        raise ValueError("samples must be finite and positive")
    return x


def bootstrap_ratios(pairs: Sequence[tuple[Sequence[float], Sequence[float]]], *,
                     n_boot: int = 2000, seed: int = 0, chunk: int = 64) -> list[RatioEstimate]:
    """``bootstrap_ratio`` for many (before, after) pairs at once.

    Pairs with the same sample counts are resampled together with the *same* indices
    a single call would draw (a fresh generator seeded with ``seed`` per group), so
    each pair's interval does not depend on what else is in the batch, and the
    Mann-Whitney test runs once per group along an axis (scipy vectorises it). This is
    what makes the gate take well under a second for 500 series.
    """
    from scipy import stats as _sp  # lazily: scipy costs seconds at start-up

    data = [(_checked(a), _checked(b)) for a, b in pairs]
    out: list[RatioEstimate | None] = [None] * len(data)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, (a, b) in enumerate(data):
        groups.setdefault((a.size, b.size), []).append(i)
    for (na, nb), members in groups.items():
        rng = np.random.default_rng(seed)
        idx_b = rng.integers(0, nb, size=(n_boot, nb))  # the order bootstrap_medians draws in
        idx_a = rng.integers(0, na, size=(n_boot, na))
        for lo in range(0, len(members), chunk):
            part = members[lo:lo + chunk]
            A = np.stack([data[i][0] for i in part])
            B = np.stack([data[i][1] for i in part])
            log_ratios = (np.log(np.median(B[:, idx_b], axis=2))
                          - np.log(np.median(A[:, idx_a], axis=2)))  # (k, n_boot)
            q = np.exp(np.percentile(log_ratios, [0.5, 2.5, 97.5, 99.5], axis=1))
            se = np.std(log_ratios, axis=1, ddof=1)
            mw = _sp.mannwhitneyu(A, B, alternative="two-sided", axis=1, method="asymptotic")
            u_a = np.atleast_1d(mw.statistic)  # U does not depend on the method
            if na > 8 and nb > 8:  # scipy's "auto" is asymptotic here: one call serves all
                pvals = np.atleast_1d(mw.pvalue)
            else:  # "auto" may pick the exact test per pair (ties anywhere would stop it)
                pvals = np.array([mann_whitney_p(data[i][0], data[i][1]) for i in part])
            ratio = np.median(B, axis=1) / np.median(A, axis=1)
            for j, i in enumerate(part):
                a, b = data[i]
                p = float(pvals[j])
                if na < 2 or nb < 2:
                    p = math.nan
                elif np.all(a == a[0]) and np.all(b == a[0]):
                    p = 1.0  # no ranking information at all
                out[i] = RatioEstimate(
                    ratio=float(ratio[j]), lo95=float(q[1, j]), hi95=float(q[2, j]),
                    lo99=float(q[0, j]), hi99=float(q[3, j]), p_value=p,
                    # Cliff's delta of after vs before, from U of before: U_b = na nb - U_a
                    effect=float(1.0 - 2.0 * u_a[j] / (na * nb)),
                    se_log=float(se[j]), method="bootstrap")
    return out  # type: ignore[return-value]


def se_from_asv_ci(value: float, ci_99: tuple[float, float] | None) -> float:
    """Standard error of log(value) implied by asv's stored 99 % interval; NaN if absent."""
    if ci_99 is None or not value > 0:
        return math.nan
    lo, hi = ci_99
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi < lo:
        return math.nan
    return (hi - lo) / (2.0 * Z_ASV_CI) / value


def normal_ratio(before: float, after: float, se_log_before: float,
                 se_log_after: float) -> RatioEstimate:
    """Ratio with normal-approximation intervals on the log scale (no samples)."""
    if not (before > 0 and after > 0):
        raise ValueError("values must be positive")
    ratio = after / before
    se = math.hypot(se_log_before, se_log_after)
    if not math.isfinite(se):
        return RatioEstimate(ratio, math.nan, math.nan, math.nan, math.nan, math.nan,
                             math.nan, math.nan, "values")
    z95, z99 = _N.inv_cdf(0.975), Z_ASV_CI
    log_r = math.log(ratio)
    p = math.erfc(abs(log_r) / se / math.sqrt(2)) if se > 0 else (0.0 if log_r else 1.0)
    return RatioEstimate(
        ratio=ratio, lo95=math.exp(log_r - z95 * se), hi95=math.exp(log_r + z95 * se),
        lo99=math.exp(log_r - z99 * se), hi99=math.exp(log_r + z99 * se),
        p_value=p, effect=math.nan, se_log=se, method="asv-ci")


def severity(worse_pct: float) -> str | None:
    """minor > 10 %, major > 25 %, critical > 50 % (of the change in the worse direction)."""
    for bound, name in SEVERITIES:
        if worse_pct > bound:
            return name
    return None


def robust_sd(values: Sequence[float]) -> float:
    """1.4826 x median absolute deviation: the SD of normal data, unmoved by outliers."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return math.nan
    return float(1.4826 * np.median(np.abs(x - np.median(x))))


def cv(samples: Sequence[float]) -> float:
    """Coefficient of variation (sample SD / mean)."""
    x = np.asarray(samples, dtype=float)
    if x.size < 2 or not x.mean():
        return math.nan
    return float(x.std(ddof=1) / x.mean())


def weighted_mean_test(y1: np.ndarray, w1: np.ndarray, y2: np.ndarray,
                       w2: np.ndarray) -> tuple[float, float, float]:
    """Weighted means of two groups and the two-sided p-value of their difference.

    The weights are relative (inverse variances up to one common factor); that factor
    is estimated from the weighted residuals of both groups (weighted least squares with
    a pooled scale, ``n1 + n2 - 2`` degrees of freedom). With equal weights this is
    Student's pooled-variance t-test. Returns ``(mean1, mean2, p)``; p is 0 when both
    groups are exactly constant at different levels and 1 at the same level.
    """
    from scipy.special import stdtr  # the t CDF ufunc, without scipy.stats' overhead

    y1, w1, y2, w2 = (np.asarray(a, dtype=float) for a in (y1, w1, y2, w2))
    if y1.size < 1 or y2.size < 1 or y1.size + y2.size < 3:
        raise ValueError("need at least one value per group and three in all")
    sw1, sw2 = float(w1.sum()), float(w2.sum())
    m1 = float(np.dot(w1, y1) / sw1)
    m2 = float(np.dot(w2, y2) / sw2)
    df = y1.size + y2.size - 2
    rss = float(np.dot(w1, (y1 - m1) ** 2) + np.dot(w2, (y2 - m2) ** 2))
    se = math.sqrt(rss / df * (1.0 / sw1 + 1.0 / sw2))
    if se == 0.0:
        return m1, m2, (1.0 if m1 == m2 else 0.0)
    t = abs(m2 - m1) / se
    return m1, m2, float(2.0 * stdtr(df, -t))


def se_of_median(samples: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """Standard error of a sample median: sqrt(pi / 2) x robust SD / sqrt(n) (the
    normal-theory factor, with the MAD so one wild sample does not inflate it).

    One sample set gives a float; a 2-D array (one row of samples per commit) gives one
    SE per row, computed at once. NaN with fewer than 2 finite samples.
    """
    x = np.asarray(samples, dtype=float)
    if x.ndim == 1:
        x = x[np.isfinite(x)]
        if x.size < 2:
            return math.nan
        return math.sqrt(math.pi / 2.0) * robust_sd(x) / math.sqrt(x.size)
    if x.ndim != 2:
        raise ValueError("samples: give one sample set, or a 2-D array with one per row")
    import warnings

    finite = np.isfinite(x)
    n = finite.sum(axis=1)
    # np.median is several times faster than np.nanmedian; use it when it can
    median = np.median if finite.all() else np.nanmedian
    x = np.where(finite, x, np.nan)
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows give NaN
        med = median(x, axis=1, keepdims=True)
        mad = median(np.abs(x - med), axis=1)
        out = math.sqrt(math.pi / 2.0) * 1.4826 * mad / np.sqrt(n)
    return np.where(n >= 2, out, np.nan)


# ---------------------------------------------------------------- trends over time
#
# x is time (days), y a benchmark's value. Least squares gives the classic slope and
# r^2; Theil-Sen (median of pairwise slopes) and Mann-Kendall (sign of pairwise
# differences) are their robust twins: one outlier commit moves neither. Both robust
# statistics look at all n(n-1)/2 pairs, so the pass over them is compiled (numba,
# imported only when a trend is computed) and keeps only a small fraction of the
# slopes: the exact median is selected inside a bracket taken from a sample.

#: Pair counts up to this get the plain method: every slope stored, then the median.
TS_EXACT_PAIRS = 50_000
#: Slopes sampled to bracket the median on larger inputs.
TS_SAMPLE = 8192
#: Half-width of the bracket, in standard errors of the sampled quantile.
TS_MARGIN_SE = 5.0


@dataclass(frozen=True)
class LinearFit:
    """y = intercept + slope * x by ordinary least squares; ``r2`` in [0, 1]."""

    slope: float
    intercept: float
    r2: float


@dataclass(frozen=True)
class MannKendall:
    """Kendall's S (concordant minus discordant pairs of (x, y)), its variance with
    tie correction in x and y, z = S / sqrt(var) and the two-sided normal p-value.

    No continuity correction, as ``scipy.stats.kendalltau(method="asymptotic")``: the
    p-value equals scipy's. ``p_value`` is 1.0 when every y (or x) is tied.
    """

    s: int
    var_s: float
    z: float
    p_value: float


def least_squares(x: Sequence[float], y: Sequence[float]) -> LinearFit:
    """OLS line through finite points; ``r2`` is 0 when x or y is constant (as scipy's
    ``linregress``), and the slope NaN when x is constant."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.size != ya.size or xa.size < 2:
        raise ValueError("need two or more (x, y) points")
    xm, ym = xa.mean(), ya.mean()
    dx, dy = xa - xm, ya - ym
    sxx, sxy, syy = float(dx @ dx), float(dx @ dy), float(dy @ dy)
    if sxx == 0.0:
        return LinearFit(math.nan, math.nan, 0.0)
    slope = sxy / sxx
    r2 = min(1.0, sxy * sxy / (sxx * syy)) if syy > 0.0 else 0.0
    return LinearFit(slope, float(ym - slope * xm), r2)


def _tie_sums(v: np.ndarray) -> tuple[float, float, float]:
    """Sums over tie groups of size t: t(t-1), t(t-1)(t-2), t(t-1)(2t+5)."""
    _, counts = np.unique(v, return_counts=True)
    t = counts[counts > 1].astype(float)
    return float((t * (t - 1)).sum()), float((t * (t - 1) * (t - 2)).sum()), \
        float((t * (t - 1) * (2 * t + 5)).sum())


def mann_kendall_from_s(s: int, x: np.ndarray, y: np.ndarray) -> MannKendall:
    """The Mann-Kendall test given S, with the variance corrected for ties in x and y."""
    n = float(x.size)
    x2, x3, x5 = _tie_sums(x)
    y2, y3, y5 = _tie_sums(y)
    m = n * (n - 1)
    var = (m * (2 * n + 5) - x5 - y5) / 18.0
    if m > 0:
        var += x2 * y2 / (2 * m)
    if n > 2:
        var += x3 * y3 / (9 * m * (n - 2))
    if not var > 0:
        return MannKendall(int(s), 0.0, 0.0, 1.0)
    z = s / math.sqrt(var)
    return MannKendall(int(s), var, z, math.erfc(abs(z) / math.sqrt(2.0)))


def _sample_slopes(xs, ys, n_sample):  # pragma: no cover - compiled by numba
    """``n_sample`` slopes of pairs with distinct x, drawn with a fixed-seed xorshift so
    the same input always gives the same sample; xs sorted."""
    n = xs.size
    sample = np.empty(n_sample)
    state = np.uint64(88172645463325252)
    c = 0
    while c < n_sample:
        state ^= state << np.uint64(13)
        state ^= state >> np.uint64(7)
        state ^= state << np.uint64(17)
        i = np.int64(state % np.uint64(n))
        j = np.int64((state >> np.uint64(32)) % np.uint64(n))
        if i > j:
            i, j = j, i
        if xs[j] > xs[i]:
            sample[c] = (ys[j] - ys[i]) / (xs[j] - xs[i])
            c += 1
    return sample


def _pairs_pass(xs, ys, lo, hi, cap):  # pragma: no cover - compiled by numba
    """One pass over the pairs i < j with xs[j] > xs[i] (xs sorted): Kendall's S, the
    number of slopes below ``lo``, and the slopes in [lo, hi] (the first ``cap`` of
    them in ``buf``; ``nb`` counts them all, so ``nb > cap`` means it overflowed)."""
    n = xs.size
    buf = np.empty(cap)
    nb = 0
    below = 0
    s = 0
    for i in range(n):
        xi = xs[i]
        yi = ys[i]
        for j in range(i + 1, n):
            dx = xs[j] - xi
            if dx > 0:
                dy = ys[j] - yi
                s += (dy > 0) - (dy < 0)  # branch-free: signs are coin flips
                v = dy / dx
                below += v < lo
                if v >= lo and v <= hi:
                    if nb < cap:
                        buf[nb] = v
                    nb += 1
    return buf, nb, below, s


@functools.lru_cache(maxsize=1)
def _kernels() -> tuple:
    """The two loops compiled by numba (or loaded from its cache) on first use, so that
    commands without trends never import numba. Only loops are compiled: sorting and
    selection stay in NumPy, which keeps the first compilation short."""
    from numba import njit

    jit = njit(cache=True, nogil=True)
    return jit(_sample_slopes), jit(_pairs_pass)


def _theil_sen_s(xs: np.ndarray, ys: np.ndarray, exact_pairs: int, n_sample: int,
                 margin_se: float) -> tuple[float, int, int]:
    """(median slope over pairs with distinct x, Kendall's S, path) for sorted xs.

    Small inputs keep every slope (the bracket (-inf, inf)). Large ones sample
    ``n_sample`` slopes and bracket the median's rank by ``margin_se`` standard errors
    of the sampled quantile, so one pass keeps only a few % of the slopes. The median
    is exact either way: a bracket that misses it (or overflows) is followed by a pass
    keeping every slope. ``path``: 0 every slope, 1 bracket, 2 bracket missed.
    """
    sample_slopes, pairs_pass = _kernels()
    n = xs.size
    m = n * (n - 1) // 2 - int(_tie_sums(xs)[0]) // 2  # pairs with distinct x
    if m == 0:
        return math.nan, 0, 0
    k_hi = m // 2
    k_lo = k_hi if m % 2 == 1 else k_hi - 1
    lo, hi, cap, path = -math.inf, math.inf, m, 0
    if m > exact_pairs:
        sample = np.sort(sample_slopes(xs, ys, n_sample))
        half = margin_se * 0.5 / math.sqrt(n_sample)  # a quantile's SE <= 0.5 / sqrt(K)
        a = math.floor((k_lo / m - half) * n_sample)
        b = math.ceil((k_hi / m + half) * n_sample)
        lo = float(sample[a]) if a >= 0 else -math.inf
        hi = float(sample[b]) if b < n_sample else math.inf
        cap = min(m, int(m * 2.0 * (b - a + 2) / n_sample) + 64)
        path = 1
    while True:
        buf, nb, below, s = pairs_pass(xs, ys, lo, hi, cap)
        if nb <= cap and below <= k_lo and k_hi < below + nb:
            r = k_hi - below
            part = np.partition(buf[:nb], r)
            upper = part[r]
            lower = upper if k_lo == k_hi else part[:r].max()
            return float((lower + upper) / 2.0), int(s), path
        lo, hi, cap, path = -math.inf, math.inf, m, 2


def theil_sen_mann_kendall(x: Sequence[float], y: Sequence[float]) -> tuple[float, MannKendall]:
    """Theil-Sen slope (median of slopes over pairs with distinct x, exactly the estimate
    of ``scipy.stats.theilslopes``) and the Mann-Kendall test, from one pass over pairs."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.size != ya.size:
        raise ValueError("x and y differ in length")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValueError("x and y must be finite")
    order = np.argsort(xa, kind="stable")
    xs = np.ascontiguousarray(xa[order])
    ys = np.ascontiguousarray(ya[order])
    slope, s, _ = _theil_sen_s(xs, ys, TS_EXACT_PAIRS, TS_SAMPLE, TS_MARGIN_SE)
    return slope, mann_kendall_from_s(s, xs, ys)


def theil_sen(x: Sequence[float], y: Sequence[float]) -> float:
    """Median of the pairwise slopes (y_j - y_i) / (x_j - x_i) over pairs with x_i != x_j."""
    return theil_sen_mann_kendall(x, y)[0]


def mann_kendall(x: Sequence[float], y: Sequence[float]) -> MannKendall:
    """Mann-Kendall trend test of y against x (x may have ties: dates of one day)."""
    return theil_sen_mann_kendall(x, y)[1]
