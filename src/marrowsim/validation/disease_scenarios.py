"""Scenarios and population statistics of the disease models (calibration and validation).

Shared by ``calibrate_leukemia.py``, ``calibrate_aplastic_anemia.py``, the validation report
(``disease_checks.py``) and the tests, so that every number is produced by one definition.
Patients, regimens and schedules are assumptions typical of the cited cohorts (documented in
``docs/disease.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marrowsim.disease_outcomes import relapse_day_batch, saa_criteria_batch
from marrowsim.model.observables import OB
from marrowsim.validation.population import Population

ADULT = {"age_years": 45, "weight_kg": 75, "height_cm": 175, "sex": "male"}
RULES = ("Transfuse platelets when PLT < 10 10^9/L", "Transfuse RBC when Hb < 7 g/dL")
MAC_PROPHYLAXIS = (
    "Cyclosporine 1.5 mg/kg IV twice daily on days -1 to 180",
    "Methotrexate 15 mg/m^2 IV on day 1",
    "Methotrexate 10 mg/m^2 IV on days 3, 6, 11",
)
RELAPSE_HORIZON_DAYS = 730  # Walter 2011 reports 2-year relapse
MRD_DETECTION_LIMIT = 1e-4  # multiparameter flow cytometry (assumption: 0.01 %)

HORSE_ATG = "hATG 40 mg/kg IV daily on days 0 to 3"  # anchors.md §3.4 (NIH regimen)
RABBIT_ATG = "ATG 3.5 mg/kg IV daily on days 0 to 4"  # Scheinberg 2011 rabbit arm (assumption)
CYCLOSPORINE = "Cyclosporine 5 mg/kg PO twice daily on days 0 to 180"  # anchors.md §3.4
ELTROMBOPAG = "Eltrombopag 150 mg PO daily from day 0 until day 180"  # Townsley 2017 dose
IST_REGIMENS: dict[str, tuple[str, ...]] = {
    "hATG": (HORSE_ATG,),
    "hATG+CsA": (HORSE_ATG, CYCLOSPORINE),
    "rATG+CsA": (RABBIT_ATG, CYCLOSPORINE),
    "hATG+CsA+eltrombopag": (HORSE_ATG, CYCLOSPORINE, ELTROMBOPAG),
}
SAA_START_DAY = -60  # the marrow is already hypocellular 60 days before treatment starts
SAA_PATIENT = {"age_years": 30, "weight_kg": 70, "height_cm": 172, "sex": "male"}
SAA_TRANSPLANT = {
    "donor": {"relation": "matched_sibling", "hla_match": "8/8"},
    "graft": {"source": "bone_marrow", "cd34_per_kg": 3.0e6},
    "conditioning": {
        "steps": [
            "Cyclophosphamide 50 mg/kg IV daily on days -5 to -2",
            "ATG 2.5 mg/kg IV daily on days -4 to -2",
            "Infuse graft on day 0",
        ]
    },
    "protocol": {"steps": list(MAC_PROPHYLAXIS), "rules": list(RULES)},
}


def stiehl_untreated(days: int = 400, lsc_per_kg: float = 1.0) -> dict[str, Any]:
    """Untreated AML from one leukemic stem cell per kg (Stiehl 2015 Fig. 3A)."""
    return {
        "name": "aml-untreated-one-lsc",
        "days": days,
        "patient": {**ADULT, "weight_kg": 70, "diagnosis": "AML"},
        "disease": {"leukemic_stem_cells_per_kg": lsc_per_kg},
    }


def aml_transplant(
    name: str,
    *,
    relation: str = "matched_sibling",
    mrd_fraction: float | None = None,
    cd34_selected: bool = False,
    days: int = RELAPSE_HORIZON_DAYS,
) -> dict[str, Any]:
    """AML in remission: Bu/Cy, G-CSF-mobilized blood graft (6e6 CD34+/kg); allogeneic grafts
    with ciclosporin + methotrexate. ``mrd_fraction=None``: each patient's own prior draw."""
    allogeneic = relation != "autologous"
    donor = {"relation": relation, **({"hla_match": "8/8"} if allogeneic else {})}
    return {
        "name": name,
        "days": days,
        "start_day": -8,
        "patient": {**ADULT, "diagnosis": "AML"},
        "donor": donor,
        "graft": {"source": "peripheral_blood", "cd34_per_kg": 6e6, "cd34_selected": cd34_selected},
        "conditioning": {"regimen": "BuCy"},
        "protocol": {"steps": list(MAC_PROPHYLAXIS) if allogeneic else [], "rules": list(RULES)},
        "disease": {} if mrd_fraction is None else {"mrd_fraction": mrd_fraction},
    }


def saa_ist(name: str, steps: tuple[str, ...], *, days: int = 180) -> dict[str, Any]:
    """Severe aplastic anemia treated with immunosuppression from day 0."""
    return {
        "name": name,
        "days": days,
        "start_day": SAA_START_DAY,
        "patient": {**SAA_PATIENT, "diagnosis": "aplastic_anemia"},
        "protocol": {"steps": list(steps), "rules": list(RULES)},
        "disease": {},
    }


def saa_transplant(name: str = "saa-sibling-bmt", *, days: int = 180) -> dict[str, Any]:
    """Severe aplastic anemia: matched-sibling marrow after Cy 200 mg/kg + rabbit ATG."""
    base = saa_ist(name, (), days=days)
    return {**base, **SAA_TRANSPLANT}


# --- population statistics ------------------------------------------------------------------
def _series(pop: Population, name: str) -> np.ndarray:
    return pop.observables[:, :, OB[name]]


def relapse_days(pop: Population) -> np.ndarray:
    """Per patient: day of morphologic relapse (blasts >= 5 %), NaN if none."""
    return relapse_day_batch(pop.days, _series(pop, "marrow_blasts_percent"))


def starting_mrd(pop: Population) -> np.ndarray:
    """Per patient: leukemic cells per marrow cell on the first morning."""
    return _series(pop, "marrow_blasts_fraction")[:, 0]


def day_to_blasts(pop: Population, percent: float) -> np.ndarray:
    """Per patient: first day with marrow blasts >= ``percent`` (NaN if never)."""
    b = _series(pop, "marrow_blasts_percent")
    hit = b >= percent
    first = np.argmax(hit, axis=1)
    return np.where(hit.any(axis=1), pop.days[first], np.nan).astype(float)


def saa_on_day(pop: Population, day: int) -> np.ndarray:
    """Per patient: severe aplastic anemia criteria met on ``day`` (1.0/0.0, NaN unknown)."""
    i = int(np.searchsorted(pop.days, day))
    counts = [_series(pop, k)[:, i] for k in ("anc", "reticulocytes", "platelets_endogenous")]
    return saa_criteria_batch(*counts)


def response_rate(pop: Population, day: int = 180) -> tuple[float, int]:
    """Fraction no longer meeting the SAA criteria on ``day`` among the patients meeting them
    on day 0 (the trial's eligible patients), and their number."""
    eligible = (saa_on_day(pop, 0) == 1.0) & pop.ok
    if not eligible.any():
        return float("nan"), 0
    responded = saa_on_day(pop, day)[eligible] == 0.0
    return float(responded.mean()), int(eligible.sum())
