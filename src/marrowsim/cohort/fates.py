"""Deaths of virtual patients: the hook where a mortality model plugs into cohorts.

:func:`assign_fates` receives, for one arm of one chunk, every patient's outcomes, covariates and
private uniforms, and returns the day and cause of death of each patient. **It currently assigns
no deaths**: every ``death_day`` is NaN and every ``death_cause`` is ``None``, so cumulative
incidences have no competing event yet and survival is 1. The mortality model (non-relapse
mortality by HCT-CI and age, infection during aplasia, ...) being built in
``marrowsim.clinical.mortality`` will be called from here; its contract:

* ``outcomes``: columns of :func:`marrowsim.outcomes.compute_batch_outcomes` (e.g.
  ``neutrophil_engraftment_day``, ``days_anc_below_0_5``, ``last_day``);
* ``covariates``: one array per covariate of :data:`marrowsim.cohort.spec.COVARIATES`
  (``age_years``, ``hct_ci``, ``karnofsky``, ``diagnosis``, ...), NaN / None where unknown;
* ``uniforms``: shape ``(patients, FATE_SLOTS)``, strictly inside (0, 1), drawn from each
  patient's own stream (:mod:`marrowsim.cohort.seeding`) and shared by all arms (paired arms:
  the same patient has the same luck in each arm). Use them in a fixed order, e.g. slot 0 for the
  time of death by inverse CDF, slot 1 for its cause;
* return ``death_day`` (float days after infusion, NaN = alive at the end of follow-up; must not
  be before an engraftment that happened, see :func:`marrowsim.cohort.statistics.
  engraftment_competing_risks`) and ``death_cause`` (object array of short labels or None).

The result must depend only on these inputs (no global random state), so that cohorts stay
invariant to chunking and workers.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from marrowsim.cohort.seeding import FATE_SLOTS

DEATH_CAUSES: tuple[str, ...] = ()  # labels a mortality model may return, documented with it


def assign_fates(
    outcomes: Mapping[str, np.ndarray],
    covariates: Mapping[str, np.ndarray],
    uniforms: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Day (float, NaN = alive) and cause (object, None = alive) of death of each patient.

    No mortality model is connected yet: nobody dies (see the module documentation).
    """
    n = len(outcomes["last_day"])
    if uniforms.shape != (n, FATE_SLOTS):
        raise ValueError(f"expected uniforms of shape ({n}, {FATE_SLOTS}), got {uniforms.shape}")
    return np.full(n, np.nan), np.full(n, None, dtype=object)
