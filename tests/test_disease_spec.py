"""The ``[disease]`` scenario section: which model runs and every input error (one clear line)."""

from __future__ import annotations

import pytest

from marrowsim.cli import main
from marrowsim.clinical.disease_spec import DISEASE_MODELS, disease_model
from marrowsim.errors import InputError, ScenarioError
from marrowsim.scenario import scenario_from_mapping

PATIENT = {"age_years": 40, "weight_kg": 70, "sex": "male"}


def scenario(diagnosis: str, disease: dict | None, **extra):
    data = {"name": "x", "patient": {**PATIENT, "diagnosis": diagnosis}, **extra}
    if disease is not None:
        data["disease"] = disease
    return scenario_from_mapping(data)


def test_the_model_follows_the_diagnosis_and_needs_a_disease_section():
    assert disease_model("AML", scenario("AML", {}).disease) == "leukemia"
    assert disease_model("aplastic_anemia", scenario("aplastic_anemia", {}).disease) == (
        "autoimmunity"
    )
    assert scenario("AML", None).disease is None  # a diagnosis alone runs no disease model
    assert disease_model("AML", None) is None
    assert set(DISEASE_MODELS) == {"AML", "aplastic_anemia"}


@pytest.mark.parametrize(
    ("diagnosis", "disease", "message"),
    [
        ("AML", {"mrd_fraction": -0.1}, "mrd_fraction: Input should be greater than or equal to 0"),
        ("AML", {"mrd_fraction": 1.0}, "mrd_fraction: Input should be less than 1 (got 1.0)"),
        (
            "AML",
            {"leukemic_stem_cells_per_kg": -3},
            "leukemic_stem_cells_per_kg: Input should be greater than or equal to 0 (got -3)",
        ),
        (
            "AML",
            {"mrd_fraction": 1e-3, "leukemic_stem_cells_per_kg": 5},
            "give either mrd_fraction or leukemic_stem_cells_per_kg, not both",
        ),
        (
            "AML",
            {"residual_hsc_fraction": 0.1},
            "[disease] residual_hsc_fraction does not apply to diagnosis 'AML' (leukemia model; "
            "its keys: mrd_fraction, leukemic_stem_cells_per_kg)",
        ),
        (
            "aplastic_anemia",
            {"mrd_fraction": 1e-3},
            "mrd_fraction does not apply to diagnosis 'aplastic_anemia'",
        ),
        ("aplastic_anemia", {"residual_hsc_fraction": 0}, "greater than 0 (got 0)"),
        ("aplastic_anemia", {"residual_hsc_fraction": 1.5}, "less than or equal to 1 (got 1.5)"),
        (
            "myeloma",
            {},
            "[disease] has no model for diagnosis 'myeloma' (disease models exist for: AML, "
            "aplastic_anemia)",
        ),
        ("healthy", {"mrd_fraction": 0.01}, "no model for diagnosis 'healthy'"),
        (
            "AML",
            {"mrd_fractoin": 0.01},
            "unknown key 'disease.mrd_fractoin'; did you mean 'mrd_fraction'?",
        ),
    ],
)
def test_invalid_disease_sections_give_one_clear_line(diagnosis, disease, message):
    with pytest.raises(ScenarioError) as err:
        scenario(diagnosis, disease)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_cli_exits_2_with_one_line_for_a_bad_disease_section(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "x"\n[patient]\nage_years = 40\nweight_kg = 70\nsex = "male"\n'
        'diagnosis = "AML"\n[disease]\nmrd_fraction = -1\n',
        encoding="utf-8",
    )
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("marrowsim: error: ") and err.count("\n") == 1
    assert "mrd_fraction" in err and "got -1" in err


def test_eltrombopag_stopped_by_a_count_rule_and_unmodelled_units_are_refused():
    from marrowsim import Simulation

    steps = ["Eltrombopag 150 mg PO daily from day 0 until PLT > 50 10^9/L for 3 days"]
    s = scenario("aplastic_anemia", {}, days=5, protocol={"steps": steps})
    with pytest.raises(InputError, match=r"Eltrombopag until a count rule .* is not modelled"):
        Simulation(s).run()
