"""Patient age and health as scenario inputs, and the risk outcomes of ``marrowsim simulate``.

HCT-CI (Sorror et al., Blood 2005;106:2912), HCT-CI/age (+1 at age >= 40: Sorror et al., J Clin
Oncol 2014;32:3249, abstract), 2-year NRM by HCT-CI group (ElSawy et al., Br J Haematol
2015;170:574), Karnofsky 0-100 in steps of 10 (clinical.md §2.5).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from marrowsim.cli import main
from marrowsim.clinical import mortality
from marrowsim.clinical.patient_risk import mortality_inputs, patient_risk_outcomes
from marrowsim.errors import ScenarioError
from marrowsim.scenario import load_scenario, scenario_from_mapping


def allo(**patient):
    base = {"age_years": 52, "weight_kg": 70, "sex": "female", "diagnosis": "AML"}
    return scenario_from_mapping(
        {
            "name": "risk",
            "days": 100,
            "patient": {**base, **patient},
            "donor": {"relation": "unrelated", "hla_match": "7/8"},
            "graft": {"source": "peripheral_blood", "cd34_per_kg": 5e6},
        },
        where="risk.toml",
    )


ENGRAFTED = {
    "neutrophil_engraftment_day": 15,
    "primary_graft_failure": False,
    "secondary_graft_failure": False,
    "graft_failure_day": None,
    "days_anc_below_0_5": 14,
}


def test_comorbidity_names_are_checked_at_load_with_a_suggestion():
    with pytest.raises(ScenarioError, match=r"did you mean 'diabetes'\?") as info:
        allo(comorbidities=["diabetis"])
    assert info.value.args[0].startswith("risk.toml: patient.comorbidities: ")
    assert "\n" not in str(info.value)


def test_karnofsky_must_be_in_steps_of_ten():
    with pytest.raises(ScenarioError, match="nearest: 80"):
        allo(karnofsky=84)
    assert allo(karnofsky=80).patient.karnofsky == 80


def test_scores_from_scenario_inputs():
    sc = allo(comorbidities=["diabetes", "hepatic_mild", "pulmonary_severe"], karnofsky=80)
    out = patient_risk_outcomes(sc)
    assert out["hct_ci_score"] == 5 and out["hct_ci_risk_group"] == "high"
    assert out["hct_ci_age_score"] == 6  # + 1 for age >= 40 (Sorror 2014)
    assert out["karnofsky"] == 80
    assert out["hct_ci_nrm_2year_published"] == 0.39  # ElSawy 2015, HCT-CI >= 3
    assert out["hla_grade_8"] == "7/8" and out["hla_mismatches_8"] == 1
    assert "survival_probability_1year" not in out  # no simulated outcomes given


def test_empty_comorbidity_list_is_score_zero_and_age_below_40_adds_nothing():
    out = patient_risk_outcomes(allo(age_years=30))
    assert (out["hct_ci_score"], out["hct_ci_risk_group"], out["hct_ci_age_score"]) == (
        0,
        "low",
        0,
    )
    assert out["karnofsky"] is None


def test_model_mortality_uses_the_simulated_course():
    sc = allo(comorbidities=["cardiac"])
    out = patient_risk_outcomes(sc, ENGRAFTED)
    outs, cov = mortality_inputs(sc, ENGRAFTED)
    assert out["survival_probability_1year"] == pytest.approx(
        mortality.survival_probability(365, outs, cov)[0]
    )
    assert 0 < out["nrm_1year_probability"] < out["nrm_2year_probability"] < 1
    assert out["nrm_day100_probability"] is None  # no verified source for day-100 NRM
    failed = patient_risk_outcomes(
        sc, {**ENGRAFTED, "primary_graft_failure": True, "graft_failure_day": 30}
    )
    assert failed["survival_probability_1year"] < out["survival_probability_1year"]
    assert cov["era"][0] == "2000s" and np.isnan(outs["graft_failure_day"][0])


def test_model_mortality_is_none_where_it_does_not_apply():
    short = allo().with_overrides(days=20)
    assert patient_risk_outcomes(short, ENGRAFTED)["survival_probability_1year"] is None
    auto = load_scenario("auto-myeloma-mel200-collection")
    out = patient_risk_outcomes(auto, ENGRAFTED)
    assert out["survival_probability_1year"] is None and out["hct_ci_nrm_2year_published"] is None
    healthy = load_scenario("healthy-adult")
    assert patient_risk_outcomes(healthy, {})["nrm_1year_probability"] is None


def test_simulate_json_carries_the_risk_outcomes(capsys):
    assert main(["simulate", "allo-pbsc-mac", "--days", "60", "--json"]) == 0
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    for key in ("hct_ci_score", "hct_ci_risk_group", "hct_ci_age_score", "karnofsky"):
        assert key in outcomes
    assert outcomes["hla_origin"] == "grade" and outcomes["hla_grade_8"] == "8/8"
    assert 0 < outcomes["survival_probability_1year"] < 1
    assert outcomes["nrm_day100_probability"] is None
