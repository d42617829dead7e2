"""Ex vivo gene editing: the ``[editing]`` section, the edited product, invalid combinations and
the G-CSF warning in sickle cell disease (issue 5), and the exa-cel outcomes of ``simulate``."""

from __future__ import annotations

import json
import warnings

import pytest

from marrowsim import default_parameters, load_scenario
from marrowsim.cli import main
from marrowsim.clinical.collection_spec import (
    CollectionPatient,
    ContraindicationWarning,
    compile_schedule,
)
from marrowsim.clinical.editing import Editing, edited_composition
from marrowsim.clinical.graft import graft_composition
from marrowsim.errors import ScenarioError
from marrowsim.model import layout as L
from marrowsim.scenario import builtin_scenarios, read_scenario_mapping, scenario_from_mapping

V = {name: p.value for name, p in default_parameters().items()}
OUTCOME_NAMES = (
    *(f"{q}_month{m}" for q in ("hb_g_dl", "hbf_g_dl", "hbf_percent") for m in (6, 12, 24)),
    "edited_allele_fraction_blood_month12",
    "transfusion_independent",
    "neutrophil_engraftment_day",
    "platelet_engraftment_day",
)


def scd_exa_cel(**changes) -> dict:
    mapping, _ = read_scenario_mapping("scd-exa-cel")
    for section, values in changes.items():
        mapping[section] = values if values is None else {**mapping.get(section, {}), **values}
    return {k: v for k, v in mapping.items() if v is not None}


def toml_file(tmp_path, edit) -> str:
    text = builtin_scenarios()["scd-exa-cel"].read_text(encoding="utf-8")
    path = tmp_path / "s.toml"
    path.write_text(edit(text).replace("days = 730", "days = 40"))
    return str(path)


# --- the [editing] section ---------------------------------------------------------------------
def test_editing_section_derives_cell_and_allele_fractions():
    e = Editing(target="BCL11A_erythroid_enhancer", allele_editing_fraction=0.8)
    assert e.edited_cell_fraction == pytest.approx(0.96)
    assert e.hsc_fraction == pytest.approx(0.96)
    assert e.edited_allele_share * e.edited_cell_fraction == pytest.approx(0.8)
    e = Editing(target="HBB_correction", allele_editing_fraction=0.5, edited_hsc_fraction=0.3)
    assert e.hsc_fraction == 0.3
    assert Editing(target="HBB_correction", allele_editing_fraction=0.0).edited_allele_share == 0


@pytest.mark.parametrize(
    ("editing", "message"),
    [
        ({"allele_editing_fraction": 1.5}, "allele_editing_fraction must be between 0 and 1"),
        ({"allele_editing_fraction": -0.1}, "allele_editing_fraction must be between 0 and 1"),
        ({"allele_editing_fraction": "most"}, "allele_editing_fraction must be a number"),
        ({"edited_hsc_fraction": 2.0}, "edited_hsc_fraction must be between 0 and 1"),
        ({"target": "BCL11A_enhancer"}, "did you mean 'BCL11A_erythroid_enhancer'"),
        ({"targt": "HBB_correction"}, "unknown key 'editing.targt'"),
    ],
)
def test_bad_editing_section_is_one_clear_error(editing, message):
    with pytest.raises(ScenarioError, match=message):
        scenario_from_mapping(scd_exa_cel(editing=editing))


def test_editing_an_allogeneic_graft_is_refused():
    mapping = scd_exa_cel(donor={"relation": "matched_sibling", "hla_match": "8/8"})
    with pytest.raises(ScenarioError, match="editing an allogeneic graft is not supported"):
        scenario_from_mapping(mapping)
    mapping = scd_exa_cel(donor={"relation": "cord"}, graft=None)
    mapping["graft"] = {"source": "cord_blood", "cd34_per_kg": 2e5}
    with pytest.raises(ScenarioError, match="allogeneic"):
        scenario_from_mapping(mapping)


def test_editing_needs_a_graft():
    mapping = scd_exa_cel(graft=None, donor=None)
    with pytest.raises(ScenarioError, match=r"\[editing\] edits the patient's own graft"):
        scenario_from_mapping(mapping)


def test_cli_exit_2_for_bad_editing(tmp_path, capsys):
    path = toml_file(tmp_path, lambda t: t.replace("allele_editing_fraction = 0.8",
                                                   "allele_editing_fraction = 1.2"))  # fmt: skip
    assert main(["simulate", path, "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("marrowsim: error:") and "between 0 and 1" in err and "1.2" in err
    assert len(err.strip().splitlines()) == 1
    path = toml_file(
        tmp_path,
        lambda t: t.replace('relation = "autologous"', 'relation = "unrelated"\nhla_match = "8/8"'),
    )
    assert main(["simulate", path]) == 2
    assert "editing an allogeneic graft" in capsys.readouterr().err


# --- the edited product ------------------------------------------------------------------------
def test_edited_product_splits_cells_and_loses_stem_and_progenitor_function():
    s = load_scenario("tdt-exa-cel")
    plain = graft_composition(s.graft, "autologous", V)
    edited = graft_composition(s.graft, "autologous", V, editing=s.editing)
    (host,) = plain.components
    unedited, ed = edited.components
    assert (unedited.clone_class, ed.clone_class) == (L.HOST, L.EDITED)
    f = s.editing.edited_cell_fraction
    hsc = host.homed[L.HSC] * V["editing_hsc_viability"]
    assert ed.homed[L.HSC] == pytest.approx(hsc * s.editing.hsc_fraction)
    assert unedited.homed[L.HSC] + ed.homed[L.HSC] == pytest.approx(hsc)
    for j in (L.MPP3, L.CMP, L.EP, L.MKP, L.LP):
        total = host.homed[j] * V["editing_progenitor_retention"]
        assert ed.homed[j] == pytest.approx(total * f)
        assert unedited.homed[j] + ed.homed[j] == pytest.approx(total)
    assert L.LYM not in ed.homed and unedited.homed[L.LYM] == host.homed[L.LYM]
    assert ed.cd34_per_kg + unedited.cd34_per_kg == pytest.approx(host.cd34_per_kg)


def test_edited_composition_needs_one_autologous_product():
    s = load_scenario("allo-pbsc-mac")
    donor = graft_composition(s.graft, "matched_sibling", V)
    editing = Editing(target="HBB_correction", allele_editing_fraction=0.5)
    with pytest.raises(ScenarioError, match="single autologous product"):
        edited_composition(donor, editing, V)


# --- G-CSF in sickle cell disease --------------------------------------------------------------
def test_gcsf_mobilization_in_sickle_cell_disease_warns_not_raises():
    steps = ["Filgrastim 10 ug/kg SC daily on days 1 to 4", "Apheresis 20 L on day 5"]
    patient = CollectionPatient(weight_kg=60, diagnosis="sickle_cell")
    with pytest.warns(ContraindicationWarning, match="must not be used to mobilize"):
        schedule = compile_schedule(steps, patient)
    assert schedule.apheresis_days == (5,)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for plerixafor alone, nor for myeloma
        compile_schedule(["Plerixafor 0.24 mg/kg SC on day 1", "Apheresis 20 L on day 2"], patient)
        compile_schedule(steps, CollectionPatient(weight_kg=60, diagnosis="myeloma"))


def test_scenario_with_gcsf_in_sickle_cell_disease_warns():
    mobilization = {"steps": ["Filgrastim 10 ug/kg SC daily on days 1 to 4",
                              "Apheresis 20 L on day 5"]}  # fmt: skip
    with pytest.warns(ContraindicationWarning, match="plerixafor alone"):
        scenario_from_mapping(scd_exa_cel(mobilization=mobilization))
    protocol = {"steps": ["Filgrastim 5 ug/kg SC daily from day 1 until ANC > 0.5 10^9/L "
                          "for 3 days"]}  # fmt: skip
    with pytest.warns(ContraindicationWarning, match="vaso-occlusive"):
        scenario_from_mapping(scd_exa_cel(protocol=protocol))


def test_cli_gcsf_in_sickle_cell_disease_warns_on_stderr(tmp_path, capsys):
    path = toml_file(tmp_path, lambda t: t.replace(
        '"Plerixafor 0.24 mg/kg SC on days 1 to 2",',
        '"Filgrastim 10 ug/kg SC daily on days 1 to 4", "Plerixafor 0.24 mg/kg SC on day 4",',
    ).replace('"Apheresis 20 L on days 2 to 3"', '"Apheresis 20 L on days 5 to 6"'))  # fmt: skip
    assert main(["collect", path, "--json"]) == 0
    err = capsys.readouterr().err
    assert "marrowsim: warning: G-CSF (filgrastim) must not be used" in err


# --- outcomes of simulate --json ----------------------------------------------------------------
def test_simulate_json_reports_the_exa_cel_outcomes(capsys):
    assert main(["simulate", "tdt-exa-cel", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    outcomes = doc["outcomes"]
    assert set(OUTCOME_NAMES) <= set(outcomes)
    assert isinstance(outcomes["transfusion_independent"], bool)
    assert 10 <= outcomes["neutrophil_engraftment_day"] <= 40
    assert 8.0 < outcomes["hb_g_dl_month12"] < 16.0
    assert 0.8 < outcomes["hbf_percent_month12"] / 100 <= 1.0
    assert 0.3 < outcomes["edited_allele_fraction_blood_month12"] < 1.0
    assert {"hbf", "edited_allele_fraction_blood", "edited_allele_fraction_marrow"} <= set(
        doc["daily"]
    )


def test_short_runs_leave_late_outcomes_unknown(capsys):
    assert main(["simulate", "scd-exa-cel", "--days", "100", "--json"]) == 0
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    assert outcomes["hb_g_dl_month6"] is None and outcomes["transfusion_independent"] is None
