"""Patient age and health, donor compatibility and mortality as outcomes of one scenario.

:func:`patient_risk_outcomes` adds to the outcomes of ``marrowsim simulate``:

* ``hct_ci_score``, ``hct_ci_risk_group`` (Sorror 2005) from ``[patient] comorbidities``;
  ``hct_ci_age_score`` (HCT-CI/age: +1 at age ≥ 40, Sorror 2014, verified in the abstract);
  ``karnofsky`` as given (or ``None``); ``hct_ci_nrm_2year_published``, the published 2-year NRM
  of the patient's HCT-CI group after allogeneic HCT (ElSawy 2015; ``None`` otherwise);
* for a transplant with a donor: the HLA disparity the model uses
  (:func:`marrowsim.clinical.compatibility.mismatch_summary`);
* for an allogeneic transplant followed past the graft-failure day (30, cord 42), from the
  mortality model (:mod:`marrowsim.clinical.mortality`, no sampling):
  ``nrm_1year_probability``, ``nrm_2year_probability`` and ``survival_probability_1year``, given the
  simulated graft failure and neutropenia. ``nrm_day100_probability`` is ``None``: no verified
  source gives NRM at day 100 (docs/patient-risk.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from marrowsim.clinical.scores import hct_ci, nonrelapse_mortality
from marrowsim.parameters import ParameterSet

if TYPE_CHECKING:
    from marrowsim.scenario import Scenario

ERA = "2000s"  # the era of the HCT-CI baseline; a simulated patient is a contemporary one
MODEL_KEYS = (
    "nrm_day100_probability",
    "nrm_1year_probability",
    "nrm_2year_probability",
    "survival_probability_1year",
)


def _hla_outcomes(scenario: Scenario) -> dict[str, Any]:
    from marrowsim.clinical.compatibility import mismatch_summary

    if scenario.donor is None:
        return {}
    s = mismatch_summary(scenario)
    return {
        "hla_origin": s.origin,
        "hla_grade_8": s.grade_8,
        "hla_mismatches_8": s.mismatches_8,
        "hla_gvh_mismatches_8": s.gvh_mismatches_8,
        "hla_hvg_mismatches_8": s.hvg_mismatches_8,
        "dpb1_tce": s.dpb1_tce,
    }


def mortality_inputs(
    scenario: Scenario, outcomes: Mapping[str, Any]
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None:
    """The one-patient ``outcomes`` and ``covariates`` arrays of the mortality model, or
    ``None`` when it does not apply (no allogeneic graft, or graft failure not yet assessable)."""
    from marrowsim.clinical.compatibility import mismatch_summary
    from marrowsim.outcomes import GRAFT_FAILURE_DAY

    donor, graft = scenario.donor, scenario.graft
    if donor is None or graft is None or donor.relation == "autologous":
        return None
    if scenario.days < GRAFT_FAILURE_DAY[graft.source] or "primary_graft_failure" not in outcomes:
        return None
    engraftment = outcomes.get("neutrophil_engraftment_day")
    failure_day = outcomes.get("graft_failure_day")
    outs = {
        "donor_relation": np.array([donor.relation]),
        "hla_mismatches_8": np.array([mismatch_summary(scenario).mismatches_8]),
        "primary_graft_failure": np.array([bool(outcomes["primary_graft_failure"])]),
        "secondary_graft_failure": np.array([bool(outcomes.get("secondary_graft_failure"))]),
        "days_anc_below_0_5": np.array([float(outcomes["days_anc_below_0_5"])]),
        "neutrophil_engraftment_day": np.array([np.nan if engraftment is None else engraftment]),
        "graft_failure_day": np.array([np.nan if failure_day is None else failure_day]),
    }
    p = scenario.patient
    covariates = {
        "age_years": np.array([p.age_years]),
        "hct_ci_score": np.array([hct_ci(p.comorbidities).score]),
        "diagnosis": np.array([p.diagnosis]),
        "era": np.array([ERA]),
    }
    return outs, covariates


def patient_risk_outcomes(
    scenario: Scenario,
    outcomes: Mapping[str, Any] | None = None,
    parameters: ParameterSet | None = None,
) -> dict[str, Any]:
    """Risk scores, HLA disparity and model mortality of one scenario (see the module doc).

    ``outcomes`` are the simulated ASTCT outcomes (:func:`marrowsim.outcomes.compute_outcomes`);
    without them only the pre-transplant scores are returned.
    """
    from marrowsim.clinical import mortality

    p = scenario.patient
    score = hct_ci(p.comorbidities, age_years=p.age_years)
    out: dict[str, Any] = {
        "hct_ci_score": score.score,
        "hct_ci_risk_group": score.risk_group,
        "hct_ci_age_score": score.age_adjusted_score,
        "karnofsky": p.karnofsky,
        "hct_ci_nrm_2year_published": None,
    }
    donor = scenario.donor
    if donor is not None and donor.relation != "autologous":  # ElSawy 2015: allogeneic HCT
        out["hct_ci_nrm_2year_published"] = nonrelapse_mortality(score.score).probability
    out.update(_hla_outcomes(scenario))
    if outcomes is None:
        return out
    out.update(dict.fromkeys(MODEL_KEYS))
    inputs = mortality_inputs(scenario, outcomes)
    if inputs is None or p.diagnosis == "healthy":
        return out
    outs, covariates = inputs
    mp = mortality.MortalityParameters.from_parameters(parameters)
    for day, key in ((365, "nrm_1year_probability"), (730, "nrm_2year_probability")):
        out[key] = float(mortality.nonrelapse_mortality_probability(day, outs, covariates, mp)[0])
    out["survival_probability_1year"] = float(
        mortality.survival_probability(365, outs, covariates, mp)[0]
    )
    return out
