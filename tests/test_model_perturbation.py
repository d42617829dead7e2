"""Perturbations of the healthy steady state (issue 2, "Done means"), against the unperturbed run.

* After an acute loss of 50 % of the HSCs the system returns to its steady state.
* After a transient drop of the mature neutrophils (blood + marrow reserve) the G-CSF feedback
  should speed their recovery, compared with a run whose G-CSF effects are switched off and with
  the unperturbed run. The feedback raises the ANC in the first days after the drop, but the day
  of 90 % recovery is the same (documented miss, see docs/model.md "Known problems").
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import compile_one, first_day, healthy, series
from marrowsim.engine.solve import solve
from marrowsim.model.observables import OB

RANGES = {"anc": (2.0, 7.5), "hb": (13.5, 17.5), "platelets": (150, 450)}  # anchors.md §2


def test_half_of_the_hscs_lost_returns_to_steady_state():
    loss = {"day": 10, "compartment": "hsc", "surviving_fraction": 0.5}
    days = 3650
    perturbed = solve(compile_one(healthy(days, perturbations=[loss]))).observables[0]
    unperturbed = solve(compile_one(healthy(days))).observables[0]
    hsc, hsc0 = perturbed[:, OB["hsc"]], unperturbed[:, OB["hsc"]]
    np.testing.assert_allclose(hsc[11], 0.5 * hsc0[11], rtol=1e-2)
    # the niche refills without overshoot and returns to the unperturbed HSC number
    assert np.all(np.diff(hsc[11:]) > 0)
    assert np.all(hsc <= hsc0 * (1 + 1e-9))
    assert abs(hsc[-1] / hsc0[-1] - 1) < 0.01
    # blood counts stay inside the reference ranges throughout and return to the unperturbed run
    for name, (lo, hi) in RANGES.items():
        values = perturbed[:, OB[name]]
        assert lo <= values.min() and values.max() <= hi, name
        assert abs(values[-1] / unperturbed[-1, OB[name]] - 1) < 0.005, name


def _neutrophil_drop(days: int = 200):
    """Blood neutrophils and the marrow reserve (last post-mitotic stage) fall to 10 % on day 10."""
    return healthy(
        days,
        perturbations=[
            {"day": 10, "compartment": c, "surviving_fraction": 0.1} for c in ("neu", "npm3")
        ],
    )


def _flat_gcsf_values(problem) -> dict:
    """Parameter override that switches every G-CSF effect off: no gain of the mitotic pool's
    amplification, no faster maturation or release, no G-CSF in the CMP stimulus."""
    return {
        "gcsf_amplification_max_ratio": np.array([1.0]),
        "gcsf_maturation_acceleration_max": np.array([1.0]),
        "gcsf_release_acceleration_max": np.array([1.0]),
        "cmp_gcsf_weight": np.array([0.0]),
    }


def _recovery_day(anc: np.ndarray, baseline: float, fraction: float = 0.9) -> int | None:
    """First morning after the drop with ANC back at ``fraction`` of the unperturbed value."""
    days = np.arange(len(anc))
    return first_day(days, (days > 10) & (anc >= fraction * baseline))


def test_neutrophil_drop_raises_gcsf_and_returns_to_the_unperturbed_run():
    problem = compile_one(_neutrophil_drop())
    anc, gcsf = series(problem, "anc"), series(problem, "gcsf_relative")
    anc0 = series(compile_one(healthy(200)), "anc")
    assert anc[11] < 0.5 * anc0[11]
    assert gcsf[11] > 1.2  # the G-CSF signal rises when the ANC falls
    assert _recovery_day(anc, anc0[0]) is not None
    assert abs(anc[-1] / anc0[-1] - 1) < 0.01
    flat = compile_one(_neutrophil_drop(), _flat_gcsf_values(problem))
    flat_anc = series(flat, "anc")
    assert not np.allclose(flat_anc, anc)  # the G-CSF effects really are switched off
    assert abs(flat_anc[-1] / anc0[-1] - 1) < 0.01


@pytest.mark.xfail(
    strict=True,
    reason="model miss (docs/model.md, Known problems): after blood neutrophils and the marrow "
    "reserve fall to 10 %, G-CSF rises only ~1.3-fold because the maturing marrow neutrophils, "
    "which also clear it, are intact; the faster release gives a higher ANC on days 11-12 (1.52 "
    "vs 1.34 on day 11) but the same day of 90 % recovery (day 15) as without the feedback",
)
def test_gcsf_feedback_speeds_neutrophil_recovery():
    problem = compile_one(_neutrophil_drop(60))
    with_feedback = series(problem, "anc")
    flat = series(compile_one(_neutrophil_drop(60), _flat_gcsf_values(problem)), "anc")
    baseline = series(compile_one(healthy(60)), "anc")[0]
    assert _recovery_day(with_feedback, baseline) < _recovery_day(flat, baseline)
