"""Healthy physiology with the SHIPPED default parameters: validation rows 1-6 of anchors.md §8.

Nothing is tuned here: every test compiles the built-in healthy adult with
``default_parameters()`` and measures the quantity in the simulation, the way the cited study
measured it (labelled cohorts, stopped production), with the tolerance of the validation table.
"""

from __future__ import annotations

import numpy as np
import pytest

from helpers import (
    LABEL_CLASS,
    class_sum,
    compile_one,
    daily_states,
    healthy,
    label,
    series,
)
from marrowsim.engine.solve import solve
from marrowsim.model import layout as L
from marrowsim.model.observables import OB, OBSERVABLE_NAMES
from marrowsim.validation.physiology import hsc_division_interval_weeks, platelet_fall_days

RED_CELLS = (L.RETB, L.RBC1, L.RBC2, L.RBC3, L.RBC4)  # circulating red cells (as Hb counts them)


# --- row 1: steady-state counts inside the reference intervals --------------------------------
# Source: anchors.md §8 row 1 and §2 (Mayo Clinic CBC ranges; UK-style ANC/reticulocyte ranges):
# ANC 2.0-7.5 x10^9/L; Hb men 13.5-17.5, women 12.0-15.5 g/dL; platelets 150-450 x10^9/L;
# also from §2: WBC 3.5-10.5, reticulocytes 10-100 x10^9/L; RBC men 4.32-5.72, women 3.90-5.03.
REFERENCE = {
    "male": {"hb": (13.5, 17.5), "rbc": (4.32, 5.72)},
    "female": {"hb": (12.0, 15.5), "rbc": (3.90, 5.03)},
}
COMMON = {
    "anc": (2.0, 7.5),
    "platelets": (150, 450),
    "wbc": (3.5, 10.5),
    "reticulocytes": (10, 100),
}


@pytest.mark.parametrize("sex", ["male", "female"])
def test_row1_steady_state_counts_inside_reference_ranges(sex):
    result = solve(compile_one(healthy(365, sex=sex)))
    assert result.status[0] == 0
    obs = result.observables[0]
    for name, (lo, hi) in {**COMMON, **REFERENCE[sex]}.items():
        values = obs[:, OB[name]]
        assert np.all((values >= lo) & (values <= hi)), (name, values.min(), values.max())
    # a steady state: one year without perturbation changes no observable
    drift = np.abs(obs[-1] - obs[0]) / np.maximum(np.abs(obs[0]), 1e-300)
    assert drift.max() < 1e-9, OBSERVABLE_NAMES[int(np.argmax(drift))]


# --- row 2: mean red-cell survival of a labelled cohort ----------------------------------------
# Source: anchors.md §8 row 2 and §2: RBC lifespan ~115 d mean (Franco, Transfus Med Hemother 2012,
# via a secondary summary, V2); target 115-120 d, tolerance ±15 d.
# Method: a birth cohort is labelled by moving the blood reticulocytes present at t = 0 into an
# otherwise empty clone class; the mean survival in the circulation is the area under the
# surviving fraction (reticulocyte day + red-cell life), integrated over the daily counts.
def test_row2_mean_red_cell_survival_of_a_labelled_cohort():
    problem = label(compile_one(healthy(1)), (L.RETB,))
    states = daily_states(problem, 700)
    labelled = class_sum(states, LABEL_CLASS, RED_CELLS)
    surviving = labelled / labelled[0]
    assert surviving[-1] < 1e-4  # the cohort is (almost) gone: the area is complete
    mean_survival = np.trapezoid(surviving, dx=1.0)
    assert 100.0 <= mean_survival <= 135.0, mean_survival
    # no labelled red cell is ever produced: the cohort only decays
    assert np.all(np.diff(labelled) <= 1e-9 * labelled[0])


# --- row 3: blood neutrophil half-life of a labelled cohort -----------------------------------
# Source: anchors.md §8 row 3 and §2: blood half-life 7-19 h (classical 6-8 h, Summers et al.,
# Trends Immunol 2010; stable isotope 18.5-19 h, Lahoz-Beneytez et al., Blood 2016); target: inside
# 6-20 h. Method: the blood neutrophils present at t = 0 are moved into an otherwise empty clone
# class (the marrow keeps releasing unlabelled cells); the half-life comes from a log-linear fit of
# the labelled ANC over the first three mornings.
def test_row3_blood_neutrophil_half_life_of_a_labelled_cohort():
    problem = label(compile_one(healthy(3)), (L.NEU,))
    # tight tolerances: the labelled cells fall to 0.1 % of the ANC within three days
    result = solve(problem, rtol=1e-10, atol=1e-10)
    obs = result.observables[0]
    labelled_anc = obs[:, OB["edited_fraction_myeloid"]] * obs[:, OB["anc"]]
    days = np.arange(len(labelled_anc))
    slope, intercept = np.polyfit(days, np.log(labelled_anc), 1)
    half_life_h = np.log(2) / -slope * 24.0
    assert 6.0 <= half_life_h <= 20.0, half_life_h
    # the decay is exponential (log-linear): the fit reproduces every morning
    np.testing.assert_allclose(np.exp(intercept + slope * days), labelled_anc, rtol=1e-6)
    # while the total ANC stays at its steady state
    np.testing.assert_allclose(obs[:, OB["anc"]], obs[0, OB["anc"]], rtol=1e-9)


# --- row 4: platelets after production stops --------------------------------------------------
# Source: anchors.md §8 row 4 and §2 (Fliedner et al., Cancer Biother Radiopharm 2002, via
# BioNumbers 113417, V2): platelets fall to ~0 within <= 10 d, tolerance ±2 d.
# "~0" is defined here as below 5 % of the baseline count. Method: megakaryocytes shed no platelets
# from t = 0 (their platelet yield is set to zero in the compiled problem); the first morning below
# 5 % must fall in 8-12 d.
def test_row4_platelets_fall_to_near_zero_within_10_days_when_production_stops():
    day = platelet_fall_days(0.05)
    assert 8 <= day <= 12, day


# --- row 5: mean HSC division interval at steady state -----------------------------------------
# Source: anchors.md §8 row 5 and §1.4: human HSCs replicate once per 40 weeks (range 25-50 wk)
# (Catlin et al., Blood 2011;117:4460). Method: at the simulated steady state every HSC division
# sends on average one daughter into MPP1 (self-renewal 1/2), so divisions per HSC per day =
# (flux HSC -> MPP1) / HSC = k_mpp * MPP1 / HSC, measured on the state after one simulated year.
def test_row5_mean_hsc_division_interval_25_to_50_weeks():
    interval = hsc_division_interval_weeks()
    assert 25.0 <= interval <= 50.0, interval


# --- row 6: number of active HSCs ---------------------------------------------------------------
# Source: anchors.md §8 row 6 and §1.4: 50,000-200,000 HSCs actively making white cells
# (Lee-Six et al., Nature 2018;561:473; 20,000-200,000 HSC/MPP in Mitchell et al., Nature 2022).
# Method: the simulated HSC count of the 70-kg healthy adult over one year.
def test_row6_number_of_active_hscs():
    hsc = series(compile_one(healthy(365)), "hsc")
    assert np.all((hsc >= 5e4) & (hsc <= 2e5)), (hsc.min(), hsc.max())
