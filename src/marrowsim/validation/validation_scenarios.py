"""Validation checks beyond single engraftment days: cord dose threshold, conditioning intensity.

Each :class:`ExtraCheck` runs a few scenarios as virtual populations and compares a population
statistic (a fraction of patients, a median) with a published number (anchors.md §4.2, §3.2).
These are not used by the calibration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marrowsim.validation.population import Population
from marrowsim.validation.transplant_targets import ADULT, MTX, first_crossing

CORD_PROTOCOL = (
    "Cyclosporine 1.5 mg/kg IV twice daily on days -3 to 100",
    "Mycophenolate 15 mg/kg IV three times daily on days 0 to 30",
)
RULES = ("Transfuse platelets when PLT < 10 10^9/L", "Transfuse RBC when Hb < 7 g/dL")
NMA_STEPS = (
    "Cyclosporine 5 mg/kg PO twice daily on days -3 to 100",
    "Mycophenolate 15 mg/kg PO twice daily on days 0 to 27",
)
MAC_STEPS = ("Cyclosporine 1.5 mg/kg IV twice daily on days -1 to 100", *MTX)


def _cord(name: str, tnc: float, cd34: float) -> dict[str, Any]:
    return {
        "name": name,
        "days": 100,
        "start_day": -8,
        "seed": 0,
        "patient": {**ADULT, "age_years": 35, "weight_kg": 70, "diagnosis": "AML"},
        "donor": {"relation": "cord"},
        "graft": {
            "source": "cord_blood",
            "cryopreserved": True,
            "units": [{"tnc_per_kg": tnc, "cd34_per_kg": cd34, "hla_match": "6/8"}],
        },
        "conditioning": {"regimen": "CyTBI"},
        "protocol": {"steps": list(CORD_PROTOCOL), "rules": list(RULES)},
    }


def _sibling(name: str, regimen: str, steps: tuple[str, ...], days: int = 100) -> dict[str, Any]:
    return {
        "name": name,
        "days": days,
        "start_day": -8,
        "seed": 0,
        "patient": {**ADULT, "diagnosis": "AML"},
        "donor": {"relation": "matched_sibling", "hla_match": "8/8"},
        "graft": {"source": "peripheral_blood", "cd34_per_kg": 6e6},
        "conditioning": {"regimen": regimen},
        "protocol": {"steps": list(steps), "rules": list(RULES)},
    }


def engrafted_by(pop: Population, day: int) -> np.ndarray:
    """Per patient: ANC rose through 0.5 after its nadir by ``day`` (False if never)."""
    out = np.zeros(len(pop.ok), dtype=bool)
    for i in range(len(pop.ok)):
        if pop.ok[i]:
            d = first_crossing(pop.days, pop.course(i)["anc"], 0.5)
            out[i] = np.isfinite(d) and d <= day
    return out


def transfused(pop: Population, product: str) -> np.ndarray:
    """Per patient: at least one transfusion of ``product`` (``platelet`` or ``rbc``)."""
    return np.nansum(pop.observables[:, :, _obs(f"{product}_transfusion")], axis=1) > 0


def _obs(name: str) -> int:
    from marrowsim.model.observables import OB

    return OB[name]


@dataclass(frozen=True)
class ExtraCheck:
    """A population-level comparison with a published number."""

    key: str
    section: str
    row: str
    quantity: str
    published: str
    source: str
    scenarios: tuple[dict[str, Any], ...]
    # populations by name -> (raw value for JSON, pass?, text for the table)
    evaluate: Callable[[dict[str, Population]], tuple[Any, bool, str]] = field(repr=False)


def _cord_threshold(pops: dict[str, Population]) -> tuple[Any, bool, str]:
    above = engrafted_by(pops["cord-above-threshold"], 42).mean()
    below = engrafted_by(pops["cord-below-threshold"], 42).mean()
    ok = abs(above - 0.88) <= 0.10 and below <= above - 0.2
    text = f"{100 * above:.0f} % (>= 1.7e5) vs {100 * below:.0f} % (1.0e5) engrafted by day 42"
    return {"above": float(above), "below": float(below)}, bool(ok), text


def _intensity(pops: dict[str, Population]) -> tuple[Any, bool, str]:
    nma, mac = pops["sibling-nma-flutbi2"], pops["sibling-mac-bucy"]
    plt_nma, plt_mac = transfused(nma, "platelet").mean(), transfused(mac, "platelet").mean()
    rbc_nma, rbc_mac = transfused(nma, "rbc").mean(), transfused(mac, "rbc").mean()
    ok = abs(plt_nma - 0.23) <= 0.15 and plt_mac >= 0.85
    text = (
        f"platelets {100 * plt_nma:.0f} % vs {100 * plt_mac:.0f} %; "
        f"RBC {100 * rbc_nma:.0f} % vs {100 * rbc_mac:.0f} %"
    )
    raw = {"platelets": [plt_nma, plt_mac], "rbc": [rbc_nma, rbc_mac]}
    return raw, bool(ok), text


def _nma_chimerism(pops: dict[str, Population]) -> tuple[Any, bool, str]:
    pop = pops["sibling-nma-flutbi2"]
    day = np.nonzero(pop.days == 28)[0][0]
    last = len(pop.days) - 1
    myeloid = pop.observables[pop.ok, :, _obs("donor_chimerism_myeloid")]
    d28, d100 = np.median(myeloid[:, day]), np.median(myeloid[:, last])
    ok = 0.05 <= d28 <= 0.95 and d100 > d28
    text = (
        f"median donor myeloid chimerism {100 * d28:.0f} % (day 28), {100 * d100:.0f} % (day 100)"
    )
    return {"day28": float(d28), "day100": float(d100)}, bool(ok), text


EXTRA_CHECKS: tuple[ExtraCheck, ...] = (
    ExtraCheck(
        "cord_dose_threshold",
        "cord blood",
        "16",
        "single cord unit above vs below 1.7e5 CD34+/kg: neutrophil engraftment by day 42",
        "0.88 above the threshold (Wagner); clearly worse below (Brunstein)",
        "Wagner et al., Blood 2002;100:1611; Brunstein et al., Blood 2010;116:4693",
        (
            _cord("cord-above-threshold", 3.0e7, 2.5e5),
            _cord("cord-below-threshold", 2.0e7, 1.0e5),
        ),
        _cord_threshold,
    ),
    ExtraCheck(
        "conditioning_intensity_transfusions",
        "conditioning",
        "§3.2",
        "patients needing platelet / RBC transfusions, NMA (Flu + 2 Gy TBI) vs myeloablative",
        "platelets 23 % vs 100 %; RBC 63 % vs 96 %",
        "Weissinger et al., Blood 2001;98:3584",
        (
            _sibling("sibling-nma-flutbi2", "FluTBI2", NMA_STEPS),
            _sibling("sibling-mac-bucy", "BuCy", MAC_STEPS),
        ),
        _intensity,
    ),
    ExtraCheck(
        "nma_mixed_chimerism",
        "chimerism",
        "§6",
        "non-myeloablative matched-sibling PBSC: mixed chimerism early, rising donor chimerism",
        "mixed (5-95 %) at day 28, higher by day 100",
        "issue 3 (qualitative); Saraf 2018 and Weissinger 2001 report conversion to full donor",
        (_sibling("sibling-nma-flutbi2", "FluTBI2", NMA_STEPS),),
        _nma_chimerism,
    ),
)
