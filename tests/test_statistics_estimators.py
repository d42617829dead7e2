"""Aalen–Johansen, Kaplan–Meier and log-rank against scikit-survival and analytic answers.

Reference: scikit-survival 0.28 ``cumulative_incidence_competing_risks`` (ties handled natively)
and ``kaplan_meier_estimator``; ``../shared/science/clinical.md`` §4.1 (1 − KM overstates
incidence when deaths are censored).
"""

from __future__ import annotations

import numpy as np
import pytest

from marrowsim.cohort.estimators import aalen_johansen, kaplan_meier, logrank_test
from marrowsim.errors import InputError

sksurv_np = pytest.importorskip("sksurv.nonparametric")


def heavy_ties(seed: int, n: int = 400, days: int = 30):
    """Day-resolution times (many ties) with three causes and censoring."""
    rng = np.random.default_rng(seed)
    time = rng.integers(0, days, n).astype(float)
    event = rng.choice([0, 1, 2, 3], n, p=[0.2, 0.5, 0.2, 0.1])
    return time, event


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("cause", [1, 2, 3])
def test_aalen_johansen_matches_sksurv_with_heavy_ties(seed, cause):
    time, event = heavy_ties(seed)
    x, cif, ci = sksurv_np.cumulative_incidence_competing_risks(event, time, conf_type="log-log")
    ours = aalen_johansen(time, event, cause)
    np.testing.assert_array_equal(ours.times, x)
    np.testing.assert_allclose(ours.cif, cif[cause], atol=1e-10, rtol=0)
    np.testing.assert_allclose(ours.lower, ci[cause, 0], atol=1e-10, rtol=0)
    np.testing.assert_allclose(ours.upper, ci[cause, 1], atol=1e-10, rtol=0)


def test_cif_without_competing_events_is_one_minus_km():
    time, event = heavy_ties(5)
    event = np.where(event > 0, 1, 0)
    cif = aalen_johansen(time, event, 1)
    km = kaplan_meier(time, event)
    np.testing.assert_allclose(cif.cif, 1.0 - km.survival, atol=1e-12)


def test_analytic_small_example():
    # 4 subjects: cause 1 at day 1, cause 2 at day 2, censored day 2, cause 1 at day 3.
    r = aalen_johansen([1, 2, 2, 3], [1, 2, 0, 1], 1)
    # F1(1) = 1/4; S(1) = 3/4; at day 2 no cause-1; S(2) = 3/4 * (1 - 1/3) = 1/2;
    # F1(3) = 1/4 + 1/2 * 1/1 = 3/4.
    assert r.at(0.5) == 0.0
    assert r.at(1) == pytest.approx(0.25)
    assert r.at(2.5) == pytest.approx(0.25)
    assert r.at(3) == pytest.approx(0.75)


def test_naive_one_minus_km_overstates_incidence():
    """clinical.md §4.1: censoring deaths and taking 1 − KM overstates engraftment."""
    rng = np.random.default_rng(11)
    n = 200
    engraft = rng.integers(12, 25, n).astype(float)
    death = rng.integers(3, 30, n).astype(float)
    dies_first = (rng.random(n) < 0.08) & (death < engraft)
    time = np.where(dies_first, death, engraft)
    event = np.where(dies_first, 2, 1)
    aj = aalen_johansen(time, event, 1).at(30)
    naive = 1.0 - kaplan_meier(time, event == 1).at(30)
    assert naive == pytest.approx(1.0)
    assert aj == pytest.approx(1.0 - dies_first.mean())
    assert naive > aj


def test_all_censored_gives_zero_incidence_and_flat_survival():
    r = aalen_johansen([3, 4, 5], [0, 0, 0], 1, n_causes=2)
    assert np.all(r.cif == 0) and np.all(r.lower == 0) and np.all(r.upper == 0)
    km = kaplan_meier([3, 4, 5], [0, 0, 0])
    assert np.all(km.survival == 1.0)


def test_times_argument_resamples_the_step_function():
    time, event = heavy_ties(3)
    full = aalen_johansen(time, event, 1)
    grid = [-1, 0, 7.5, 14, 100]
    r = aalen_johansen(time, event, 1, times=grid)
    np.testing.assert_array_equal(r.times, grid)
    assert r.cif[0] == 0.0
    for day, value in zip(grid, r.cif, strict=True):
        assert value == full.at(day)
    assert r.n_at_risk[-1] == 0
    assert r.n_at_risk[1] == len(time)


def test_number_at_risk():
    r = kaplan_meier([1, 2, 2, 5], [1, 1, 0, 1])
    assert [r.number_at_risk(d) for d in (0, 2, 3, 6)] == [4, 3, 1, 0]
    assert r.at(-1) == 1.0 and r.interval_at(-1) == (1.0, 1.0)


def test_kaplan_meier_matches_sksurv():
    time, event = heavy_ties(7)
    _x, s, ci = sksurv_np.kaplan_meier_estimator(event > 0, time, conf_type="log-log")
    r = kaplan_meier(time, event)
    np.testing.assert_allclose(r.survival, s, atol=1e-12)
    np.testing.assert_allclose(r.lower, np.nan_to_num(ci[0]), atol=1e-10)
    np.testing.assert_allclose(r.upper, np.nan_to_num(ci[1]), atol=1e-10)


def test_logrank_matches_sksurv():
    from sksurv.compare import compare_survival

    rng = np.random.default_rng(2)
    ta, tb = np.round(rng.exponential(10, 80)), np.round(rng.exponential(15, 90))
    ea, eb = rng.random(80) < 0.8, rng.random(90) < 0.8
    ours = logrank_test(ta, ea, tb, eb)
    y = np.array(
        list(zip(np.r_[ea, eb], np.r_[ta, tb], strict=True)), dtype=[("e", bool), ("t", float)]
    )
    stat, p = compare_survival(y, np.r_[np.zeros(80), np.ones(90)])
    assert ours.statistic == pytest.approx(stat, rel=1e-10)
    assert ours.p_value == pytest.approx(p, rel=1e-8)


def test_logrank_identical_groups_and_no_events():
    same = logrank_test([1, 2, 3], [1, 1, 1], [1, 2, 3], [1, 1, 1])
    assert same.statistic == pytest.approx(0.0) and same.p_value == pytest.approx(1.0)
    none = logrank_test([1, 2], [0, 0], [1, 2], [0, 0])
    assert none.p_value == 1.0


@pytest.mark.parametrize(
    ("time", "event", "cause", "message"),
    [
        ([], [], 1, "empty"),
        ([1, 2], [1], 1, "differ in length"),
        ([1, -2], [1, 1], 1, "non-negative"),
        ([1, np.nan], [1, 1], 1, "finite"),
        ([1, 2], [1, 1.5], 1, "event codes"),
        ([1, 2], [1, -1], 1, "event codes"),
        ([1, 2], [1, 2], 3, "unknown cause code 3"),
        ([1, 2], [1, 2], 0, "positive integer"),
        ([1, 2], [1, 2], True, "positive integer"),
    ],
)
def test_aalen_johansen_rejects_bad_input(time, event, cause, message):
    with pytest.raises(InputError, match=message):
        aalen_johansen(time, event, cause)


def test_unknown_cause_with_n_causes():
    with pytest.raises(InputError, match="unknown cause code 3"):
        aalen_johansen([1, 2], [1, 3], 1, n_causes=2)
    with pytest.raises(InputError, match="unknown cause code 3"):
        aalen_johansen([1, 2], [1, 2], 3, n_causes=2)
    assert aalen_johansen([1, 2], [1, 1], 2, n_causes=2).at(5) == 0.0


def test_bad_confidence_and_times():
    with pytest.raises(InputError, match="confidence"):
        kaplan_meier([1], [1], confidence=1.5)
    with pytest.raises(InputError, match="times must be"):
        kaplan_meier([1], [1], times=[])
