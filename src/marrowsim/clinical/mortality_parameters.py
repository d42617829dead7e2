"""Numbers of the mortality model (:mod:`marrowsim.clinical.mortality`), read from parameters.

The transplant-related hazard of each HCT-CI group and its relapse death hazard are solved so that
a reference patient reproduces the published 2-year NRM and overall survival of ElSawy 2015; the
hazard ratios are derived from cited cumulative incidences (docs/patient-risk.md).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from marrowsim.errors import InputError
from marrowsim.parameters import ParameterSet, default_parameters

MAX_HORIZON_DAYS = 730  # the longest horizon with a sourced NRM (2 years)
AGE_BANDS = ((20, "20_to_39"), (40, "40_to_49"), (50, "50_to_59"), (60, "60_plus"))


def _cum_hazard(p: float) -> float:
    return -math.log1p(-p)


@dataclass(frozen=True)
class MortalityParameters:
    """The numbers the hazards use, read from a :class:`ParameterSet` (see the TOML files)."""

    nrm_2year_by_group: tuple[float, float, float]  # transplant-related H(730) by HCT-CI group
    relapse_rate_by_group: tuple[float, float, float]  # 1/day, malignant diagnoses
    first_year_share: float
    day100_share_of_first_year: float
    age_hazard_ratios: tuple[float, float, float, float]  # 20-39, 40-49, 50-59, >= 60 vs < 20
    age_reference_hazard_ratio: float
    era_1990s_hazard_ratio: float
    haploidentical_hazard_ratio: float
    cord_hazard_ratio: float
    hla_mismatch_hazard_ratio: float
    relapse_hazard_ratio_1990s: float
    graft_failure_death_rate: float
    neutropenia_death_rate: float
    neutropenia_reference_days: float

    @classmethod
    def from_parameters(cls, ps: ParameterSet | None = None) -> MortalityParameters:
        ps = ps or default_parameters()
        v = ps.value
        related = _cum_hazard(v("nrm_2year_matched_related_versluis2017"))
        first_year = _cum_hazard(v("nrm_1year_terwey2010")) / _cum_hazard(v("nrm_2year_terwey2010"))
        day100 = v("nrm_fraction_of_first_year_by_day100")
        anchored = [
            _anchor_to_cohort(
                v(f"hctci_nrm_2year_{g}_elsawy2015"),
                v(f"hctci_os_2year_{g}_elsawy2015"),
                first_year,
                day100,
            )
            for g in ("score0", "score1to2", "score3plus")
        ]
        return cls(
            nrm_2year_by_group=tuple(a[0] for a in anchored),  # type: ignore[arg-type]
            relapse_rate_by_group=tuple(a[1] for a in anchored),  # type: ignore[arg-type]
            first_year_share=first_year,
            day100_share_of_first_year=day100,
            age_hazard_ratios=tuple(v(f"nrm_age_hazard_ratio_{band}") for _, band in AGE_BANDS),  # type: ignore[arg-type]
            age_reference_hazard_ratio=v("nrm_age_reference_hazard_ratio"),
            era_1990s_hazard_ratio=_cum_hazard(v("nrm_1year_1990s_penack2020"))
            / _cum_hazard(v("nrm_1year_2000s_penack2020")),
            haploidentical_hazard_ratio=_cum_hazard(v("nrm_2year_haploidentical_versluis2017"))
            / related,
            cord_hazard_ratio=_cum_hazard(v("nrm_2year_cord_versluis2017")) / related,
            hla_mismatch_hazard_ratio=v("hla_mismatch_nrm_hazard_ratio"),
            relapse_hazard_ratio_1990s=v("relapse_hazard_ratio_1990s"),
            graft_failure_death_rate=v("graft_failure_death_rate"),
            neutropenia_death_rate=v("neutropenia_death_rate"),
            neutropenia_reference_days=v("neutropenia_reference_days"),
        )


def trm_shape(t: np.ndarray, first_year: float, day100: float) -> np.ndarray:
    """Transplant-related cumulative hazard at ``t`` per unit of its 2-year value: piecewise
    linear through (100, first_year × day100), (365, first_year) and (730, 1)."""
    h100 = first_year * day100
    return np.where(
        t < 100,
        h100 * t / 100,
        np.where(
            t < 365,
            h100 + (first_year - h100) * (t - 100) / 265,
            first_year + (1 - first_year) * (t - 365) / 365,
        ),
    )


@functools.lru_cache(maxsize=64)
def _anchor_to_cohort(
    nrm_2year: float, survival_2year: float, first_year: float, day100: float
) -> tuple[float, float]:
    """(transplant-related H(730), constant relapse death rate) that give a reference patient
    the published 2-year NRM (a cumulative incidence, relapse competing) and 2-year survival."""
    from scipy.optimize import brentq

    if not 0 < nrm_2year < 1 - survival_2year < 1:
        raise InputError(
            f"2-year NRM {nrm_2year} and survival {survival_2year} leave no relapse deaths"
        )
    days = np.arange(MAX_HORIZON_DAYS + 1, dtype=float)
    shape = trm_shape(days, first_year, day100)
    total_2year = _cum_hazard(1 - survival_2year)

    def excess(h2: float) -> float:
        trm = h2 * shape
        total = trm + (total_2year - h2) * days / MAX_HORIZON_DAYS
        died = -np.diff(np.exp(-total))
        share = np.diff(trm) / np.diff(total)
        return float(np.sum(died * share)) - nrm_2year

    h2 = float(brentq(excess, 1e-9, total_2year - 1e-9, xtol=1e-12))
    return h2, (total_2year - h2) / MAX_HORIZON_DAYS
