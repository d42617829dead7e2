"""Validation row 17 (Lee et al., Blood 2007;110:4576; anchors.md §4.4): unrelated-donor marrow
transplants, 1-year survival 52 % (8/8) vs 43 % (7/8), tolerance ± 5 %; and 31 % 1-year survival
after graft failure (Rondón et al., BBMT 2008;14:859).

The transplant model runs here (300 virtual patients per arm over 365 days, a seed other than the
calibration's): graft failure, engraftment and neutropenia come from the simulated course, and the
shipped mortality parameters turn them into survival. Nothing is hard-coded.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest

from marrowsim.clinical import mortality
from marrowsim.parameters import default_parameters
from marrowsim.validation import calibrate_mortality as cal


@functools.cache
def cohort():
    return cal.simulate_cohort(n=300, seed=2007)


def test_row17_one_year_survival_8_of_8_vs_7_of_8():
    got = cal.survival(cohort(), default_parameters())
    assert got["survival_8of8"] == pytest.approx(0.52, abs=0.05)
    assert got["survival_7of8"] == pytest.approx(0.43, abs=0.05)
    assert got["survival_7of8"] < got["survival_8of8"]


def test_survival_after_graft_failure():
    got = cal.survival(cohort(), default_parameters())
    assert got["survival_after_graft_failure"] == pytest.approx(0.31, abs=0.05)


def test_sampled_deaths_agree_with_the_row17_survival():
    c = cohort()
    rng = np.random.default_rng(17)
    for grade, target in (("8/8", 0.52), ("7/8", 0.43)):
        outs = c.outcomes[grade]
        n = outs["donor_relation"].size
        survived = []
        for _ in range(20):  # 20 × 300 sampled patients per arm
            day, _cause = mortality.death_day_and_cause(outs, c.covariates, rng.random(n))
            survived.append(np.isnan(day) | (day > 365))
        assert float(np.mean(survived)) == pytest.approx(target, abs=0.05)


def test_graft_failure_in_the_cohort_comes_from_the_model():
    c = cohort()
    assert c.n_failed == 0
    for grade in ("8/8", "7/8"):
        outs = c.outcomes[grade]
        failed = outs["primary_graft_failure"] | outs["secondary_graft_failure"]
        assert np.all(np.isfinite(outs["graft_failure_day"][failed]))
        assert np.all(np.isnan(outs["graft_failure_day"][~failed]))
