"""Patient risk scores: HCT-CI (Sorror 2005), HCT-CI/age (Sorror 2014), Karnofsky, NRM by HCT-CI.

Sources (see ``docs/scores.md`` and ``../shared/science/clinical.md`` §2.2, §2.5):

* HCT-CI items, definitions and weights: Sorror et al., Blood 2005;106:2912-2919, as verified
  against pmidcalc.org and the NCI PDQ table (clinical.md §2.2). Mild vs moderate/severe hepatic
  and moderate vs severe pulmonary are mutually exclusive (the higher counts); cardiac and heart
  valve disease are separate items that add up. Risk groups: 0 low, 1–2 intermediate, ≥3 high.
* HCT-CI/age: "age ≥ 40 years was assigned a weight of 1 to be added to the HCT-CI" (Sorror et
  al., J Clin Oncol 2014;32:3249-3256, abstract, PubMed 25154831).
* Karnofsky performance status 0–100 in steps of 10 (clinical.md §2.5).
* Two-year non-relapse mortality by HCT-CI risk group: validation cohorts whose abstracts give
  the numbers (ElSawy et al., Br J Haematol 2015;170:574; Blood 2012;120:1327), stored in
  ``parameters/sets/ElSawy2015.toml`` and ``Raimondi2012.toml``. The development paper's own
  NRM figures (Sorror 2005) are not in its abstract and are not used.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from marrowsim.errors import InputError, UnknownNameError, lookup
from marrowsim.parameters import default_parameters

__all__ = [
    "HCT_CI_ITEMS",
    "KARNOFSKY_DESCRIPTIONS",
    "NRM_SOURCES",
    "Comorbidity",
    "HctCiResult",
    "NonRelapseMortality",
    "hct_ci",
    "hct_ci_risk_group",
    "karnofsky_description",
    "nonrelapse_mortality",
    "validate_karnofsky",
]

HCT_CI_CITATION = "Sorror ML, et al. Blood 2005;106:2912-2919"
HCT_CI_AGE_CITATION = "Sorror ML, et al. J Clin Oncol 2014;32:3249-3256 (PubMed 25154831)"


@dataclass(frozen=True)
class Comorbidity:
    """One HCT-CI item: canonical name, weight, definition, and its exclusive group if any."""

    name: str
    weight: int
    definition: str
    exclusive_group: str | None = None


HCT_CI_ITEMS: tuple[Comorbidity, ...] = (
    Comorbidity("arrhythmia", 1, "AF or flutter, sick sinus syndrome, or ventricular arrhythmias"),
    Comorbidity(
        "cardiac",
        1,
        "coronary artery disease (≥1 vessel stenosis needing treatment, stent or bypass), "
        "congestive heart failure, myocardial infarction, or ejection fraction ≤50%",
    ),
    Comorbidity("inflammatory_bowel_disease", 1, "Crohn's disease or ulcerative colitis"),
    Comorbidity("diabetes", 1, "treated with insulin or oral hypoglycemics, not diet alone"),
    Comorbidity(
        "cerebrovascular_disease", 1, "transient ischemic attack or cerebrovascular accident"
    ),
    Comorbidity("psychiatric_disturbance", 1, "depression or anxiety needing consult or treatment"),
    Comorbidity(
        "hepatic_mild",
        1,
        "chronic hepatitis, bilirubin >ULN to 1.5×ULN, or AST/ALT >ULN to 2.5×ULN",
        "hepatic",
    ),
    Comorbidity("obesity", 1, "BMI >35 (adults); BMI-for-age ≥95th percentile (children)"),
    Comorbidity("infection", 1, "needing antimicrobial treatment continued after day 0"),
    Comorbidity(
        "rheumatologic",
        2,
        "SLE, rheumatoid arthritis, polymyositis, mixed CTD, or polymyalgia rheumatica",
    ),
    Comorbidity("peptic_ulcer", 2, "peptic ulcer needing treatment"),
    Comorbidity(
        "renal_moderate_severe",
        2,
        "serum creatinine >2 mg/dL (177 µmol/L), on dialysis, or prior renal transplantation",
    ),
    Comorbidity(
        "pulmonary_moderate",
        2,
        "DLCO and/or FEV1 66–80%, or dyspnea on slight activity",
        "pulmonary",
    ),
    Comorbidity(
        "prior_solid_tumor",
        3,
        "treated at any time point, excluding non-melanoma skin cancer",
    ),
    Comorbidity("heart_valve_disease", 3, "except asymptomatic mitral valve prolapse"),
    Comorbidity(
        "pulmonary_severe",
        3,
        "DLCO and/or FEV1 ≤65%, dyspnea at rest, or requiring oxygen",
        "pulmonary",
    ),
    Comorbidity(
        "hepatic_moderate_severe",
        3,
        "liver cirrhosis, bilirubin >1.5×ULN, or AST/ALT >2.5×ULN",
        "hepatic",
    ),
)
_BY_NAME = {item.name: item for item in HCT_CI_ITEMS}
# Other spellings users type; each maps to a canonical name above.
_ALIASES = {
    "ibd": "inflammatory_bowel_disease",
    "cerebrovascular": "cerebrovascular_disease",
    "psychiatric": "psychiatric_disturbance",
    "hepatic_moderate": "hepatic_moderate_severe",
    "hepatic_severe": "hepatic_moderate_severe",
    "renal": "renal_moderate_severe",
    "renal_moderate": "renal_moderate_severe",
    "renal_severe": "renal_moderate_severe",
    "prior_solid_tumour": "prior_solid_tumor",
    "solid_tumor": "prior_solid_tumor",
    "heart_valve": "heart_valve_disease",
    "valve": "heart_valve_disease",
    "rheumatological": "rheumatologic",
}
RISK_GROUPS = ("low", "intermediate", "high")


@dataclass(frozen=True)
class HctCiResult:
    """HCT-CI score, its risk group and the items that were counted (name, weight).

    ``superseded`` lists items not counted because a higher item of the same exclusive group
    (hepatic, pulmonary) was present. ``age_adjusted_score`` is HCT-CI/age when an age is given.
    """

    score: int
    risk_group: str
    items: tuple[tuple[str, int], ...]
    superseded: tuple[str, ...] = ()
    age_adjusted_score: int | None = None
    citation: str = HCT_CI_CITATION


def _canonical(name: str) -> str:
    if not isinstance(name, str):
        raise InputError(f"comorbidity names must be strings, got {name!r}")
    key = re.sub(r"[\s\-/]+", "_", name.strip().lower())
    key = _ALIASES.get(key, key)
    if key not in _BY_NAME:
        raise UnknownNameError("HCT-CI comorbidity", name, _BY_NAME, limit=len(_BY_NAME))
    return key


def hct_ci_risk_group(score: int) -> str:
    """HCT-CI risk group: 0 → low, 1–2 → intermediate, ≥3 → high (Sorror 2005)."""
    if isinstance(score, bool) or not isinstance(score, int) or score < 0:
        raise InputError(f"HCT-CI score must be a non-negative integer, got {score!r}")
    return "low" if score == 0 else "intermediate" if score <= 2 else "high"


def hct_ci(comorbidities: Iterable[str], *, age_years: float | None = None) -> HctCiResult:
    """Compute the HCT-CI from comorbidity names (see :data:`HCT_CI_ITEMS`; aliases accepted).

    Repeated names count once. With ``age_years``, also the HCT-CI/age (+1 if age ≥ 40).
    """
    if isinstance(comorbidities, str):
        raise InputError(f"give a list of comorbidity names, not one string: [{comorbidities!r}]")
    present = {_canonical(n) for n in comorbidities}
    best_in_group: dict[str, Comorbidity] = {}
    for name in present:
        item = _BY_NAME[name]
        if item.exclusive_group is None:
            continue
        current = best_in_group.get(item.exclusive_group)
        if current is None or item.weight > current.weight:
            best_in_group[item.exclusive_group] = item
    counted, superseded = [], []
    for item in HCT_CI_ITEMS:  # table order, so results are deterministic
        if item.name not in present:
            continue
        group = item.exclusive_group
        if group is not None and best_in_group[group] is not item:
            superseded.append(item.name)
        else:
            counted.append((item.name, item.weight))
    score = sum(w for _, w in counted)
    age_score = None
    if age_years is not None:
        if not 0 <= float(age_years) <= 120:
            raise InputError(f"age_years must be between 0 and 120, got {age_years!r}")
        age_score = score + (1 if float(age_years) >= 40 else 0)
    return HctCiResult(
        score, hct_ci_risk_group(score), tuple(counted), tuple(superseded), age_score
    )


KARNOFSKY_DESCRIPTIONS: dict[int, str] = {
    100: "normal, no complaints",
    90: "normal activity; minor signs or symptoms",
    80: "normal activity with effort",
    70: "cares for self; unable to do normal activity or active work",
    60: "requires occasional assistance",
    50: "requires considerable assistance and frequent medical care",
    40: "disabled",
    30: "severely disabled; hospitalisation indicated",
    20: "very sick; active supportive treatment needed",
    10: "moribund",
    0: "dead",
}


def validate_karnofsky(score: float) -> int:
    """Return the Karnofsky score as an int; it must be 0–100 in steps of 10."""
    try:
        value = float(score)
    except (TypeError, ValueError):
        raise InputError(f"Karnofsky score must be a number, got {score!r}") from None
    valid = (
        not isinstance(score, bool)
        and math.isfinite(value)
        and value == round(value)
        and int(value) in KARNOFSKY_DESCRIPTIONS
    )
    if not valid:
        allowed = ", ".join(str(k) for k in sorted(KARNOFSKY_DESCRIPTIONS))
        hint = ""
        if math.isfinite(value):
            hint = f"; nearest: {min(KARNOFSKY_DESCRIPTIONS, key=lambda k: abs(k - value))}"
        raise InputError(
            f"Karnofsky score must be 0-100 in steps of 10, got {score!r} "
            f"(allowed: {allowed}{hint})"
        )
    return int(value)


def karnofsky_description(score: float) -> str:
    """The clinical description of a Karnofsky score (clinical.md §2.5)."""
    return KARNOFSKY_DESCRIPTIONS[validate_karnofsky(score)]


NRM_SOURCES = ("ElSawy2015", "Raimondi2012")
_NRM_SUFFIX = {"low": "score0", "intermediate": "score1to2", "high": "score3plus"}


@dataclass(frozen=True)
class NonRelapseMortality:
    """A probability of non-relapse mortality with where it comes from."""

    probability: float
    horizon_days: int
    risk_group: str
    source: str
    location: str
    citation: str
    parameter: str


def nonrelapse_mortality(
    hct_ci_score: int, *, horizon: str = "2 years", source: str = "ElSawy2015"
) -> NonRelapseMortality:
    """Published 2-year NRM of allogeneic HCT recipients in the patient's HCT-CI risk group.

    ``source``: ``ElSawy2015`` (2,523 HLA-matched recipients, five US centres; default) or
    ``Raimondi2012`` (1,937 prospective Italian recipients). Only a 2-year horizon is sourced;
    day-100 NRM by HCT-CI group is not available from a verified source and is refused.
    """
    horizons = {"2 years": 730, "2y": 730, "730 days": 730}
    lookup("NRM horizon (only 2-year figures are sourced)", horizon, horizons)
    key = lookup("NRM source", source, {s: s for s in NRM_SOURCES})
    group = hct_ci_risk_group(hct_ci_score)
    name = f"hctci_nrm_2year_{_NRM_SUFFIX[group]}_{key.lower()}"
    param = default_parameters()[name]
    return NonRelapseMortality(
        probability=param.value,
        horizon_days=730,
        risk_group=group,
        source=param.source,
        location=param.location,
        citation=param.citation,
        parameter=name,
    )
