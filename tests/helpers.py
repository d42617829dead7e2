"""Helpers shared by the model and engine tests: scenarios, batches, labelled cohorts.

The measuring helpers live in :mod:`marrowsim.validation.physiology` (the validation report uses
them too); this module re-exports them and adds what only tests need.
"""

from __future__ import annotations

import numpy as np

from marrowsim.engine.problem import Problem
from marrowsim.engine.solve import solve
from marrowsim.model.observables import OB
from marrowsim.validation.physiology import (  # noqa: F401  (re-exported for the tests)
    LABEL_CLASS,
    class_sum,
    compile_one,
    daily_states,
    healthy,
    label,
)

# what issue 6 requires of every arm of `marrowsim cohort --json` (and of summarise_arm)
ARM_SUMMARY_KEYS = (
    "n",
    "neutrophil_engraftment_day_median",
    "neutrophil_engraftment_day_iqr",
    "platelet_engraftment_day_median",
    "platelet_engraftment_day_iqr",
    "primary_graft_failure_fraction",
    "cif_neutrophil_day28",
    "cif_neutrophil_day42",
    "cif_platelet_day28",
    "cif_platelet_day42",
)


def series(problem: Problem, name: str, **options) -> np.ndarray:
    """One observable of patient 0, one value per morning."""
    result = solve(problem, **options)
    assert result.status[0] == 0, result.status_messages()
    return result.observables[0, :, OB[name]]


def first_day(days: np.ndarray, condition: np.ndarray) -> int | None:
    """The first day on which ``condition`` holds, or ``None``."""
    hit = np.flatnonzero(condition)
    return int(days[hit[0]]) if len(hit) else None
