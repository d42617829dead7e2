"""Mortality model: cited anchors reproduced, hazard components, inverse-hazard sampling, inputs.

Anchors: ElSawy et al. Br J Haematol 2015;170:574 (abstract: 2-year NRM 14/23/39 % and OS
74/61/39 % for HCT-CI 0, 1-2, >= 3); Sorror et al. J Clin Oncol 2014;32:3249 (NRM hazard ratios by
age band); Versluis et al. Blood Adv 2017;1:477 (2-year NRM 15 % MRD, 26 % haplo, 29 % cord).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from marrowsim.clinical import mortality as M
from marrowsim.errors import InputError, UnknownNameError
from marrowsim.parameters import default_parameters


def patients(n=1, **over):
    outcomes = {
        "donor_relation": np.full(n, over.pop("relation", "unrelated")),
        "hla_mismatches_8": np.full(n, over.pop("mm", 0)),
        "primary_graft_failure": np.full(n, over.pop("primary", False)),
        "days_anc_below_0_5": np.full(n, over.pop("neutropenic", 14.0)),
    }
    covariates = {
        "age_years": np.full(n, over.pop("age", 45.0)),
        "hct_ci_score": np.full(n, over.pop("score", 0)),
        "diagnosis": np.full(n, over.pop("diagnosis", "AML")),
    }
    for key, value in over.items():
        target = outcomes if key in M.OUTCOME_KEYS else covariates
        target[key] = np.full(n, value)
    return outcomes, covariates


@pytest.mark.parametrize(
    ("score", "nrm", "os"), [(0, 0.14, 0.74), (2, 0.23, 0.61), (5, 0.39, 0.39)]
)
def test_reference_patient_reproduces_elsawy_2015(score, nrm, os):
    o, c = patients(score=score)  # age 45: the reference age band of the baseline
    assert M.nonrelapse_mortality_probability(730, o, c)[0] == pytest.approx(nrm, abs=1e-6)
    assert M.survival_probability(730, o, c)[0] == pytest.approx(os, abs=1e-6)


def test_first_year_share_follows_terwey_2010():
    o, c = patients(diagnosis="aplastic_anemia")  # no relapse hazard: NRM = 1 - S
    h1 = -math.log(M.survival_probability(365, o, c)[0])
    h2 = -math.log(M.survival_probability(730, o, c)[0])
    assert h1 / h2 == pytest.approx(math.log(1 - 0.21) / math.log(1 - 0.24))


def test_age_multiplies_the_transplant_related_hazard_by_sorror_2014_bands():
    ages = [10, 30, 45, 55, 65]
    hr = [1.0, 1.21, 1.48, 1.75, 1.84]
    h = []
    for age in ages:
        o, c = patients(age=age, diagnosis="sickle_cell")
        h.append(M.cumulative_hazards([730], o, c)["transplant_related"][0, 0])
    assert np.allclose(np.array(h) / h[2], np.array(hr) / 1.48)


def test_donor_type_and_hla_mismatch_raise_nonrelapse_mortality():
    ps = default_parameters()
    base = M.cumulative_hazards([730], *patients())["transplant_related"][0, 0]
    haplo = M.cumulative_hazards([730], *patients(relation="haploidentical", mm=4))
    cord = M.cumulative_hazards([730], *patients(relation="cord", mm=2))
    mm1 = M.cumulative_hazards([730], *patients(mm=1))
    related = -math.log(1 - 0.15)
    assert haplo["transplant_related"][0, 0] / base == pytest.approx(-math.log(1 - 0.26) / related)
    assert cord["transplant_related"][0, 0] / base == pytest.approx(-math.log(1 - 0.29) / related)
    ratio = ps.value("hla_mismatch_nrm_hazard_ratio")
    assert mm1["transplant_related"][0, 0] / base == pytest.approx(ratio)
    assert ratio > 1


def test_1990s_era_uses_penack_2020_ratio_for_nrm():
    now = M.cumulative_hazards([365], *patients())["transplant_related"][0, 0]
    then = M.cumulative_hazards([365], *patients(era="1990s"))["transplant_related"][0, 0]
    assert then / now == pytest.approx(math.log(1 - 0.244) / math.log(1 - 0.148))


def test_graft_failure_starts_on_the_declared_day_and_lowers_survival():
    ps = default_parameters()
    rate = ps.value("graft_failure_death_rate")
    h = M.cumulative_hazards([29, 30, 100], *patients(primary=True))["graft_failure"][0]
    assert h == pytest.approx([0.0, 0.0, 70 * rate])
    cord = M.cumulative_hazards([100], *patients(primary=True, relation="cord"))
    assert cord["graft_failure"][0, 0] == pytest.approx(58 * rate)  # cord: day 42
    late = patients(secondary_graft_failure=True, neutrophil_engraftment_day=20.0)
    assert M.cumulative_hazards([100], *late)["graft_failure"][0, 0] == pytest.approx(70 * rate)
    given = patients(primary=True, graft_failure_day=35.0)
    assert M.cumulative_hazards([100], *given)["graft_failure"][0, 0] == pytest.approx(65 * rate)
    s_ok = M.survival_probability(365, *patients())[0]
    s_gf = M.survival_probability(365, *patients(primary=True))[0]
    assert s_gf < s_ok


def test_neutropenia_counts_only_beyond_the_usual_aplasia():
    ps = default_parameters()
    ref, rate = ps.value("neutropenia_reference_days"), ps.value("neutropenia_death_rate")
    short = M.cumulative_hazards([200], *patients(neutropenic=ref - 1))
    long = M.cumulative_hazards([200], *patients(neutropenic=ref + 10))
    assert short["neutropenic_infection"][0, 0] == 0
    assert long["neutropenic_infection"][0, 0] == pytest.approx(10 * rate)
    # a primary graft failure stops the neutropenia window on day 30 (the failure hazard follows)
    failed = M.cumulative_hazards([200], *patients(neutropenic=200, primary=True))
    assert failed["neutropenic_infection"][0, 0] == pytest.approx((30 - ref) * rate)


def test_no_relapse_deaths_without_a_malignancy():
    o, c = patients(diagnosis="beta_thalassemia")
    assert M.cumulative_hazards([730], o, c)["relapse"][0, 0] == 0


# --- sampling -------------------------------------------------------------------------------


def test_sampling_reproduces_the_model_probabilities():
    n = 40_000
    o, c = patients(n, score=2)
    u = np.random.default_rng(4).random(n)
    day, cause = M.death_day_and_cause(o, c, u)
    alive_365 = np.mean(np.isnan(day) | (day > 365))
    assert alive_365 == pytest.approx(M.survival_probability(365, *patients(score=2))[0], abs=0.01)
    nonrelapse = np.isin(cause, M.NONRELAPSE_CAUSES)
    expected = M.nonrelapse_mortality_probability(730, *patients(score=2))[0]
    assert np.mean(nonrelapse) == pytest.approx(expected, abs=0.01)
    assert set(cause) <= {"", *M.CAUSES}
    assert np.all(np.isnan(day) == (cause == ""))
    assert np.nanmax(day) <= 730 and np.nanmin(day) >= 0


def test_same_uniforms_same_deaths_and_horizon():
    o, c = patients(500, primary=True)
    u = np.random.default_rng(1).random(500)
    a = M.death_day_and_cause(o, c, u)
    b = M.death_day_and_cause(o, c, u.copy())
    assert np.array_equal(a[0], b[0], equal_nan=True) and np.array_equal(a[1], b[1])
    short, _ = M.death_day_and_cause(o, c, u, horizon_days=100)
    assert np.nanmax(short) <= 100
    died_by_100 = ~np.isnan(a[0]) & (a[0] <= 100)
    assert np.array_equal(~np.isnan(short), died_by_100)
    assert np.allclose(short[died_by_100], a[0][died_by_100])


def test_inversion_hits_the_cumulative_hazard():
    o, c = patients(3, score=3)
    u = np.array([0.9, 0.7, 0.5])
    day, _ = M.death_day_and_cause(o, c, u)
    h = sum(M.cumulative_hazards(day, o, c).values())
    assert np.diag(h) == pytest.approx(-np.log(u), rel=1e-6)


def test_cause_of_death_follows_the_hazard_of_that_day():
    n = 20_000
    o, c = patients(n, primary=True, diagnosis="aplastic_anemia")
    day, cause = M.death_day_and_cause(o, c, np.random.default_rng(7).random(n))
    assert not np.any(cause[day < 30] == "graft_failure")
    late = day > 400
    h = M.cumulative_hazards([400, 730], o, c)
    share = (h["graft_failure"][0, 1] - h["graft_failure"][0, 0]) / sum(
        v[0, 1] - v[0, 0] for v in h.values()
    )
    assert np.mean(cause[late] == "graft_failure") == pytest.approx(share, abs=0.03)


# --- inputs ---------------------------------------------------------------------------------


def test_bad_inputs_are_one_clear_line():
    o, c = patients(2)
    u = np.array([0.5, 0.5])
    with pytest.raises(InputError, match="allogeneic transplants only"):
        M.death_day_and_cause({**o, "donor_relation": np.array(["autologous"] * 2)}, c, u)
    with pytest.raises(UnknownNameError, match="did you mean 'age_years'"):
        M.death_day_and_cause(o, {**c, "age_year": c["age_years"]}, u)
    with pytest.raises(InputError, match="missing hla_mismatches_8"):
        M.death_day_and_cause({k: v for k, v in o.items() if k != "hla_mismatches_8"}, c, u)
    with pytest.raises(InputError, match="uniforms must be in"):
        M.death_day_and_cause(o, c, np.array([0.5, 1.0]))
    with pytest.raises(InputError, match="expected 2 values"):
        M.death_day_and_cause(o, c, np.array([0.5]))
    with pytest.raises(InputError, match="horizon_days"):
        M.death_day_and_cause(o, c, u, horizon_days=1000)
    with pytest.raises(InputError, match=r"age_years must be 0-120, got -3\.0"):
        M.death_day_and_cause(o, {**c, "age_years": np.array([40.0, -3.0])}, u)
    with pytest.raises(InputError, match="hla_mismatches_8 must be 0-8"):
        M.death_day_and_cause({**o, "hla_mismatches_8": np.array([0, 9])}, c, u)
    with pytest.raises(UnknownNameError, match="unknown era"):
        M.death_day_and_cause(o, {**c, "era": np.array(["1980s"] * 2)}, u)
    with pytest.raises(UnknownNameError, match="did you mean 'AML'"):
        M.death_day_and_cause(o, {**c, "diagnosis": np.array(["AMLL"] * 2)}, u)


def test_karnofsky_is_accepted_without_effect():
    o, c = patients()
    with_kps = {**c, "karnofsky": np.array([60])}
    assert M.survival_probability(365, o, with_kps) == pytest.approx(
        M.survival_probability(365, o, c)
    )
