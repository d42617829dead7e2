"""Cord blood unit selection (clinical.md §3.3): dose per kg, HLA screen, flags, double units.

tests/data/cord_units.csv is synthetic; with a 70 kg recipient the doses per kg are:
CB-88-big TNC 4.0e7 CD34 2.0e5 (single OK); CB-78 2.1e7/1.3e5; CB-88-small 1.7e7/1.1e5;
CB-48 4.3e7/2.9e5 (4/8, C mismatch); CB-lowcd34 3.6e7/7.1e4 (dropped: CD34 < 1e5);
CB-tiny 1.3e7/unknown (dropped: TNC <= 1.5e7).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hla_support import hla_data_dir
from marrowsim.cli import main
from marrowsim.errors import InputError

DATA = Path(__file__).parent / "data"
RECIPIENT = "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01"


pytestmark = [
    pytest.mark.hla,
    pytest.mark.skipif(
        hla_data_dir() is None,
        reason="IPD-IMGT/HLA release not found: set MARROWSIM_HLA_DATA (see docs/hla.md)",
    ),
]


def select(capsys, *extra, units=DATA / "cord_units.csv"):
    args = ["cord-select", "--recipient", RECIPIENT, "--units", str(units), "--weight-kg", "70"]
    code = main([*args, *extra, "--hla-data", str(hla_data_dir())])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_ranking_best_hla_then_tnc_with_exclusions(capsys):
    code, out, _ = select(capsys, "--json", "--double")
    assert code == 0
    d = json.loads(out)
    units = {u["unit_id"]: u for u in d["units"]}
    order = [u["unit_id"] for u in d["units"]]
    assert order == ["CB-88-big", "CB-88-small", "CB-78", "CB-48", "CB-lowcd34", "CB-tiny"]
    assert units["CB-88-big"]["single_dose_ok"] and not units["CB-88-big"]["excluded"]
    assert units["CB-88-big"]["tnc_per_kg"] == pytest.approx(4.0e7)
    assert not units["CB-78"]["single_dose_ok"] and units["CB-78"]["double_dose_ok"]
    assert units["CB-lowcd34"]["excluded"] and units["CB-tiny"]["excluded"]
    assert any("HLA-C mismatch" in f for f in units["CB-48"]["flags"])
    assert any("more than 2/8" in f for f in units["CB-48"]["flags"])
    assert any("CD34 unknown" in f for f in units["CB-tiny"]["flags"])
    assert d["double_unit_pairs"][0]["units"] == ["CB-88-big", "CB-88-small"]
    assert all("CB-lowcd34" not in p["units"] for p in d["double_unit_pairs"])


def test_non_malignant_dose_rule(capsys):
    code, out, _ = select(capsys, "--json", "--diagnosis", "non-malignant")
    units = {u["unit_id"]: u for u in json.loads(out)["units"]}
    assert code == 0 and not units["CB-88-big"]["single_dose_ok"]  # 4.0e7 <= 5.0e7
    assert units["CB-48"]["single_dose_ok"] is False  # 4.3e7 <= 5.0e7 too


def test_table_output(capsys):
    code, out, _ = select(capsys, "--double")
    assert code == 0 and "CB-88-big" in out and "double-unit pairs" in out


def test_per_kg_columns(tmp_path, capsys):
    path = tmp_path / "u.csv"
    path.write_text(f'unit_id,hla,tnc_per_kg,cd34_per_kg\nU1,"{RECIPIENT}",3.5e7,2e5\n')
    code, out, _ = select(capsys, "--json", units=path)
    unit = json.loads(out)["units"][0]
    assert code == 0 and unit["tnc_per_kg"] == 3.5e7 and unit["single_dose_ok"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("unit_id,hla,cd34\nU1,A*01:01,1e7\n", "needs a TNC column"),
        ("unit_id,hla,tnc\nU1,A*01:01,\n", "TNC missing"),
        ("unit_id,hla,tnc\nU1,A*01:01,1e9\nU1,A*01:01,1e9\n", "duplicate unit_id"),
        ("unit_id,hla,tnc\nU1,A*01:0x,1e9\n", "line 2 (unit 'U1')"),
        ("unit_id,tnc\nU1,1e9\n", "missing column(s) hla"),
    ],
)
def test_unit_csv_errors(tmp_path, capsys, content, fragment):
    path = tmp_path / "u.csv"
    path.write_text(content)
    code, _, err = select(capsys, units=path)
    assert code == 2 and fragment in err


def test_bad_weight_and_diagnosis(capsys):
    from marrowsim.clinical.cord import read_units
    from marrowsim.clinical.hla import load_reference

    ref = load_reference(hla_data_dir())
    with pytest.raises(InputError, match="weight must be > 0"):
        read_units(DATA / "cord_units.csv", RECIPIENT, ref, weight_kg=0)
    code, _, err = select(capsys, "--diagnosis", "malignent")
    assert code == 2 and "did you mean 'malignant'" in err


def test_unit_without_full_typing_is_excluded():
    from marrowsim.clinical.cord import evaluate_unit
    from marrowsim.clinical.hla import load_reference, match

    result = match(RECIPIENT, "A*01:01,A*02:01", load_reference(hla_data_dir()))
    unit = evaluate_unit("U", result, 4e7, 2e5)
    assert unit.excluded and "grade_8 unknown" in unit.flags[0]
