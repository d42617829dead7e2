"""Erythroid outcomes: month values and transfusion independence (anchors.md §0: weighted-average
Hb >= 9 g/dL without red-cell transfusion for >= 12 consecutive months)."""

from __future__ import annotations

import numpy as np

from marrowsim.outcomes_erythroid import (
    MONTH_DAYS,
    erythroid_batch_outcomes,
    transfusion_independence_batch,
)

DAYS = np.arange(-10, 731)


def ti(hb, transfused=None, days=DAYS):
    hb = np.broadcast_to(np.asarray(hb, float), days.shape)
    t = np.zeros(days.shape) if transfused is None else transfused
    return transfusion_independence_batch(days, hb[None, :], t[None, :])[0]


def test_stable_hb_without_transfusion_is_independent():
    assert ti(10.0) == 1.0
    assert ti(8.9) == 0.0


def test_the_average_is_time_weighted_over_a_whole_year():
    hb = np.where(DAYS < 300, 8.0, 11.0)  # low for the first 300 days, then high
    assert ti(hb) == 1.0  # days 300..664 average 11
    short = DAYS[DAYS < 500]  # windows start on days 0 to 135
    hb = np.where(short < 300, 7.0, 10.0)  # the latest window: 165 d at 7, 200 d at 10 -> 8.6
    assert ti(hb, days=short) == 0.0
    hb = np.where(short < 300, 7.0, 11.5)  # the latest window averages (165*7 + 200*11.5)/365
    assert ti(hb, days=short) == 1.0


def test_a_transfusion_breaks_the_window():
    t = np.zeros(DAYS.shape)
    t[DAYS == 360] = 1  # the only 365-day windows avoiding day 360 start at 361 (to 365 days)
    assert ti(10.0, t) == 1.0
    t[DAYS == 600] = 1  # now no 365 transfusion-free days remain after day 0
    assert ti(10.0, t) == 0.0


def test_transfusions_before_infusion_do_not_count():
    t = np.zeros(DAYS.shape)
    t[DAYS < 0] = 1
    assert ti(10.0, t) == 1.0


def test_not_evaluable_before_twelve_months():
    days = np.arange(-5, 300)
    assert np.isnan(ti(12.0, days=days))
    hb = np.full(DAYS.shape, 12.0)
    hb[DAYS > 300] = np.nan  # a failed integration after day 300
    assert np.isnan(ti(hb))


def test_month_values_and_edited_fraction():
    n = DAYS.shape[0]
    series = {
        "hb": np.linspace(8, 12, n)[None, :],
        "hbf": np.linspace(0, 10, n)[None, :],
        "hbf_percent": np.full((1, n), 80.0),
        "edited_allele_fraction_blood": np.full((1, n), 0.7),
        "rbc_transfusion": np.zeros((1, n)),
    }
    out = erythroid_batch_outcomes(DAYS, series)
    for month, day in MONTH_DAYS.items():
        i = int(np.nonzero(day == DAYS)[0][0])
        assert out[f"hb_g_dl_month{month}"][0] == series["hb"][0, i]
        assert out[f"hbf_g_dl_month{month}"][0] == series["hbf"][0, i]
        assert out[f"hbf_percent_month{month}"][0] == 80.0
    assert out["edited_allele_fraction_blood_month12"][0] == 0.7
    assert MONTH_DAYS == {6: 183, 12: 365, 24: 730}
