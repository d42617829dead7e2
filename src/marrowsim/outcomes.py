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
* full donor chimerism: > 95 % donor.
Days before day 0 (conditioning) are ignored by the post-transplant endpoints.
"""

from __future__ import annotations

from typing import Any

import numpy as np

ANC_ENGRAFTMENT = 0.5  # 10^9/L
PLATELET_ENGRAFTMENT = 20.0  # 10^9/L
CONSECUTIVE_DAYS = 3
PLATELET_TRANSFUSION_FREE_DAYS = 7
FULL_CHIMERISM = 0.95
GRAFT_FAILURE_DAY = {"peripheral_blood": 30, "bone_marrow": 30, "cord_blood": 42}
SECONDARY_FAILURE_RUN = 7


def _post_transplant(days: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = days >= 0
    return days[keep], values[keep]


def nadir(days: np.ndarray, values: np.ndarray) -> tuple[int | None, float | None]:
    """Day and value of the post-transplant minimum (first occurrence)."""
    d, v = _post_transplant(days, values)
    if len(v) == 0 or not np.any(np.isfinite(v)):
        return None, None
    i = int(np.nanargmin(v))
    return int(d[i]), float(v[i])


def _first_run(ok: np.ndarray, start: int, length: int) -> int | None:
    run = 0
    for i in range(start, len(ok)):
        run = run + 1 if ok[i] else 0
        if run == length:
            return i - length + 1
    return None


def neutrophil_engraftment_day(days: np.ndarray, anc: np.ndarray) -> int | None:
    """First of 3 consecutive days with ANC >= 0.5 after the nadir; ``None`` if never, or if
    ANC never fell below 0.5 after day 0 (no aplasia: engraftment not applicable)."""
    d, v = _post_transplant(days, anc)
    if len(v) == 0 or np.nanmin(v) >= ANC_ENGRAFTMENT:
        return None
    start = int(np.nanargmin(v))
    i = _first_run(v >= ANC_ENGRAFTMENT, start, CONSECUTIVE_DAYS)
    return None if i is None else int(d[i])


def platelet_engraftment_day(
    days: np.ndarray, platelets: np.ndarray, transfused: np.ndarray
) -> int | None:
    """First of 3 consecutive days with platelets >= 20 after the nadir, with no platelet
    transfusion in the preceding 7 days nor during the 3 days; ``None`` if never or no nadir < 20.
    """
    keep = days >= 0
    d, v, t = days[keep], platelets[keep], transfused[keep] > 0
    if len(v) == 0 or (np.nanmin(v) >= PLATELET_ENGRAFTMENT and not t.any()):
        return None
    # transfusions before day 0 also count towards the 7-day window
    t_all = transfused > 0
    offset = int(np.argmax(keep))
    start = int(np.nanargmin(v))
    for i in range(start, len(v) - CONSECUTIVE_DAYS + 1):
        if not np.all(v[i : i + CONSECUTIVE_DAYS] >= PLATELET_ENGRAFTMENT):
            continue
        j = i + offset
        lo = max(0, j - PLATELET_TRANSFUSION_FREE_DAYS)
        if t_all[lo : j + CONSECUTIVE_DAYS].any():
            continue
        return int(d[i])
    return None


def secondary_graft_failure(days: np.ndarray, anc: np.ndarray, engraftment_day: int | None) -> bool:
    """ANC below 0.5 for >= 7 consecutive days after neutrophil engraftment."""
    if engraftment_day is None:
        return False
    keep = days >= engraftment_day + CONSECUTIVE_DAYS
    return _first_run(anc[keep] < ANC_ENGRAFTMENT, 0, SECONDARY_FAILURE_RUN) is not None


def secondary_graft_failure_day(
    days: np.ndarray, anc: np.ndarray, engraftment_day: int | None
) -> int | None:
    """Day secondary graft failure is declared: the 7th consecutive day of ANC < 0.5 after
    neutrophil engraftment (the definition of :func:`secondary_graft_failure`); ``None`` if none."""
    if engraftment_day is None:
        return None
    keep = days >= engraftment_day + CONSECUTIVE_DAYS
    i = _first_run(anc[keep] < ANC_ENGRAFTMENT, 0, SECONDARY_FAILURE_RUN)
    return None if i is None else int(days[keep][i + SECONDARY_FAILURE_RUN - 1])


def days_below(days: np.ndarray, values: np.ndarray, threshold: float) -> int:
    """Number of post-transplant days with a morning value below ``threshold``."""
    _, v = _post_transplant(days, values)
    return int(np.sum(v < threshold))


def value_on(days: np.ndarray, values: np.ndarray, day: int) -> float | None:
    idx = np.nonzero(days == day)[0]
    return float(values[idx[0]]) if len(idx) else None


def compute_outcomes(solution) -> dict[str, Any]:
    """All endpoints of one :class:`~marrowsim.solution.Solution` as a flat dict."""
    days = solution.days
    anc, plt, hb = solution["anc"], solution["platelets"], solution["hb"]
    meta = solution.metadata
    transplanted = bool(meta.get("graft_source"))
    out: dict[str, Any] = {}
    if transplanted:
        n_day = neutrophil_engraftment_day(days, anc)
        p_day = platelet_engraftment_day(days, plt, solution["platelet_transfusion"])
        failure_day = GRAFT_FAILURE_DAY.get(meta["graft_source"], 30)
        allogeneic = meta.get("donor_relation", "autologous") != "autologous"
        followed = days[-1] >= failure_day
        primary = bool(allogeneic and followed and (n_day is None or n_day > failure_day))
        out.update(
            neutrophil_engraftment_day=n_day,
            platelet_engraftment_day=p_day,
            primary_graft_failure=primary,
            secondary_graft_failure=secondary_graft_failure(days, anc, n_day),
            graft_failure_day=failure_day
            if primary
            else secondary_graft_failure_day(days, anc, n_day),
        )
    for name, series in (("anc", anc), ("platelet", plt), ("hb", hb)):
        d, v = nadir(days, series)
        out[f"{name}_nadir"] = v
        out[f"{name}_nadir_day"] = d
    out["days_anc_below_0_5"] = days_below(days, anc, 0.5)
    out["days_anc_below_0_1"] = days_below(days, anc, 0.1)
    out["platelet_transfusions"] = int(np.sum(solution["platelet_transfusion"] > 0))
    out["rbc_transfusions"] = int(np.sum(solution["rbc_transfusion"] > 0))
    if transplanted and meta.get("donor_relation", "autologous") != "autologous":
        for day in (30, 100):
            for lineage in ("myeloid", "lymphoid"):
                out[f"donor_chimerism_{lineage}_day{day}"] = value_on(
                    days, solution[f"donor_chimerism_{lineage}"], day
                )
            m = out[f"donor_chimerism_myeloid_day{day}"]
            ly = out[f"donor_chimerism_lymphoid_day{day}"]
            out[f"full_donor_chimerism_day{day}"] = (
                None
                if m is None or ly is None
                else bool(m > FULL_CHIMERISM and ly > FULL_CHIMERISM)
            )
    last = {k: float(solution[k][-1]) for k in ("anc", "wbc", "hb", "platelets", "lymphocytes")}
    out.update({f"{k}_final": v for k, v in last.items()})
    out["hsc_final"] = float(solution["hsc"][-1])
    return out
