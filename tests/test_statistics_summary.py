"""Arm summaries: engraftment competing risks, medians, Wilson/Newcombe intervals, comparisons.

Reference values: Wilson interval for 81/263 from Newcombe, Stat Med 1998;17:857, Table I
(0.2553–0.3662); Newcombe 1998 (Stat Med 17:873) Table II example 56/70 vs 48/80, method 10:
difference 0.2000, CI 0.0524–0.3339.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers import ARM_SUMMARY_KEYS
from marrowsim.cohort.statistics import (
    DIED_BEFORE_ENGRAFTMENT,
    ENGRAFTED,
    compare_arms,
    difference_of_medians,
    difference_of_proportions,
    engraftment_competing_risks,
    engraftment_incidence,
    median_iqr,
    proportion_ci,
    summarise_arm,
)
from marrowsim.errors import InputError, UnknownNameError


def synthetic_arm(seed: int, n: int = 120, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    anc = np.round(rng.normal(15 + shift, 3, n))
    plt = anc + np.round(rng.normal(5, 2, n))
    death = np.where(rng.random(n) < 0.1, np.round(rng.uniform(5, 60, n)), np.nan)
    anc = np.where(death < anc, np.nan, anc)
    plt = np.where(death < plt, np.nan, plt)
    failure = rng.random(n) < 0.05
    anc = np.where(failure, np.nan, anc)
    plt = np.where(failure, np.nan, plt)
    return pd.DataFrame(
        {
            "neutrophil_engraftment_day": anc,
            "platelet_engraftment_day": plt,
            "primary_graft_failure": failure,
            "death_day": death,
            "followup_days": np.full(n, 100.0),
        }
    )


def test_median_iqr_ignores_nan_and_reports_n():
    r = median_iqr([1, 2, 3, 4, np.nan])
    assert (r.median, r.q1, r.q3, r.n, r.n_missing) == (2.5, 1.75, 3.25, 4, 1)
    empty = median_iqr([np.nan, np.nan])
    assert math.isnan(empty.median) and empty.n == 0 and empty.n_missing == 2


def test_wilson_interval_reference_value():
    p = proportion_ci(81, 263)
    assert p.lower == pytest.approx(0.2553, abs=1e-4)
    assert p.upper == pytest.approx(0.3662, abs=1e-4)
    assert proportion_ci(0, 10).lower == 0.0
    assert proportion_ci(10, 10).upper == 1.0


@pytest.mark.parametrize(("k", "n"), [(1, 0), (-1, 5), (6, 5), (1.5, 5)])
def test_proportion_ci_rejects_bad_counts(k, n):
    with pytest.raises(InputError, match="0 <= k <= n"):
        proportion_ci(k, n)


def test_proportion_ci_rejects_bad_confidence():
    with pytest.raises(InputError, match="confidence"):
        proportion_ci(1, 2, confidence=0)


def test_newcombe_difference_reference_value():
    d = difference_of_proportions(48, 80, 56, 70)
    assert d.estimate == pytest.approx(0.2)
    assert d.lower == pytest.approx(0.0524, abs=1e-4)
    assert d.upper == pytest.approx(0.3339, abs=1e-4)


def test_difference_of_medians_is_seeded_and_covers_truth():
    a, b = np.arange(1, 101, dtype=float), np.arange(1, 101, dtype=float) + 5
    r1 = difference_of_medians(a, b, seed=3)
    r2 = difference_of_medians(a, b, seed=3)
    assert r1 == r2
    assert r1.estimate == 5.0 and r1.lower <= 5.0 <= r1.upper
    assert "seed 3" in r1.method


def test_difference_of_medians_edge_cases():
    with pytest.raises(InputError, match="n_bootstrap"):
        difference_of_medians([1], [2], seed=0, n_bootstrap=10)
    with pytest.raises(InputError, match="both arms"):
        difference_of_medians([], [2], seed=0)
    r = difference_of_medians([np.nan], [1.0], seed=0)
    assert math.isnan(r.estimate) and math.isnan(r.lower)


def test_engraftment_competing_risks_codes():
    time, event = engraftment_competing_risks(
        [14, np.nan, np.nan, 120, 10], [np.nan, 8, np.nan, np.nan, 10], [100, 100, 90, 100, 100]
    )
    np.testing.assert_array_equal(time, [14, 8, 90, 100, 10])
    np.testing.assert_array_equal(event, [ENGRAFTED, DIED_BEFORE_ENGRAFTMENT, 0, 0, ENGRAFTED])
    # death after the end of follow-up is not observed
    t, e = engraftment_competing_risks([np.nan], [150], [100])
    assert (t[0], e[0]) == (100, 0)


@pytest.mark.parametrize(
    ("eng", "death", "fu", "message"),
    [
        ([1, 2], [np.nan], [10], "lengths differ"),
        ([], [], [], "empty"),
        ([5], [np.nan], [np.nan], "followup_days"),
        ([5], [np.nan], [-1], "followup_days"),
        ([-3], [np.nan], [10], "engraftment day must be >= 0"),
        ([5], [-1], [10], "death_day must be >= 0"),
        ([12], [10], [100], "engraftment after death"),
    ],
)
def test_engraftment_competing_risks_rejects(eng, death, fu, message):
    with pytest.raises(InputError, match=message):
        engraftment_competing_risks(eng, death, fu)


def test_summarise_arm_keys_and_values():
    df = synthetic_arm(0)
    s = summarise_arm(df)
    assert set(ARM_SUMMARY_KEYS) <= set(s)
    assert s["n"] == 120
    engrafted = df["neutrophil_engraftment_day"].dropna()
    assert s["neutrophil_engraftment_day_median"] == engrafted.median()
    assert s["neutrophil_n_engrafted"] == engrafted.size
    # every patient is followed to day 100, so the CIF at 42 is the observed fraction
    assert s["cif_neutrophil_day42"] == pytest.approx((engrafted <= 42).sum() / 120)
    lo, hi = s["cif_neutrophil_day28_ci"]
    assert lo <= s["cif_neutrophil_day28"] <= hi
    assert s["primary_graft_failure_fraction"] == pytest.approx(df.primary_graft_failure.mean())


def test_summarise_arm_counts_secondary_graft_failure_when_given():
    df = synthetic_arm(0)
    assert "graft_failure_fraction" not in summarise_arm(df)
    secondary = np.zeros(len(df), dtype=bool)
    secondary[np.flatnonzero(~df.primary_graft_failure.to_numpy())[:6]] = True
    s = summarise_arm(df.assign(secondary_graft_failure=secondary))
    assert s["graft_failure_fraction"] == pytest.approx(df.primary_graft_failure.mean() + 6 / 120)
    lo, hi = s["graft_failure_fraction_ci"]
    assert lo <= s["graft_failure_fraction"] <= hi
    assert s["primary_graft_failure_fraction"] == pytest.approx(df.primary_graft_failure.mean())
    other = synthetic_arm(1).assign(secondary_graft_failure=False)
    diff = compare_arms(df.assign(secondary_graft_failure=secondary), other, seed=0)
    expected = other.primary_graft_failure.mean() - s["graft_failure_fraction"]
    assert diff["graft_failure_fraction_difference"]["estimate"] == pytest.approx(expected)
    assert "graft_failure_fraction_difference" not in compare_arms(df, other, seed=0)


def test_engraftment_incidence_unknown_lineage():
    with pytest.raises(UnknownNameError, match="did you mean 'platelet'"):
        engraftment_incidence(synthetic_arm(0), "platelets")


def test_summarise_arm_rejects_bad_tables():
    with pytest.raises(InputError, match="lacks columns"):
        summarise_arm(pd.DataFrame({"neutrophil_engraftment_day": [1.0]}))
    with pytest.raises(InputError, match="empty"):
        summarise_arm(synthetic_arm(0).iloc[:0])
    bad = synthetic_arm(0)
    bad["primary_graft_failure"] = bad["primary_graft_failure"].astype(object)
    bad.loc[3, "primary_graft_failure"] = None
    with pytest.raises(InputError, match="missing in rows \\[3\\]"):
        summarise_arm(bad)
    with pytest.raises(InputError, match="DataFrame"):
        summarise_arm([1, 2, 3])  # type: ignore[arg-type]


def test_compare_arms_detects_a_shift():
    a, b = synthetic_arm(1, n=150), synthetic_arm(2, n=150, shift=4)
    r = compare_arms(a, b, seed=7, n_bootstrap=500)
    diff = r["neutrophil_engraftment_day_median_difference"]
    assert diff["lower"] <= 4 <= diff["upper"] + 1
    assert r["neutrophil_engraftment_logrank"]["p_value"] < 1e-3
    pgf = r["primary_graft_failure_fraction_difference"]
    assert pgf["lower"] <= pgf["estimate"] <= pgf["upper"]
    assert compare_arms(a, b, seed=7, n_bootstrap=500) == r


def test_summarise_arm_when_nobody_engrafts():
    df = pd.DataFrame(
        {
            "neutrophil_engraftment_day": [np.nan, np.nan],
            "platelet_engraftment_day": [np.nan, np.nan],
            "primary_graft_failure": [True, True],
            "death_day": [20.0, np.nan],
            "followup_days": [100.0, 100.0],
        }
    )
    s = summarise_arm(df)
    assert s["cif_neutrophil_day42"] == 0.0 and s["cif_platelet_day28_ci"] == [0.0, 0.0]
    assert math.isnan(s["neutrophil_engraftment_day_median"])
    assert s["primary_graft_failure_fraction"] == 1.0 and s["deaths"] == 1
