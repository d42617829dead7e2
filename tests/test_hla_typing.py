"""HLA typing parser: WHO names, G/P groups, suffixes, ambiguity, serology, GL Strings.

Nomenclature per clinical.md §1.1 (hla.alleles.org naming pages). No reference data needed.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marrowsim.clinical.hla import HlaTypingError, parse_name, parse_typing
from marrowsim.errors import InputError

RECIPIENT = "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01"


def test_whitespace_format_and_gl_string_agree():
    gl = (
        "HLA-A*01:01+HLA-A*02:01^HLA-B*08:01+HLA-B*07:02^HLA-C*07:01+HLA-C*07:02"
        "^HLA-DRB1*03:01+HLA-DRB1*15:01"
    )
    assert parse_typing(gl) == parse_typing(RECIPIENT)
    assert parse_typing(RECIPIENT).typed_loci == ("A", "B", "C", "DRB1")


def test_semicolons_homozygous_and_locus_order():
    typing = parse_typing("DRB1*15:01; A*01:01;B*08:01,B*07:02")
    assert typing.typed_loci == ("A", "B", "DRB1")
    a = typing.get("A")
    assert a is not None and a.homozygous and str(a) == "A*01:01"
    assert "C" not in typing


def test_space_separated_alleles_of_one_locus_merge():
    assert parse_typing("A*01:01 A*02:01") == parse_typing("A*01:01,A*02:01")


@pytest.mark.parametrize(
    ("text", "kind", "locus", "suffix"),
    [
        ("A*02:01:01:01", "allele", "A", ""),
        ("HLA-A*01:01:01:02N", "allele", "A", "N"),
        ("A*01:01:38L", "allele", "A", "L"),
        ("a*01:01:01g", "g_group", "A", ""),
        ("A*01:01P", "p_group", "A", ""),
        ("DPB1*1627:01", "allele", "DPB1", ""),
    ],
)
def test_allele_names(text, kind, locus, suffix):
    name = parse_name(text)
    assert (name.kind, name.locus, name.suffix) == (kind, locus, suffix)
    assert parse_name(str(name)) == name


@pytest.mark.parametrize(
    ("text", "locus", "antigen", "spelled"),
    [
        ("A2", "A", "2", "A2"),
        ("HLA-B62", "B", "62", "B62"),
        ("Cw7", "C", "7", "Cw7"),
        ("DR15", "DRB1", "15", "DR15"),
        ("DQ6", "DQB1", "6", "DQ6"),
        ("DR52", "DRB3", "52", "DR52"),
    ],
)
def test_serology_names(text, locus, antigen, spelled):
    name = parse_name(text)
    assert (name.kind, name.locus, name.antigen) == ("serology", locus, antigen)
    assert str(name) == spelled
    assert parse_name(str(name)) == name


def test_ambiguity_inherits_the_locus_and_round_trips():
    typing = parse_typing("A*02:01/02:06,A*01:01")
    a = typing.get("A")
    assert a is not None
    assert [n.text for n in a.positions[0].names] == ["A*02:01", "A*02:06"]
    assert str(typing) == "A*02:01/02:06,A*01:01"
    assert parse_typing(typing.to_gl_string()) == typing


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("A*2:01", "malformed HLA name 'A*2:01'"),
        ("A*02:AB", "MAC code"),
        ("A*01:01,A*02:01,A*03:01", "at most 2"),
        ("A*01:01,B*08:01", "different loci"),
        ("   ", "empty HLA typing"),
        ("A*01:01+A*02:01|A*03:01", "'|'"),
        ("A*01:01~B*08:01", "'~'"),
        ("A*01:01/B*08:01", "mixes loci"),
        ("A*01:01/", "empty name"),
        ("A*01:01,,A*02:01", "empty allele"),
        ("A*01:01 A*02:01 A*03:01", "at most 2"),
    ],
)
def test_malformed_typings_raise_input_errors_with_examples(text, fragment):
    with pytest.raises(HlaTypingError) as info:
        parse_typing(text)
    assert isinstance(info.value, InputError)
    assert fragment in str(info.value)
    assert "Accepted typings look like" in str(info.value)


def test_parse_typing_passes_typed_objects_through():
    typing = parse_typing(RECIPIENT)
    assert parse_typing(typing) is typing


_field = st.integers(min_value=1, max_value=999).map(lambda i: f"{i:02d}")
_allele = st.builds(
    lambda locus, fields, suffix: f"{locus}*{':'.join(fields)}{suffix}",
    st.sampled_from(["A", "B", "C", "DRB1", "DQB1", "DPB1"]),
    st.lists(_field, min_size=2, max_size=4),
    st.sampled_from(["", "", "N", "L", "Q"]),
)


@given(st.lists(st.tuples(_allele, _allele), min_size=1, max_size=6))
def test_round_trip_property(pairs):
    # keep one pair per locus (a locus given twice with two alleles each is an error)
    by_locus = {}
    for a, b in pairs:
        by_locus.setdefault(a.split("*")[0], f"{a},{a.split('*')[0]}*{b.split('*')[1]}")
    text = " ".join(by_locus.values())
    typing = parse_typing(text)
    assert parse_typing(str(typing)) == typing
    assert parse_typing(typing.to_gl_string()) == typing
