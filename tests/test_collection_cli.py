"""``marrowsim collect``: output contracts and one-line input errors (exit code 2)."""

import json

import pytest

from marrowsim.cli import main

STEPS = [
    "Filgrastim 10 ug/kg SC daily on days 1 to 4",
    "Plerixafor 0.24 mg/kg SC on day 4",
    "Apheresis 20 L on days 5 to 6",
]


def _scenario(tmp_path, steps=STEPS, weight=80, diagnosis="myeloma", extra=""):
    lines = ",\n".join(f'  "{s}"' for s in steps)
    text = f"""name = "t"
[patient]
age_years = 60
weight_kg = {weight}
height_cm = 170
sex = "male"
diagnosis = "{diagnosis}"
[mobilization]
steps = [
{lines}
]
target_cd34_per_kg = 6e6
max_aphereses = 2
{extra}"""
    path = tmp_path / "s.toml"
    path.write_text(text)
    return str(path)


def _json(capsys, argv):
    code = main(argv)
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("\n") == 1
    return json.loads(out)


def test_single_patient_contract(capsys):
    got = _json(capsys, ["collect", "mobilization-myeloma-plerixafor", "--json", "--seed", "3"])
    assert set(got) == {
        "day",
        "pb_cd34_per_ul",
        "aphereses",
        "cumulative_cd34_per_kg",
        "target_reached",
    }
    assert got["day"] == [1, 2, 3, 4, 5, 6]
    assert len(got["pb_cd34_per_ul"]) == 6
    for a in got["aphereses"]:
        assert set(a) == {"day", "volume_l", "cd34_per_kg"}
        assert isinstance(a["day"], int) and a["volume_l"] == 20.0
    total = sum(a["cd34_per_kg"] for a in got["aphereses"])
    assert got["cumulative_cd34_per_kg"] == pytest.approx(total)
    assert got["target_reached"] == (total >= 6e6)
    if got["target_reached"] and len(got["aphereses"]) == 2:
        assert got["aphereses"][0]["cd34_per_kg"] < 6e6  # stopped only when reached


def test_seed_is_reproducible(capsys):
    a = _json(capsys, ["collect", "mobilization-healthy-donor", "--json", "--seed", "5"])
    b = _json(capsys, ["collect", "mobilization-healthy-donor", "--json", "--seed", "5"])
    assert a == b


def test_population_contract(capsys):
    argv = ["collect", "mobilization-myeloma-gcsf", "--json", "--patients", "300", "--seed", "1"]
    got = _json(capsys, argv)
    assert set(got) == {
        "n",
        "fraction_target_reached",
        "fraction_below_2e6_per_kg",
        "median_aphereses",
    }
    assert got["n"] == 300
    assert 0 <= got["fraction_target_reached"] <= 1
    assert 1 <= got["median_aphereses"] <= 4


def test_rich_tables(capsys):
    assert main(["collect", "mobilization-myeloma-plerixafor"]) == 0
    assert "aphereses" in capsys.readouterr().out
    assert main(["collect", "mobilization-myeloma-plerixafor", "--patients", "50"]) == 0
    assert "median number of aphereses" in capsys.readouterr().out


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("steps", "weight", "diagnosis", "needle"),
    [
        (
            ["Filgrastim 10 ug/kg SC daily on days 1 to 4", "Apheresis -20 L on day 5"],
            80,
            "myeloma",
            "apheresis",
        ),
        (STEPS, 0, "myeloma", "weight_kg"),
        (STEPS, 600, "myeloma", "weight_kg"),
        (
            ["Filgrastin 10 ug/kg SC daily on days 1 to 4", "Apheresis 20 L on day 5"],
            80,
            "myeloma",
            "did you mean",
        ),
        (
            ["Busulfan 3.2 mg/kg IV on day -2", "Apheresis 20 L on day 5"],
            80,
            "myeloma",
            "Filgrastim",
        ),
        (
            ["Filgrastim 10 ug/kg SC daily on days 3 to 6", "Apheresis 20 L on days 2 to 3"],
            80,
            "myeloma",
            "not after the start of mobilization",
        ),
        (["Apheresis 20 L on days 2 to 3"], 80, "myeloma", "without mobilization"),
        (["Filgrastim 10 ug/kg SC daily on days 1 to 4"], 80, "myeloma", "no Apheresis"),
        (
            [
                "Filgrastim 10 ug/kg SC daily from day 1 until ANC > 5 10^9/L for 1 day",
                "Apheresis 20 L on day 5",
            ],
            80,
            "myeloma",
            "fixed days",
        ),
        (
            ["Infuse graft on day 0", "Apheresis 20 L on day 5"],
            80,
            "myeloma",
            "not a mobilization step",
        ),
        (
            [
                "Apheresis 20 L on day 5",
                "Plerixafor 0.24 mg/kg SC on day 4",
                "Apheresis 10 L on day 5",
            ],
            80,
            "myeloma",
            "twice",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, steps, weight, diagnosis, needle):
    err = _error(capsys, ["collect", _scenario(tmp_path, steps, weight, diagnosis), "--json"])
    assert needle in err


def test_gcsf_mobilization_in_sickle_cell_disease_warns_and_runs(tmp_path, capsys):
    """G-CSF is contraindicated in SCD (exa-cel label): a clear warning on stderr, not an error
    (issue 5); the collection is still simulated."""
    code = main(["collect", _scenario(tmp_path, STEPS, 60, "sickle_cell"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "marrowsim: warning: G-CSF (filgrastim) must not be used" in err
    assert "plerixafor alone" in err and len(err.strip().splitlines()) == 1
    assert json.loads(out)["aphereses"]


def test_bad_options(tmp_path, capsys):
    path = _scenario(tmp_path)
    assert "patients" in _error(capsys, ["collect", path, "--patients", "0"])
    assert "seed" in _error(capsys, ["collect", path, "--seed", "-1"])
    assert "unknown scenario" in _error(capsys, ["collect", "mobilisation-myeloma-plerixafor"])


def test_scenario_without_mobilization_section(capsys):
    assert "no [mobilization] section" in _error(capsys, ["collect", "healthy-adult"])


def test_collect_api_needs_patient_with_a_spec():
    from marrowsim.clinical.collection import collect
    from marrowsim.clinical.collection_spec import MobilizationSpec
    from marrowsim.errors import InputError

    with pytest.raises(InputError, match="patient"):
        collect(MobilizationSpec(steps=STEPS), seed=0)


def test_unknown_diagnosis_for_mobilization():
    from marrowsim.clinical.collection_spec import CollectionPatient
    from marrowsim.errors import InputError

    with pytest.raises(InputError, match="did you mean"):
        CollectionPatient(weight_kg=70, diagnosis="mieloma")
    with pytest.raises(InputError):
        CollectionPatient(weight_kg=70, height_cm=10)
    with pytest.raises(InputError):
        CollectionPatient(weight_kg=70, sex="x")
