"""``[graft] from_collection = true``: the graft dose is the simulated collection's (median
patient, median collection efficiency), × CD34+ selection recovery (65 %, Urbano-Ispizua et al.
Blood 1997;89:3967) when selected; thaw viability stays with the transplant compiler."""

from __future__ import annotations

import json

import pytest

from marrowsim.cli import main
from marrowsim.clinical.graft_from_collection import (
    graft_dose_from_collection,
    resolve_graft_from_collection,
)
from marrowsim.errors import ScenarioError
from marrowsim.parameters import default_parameters
from marrowsim.scenario import load_scenario, read_scenario_mapping, scenario_from_mapping
from marrowsim.simulation import Simulation

BUILTIN = "auto-myeloma-mel200-collection"


def variant(**graft_or_section):
    data, _ = read_scenario_mapping(BUILTIN)
    for key, value in graft_or_section.items():
        if key in ("mobilization", "donor"):
            data[key] = value
        elif value is None:
            data["graft"].pop(key, None)
        else:
            data["graft"][key] = value
    return scenario_from_mapping(data, where="v.toml")


def test_dose_is_the_median_patients_collection_and_reproducible():
    sc = load_scenario(BUILTIN)
    dose = graft_dose_from_collection(sc)
    assert dose == graft_dose_from_collection(sc)  # deterministic
    assert dose >= sc.mobilization.target_cd34_per_kg  # the median myeloma patient reaches 5e6
    capped = variant(mobilization={**sc.mobilization.model_dump(), "max_aphereses": 1})
    assert graft_dose_from_collection(capped) <= dose


def test_plerixafor_raises_the_collected_dose():
    sc = load_scenario(BUILTIN)
    gcsf_only = [s for s in sc.mobilization.steps if not s.startswith("Plerixafor")]
    spec = {**sc.mobilization.model_dump(), "steps": gcsf_only, "target_cd34_per_kg": 1e9}
    spec_p = {**sc.mobilization.model_dump(), "target_cd34_per_kg": 1e9}
    assert graft_dose_from_collection(variant(mobilization=spec_p)) > graft_dose_from_collection(
        variant(mobilization=spec)
    )


def test_cd34_selection_recovery_applies_and_thaw_viability_does_not():
    plain = graft_dose_from_collection(load_scenario(BUILTIN))
    selected = graft_dose_from_collection(variant(cd34_selected=True))
    recovery = default_parameters().value("cd34_selection_recovery")
    assert selected == pytest.approx(plain * recovery) and recovery == 0.65
    fresh = graft_dose_from_collection(variant(cryopreserved=False))
    assert fresh == pytest.approx(plain)  # viability is applied once, by the compiler


def test_resolution_returns_a_copy_with_the_dose_filled_in():
    sc = load_scenario(BUILTIN)
    resolved = resolve_graft_from_collection(sc)
    assert resolved.graft.cd34_per_kg == pytest.approx(graft_dose_from_collection(sc))
    assert resolved.graft.from_collection is False and sc.graft.from_collection is True
    assert resolve_graft_from_collection(resolved) is resolved
    other = load_scenario("allo-pbsc-mac")
    assert resolve_graft_from_collection(other) is other


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"mobilization": None}, "needs a [mobilization] section"),
        ({"donor": {"relation": "matched_sibling"}}, "autologous grafts only"),
        ({"cd34_per_kg": 3e6}, "not both"),
    ],
)
def test_impossible_from_collection_is_refused(change, fragment):
    data, _ = read_scenario_mapping(BUILTIN)
    for key, value in change.items():
        if key in ("mobilization", "donor"):
            if value is None:
                data.pop(key)
            else:
                data[key] = value
        else:
            data["graft"][key] = value
    with pytest.raises(ScenarioError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        scenario_from_mapping(data, where="v.toml")


def test_simulate_end_to_end(capsys):
    assert main(["simulate", BUILTIN, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    out = doc["outcomes"]
    assert out["neutrophil_engraftment_day"] is not None
    assert out["primary_graft_failure"] is False
    sim = Simulation(BUILTIN)
    assert sim.scenario.graft.cd34_per_kg == pytest.approx(
        graft_dose_from_collection(load_scenario(BUILTIN))
    )
    assert "from the simulated collection" in sim.scenario.description


def test_simulate_refuses_a_bad_from_collection_in_one_line(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(
        'name = "bad"\n[patient]\nage_years = 60\nweight_kg = 80\nsex = "male"\n'
        'diagnosis = "myeloma"\n[donor]\nrelation = "autologous"\n'
        '[graft]\nsource = "peripheral_blood"\nfrom_collection = true\n'
    )
    assert main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "[mobilization]" in err[0]
