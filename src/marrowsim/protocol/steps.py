"""Typed, frozen protocol steps; ``str(step)`` is canonical text that parses back to an equal step.

Days are integers relative to graft infusion (day 0; conditioning days are negative). Every
constructor validates and normalises its input (canonical drug name, route and unit, days sorted),
so a step built in Python and the same step parsed from text compare equal. Unit conversion uses
:mod:`marrowsim.units` only. The grammar of each line form is in ``docs/protocols.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from marrowsim import units as _units
from marrowsim.errors import InputError, ProtocolError, did_you_mean
from marrowsim.protocol.drugs import DrugInfo, drug_info

FREQUENCIES: dict[int, str] = {
    1: "daily",
    2: "twice daily",
    3: "three times daily",
    4: "four times daily",
}
"""Administrations (or TBI fractions) per day → canonical words."""

ANALYTES: dict[str, str] = {
    "ANC": "count",
    "WBC": "count",
    "ALC": "count",
    "PLT": "count",
    "Hb": "hemoglobin",
}
"""Blood counts a rule may test → dimension of their unit in :mod:`marrowsim.units`."""

TRANSFUSION_PRODUCTS: dict[str, str] = {"platelets": "PLT", "RBC": "Hb"}
"""Blood products → the count that triggers them."""


def format_number(value: float) -> str:
    """Shortest text that reads back as exactly ``value`` (``2`` not ``2.0``)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def format_days(days: tuple[int, ...]) -> str:
    """``on day -1``, ``on days -7 to -4`` (consecutive) or ``on days 1, 3, 6``."""
    if len(days) == 1:
        return f"on day {days[0]}"
    if days == tuple(range(days[0], days[-1] + 1)):
        return f"on days {days[0]} to {days[-1]}"
    return "on days " + ", ".join(str(d) for d in days)


def _schedule(times_per_day: int, days: tuple[int, ...]) -> str:
    consecutive = len(days) > 1 and days == tuple(range(days[0], days[-1] + 1))
    if times_per_day == 1 and not consecutive:
        return format_days(days)
    return f"{FREQUENCIES[times_per_day]} {format_days(days)}"


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)


def _check_days(days: object, what: str) -> tuple[int, ...]:
    if isinstance(days, int) and not isinstance(days, bool):
        days = (days,)
    if not isinstance(days, tuple | list) or not days:
        raise ProtocolError(f"{what}: days must be a non-empty tuple of integers, got {days!r}")
    for d in days:
        if isinstance(d, bool) or not isinstance(d, int):
            raise ProtocolError(f"{what}: days must be integers, got {d!r}")
    if len(set(days)) != len(days):
        repeated = sorted({d for d in days if days.count(d) > 1})
        raise ProtocolError(f"{what}: day(s) {repeated} given more than once")
    return tuple(sorted(days))


def _check_positive(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ProtocolError(f"{what} must be a finite number, got {value!r}")
    if value <= 0:
        raise ProtocolError(f"{what} must be positive, got {format_number(value)}")
    return float(value)


def _check_times(value: object, what: str) -> int:
    if isinstance(value, bool) or value not in FREQUENCIES:
        raise ProtocolError(f"{what} must be one of 1, 2, 3, 4 per day, got {value!r}")
    return int(value)


def _convert(value: float, spelling: str, allowed: tuple[str, ...], what: str) -> tuple[float, str]:
    """Convert ``value`` in ``spelling`` to whichever canonical unit of ``allowed`` it belongs."""
    known = [s for s, u in _units.UNITS.items() if u.canonical in allowed and s.isascii()]
    try:
        unit = _units.unit(spelling)
    except InputError:
        hint = did_you_mean(spelling, known)
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise ProtocolError(
            f"unknown unit {spelling!r} for {what}{extra} (allowed: {', '.join(allowed)})"
        ) from None
    if unit.canonical not in allowed:
        raise ProtocolError(
            f"unit {spelling!r} ({unit.dimension.replace('_', ' ')}) is not allowed for {what} "
            f"(allowed: {', '.join(allowed)})"
        )
    if unit.factor == 1.0:
        return value, unit.canonical
    return float(f"{value * unit.factor:.12g}"), unit.canonical  # drop float noise (70 g/L → 7)


def _dose(obj: object, info: DrugInfo, dose: object, unit: str) -> None:
    _set(obj, "drug", info.name)
    value = _check_positive(dose, f"{info.name} dose")
    value, canonical = _convert(value, unit, info.units, info.name)
    _set(obj, "dose", value)
    _set(obj, "unit", canonical)


@dataclass(frozen=True)
class DrugDose:
    """A drug given ``times_per_day`` times on each of ``days``; ``dose`` is per administration.

    ``"Busulfan 0.8 mg/kg IV four times daily on days -7 to -4"`` is 12.8 mg/kg in total.
    A fixed-day growth-factor course (``"Filgrastim 10 ug/kg SC daily on days 1 to 4"``) is a
    ``DrugDose`` too; :class:`GrowthFactor` is only for open-ended courses ("until ...").
    """

    drug: str
    dose: float
    unit: str
    route: str
    days: tuple[int, ...]
    times_per_day: int = 1

    def __post_init__(self) -> None:
        info = drug_info(self.drug)
        _dose(self, info, self.dose, self.unit)
        _set(self, "route", info.check_route(self.route))
        _set(self, "days", _check_days(self.days, info.name))
        _set(self, "times_per_day", _check_times(self.times_per_day, f"{info.name} frequency"))
        if not info.after_infusion and self.days[-1] > 0:
            raise ProtocolError(
                f"{info.name} ({info.drug_class}) is a conditioning drug and may not be given "
                f"after day 0 (graft infusion); got '{format_days(self.days)}'"
            )

    @property
    def total_dose(self) -> float:
        """Dose summed over all administrations, in :attr:`unit`."""
        return self.dose * self.times_per_day * len(self.days)

    def __str__(self) -> str:
        dose = f"{format_number(self.dose)} {self.unit}"
        return f"{self.drug} {dose} {self.route} {_schedule(self.times_per_day, self.days)}"


@dataclass(frozen=True)
class Irradiation:
    """Total-body irradiation: ``dose_gy`` per fraction, ``fractions_per_day`` on each day.

    ``"TBI 2 Gy twice daily on days -3 to -1"`` is 12 Gy in 6 fractions. TBI is conditioning
    and may not be given after day 0.
    """

    dose_gy: float
    fractions_per_day: int
    days: tuple[int, ...]

    def __post_init__(self) -> None:
        _set(self, "dose_gy", _check_positive(self.dose_gy, "TBI dose"))
        _set(self, "fractions_per_day", _check_times(self.fractions_per_day, "TBI fractions"))
        _set(self, "days", _check_days(self.days, "TBI"))
        if self.days[-1] > 0:
            raise ProtocolError(
                f"TBI is conditioning and may not be given after day 0 (graft infusion); "
                f"got '{format_days(self.days)}'"
            )

    @property
    def total_dose_gy(self) -> float:
        """Dose summed over all fractions, Gy."""
        return self.dose_gy * self.fractions_per_day * len(self.days)

    def __str__(self) -> str:
        schedule = _schedule(self.fractions_per_day, self.days)
        return f"TBI {format_number(self.dose_gy)} Gy {schedule}"


@dataclass(frozen=True)
class Infusion:
    """Infusion of the graft described in the scenario's ``[graft]`` (one line, also for a
    double cord graft). A :class:`~marrowsim.protocol.Protocol` puts it on day 0."""

    day: int = 0

    def __post_init__(self) -> None:
        _set(self, "day", _check_days(self.day, "graft infusion")[0])

    def __str__(self) -> str:
        return f"Infuse graft on day {self.day}"


@dataclass(frozen=True)
class CountRule:
    """``ANC > 0.5 10^9/L for 3 days``: true from the last of ``consecutive_days`` morning counts
    that meet the comparison (``>`` or ``>=``)."""

    analyte: str
    comparator: str
    threshold: float
    unit: str
    consecutive_days: int = 1

    def __post_init__(self) -> None:
        _set(self, "analyte", _analyte(self.analyte))
        comparator = {"≥": ">="}.get(self.comparator, self.comparator)
        if comparator not in (">", ">="):
            raise ProtocolError(f"comparator must be '>' or '>=', got {self.comparator!r}")
        _set(self, "comparator", comparator)
        _threshold(self, self.analyte, self.threshold, self.unit)
        n = self.consecutive_days
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ProtocolError(f"count rule: number of days must be an integer >= 1, got {n!r}")

    def __str__(self) -> str:
        days = "day" if self.consecutive_days == 1 else "days"
        threshold = f"{format_number(self.threshold)} {self.unit}"
        return f"{self.analyte} {self.comparator} {threshold} for {self.consecutive_days} {days}"


def _analyte(name: str) -> str:
    folded = {a.lower(): a for a in ANALYTES} | {"hgb": "Hb", "platelets": "PLT"}
    if name.strip().lower() not in folded:
        hint = did_you_mean(name, list(ANALYTES))
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise ProtocolError(f"unknown count {name!r}{extra} (allowed: {', '.join(ANALYTES)})")
    return folded[name.strip().lower()]


def _threshold(obj: object, analyte: str, threshold: object, unit: str) -> None:
    value = _check_positive(threshold, f"{analyte} threshold")
    dimension = ANALYTES[analyte]
    allowed = tuple(
        sorted({u.canonical for u in _units.UNITS.values() if u.dimension == dimension})
    )
    value, canonical = _convert(value, unit, allowed, analyte)
    _set(obj, "threshold", value)
    _set(obj, "unit", canonical)


@dataclass(frozen=True)
class GrowthFactor:
    """An open-ended daily course: ``"Filgrastim 5 ug/kg SC daily from day 5 until ANC > 0.5
    10^9/L for 3 days"`` (``stop`` a :class:`CountRule`) or ``... from day 5 until day 21``
    (``stop`` the last day, inclusive). Only drugs marked ``open_ended`` in the catalogue."""

    drug: str
    dose: float
    unit: str
    route: str
    start_day: int
    stop: int | CountRule

    def __post_init__(self) -> None:
        info = drug_info(self.drug)
        if not info.open_ended:
            raise ProtocolError(
                f"{info.name} cannot be given 'from day N until ...'; give its days instead "
                f"('on days A to B'); open-ended courses are for filgrastim and eltrombopag"
            )
        _dose(self, info, self.dose, self.unit)
        _set(self, "route", info.check_route(self.route))
        _set(self, "start_day", _check_days(self.start_day, info.name)[0])
        if isinstance(self.stop, int) and not isinstance(self.stop, bool):
            if self.stop < self.start_day:
                raise ProtocolError(
                    f"{info.name}: last day {self.stop} is before first day {self.start_day}"
                )
        elif not isinstance(self.stop, CountRule):
            raise ProtocolError(
                f"{info.name}: stop must be a last day or a CountRule, got {self.stop!r}"
            )

    def __str__(self) -> str:
        stop = f"day {self.stop}" if isinstance(self.stop, int) else str(self.stop)
        dose = f"{format_number(self.dose)} {self.unit}"
        return f"{self.drug} {dose} {self.route} daily from day {self.start_day} until {stop}"


@dataclass(frozen=True)
class TransfusionRule:
    """Supportive care evaluated on morning counts: ``"Transfuse platelets when PLT < 10 10^9/L"``,
    ``"Transfuse RBC when Hb < 7 g/dL"``."""

    product: str
    analyte: str
    threshold: float
    unit: str

    def __post_init__(self) -> None:
        products = {p.lower(): p for p in TRANSFUSION_PRODUCTS} | {
            "platelet": "platelets",
            "plt": "platelets",
            "red cells": "RBC",
            "prbc": "RBC",
            "red blood cells": "RBC",
        }
        product = products.get(self.product.strip().lower())
        if product is None:
            raise ProtocolError(f"unknown blood product {self.product!r} (allowed: platelets, RBC)")
        _set(self, "product", product)
        _set(self, "analyte", _analyte(self.analyte))
        if TRANSFUSION_PRODUCTS[product] != self.analyte:
            raise ProtocolError(
                f"{product} are transfused on {TRANSFUSION_PRODUCTS[product]}, not {self.analyte}"
            )
        _threshold(self, self.analyte, self.threshold, self.unit)

    def __str__(self) -> str:
        threshold = f"{format_number(self.threshold)} {self.unit}"
        return f"Transfuse {self.product} when {self.analyte} < {threshold}"


@dataclass(frozen=True)
class Apheresis:
    """Leukapheresis processing ``volume_l`` litres of blood on each of ``days``."""

    volume_l: float
    days: tuple[int, ...]

    def __post_init__(self) -> None:
        _set(self, "volume_l", _check_positive(self.volume_l, "apheresis volume"))
        _set(self, "days", _check_days(self.days, "apheresis"))

    def __str__(self) -> str:
        return f"Apheresis {format_number(self.volume_l)} L {format_days(self.days)}"


Step = DrugDose | Irradiation | Infusion | GrowthFactor | TransfusionRule | Apheresis
"""Any protocol step."""

STEP_TYPES: tuple[type, ...] = (
    DrugDose,
    Irradiation,
    Infusion,
    GrowthFactor,
    TransfusionRule,
    Apheresis,
)
