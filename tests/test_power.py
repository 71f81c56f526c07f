"""benchwatch.power against statsmodels' TTestIndPower, published tables and a Monte-Carlo
of the t-test on lognormal data."""

import math

import numpy as np
import pytest
from scipy import stats as sp
from statsmodels.stats.power import TTestIndPower

from benchwatch import power

SM = TTestIndPower()

# (effect size, alpha, nobs1, ratio, alternative)
POWER_CASES = [
    (0.5, 0.05, 64, 1.0, "two-sided"),
    (0.3, 0.01, 50, 2.0, "two-sided"),
    (0.8, 0.05, 10, 1.0, "larger"),
    (-0.4, 0.05, 30, 0.5, "smaller"),
    (0.2, 0.10, 3, 1.0, "two-sided"),
    (-1.2, 0.05, 7, 1.0, "two-sided"),
]


@pytest.mark.parametrize("d, alpha, n, ratio, alternative", POWER_CASES)
def test_power_equals_statsmodels(d, alpha, n, ratio, alternative):
    ours = power.ttest_power(d, n, alpha, ratio, alternative)
    ref = SM.power(d, n, alpha, ratio, alternative=alternative)
    assert ours == pytest.approx(ref, rel=1e-12, abs=1e-15)


def test_power_exact_figures():
    # d = 0.5, 64 per arm: Cohen (1988), table 2.4.1 gives .80; statsmodels 0.8014596
    assert round(power.ttest_power(0.5, 64), 7) == 0.8014596
    assert round(power.ttest_power(0.5, 63), 7) == 0.7951683
    # no effect: the power is the size of the test
    assert power.ttest_power(0.0, 20, 0.05) == pytest.approx(0.05, abs=1e-12)
    assert power.ttest_power(0.0, 20, 0.05, alternative="larger") == pytest.approx(0.05)


# (effect, alpha, power, ratio, alternative, statsmodels' real nobs1, our integer)
SIZE_CASES = [
    (0.5, 0.05, 0.8, 1.0, "two-sided", 63.76561058891169, 64),   # Cohen (1988): 64
    (0.8, 0.05, 0.8, 1.0, "two-sided", 25.524571854446116, 26),  # Cohen (1988): 26
    (0.2, 0.05, 0.8, 1.0, "two-sided", 393.4056930002526, 394),  # Cohen's normal approx.: 393
    (0.5, 0.01, 0.9, 1.0, "two-sided", 120.70548584929035, 121),
    (0.3, 0.05, 0.8, 2.0, "two-sided", 131.45765662688444, 132),
    (0.5, 0.05, 0.8, 1.0, "larger", 50.15078338685744, 51),
    (-0.5, 0.05, 0.8, 1.0, "smaller", 50.150783386857455, 51),
]


@pytest.mark.parametrize("d, alpha, pw, ratio, alternative, sm_real, expected", SIZE_CASES)
def test_sample_size_is_statsmodels_rounded_up(d, alpha, pw, ratio, alternative, sm_real,
                                               expected):
    ref = SM.solve_power(d, None, alpha, pw, ratio, alternative=alternative)
    assert ref == pytest.approx(sm_real, rel=1e-6)
    n = power.ttest_sample_size(d, alpha, pw, ratio, alternative)
    assert n == expected == math.ceil(ref)
    # the smallest integer: one fewer falls short
    assert power.ttest_power(d, n, alpha, ratio, alternative) >= pw
    assert power.ttest_power(d, n - 1, alpha, ratio, alternative) < pw


def test_huge_effect_needs_the_minimum():
    # df = n1 + n2 - 2 must be positive: 2 per arm is the least the search returns
    assert power.ttest_sample_size(20.0) == 2
    # scipy's noncentral t CDF gives NaN in the far lower tail at nc 20, df 2 (so does
    # statsmodels' power); ours integrates over the chi-square there instead
    assert math.isnan(sp.nct.cdf(sp.t.ppf(0.025, 2), 2, 20.0))
    assert power.ttest_power(20.0, 2) == pytest.approx(1.0, abs=1e-8)
    assert power.ttest_power(50.0, 2) == 1.0


@pytest.mark.parametrize("x, df, nc", [(4.3, 2, 10.0), (2.0, 10, 3.0), (-2.0, 10, -3.0),
                                       (-2.0, 5, 1.0), (1.5, 37, 0.4)])
def test_noncentral_t_fallback_equals_scipy_where_scipy_works(x, df, nc):
    assert power._nct_tail(x, df, nc, upper=True) == pytest.approx(sp.nct.sf(x, df, nc),
                                                                   rel=1e-9, abs=1e-12)
    assert power._nct_tail(x, df, nc, upper=False) == pytest.approx(sp.nct.cdf(x, df, nc),
                                                                    rel=1e-9, abs=1e-12)


def test_cv_to_log_sd():
    assert power.cv_to_log_sd(0.05) == pytest.approx(0.049968792246633295, rel=1e-15)
    # the lognormal identity CV^2 = exp(sigma^2) - 1, both ways
    for cv in (0.001, 0.05, 0.3, 2.0):
        s = power.cv_to_log_sd(cv)
        assert math.sqrt(math.expm1(s * s)) == pytest.approx(cv, rel=1e-12)
    # and against the moments of scipy's lognormal
    s = power.cv_to_log_sd(0.2)
    mean, var = sp.lognorm(s).stats(moments="mv")
    assert math.sqrt(var) / mean == pytest.approx(0.2, rel=1e-12)


# (cv, mde, statsmodels' real n for effect log1p(mde)/sd, our n, achieved power)
MDE_CASES = [
    (0.05, 0.05, 17.479720325869355, 18, 0.8120944),
    (0.01, 0.01, 16.870491629127066, 17, 0.8031897),
    (0.02, 0.01, 64.38122360240749, 65, 0.8037965),
    (0.10, 0.05, 66.59008228541695, 67, 0.8024375),
    (0.03, 0.02, 36.996574272857366, 37, 0.8000373),
]


@pytest.mark.parametrize("cv, mde, sm_real, expected, achieved", MDE_CASES)
def test_sample_size_for_mde(cv, mde, sm_real, expected, achieved):
    effect = math.log1p(mde) / power.cv_to_log_sd(cv)
    assert SM.solve_power(effect, None, 0.05, 0.8) == pytest.approx(sm_real, rel=1e-6)
    n = power.sample_size_for_mde(cv, mde)
    assert n == expected
    assert round(power.achieved_power(n, n, cv, mde), 7) == achieved
    assert power.achieved_power(n, n, cv, mde) == pytest.approx(SM.power(effect, n, 0.05),
                                                                rel=1e-12)
    assert power.achieved_power(n - 1, n - 1, cv, mde) < 0.8


def test_achieved_power_with_unequal_arms():
    effect = math.log1p(0.05) / power.cv_to_log_sd(0.05)
    assert power.achieved_power(10, 25, 0.05, 0.05) == pytest.approx(
        SM.power(effect, 10, 0.05, ratio=2.5), rel=1e-12)
    assert power.achieved_power(np.int64(10), np.int64(25), 0.05, 0.05) == \
        power.achieved_power(10, 25, 0.05, 0.05)


@pytest.mark.parametrize("cv, mde", [(0.05, 0.05), (0.10, 0.05), (0.02, 0.01)])
def test_sample_size_for_mde_against_monte_carlo(cv, mde):
    """Lognormal timings, n per arm from sample_size_for_mde, Student's t-test on logs.

    The logs are exactly normal, so the rejection rate estimates exactly the power the
    function computed (achieved_power at that n), with binomial Monte-Carlo error: 20,000
    experiments give a standard error of about 0.0028 near power 0.8; the test allows 4.
    Timings are lognormal with the requested CV on the *raw* scale, so this also checks
    the CV -> log-SD conversion.
    """
    n_sims = 20_000
    n = power.sample_size_for_mde(cv, mde)
    rng = np.random.default_rng(12345)
    s = math.sqrt(math.log1p(cv * cv))
    a = rng.lognormal(-s * s / 2, s, size=(n_sims, n))
    b = (1 + mde) * rng.lognormal(-s * s / 2, s, size=(n_sims, n))
    # the raw samples do have the CV we asked for (SE of the pooled CV estimate is tiny)
    assert np.mean(a.std(axis=1, ddof=1) / a.mean(axis=1)) == pytest.approx(cv, rel=0.03)
    p = sp.ttest_ind(np.log(b), np.log(a), axis=1).pvalue
    rate = float(np.mean(p < 0.05))
    expected = power.achieved_power(n, n, cv, mde)
    se = math.sqrt(expected * (1 - expected) / n_sims)
    assert abs(rate - expected) <= 4 * se
    assert rate >= 0.8 - 4 * se


@pytest.mark.parametrize("call, match", [
    (lambda: power.cv_to_log_sd(0.0), "cv must be a positive"),
    (lambda: power.cv_to_log_sd(-0.1), "cv must be a positive"),
    (lambda: power.cv_to_log_sd(math.nan), "cv must be a positive"),
    (lambda: power.sample_size_for_mde(0.05, 0.0), "mde must be a positive"),
    (lambda: power.sample_size_for_mde(0.05, -0.05), "mde must be a positive"),
    (lambda: power.sample_size_for_mde(0.05, 0.05, alpha=1.0), "alpha must be a probability"),
    (lambda: power.sample_size_for_mde(0.05, 0.05, power=0.0), "power must be a probability"),
    (lambda: power.sample_size_for_mde(0.05, 0.05, power=80), "power must be a probability"),
    (lambda: power.ttest_sample_size(0.0), "non-zero"),
    (lambda: power.ttest_sample_size(-0.5, alternative="larger"), "points away"),
    (lambda: power.ttest_sample_size(1e-9), "too small to detect"),
    (lambda: power.ttest_power(0.5, 10, alternative="bigger"), "alternative must be one of"),
    (lambda: power.ttest_power(0.5, 1, ratio=0.5), "at least 3 observations"),
    (lambda: power.achieved_power(1, 1, 0.05, 0.05), "whole sample counts"),
    (lambda: power.achieved_power(2.5, 3, 0.05, 0.05), "whole sample counts"),
])
def test_bad_arguments_say_what_to_pass(call, match):
    with pytest.raises(ValueError, match=match):
        call()
