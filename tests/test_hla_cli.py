"""``marrowsim match`` (single donor and donor ranking) and ``marrowsim hla info``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hla_support import hla_data_dir
from marrowsim.cli import main

DATA = Path(__file__).parent / "data"


pytestmark = [
    pytest.mark.hla,
    pytest.mark.skipif(
        hla_data_dir() is None,
        reason="IPD-IMGT/HLA release not found: set MARROWSIM_HLA_DATA (see docs/hla.md)",
    ),
]

RECIPIENT = (
    "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01 "
    "DQB1*02:01,DQB1*06:02 DPB1*03:01,DPB1*40:01"
)


def run(args, capsys):
    code = main([*args, "--hla-data", str(hla_data_dir())])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_match_json(capsys):
    donor = RECIPIENT.replace("B*08:01,B*07:02", "B*08:01")
    code, out, _ = run(["match", "--recipient", RECIPIENT, "--donor", donor, "--json"], capsys)
    assert code == 0
    d = json.loads(out)
    assert (d["grade_8"], d["grade_10"], d["grade_12"]) == ("7/8", "9/10", "11/12")
    assert d["loci"]["B"]["gvh_mismatches"] == 1 and d["loci"]["B"]["hvg_mismatches"] == 0
    assert d["loci"]["B"]["level"] == "antigen"
    assert d["dpb1_tce"] == "match" and d["release"] == "3.58.0"


def test_match_table_credits_the_release(capsys):
    code, out, _ = run(["match", "--recipient", RECIPIENT, "--donor", RECIPIENT], capsys)
    assert code == 0
    assert "grade_8 8/8" in out and "IPD-IMGT/HLA release 3.58.0" in out and "Barker" in out


def test_match_bad_allele_is_one_line_exit_2(capsys):
    code, _, err = run(["match", "--recipient", "A*02:011", "--donor", "A*02:01"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "did you mean" in err


def test_match_needs_exactly_one_donor_option(capsys):
    code, _, err = run(["match", "--recipient", RECIPIENT], capsys)
    assert code == 2 and "exactly one of --donor" in err


def test_donor_ranking(capsys):
    args = ["match", "--recipient", RECIPIENT, "--donors", str(DATA / "hla_donors.csv")]
    code, out, _ = run([*args, "--json"], capsys)
    assert code == 0
    donors = json.loads(out)["donors"]
    assert [d["donor_id"] for d in donors] == ["D-young-88", "D-old-88", "D-88-nonperm", "D-78"]
    assert donors[2]["dpb1_tce"] == "nonpermissive_gvh" and donors[3]["grade_8"] == "7/8"
    code, out, _ = run(args, capsys)
    assert code == 0 and "D-young-88" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("donor_id,typing\nD1,A*01:01\n", "missing column(s) hla"),
        ("donor_id,hla\nD1,A*01:01\nD2,A*2:01\n", "line 3 (donor 'D2')"),
        ("donor_id,hla\nD1,A*01:01\nD1,A*01:01\n", "duplicate donor_id"),
        ("donor_id,hla\n,A*01:01\n", "empty donor_id"),
        ("donor_id,hla,age_years\nD1,A*01:01,old\n", "age_years = 'old' is not a number"),
        ("donor_id,hla,age_years\nD1,A*01:01,-3\n", "must be a number >= 0"),
        ("donor_id,hla\n", "no donor rows"),
    ],
)
def test_donor_csv_errors(tmp_path, capsys, content, fragment):
    path = tmp_path / "donors.csv"
    path.write_text(content)
    code, _, err = run(["match", "--recipient", RECIPIENT, "--donors", str(path)], capsys)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


def test_missing_donor_file(capsys, tmp_path):
    code, _, err = run(
        ["match", "--recipient", RECIPIENT, "--donors", str(tmp_path / "x.csv")], capsys
    )
    assert code == 2 and "not found" in err


def test_hla_info(capsys):
    code, out, _ = run(["hla", "info", "--json"], capsys)
    d = json.loads(out)
    assert code == 0 and d["release"] == "3.58.0" and len(d["citations"]) == 3
    code, out, _ = run(["hla", "info"], capsys)
    assert code == 0 and "Tissue Antigens" in out


def test_match_answers_quickly_once_cached(capsys):
    import time

    run(["match", "--recipient", RECIPIENT, "--donor", RECIPIENT, "--json"], capsys)
    start = time.perf_counter()
    run(["match", "--recipient", RECIPIENT, "--donor", RECIPIENT, "--json"], capsys)
    assert time.perf_counter() - start < 1.0
