"""Non-parametric time-to-event estimators with exact handling of tied (day-resolution) times.

* :func:`aalen_johansen`: cumulative incidence of one cause with competing causes
  (Aalen & Johansen 1978; Kalbfleisch & Prentice 2002). Ties are handled exactly: all events and
  censorings at the same time are counted together, censorings being taken to happen just after
  events (the usual convention). No random jitter (lifelines' ``AalenJohansenFitter`` jitters
  tied times; see ``../shared/science/clinical.md`` §0.5, §4.2).
* :func:`kaplan_meier`: survival with Greenwood's variance.
* :func:`logrank_test`: two-sample log-rank test (Mantel–Haenszel form, tie-corrected
  hypergeometric variance).

Confidence intervals are pointwise and use the log(−log) transformation
(Kalbfleisch & Prentice 2002, §1.3), so they stay inside [0, 1].

Variance of the cumulative incidence: Aalen's (1978) estimator as written by Pintilie,
*Competing Risks: A Practical Perspective* (Wiley 2006), eq. 4.5. This is the estimator of
scikit-survival's ``cumulative_incidence_competing_risks(var_type="Aalen", conf_type="log-log")``
and the tests check agreement with it to 1e-10.

Event codes: ``0`` = censored, ``1..k`` = causes. Times must be finite and non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import stats

from marrowsim.errors import InputError

__all__ = [
    "CumulativeIncidence",
    "LogRankResult",
    "SurvivalCurve",
    "aalen_johansen",
    "kaplan_meier",
    "logrank_test",
]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class _StepCurve:
    """A right-continuous step function known at ``times`` with a pointwise CI."""

    times: FloatArray
    estimate: FloatArray
    lower: FloatArray
    upper: FloatArray
    n_at_risk: NDArray[np.int64]
    confidence: float

    _before_first = 0.0  # value before the first time (0 for incidence, 1 for survival)

    def _index(self, day: float) -> int:
        return int(np.searchsorted(self.times, float(day), side="right")) - 1

    def at(self, day: float) -> float:
        """Estimate at ``day`` (the value of the step function, right-continuous)."""
        i = self._index(day)
        return float(self._before_first if i < 0 else self.estimate[i])

    def interval_at(self, day: float) -> tuple[float, float]:
        """The pointwise confidence interval (lower, upper) at ``day``."""
        i = self._index(day)
        if i < 0:
            return (self._before_first, self._before_first)
        return (float(self.lower[i]), float(self.upper[i]))

    def number_at_risk(self, day: float) -> int:
        """Subjects still at risk just before ``day`` (time ≥ day)."""
        j = int(np.searchsorted(self.times, float(day), side="left"))
        return int(self.n_at_risk[j]) if j < len(self.times) else 0


@dataclass(frozen=True, eq=False)
class CumulativeIncidence(_StepCurve):
    """Aalen–Johansen cumulative incidence of ``cause``; ``cif`` is an alias of ``estimate``."""

    cause: int = 1

    @property
    def cif(self) -> FloatArray:
        return self.estimate


@dataclass(frozen=True, eq=False)
class SurvivalCurve(_StepCurve):
    """Kaplan–Meier survival; ``survival`` is an alias of ``estimate``."""

    _before_first = 1.0

    @property
    def survival(self) -> FloatArray:
        return self.estimate


@dataclass(frozen=True)
class LogRankResult:
    """Two-sample log-rank test: chi-square statistic (1 df) and its p-value."""

    statistic: float
    p_value: float
    observed: tuple[float, float]
    expected: tuple[float, float]


def _validate(time: ArrayLike, event: ArrayLike) -> tuple[FloatArray, NDArray[np.int64]]:
    t = np.asarray(time, dtype=float).ravel()
    e_raw = np.asarray(event).ravel()
    if t.size == 0:
        raise InputError("no observations: time and event are empty (need at least one subject)")
    if e_raw.size != t.size:
        raise InputError(f"time and event differ in length ({t.size} vs {e_raw.size})")
    if not np.all(np.isfinite(t)):
        raise InputError(f"times must be finite, got {t[~np.isfinite(t)][:5].tolist()}")
    if np.any(t < 0):
        raise InputError(
            f"times must be non-negative (days from infusion), got {t[t < 0][:5].tolist()}"
        )
    e = e_raw.astype(float)
    if not np.all(np.isfinite(e)) or np.any(e != np.round(e)) or np.any(e < 0):
        bad = e_raw[~(np.isfinite(e) & (e == np.round(e)) & (e >= 0))][:5].tolist()
        raise InputError(f"event codes must be integers 0 (censored) or 1..k (causes), got {bad}")
    return t, e.astype(np.int64)


def _counts(t: FloatArray, e: NDArray[np.int64], n_causes: int):
    """Unique times, events per cause (column 0 = any cause) and number at risk at each time."""
    times, inverse = np.unique(t, return_inverse=True)
    d = np.zeros((times.size, n_causes + 1), dtype=np.int64)
    np.add.at(d, (inverse, e), 1)
    d[:, 0] = d[:, 1:].sum(axis=1)
    leaving = np.bincount(inverse, minlength=times.size)
    n = leaving[::-1].cumsum()[::-1]
    return times, d, n


def _loglog_ci(p: FloatArray, se: FloatArray, confidence: float) -> tuple[FloatArray, FloatArray]:
    """CI from the log(−log) transform: p ** exp(±z·se/log p) (se is that of p itself / p)."""
    z = stats.norm.isf((1.0 - confidence) / 2.0)
    eps = np.finfo(float).eps
    logp = np.log(np.where(p > eps, p, 1.0))
    theta = np.divide(z * se, logp, out=np.zeros_like(p), where=logp < -eps)
    lower = np.exp(np.exp(-theta) * logp)
    upper = np.exp(np.exp(theta) * logp)
    lower[p <= eps], upper[p <= eps] = 0.0, 0.0
    return lower, upper


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence!r}")


def aalen_johansen(
    time: ArrayLike,
    event: ArrayLike,
    cause: int,
    times: ArrayLike | None = None,
    *,
    n_causes: int | None = None,
    confidence: float = 0.95,
) -> CumulativeIncidence:
    """Aalen–Johansen cumulative incidence of ``cause`` in the presence of competing causes.

    With unique times t_j, n_j at risk, d_j events of any cause and d_cj of this cause:
    S(t) = Π_{t_j ≤ t} (1 − d_j/n_j) and F_c(t) = Σ_{t_j ≤ t} S(t_{j−1}) · d_cj / n_j.
    Variance: Aalen (1978) as in Pintilie (2006) eq. 4.5; CI: log(−log), pointwise.

    Args:
        time: event or censoring time of each subject (days, ≥ 0; ties allowed).
        event: 0 = censored, 1..k = cause of the event.
        cause: the cause whose incidence is estimated.
        times: if given, evaluate the step function at these days instead of the event times.
        n_causes: the number of causes k (codes 1..k). If omitted, ``cause`` must occur in
            ``event``; give it to estimate a valid cause that happens to have no events (CIF 0).
        confidence: level of the pointwise confidence interval.
    """
    _check_confidence(confidence)
    t, e = _validate(time, event)
    observed = sorted({int(c) for c in np.unique(e) if c > 0})
    if isinstance(cause, bool) or not isinstance(cause, int | np.integer) or cause < 1:
        raise InputError(f"cause must be a positive integer event code, got {cause!r}")
    if n_causes is None:
        if cause not in observed:
            raise InputError(
                f"unknown cause code {cause}: it does not occur in the event codes "
                f"(causes present: {observed or 'none'}); pass n_causes= if it is a valid "
                "cause without events"
            )
        k = max(observed)
    else:
        k = int(n_causes)
        extra = [c for c in observed if c > k]
        if cause > k or extra:
            bad = cause if cause > k else extra[0]
            raise InputError(
                f"unknown cause code {bad} (allowed: 0 = censored, 1..{k} with n_causes={k})"
            )
    uniq, d, n = _counts(t, e, k)
    nf = n.astype(float)
    surv = np.cumprod(1.0 - d[:, 0] / nf)
    s_prev = np.r_[1.0, surv[:-1]]
    dc = d[:, cause].astype(float)
    cif = np.cumsum(s_prev * dc / nf)

    # Aalen variance (Pintilie eq. 4.5), Σ_{k≤j} expanded into cumulative sums (O(n)).
    dd = d[:, 0].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        den_a = (nf - 1.0) * (nf - dd)
        a = np.where(den_a > 0, dd / den_a, 0.0)
        den_b = (nf - 1.0) * nf**2
        b = np.where(den_b > 0, (nf - dc) * dc * s_prev**2 / den_b, 0.0)
        den_c = nf * (nf - dd) * (nf - 1.0)
        c = np.where(den_c > 0, dc * (nf - dc) * s_prev / den_c, 0.0)
    var_a = cif**2 * np.cumsum(a) - 2.0 * cif * np.cumsum(a * cif) + np.cumsum(a * cif**2)
    var_c = -2.0 * (cif * np.cumsum(c) - np.cumsum(c * cif))
    var = np.maximum(var_a + np.cumsum(b) + var_c, 0.0)
    eps = np.finfo(float).eps
    se_rel = np.divide(np.sqrt(var), cif, out=np.zeros_like(cif), where=(var > eps) & (cif > 0))
    lower, upper = _loglog_ci(cif, se_rel, confidence)
    curve = CumulativeIncidence(uniq, cif, lower, upper, n, confidence, cause=int(cause))
    return curve if times is None else _resample(curve, times)


def kaplan_meier(
    time: ArrayLike, event: ArrayLike, times: ArrayLike | None = None, *, confidence: float = 0.95
) -> SurvivalCurve:
    """Kaplan–Meier survival; any non-zero event code counts as an event.

    S(t) = Π_{t_j ≤ t} (1 − d_j/n_j); Greenwood: Var S = S² Σ d_j / (n_j (n_j − d_j));
    CI: log(−log), pointwise (undefined once S = 0, reported as [0, 0]).
    """
    _check_confidence(confidence)
    t, e = _validate(time, event)
    uniq, d, n = _counts(t, (e > 0).astype(np.int64), 1)
    nf, dd = n.astype(float), d[:, 0].astype(float)
    surv = np.cumprod(1.0 - dd / nf)
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.cumsum(np.where(nf > dd, dd / (nf * (nf - dd)), 0.0))
    lower, upper = _loglog_ci(surv, np.sqrt(g), confidence)
    curve = SurvivalCurve(uniq, surv, lower, upper, n, confidence)
    return curve if times is None else _resample(curve, times)


def _resample(curve: _StepCurve, times: ArrayLike) -> _StepCurve:
    grid = np.asarray(times, dtype=float).ravel()
    if grid.size == 0 or not np.all(np.isfinite(grid)):
        raise InputError(f"times must be a non-empty list of finite days, got {grid.tolist()!r}")
    idx = np.searchsorted(curve.times, grid, side="right") - 1
    before = idx < 0
    safe = np.clip(idx, 0, None)

    def pick(values: np.ndarray) -> np.ndarray:
        return np.where(before, curve._before_first, values[safe])

    n_idx = np.searchsorted(curve.times, grid, side="left")
    padded = np.r_[curve.n_at_risk, 0]
    at_risk = padded[n_idx]
    fields = dict(
        times=grid,
        estimate=pick(curve.estimate),
        lower=pick(curve.lower),
        upper=pick(curve.upper),
        n_at_risk=at_risk.astype(np.int64),
        confidence=curve.confidence,
    )
    if isinstance(curve, CumulativeIncidence):
        return CumulativeIncidence(**fields, cause=curve.cause)
    return SurvivalCurve(**fields)


def logrank_test(
    time_a: ArrayLike, event_a: ArrayLike, time_b: ArrayLike, event_b: ArrayLike
) -> LogRankResult:
    """Two-sample log-rank test; any non-zero event code is an event, 0 is censored.

    To compare the cause-specific hazard of one cause (e.g. engraftment with deaths competing),
    recode the other causes as 0 first: this is the cause-specific log-rank test, *not* Gray's
    test of cumulative incidence functions.
    """
    ta, ea = _validate(time_a, event_a)
    tb, eb = _validate(time_b, event_b)
    uniq, d, n = _counts(np.r_[ta, tb], (np.r_[ea, eb] > 0).astype(np.int64), 1)
    sorted_a = np.sort(ta)
    n_a = (ta.size - np.searchsorted(sorted_a, uniq, side="left")).astype(float)
    d_a = np.zeros(uniq.size)
    np.add.at(d_a, np.searchsorted(uniq, ta[ea > 0]), 1.0)
    nf, dd = n.astype(float), d[:, 0].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(nf > 1, dd * (n_a / nf) * (1 - n_a / nf) * (nf - dd) / (nf - 1), 0.0)
    obs_a, exp_a, var = float(d_a.sum()), float((dd * n_a / nf).sum()), float(v.sum())
    stat = (obs_a - exp_a) ** 2 / var if var > 0 else 0.0
    p = float(stats.chi2.sf(stat, 1)) if var > 0 else 1.0
    total = float(dd.sum())
    return LogRankResult(stat, p, (obs_a, total - obs_a), (exp_a, total - exp_a))
