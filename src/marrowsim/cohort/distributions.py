"""The distribution vocabulary of cohort specifications, sampled by inverse CDF.

Every draw is a transform of one per-patient uniform ``u`` in (0, 1) (see
:mod:`marrowsim.cohort.seeding`), so arms that share patients share draws (common random numbers)
and a patient's values do not depend on which other patients are in its chunk.

========================  ============================================  ==========================
``distribution``          keys                                          support
========================  ============================================  ==========================
``fixed``                 ``value``                                     that value
``normal``                ``mean``, ``sd``                              all reals
``truncnormal``           ``mean``, ``sd``, ``low`` and/or ``high``     [low, high]
``lognormal``             ``median``, ``cv`` (optional ``low``, ``high``) (0, inf) ∩ [low, high]
``logitnormal``           ``median``, ``sd`` (logit scale)              (0, 1)
``uniform``               ``low``, ``high``                             [low, high]
``categorical``           ``weights = { VALUE = weight, ... }``         the listed values
========================  ============================================  ==========================

``lognormal``: ``sigma = sqrt(log(1 + cv^2))`` so that ``cv`` is the coefficient of variation.
Truncation (``low``/``high``) restricts the inverse CDF to the allowed range: nothing is clipped.
For model parameters the centre (``mean``/``median``) defaults to the parameter's value.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from marrowsim.errors import UnknownNameError

DISTRIBUTIONS = (
    "fixed",
    "normal",
    "truncnormal",
    "lognormal",
    "logitnormal",
    "uniform",
    "categorical",
)
# keys each distribution takes: (required, optional); a centre is required for covariates only
_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fixed": (("value",), ()),
    "normal": (("sd",), ("mean",)),
    "truncnormal": (("sd",), ("mean", "low", "high")),
    "lognormal": (("cv",), ("median", "low", "high")),
    "logitnormal": (("sd",), ("median",)),
    "uniform": (("low", "high"), ()),
    "categorical": (("weights",), ()),
}
_CENTRE = {"normal": "mean", "truncnormal": "mean", "lognormal": "median", "logitnormal": "median"}


class Distribution(BaseModel):
    """One distribution of the vocabulary (a TOML inline table ``{ distribution = ..., ... }``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    distribution: str
    value: float | str | None = None
    mean: float | None = None
    median: float | None = None
    sd: float | None = None
    cv: float | None = None
    low: float | None = None
    high: float | None = None
    weights: dict[str, float] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str) and data == "fixed":
            return {"distribution": "fixed"}
        if isinstance(data, int | float | str) and not isinstance(data, bool):
            return {"distribution": "fixed", "value": data}
        return data

    @model_validator(mode="after")
    def _keys(self) -> Distribution:
        if self.distribution not in DISTRIBUTIONS:
            raise UnknownNameError("distribution", self.distribution, DISTRIBUTIONS)
        required, optional = _KEYS[self.distribution]
        given = {k for k in type(self).model_fields if k != "distribution"}
        given = {k for k in given if getattr(self, k) is not None}
        extra = sorted(given - set(required) - set(optional))
        if extra:
            allowed = ", ".join((*required, *optional))
            raise ValueError(f"{self.distribution} takes {allowed}; unexpected {', '.join(extra)}")
        for key in ("sd", "cv"):
            v = getattr(self, key)
            if v is not None and not (math.isfinite(v) and v > 0):
                raise ValueError(f"{self.distribution}: {key} must be positive, got {v}")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"{self.distribution}: need low < high, got {self.low}, {self.high}")
        if self.distribution == "truncnormal" and self.low is None and self.high is None:
            raise ValueError("truncnormal needs low and/or high (otherwise use normal)")
        if self.distribution == "categorical":
            w = self.weights or {}
            if not w or any(not (math.isfinite(x) and x >= 0) for x in w.values()):
                raise ValueError(f"categorical weights must be >= 0, got {w}")
            if sum(w.values()) <= 0:
                raise ValueError(f"categorical weights must not all be zero, got {w}")
        median = self.median
        if self.distribution == "logitnormal" and median is not None and not 0 < median < 1:
            raise ValueError(f"logitnormal median must be in (0, 1), got {self.median}")
        if self.distribution == "lognormal" and self.median is not None and self.median <= 0:
            raise ValueError(f"lognormal median must be positive, got {self.median}")
        return self

    # --- derived properties -----------------------------------------------------------------
    def missing_required(self, *, centre_required: bool) -> list[str]:
        """Required keys that are absent (the centre only where no default exists)."""
        required, _ = _KEYS[self.distribution]
        missing = [k for k in required if getattr(self, k) is None]
        centre = _CENTRE.get(self.distribution)
        if centre_required and centre is not None and getattr(self, centre) is None:
            missing.append(centre)
        if self.distribution == "fixed" and not centre_required:
            missing = []  # a fixed parameter keeps its registry value
        return missing

    def with_centre(self, value: float) -> Distribution:
        """A copy with the centre (mean/median/value) set where it was left out."""
        key = _CENTRE.get(self.distribution, "value" if self.distribution == "fixed" else None)
        if key is None or getattr(self, key) is not None:
            return self
        return self.model_copy(update={key: value})

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can produce (numeric ones)."""
        d, lo, hi = self.distribution, self.low, self.high
        if d == "fixed":
            v = float(self.value)  # type: ignore[arg-type]
            return v, v
        if d == "normal":
            return -math.inf, math.inf
        if d == "logitnormal":
            return 0.0, 1.0
        base_lo = 0.0 if d == "lognormal" else -math.inf
        return (base_lo if lo is None else lo), (math.inf if hi is None else hi)

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(self.weights or {}) if self.distribution == "categorical" else ()

    def describe(self) -> str:
        """``"lognormal(median=75.0, cv=0.2)"``."""
        keys = {k: v for k, v in self.model_dump().items() if v is not None}
        kind = keys.pop("distribution")
        return f"{kind}({', '.join(f'{k}={v}' for k, v in keys.items())})"

    # --- sampling ---------------------------------------------------------------------------
    def quantile(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at ``u`` (values in (0, 1)); categorical gives the category labels."""
        u = np.asarray(u, dtype=float)
        d = self.distribution
        if d == "fixed":
            kind = object if isinstance(self.value, str) else float
            return np.full(u.shape, self.value, dtype=kind)
        if d == "uniform":
            return self.low + u * (self.high - self.low)  # type: ignore[operator]
        if d == "categorical":
            labels = np.asarray(self.categories, dtype=object)
            w = np.asarray(list(self.weights.values()), dtype=float)  # type: ignore[union-attr]
            cdf = np.cumsum(w) / w.sum()
            idx = np.minimum(np.searchsorted(cdf, u, side="right"), len(labels) - 1)
            return labels[idx]
        centre, scale, forward, inverse = self._latent()
        lo = None if self.low is None else forward(self.low)
        hi = None if self.high is None else forward(self.high)
        lo = None if lo is not None and not math.isfinite(lo) else lo
        hi = None if hi is not None and not math.isfinite(hi) else hi
        return inverse(centre + scale * _std_normal(u, centre, scale, lo, hi))

    def _latent(self):
        """(centre, scale, forward, inverse) of the normal latent scale of a continuous kind."""
        d = self.distribution
        if d in ("normal", "truncnormal"):
            return self.mean, self.sd, float, _identity
        if d == "lognormal":
            sigma = math.sqrt(math.log1p(self.cv**2))  # type: ignore[operator]
            return math.log(self.median), sigma, _safe_log, np.exp  # type: ignore[arg-type]
        if d == "logitnormal":
            from scipy.special import expit

            return _safe_logit(self.median), self.sd, _safe_logit, expit  # type: ignore[arg-type]
        raise AssertionError(d)  # pragma: no cover - rejected at validation

    def truncated(self, low: float | None, high: float | None) -> Distribution:
        """This distribution restricted to ``[low, high]`` (the bounds of a model parameter).

        The between-patient distribution of a bounded parameter is its prior truncated to the
        bounds (sampled by inverse CDF on the allowed range; nothing is clipped).
        """
        if self.distribution in ("fixed", "categorical", "uniform"):
            return self
        lo = _tighter(self.low, low, max)
        hi = _tighter(self.high, high, min)
        return self.model_copy(update={"low": lo, "high": hi})


def _identity(x):
    return x


def _safe_log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def _safe_logit(x: float) -> float:
    if x <= 0:
        return -math.inf
    if x >= 1:
        return math.inf
    return math.log(x / (1.0 - x))


def _tighter(a: float | None, b: float | None, pick) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return pick(a, b)


def _std_normal(
    u: np.ndarray, centre: float, scale: float, low: float | None, high: float | None
) -> np.ndarray:
    """Standard-normal quantile at ``u`` restricted to the latent range [low, high]."""
    from scipy import special

    if low is None and high is None:
        return special.ndtri(u)
    a = -np.inf if low is None else (low - centre) / scale
    b = np.inf if high is None else (high - centre) / scale
    if a > 0:  # both bounds in the upper tail: sample the mirror image for precision
        return -_truncated_ndtri(1.0 - u, -b, -a, special)
    return _truncated_ndtri(u, a, b, special)


def _truncated_ndtri(u: np.ndarray, a: float, b: float, special) -> np.ndarray:
    """Inverse CDF of the standard normal truncated to [a, b] (a <= 0)."""
    lo, hi = special.ndtr(a), special.ndtr(b)
    return np.clip(special.ndtri(lo + u * (hi - lo)), a, b)  # clip: float rounding only
