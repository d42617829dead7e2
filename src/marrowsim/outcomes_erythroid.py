"""Outcomes of erythroid disease and gene editing: Hb and HbF at months 6, 12 and 24, the edited
allele fraction in blood at month 12, and transfusion independence (docs/gene-editing.md).

Vectorised over patients like :mod:`marrowsim.outcomes`, whose batch and one-patient functions
include these columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from marrowsim.outcomes import _post, _rows, _windows_all, value_on_batch

# month m is day round(365.25 m / 12) after infusion (day 0)
MONTH_DAYS = {6: 183, 12: 365, 24: 730}
TRANSFUSION_INDEPENDENCE_HB = 9.0  # g/dL, weighted (time-averaged) over the window
TRANSFUSION_INDEPENDENCE_DAYS = 365  # 12 consecutive months without RBC transfusion
ERYTHROID_OUTCOMES = (
    *(f"hb_g_dl_month{m}" for m in MONTH_DAYS),
    *(f"hbf_g_dl_month{m}" for m in MONTH_DAYS),
    *(f"hbf_percent_month{m}" for m in MONTH_DAYS),
    "edited_allele_fraction_blood_month12",
)


def transfusion_independence_batch(
    days: np.ndarray, hb: np.ndarray, rbc_transfused: np.ndarray
) -> np.ndarray:
    """Transfusion independence (anchors.md §0; CLIMB THAL-111): some window of 365 consecutive
    post-infusion mornings with no red-cell transfusion and a mean morning Hb >= 9 g/dL.

    1.0 / 0.0 per patient; NaN when fewer than 365 finite post-infusion mornings were simulated
    (not evaluable). The mean of daily morning values is the time-weighted average Hb."""
    offset = _post(days)
    v = _rows(hb)[:, offset:]
    t = _rows(rbc_transfused)[:, offset:] > 0
    n = TRANSFUSION_INDEPENDENCE_DAYS
    finite = np.isfinite(v)
    evaluable = finite.sum(axis=1) >= n
    ok = _windows_all(finite & ~t, n)
    if v.shape[1] >= n:
        cs = np.zeros((v.shape[0], v.shape[1] + 1))
        np.cumsum(np.where(finite, v, 0.0), axis=1, out=cs[:, 1:])
        mean = (cs[:, n:] - cs[:, : v.shape[1] - n + 1]) / n
        ok[:, : v.shape[1] - n + 1] &= mean >= TRANSFUSION_INDEPENDENCE_HB
    independent = ok.any(axis=1)
    return np.where(evaluable, independent.astype(float), np.nan)


def erythroid_batch_outcomes(
    days: np.ndarray, series: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Hb, HbF (g/dL and % of Hb) at months 6, 12, 24; edited allele fraction in nucleated blood
    cells at month 12; transfusion independence."""
    out: dict[str, np.ndarray] = {}
    for month, day in MONTH_DAYS.items():
        out[f"hb_g_dl_month{month}"] = value_on_batch(days, series["hb"], day)
        out[f"hbf_g_dl_month{month}"] = value_on_batch(days, series["hbf"], day)
        out[f"hbf_percent_month{month}"] = value_on_batch(days, series["hbf_percent"], day)
    out["edited_allele_fraction_blood_month12"] = value_on_batch(
        days, series["edited_allele_fraction_blood"], MONTH_DAYS[12]
    )
    out["transfusion_independent"] = transfusion_independence_batch(
        days, series["hb"], series["rbc_transfusion"]
    )
    return out


def erythroid_outcome_row(table: Mapping[str, np.ndarray], i: int) -> dict[str, Any]:
    """Row ``i`` of :func:`erythroid_batch_outcomes` as Python scalars (``None`` for missing)."""
    out: dict[str, Any] = {}
    for key in ERYTHROID_OUTCOMES:
        x = float(table[key][i])
        out[key] = x if np.isfinite(x) else None
    ti = float(table["transfusion_independent"][i])
    out["transfusion_independent"] = None if not np.isfinite(ti) else bool(ti)
    return out
