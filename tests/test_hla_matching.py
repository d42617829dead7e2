"""HLA matching on the IPD-IMGT/HLA 3.58.0 release (clinical.md §1.1-§1.5).

Needs the release directory: MARROWSIM_HLA_DATA, else ``../shared/data/imgt-hla`` next to the
repository; skipped with a reason when neither exists.
"""

from __future__ import annotations

import functools

import pytest

from hla_support import hla_data_dir
from marrowsim.clinical.hla import (
    UnknownAlleleError,
    load_reference,
    match,
    parse_grade,
    tce_category,
)
from marrowsim.errors import InputError, UnknownNameError

pytestmark = [
    pytest.mark.hla,
    pytest.mark.skipif(
        hla_data_dir() is None,
        reason="IPD-IMGT/HLA release not found: set MARROWSIM_HLA_DATA (see docs/hla.md)",
    ),
]


@functools.cache
def ref():
    return load_reference(hla_data_dir(), cache=False)


def locus(recipient: str, donor: str):
    return match(recipient, donor, ref()).loci[0]


FULL = (
    "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01 "
    "DQB1*02:01,DQB1*06:02 DPB1*03:01,DPB1*40:01"
)


def test_identical_typings_are_fully_matched():
    result = match(FULL, FULL, ref())
    assert (result.grade_8, result.grade_10, result.grade_12) == ("8/8", "10/10", "12/12")
    assert result.grade_6 == "6/6"
    assert result.gvh_mismatches_8 == result.hvg_mismatches_8 == 0
    assert result.dpb1_tce == "match"
    assert result.release == "3.58.0"


def test_json_contract():
    d = match(FULL, FULL.replace("A*02:01", "A*02:06"), ref()).to_dict()
    for key in ("grade_8", "grade_10", "grade_12", "loci", "dpb1_tce", "release"):
        assert key in d
    assert d["grade_8"] == "7/8" and d["grade_12"] == "11/12"
    assert d["loci"]["A"] == {
        **d["loci"]["A"],
        "gvh_mismatches": 1,
        "hvg_mismatches": 1,
        "level": "allele",
    }


def test_b15_01_vs_b15_02_is_an_antigen_mismatch_not_field_1():
    # rel_dna_ser.txt: B*15:01:01:01 → 62, B*15:02:01:01 → 75 (clinical.md §1.1)
    lm = locus("B*15:01,B*08:01", "B*15:02,B*08:01")
    assert (lm.gvh_mismatches, lm.hvg_mismatches, lm.level) == (1, 1, "antigen")


def test_same_antigen_different_protein_is_an_allele_mismatch():
    lm = locus("A*02:01,A*01:01", "A*02:06,A*01:01")
    assert lm.level == "allele" and lm.mismatches == 1 and lm.antigen_mismatches == 0


def test_same_g_group_is_not_a_mismatch():
    # A*01:01:51 and A*01:01:01:01 share A*01:01:01G in hla_nom_g.txt
    assert ref().g_group["A*01:01:51"] == ref().g_group["A*01:01:01:01"] == "A*01:01:01G"
    assert locus("A*01:01:51,A*02:01", "A*01:01:01:01,A*02:01").level == "match"
    assert locus("A*01:01:01G,A*02:01", "A*01:01,A*02:01").level == "match"
    assert locus("A*01:01P,A*02:01", "A*01:01:01:05,A*02:01").level == "match"


def test_null_allele_is_never_reduced_to_its_expressed_g_group_mate():
    # A*01:01:01:02N sits in A*01:01:01G (clinical.md §1.1 trap): still a mismatch
    assert ref().g_group["A*01:01:01:02N"] == "A*01:01:01G"
    lm = locus("A*01:01:01:02N,A*02:01", "A*01:01:01:01,A*02:01")
    assert (lm.gvh_mismatches, lm.hvg_mismatches) == (0, 1)  # recipient lacks A1: HvG only
    assert lm.level == "antigen"
    lm = locus("A*01:01,A*02:01", "A*01:01:01:02N,A*02:01")
    assert (lm.gvh_mismatches, lm.hvg_mismatches) == (1, 0)
    assert locus("A*01:01:01:02N,A*02:01", "A*01:01:01:02N,A*02:01").level == "match"


@pytest.mark.parametrize(
    ("recipient", "donor", "gvh", "hvg"),
    [
        ("A*01:01,A*02:01", "A*01:01,A*03:01", 1, 1),  # both heterozygous: bidirectional
        ("A*01:01,A*02:01", "A*01:01", 1, 0),  # donor homozygous: GvH only
        ("A*01:01", "A*01:01,A*02:01", 0, 1),  # recipient homozygous: HvG only
        ("A*01:01", "A*02:01", 2, 2),
    ],
)
def test_direction_and_homozygosity_rule(recipient, donor, gvh, hvg):
    # clinical.md §1.4 (NMDP dpb1-expression _determine_directionality)
    lm = locus(recipient, donor)
    assert (lm.gvh_mismatches, lm.hvg_mismatches, lm.mismatches) == (gvh, hvg, max(gvh, hvg))


def test_grade_counts_the_larger_direction():
    donor = FULL.replace("A*01:01,A*02:01", "A*01:01")
    result = match(FULL, donor, ref())
    assert result.grade_8 == "7/8"
    assert (result.gvh_mismatches_8, result.hvg_mismatches_8) == (1, 0)


def test_serology_broad_and_split():
    assert locus("B15,B8", "B*15:01,B*08:01").level == "match"  # B15 ⊃ B62
    assert locus("B15,B8", "B*15:01,B*08:01").ambiguous
    assert locus("B62,B8", "B*15:02,B*08:01").level == "antigen"
    assert locus("DR15,DR3", "DRB1*15:01,DRB1*03:01").level == "match"


def test_ambiguous_typing_matches_if_any_candidate_matches_and_says_so():
    lm = locus("A*02:01/02:06,A*01:01", "A*02:01,A*01:01")
    assert lm.level == "match" and lm.ambiguous


def test_loci_not_typed_on_both_sides_are_not_invented():
    result = match(FULL, "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02", ref())
    assert result.grade_8 is None and result.grade_10 is None and result.grade_12 is None
    assert result.not_compared == ("DRB1", "DQB1", "DPB1")
    assert result.dpb1_tce == "unknown"
    assert result.to_dict()["grade_8"] is None


def test_unknown_allele_suggests_the_closest_name():
    with pytest.raises(UnknownAlleleError, match=r"did you mean 'A\*02:11'"):
        match("A*02:011", "A*02:01", ref())


def test_deleted_allele_says_so():
    with pytest.raises(UnknownAlleleError, match="deleted"):
        match("A*01:34N", "A*01:01", ref())


def test_unknown_group_antigen_and_locus():
    with pytest.raises(UnknownAlleleError, match="group"):
        match("A*99:99:99G", "A*01:01", ref())
    with pytest.raises(UnknownNameError, match="antigen"):
        match("A999", "A*01:01", ref())
    with pytest.raises(UnknownNameError, match="locus"):
        match("XYZ*01:01", "A*01:01", ref())
    with pytest.raises(UnknownAlleleError):  # typed on one side only is still validated
        match("A*01:01", "B*99:98", ref())
    with pytest.raises(UnknownAlleleError):
        match("B*99:98", "A*01:01", ref())


@pytest.mark.parametrize(
    ("recipient", "donor", "expected"),
    [  # NMDP dpb1-expression tests/features/algorithm/dpb1-tce-matching.feature
        ("03:01+40:01", "03:01+40:01", "match"),
        ("03:01+40:01", "08:01+40:01", "permissive"),
        ("08:01+40:01", "40:01+40:01", "nonpermissive_gvh"),
        ("04:01+40:01", "03:01+40:01", "nonpermissive_hvg"),
    ],
)
def test_nmdp_tce_vectors(recipient, donor, expected):
    def gl(text):
        return "+".join(f"DPB1*{a}" for a in text.split("+"))

    assert match(gl(recipient), gl(donor), ref()).dpb1_tce == expected


def test_tce_groups_from_file():
    # V2 with '$' and 'a' stripped: 03:01 → 2, 04:01 → 3, 40:01 → 3$, 08:01 → 2a$
    tce = ref().tce
    assert (tce["DPB1*03:01:01:01"], tce["DPB1*04:01:01:01"]) == (2, 3)
    assert (tce["DPB1*40:01:01:01"], tce["DPB1*08:01"]) == (3, 2)


ATLAS = {  # donor row → patient column; P / G (GvH) / H (HvG); clinical.md §1.5
    (1, 1): "PPPHHH",
    (1, 2): "PPPHHH",
    (1, 3): "PPPHHH",
    (2, 2): "GGGPPH",
    (2, 3): "GGGPPH",
    (3, 3): "GGGGGP",
}
PATIENTS = [(1, 1), (1, 2), (1, 3), (2, 2), (2, 3), (3, 3)]
CODE = {"P": "permissive", "G": "nonpermissive_gvh", "H": "nonpermissive_hvg"}


@pytest.mark.parametrize("donor", list(ATLAS))
def test_atlas_6x6_table(donor):
    for patient, code in zip(PATIENTS, ATLAS[donor], strict=True):
        assert tce_category(patient, donor) == CODE[code]
        assert tce_category(patient[::-1], donor[::-1]) == CODE[code]


def test_tce_unknown_cases():
    assert tce_category((2, None), (2, 3)) == "unknown"
    assert tce_category((), (2, 3)) == "unknown"
    assert tce_category((0, 2), (2, 3)) == "unknown"


@pytest.mark.parametrize(("text", "expected"), [("7/8", (7, 8)), (" 10 / 10 ", (10, 10))])
def test_parse_grade(text, expected):
    assert parse_grade(text) == expected


@pytest.mark.parametrize("text", ["7-8", "9/8", "5/7", "", "x/8"])
def test_parse_grade_rejects(text):
    with pytest.raises(InputError):
        parse_grade(text)
