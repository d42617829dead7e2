"""Generated documentation is current: the parameter tables of docs/model.md mirror the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from marrowsim.parameters.markdown import (
    REGENERATE,
    generated_table,
    parameter_table_markdown,
    with_generated_table,
)

MODEL_MD = Path(__file__).resolve().parents[1] / "docs" / "model.md"


def test_model_md_parameter_table_is_current():
    text = MODEL_MD.read_text(encoding="utf-8")
    if generated_table(text, where="docs/model.md") != parameter_table_markdown():
        pytest.fail(
            "docs/model.md: the generated parameter table differs from the parameter registry "
            f"(src/marrowsim/parameters/sets/*.toml); regenerate it with: {REGENERATE}"
        )


def test_every_parameter_has_units_and_provenance():
    from marrowsim import default_parameters

    for name, p in default_parameters().items():
        assert p.units, name
        assert p.description, name
        if p.is_assumption:
            assert p.assumption, name
        else:
            assert p.citation and (p.location or p.description), name


def test_generated_section_round_trip_and_marker_errors():
    from marrowsim.errors import InputError
    from marrowsim.parameters.markdown import BEGIN, END

    doc = f"intro\n{BEGIN}\nold\n{END}\noutro\n"
    new = with_generated_table(doc, "| a |\n")
    assert new == f"intro\n{BEGIN}\n| a |\n{END}\noutro\n"
    assert generated_table(new) == "| a |\n"
    with pytest.raises(InputError, match="needs exactly one pair of generated-table markers"):
        generated_table("no markers")


README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language: str) -> list[str]:
    parts = README.read_text(encoding="utf-8").split("```")
    return [p.removeprefix(language + "\n") for p in parts[1::2] if p.startswith(language + "\n")]


def test_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (code,) = _blocks("python")
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "transplant.png").is_file()


def test_readme_scenario_example_is_valid(tmp_path):
    from marrowsim import Simulation, load_scenario

    (toml,) = _blocks("toml")
    path = tmp_path / "my-patient.toml"
    path.write_text(toml)
    scenario = load_scenario(path)
    assert scenario.patient.weight_kg == pytest.approx(69.85, abs=0.01)
    assert Simulation(scenario.with_overrides(days=20)).run().status == "ok"
