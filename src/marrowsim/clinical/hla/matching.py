"""Match a recipient and a donor typing: mismatches per locus by direction, grades, DPB1 TCE.

Direction (clinical.md §1.4; NMDP ``dpb1-expression`` ``_determine_directionality``): the
GvH count at a locus is the number of recipient alleles absent from the donor (what donor
T cells can see), the HvG count the number of donor alleles absent from the recipient (what
the recipient can reject). This reproduces the homozygosity rule: a homozygous donor for one of
a heterozygous recipient's alleles gives a GvH-only mismatch, and the reverse an HvG-only one.
A typing with one null allele counts as homozygous for its expressed allele (Atlas rule), so a
null is never silently equated with an expressed allele of its G group.

Grades count matched alleles out of 2 per locus (8/8: A, B, C, DRB1; 10/10: + DQB1; 12/12:
+ DPB1; Pidala et al. Blood 2014;124:2596; Dehn et al. Blood 2019;134:924). **Convention:** a
locus counts ``2 - max(GvH, HvG)`` matched alleles (the larger of the two directional counts,
so a one-way mismatch still lowers the grade); the directional totals are reported as well.
``grade_6`` is the cord-blood convention: A and B at antigen level, DRB1 at allele level
(Politikos et al. BBMT 2020;26:2190). A grade is None when one of its loci is not typed on both
sides; nothing is invented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from marrowsim.clinical.hla.reference import HlaReference
from marrowsim.clinical.hla.resolve import ResolvedPosition, resolve
from marrowsim.clinical.hla.tce import TceCategory, tce_category
from marrowsim.clinical.hla.typing import HlaTyping, parse_typing
from marrowsim.errors import InputError

GRADE_LOCI = {
    8: ("A", "B", "C", "DRB1"),
    10: ("A", "B", "C", "DRB1", "DQB1"),
    12: ("A", "B", "C", "DRB1", "DQB1", "DPB1"),
}
Level = Literal["match", "allele", "antigen"]


@dataclass(frozen=True)
class LocusMatch:
    """The comparison at one locus typed on both sides."""

    locus: str
    recipient: str
    donor: str
    gvh_mismatches: int
    hvg_mismatches: int
    gvh_antigen_mismatches: int
    hvg_antigen_mismatches: int
    level: Level
    ambiguous: bool

    @property
    def mismatches(self) -> int:
        """Mismatches counted for the grade: the larger of the two directions."""
        return max(self.gvh_mismatches, self.hvg_mismatches)

    @property
    def antigen_mismatches(self) -> int:
        return max(self.gvh_antigen_mismatches, self.hvg_antigen_mismatches)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipient": self.recipient,
            "donor": self.donor,
            "gvh_mismatches": self.gvh_mismatches,
            "hvg_mismatches": self.hvg_mismatches,
            "antigen_gvh_mismatches": self.gvh_antigen_mismatches,
            "antigen_hvg_mismatches": self.hvg_antigen_mismatches,
            "level": self.level,
            "ambiguous": self.ambiguous,
        }


@dataclass(frozen=True)
class MatchResult:
    """Result of :func:`match`; ``to_dict()`` is the ``marrowsim match --json`` object."""

    recipient: str
    donor: str
    loci: tuple[LocusMatch, ...]
    not_compared: tuple[str, ...]
    dpb1_tce: TceCategory
    dpb1_tce_groups: tuple[tuple[int | None, ...], tuple[int | None, ...]] | None
    release: str

    def locus(self, name: str) -> LocusMatch | None:
        return next((lm for lm in self.loci if lm.locus == name), None)

    def _matched(self, total: int) -> int | None:
        loci = [self.locus(name) for name in GRADE_LOCI[total]]
        if any(lm is None for lm in loci):
            return None
        return total - sum(lm.mismatches for lm in loci if lm is not None)

    def _directional(self, attr: str) -> int | None:
        loci = [self.locus(name) for name in GRADE_LOCI[8]]
        if any(lm is None for lm in loci):
            return None
        return sum(getattr(lm, attr) for lm in loci)

    matched_8 = property(lambda self: self._matched(8))
    matched_10 = property(lambda self: self._matched(10))
    matched_12 = property(lambda self: self._matched(12))
    grade_8 = property(lambda self: _grade(self._matched(8), 8))
    grade_10 = property(lambda self: _grade(self._matched(10), 10))
    grade_12 = property(lambda self: _grade(self._matched(12), 12))
    gvh_mismatches_8 = property(lambda self: self._directional("gvh_mismatches"))
    hvg_mismatches_8 = property(lambda self: self._directional("hvg_mismatches"))

    @property
    def matched_6(self) -> int | None:
        a, b, drb1 = (self.locus(n) for n in ("A", "B", "DRB1"))
        if a is None or b is None or drb1 is None:
            return None
        return 6 - a.antigen_mismatches - b.antigen_mismatches - drb1.mismatches

    @property
    def grade_6(self) -> str | None:
        return _grade(self.matched_6, 6)

    @property
    def ambiguous(self) -> bool:
        return any(lm.ambiguous for lm in self.loci)

    def to_dict(self) -> dict[str, Any]:
        groups = self.dpb1_tce_groups
        return {
            "recipient": self.recipient,
            "donor": self.donor,
            "grade_6": self.grade_6,
            "grade_8": self.grade_8,
            "grade_10": self.grade_10,
            "grade_12": self.grade_12,
            "gvh_mismatches_8": self.gvh_mismatches_8,
            "hvg_mismatches_8": self.hvg_mismatches_8,
            "grade_convention": "per locus 2 - max(GvH, HvG) matched alleles",
            "loci": {lm.locus: lm.to_dict() for lm in self.loci},
            "not_compared": list(self.not_compared),
            "dpb1_tce": self.dpb1_tce,
            "dpb1_tce_groups": (
                None if groups is None else {"recipient": list(groups[0]), "donor": list(groups[1])}
            ),
            "ambiguous": self.ambiguous,
            "release": self.release,
        }


def _grade(matched: int | None, total: int) -> str | None:
    return None if matched is None else f"{matched}/{total}"


def parse_grade(text: str) -> tuple[int, int]:
    """``"7/8"`` → ``(7, 8)``; for scenarios that give a grade without reference data."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", str(text))
    allowed = "6/6, 5/6, 8/8, 7/8, 10/10, 12/12, …"
    if not m:
        raise InputError(f"malformed HLA match grade {text!r}; expected MATCHED/TOTAL ({allowed})")
    matched, total = int(m[1]), int(m[2])
    if total not in (6, 8, 10, 12) or matched > total:
        raise InputError(
            f"impossible HLA match grade {text!r}: total must be 6, 8, 10 or 12 and matched "
            f"at most the total ({allowed})"
        )
    return matched, total


def _expressed(positions: list[ResolvedPosition]) -> list[ResolvedPosition]:
    expressed = [p for p in positions if not p.null]
    return expressed * 2 if len(expressed) == 1 else expressed


def _same_allele(a: ResolvedPosition, b: ResolvedPosition) -> bool:
    if a.serology_only or b.serology_only:
        return bool(a.antigens & b.antigens)
    return bool(a.keys & b.keys)


def _same_antigen(a: ResolvedPosition, b: ResolvedPosition) -> bool:
    if _same_allele(a, b):
        return True
    if a.antigens and b.antigens:
        return bool(a.antigens & b.antigens)
    return bool(a.field1 & b.field1)  # no antigen assigned (e.g. DPB1): fall back to field 1


def _missing(side: list[ResolvedPosition], other: list[ResolvedPosition], same) -> int:
    return sum(1 for p in side if not any(same(p, o) for o in other))


def compare_locus(
    locus: str, recipient: list[ResolvedPosition], donor: list[ResolvedPosition]
) -> LocusMatch:
    """Compare the two resolved positions of each side at one locus."""
    rec, don = _expressed(recipient), _expressed(donor)
    gvh, hvg = _missing(rec, don, _same_allele), _missing(don, rec, _same_allele)
    gvh_ag, hvg_ag = _missing(rec, don, _same_antigen), _missing(don, rec, _same_antigen)
    level: Level = "match" if gvh == hvg == 0 else "antigen" if gvh_ag or hvg_ag else "allele"
    return LocusMatch(
        locus=locus,
        recipient=",".join(p.text for p in recipient),
        donor=",".join(p.text for p in donor),
        gvh_mismatches=gvh,
        hvg_mismatches=hvg,
        gvh_antigen_mismatches=gvh_ag,
        hvg_antigen_mismatches=hvg_ag,
        level=level,
        ambiguous=any(p.ambiguous for p in (*recipient, *donor)),
    )


def _tce_groups(positions: list[ResolvedPosition]) -> tuple[int | None, ...]:
    out = []
    for p in _expressed(positions):
        known = {g for g in p.tce if g is not None}
        out.append(known.pop() if len(known) == 1 else None)
    return tuple(out)


def match(
    recipient: str | HlaTyping, donor: str | HlaTyping, reference: HlaReference
) -> MatchResult:
    """Match two typings (strings are parsed with :func:`parse_typing`) in one release."""
    rec_typing, don_typing = parse_typing(recipient), parse_typing(donor)
    loci: list[LocusMatch] = []
    resolved: dict[str, tuple[list[ResolvedPosition], list[ResolvedPosition]]] = {}
    for lt in rec_typing.loci:
        other = don_typing.get(lt.locus)
        if other is None:
            continue
        rec = [resolve(p, reference) for p in lt.positions]
        don = [resolve(p, reference) for p in other.positions]
        resolved[lt.locus] = (rec, don)
        loci.append(compare_locus(lt.locus, rec, don))
    for lt in don_typing.loci:  # validate names typed on one side only, too
        if lt.locus not in resolved:
            for p in lt.positions:
                resolve(p, reference)
    for lt in rec_typing.loci:
        if lt.locus not in resolved:
            for p in lt.positions:
                resolve(p, reference)
    graded = GRADE_LOCI[12]
    not_compared = tuple(locus for locus in graded if locus not in resolved)
    tce: TceCategory = "unknown"
    groups = None
    if "DPB1" in resolved:
        rec, don = resolved["DPB1"]
        groups = (_tce_groups(rec), _tce_groups(don))
        dpb1 = next(lm for lm in loci if lm.locus == "DPB1")
        matched = dpb1.gvh_mismatches == dpb1.hvg_mismatches == 0
        tce = tce_category(groups[0], groups[1], allele_matched=matched)
    return MatchResult(
        recipient=str(rec_typing),
        donor=str(don_typing),
        loci=tuple(loci),
        not_compared=not_compared,
        dpb1_tce=tce,
        dpb1_tce_groups=groups,
        release=reference.release,
    )
