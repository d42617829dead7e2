"""DPB1 T-cell-epitope (TCE) permissiveness (clinical.md §1.5).

Groups are the V2 (functional-distance) assignments of IPD-IMGT/HLA ``tce/dpb_tce.csv`` with the
in-silico marker ``$`` and the V1/V2-difference marker ``a`` stripped (as hlann ``ref_data.py``
reads them); 1 is the most immunogenic group, 3 the least (Zino et al. Blood 2004;
Crivello et al. BBMT 2016; Arrieta-Bolaños et al. Blood Adv 2018;2:1773).

Rule (NMDP ``dpb1-expression`` ``determine_TCE_match``; the same 36 cases in Anthony Nolan Atlas):
with m_p the lowest group of the patient's two alleles and m_d the donor's,
m_p == m_d → permissive, m_p < m_d → non-permissive GvH, m_p > m_d → non-permissive HvG.
A typing with one null allele counts as homozygous for its expressed allele (Atlas
``Dpb1TceGroupMatchCalculator``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

TceCategory = Literal["match", "permissive", "nonpermissive_gvh", "nonpermissive_hvg", "unknown"]
TCE_CATEGORIES: tuple[str, ...] = (
    "match",
    "permissive",
    "nonpermissive_gvh",
    "nonpermissive_hvg",
    "unknown",
)


def tce_category(
    patient_groups: Sequence[int | None],
    donor_groups: Sequence[int | None],
    *,
    allele_matched: bool = False,
) -> TceCategory:
    """Classify a DPB1 pair from the TCE groups of each side's (expressed) alleles.

    ``allele_matched``: DPB1 is matched (no mismatch in either direction) → ``"match"``.
    Groups that are ``None`` (unassigned) or 0 (null) leave the answer ``"unknown"``.
    """
    if allele_matched:
        return "match"
    known = [g for g in (*patient_groups, *donor_groups)]
    if not patient_groups or not donor_groups or any(g not in (1, 2, 3) for g in known):
        return "unknown"
    m_p, m_d = min(patient_groups), min(donor_groups)  # type: ignore[type-var]
    if m_p == m_d:
        return "permissive"
    return "nonpermissive_gvh" if m_p < m_d else "nonpermissive_hvg"
