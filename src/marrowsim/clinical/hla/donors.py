"""Rank candidate donors for one recipient, and read candidate tables (CSV) with clear errors.

Order (best first): higher ``grade_8`` (A, B, C, DRB1), then higher ``grade_10`` (+ DQB1), then
DPB1 TCE (match or permissive before unknown before non-permissive; Pidala et al. Blood
2014;124:2596), then the younger donor: donor age is the only non-HLA factor associated with
mortality in the NMDP/CIBMTR guidelines (Dehn et al. Blood 2019;134:924; clinical.md §1.2).
Unknown grades or ages sort last; remaining ties keep the file order.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marrowsim.clinical.hla.matching import MatchResult, match
from marrowsim.clinical.hla.reference import HlaReference
from marrowsim.errors import InputError

TCE_RANK = {
    "match": 0,
    "permissive": 0,
    "unknown": 1,
    "nonpermissive_gvh": 2,
    "nonpermissive_hvg": 2,
}


def read_table(
    path: str | Path, required: Iterable[str], optional: Iterable[str] = (), *, what: str
) -> list[tuple[int, dict[str, str]]]:
    """Read a CSV with a header; return ``(line number, row)`` pairs; errors name the line."""
    path = Path(path)
    required, optional = list(required), list(optional)
    if not path.is_file():
        raise InputError(f"{what} file {str(path)!r} not found")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise InputError(
                f"{path.name}: missing column(s) {', '.join(missing)} (found: "
                f"{', '.join(header) or 'no header'}; required: {', '.join(required)}"
                + (f"; optional: {', '.join(optional)})" if optional else ")")
            )
        rows = []
        for row in reader:
            clean = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
            rows.append((reader.line_num, clean))
    if not rows:
        raise InputError(f"{path.name}: no {what} rows")
    return rows


def optional_number(value: str, column: str, where: str) -> float | None:
    """Parse a non-negative number cell; empty means unknown."""
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise InputError(f"{where}: column {column} = {value!r} is not a number") from None
    if not math.isfinite(number) or number < 0:
        raise InputError(f"{where}: column {column} = {value!r} must be a number >= 0")
    return number


@dataclass(frozen=True)
class RankedDonor:
    """One donor with its match against the recipient."""

    donor_id: str
    result: MatchResult
    age_years: float | None = None
    sex: str = ""
    relation: str = ""

    def sort_key(self) -> tuple:
        r = self.result
        return (
            -(r.matched_8 if r.matched_8 is not None else -1),
            -(r.matched_10 if r.matched_10 is not None else -1),
            TCE_RANK[r.dpb1_tce],
            self.age_years if self.age_years is not None else math.inf,
        )

    def to_dict(self, rank: int) -> dict[str, Any]:
        r = self.result
        return {
            "rank": rank,
            "donor_id": self.donor_id,
            "grade_8": r.grade_8,
            "grade_10": r.grade_10,
            "grade_12": r.grade_12,
            "gvh_mismatches_8": r.gvh_mismatches_8,
            "hvg_mismatches_8": r.hvg_mismatches_8,
            "dpb1_tce": r.dpb1_tce,
            "age_years": self.age_years,
            "sex": self.sex or None,
            "relation": self.relation or None,
            "loci": {lm.locus: lm.to_dict() for lm in r.loci},
            "not_compared": list(r.not_compared),
        }


def rank_donors(
    recipient: str, donors: Iterable[RankedDonor | tuple[str, str]], reference: HlaReference
) -> list[RankedDonor]:
    """Match and sort donors (``(donor_id, typing)`` pairs or prepared :class:`RankedDonor`)."""
    out = []
    for d in donors:
        if isinstance(d, tuple):
            d = RankedDonor(d[0], match(recipient, d[1], reference))
        out.append(d)
    return sorted(out, key=RankedDonor.sort_key)


def read_donors(path: str | Path, recipient: str, reference: HlaReference) -> list[RankedDonor]:
    """Read ``donor_id,hla[,age_years,sex,relation]`` rows and match each against ``recipient``."""
    rows = read_table(path, ["donor_id", "hla"], ["age_years", "sex", "relation"], what="donor")
    match(recipient, recipient, reference)  # recipient errors are reported as such, first
    seen: set[str] = set()
    donors = []
    for line, row in rows:
        where = f"{Path(path).name} line {line}"
        donor_id = row["donor_id"]
        if not donor_id:
            raise InputError(f"{where}: empty donor_id")
        if donor_id in seen:
            raise InputError(f"{where}: duplicate donor_id {donor_id!r}")
        seen.add(donor_id)
        try:
            result = match(recipient, row["hla"], reference)
        except InputError as exc:
            raise InputError(f"{where} (donor {donor_id!r}): {exc}") from None
        age = optional_number(row.get("age_years", ""), "age_years", where)
        donors.append(
            RankedDonor(donor_id, result, age, row.get("sex", ""), row.get("relation", ""))
        )
    return sorted(donors, key=RankedDonor.sort_key)
