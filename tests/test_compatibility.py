"""Donor compatibility for the model: ``mismatch_summary`` by each path, and scenario validation
of HLA keys (clinical.md §1; docs/hla.md "Scenario keys").

Typing paths need the IPD-IMGT/HLA release (MARROWSIM_HLA_DATA or ../shared/data/imgt-hla) and
are skipped with a reason without it; grade and default paths need no data.
"""

from __future__ import annotations

import time

import pytest

from hla_support import needs_data
from marrowsim.cli import main
from marrowsim.clinical import compatibility
from marrowsim.clinical.compatibility import mismatch_summary, validate_typing
from marrowsim.errors import DataNotFoundError, ScenarioError
from marrowsim.scenario import scenario_from_mapping

RECIPIENT = "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01"
# A*02:06 for A*02:01 (same antigen A2: allele mismatch both ways) and a C*07:01 homozygote
# (the recipient's C*07:02 is foreign to the donor: GvH only) -> GvH 2, HvG 1, grade 6/8
DONOR = "A*01:01,A*02:06 B*08:01,B*07:02 C*07:01 DRB1*03:01,DRB1*15:01"


def scenario(donor: dict, patient_hla: str | None = None, graft: dict | None = None):
    patient = {"age_years": 40, "weight_kg": 70, "sex": "female", "diagnosis": "AML"}
    if patient_hla is not None:
        patient["hla"] = patient_hla
    cord = donor["relation"] == "cord"
    graft = graft or {
        "source": "cord_blood" if cord else "peripheral_blood",
        **({"units": [{"tnc_per_kg": 3e7, "cd34_per_kg": 2e5}]} if cord else {}),
        **({} if cord else {"cd34_per_kg": 5e6}),
    }
    return scenario_from_mapping(
        {"name": "t", "patient": patient, "donor": donor, "graft": graft}, where="t.toml"
    )


@pytest.fixture
def no_hla_data(monkeypatch, tmp_path):
    monkeypatch.setenv("MARROWSIM_HLA_DATA", str(tmp_path / "absent"))


# --- defaults by relation and grades (no reference data needed) ------------------------------


def test_autologous_has_no_disparity(no_hla_data):
    s = mismatch_summary(scenario({"relation": "autologous"}))
    assert (s.origin, s.gvh_mismatches_8, s.hvg_mismatches_8, s.mismatches_8) == (
        "autologous",
        0,
        0,
        0,
    )
    assert s.grade_8 is None and not s.allogeneic


def test_matched_sibling_defaults_to_8_of_8(no_hla_data):
    s = mismatch_summary(scenario({"relation": "matched_sibling"}))
    assert (s.origin, s.grade_8, s.gvh_mismatches_8, s.hvg_mismatches_8) == (
        "relation_default",
        "8/8",
        0,
        0,
    )


def test_haploidentical_defaults_to_4_of_8_both_directions(no_hla_data):
    s = mismatch_summary(scenario({"relation": "haploidentical"}))
    assert (s.grade_8, s.gvh_mismatches_8, s.hvg_mismatches_8, s.mismatches_8) == ("4/8", 4, 4, 4)


@pytest.mark.parametrize(
    ("grade", "mismatches", "field"),
    [
        ("7/8", 1, "grade_8"),
        ("6/8", 2, "grade_8"),
        ("9/10", 1, "grade_10"),
        ("10/12", 1, "grade_12"),
    ],
)
def test_grade_given_directly_needs_no_reference_data(no_hla_data, grade, mismatches, field):
    s = mismatch_summary(scenario({"relation": "unrelated", "hla_match": grade}))
    assert s.origin == "grade"
    assert s.gvh_mismatches_8 == s.hvg_mismatches_8 == s.mismatches_8 == mismatches
    assert getattr(s, field) == grade
    assert "both directions" in s.detail
    if not grade.endswith("/8"):
        assert "spread evenly" in s.detail and s.grade_8 is None


def test_unrelated_donor_without_grade_or_typing_is_refused(no_hla_data):
    with pytest.raises(ScenarioError, match=r'needs the HLA match: hla_match = "8/8"') as info:
        scenario({"relation": "unrelated"})
    assert "\n" not in str(info.value) and str(info.value).startswith("t.toml: ")


def test_cord_units_report_the_worst_unit(no_hla_data):
    units = [
        {"tnc_per_kg": 2e7, "cd34_per_kg": 1.5e5, "hla_match": "5/6"},
        {"tnc_per_kg": 2e7, "cd34_per_kg": 1.2e5, "hla_match": "4/6"},
    ]
    s = mismatch_summary(
        scenario({"relation": "cord"}, graft={"source": "cord_blood", "units": units})
    )
    assert s.origin == "cord_units" and len(s.units) == 2
    assert [u.grade_6 for u in s.units] == ["5/6", "4/6"]
    assert s.grade_6 == "4/6" and s.mismatches_8 == 3  # round(2 × 8 / 6)
    assert s.to_dict()["units"][1]["grade_6"] == "4/6"


def test_cord_unit_falls_back_to_the_donor_grade_and_needs_one(no_hla_data):
    s = mismatch_summary(scenario({"relation": "cord", "hla_match": "6/8"}))
    assert s.mismatches_8 == 2 and s.units[0].grade_8 == "6/8"
    with pytest.raises(ScenarioError, match=r"units\[1\]: a cord unit needs its HLA match"):
        scenario({"relation": "cord"})


def test_scenario_without_donor_has_no_summary(no_hla_data):
    sc = scenario_from_mapping(
        {"name": "h", "patient": {"age_years": 30, "weight_kg": 70, "sex": "male"}}
    )
    with pytest.raises(ScenarioError, match="no \\[donor\\] section"):
        mismatch_summary(sc)


# --- typings (reference data) ---------------------------------------------------------------


@needs_data
def test_typings_give_directional_counts_grades_and_release():
    s = mismatch_summary(scenario({"relation": "unrelated", "hla": DONOR}, RECIPIENT))
    assert s.origin == "typing"
    assert (s.gvh_mismatches_8, s.hvg_mismatches_8, s.mismatches_8) == (2, 1, 2)
    assert s.grade_8 == "6/8" and s.grade_10 is None and s.release == "3.58.0"
    assert s.dpb1_tce == "unknown"  # DPB1 not typed


@needs_data
def test_typings_win_over_relation_default_and_give_dpb1_tce():
    rec = RECIPIENT + " DPB1*03:01,DPB1*40:01"
    don = RECIPIENT + " DPB1*08:01,DPB1*40:01"  # TCE 2+3 vs 2+3: permissive (clinical.md §1.5)
    s = mismatch_summary(scenario({"relation": "matched_sibling", "hla": don}, rec))
    assert (s.origin, s.grade_8, s.dpb1_tce) == ("typing", "8/8", "permissive")
    assert s.grade_12 is None  # DQB1 untyped: the 12-allele grade is not invented


@needs_data
def test_typings_and_grade_must_agree():
    ok = scenario({"relation": "unrelated", "hla": DONOR, "hla_match": "6/8"}, RECIPIENT)
    assert mismatch_summary(ok).origin == "typing"
    with pytest.raises(ScenarioError, match=r"hla_match '7/8' disagrees with the typings") as e:
        scenario({"relation": "unrelated", "hla": DONOR, "hla_match": "7/8"}, RECIPIENT)
    assert "6/8" in str(e.value) and "\n" not in str(e.value)


@needs_data
def test_incomplete_typings_need_a_grade():
    partial = "A*01:01,A*02:01 B*08:01,B*07:02 DRB1*03:01,DRB1*15:01"
    with pytest.raises(ScenarioError, match="do not cover C on both sides"):
        scenario({"relation": "unrelated", "hla": partial}, partial)
    s = mismatch_summary(
        scenario({"relation": "unrelated", "hla": partial, "hla_match": "8/8"}, partial)
    )
    assert s.origin == "grade"


@needs_data
def test_cord_unit_typing_is_matched_against_the_patient():
    units = [{"tnc_per_kg": 3e7, "cd34_per_kg": 2e5, "hla": DONOR}]
    s = mismatch_summary(
        scenario({"relation": "cord"}, RECIPIENT, {"source": "cord_blood", "units": units})
    )
    assert s.units[0].origin == "typing" and s.grade_8 == "6/8" and s.gvh_mismatches_8 == 2


@needs_data
def test_summary_is_cached_and_fast():
    sc = scenario({"relation": "unrelated", "hla": DONOR}, RECIPIENT)
    mismatch_summary(sc)
    hits = compatibility._match.cache_info().hits
    start = time.perf_counter()
    for _ in range(500):
        mismatch_summary(sc)
    assert time.perf_counter() - start < 1.0
    assert compatibility._match.cache_info().hits >= hits + 500


# --- validation at scenario load ------------------------------------------------------------


@needs_data
@pytest.mark.parametrize(
    ("typing", "fragment"),
    [
        ("A*01:01,A*02:9999", "unknown HLA name"),
        ("A*01:01,,A*02:01 B*08:01", "HLA"),
        ("A*02:AB", "MAC"),
    ],
)
def test_bad_patient_typing_fails_at_load_in_one_line(typing, fragment):
    with pytest.raises(ScenarioError, match=fragment) as info:
        scenario({"relation": "matched_sibling"}, typing)
    message = str(info.value)
    assert message.startswith("t.toml: patient.hla: ") and "\n" not in message


@needs_data
def test_bad_donor_typing_suggests_the_closest_name():
    with pytest.raises(ScenarioError, match=r"donor\.hla: unknown HLA name .*did you mean"):
        scenario({"relation": "unrelated", "hla": "A*01:01,A*02:011"}, RECIPIENT)


def test_typing_without_reference_data_says_how_to_get_it(no_hla_data):
    with pytest.raises(DataNotFoundError, match="marrowsim hla download") as info:
        scenario({"relation": "matched_sibling"}, RECIPIENT)
    assert "[patient] hla" in str(info.value) and "MARROWSIM_HLA_DATA" in str(info.value)
    with pytest.raises(DataNotFoundError):
        validate_typing(DONOR, where="[donor] hla")


def test_malformed_typing_is_refused_even_without_data(no_hla_data):
    with pytest.raises(ScenarioError, match=r"patient\.hla"):
        scenario({"relation": "matched_sibling"}, "A*01:01,A*02:01,A*03:01")


def test_cli_exit_2_one_line_for_hla_errors(no_hla_data, tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(
        'name = "s"\n[patient]\nage_years = 40\nweight_kg = 70\nsex = "male"\n'
        f'hla = "{RECIPIENT}"\n[donor]\nrelation = "matched_sibling"\n'
        '[graft]\nsource = "peripheral_blood"\ncd34_per_kg = 5e6\n'
    )
    assert main(["simulate", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "marrowsim hla download" in err[0]
    path.write_text(
        path.read_text()
        .replace('relation = "matched_sibling"', 'relation = "unrelated"')
        .replace(f'hla = "{RECIPIENT}"\n', "")
    )
    assert main(["simulate", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs the HLA match" in err[0]
