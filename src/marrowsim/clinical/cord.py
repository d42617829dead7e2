"""Cord blood unit selection: rank units by HLA match and cell dose per kg (clinical.md §3.3).

Only rules verified in clinical.md §3.3 are applied, each with its source:

* search screen (NMDP algorithm, PMC7567024 Table 1): units ≥ 4/8 (A, B, C, DRB1 at allele
  level) with TNC > 1.5×10⁷/kg; units with a known CD34⁺ < 1.0×10⁵/kg are dropped; the list
  shows the best HLA match first, then the highest TNC;
* single-unit dose (NMDP/CIBMTR, Dehn et al. Blood 2019;134:924): TNC ≥ 3.0×10⁷/kg and
  pre-freeze CD34⁺ ≥ 1.5×10⁵/kg;
* non-malignant disease (ASH-SAP table): TNC > 5.0×10⁷/kg;
* double-unit graft, per unit: TNC ≥ 1.5×10⁷/kg (ASH-SAP) and CD34⁺ ≥ 1.0×10⁵/kg (Dehn 2019;
  ASH-SAP); unit-to-unit HLA match is not needed (ASH-SAP);
* HLA (ASH-SAP): avoid more than 2 of 8 mismatched alleles; avoid an HLA-C mismatch.

Left out because they are UNVERIFIED in clinical.md: acceptance levels such as "≥ 4/6" or
"5/6" (Politikos et al. BBMT 2020;26:2190 holds the detailed table). Not implemented: DSA,
ABO, NIMA, KIR, bank accreditation (need data this tool does not take).

These are guideline thresholds quoted verbatim, not model parameters, so they live here as
cited constants rather than in the parameter registry.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marrowsim.clinical.hla.donors import optional_number, read_table
from marrowsim.clinical.hla.matching import MatchResult, match
from marrowsim.clinical.hla.reference import HlaReference
from marrowsim.errors import InputError, lookup


@dataclass(frozen=True)
class DoseRule:
    """A cited threshold in cells per kg of recipient weight."""

    name: str
    cells_per_kg: float
    source: str


SEARCH_MIN_TNC = DoseRule("search screen TNC >", 1.5e7, "NMDP algorithm, PMC7567024 Table 1")
SEARCH_MIN_CD34 = DoseRule("search screen CD34 >=", 1.0e5, "NMDP algorithm, PMC7567024 Table 1")
SEARCH_MIN_MATCHED_8 = 4  # ≥ 4/8, same source
SINGLE_MIN_TNC = DoseRule("single unit TNC >=", 3.0e7, "NMDP/CIBMTR, Dehn 2019")
SINGLE_MIN_CD34 = DoseRule("single unit CD34 >=", 1.5e5, "NMDP/CIBMTR, Dehn 2019")
NONMALIGNANT_MIN_TNC = DoseRule("non-malignant TNC >", 5.0e7, "ASH-SAP cord table")
DOUBLE_MIN_TNC = DoseRule("double, each unit TNC >=", 1.5e7, "ASH-SAP cord table")
DOUBLE_MIN_CD34 = DoseRule("double, each unit CD34 >=", 1.0e5, "Dehn 2019; ASH-SAP cord table")
MAX_MISMATCHES_8 = 2  # ASH-SAP: avoid > 2 mismatches
DIAGNOSES = {
    "malignant": "malignant",
    "non-malignant": "non-malignant",
    "nonmalignant": "non-malignant",
}


@dataclass(frozen=True)
class CordUnit:
    """One unit with its doses per kg, HLA match and the rules it meets or misses."""

    unit_id: str
    tnc_per_kg: float
    cd34_per_kg: float | None
    result: MatchResult
    flags: tuple[str, ...]
    excluded: bool
    single_dose_ok: bool
    double_dose_ok: bool

    def sort_key(self) -> tuple:
        matched = self.result.matched_8
        return (self.excluded, -(matched if matched is not None else -1), -self.tnc_per_kg)

    def to_dict(self, rank: int) -> dict[str, Any]:
        return {
            "rank": rank,
            "unit_id": self.unit_id,
            "grade_8": self.result.grade_8,
            "grade_6": self.result.grade_6,
            "tnc_per_kg": self.tnc_per_kg,
            "cd34_per_kg": self.cd34_per_kg,
            "excluded": self.excluded,
            "single_dose_ok": self.single_dose_ok,
            "double_dose_ok": self.double_dose_ok,
            "flags": list(self.flags),
        }


def evaluate_unit(
    unit_id: str,
    result: MatchResult,
    tnc_per_kg: float,
    cd34_per_kg: float | None,
    *,
    diagnosis: str = "malignant",
) -> CordUnit:
    """Apply the cited rules to one unit."""
    diagnosis = lookup("diagnosis", diagnosis, DIAGNOSES)
    flags, excluded = [], False
    matched = result.matched_8
    if matched is None:
        flags.append("A, B, C and DRB1 not all typed: grade_8 unknown")
        excluded = True
    elif matched < SEARCH_MIN_MATCHED_8:
        flags.append(f"below {SEARCH_MIN_MATCHED_8}/8 ({SEARCH_MIN_TNC.source})")
        excluded = True
    if not tnc_per_kg > SEARCH_MIN_TNC.cells_per_kg:
        flags.append(f"TNC <= 1.5e7/kg ({SEARCH_MIN_TNC.source})")
        excluded = True
    if cd34_per_kg is not None and cd34_per_kg < SEARCH_MIN_CD34.cells_per_kg:
        flags.append(f"CD34 < 1.0e5/kg ({SEARCH_MIN_CD34.source})")
        excluded = True
    if matched is not None and 8 - matched > MAX_MISMATCHES_8:
        flags.append("more than 2/8 mismatched: avoid (ASH-SAP)")
    c_locus = result.locus("C")
    if c_locus is not None and c_locus.mismatches:
        flags.append("HLA-C mismatch: avoid (ASH-SAP)")
    single_ok = tnc_per_kg >= SINGLE_MIN_TNC.cells_per_kg and (
        cd34_per_kg is not None and cd34_per_kg >= SINGLE_MIN_CD34.cells_per_kg
    )
    if not single_ok:
        flags.append("below single-unit dose TNC 3.0e7/kg + CD34 1.5e5/kg (Dehn 2019)")
    if diagnosis == "non-malignant" and not tnc_per_kg > NONMALIGNANT_MIN_TNC.cells_per_kg:
        flags.append("TNC <= 5.0e7/kg for non-malignant disease (ASH-SAP)")
        single_ok = False
    if cd34_per_kg is None:
        flags.append("CD34 unknown")
    double_ok = (
        tnc_per_kg >= DOUBLE_MIN_TNC.cells_per_kg
        and cd34_per_kg is not None
        and cd34_per_kg >= DOUBLE_MIN_CD34.cells_per_kg
    )
    return CordUnit(
        unit_id, tnc_per_kg, cd34_per_kg, result, tuple(flags), excluded, single_ok, double_ok
    )


def _dose(row: dict[str, str], column: str, weight_kg: float, where: str) -> float | None:
    per_kg = optional_number(row.get(f"{column}_per_kg", ""), f"{column}_per_kg", where)
    if per_kg is not None:
        return per_kg
    total = optional_number(row.get(column, ""), column, where)
    return None if total is None else total / weight_kg


def read_units(
    path: str | Path,
    recipient: str,
    reference: HlaReference,
    *,
    weight_kg: float,
    diagnosis: str = "malignant",
) -> list[CordUnit]:
    """Read ``unit_id,hla,tnc,cd34`` (total cells) or ``…,tnc_per_kg,cd34_per_kg`` rows."""
    if not weight_kg > 0:
        raise InputError(f"recipient weight must be > 0 kg, got {weight_kg!r}")
    optional = ["tnc", "cd34", "tnc_per_kg", "cd34_per_kg"]
    rows = read_table(path, ["unit_id", "hla"], optional, what="cord unit")
    header = set(rows[0][1])
    if not header & {"tnc", "tnc_per_kg"}:
        raise InputError(
            f"{Path(path).name}: needs a TNC column, 'tnc' (total cells) or 'tnc_per_kg'"
        )
    match(recipient, recipient, reference)  # report recipient errors as such
    units, seen = [], set()
    for line, row in rows:
        where = f"{Path(path).name} line {line}"
        unit_id = row["unit_id"]
        if not unit_id or unit_id in seen:
            raise InputError(f"{where}: empty or duplicate unit_id {unit_id!r}")
        seen.add(unit_id)
        tnc = _dose(row, "tnc", weight_kg, where)
        if tnc is None:
            raise InputError(f"{where}: TNC missing for unit {unit_id!r}")
        cd34 = _dose(row, "cd34", weight_kg, where)
        try:
            result = match(recipient, row["hla"], reference)
        except InputError as exc:
            raise InputError(f"{where} (unit {unit_id!r}): {exc}") from None
        units.append(evaluate_unit(unit_id, result, tnc, cd34, diagnosis=diagnosis))
    return sorted(units, key=CordUnit.sort_key)


def double_unit_pairs(units: list[CordUnit], *, limit: int = 10) -> list[tuple[CordUnit, CordUnit]]:
    """Pairs of non-excluded units that each meet the per-unit double-graft dose.

    Ranked by the worse unit's grade_8, then combined TNC per kg. Unit-to-unit HLA match is
    not required (ASH-SAP).
    """
    ok = [u for u in units if u.double_dose_ok and not u.excluded]
    pairs = list(itertools.combinations(ok, 2))
    pairs.sort(
        key=lambda p: (
            -min(u.result.matched_8 or 0 for u in p),
            -(p[0].tnc_per_kg + p[1].tnc_per_kg),
        )
    )
    return pairs[:limit]
