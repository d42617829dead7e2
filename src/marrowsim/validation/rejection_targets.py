"""Graft-failure targets of host-versus-graft rejection as runnable scenarios and measures.

One place for the scenarios that the rejection calibration (``calibrate_rejection.py``) is fitted
to and the validation report (``validation_scenarios.py``) checks:

* unrelated-donor marrow after busulfan/cyclophosphamide with ciclosporin + methotrexate, 8/8 vs
  7/8 (the transplants behind validation row 17 and the ``urd-8of8-vs-7of8`` cohort): graft
  failure about 5 % in unrelated-donor transplantation (Spellman et al., Blood 2010;115:2704,
  introduction) and an odds ratio of 2.81 (1.74-4.54) for 7/8 vs 8/8 (Horan et al.,
  Blood 2012;120:2918, abstract: 663 unrelated-donor transplants for non-malignant diseases);
* haploidentical marrow after rabbit ATG, fludarabine, cyclophosphamide and 2 or 4 Gy TBI with
  post-transplant cyclophosphamide (Bolaños-Meade et al., Lancet Haematol 2019; anchors.md §3.2):
  graft failure 50 % with 2 Gy and 1 of 17 with 4 Gy.

Graft failure is primary or secondary graft failure by the ASTCT definitions of ``outcomes.py``;
for the haploidentical series, where the host recovers its own hematopoiesis after rejection, it
also counts a loss of the graft (donor myeloid chimerism below 5 % at the last day).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marrowsim.validation.population import Population

UNRELATED_MARROW_GRAFT_FAILURE = 0.05  # Spellman 2010: ~5 % in unrelated-donor HCT
MISMATCH_ODDS_RATIO = 2.81  # Horan 2012: 7/8 vs 8/8, 95 % CI 1.74-4.54
MISMATCH_ODDS_RATIO_CI = (1.74, 4.54)
HAPLO_GRAFT_FAILURE = {2: 0.5, 4: 1 / 17}  # Bolaños-Meade 2019: TBI Gy -> graft failure
RULES = ("Transfuse platelets when PLT < 10 10^9/L", "Transfuse RBC when Hb < 7 g/dL")
LOST_GRAFT_CHIMERISM = 0.05


def unrelated_marrow(name: str, hla_match: str, *, days: int = 365) -> dict[str, Any]:
    """The ``urd-8of8-vs-7of8`` transplant for a typical adult (its cohort covariates aside)."""
    return {
        "name": name,
        "days": days,
        "start_day": -8,
        "seed": 0,
        "patient": {"age_years": 40, "weight_kg": 75, "sex": "male", "diagnosis": "AML"},
        "donor": {"relation": "unrelated", "hla_match": hla_match},
        "graft": {"source": "bone_marrow", "cd34_per_kg": 2.5e6},
        "conditioning": {"regimen": "BuCy"},
        "protocol": {
            "steps": [
                "Cyclosporine 1.5 mg/kg IV twice daily on days -1 to 180",
                "Methotrexate 15 mg/m^2 IV on day 1",
                "Methotrexate 10 mg/m^2 IV on days 3, 6, 11",
            ],
            "rules": list(RULES),
        },
    }


def haploidentical_marrow(name: str, tbi_gy: float, *, days: int = 365) -> dict[str, Any]:
    """Bolaños-Meade 2019: haploidentical marrow for sickle cell disease, PTCy platform.

    The conditioning is the ``FluCyTBI-haplo`` regimen with the TBI dose of the arm; sirolimus and
    mycophenolate from day 5 (the Hopkins schedule, not in the abstract: assumption). Marrow dose
    4e6 CD34+/kg (assumption: the abstract gives none).
    """
    return {
        "name": name,
        "days": days,
        "start_day": -10,
        "seed": 0,
        "patient": {"age_years": 25, "weight_kg": 65, "sex": "male", "diagnosis": "sickle_cell"},
        "donor": {"relation": "haploidentical"},
        "graft": {"source": "bone_marrow", "cd34_per_kg": 4e6},
        "conditioning": {
            "steps": [
                "ATG 0.5 mg/kg IV on day -9",
                "ATG 2 mg/kg IV daily on days -8 to -7",
                "Fludarabine 30 mg/m^2 IV daily on days -6 to -2",
                "Cyclophosphamide 14.5 mg/kg IV daily on days -6 to -5",
                f"TBI {tbi_gy:g} Gy on day -1",
                "Infuse graft on day 0",
                "Cyclophosphamide 50 mg/kg IV daily on days 3 to 4",
            ]
        },
        "protocol": {
            "steps": [
                "Sirolimus 2 mg PO daily on days 5 to 365",
                "Mycophenolate 15 mg/kg PO three times daily on days 5 to 35",
            ],
            "rules": list(RULES),
        },
    }


def graft_failure(pop: Population, mapping: dict[str, Any], *, lost_graft: bool = False):
    """Per patient of a population: primary or secondary graft failure (and, with ``lost_graft``,
    donor myeloid chimerism below 5 % on the last day). Failed integrations count as NaN."""
    from marrowsim.model.observables import OB
    from marrowsim.outcomes import OUTCOME_INPUTS, compute_batch_outcomes

    n = pop.observables.shape[0]
    series = {k: pop.observables[:, :, OB[k]] for k in OUTCOME_INPUTS}
    out = compute_batch_outcomes(
        pop.days,
        series,
        graft_source=[mapping["graft"]["source"]] * n,
        donor_relation=[mapping["donor"]["relation"]] * n,
    )
    failed = out["primary_graft_failure"] | out["secondary_graft_failure"]
    if lost_graft:
        chimerism = pop.observables[:, -1, OB["donor_chimerism_myeloid"]]
        failed = failed | (chimerism < LOST_GRAFT_CHIMERISM)
    return np.where(pop.ok, failed.astype(float), np.nan)


def odds_ratio(p_arm: float, p_reference: float) -> float:
    """Odds of the arm over the odds of the reference (inf when the reference has none)."""
    if p_reference <= 0.0 or p_arm >= 1.0:
        return float("inf")
    return (p_arm / (1.0 - p_arm)) / (p_reference / (1.0 - p_reference))
