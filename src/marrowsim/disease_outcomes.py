"""Disease endpoints, vectorised over patients: leukemic relapse and aplastic anemia response.

Called by :func:`marrowsim.outcomes.compute_batch_outcomes` (cohorts) and therefore by
:func:`marrowsim.outcomes.compute_outcomes` (one solution). Definitions (``docs/disease.md``):

* **relapse** (AML): the first morning on or after day 0 with marrow blasts >= 5 %, after a
  morning below 5 % (morphologic relapse after complete remission: bone marrow blasts >= 5 %,
  ELN 2017 response criteria, Döhner et al., Blood 2017;129:424, Table 6). A patient never below
  5 % after day 0 was never in remission and has no relapse day. Blasts here are all leukemic
  cells per marrow cell (Stiehl 2015 counts leukemic stem cells, progenitors and blasts alike).
  ``leukemia_modelled``: the course starts with leukemic cells (a ``[disease]`` burden > 0).
* **severe aplastic anemia criteria** on a morning: at least 2 of ANC < 0.5 x10^9/L,
  reticulocytes < 60 x10^9/L and the patient's own platelets < 20 x10^9/L (transfused platelets
  excluded) (Camitta criteria as stated by Desmond et al., Semin Hematol 2015;52:31;
  anchors.md §0).
* **hematologic response at 6 months**: on day 180 the counts no longer meet the severe aplastic
  anemia criteria, as in the NIH trials (Scheinberg et al., NEJM 2011;365:430: "hematologic
  response at 6 months, as determined by blood counts"; response = no longer meeting the criteria
  for severe aplastic anemia). ``aplastic_anemia_modelled``: autoreactive T cells on the first
  morning. Response rates of a virtual trial are taken among patients meeting the criteria on
  day 0 (``severe_aplastic_anemia_day0``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

RELAPSE_BLASTS_PERCENT = 5.0  # ELN 2017: bone marrow blasts >= 5 %
SAA_ANC, SAA_RETICULOCYTES, SAA_PLATELETS = 0.5, 60.0, 20.0  # 10^9/L
RESPONSE_DAY = 180
DISEASE_INPUTS = (
    "marrow_blasts_percent",
    "reticulocytes",
    "platelets_endogenous",
    "autoreactive_t_cells",
)


def _rows(values: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(values, dtype=float))


def relapse_day_batch(days: np.ndarray, blasts_percent: np.ndarray) -> np.ndarray:
    """Day of morphologic relapse per patient (NaN if none): the first morning on or after day 0
    with blasts >= 5 % that follows a morning (on or after day 0) below 5 %."""
    days = np.asarray(days)
    post = days >= 0
    b = _rows(blasts_percent)[:, post]
    d = days[post]
    if d.size == 0:
        return np.full(b.shape[0], np.nan)
    high = b >= RELAPSE_BLASTS_PERCENT
    low = b < RELAPSE_BLASTS_PERCENT  # NaN (failed integration) is neither
    remission = np.cumsum(low, axis=1) > 0
    relapsed = high & np.roll(remission, 1, axis=1)
    relapsed[:, 0] = False
    first = np.argmax(relapsed, axis=1)
    found = relapsed[np.arange(b.shape[0]), first]
    return np.where(found, d[first], np.nan).astype(float)


def saa_criteria_batch(
    anc: np.ndarray, reticulocytes: np.ndarray, platelets_endogenous: np.ndarray
) -> np.ndarray:
    """Per value: at least 2 of the 3 severe aplastic anemia criteria (NaN where any is NaN)."""
    a, r, p = (np.asarray(x, dtype=float) for x in (anc, reticulocytes, platelets_endogenous))
    met = (a < SAA_ANC).astype(int) + (r < SAA_RETICULOCYTES) + (p < SAA_PLATELETS)
    known = np.isfinite(a) & np.isfinite(r) & np.isfinite(p)
    return np.where(known, (met >= 2).astype(float), np.nan)


def _first_positive(values: np.ndarray) -> np.ndarray:
    """Per row: the first morning's value is > 0 (False for an empty course)."""
    if values.shape[1] == 0:
        return np.zeros(values.shape[0], dtype=bool)
    return np.nan_to_num(values[:, 0]) > 0


def _on_day(days: np.ndarray, values: np.ndarray, day: int) -> np.ndarray:
    v = _rows(values)
    idx = np.nonzero(np.asarray(days) == day)[0]
    return v[:, idx[0]] if len(idx) else np.full(v.shape[0], np.nan)


def disease_outcomes_batch(
    days: np.ndarray, series: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Leukemia and aplastic anemia endpoints (one array per endpoint, length = patients).

    Relapse endpoints are False / NaN for patients without a modelled leukemia; aplastic anemia
    endpoints are NaN for patients without the autoimmune model (1.0 / 0.0 otherwise).
    """
    blasts = _rows(series["marrow_blasts_percent"])
    leukemia = _first_positive(blasts)
    relapse_day = np.where(leukemia, relapse_day_batch(days, blasts), np.nan)
    out = {
        "leukemia_modelled": leukemia,
        "relapse": np.isfinite(relapse_day),
        "relapse_day": relapse_day,
    }
    aplastic = _first_positive(_rows(series["autoreactive_t_cells"]))
    counts = [series[k] for k in ("anc", "reticulocytes", "platelets_endogenous")]
    for day, key in ((0, "severe_aplastic_anemia_day0"), (RESPONSE_DAY, "saa_criteria_day180")):
        met = saa_criteria_batch(*(_on_day(days, c, day) for c in counts))
        out[key] = np.where(aplastic, met, np.nan)
    out["aplastic_anemia_modelled"] = aplastic
    out["hematologic_response_day180"] = 1.0 - out["saa_criteria_day180"]
    return out


def disease_outcome_row(table: Mapping[str, np.ndarray], i: int) -> dict:
    """Row ``i`` as Python scalars; endpoints of a disease the patient does not have are left
    out."""
    out: dict = {}
    if table["leukemia_modelled"][i]:
        out["relapse"] = bool(table["relapse"][i])
        day = table["relapse_day"][i]
        out["relapse_day"] = None if not np.isfinite(day) else int(day)
    if table["aplastic_anemia_modelled"][i]:
        for key in (
            "severe_aplastic_anemia_day0",
            "saa_criteria_day180",
            "hematologic_response_day180",
        ):
            x = table[key][i]
            out[key] = None if not np.isfinite(x) else bool(x)
    return out
