"""Donor–recipient HLA compatibility of a scenario, as the transplant model consumes it.

:func:`mismatch_summary` turns the ``[patient]`` / ``[donor]`` / ``[graft]`` sections into
mismatch counts at A, B, C and DRB1 by direction (graft-versus-host: recipient alleles the donor
lacks; host-versus-graft: donor alleles the recipient lacks), the grades that are known and the
DPB1 TCE category, and says where the numbers came from (``origin``):

``"autologous"``
    the patient's own cells: no disparity (all counts 0, grades not applicable).
``"typing"``
    ``[patient] hla`` and ``[donor] hla`` (or a cord unit's ``hla``) matched on the IPD-IMGT/HLA
    reference data with :func:`marrowsim.clinical.hla.match` (clinical.md §1; docs/hla.md).
``"grade"``
    a grade given directly (``[donor] hla_match = "7/8"`` or a cord unit's ``hla_match``); needs
    no reference data. A grade does not say the direction, so both directions get the same count
    (a bidirectional mismatch). A grade out of 6, 10 or 12 is converted to mismatches at the
    eight A/B/C/DRB1 alleles as ``round((total - matched) × 8 / total)``: the mismatches are
    taken as spread evenly over the graded loci (an assumption; the same rule the transplant
    model applied before this module existed).
``"relation_default"``
    nothing typed or graded: a matched sibling is 8/8 and a haploidentical relative shares one
    haplotype, 4/8 in both directions. An unrelated or cord donor has no default: the scenario
    must give a grade or typings (refused otherwise, never assumed).
``"cord_units"``
    a cord graft: each unit is summarised (by its typing or grade, else the donor's), and the
    graft reports the worst unit (the most mismatches in each direction).

When both typings and a grade are given, they must agree. Reference loading and typing matches
are cached, so the function is cheap to call once per compiled patient.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from marrowsim.errors import DataNotFoundError, InputError, ScenarioError

if TYPE_CHECKING:
    from marrowsim.clinical.hla import HlaReference, MatchResult
    from marrowsim.scenario import Scenario

Origin = Literal["autologous", "typing", "grade", "relation_default", "cord_units"]
RELATION_DEFAULT_MISMATCHES_8 = {"matched_sibling": 0, "haploidentical": 4}


@dataclass(frozen=True)
class MismatchSummary:
    """HLA disparity of one donor–recipient pair (or the worst unit of a cord graft).

    ``mismatches_8`` is the grade count (8 − matched alleles, each locus counting the larger of
    its two directions, docs/hla.md "Grade convention"); ``gvh_mismatches_8`` and
    ``hvg_mismatches_8`` are the directional totals over A, B, C and DRB1. Grades are ``None``
    where not known (nothing is imputed). ``units`` holds the per-unit summaries of a cord graft.
    """

    relation: str
    origin: Origin
    gvh_mismatches_8: int
    hvg_mismatches_8: int
    mismatches_8: int
    grade_8: str | None = None
    grade_10: str | None = None
    grade_12: str | None = None
    grade_6: str | None = None
    dpb1_tce: str = "unknown"
    release: str | None = None
    detail: str = ""
    units: tuple[MismatchSummary, ...] = field(default=())

    @property
    def allogeneic(self) -> bool:
        return self.relation != "autologous"

    def to_dict(self) -> dict[str, Any]:
        """A flat, JSON-ready view (cord units nested as a list)."""
        out = {
            k: getattr(self, k)
            for k in (
                "relation",
                "origin",
                "gvh_mismatches_8",
                "hvg_mismatches_8",
                "mismatches_8",
                "grade_6",
                "grade_8",
                "grade_10",
                "grade_12",
                "dpb1_tce",
                "release",
                "detail",
            )
        }
        out["units"] = [u.to_dict() for u in self.units]
        return out


# --- reference data and typing matches, cached -----------------------------------------------


def _release_dir(where: str) -> str:
    from marrowsim.clinical.hla import find_release_dir

    try:
        return str(find_release_dir())
    except DataNotFoundError as exc:
        raise DataNotFoundError(
            f"{where} gives an HLA typing, which needs IPD-IMGT/HLA reference data: {exc} "
            '(or give the grade directly, e.g. [donor] hla_match = "7/8")'
        ) from None


@functools.lru_cache(maxsize=4)
def _reference(directory: str) -> HlaReference:
    from marrowsim.clinical.hla import load_reference

    return load_reference(directory)


@functools.lru_cache(maxsize=512)
def _match(recipient: str, donor: str, directory: str) -> MatchResult:
    from marrowsim.clinical.hla import match

    return match(recipient, donor, _reference(directory))


@functools.lru_cache(maxsize=512)
def _validated(text: str, directory: str) -> str:
    from marrowsim.clinical.hla import parse_typing, resolve

    typing = parse_typing(text)
    reference = _reference(directory)
    for locus in typing.loci:
        for position in locus.positions:
            resolve(position, reference)
    return text


def validate_typing(text: str, *, where: str = "HLA typing") -> str:
    """Check an HLA typing string: syntax first (no data needed), then every name against the
    reference release (needs data; :class:`DataNotFoundError` saying how to get it otherwise).
    Returns the text unchanged. Raises :class:`InputError` (one line, closest names) if wrong."""
    from marrowsim.clinical.hla import parse_typing

    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where} must be a non-empty HLA typing string, got {text!r}")
    parse_typing(text)
    return _validated(text, _release_dir(where))


# --- summaries -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)  # a cohort arm's patients share it; the summary is frozen
def _from_grade(relation: str, grade: str, where: str) -> MismatchSummary:
    from marrowsim.clinical.hla import parse_grade

    matched, total = parse_grade(grade)
    mm = round((total - matched) * 8 / total)
    note = "" if total == 8 else f", converted to {mm} of 8 alleles (spread evenly, assumption)"
    return MismatchSummary(
        relation=relation,
        origin="grade",
        gvh_mismatches_8=mm,
        hvg_mismatches_8=mm,
        mismatches_8=mm,
        **{f"grade_{total}": f"{matched}/{total}"},
        detail=f"grade {matched}/{total} given in {where}{note}; direction unknown: "
        "counted in both directions",
    )


def _from_result(relation: str, result: MatchResult, where: str) -> MismatchSummary:
    gvh, hvg, matched = result.gvh_mismatches_8, result.hvg_mismatches_8, result.matched_8
    assert gvh is not None and hvg is not None and matched is not None
    return MismatchSummary(
        relation=relation,
        origin="typing",
        gvh_mismatches_8=gvh,
        hvg_mismatches_8=hvg,
        mismatches_8=8 - matched,
        grade_8=result.grade_8,
        grade_10=result.grade_10,
        grade_12=result.grade_12,
        grade_6=result.grade_6,
        dpb1_tce=result.dpb1_tce,
        release=result.release,
        detail=f"typings matched on IPD-IMGT/HLA {result.release} ({where})",
    )


def _one_pair(
    relation: str, recipient: str | None, donor: str | None, grade: str | None, where: str
) -> MismatchSummary | None:
    """Complete typings (A, B, C, DRB1 on both sides) win; a grade given as well must agree
    with them wherever the typings determine it. ``None`` when neither is given."""
    result = _match(recipient, donor, _release_dir(where)) if recipient and donor else None
    graded = _from_grade(relation, grade, where) if grade else None
    if result is not None and graded is not None:
        total = next(t for t in (6, 8, 10, 12) if getattr(graded, f"grade_{t}") is not None)
        from_typing = getattr(result, f"grade_{total}")
        if from_typing is not None and from_typing != getattr(graded, f"grade_{total}"):
            raise ScenarioError(
                f"{where}: hla_match {grade!r} disagrees with the typings, which give "
                f"{from_typing} on IPD-IMGT/HLA {result.release}; remove one or correct it"
            )
    if result is not None and result.matched_8 is not None:
        return _from_result(relation, result, where)
    if graded is not None:
        return graded
    if result is not None:
        missing = ", ".join(n for n in ("A", "B", "C", "DRB1") if result.locus(n) is None)
        raise ScenarioError(
            f"{where}: the typings do not cover {missing} on both sides, so the 8-allele "
            'mismatch count is unknown; type those loci or give hla_match = "x/8"'
        )
    return None


def _cord(scenario: Scenario) -> MismatchSummary:
    donor, graft, recipient = scenario.donor, scenario.graft, scenario.patient.hla
    units = graft.units if graft is not None else ()
    summaries = []
    for i, unit in enumerate(units, start=1):
        where = f"[graft] units[{i}]"
        unit_hla = getattr(unit, "hla", None)
        s = _one_pair("cord", recipient, unit_hla, unit.hla_match, where)
        if s is None:
            s = _one_pair("cord", recipient, donor.hla, donor.hla_match, "[donor]")
        if s is None:
            raise ScenarioError(
                f'{where}: a cord unit needs its HLA match: hla_match = "5/6" (or "6/8"), '
                'or its typing hla = "..." with [patient] hla, or [donor] hla_match'
            )
        summaries.append(s)
    if not summaries:
        s = _one_pair("cord", recipient, donor.hla, donor.hla_match, "[donor]")
        if s is None:
            raise ScenarioError(
                '[donor] relation = "cord" needs the HLA match: hla_match = "5/6" (or "6/8"), '
                "or typings in [patient] hla and [donor] hla (or per unit in [graft] units)"
            )
        return s
    worst = max(summaries, key=lambda u: (u.mismatches_8, u.gvh_mismatches_8, u.hvg_mismatches_8))
    return replace(
        worst,
        origin="cord_units",
        gvh_mismatches_8=max(u.gvh_mismatches_8 for u in summaries),
        hvg_mismatches_8=max(u.hvg_mismatches_8 for u in summaries),
        detail=f"worst of {len(summaries)} cord unit(s): {worst.detail}",
        units=tuple(summaries),
    )


def mismatch_summary(scenario: Scenario) -> MismatchSummary:
    """The HLA disparity the transplant model should use for ``scenario`` (see module doc).

    Raises :class:`ScenarioError` when an unrelated or cord donor has neither a grade nor
    typings, when typings and grade disagree, or when there is no ``[donor]`` section;
    :class:`DataNotFoundError` when typings must be matched and no reference data is set up.
    """
    donor = scenario.donor
    if donor is None:
        raise ScenarioError(f"scenario {scenario.name!r} has no [donor] section")
    relation = donor.relation
    if relation == "autologous":
        return MismatchSummary(
            relation=relation,
            origin="autologous",
            gvh_mismatches_8=0,
            hvg_mismatches_8=0,
            mismatches_8=0,
            detail="autologous graft: no HLA disparity",
        )
    if relation == "cord":
        return _cord(scenario)
    given = _one_pair(relation, scenario.patient.hla, donor.hla, donor.hla_match, "[donor]")
    if given is not None:
        return given
    if relation in RELATION_DEFAULT_MISMATCHES_8:
        mm = RELATION_DEFAULT_MISMATCHES_8[relation]
        return MismatchSummary(
            relation=relation,
            origin="relation_default",
            gvh_mismatches_8=mm,
            hvg_mismatches_8=mm,
            mismatches_8=mm,
            grade_8=f"{8 - mm}/8",
            detail=(
                "matched sibling without typing or grade: 8/8"
                if mm == 0
                else "haploidentical relative without typing or grade: one shared haplotype, "
                "4/8 mismatched in both directions"
            ),
        )
    raise ScenarioError(
        f'[donor] relation = "{relation}" needs the HLA match: hla_match = "8/8" (or "7/8" …), '
        "or typings in [patient] hla and [donor] hla; an unrelated donor's match is not assumed"
    )
