"""Deaths of virtual patients: where the mortality model plugs into cohorts.

:func:`assign_fates` receives, for one arm of one chunk, every patient's outcomes, covariates and
private uniforms, and returns the day and cause of death of each patient from the cause-specific
hazards of :mod:`marrowsim.clinical.mortality` (non-relapse mortality by HCT-CI, age and donor
type, HLA mismatch, graft failure, prolonged neutropenia, relapse; sources in
``docs/patient-risk.md``):

* ``outcomes``: columns of :func:`marrowsim.outcomes.compute_batch_outcomes` plus
  ``hla_mismatches_8`` (added by the chunk from the donor's match, see
  :func:`marrowsim.clinical.compatibility.mismatch_summary`);
* ``covariates``: one array per covariate of :data:`marrowsim.cohort.spec.COVARIATES`;
* ``uniforms``: shape ``(patients, FATE_SLOTS)``, strictly inside (0, 1), from each patient's own
  stream and shared by all arms (paired arms: the same patient has the same luck in each arm);
  slot 0 is the time of death by inverse cumulative hazard.

The mortality model covers allogeneic transplants only: autologous patients and patients without a
graft get no death (NaN), which the documentation of the cohort results says. The result depends
only on these inputs, so cohorts stay invariant to chunking and workers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from marrowsim.clinical.mortality import CAUSES, death_day_and_cause
from marrowsim.cohort.seeding import FATE_SLOTS

DEATH_CAUSES: tuple[str, ...] = tuple(c for c in CAUSES if c)


def assign_fates(
    outcomes: Mapping[str, np.ndarray],
    covariates: Mapping[str, np.ndarray],
    uniforms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Day (float, NaN = alive) and cause (object, None = alive) of death of each patient."""
    n = len(outcomes["last_day"])
    if uniforms.shape != (n, FATE_SLOTS):
        raise ValueError(f"expected uniforms of shape ({n}, {FATE_SLOTS}), got {uniforms.shape}")
    death = np.full(n, np.nan)
    cause = np.full(n, None, dtype=object)
    allo = np.asarray(outcomes["allogeneic"], dtype=bool)
    if not allo.any():
        return death, cause
    idx = np.flatnonzero(allo)
    hct_ci = np.asarray(covariates.get("hct_ci", np.zeros(n)), dtype=float)[idx]
    mortality_outcomes = {
        "donor_relation": np.asarray(covariates["donor_relation"], dtype=object)[idx],
        "hla_mismatches_8": np.asarray(outcomes["hla_mismatches_8"], dtype=float)[idx],
        **{
            key: np.asarray(outcomes[key])[idx]
            for key in (
                "primary_graft_failure",
                "secondary_graft_failure",
                "graft_failure_day",
                "days_anc_below_0_5",
                "neutrophil_engraftment_day",
            )
        },
        # a simulated leukemia: relapse deaths follow its relapse day (disease_outcomes)
        **{
            key: np.asarray(outcomes[key])[idx]
            for key in ("leukemia_modelled", "relapse_day")
            if key in outcomes
        },
    }
    mortality_covariates = {
        "age_years": np.asarray(covariates["age_years"], dtype=float)[idx],
        "hct_ci_score": np.where(np.isfinite(hct_ci), hct_ci, 0.0),
        "diagnosis": np.asarray(covariates["diagnosis"], dtype=object)[idx],
    }
    d, c = death_day_and_cause(mortality_outcomes, mortality_covariates, uniforms[idx, 0])
    death[idx] = d
    cause[idx] = np.where(c == "", None, c.astype(object))
    return death, cause


def censor_engraftment_after_death(table: dict[str, np.ndarray], death_day: np.ndarray) -> None:
    """A patient who dies before an engraftment day never engrafts: set those days to NaN."""
    for key in ("neutrophil_engraftment_day", "platelet_engraftment_day"):
        day = table[key]
        with np.errstate(invalid="ignore"):
            table[key] = np.where(np.isfinite(death_day) & (day > death_day), np.nan, day)
