"""Batched ASTCT outcomes (one vectorised implementation) against a scalar reference.

The reference below is the day-by-day, one-patient implementation that marrowsim used before the
rules were vectorised (kept here only as a test oracle). Random daily series with ties, runs,
transfusions and NaN tails (failed integrations) must give the same endpoints.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from marrowsim import outcomes as O


# --- scalar oracle (pre-vectorisation implementation) ----------------------------------------
def _first_run(ok, start, length):
    run = 0
    for i in range(start, len(ok)):
        run = run + 1 if ok[i] else 0
        if run == length:
            return i - length + 1
    return None


def ref_neutrophil(days, anc):
    keep = days >= 0
    d, v = days[keep], anc[keep]
    if len(v) == 0 or np.nanmin(v) >= 0.5:
        return None
    i = _first_run(v >= 0.5, int(np.nanargmin(v)), 3)
    return None if i is None else int(d[i])


def ref_platelet(days, plt, transfused):
    keep = days >= 0
    d, v, t = days[keep], plt[keep], transfused[keep] > 0
    if len(v) == 0 or (np.nanmin(v) >= 20 and not t.any()):
        return None
    t_all = transfused > 0
    offset = int(np.argmax(keep))
    for i in range(int(np.nanargmin(v)), len(v) - 3 + 1):
        if not np.all(v[i : i + 3] >= 20):
            continue
        j = i + offset
        if t_all[max(0, j - 7) : j + 3].any():
            continue
        return int(d[i])
    return None


def ref_secondary(days, anc, e):
    if e is None:
        return False
    keep = days >= e + 3
    return _first_run(anc[keep] < 0.5, 0, 7) is not None


def ref_nadir(days, values):
    keep = days >= 0
    d, v = days[keep], values[keep]
    if len(v) == 0 or not np.any(np.isfinite(v)):
        return None, None
    i = int(np.nanargmin(v))
    return int(d[i]), float(v[i])


# --- strategies ------------------------------------------------------------------------------
levels = st.sampled_from([0.0, 0.05, 0.3, 0.5, 0.7, 2.0, 5.0])
plt_levels = st.sampled_from([5.0, 12.0, 19.9, 20.0, 25.0, 60.0, 250.0])


@st.composite
def courses(draw):
    first = draw(st.integers(-6, 0))
    n = draw(st.integers(1, 45))
    days = np.arange(first, first + n)
    anc = np.array(draw(st.lists(levels, min_size=n, max_size=n)))
    plt = np.array(draw(st.lists(plt_levels, min_size=n, max_size=n)))
    tr = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 0.0, 1.0]), min_size=n, max_size=n)))
    return days, anc, plt, tr


@settings(max_examples=300, deadline=None)
@given(courses())
def test_scalar_helpers_match_the_reference(course):
    days, anc, plt, tr = course
    e = O.neutrophil_engraftment_day(days, anc)
    assert e == ref_neutrophil(days, anc)
    assert O.platelet_engraftment_day(days, plt, tr) == ref_platelet(days, plt, tr)
    assert O.secondary_graft_failure(days, anc, e) == ref_secondary(days, anc, e)
    assert O.nadir(days, anc) == ref_nadir(days, anc)


@settings(max_examples=60, deadline=None)
@given(st.lists(courses(), min_size=1, max_size=6), st.integers(0, 44))
def test_batch_rows_equal_one_patient_at_a_time(batch, cut):
    """A batch gives each patient what it gives that patient alone; NaN tails (a failed
    integration) give the outcomes of the course cut at the last finite day."""
    n = min(len(b[0]) for b in batch)
    days = batch[0][0][:n]
    series = {name: [] for name in O.OUTCOME_INPUTS}
    for _, anc, plt, tr in batch:
        series["anc"].append(anc[:n])
        series["platelets"].append(plt[:n])
        series["platelet_transfusion"].append(tr[:n])
    rows = len(batch)
    for name in ("wbc", "hb", "lymphocytes", "hsc", "rbc_transfusion"):
        series[name] = [np.linspace(1, 2, n)] * rows
    for name in ("donor_chimerism_myeloid", "donor_chimerism_lymphoid"):
        series[name] = [np.linspace(0.5, 1.0, n)] * rows
    series["reticulocytes"] = [np.linspace(20, 80, n)] * rows
    series["platelets_endogenous"] = series["platelets"]
    for name in ("marrow_blasts_percent", "autoreactive_t_cells"):  # no disease model
        series[name] = [np.zeros(n)] * rows
    for name in O.OUTCOME_INPUTS:  # inputs added later (erythroid: hbf, edited fraction ...)
        series[name] = series[name] or [np.linspace(0.5, 1.0, n)] * rows
    arrays = {k: np.array(v, dtype=float) for k, v in series.items()}
    arrays_cut = {k: v.copy() for k, v in arrays.items()}
    keep = min(cut, n - 1) + 1
    for v in arrays_cut.values():
        v[-1, keep:] = np.nan  # the last patient "failed" after `keep` mornings
    sources = ["peripheral_blood"] * rows
    relations = ["matched_sibling"] * rows
    table = O.compute_batch_outcomes(
        days, arrays_cut, graft_source=sources, donor_relation=relations
    )
    for i in range(rows):
        width = keep if i == rows - 1 else n
        alone = {k: v[i : i + 1, :width] for k, v in arrays.items()}
        single = O.compute_batch_outcomes(
            days[:width], alone, graft_source=sources[:1], donor_relation=relations[:1]
        )
        assert O.outcome_row(table, i) == O.outcome_row(single, 0)


def test_applicability_and_graft_failure_day():
    days = np.arange(-2, 50)
    anc = np.where(days < 40, 0.1, 1.0)
    base = {name: np.ones((3, days.size)) for name in O.OUTCOME_INPUTS}
    base["anc"] = np.tile(anc, (3, 1))
    base["platelet_transfusion"] = np.zeros((3, days.size))
    t = O.compute_batch_outcomes(
        days,
        base,
        graft_source=["peripheral_blood", "cord_blood", None],
        donor_relation=["autologous", "cord", None],
    )
    assert list(t["neutrophil_engraftment_day"][:2]) == [40.0, 40.0]
    assert np.isnan(t["neutrophil_engraftment_day"][2])  # no graft: not applicable
    # autologous: never primary graft failure; cord: the checkpoint is day 42 (engrafted day 40)
    assert list(t["primary_graft_failure"]) == [False, False, False]
    assert "neutrophil_engraftment_day" not in O.outcome_row(t, 2)
    assert "donor_chimerism_myeloid_day30" in O.outcome_row(t, 1)
    assert "donor_chimerism_myeloid_day30" not in O.outcome_row(t, 0)
