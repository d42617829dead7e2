"""Resolve typed names against a release: candidate alleles, ARD keys, antigens, TCE groups.

* An allele name resolves to itself when the release has it, else to every unsuffixed allele
  that extends it (``A*02:01`` → ``A*02:01:01:01``, …). Suffixed alleles (``N``, ``L``, ``Q`` …)
  are reached only by their full name, so a null is never confused with an expressed allele
  (clinical.md §1.1 "Null alleles and G groups: trap").
* A G or P group resolves to its expressed members: a laboratory that reports a G group reports
  an expressed allele (documented convention; nulls in the group must be typed explicitly).
* The ARD key of an expressed allele is its P group (identical antigen-recognition-domain
  protein; WMDA README). Alleles in the same G group share it, so they are never a mismatch.
* Antigens come from rel_dna_ser.txt (never from field 1); a serological broad antigen stands
  for itself and its splits/associated antigens (rel_ser_ser.txt).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from marrowsim.clinical.hla.reference import HlaReference
from marrowsim.clinical.hla.typing import SEROLOGY_PREFIX, HlaName, Position
from marrowsim.errors import UnknownNameError


class UnknownAlleleError(UnknownNameError):
    """A well-formed HLA name that the release does not contain."""

    def __init__(self, value: str, allowed: list[str], release: str, note: str = ""):
        super().__init__(f"HLA name (IPD-IMGT/HLA {release}{note})", value, allowed, limit=6)


@dataclass(frozen=True)
class ResolvedPosition:
    """What one typed position means in a release.

    ``null``: every candidate is a null allele (the position expresses nothing).
    ``keys``: ARD keys (P groups) of the expressed candidates; empty for serology-only typings.
    ``antigens``: serological antigens (broad antigens expanded to their splits).
    ``field1``: first fields of the candidates (fallback when no antigen is assigned).
    ``tce``: DPB1 V2 TCE groups of the expressed candidates (None where unassigned).
    ``ambiguous``: the typing leaves more than one ARD key (or only antigen level) open.
    """

    text: str
    null: bool
    keys: frozenset[str]
    antigens: frozenset[str]
    field1: frozenset[str]
    tce: frozenset[int | None]
    ambiguous: bool
    serology_only: bool


def _suggest(name: str, reference: HlaReference) -> list[str]:
    locus = name.split("*", 1)[0]
    pool = list(reference.by_locus.get(locus, ())) + [
        g for g in (*reference.g_members, *reference.p_members) if g.startswith(locus + "*")
    ]
    if not pool:
        pool = sorted(reference.by_locus)
        return difflib.get_close_matches(locus, pool, n=3, cutoff=0.0) or pool
    two_field = sorted({":".join(a.split(":")[:2]) for a in pool if "*" in a})
    close = difflib.get_close_matches(name, two_field, n=1, cutoff=0.6)
    close += difflib.get_close_matches(name, pool, n=3, cutoff=0.6)
    return list(dict.fromkeys(close)) or two_field[:6]


def candidates(name: HlaName, reference: HlaReference) -> tuple[str, ...]:
    """Alleles of the release that ``name`` stands for (empty for a serological antigen)."""
    text = name.text
    if name.kind == "serology":
        return ()
    if name.locus not in reference.by_locus:
        raise UnknownNameError(
            f"HLA locus (IPD-IMGT/HLA {reference.release})", name.locus, reference.by_locus
        )
    if name.kind in ("g_group", "p_group"):
        members = (reference.g_members if name.kind == "g_group" else reference.p_members).get(text)
        if members is None:
            pool = reference.g_members if name.kind == "g_group" else reference.p_members
            locus_pool = [
                g for g in pool if g.startswith(name.locus + "*") and g.endswith(text[-1])
            ]
            raise UnknownAlleleError(text, locus_pool, reference.release, ", group")
        expressed = tuple(m for m in members if not m.endswith("N"))
        return expressed or members
    if text in reference.alleles:
        return (text,)
    found = reference.prefixes.get(text)
    if found and not name.suffix:
        return found
    note = ""
    if text in reference.deleted:
        became, reason = reference.deleted[text]
        note = f"; deleted: {reason}" + (f", now {became}" if became else "")
    raise UnknownAlleleError(text, _suggest(text, reference), reference.release, note)


def expand_antigens(locus: str, antigens: set[str], reference: HlaReference) -> frozenset[str]:
    """Add the splits and associated antigens of every broad antigen in ``antigens``."""
    ser_locus = SEROLOGY_PREFIX.get(locus, locus)
    out = set(antigens)
    for antigen in antigens:
        out |= reference.splits.get((ser_locus, antigen), frozenset())
    return frozenset(out)


def resolve(position: Position, reference: HlaReference) -> ResolvedPosition:
    """Resolve one typed position (raises :class:`UnknownAlleleError` for unknown names)."""
    alleles: list[str] = []
    serology: set[str] = set()
    locus = position.locus
    for name in position.names:
        if name.kind == "serology":
            known = reference.antigens.get(locus, frozenset()) | {
                b for (sl, b) in reference.splits if sl == SEROLOGY_PREFIX.get(locus)
            }
            if name.antigen not in known:
                prefix = SEROLOGY_PREFIX.get(locus, locus)
                allowed = sorted(f"{prefix}{a}" for a in known)
                raise UnknownNameError(
                    f"HLA antigen (IPD-IMGT/HLA {reference.release})", name.text, allowed
                )
            serology.add(name.antigen)
        else:
            alleles.extend(candidates(name, reference))
    expressed = [a for a in alleles if not a.endswith("N")]
    null = bool(alleles) and not expressed and not serology
    keys = frozenset(reference.p_group.get(a, ":".join(a.split(":")[:2])) for a in expressed)
    antigens = set(serology)
    for a in expressed:
        antigens |= reference.serology.get(a, frozenset())
    field1 = frozenset(a.split("*", 1)[1].split(":")[0] for a in expressed)
    tce = frozenset(reference.tce.get(a) for a in expressed) if locus == "DPB1" else frozenset()
    serology_only = bool(serology) and not expressed
    ambiguous = serology_only or len(keys) > 1 or (bool(serology) and bool(expressed))
    ambiguous = ambiguous or (bool(expressed) and len(expressed) < len(alleles))
    return ResolvedPosition(
        text=position.text,
        null=null,
        keys=keys,
        antigens=expand_antigens(locus, antigens, reference),
        field1=field1,
        tce=tce,
        ambiguous=ambiguous,
        serology_only=serology_only,
    )
