"""benchwatch.stats against scipy and the naive references, on fixed data."""

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sp

from benchwatch import stats
from naive import naive_cliffs_delta, naive_robust_sd

A = [1.00, 1.02, 0.99, 1.01, 1.03, 0.98, 1.00, 1.02, 1.01, 0.99]
B = [1.10, 1.12, 1.08, 1.11, 1.13, 1.09, 1.10, 1.12, 1.11, 1.09]


def test_bootstrap_ratio_exact_figures():
    e = stats.bootstrap_ratio(A, B)
    assert e.method == "bootstrap"
    assert e.ratio == pytest.approx(1.105 / 1.005)  # medians 1.005 and 1.105
    assert (round(e.lo95, 6), round(e.hi95, 6)) == (1.078818, 1.120603)
    assert (round(e.lo99, 6), round(e.hi99, 6)) == (1.073529, 1.126926)
    assert e.lo99 <= e.lo95 < e.ratio < e.hi95 <= e.hi99
    assert e.p_value == pytest.approx(sp.mannwhitneyu(A, B).pvalue)
    assert e.effect == 1.0
    # seeded: the same data gives the same interval every time
    assert stats.bootstrap_ratio(A, B) == e


def test_bootstrap_refuses_bad_samples():
    with pytest.raises(ValueError, match="positive"):
        stats.bootstrap_ratio([1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="positive"):
        stats.bootstrap_ratio([1.0, math.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match="both sides"):
        stats.bootstrap_ratio([], [1.0])


def test_identical_sides_are_not_significant():
    e = stats.bootstrap_ratio(A, A)
    assert e.ratio == 1.0 and e.lo95 < 1 < e.hi95
    assert e.effect == 0.0
    assert e.p_value == pytest.approx(1.0)


@given(st.lists(st.floats(0.1, 10), min_size=1, max_size=12),
       st.lists(st.floats(0.1, 10), min_size=1, max_size=12))
def test_cliffs_delta_matches_pair_counting(a, b):
    assert stats.cliffs_delta(a, b) == pytest.approx(naive_cliffs_delta(a, b), abs=1e-12)


def test_mann_whitney_edge_cases():
    assert math.isnan(stats.mann_whitney_p([1.0], [2.0, 3.0]))
    assert stats.mann_whitney_p([2.0, 2.0, 2.0], [2.0, 2.0]) == 1.0
    assert stats.mann_whitney_p(A, B) == pytest.approx(0.0001746242085521927)


def test_normal_ratio_from_asv_ci():
    se_a = stats.se_from_asv_ci(1.0, (0.95, 1.05))
    se_b = stats.se_from_asv_ci(1.2, (1.14, 1.26))
    assert se_a == pytest.approx(0.1 / (2 * sp.norm.ppf(0.995)))
    e = stats.normal_ratio(1.0, 1.2, se_a, se_b)
    se = math.hypot(se_a, se_b)
    assert e.method == "asv-ci" and e.ratio == pytest.approx(1.2)
    assert e.se_log == pytest.approx(0.02745161646434869)
    assert e.lo95 == pytest.approx(1.2 * math.exp(-sp.norm.ppf(0.975) * se))
    assert e.hi99 == pytest.approx(1.2 * math.exp(sp.norm.ppf(0.995) * se))
    assert e.p_value == pytest.approx(2 * sp.norm.sf(math.log(1.2) / se))
    assert math.isnan(e.effect)


def test_normal_ratio_without_intervals_claims_nothing():
    e = stats.normal_ratio(1.0, 2.0, math.nan, 0.01)
    assert e.method == "values" and e.ratio == 2.0
    assert math.isnan(e.lo95) and math.isnan(e.p_value)
    assert math.isnan(stats.se_from_asv_ci(1.0, None))
    assert math.isnan(stats.se_from_asv_ci(1.0, (2.0, 1.0)))


@pytest.mark.parametrize("pct, name", [(0, None), (10, None), (10.1, "minor"), (25, "minor"),
                                       (25.5, "major"), (50, "major"), (50.1, "critical")])
def test_severity_bands(pct, name):
    assert stats.severity(pct) == name


def test_robust_sd_matches_naive_and_ignores_one_outlier():
    x = [0.1, -0.2, 0.05, 0.0, 0.3, -0.1, 0.15, -0.05]
    assert stats.robust_sd(x) == pytest.approx(naive_robust_sd(x))
    assert stats.robust_sd(x + [50.0]) == pytest.approx(naive_robust_sd(x + [50.0]))
    assert stats.robust_sd(x + [50.0]) < 0.3
    assert math.isnan(stats.robust_sd([1.0]))


def test_cv():
    assert stats.cv([1.0, 2.0, 3.0]) == pytest.approx(np.std([1, 2, 3], ddof=1) / 2)
    assert math.isnan(stats.cv([1.0]))


def test_batch_equals_one_at_a_time_whatever_the_batch():
    rng = np.random.default_rng(9)
    pairs = [(rng.lognormal(0, 0.05, na), rng.lognormal(0.02, 0.05, nb))
             for na, nb in [(10, 10), (10, 10), (7, 12), (10, 10), (3, 3), (40, 40)]]
    pairs.append(([1.0, 1.0, 2.0, 2.0], [1.0, 2.0, 2.0, 3.0]))  # ties
    pairs.append(([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]))  # nothing to rank
    single = [stats.bootstrap_ratio(a, b) for a, b in pairs]

    def same(xs, ys):  # exact, but for summation order in the last bit of se_log
        assert len(xs) == len(ys)
        for x, y in zip(xs, ys):
            assert x._replace(se_log=0) == y._replace(se_log=0) if hasattr(x, "_replace") \
                else dataclasses.replace(x, se_log=0) == dataclasses.replace(y, se_log=0)
            assert x.se_log == pytest.approx(y.se_log, rel=1e-12)

    pairs_single = [stats.bootstrap_ratios([pair])[0] for pair in pairs]
    same(pairs_single, single)
    same(stats.bootstrap_ratios(pairs), single)
    same(stats.bootstrap_ratios(pairs[::-1], chunk=2), single[::-1])
    for (a, b), e in zip(pairs, single):
        assert e.p_value == pytest.approx(stats.mann_whitney_p(a, b))
        assert e.effect == pytest.approx(naive_cliffs_delta(a, b))
