"""Parameter and ParameterSet: every number with units and provenance.

A :class:`Parameter` carries its value, units, source (citation key plus table/figure/text
location) or, if it is an assumption, the reason. Optional ``bounds`` and a ``prior`` describe
between-patient variability (used by virtual cohorts).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace

from marrowsim.errors import InputError, UnknownNameError

PRIOR_DISTRIBUTIONS = ("fixed", "lognormal", "normal", "uniform", "logitnormal")


@dataclass(frozen=True)
class Prior:
    """Between-patient variability of a parameter.

    ``lognormal``: median = the parameter value, ``cv`` the coefficient of variation.
    ``normal``: mean = value, ``sd``. ``uniform``: on ``bounds``. ``logitnormal``: for fractions
    in (0, 1), ``sd`` on the logit scale. ``fixed``: no variability.
    """

    distribution: str = "fixed"
    cv: float = 0.0
    sd: float = 0.0

    def __post_init__(self) -> None:
        if self.distribution not in PRIOR_DISTRIBUTIONS:
            raise InputError(
                f"unknown prior distribution {self.distribution!r} "
                f"(allowed: {', '.join(PRIOR_DISTRIBUTIONS)})"
            )
        if self.cv < 0 or self.sd < 0:
            raise InputError(f"prior cv/sd must be non-negative, got cv={self.cv}, sd={self.sd}")


@dataclass(frozen=True)
class Parameter:
    """One model parameter with its units and provenance."""

    name: str
    value: float
    units: str
    description: str
    source: str  # citation key (``Catlin2011``) or ``"assumption"``
    location: str = ""  # table / figure / abstract sentence in the source
    assumption: str = ""  # the reason, when source == "assumption"
    bounds: tuple[float, float] | None = None
    prior: Prior = field(default_factory=Prior)
    citation: str = ""  # full reference of the source

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise InputError(f"parameter {self.name!r}: value must be finite, got {self.value}")
        if self.source == "assumption" and not self.assumption:
            raise InputError(f"parameter {self.name!r} is an assumption but gives no reason")
        if self.bounds is not None:
            lo, hi = self.bounds
            if not lo <= self.value <= hi:
                raise InputError(
                    f"parameter {self.name!r}: value {self.value} outside its bounds [{lo}, {hi}]"
                )

    @property
    def is_assumption(self) -> bool:
        return self.source == "assumption"

    def provenance(self) -> str:
        """One line saying where the number comes from."""
        if self.is_assumption:
            return f"assumption: {self.assumption}"
        return f"{self.source}" + (f", {self.location}" if self.location else "")


class ParameterSet(Mapping[str, Parameter]):
    """An immutable, named collection of parameters (the model's inputs)."""

    def __init__(self, parameters: Mapping[str, Parameter]):
        self._p = dict(parameters)

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._p[name]
        except KeyError:
            raise UnknownNameError("parameter", name, self._p) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._p)

    def __len__(self) -> int:
        return len(self._p)

    def __repr__(self) -> str:
        return f"ParameterSet({len(self)} parameters)"

    def value(self, name: str) -> float:
        return self[name].value

    def values(self) -> dict[str, float]:  # type: ignore[override]
        return {k: p.value for k, p in self._p.items()}

    def with_values(self, **changes: float) -> ParameterSet:
        """Return a copy with some values replaced (names are checked, bounds are enforced)."""
        new = dict(self._p)
        for name, value in changes.items():
            new[name] = replace(self[name], value=float(value))
        return ParameterSet(new)

    def citations(self, names: list[str] | None = None) -> dict[str, str]:
        """Citation key → full reference for the parameters named (default: all)."""
        chosen = [self[n] for n in (names if names is not None else list(self._p))]
        return {p.source: p.citation for p in chosen if not p.is_assumption}
