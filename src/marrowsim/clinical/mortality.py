"""Death after allogeneic HCT from cause-specific hazards, per patient and reproducible.

Time ``t`` is in days after the graft infusion (day 0). Each patient's cumulative hazard is the sum
of four causes (equations and sources: docs/patient-risk.md):

* ``transplant_related`` (non-relapse mortality of the usual course):
  ``H2 = -ln(1 - NRM2y[HCT-CI group]) × HR_age / HR_age_ref × HR_donor × HR_hla^mm × HR_era``
  with NRM2y 14 / 23 / 39 % (ElSawy 2015), age hazard ratios by band (Sorror 2014), donor type
  (haploidentical, cord vs matched related, Versluis 2017), ``mm`` HLA mismatches out of 8
  (fitted to Lee 2007, unrelated and sibling donors), era (1990s vs 2000s, Penack 2020). The
  first-year share of ``H2`` is ``ln(1-0.21)/ln(1-0.24)`` (Terwey 2010); the hazard is piecewise
  constant on days 0-99, 100-364 and 365-730 (split of the first year: an assumption).
* ``graft_failure``: a constant hazard from the day primary (day 30, cord day 42) or secondary
  graft failure is declared (fitted to 31 % 1-year survival after graft failure, Rondón 2008).
* ``neutropenic_infection``: a constant hazard on the days of ANC < 0.5 beyond the usual aplasia
  (assumption), until engraftment or graft failure.
* ``relapse``: a constant hazard for hematologic malignancies (fitted to Lee 2007, 8/8 arm);
  where the simulation carries the leukemia (outcomes ``leukemia_modelled`` and ``relapse_day``,
  :mod:`marrowsim.disease_outcomes`), instead a constant hazard from the simulated relapse day on
  (``relapse_death_rate``: 23 % alive 1 year after relapse, Bejanyan 2015) and none without one.

Deaths are sampled by inversion: a patient with uniform ``u`` dies at the first ``t`` with
``H(t) >= -ln u`` (linear inside each day). The cause is read from the same draw: inside the day of
death, the causes' hazard increments are stacked in :data:`CAUSES` order and the cause is the one
whose slice holds ``(-ln u - H(day)) / ΔH(day)``; given death on that day this picks each cause with
probability ≈ its share of the day's hazard. Only allogeneic transplants are covered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from marrowsim.clinical.mortality_parameters import (
    AGE_BANDS,
    MAX_HORIZON_DAYS,
    MortalityParameters,
    trm_shape,
)
from marrowsim.errors import InputError, UnknownNameError
from marrowsim.parameters import ParameterSet, default_parameters

CAUSES = ("transplant_related", "graft_failure", "neutropenic_infection", "relapse")
NONRELAPSE_CAUSES = CAUSES[:3]
ALLOGENEIC_RELATIONS = ("matched_sibling", "unrelated", "haploidentical", "cord")
MALIGNANT_DIAGNOSES = ("AML", "ALL", "MDS", "myeloma", "lymphoma")
NONMALIGNANT_DIAGNOSES = ("aplastic_anemia", "sickle_cell", "beta_thalassemia")
ERAS = ("2000s", "1990s")
PRIMARY_FAILURE_DAY = {"cord": 42}  # else day 30 (ASTCT, outcomes.GRAFT_FAILURE_DAY)
SECONDARY_FAILURE_DELAY = 10  # engraftment (3 days) + 7 days below 0.5 before it is declared
OUTCOME_KEYS = {
    "donor_relation": True,
    "hla_mismatches_8": True,
    "primary_graft_failure": True,
    "days_anc_below_0_5": True,
    "secondary_graft_failure": False,
    "graft_failure_day": False,
    "neutrophil_engraftment_day": False,
    "leukemia_modelled": False,  # True: relapse deaths follow the simulated relapse_day
    "relapse_day": False,
}
COVARIATE_KEYS = {"age_years": True, "hct_ci_score": True, "diagnosis": True, "era": False}
# accepted but without effect: no verified effect size once HCT-CI is known (docs/patient-risk.md)
COVARIATES_WITHOUT_EFFECT = ("karnofsky", "conditioning_intensity")
_CHUNK = 2048


# --- inputs --------------------------------------------------------------------------------


def _column(table: Mapping[str, np.ndarray], key: str, n: int, kind: str) -> np.ndarray | None:
    if key not in table:
        return None
    arr = np.asarray(table[key])
    if arr.shape not in ((n,), ()):
        raise InputError(f"{kind} {key!r}: expected {n} values, got shape {arr.shape}")
    return np.broadcast_to(arr, (n,))


def _check_keys(table: Mapping[str, np.ndarray], known: dict[str, bool], kind: str, extra=()):
    allowed = (*known, *extra)
    for key in table:
        if key not in allowed:
            raise UnknownNameError(f"{kind} key", key, allowed)
    missing = [k for k, required in known.items() if required and k not in table]
    if missing:
        raise InputError(f"{kind}: missing {', '.join(missing)} (required: {', '.join(known)})")


def _require(values: np.ndarray, ok: np.ndarray, name: str, allowed: str) -> None:
    """Refuse the first bad value with one line (NaN fails every check)."""
    bad = ~ok
    if np.any(bad):
        first = values[bad][0]
        raise InputError(
            f"{name} must be {allowed}, got {getattr(first, 'item', lambda: first)()!r}"
        )


@dataclass(frozen=True)
class _Patients:
    """Validated per-patient arrays the hazards need."""

    transplant_related_2year: np.ndarray  # H2 of the transplant-related cause
    relapse_rate: np.ndarray
    failure_day: np.ndarray  # day graft failure is declared; inf if none
    relapse_simulated: np.ndarray  # bool: the leukemia was simulated (relapse hazard from its day)
    relapse_day: np.ndarray  # simulated relapse day; inf if none
    post_relapse_rate: np.ndarray  # death hazard after a simulated relapse, 1/day
    neutropenic_until: np.ndarray  # end of the neutropenia window (days)


def _patients(outcomes, covariates, mp: MortalityParameters, post_relapse_rate: float) -> _Patients:
    _check_keys(outcomes, OUTCOME_KEYS, "outcome")
    _check_keys(covariates, COVARIATE_KEYS, "covariate", COVARIATES_WITHOUT_EFFECT)
    n = int(np.asarray(outcomes["donor_relation"]).size)
    relation = _column(outcomes, "donor_relation", n, "outcome").astype(str)
    bad = sorted(set(relation) - set(ALLOGENEIC_RELATIONS))
    if bad:
        raise InputError(
            f"the mortality model covers allogeneic transplants only; got donor relation "
            f"{bad[0]!r} (allowed: {', '.join(ALLOGENEIC_RELATIONS)})"
        )
    mm = _column(outcomes, "hla_mismatches_8", n, "outcome").astype(float)
    _require(mm, (mm >= 0) & (mm <= 8) & (mm == np.round(mm)), "hla_mismatches_8", "0-8")
    age = _column(covariates, "age_years", n, "covariate").astype(float)
    _require(age, (age >= 0) & (age <= 120), "age_years", "0-120")
    score = _column(covariates, "hct_ci_score", n, "covariate").astype(float)
    _require(score, (score >= 0) & (score == np.round(score)), "hct_ci_score", "integers >= 0")
    diagnosis = _column(covariates, "diagnosis", n, "covariate").astype(str)
    for d in set(diagnosis) - set(MALIGNANT_DIAGNOSES) - set(NONMALIGNANT_DIAGNOSES):
        raise UnknownNameError("diagnosis", d, (*MALIGNANT_DIAGNOSES, *NONMALIGNANT_DIAGNOSES))
    era = _column(covariates, "era", n, "covariate")
    era = np.full(n, "2000s") if era is None else era.astype(str)
    for e in set(era) - set(ERAS):
        raise UnknownNameError("era", e, ERAS)

    group = np.where(score == 0, 0, np.where(score <= 2, 1, 2))
    h2 = np.asarray(mp.nrm_2year_by_group)[group]
    band = np.searchsorted([b for b, _ in AGE_BANDS], age, side="right")
    age_hr = np.concatenate([[1.0], mp.age_hazard_ratios])[band]
    donor_hr = np.select(
        [relation == "haploidentical", relation == "cord"],
        [mp.haploidentical_hazard_ratio, mp.cord_hazard_ratio],
        1.0,
    )
    hla_applies = (relation == "unrelated") | (relation == "matched_sibling")
    hla_hr = np.where(hla_applies, mp.hla_mismatch_hazard_ratio**mm, 1.0)
    nineties = era == "1990s"
    era_hr = np.where(nineties, mp.era_1990s_hazard_ratio, 1.0)
    h2 = h2 * age_hr / mp.age_reference_hazard_ratio * donor_hr * hla_hr * era_hr
    relapse = np.asarray(mp.relapse_rate_by_group)[group]
    relapse = relapse * np.where(nineties, mp.relapse_hazard_ratio_1990s, 1.0)
    malignant = np.isin(diagnosis, MALIGNANT_DIAGNOSES)

    primary = _column(outcomes, "primary_graft_failure", n, "outcome").astype(bool)
    secondary = _column(outcomes, "secondary_graft_failure", n, "outcome")
    secondary = np.zeros(n, bool) if secondary is None else secondary.astype(bool)
    given = _column(outcomes, "graft_failure_day", n, "outcome")
    engraftment = _column(outcomes, "neutrophil_engraftment_day", n, "outcome")
    engraftment = np.full(n, np.nan) if engraftment is None else engraftment.astype(float)
    primary_day = np.where(relation == "cord", PRIMARY_FAILURE_DAY["cord"], 30).astype(float)
    failure_day = np.where(primary, primary_day, np.inf)
    secondary_day = np.where(np.isfinite(engraftment), engraftment + SECONDARY_FAILURE_DELAY, 30)
    failure_day = np.where(secondary & ~primary, secondary_day, failure_day)
    if given is not None:
        given = given.astype(float)
        failure_day = np.where(np.isfinite(given), given, failure_day)
    neutropenic = _column(outcomes, "days_anc_below_0_5", n, "outcome").astype(float)
    _require(neutropenic, neutropenic >= 0, "days_anc_below_0_5", "days >= 0")
    simulated = _column(outcomes, "leukemia_modelled", n, "outcome")
    simulated = np.zeros(n, bool) if simulated is None else simulated.astype(bool)
    relapse_day = _column(outcomes, "relapse_day", n, "outcome")
    if simulated.any() and relapse_day is None:
        raise InputError("outcome 'leukemia_modelled' needs 'relapse_day' (NaN for no relapse)")
    relapse_day = np.full(n, np.nan) if relapse_day is None else relapse_day.astype(float)
    return _Patients(
        transplant_related_2year=h2,
        relapse_rate=np.where(malignant, relapse, 0.0),
        failure_day=failure_day,
        neutropenic_until=np.minimum(neutropenic, failure_day),
        relapse_simulated=simulated,
        relapse_day=np.where(np.isfinite(relapse_day), relapse_day, np.inf),
        post_relapse_rate=np.full(n, post_relapse_rate),
    )


# --- cumulative hazards --------------------------------------------------------------------


def _cause_hazards(t: np.ndarray, p: _Patients, mp: MortalityParameters) -> np.ndarray:
    """Cumulative hazards by cause at times ``t`` (days): shape (len(CAUSES), P, len(t))."""
    t = np.asarray(t, dtype=float)[None, :]
    shape = trm_shape(t, mp.first_year_share, mp.day100_share_of_first_year)
    trm = p.transplant_related_2year[:, None] * shape
    failure = mp.graft_failure_death_rate * np.maximum(t - p.failure_day[:, None], 0.0)
    start = mp.neutropenia_reference_days
    window = np.clip(t, start, np.maximum(p.neutropenic_until[:, None], start)) - start
    infection = mp.neutropenia_death_rate * window
    constant = p.relapse_rate[:, None] * t
    after = p.post_relapse_rate[:, None] * np.maximum(t - p.relapse_day[:, None], 0.0)
    relapse = np.where(p.relapse_simulated[:, None], after, constant)
    return np.stack([trm, failure, infection, relapse])


def _resolve(parameters) -> MortalityParameters:
    if isinstance(parameters, MortalityParameters):
        return parameters
    return MortalityParameters.from_parameters(parameters)


def _post_relapse_rate(parameters) -> float:
    """Death hazard after a simulated relapse (``relapse_death_rate``, Bejanyan 2015)."""
    ps = parameters if isinstance(parameters, ParameterSet) else default_parameters()
    return ps.value("relapse_death_rate")


def _horizon(horizon_days: float) -> int:
    if not (0 < horizon_days <= MAX_HORIZON_DAYS):
        raise InputError(
            f"horizon_days must be in (0, {MAX_HORIZON_DAYS}] (NRM is sourced to 2 years), "
            f"got {horizon_days!r}"
        )
    return math.ceil(horizon_days)


def cumulative_hazards(
    days: np.ndarray,
    outcomes: Mapping[str, np.ndarray],
    covariates: Mapping[str, np.ndarray],
    parameters: ParameterSet | MortalityParameters | None = None,
) -> dict[str, np.ndarray]:
    """Cumulative hazard of each cause at ``days`` (array (P, len(days)) per cause)."""
    mp = _resolve(parameters)
    patients = _patients(outcomes, covariates, mp, _post_relapse_rate(parameters))
    stacked = _cause_hazards(np.asarray(days, float), patients, mp)
    return dict(zip(CAUSES, stacked, strict=True))


def survival_probability(
    day: float,
    outcomes: Mapping[str, np.ndarray],
    covariates: Mapping[str, np.ndarray],
    parameters: ParameterSet | MortalityParameters | None = None,
) -> np.ndarray:
    """Probability of being alive on ``day`` (no sampling), per patient."""
    _horizon(day)
    total = sum(cumulative_hazards([day], outcomes, covariates, parameters).values())
    return np.exp(-total[:, 0])


def nonrelapse_mortality_probability(
    day: float,
    outcomes: Mapping[str, np.ndarray],
    covariates: Mapping[str, np.ndarray],
    parameters: ParameterSet | MortalityParameters | None = None,
) -> np.ndarray:
    """Cumulative incidence of non-relapse death by ``day`` (relapse death competing), per
    patient: the sum over days of each day's death probability × its non-relapse share."""
    mp = _resolve(parameters)
    patients = _patients(outcomes, covariates, mp, _post_relapse_rate(parameters))
    grid = np.arange(0, _horizon(day) + 1, dtype=float)
    grid[-1] = day
    out = np.empty(patients.failure_day.size)
    for sl in _chunks(patients.failure_day.size):
        by_cause = _cause_hazards(grid, _slice(patients, sl), mp)
        total = by_cause.sum(axis=0)
        nonrelapse = by_cause[: len(NONRELAPSE_CAUSES)].sum(axis=0)
        d_total, d_nonrelapse = np.diff(total, axis=1), np.diff(nonrelapse, axis=1)
        died = -np.diff(np.exp(-total), axis=1)
        share = np.divide(d_nonrelapse, d_total, out=np.zeros_like(d_total), where=d_total > 0)
        out[sl] = np.sum(died * share, axis=1)
    return out


def _chunks(n: int):
    for lo in range(0, n, _CHUNK):
        yield slice(lo, min(lo + _CHUNK, n))


def _slice(patients: _Patients, sl: slice) -> _Patients:
    return _Patients(*(getattr(patients, f)[sl] for f in patients.__dataclass_fields__))


def death_day_and_cause(
    outcomes: Mapping[str, np.ndarray],
    covariates: Mapping[str, np.ndarray],
    uniforms: np.ndarray,
    parameters: ParameterSet | MortalityParameters | None = None,
    *,
    horizon_days: float = MAX_HORIZON_DAYS,
) -> tuple[np.ndarray, np.ndarray]:
    """Sample death day (float, NaN = alive at ``horizon_days``) and cause per patient.

    ``outcomes``: ``donor_relation`` (str), ``hla_mismatches_8`` (0-8), ``primary_graft_failure``,
    ``days_anc_below_0_5``, optional ``secondary_graft_failure``, ``graft_failure_day`` (NaN if
    none) and ``neutrophil_engraftment_day`` (NaN if none). ``covariates``: ``age_years``,
    ``hct_ci_score``, ``diagnosis``, optional ``era`` (``"2000s"`` default, ``"1990s"``);
    ``karnofsky`` and ``conditioning_intensity`` are accepted and have no effect. ``uniforms``:
    one value in [0, 1) per patient (``rng.random(n)``). Causes are strings from
    :data:`CAUSES`, ``""`` if alive. The same uniforms give the same deaths: seeds reproduce
    cohorts.
    """
    mp = _resolve(parameters)
    horizon = _horizon(horizon_days)
    u = np.asarray(uniforms, dtype=float)
    patients = _patients(outcomes, covariates, mp, _post_relapse_rate(parameters))
    n = patients.failure_day.size
    if u.shape != (n,):
        raise InputError(f"uniforms: expected {n} values, got shape {u.shape}")
    _require(u, (u >= 0) & (u < 1), "uniforms", "in [0, 1)")
    with np.errstate(divide="ignore"):
        target = -np.log(u)  # u = 0: infinite, never dies
    grid = np.arange(horizon + 1, dtype=float)
    grid[-1] = horizon_days
    death = np.full(n, np.nan)
    cause = np.full(n, "", dtype=f"<U{max(map(len, CAUSES))}")
    for sl in _chunks(n):
        lo = sl.start
        by_cause = _cause_hazards(grid, _slice(patients, sl), mp)
        total = by_cause.sum(axis=0)
        reached = total >= target[sl, None]
        dies = reached[:, -1]
        j = np.argmax(reached, axis=1) - 1  # the day interval [grid[j], grid[j+1]) of death
        idx = np.nonzero(dies)[0]
        j = np.maximum(j[idx], 0)
        before, after = total[idx, j], total[idx, j + 1]
        step = after - before
        frac = np.divide(target[sl][idx] - before, step, out=np.zeros_like(step), where=step > 0)
        death[lo + idx] = grid[j] + frac * (grid[j + 1] - grid[j])
        increments = by_cause[:, idx, j + 1] - by_cause[:, idx, j]
        shares = np.cumsum(increments, axis=0) / np.where(step > 0, step, 1.0)
        which = np.argmax(shares >= frac[None, :] - 1e-12, axis=0)
        cause[lo + idx] = np.asarray(CAUSES)[which]
    return death, cause
