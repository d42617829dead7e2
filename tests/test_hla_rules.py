"""The remaining HLA rules of clinical.md §1, one test each, on IPD-IMGT/HLA 3.58.0.

§1.1 serological equivalents from rel_dna_ser.txt (the table of five lines; nulls carry 0, DPB1
has ``?``), rel_ser_ser.txt broad/split (A9 ⊃ A23/A24, DR2 ⊃ DR15/DR16), a 7th column
(py-ard: HATS, release >= 3.64.0) tolerated; §1.2 grades 6/6 (cord convention: A, B antigen, DRB1
allele), 10/10 and 12/12; §1.3 field-1 fallback only where no antigen is assigned; §1.4 a single
null allele counts as homozygous for the expressed one (Atlas), also for TCE; §1.5 file encoding
(0 for nulls). Plus one-line exit-2 errors of ``simulate`` and ``match`` for malformed input.
"""

from __future__ import annotations

import functools
import shutil

import pytest

from hla_support import hla_data_dir, needs_data
from marrowsim.cli import main
from marrowsim.clinical.hla import load_reference, match

FULL = (
    "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01 "
    "DQB1*02:01,DQB1*06:02 DPB1*03:01,DPB1*40:01"
)


@functools.cache
def ref():
    return load_reference(hla_data_dir(), cache=False)


@needs_data
@pytest.mark.parametrize(
    ("allele", "antigens"),
    [
        ("B*15:01:01:01", {"62"}),
        ("B*15:02:01:01", {"75"}),
        ("DRB1*14:54:01:01", {"14"}),
        ("C*07:01:01:01", {"7"}),
        ("DPB1*04:01:01:01", set()),  # '?': no antigen
        ("A*01:01:01:02N", set()),  # nulls carry 0
    ],
)
def test_serological_equivalents_from_rel_dna_ser(allele, antigens):
    assert ref().serology[allele] == frozenset(antigens)


@needs_data
def test_broad_and_split_antigens_from_rel_ser_ser():
    assert {"23", "24"} <= ref().splits[("A", "9")]
    assert {"15", "16"} <= ref().splits[("DR", "2")]
    assert {"62", "63", "75", "76", "77"} <= ref().splits[("B", "15")]
    assert match("A9,A1", "A*24:02,A*01:01", ref()).loci[0].level == "match"


@needs_data
def test_a_seventh_rel_dna_ser_column_is_tolerated(tmp_path):
    src = hla_data_dir()
    for f in src.iterdir():
        if f.is_file():
            shutil.copyfile(f, tmp_path / f.name)
    lines = (src / "rel_dna_ser.txt").read_text().splitlines()
    seven = [ln if ln.startswith("#") else ln + ";HATS" for ln in lines]
    (tmp_path / "rel_dna_ser.txt").write_text("\n".join(seven) + "\n")
    widened = load_reference(tmp_path, cache=False)
    for allele in ("B*15:01:01:01", "DRB1*14:54:01:01", "A*02:55"):
        assert widened.serology.get(allele) == ref().serology.get(allele)


@needs_data
def test_grades_6_10_and_12():
    # A*02:06 for A*02:01 is an allele mismatch within antigen A2: 7/8 but 6/6 (cord convention)
    allele_a = FULL.replace("A*02:01", "A*02:06")
    r = match(FULL, allele_a, ref())
    assert (r.grade_6, r.grade_8, r.grade_10, r.grade_12) == ("6/6", "7/8", "9/10", "11/12")
    # a DRB1 allele mismatch counts in the 6/6 grade (DRB1 at allele level)
    drb1 = FULL.replace("DRB1*15:01", "DRB1*15:02")
    assert match(FULL, drb1, ref()).grade_6 == "5/6"
    # DQB1 and DPB1 only enter the 10- and 12-allele grades
    dq = FULL.replace("DQB1*06:02", "DQB1*06:03")
    r = match(FULL, dq, ref())
    assert (r.grade_8, r.grade_10, r.grade_12) == ("8/8", "9/10", "11/12")
    dp = FULL.replace("DPB1*03:01", "DPB1*04:01")
    r = match(FULL, dp, ref())
    assert (r.grade_10, r.grade_12) == ("10/10", "11/12")


@needs_data
def test_field_1_is_a_fallback_only_without_an_assigned_antigen():
    # DPB1 has no serology ('?'): same field 1 -> allele level, different -> antigen level
    assert match("DPB1*04:01,DPB1*03:01", "DPB1*04:02,DPB1*03:01", ref()).loci[0].level == (
        "allele"
    )
    assert match("DPB1*04:01,DPB1*03:01", "DPB1*02:01,DPB1*03:01", ref()).loci[0].level == (
        "antigen"
    )


@needs_data
def test_single_null_allele_counts_as_homozygous_for_the_expressed_one():
    # DPB1*61:01N expresses nothing: the typing counts as DPB1*03:01 homozygous (Atlas rule)
    lm = match("DPB1*03:01,DPB1*61:01N", "DPB1*03:01,DPB1*04:01", ref()).loci[0]
    assert (lm.gvh_mismatches, lm.hvg_mismatches) == (0, 1)
    r = match("DPB1*03:01,DPB1*61:01N", "DPB1*03:01,DPB1*04:01", ref())
    assert r.dpb1_tce_groups == ((2, 2), (2, 3))
    assert r.dpb1_tce == "permissive"  # lowest groups 2 vs 2


@needs_data
def test_tce_file_encodes_null_alleles_as_zero():
    tce = ref().tce
    assert tce["DPB1*61:01N"] == 0 and tce["DPB1*04:01:01:24N"] == 0


@pytest.mark.parametrize("weight", ["0", "-5", "600"])
def test_simulate_refuses_impossible_weights_in_one_line(tmp_path, capsys, weight):
    path = tmp_path / "w.toml"
    path.write_text(f'name = "w"\n[patient]\nage_years = 40\nweight_kg = {weight}\nsex = "male"\n')
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "weight_kg" in err[0]


@needs_data
@pytest.mark.parametrize("typing", ["A*01:01,,A*02:01", "A*02:AB", "HLA-A*01:01~HLA-B*08:01"])
def test_match_refuses_malformed_typings_in_one_line(capsys, typing):
    assert main(["match", "--recipient", typing, "--donor", "A*01:01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("marrowsim: error: ")
