"""ASTCT/CIBMTR endpoints as pure functions of daily morning counts.

Definitions (Kharfan-Dabaja et al., Transplant Cell Ther 2021, as tabulated in Bone Marrow
Transplant 2024;59:832 Table 1; anchors.md §0, clinical.md §2):

* neutrophil engraftment: first of 3 consecutive days with ANC >= 0.5 x10^9/L after the
  post-transplant nadir;
* platelet engraftment: first of 3 consecutive days with platelets >= 20 x10^9/L and no platelet
  transfusion in the 7 days before (and during) those days;
* primary graft failure: no neutrophil engraftment by day +30 (peripheral blood, bone marrow) or
  day +42 (cord blood) in an allogeneic transplant;
* secondary graft failure (operational definition, documented in docs/outcomes): after neutrophil
  engraftment, ANC < 0.5 x10^9/L again for >= 7 consecutive days;
* full donor chimerism: > 95 % donor;
* relapse (marrow blasts >= 5 %, ELN 2017) and the severe aplastic anemia criteria and response:
  :mod:`marrowsim.disease_outcomes`.
Days before day 0 (conditioning) are ignored by the post-transplant endpoints.

Every rule is written once, vectorised over patients: arrays of shape ``(patients, days)`` with
NaN after a failed integration (a patient's outcomes are then those of its course cut at the last
finite morning). :func:`compute_batch_outcomes` gives one column per endpoint for a batch;
:func:`compute_outcomes` (one :class:`~marrowsim.solution.Solution`) and the one-patient helpers
call the same functions with a single row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from marrowsim.disease_outcomes import DISEASE_INPUTS, disease_outcome_row, disease_outcomes_batch

ANC_ENGRAFTMENT = 0.5  # 10^9/L
PLATELET_ENGRAFTMENT = 20.0  # 10^9/L
CONSECUTIVE_DAYS = 3
PLATELET_TRANSFUSION_FREE_DAYS = 7
FULL_CHIMERISM = 0.95
GRAFT_FAILURE_DAY = {"peripheral_blood": 30, "bone_marrow": 30, "cord_blood": 42}
SECONDARY_FAILURE_RUN = 7
CHIMERISM_DAYS = (30, 100)
FINAL_COUNTS = ("anc", "wbc", "hb", "platelets", "lymphocytes")
# observables the endpoints read
OUTCOME_INPUTS = (
    "anc",
    "wbc",
    "hb",
    "platelets",
    "lymphocytes",
    "hsc",
    "platelet_transfusion",
    "rbc_transfusion",
    "donor_chimerism_myeloid",
    "donor_chimerism_lymphoid",
    *DISEASE_INPUTS,  # relapse, aplastic anemia response (marrowsim.disease_outcomes)
    # erythroid disease and gene editing (erythroid_batch_outcomes)
    "hbf",
    "hbf_percent",
    "edited_allele_fraction_blood",
)
_NONE = -1  # "no such day" in integer index arrays
# inputs of compute_batch_outcomes read in several passes
_SEVERAL_PASSES = ("anc", "platelets", "hb", "platelet_transfusion", "rbc_transfusion")


# --- vectorised building blocks (rows = patients) ------------------------------------------
def _rows(values: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(values, dtype=float))


def _first_true(mask: np.ndarray) -> np.ndarray:
    """Column of the first True in each row, ``_NONE`` where a row has none."""
    if mask.shape[1] == 0:
        return np.full(mask.shape[0], _NONE)
    idx = np.argmax(mask, axis=1)
    return np.where(mask[np.arange(mask.shape[0]), idx], idx, _NONE)


def _windows_all(ok: np.ndarray, length: int) -> np.ndarray:
    """``out[p, i]``: ``ok[p, i : i + length]`` is all True (False where the window overhangs)."""
    n_days = ok.shape[1]
    out = np.zeros(ok.shape, dtype=bool)
    if n_days >= length:
        cs = np.zeros((ok.shape[0], n_days + 1), dtype=np.int64)
        np.cumsum(ok, axis=1, out=cs[:, 1:])
        out[:, : n_days - length + 1] = cs[:, length:] - cs[:, : n_days - length + 1] == length
    return out


def _argmin_finite(v: np.ndarray) -> np.ndarray:
    """Column of the first minimum over finite values; ``_NONE`` for rows without any."""
    finite = np.isfinite(v)
    if v.shape[1] == 0:
        return np.full(v.shape[0], _NONE)
    idx = np.argmin(np.where(finite, v, np.inf), axis=1)
    return np.where(finite.any(axis=1), idx, _NONE)


def _below(v: np.ndarray, threshold: float) -> np.ndarray:
    """Rows whose smallest finite value is below ``threshold``."""
    return np.min(np.where(np.isfinite(v), v, np.inf), axis=1, initial=np.inf) < threshold


def _post(days: np.ndarray) -> int:
    """Index of the first post-transplant day (day >= 0); ``len(days)`` if none."""
    return int(np.searchsorted(days, 0, side="left"))


def _day_or_nan(days: np.ndarray, idx: np.ndarray) -> np.ndarray:
    if len(days) == 0:
        return np.full(idx.shape, np.nan)
    return np.where(idx >= 0, days[np.maximum(idx, 0)], np.nan).astype(float)


def last_finite_index(values: np.ndarray) -> np.ndarray:
    """Column of the last finite value in each row (``_NONE`` if none)."""
    finite = np.isfinite(_rows(values))
    n = finite.shape[1]
    rev = _first_true(finite[:, ::-1])
    return np.where(rev >= 0, n - 1 - rev, _NONE)


# --- endpoints for a batch -----------------------------------------------------------------
def nadir_batch(days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(day, value) of each row's post-transplant minimum (first occurrence); NaN if none."""
    v = _rows(values)[:, _post(days) :]
    i = _argmin_finite(v)
    if v.shape[1] == 0:
        return np.full(v.shape[0], np.nan), np.full(v.shape[0], np.nan)
    value = np.where(i >= 0, v[np.arange(v.shape[0]), np.maximum(i, 0)], np.nan)
    return _day_or_nan(days[_post(days) :], i), value


def neutrophil_engraftment_batch(days: np.ndarray, anc: np.ndarray) -> np.ndarray:
    """First of 3 consecutive days with ANC >= 0.5 after the nadir (NaN if never, or if ANC never
    fell below 0.5 after day 0: no aplasia, engraftment not applicable)."""
    d, v = days[_post(days) :], _rows(anc)[:, _post(days) :]
    start = _argmin_finite(v)
    aplasia = (start >= 0) & _below(v, ANC_ENGRAFTMENT)
    window = _windows_all(v >= ANC_ENGRAFTMENT, CONSECUTIVE_DAYS)
    window &= np.arange(v.shape[1])[None, :] >= start[:, None]
    first = np.where(aplasia, _first_true(window), _NONE)
    return _day_or_nan(d, first)


def platelet_engraftment_batch(
    days: np.ndarray, platelets: np.ndarray, transfused: np.ndarray
) -> np.ndarray:
    """First of 3 consecutive days with platelets >= 20 after the nadir, with no platelet
    transfusion in the preceding 7 days nor during the 3 days (transfusions before day 0 count);
    NaN if never, or if platelets never fell below 20 and none were transfused after day 0."""
    offset = _post(days)
    d = days[offset:]
    v = _rows(platelets)[:, offset:]
    t_all = _rows(transfused) > 0
    t = t_all[:, offset:]
    start = _argmin_finite(v)
    applicable = (start >= 0) & (_below(v, PLATELET_ENGRAFTMENT) | t.any(axis=1))
    ok = _windows_all(v >= PLATELET_ENGRAFTMENT, CONSECUTIVE_DAYS)
    ok &= np.arange(v.shape[1])[None, :] >= start[:, None]
    # transfusions in days [j - 7, j + 3) of the whole course, j = post-transplant index + offset
    n_all = t_all.shape[1]
    ct = np.zeros((t_all.shape[0], n_all + 1), dtype=np.int64)
    np.cumsum(t_all, axis=1, out=ct[:, 1:])
    j = np.arange(v.shape[1]) + offset
    lo = np.maximum(0, j - PLATELET_TRANSFUSION_FREE_DAYS)
    hi = np.minimum(j + CONSECUTIVE_DAYS, n_all)
    ok &= (ct[:, hi] - ct[:, lo]) == 0
    return _day_or_nan(d, np.where(applicable, _first_true(ok), _NONE))


def secondary_graft_failure_batch(
    days: np.ndarray, anc: np.ndarray, engraftment_day: np.ndarray
) -> np.ndarray:
    """ANC below 0.5 for >= 7 consecutive days from 3 days after neutrophil engraftment."""
    a = _rows(anc)
    e = np.atleast_1d(np.asarray(engraftment_day, dtype=float))
    low_run = _windows_all(a < ANC_ENGRAFTMENT, SECONDARY_FAILURE_RUN)
    with np.errstate(invalid="ignore"):
        after = days[None, :] >= (e + CONSECUTIVE_DAYS)[:, None]
    return np.isfinite(e) & (low_run & after).any(axis=1)


def secondary_graft_failure_day_batch(
    days: np.ndarray, anc: np.ndarray, engraftment_day: np.ndarray
) -> np.ndarray:
    """Day secondary graft failure is declared (the 7th consecutive day of ANC < 0.5 from 3 days
    after engraftment, as in :func:`secondary_graft_failure_batch`); NaN if none."""
    a = _rows(anc)
    e = np.atleast_1d(np.asarray(engraftment_day, dtype=float))
    low_run = _windows_all(a < ANC_ENGRAFTMENT, SECONDARY_FAILURE_RUN)
    with np.errstate(invalid="ignore"):
        after = days[None, :] >= (e + CONSECUTIVE_DAYS)[:, None]
    first = _first_true(low_run & after & np.isfinite(e)[:, None])
    declared = np.where(first == _NONE, _NONE, first + SECONDARY_FAILURE_RUN - 1)
    return _day_or_nan(days, declared)


def days_below_batch(days: np.ndarray, values: np.ndarray, threshold: float) -> np.ndarray:
    """Number of post-transplant days with a morning value below ``threshold``."""
    return np.sum(_rows(values)[:, _post(days) :] < threshold, axis=1)


def value_on_batch(days: np.ndarray, values: np.ndarray, day: int) -> np.ndarray:
    """Each row's value on ``day`` (NaN where the day was not simulated)."""
    v = _rows(values)
    idx = np.nonzero(days == day)[0]
    return v[:, idx[0]].copy() if len(idx) else np.full(v.shape[0], np.nan)


def last_value_batch(values: np.ndarray) -> np.ndarray:
    """Each row's last finite value (NaN if none)."""
    v = _rows(values)
    i = last_finite_index(v)
    return np.where(i >= 0, v[np.arange(v.shape[0]), np.maximum(i, 0)], np.nan)


def compute_batch_outcomes(
    days: np.ndarray,
    series: Mapping[str, np.ndarray],
    *,
    graft_source: Sequence[str | None],
    donor_relation: Sequence[str | None],
) -> dict[str, np.ndarray]:
    """Every endpoint for a batch, one array per endpoint (length = patients).

    ``series`` maps each name of :data:`OUTCOME_INPUTS` to an array ``(patients, days)``.
    Days are float with NaN for "never / not applicable"; flags are bool; counts are int;
    ``full_donor_chimerism_day*`` are float 1/0 with NaN for "unknown".
    Endpoints that do not apply to a patient (engraftment without a graft, chimerism without an
    allogeneic donor) are NaN / False; ``transplanted`` and ``allogeneic`` say which apply.
    """
    days = np.asarray(days)
    # the series are usually views that stride over every observable of every day (a slice of a
    # batch result); those read in several passes are copied once into contiguous rows
    series = {**series, **{k: np.ascontiguousarray(_rows(series[k])) for k in _SEVERAL_PASSES}}
    anc = series["anc"]
    n = anc.shape[0]
    source = np.asarray([s or "" for s in graft_source], dtype=object)
    relation = np.asarray([r or "autologous" for r in donor_relation], dtype=object)
    transplanted = source != ""
    allogeneic = transplanted & (relation != "autologous")
    last = last_finite_index(anc)
    last_day = np.where(last >= 0, days[np.maximum(last, 0)], days[0] - 1).astype(float)
    out: dict[str, np.ndarray] = {"transplanted": transplanted, "allogeneic": allogeneic}
    n_day = np.where(transplanted, neutrophil_engraftment_batch(days, anc), np.nan)
    plt_transfused = series["platelet_transfusion"]
    p_day = platelet_engraftment_batch(days, series["platelets"], plt_transfused)
    failure_day = np.array([GRAFT_FAILURE_DAY.get(s, 30) for s in source], dtype=float)
    not_engrafted = ~np.isfinite(n_day) | (n_day > failure_day)
    out["neutrophil_engraftment_day"] = n_day
    out["platelet_engraftment_day"] = np.where(transplanted, p_day, np.nan)
    out["primary_graft_failure"] = allogeneic & (last_day >= failure_day) & not_engrafted
    out["secondary_graft_failure"] = transplanted & secondary_graft_failure_batch(days, anc, n_day)
    secondary_day = secondary_graft_failure_day_batch(days, anc, n_day)
    out["graft_failure_day"] = np.where(
        out["primary_graft_failure"],
        failure_day,
        np.where(out["secondary_graft_failure"], secondary_day, np.nan),
    )
    for name, key in (("anc", "anc"), ("platelet", "platelets"), ("hb", "hb")):
        d, v = nadir_batch(days, series[key])
        out[f"{name}_nadir"] = v
        out[f"{name}_nadir_day"] = d
    out["days_anc_below_0_5"] = days_below_batch(days, anc, 0.5)
    out["days_anc_below_0_1"] = days_below_batch(days, anc, 0.1)
    out["platelet_transfusions"] = np.sum(_rows(plt_transfused) > 0, axis=1)
    out["rbc_transfusions"] = np.sum(_rows(series["rbc_transfusion"]) > 0, axis=1)
    for day in CHIMERISM_DAYS:
        both = []
        for lineage in ("myeloid", "lymphoid"):
            v = value_on_batch(days, series[f"donor_chimerism_{lineage}"], day)
            out[f"donor_chimerism_{lineage}_day{day}"] = np.where(allogeneic, v, np.nan)
            both.append(out[f"donor_chimerism_{lineage}_day{day}"])
        known = np.isfinite(both[0]) & np.isfinite(both[1])
        full = (both[0] > FULL_CHIMERISM) & (both[1] > FULL_CHIMERISM)
        out[f"full_donor_chimerism_day{day}"] = np.where(known, full.astype(float), np.nan)
    for key in FINAL_COUNTS:
        out[f"{key}_final"] = last_value_batch(series[key])
    out["hsc_final"] = last_value_batch(series["hsc"])
    out["last_day"] = last_day
    out.update(disease_outcomes_batch(days, series))  # relapse, aplastic anemia response
    from marrowsim.outcomes_erythroid import erythroid_batch_outcomes

    out.update(erythroid_batch_outcomes(days, series))
    assert all(len(v) == n for v in out.values())
    return out


# --- one patient ---------------------------------------------------------------------------
def _int_or_none(x: float) -> int | None:
    return None if not np.isfinite(x) else int(x)


def _float_or_none(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def nadir(days: np.ndarray, values: np.ndarray) -> tuple[int | None, float | None]:
    """Day and value of the post-transplant minimum (first occurrence)."""
    d, v = nadir_batch(np.asarray(days), values)
    return _int_or_none(d[0]), _float_or_none(v[0])


def neutrophil_engraftment_day(days: np.ndarray, anc: np.ndarray) -> int | None:
    """First of 3 consecutive days with ANC >= 0.5 after the nadir; ``None`` if never, or if
    ANC never fell below 0.5 after day 0 (no aplasia: engraftment not applicable)."""
    return _int_or_none(neutrophil_engraftment_batch(np.asarray(days), anc)[0])


def platelet_engraftment_day(
    days: np.ndarray, platelets: np.ndarray, transfused: np.ndarray
) -> int | None:
    """First of 3 consecutive days with platelets >= 20 after the nadir, with no platelet
    transfusion in the preceding 7 days nor during the 3 days; ``None`` if never or no nadir < 20.
    """
    return _int_or_none(platelet_engraftment_batch(np.asarray(days), platelets, transfused)[0])


def secondary_graft_failure(days: np.ndarray, anc: np.ndarray, engraftment_day: int | None) -> bool:
    """ANC below 0.5 for >= 7 consecutive days after neutrophil engraftment."""
    e = np.nan if engraftment_day is None else float(engraftment_day)
    return bool(secondary_graft_failure_batch(np.asarray(days), anc, np.array([e]))[0])


def days_below(days: np.ndarray, values: np.ndarray, threshold: float) -> int:
    """Number of post-transplant days with a morning value below ``threshold``."""
    return int(days_below_batch(np.asarray(days), values, threshold)[0])


def value_on(days: np.ndarray, values: np.ndarray, day: int) -> float | None:
    return _float_or_none(value_on_batch(np.asarray(days), values, day)[0])


def outcome_row(table: Mapping[str, np.ndarray], i: int) -> dict[str, Any]:
    """Row ``i`` of :func:`compute_batch_outcomes` as the flat dict of :func:`compute_outcomes`
    (Python scalars, ``None`` for missing; endpoints that do not apply are left out)."""
    out: dict[str, Any] = {}
    if table["transplanted"][i]:
        out["neutrophil_engraftment_day"] = _int_or_none(table["neutrophil_engraftment_day"][i])
        out["platelet_engraftment_day"] = _int_or_none(table["platelet_engraftment_day"][i])
        out["primary_graft_failure"] = bool(table["primary_graft_failure"][i])
        out["secondary_graft_failure"] = bool(table["secondary_graft_failure"][i])
        out["graft_failure_day"] = _int_or_none(table["graft_failure_day"][i])
    for name in ("anc", "platelet", "hb"):
        out[f"{name}_nadir"] = _float_or_none(table[f"{name}_nadir"][i])
        out[f"{name}_nadir_day"] = _int_or_none(table[f"{name}_nadir_day"][i])
    for key in ("days_anc_below_0_5", "days_anc_below_0_1"):
        out[key] = int(table[key][i])
    out["platelet_transfusions"] = int(table["platelet_transfusions"][i])
    out["rbc_transfusions"] = int(table["rbc_transfusions"][i])
    if table["allogeneic"][i]:
        for day in CHIMERISM_DAYS:
            for lineage in ("myeloid", "lymphoid"):
                key = f"donor_chimerism_{lineage}_day{day}"
                out[key] = _float_or_none(table[key][i])
            full = table[f"full_donor_chimerism_day{day}"][i]
            out[f"full_donor_chimerism_day{day}"] = None if not np.isfinite(full) else bool(full)
    for key in FINAL_COUNTS:
        out[f"{key}_final"] = float(table[f"{key}_final"][i])
    out["hsc_final"] = float(table["hsc_final"][i])
    out.update(disease_outcome_row(table, i))
    from marrowsim.outcomes_erythroid import erythroid_outcome_row

    out.update(erythroid_outcome_row(table, i))
    return out


def compute_outcomes(solution) -> dict[str, Any]:
    """All endpoints of one :class:`~marrowsim.solution.Solution` as a flat dict."""
    meta = solution.metadata
    series = {name: np.asarray(solution[name], dtype=float)[None, :] for name in OUTCOME_INPUTS}
    table = compute_batch_outcomes(
        solution.days,
        series,
        graft_source=[meta.get("graft_source")],
        donor_relation=[meta.get("donor_relation")],
    )
    return outcome_row(table, 0)
