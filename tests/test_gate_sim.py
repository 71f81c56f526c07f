"""The gate's targets on simulated histories, at a size that keeps CI fast.

The full-size run (2,000 series per cell) is ``scripts/gate_calibration.py``; its
figures are in site/gate.md. Here, 150 series per cell with a fixed seed: the
counts are deterministic, and each assertion is a target of the issue, so a rule
change that breaks a target fails here.
"""

import pytest

from benchwatch.simulate import run_gate_sim

N = 150


@pytest.fixture(scope="module")
def cells():
    out = {}
    for cv, effects in ((0.01, (0.0, 0.05, 0.10)), (0.03, (0.0, 0.05, 0.10)),
                        (0.05, (0.0, 0.10)), (0.10, (0.0, 0.10))):
        for effect in effects:
            out[cv, effect] = run_gate_sim(cv, effect, N, seed=11,
                                           with_asv=(cv, effect) == (0.03, 0.10))
    return out


def test_aa_never_flags(cells):
    for cv in (0.01, 0.03, 0.05, 0.10):
        o = cells[cv, 0.0]
        assert o.one_shot["regression"] == 0 and o.final["regression"] == 0, cv


def test_cv1_catches_threshold_changes_and_ignores_half_of_them(cells):
    assert cells[0.01, 0.10].rate("regression") >= 0.99
    assert cells[0.01, 0.10].rate("regression", final=False) >= 0.95
    assert cells[0.01, 0.05].rate("regression", final=False) <= 0.05


def test_cv3_recall_one_shot_and_with_confirm(cells):
    o = cells[0.03, 0.10]
    assert o.rate("regression", final=False) >= 0.90
    assert o.rate("regression") >= 0.98
    assert cells[0.03, 0.05].rate("regression") <= 0.20
    assert cells[0.03, 0.05].rate("regression", final=False) <= 0.30


def test_loud_benchmarks_are_never_silently_unchanged(cells):
    for cv in (0.05, 0.10):
        o = cells[cv, 0.10]
        assert o.rate("unchanged") <= 0.05, (cv, o.final)


def test_asvs_rule_misses_half_of_threshold_changes(cells):
    # asv compare's factor sits at the effect size: about half are caught
    assert 0.3 <= cells[0.03, 0.10].asv_flagged / N <= 0.7
