"""Outcome statistics of a simulated cohort arm: engraftment with competing risks, summaries.

Methods (details and sources in ``docs/statistics.md``):

* Cumulative incidence of engraftment: Aalen–Johansen with death before engraftment as the
  competing event (``../shared/science/clinical.md`` §4.1; never 1 − Kaplan–Meier, which
  overstates incidence). Estimators live in :mod:`marrowsim.cohort.estimators`.
* Medians and IQR: ``numpy`` linear interpolation (Hyndman–Fan type 7), NaN ignored.
* Proportions: Wilson score interval (Wilson 1927).
* Difference of two proportions: Newcombe's hybrid score interval (Newcombe 1998, method 10).
* Difference of two medians: percentile bootstrap with an explicit seed.
* Engraftment-time comparison: cause-specific log-rank test (deaths censored), *not* Gray's test.

Per-patient input columns (the contract with the cohort engine):
``neutrophil_engraftment_day``, ``platelet_engraftment_day`` (float, NaN = not engrafted),
``primary_graft_failure`` (bool), ``death_day`` (float, NaN = alive), ``followup_days`` (float).
Day 0 is the day of graft infusion (ASTCT).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats

from marrowsim.cohort.estimators import (
    CumulativeIncidence,
    LogRankResult,
    SurvivalCurve,
    aalen_johansen,
    kaplan_meier,
    logrank_test,
)
from marrowsim.errors import InputError, UnknownNameError

__all__ = [
    "DIED_BEFORE_ENGRAFTMENT",
    "ENGRAFTED",
    "OUTCOME_COLUMNS",
    "CumulativeIncidence",
    "Estimate",
    "LogRankResult",
    "MedianIQR",
    "Proportion",
    "SurvivalCurve",
    "aalen_johansen",
    "compare_arms",
    "difference_of_medians",
    "difference_of_proportions",
    "engraftment_competing_risks",
    "engraftment_incidence",
    "kaplan_meier",
    "logrank_test",
    "median_iqr",
    "proportion_ci",
    "summarise_arm",
]

OUTCOME_COLUMNS = (
    "neutrophil_engraftment_day",
    "platelet_engraftment_day",
    "primary_graft_failure",
    "death_day",
    "followup_days",
)
ENGRAFTED, DIED_BEFORE_ENGRAFTMENT = 1, 2  # event codes used by engraftment_competing_risks
LINEAGES = ("neutrophil", "platelet")
REPORT_DAYS = (28, 42)


@dataclass(frozen=True)
class MedianIQR:
    """Median and interquartile range of the non-missing values; ``n`` counts them."""

    median: float
    q1: float
    q3: float
    n: int
    n_missing: int


@dataclass(frozen=True)
class Proportion:
    """``k`` of ``n`` with its Wilson score interval."""

    k: int
    n: int
    estimate: float
    lower: float
    upper: float
    confidence: float


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a confidence interval and the method that produced it."""

    estimate: float
    lower: float
    upper: float
    method: str


def median_iqr(values: ArrayLike) -> MedianIQR:
    """Median, 25th and 75th percentile (linear interpolation), ignoring NaN."""
    x = np.asarray(values, dtype=float).ravel()
    kept = x[~np.isnan(x)]
    if kept.size == 0:
        return MedianIQR(math.nan, math.nan, math.nan, 0, int(x.size))
    q1, med, q3 = np.percentile(kept, [25, 50, 75])
    return MedianIQR(float(med), float(q1), float(q3), int(kept.size), int(x.size - kept.size))


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(stats.norm.isf((1.0 - confidence) / 2.0))


def _wilson(k: int, n: int, z: float) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    lower = 0.0 if k == 0 else max(0.0, centre - half)
    upper = 1.0 if k == n else min(1.0, centre + half)
    return lower, upper


def proportion_ci(k: int, n: int, *, confidence: float = 0.95) -> Proportion:
    """Proportion ``k/n`` with the Wilson score interval (Wilson, JASA 1927;22:209)."""
    z = _z(confidence)
    if n <= 0 or k < 0 or k > n or int(k) != k or int(n) != n:
        raise InputError(f"need integers 0 <= k <= n and n >= 1, got k={k!r}, n={n!r}")
    lo, hi = _wilson(int(k), int(n), z)
    return Proportion(int(k), int(n), k / n, lo, hi, confidence)


def difference_of_proportions(
    k_a: int, n_a: int, k_b: int, n_b: int, *, confidence: float = 0.95
) -> Estimate:
    """p_b − p_a with Newcombe's hybrid score interval (Stat Med 1998;17:873, method 10)."""
    a = proportion_ci(k_a, n_a, confidence=confidence)
    b = proportion_ci(k_b, n_b, confidence=confidence)
    d = b.estimate - a.estimate
    lower = d - math.sqrt((b.estimate - b.lower) ** 2 + (a.upper - a.estimate) ** 2)
    upper = d + math.sqrt((b.upper - b.estimate) ** 2 + (a.estimate - a.lower) ** 2)
    return Estimate(d, lower, upper, "Newcombe hybrid score (method 10)")


def difference_of_medians(
    a: ArrayLike,
    b: ArrayLike,
    *,
    seed: int,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
) -> Estimate:
    """median(b) − median(a) (NaN ignored) with a percentile bootstrap CI.

    Each arm is resampled with replacement ``n_bootstrap`` times (NaN entries included, so the
    number of non-missing values varies as it would between trials). ``seed`` is required.
    A resample is drawn as multinomial counts of the distinct values (the same distribution as
    drawing indices), so time and memory grow with the number of distinct values, not with the
    number of patients: day-resolution engraftment times of 10^6 patients cost the same as 10^3.
    """
    _z(confidence)
    if n_bootstrap < 100:
        raise InputError(f"n_bootstrap must be at least 100, got {n_bootstrap}")
    xa, xb = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if xa.size == 0 or xb.size == 0:
        raise InputError(f"both arms need values, got sizes {xa.size} and {xb.size}")
    estimate = median_iqr(xb).median - median_iqr(xa).median
    rng = np.random.default_rng(seed)
    boot_a = _bootstrap_medians(xa, n_bootstrap, rng)
    boot_b = _bootstrap_medians(xb, n_bootstrap, rng)
    diff = boot_b - boot_a
    diff = diff[np.isfinite(diff)]
    alpha = 1.0 - confidence
    if diff.size == 0 or not math.isfinite(estimate):
        return Estimate(estimate, math.nan, math.nan, "percentile bootstrap")
    lo, hi = np.quantile(diff, [alpha / 2, 1 - alpha / 2])
    return Estimate(float(estimate), float(lo), float(hi), f"percentile bootstrap (seed {seed})")


def _bootstrap_medians(x: np.ndarray, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Medians (NaN ignored) of ``n_bootstrap`` resamples of ``x`` with replacement."""
    finite = x[~np.isnan(x)]
    values, counts = np.unique(finite, return_counts=True)
    if values.size == 0:
        return np.full(n_bootstrap, np.nan)
    p = np.append(counts, x.size - finite.size) / x.size  # the last category is NaN
    out = np.empty(n_bootstrap)
    block = max(1, 2_000_000 // p.size)  # bounded memory for many distinct values
    for start in range(0, n_bootstrap, block):
        size = min(block, n_bootstrap - start)
        cum = np.cumsum(rng.multinomial(x.size, p, size=size)[:, :-1], axis=1)
        m = cum[:, -1]
        lo = np.minimum((cum <= ((m - 1) // 2)[:, None]).sum(axis=1), values.size - 1)
        hi = np.minimum((cum <= (m // 2)[:, None]).sum(axis=1), values.size - 1)
        out[start : start + size] = np.where(m > 0, (values[lo] + values[hi]) / 2, np.nan)
    return out


def _column(df: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(df[name], errors="raise").to_numpy(dtype=float)


def _failure_flags(df: pd.DataFrame) -> np.ndarray:
    flags = df["primary_graft_failure"]
    if flags.isna().any():
        rows = np.flatnonzero(flags.isna().to_numpy())[:5].tolist()
        raise InputError(f"primary_graft_failure is missing in rows {rows} (need True/False)")
    return flags.astype(bool).to_numpy()


def _any_failure_flags(df: pd.DataFrame) -> np.ndarray:
    """Primary or secondary graft failure (a missing secondary flag counts as none)."""
    secondary = df["secondary_graft_failure"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return _failure_flags(df) | secondary


def _check_frame(df: pd.DataFrame, needed: tuple[str, ...] = OUTCOME_COLUMNS) -> None:
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"expected a pandas DataFrame of per-patient outcomes, got {type(df)}")
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(
            f"outcome table lacks columns {missing} (required: {', '.join(needed)}; "
            f"got: {', '.join(map(str, df.columns))})"
        )
    if len(df) == 0:
        raise InputError("outcome table is empty (need at least one patient)")


def engraftment_competing_risks(
    engraftment_day: ArrayLike, death_day: ArrayLike, followup_days: ArrayLike
) -> tuple[np.ndarray, np.ndarray]:
    """Turn per-patient days into (time, event) with death before engraftment competing.

    Event codes: 1 = engrafted (at the engraftment day), 2 = died before engrafting (at the
    death day), 0 = censored at the end of follow-up. Events after ``followup_days`` are not
    observed and count as censored. Engraftment and death on the same day count as engraftment.
    """
    eng = np.asarray(engraftment_day, dtype=float).ravel()
    death = np.asarray(death_day, dtype=float).ravel()
    fu = np.asarray(followup_days, dtype=float).ravel()
    if not eng.size == death.size == fu.size:
        raise InputError(f"lengths differ: {eng.size}, {death.size}, {fu.size}")
    if eng.size == 0:
        raise InputError("no patients: the inputs are empty")
    if not np.all(np.isfinite(fu)) or np.any(fu < 0):
        bad = fu[~(np.isfinite(fu) & (fu >= 0))][:5].tolist()
        raise InputError(f"followup_days must be finite and >= 0, got {bad}")
    for name, x in (("engraftment day", eng), ("death_day", death)):
        if np.any(x < 0) or np.any(np.isinf(x)):
            bad = x[(x < 0) | np.isinf(x)][:5].tolist()
            raise InputError(f"{name} must be >= 0 (day 0 = infusion) or NaN, got {bad}")
    late = np.isfinite(eng) & np.isfinite(death) & (eng > death)
    if np.any(late):
        rows = np.flatnonzero(late)[:5].tolist()
        raise InputError(
            f"engraftment after death in rows {rows}: the outcome rows are inconsistent"
        )
    engrafted = np.isfinite(eng) & (eng <= fu)
    died = ~engrafted & np.isfinite(death) & (death <= fu)
    time = np.where(engrafted, eng, np.where(died, death, fu))
    event = np.where(engrafted, ENGRAFTED, np.where(died, DIED_BEFORE_ENGRAFTMENT, 0))
    return time, event.astype(np.int64)


def engraftment_incidence(
    df: pd.DataFrame, lineage: str = "neutrophil", *, confidence: float = 0.95
) -> CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of ``lineage`` engraftment for one arm."""
    if lineage not in LINEAGES:
        raise UnknownNameError("lineage", lineage, LINEAGES)
    needed = (f"{lineage}_engraftment_day", "death_day", "followup_days")
    _check_frame(df, needed)
    time, event = engraftment_competing_risks(*(_column(df, c) for c in needed))
    return aalen_johansen(time, event, ENGRAFTED, n_causes=2, confidence=confidence)


SURVIVAL_DAYS = (100, 365)


def summarise_arm(df: pd.DataFrame, *, confidence: float = 0.95) -> dict[str, Any]:
    """Summary of one arm: engraftment days, graft failure, cumulative incidences at d28/d42.

    Engraftment-day medians are over engrafted patients only (``*_n_engrafted`` says how many);
    the cumulative incidences account for death before engraftment as a competing event.
    """
    _check_frame(df)
    out: dict[str, Any] = {"n": len(df)}
    for lineage in LINEAGES:
        days = median_iqr(_column(df, f"{lineage}_engraftment_day"))
        out[f"{lineage}_engraftment_day_median"] = days.median
        out[f"{lineage}_engraftment_day_iqr"] = [days.q1, days.q3]
        out[f"{lineage}_n_engrafted"] = days.n
    failure = _failure_flags(df)
    pgf = proportion_ci(int(failure.sum()), len(df), confidence=confidence)
    out["primary_graft_failure_fraction"] = pgf.estimate
    out["primary_graft_failure_fraction_ci"] = [pgf.lower, pgf.upper]
    if "secondary_graft_failure" in df.columns:  # primary or secondary (the cohort engine's rows)
        any_failure = _any_failure_flags(df)
        gf = proportion_ci(int(any_failure.sum()), len(df), confidence=confidence)
        out["graft_failure_fraction"] = gf.estimate
        out["graft_failure_fraction_ci"] = [gf.lower, gf.upper]
    for lineage in LINEAGES:
        curve = engraftment_incidence(df, lineage, confidence=confidence)
        for day in REPORT_DAYS:
            out[f"cif_{lineage}_day{day}"] = curve.at(day)
            out[f"cif_{lineage}_day{day}_ci"] = list(curve.interval_at(day))
    deaths = _column(df, "death_day")
    fu = _column(df, "followup_days")
    died = np.isfinite(deaths) & (deaths <= fu)
    out["deaths"] = int(np.sum(died))
    survival = kaplan_meier(np.where(died, deaths, fu), died.astype(int), confidence=confidence)
    for day in SURVIVAL_DAYS:  # overall survival (Kaplan-Meier) where follow-up reaches the day
        followed = bool(np.any(fu >= day))
        out[f"survival_day{day}"] = survival.at(day) if followed else None
        out[f"survival_day{day}_ci"] = list(survival.interval_at(day)) if followed else None
    out["confidence"] = confidence
    return out


def compare_arms(
    arm_a: pd.DataFrame,
    arm_b: pd.DataFrame,
    *,
    seed: int,
    n_bootstrap: int = 2000,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Differences B − A: median engraftment days (bootstrap), primary graft failure and, when
    both tables have ``secondary_graft_failure``, primary or secondary graft failure (Newcombe),
    and the cause-specific log-rank test of neutrophil and platelet engraftment."""
    _check_frame(arm_a)
    _check_frame(arm_b)
    out: dict[str, Any] = {"seed": seed, "confidence": confidence}
    for lineage in LINEAGES:
        col = f"{lineage}_engraftment_day"
        diff = difference_of_medians(
            _column(arm_a, col),
            _column(arm_b, col),
            seed=seed,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
        )
        out[f"{lineage}_engraftment_day_median_difference"] = asdict(diff)
        te = [
            engraftment_competing_risks(
                _column(arm, col), _column(arm, "death_day"), _column(arm, "followup_days")
            )
            for arm in (arm_a, arm_b)
        ]
        lr = logrank_test(te[0][0], te[0][1] == ENGRAFTED, te[1][0], te[1][1] == ENGRAFTED)
        out[f"{lineage}_engraftment_logrank"] = {"statistic": lr.statistic, "p_value": lr.p_value}
    fa, fb = _failure_flags(arm_a), _failure_flags(arm_b)
    pgf = difference_of_proportions(
        int(fa.sum()), fa.size, int(fb.sum()), fb.size, confidence=confidence
    )
    out["primary_graft_failure_fraction_difference"] = asdict(pgf)
    if all("secondary_graft_failure" in arm.columns for arm in (arm_a, arm_b)):
        ga, gb = _any_failure_flags(arm_a), _any_failure_flags(arm_b)
        gf = difference_of_proportions(
            int(ga.sum()), ga.size, int(gb.sum()), gb.size, confidence=confidence
        )
        out["graft_failure_fraction_difference"] = asdict(gf)
    return out
