"""Scenarios: built-ins by name, TOML files, and one-line validation errors."""

from __future__ import annotations

import pytest

from marrowsim import default_parameters, load_scenario
from marrowsim.compile import compile_problem
from marrowsim.errors import ScenarioError, UnknownNameError
from marrowsim.scenario import DIAGNOSES, builtin_scenarios, scenario_from_mapping

MINIMAL = 'name = "x"\n[patient]\nage_years = 40\nweight_kg = 70\nsex = "male"\n'


def write(tmp_path, text: str):
    path = tmp_path / "scenario.toml"
    path.write_text(text)
    return path


def test_builtins_include_the_healthy_adult_and_all_validate_and_compile():
    names = builtin_scenarios()
    assert {"healthy-adult", "hsc-loss"} <= set(names)
    for name in names:
        scenario = load_scenario(name)
        assert scenario.name == name
        compile_problem([scenario], default_parameters())


def test_builtin_by_name_equals_the_same_file_by_path(tmp_path):
    text = builtin_scenarios()["healthy-adult"].read_text(encoding="utf-8")
    assert load_scenario(write(tmp_path, text)) == load_scenario("healthy-adult")


def test_a_file_wins_over_a_builtin_name_and_a_folder_does_not(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "healthy-adult").mkdir()  # a folder with a built-in's name is not a scenario file
    assert load_scenario("healthy-adult").days == 365


def test_minimal_scenario_defaults(tmp_path):
    s = load_scenario(write(tmp_path, MINIMAL))
    assert (s.days, s.seed, s.patient.diagnosis, s.first_day) == (100, 0, "healthy", 0)
    assert set(DIAGNOSES) >= {"healthy", "AML", "sickle_cell", "beta_thalassemia"}


def test_units_are_converted_at_the_boundary(tmp_path):
    text = MINIMAL.replace("weight_kg = 70", 'weight_kg = "154 lb"') + 'height_cm = "1.75 m"\n'
    s = load_scenario(write(tmp_path, text))
    assert s.patient.weight_kg == pytest.approx(69.85, abs=0.01)
    assert s.patient.height_cm == pytest.approx(175.0)


def test_overrides_are_validated():
    s = load_scenario("healthy-adult", days=30, seed=4)
    assert (s.days, s.seed) == (30, 4)
    assert s.with_overrides(days=7).days == 7
    with pytest.raises(ScenarioError, match="days"):
        s.with_overrides(days=-1)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('sex = "male"', 'sex = "male"\nweigth = 3'),
            "unknown key 'patient.weigth'; did you mean 'weight_kg'?",
        ),
        (lambda t: "dayz = 3\n" + t, "unknown key 'dayz'; did you mean 'days'?"),
        (
            lambda t: t.replace("weight_kg = 70", 'weight_kg = "70 cm"'),
            "patient.weight_kg: unit 'cm' is a length unit, expected a mass unit "
            "(allowed: kg, lb, lbs) (got '70 cm')",
        ),
        (
            lambda t: t.replace("weight_kg = 70", 'weight_kg = "11 stone"'),
            "patient.weight_kg: unknown unit 'stone' (allowed: kg, lb, lbs)",
        ),
        (
            lambda t: t.replace("weight_kg = 70", "weight_kg = -70"),
            "patient.weight_kg: Input should be greater than 0 (got -70)",
        ),
        (lambda t: t.replace("age_years = 40\n", ""), "missing required key 'patient.age_years'"),
        (lambda t: t.replace('"male"', '"m"'), "patient.sex: Input should be 'male' or 'female'"),
        (lambda t: t.replace("[patient]", "[patient"), "not valid TOML"),
    ],
)
def test_validation_errors_are_one_clear_line(tmp_path, edit, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario(write(tmp_path, edit(MINIMAL)))
    text = str(info.value)
    assert message in text and "\n" not in text


def test_unknown_builtin_name_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="did you mean 'healthy-adult'"):
        load_scenario("healthy-adlt")


def test_missing_file():
    with pytest.raises(ScenarioError, match=r"scenario file 'nope\.toml' does not exist"):
        load_scenario("nope.toml")


def test_perturbation_names_are_checked():
    data = {"name": "x", "patient": {"age_years": 40, "weight_kg": 70, "sex": "male"}}
    data["perturbations"] = [{"day": 1, "compartment": "hcs", "surviving_fraction": 0.5}]
    with pytest.raises(ScenarioError, match="did you mean 'hsc'"):
        scenario_from_mapping(data)
