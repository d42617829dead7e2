"""The one table of unit spellings and their conversion to marrowsim's canonical units.

Canonical units inside the package (see DESIGN.md §4): days; cells per kg of recipient weight for
doses; blood counts in 10^9/L (RBC in 10^12/L, Hb in g/dL); mg/kg or mg/m^2 for drugs; Gy for
radiation; µg/kg for growth factors; litres for volumes; cells/µL for circulating CD34+ cells.
Conversion happens at the boundary (scenario files, protocol text, CLI) and output is labelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from marrowsim.errors import InputError


@dataclass(frozen=True)
class Unit:
    """A unit spelling: the canonical unit it converts to and the factor to multiply by."""

    canonical: str
    factor: float
    dimension: str


def _aliases(canonical: str, dimension: str, factor: float, *spellings: str) -> dict[str, Unit]:
    return {s: Unit(canonical, factor, dimension) for s in spellings}


UNITS: dict[str, Unit] = {
    # cell concentration in blood
    **_aliases(
        "10^9/L",
        "count",
        1.0,
        "10^9/L",
        "x10^9/L",
        "10*9/L",
        "G/L",
        "/nL",
        "10^3/uL",
        "10^3/µL",
        "x10^3/uL",
        "K/uL",
        "10*3/uL",
    ),
    **_aliases("10^9/L", "count", 1e-3, "/uL", "/µL", "cells/uL", "cells/µL"),
    **_aliases("10^12/L", "rbc_count", 1.0, "10^12/L", "x10^12/L", "10*12/L", "T/L"),
    # haemoglobin
    **_aliases("g/dL", "hemoglobin", 1.0, "g/dL", "g/dl"),
    **_aliases("g/dL", "hemoglobin", 0.1, "g/L", "g/l"),
    **_aliases("g/dL", "hemoglobin", 1.0 / 0.6206, "mmol/L"),
    # doses of cells per kg of recipient weight
    **_aliases("cells/kg", "cell_dose", 1.0, "cells/kg", "/kg"),
    **_aliases("cells/kg", "cell_dose", 1e5, "10^5/kg", "x10^5/kg", "10^5 cells/kg"),
    **_aliases("cells/kg", "cell_dose", 1e6, "10^6/kg", "x10^6/kg", "10^6 cells/kg"),
    **_aliases("cells/kg", "cell_dose", 1e7, "10^7/kg", "x10^7/kg", "10^7 cells/kg"),
    **_aliases("cells/kg", "cell_dose", 1e8, "10^8/kg", "x10^8/kg", "10^8 cells/kg"),
    # drug doses
    **_aliases("mg/kg", "dose_per_weight", 1.0, "mg/kg"),
    **_aliases("mg/m^2", "dose_per_area", 1.0, "mg/m^2", "mg/m2", "mg/m²"),
    **_aliases("mg/m^2", "dose_per_area", 1e3, "g/m^2", "g/m2", "g/m²"),
    **_aliases("mg", "drug_amount", 1.0, "mg"),
    **_aliases("mg", "drug_amount", 1e-3, "ug", "µg", "mcg"),
    **_aliases("mg", "drug_amount", 1e3, "g"),
    **_aliases("ug/kg", "growth_factor_dose", 1.0, "ug/kg", "µg/kg", "mcg/kg"),
    **_aliases("ug/kg", "growth_factor_dose", 1e3, "mg/kg_gf"),
    # radiation
    **_aliases("Gy", "radiation", 1.0, "Gy", "gy"),
    **_aliases("Gy", "radiation", 0.01, "cGy", "cgy"),
    # time
    **_aliases("day", "time", 1.0, "d", "day", "days"),
    **_aliases("day", "time", 1.0 / 24.0, "h", "hour", "hours"),
    **_aliases("day", "time", 7.0, "wk", "week", "weeks"),
    # volume
    **_aliases("L", "volume", 1.0, "L", "l"),
    **_aliases("L", "volume", 1e-3, "mL", "ml"),
    # mass and length of the patient
    **_aliases("kg", "mass", 1.0, "kg"),
    **_aliases("kg", "mass", 0.45359237, "lb", "lbs"),
    **_aliases("cm", "length", 1.0, "cm"),
    **_aliases("cm", "length", 100.0, "m"),
    **_aliases("cm", "length", 2.54, "in"),
}


def unit(spelling: str, *, dimension: str | None = None) -> Unit:
    """Return the :class:`Unit` for a spelling, or raise an :class:`InputError` listing the
    allowed spellings (those of ``dimension`` when it is given)."""
    try:
        return UNITS[spelling.strip()]
    except KeyError:
        from marrowsim.errors import did_you_mean

        allowed = sorted(s for s, u in UNITS.items() if dimension in (None, u.dimension))
        hint = did_you_mean(spelling, allowed)
        extra = f"; did you mean {hint!r}?" if hint else ""
        raise InputError(
            f"unknown unit {spelling!r}{extra} (allowed: {', '.join(allowed)})"
        ) from None


def to_canonical(value: float, spelling: str, *, dimension: str | None = None) -> float:
    """Convert ``value`` given in ``spelling`` to the canonical unit of its dimension.

    With ``dimension`` given, a unit of another dimension is an error (e.g. ``g/L`` for a dose).
    """
    u = unit(spelling, dimension=dimension)
    if dimension is not None and u.dimension != dimension:
        allowed = sorted(s for s, x in UNITS.items() if x.dimension == dimension)
        raise InputError(
            f"unit {spelling!r} is a {u.dimension.replace('_', ' ')} unit, expected a "
            f"{dimension.replace('_', ' ')} unit (allowed: {', '.join(allowed)})"
        )
    return value * u.factor


_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(.+?)\s*$")


def parse_quantity(text: str, *, dimension: str | None = None) -> tuple[float, str]:
    """Parse ``"5 ug/kg"`` into ``(5.0, "ug/kg")`` converted to canonical units."""
    m = _QUANTITY.match(text)
    if not m:
        raise InputError(f"cannot read a quantity from {text!r}; expected a number and a unit")
    value = to_canonical(float(m.group(1)), m.group(2), dimension=dimension)
    return value, unit(m.group(2)).canonical


def body_surface_area_m2(weight_kg: float, height_cm: float) -> float:
    """Mosteller body-surface area, m^2 (Mosteller RD, N Engl J Med 1987;317:1098)."""
    return (weight_kg * height_cm / 3600.0) ** 0.5


def total_blood_volume_l(weight_kg: float, height_cm: float, sex: str) -> float:
    """Nadler's total blood volume, L (Nadler SB et al., Surgery 1962;51:224).

    TBV = k1 h^3 + k2 w + k3 with h in metres, w in kg; men k = (0.3669, 0.03219, 0.6041),
    women k = (0.3561, 0.03308, 0.1833).
    """
    h = height_cm / 100.0
    if sex == "male":
        return 0.3669 * h**3 + 0.03219 * weight_kg + 0.6041
    if sex == "female":
        return 0.3561 * h**3 + 0.03308 * weight_kg + 0.1833
    raise InputError(f"sex must be 'male' or 'female', got {sex!r}")
