"""The transplant course (issue 3): graft composition, conditioning, alloimmunity, engraftment.

The qualitative behaviours of issue 3's "Done means" are checked on the built-in scenarios with the
shipped (calibrated) parameters; the quantitative rows are in ``marrowsim validate``.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from marrowsim import Simulation, default_parameters, load_scenario
from marrowsim.clinical.graft import graft_composition
from marrowsim.compile import compile_problem
from marrowsim.errors import InputError, ScenarioError
from marrowsim.model import layout as L
from marrowsim.model.transplant import alloimmunity_rates, receives_gvhd_prophylaxis
from marrowsim.scenario import scenario_from_mapping


def _variant(name: str, **sections) -> object:
    data = load_scenario(name).model_dump()
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return scenario_from_mapping(data)


def _outcomes(scenario) -> dict:
    return Simulation(scenario).run().outcomes()


@pytest.fixture(scope="module")
def values():
    return default_parameters().values()


# --- graft composition ------------------------------------------------------------------------
def test_allogeneic_graft_enters_the_donor_class_and_autologous_the_host(values):
    allo = load_scenario("allo-pbsc-mac")
    comp = graft_composition(allo.graft, allo.donor.relation, values)
    assert {c.clone_class for c in comp.components} == {L.DONOR}
    auto = load_scenario("auto-myeloma-mel200")
    comp = graft_composition(auto.graft, auto.donor.relation, values)
    assert {c.clone_class for c in comp.components} == {L.HOST}
    assert comp.viability == pytest.approx(values["cryopreserved_viability"])  # cryopreserved


def test_double_cord_uses_two_donor_classes(values):
    s = load_scenario("cord-double")
    comp = graft_composition(s.graft, s.donor.relation, values)
    assert [c.clone_class for c in comp.components] == [L.DONOR, L.DONOR2]
    summary = comp.summary()
    assert [p["clone_class"] for p in summary["products"]] == ["donor", "donor2"]


def test_graft_doses_scale_with_cd34_and_selection_removes_t_cells(values):
    base = load_scenario("allo-pbsc-mac")
    double = _variant("allo-pbsc-mac", graft={"cd34_per_kg": 12e6}).graft
    one = graft_composition(base.graft, "matched_sibling", values).components[0]
    two = graft_composition(double, "matched_sibling", values).components[0]
    assert two.homed[L.HSC] == pytest.approx(2 * one.homed[L.HSC])
    assert two.homed[L.CMP] == pytest.approx(2 * one.homed[L.CMP])
    selected = _variant("allo-pbsc-mac", graft={"cd34_selected": True}).graft
    sel = graft_composition(selected, "matched_sibling", values).components[0]
    assert sel.t_cells_per_kg == pytest.approx(
        one.t_cells_per_kg * values["cd34_selection_t_cell_depletion"]
    )


def test_a_graft_without_a_dose_is_refused():
    data = load_scenario("allo-pbsc-mac").model_dump()
    data["graft"].pop("cd34_per_kg")
    with pytest.raises(ScenarioError, match="cd34_per_kg"):
        scenario_from_mapping(data)


# --- conditioning -----------------------------------------------------------------------------
def _host_hsc_left(regimen: str) -> float:
    s = _variant("allo-pbsc-mac", conditioning={"regimen": regimen, "steps": ()}, days=1)
    obs = Simulation(s).run()
    before, after = obs["hsc_host"][0], obs["hsc_host"][-1]
    return after / before


def test_regimen_intensity_orders_host_stem_cell_survival():
    mac, ric, nma = _host_hsc_left("BuCy"), _host_hsc_left("FluMel"), _host_hsc_left("FluTBI2")
    assert mac < 1e-3  # myeloablative
    assert mac < ric < nma
    assert nma > 0.05  # non-myeloablative: host hematopoiesis survives


# --- alloimmunity -----------------------------------------------------------------------------
def test_hla_mismatch_and_missing_prophylaxis_raise_alloreactivity(values):
    matched = load_scenario("allo-pbsc-mac")
    k8 = alloimmunity_rates(matched, values)
    mismatched = _variant("allo-pbsc-mac", donor={"relation": "unrelated", "hla_match": "7/8"})
    k7 = alloimmunity_rates(mismatched, values)
    assert k7[0] > k8[0] and k7[1] > k8[1]
    assert receives_gvhd_prophylaxis(matched)
    bare = _variant("allo-pbsc-mac", protocol={"steps": (), "rules": ()})
    assert not receives_gvhd_prophylaxis(bare)
    unsuppressed = alloimmunity_rates(bare, values)
    ratio = 1.0 / values["immunosuppression_factor"]
    assert unsuppressed[1] == pytest.approx(k8[1] * ratio)
    assert alloimmunity_rates(load_scenario("auto-myeloma-mel200"), values) == (0.0, 0.0)


def test_gvhd_prophylaxis_drugs_are_modelled_not_warned_about():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        compile_problem([load_scenario("allo-pbsc-mac")], default_parameters())


# --- engraftment ------------------------------------------------------------------------------
def test_engraftment_dose_response_is_monotone_and_saturating():
    doses = (0.5e6, 1e6, 2e6, 6e6, 20e6)
    days = [
        _outcomes(_variant("allo-pbsc-mac", graft={"cd34_per_kg": d}))["neutrophil_engraftment_day"]
        for d in doses
    ]
    assert all(d is not None for d in days)
    assert all(a >= b for a, b in itertools.pairwise(days)), days
    # saturating: fewer days gained per doubling of the dose at high doses than at low ones
    per_doubling = np.diff(days) / np.diff(np.log2(doses))
    assert -per_doubling[0] > -per_doubling[-1] > 0, (days, per_doubling)


def test_too_small_a_graft_fails_and_a_standard_graft_engrafts():
    small = _outcomes(_variant("allo-pbsc-mac", graft={"cd34_per_kg": 2e4}))
    assert small["primary_graft_failure"] is True
    standard = _outcomes(load_scenario("allo-pbsc-mac"))
    assert standard["primary_graft_failure"] is False
    assert standard["full_donor_chimerism_day100"] is True


def test_post_transplant_filgrastim_speeds_neutrophils_not_platelets():
    filgrastim = "Filgrastim 10 ug/kg SC daily from day 0 until ANC > 0.5 10^9/L for 3 days"
    base = load_scenario("allo-pbsc-mac")
    steps = (*base.protocol.steps, filgrastim)
    with_g = _outcomes(_variant("allo-pbsc-mac", protocol={"steps": steps}))
    without = _outcomes(base)
    gain = without["neutrophil_engraftment_day"] - with_g["neutrophil_engraftment_day"]
    assert 2 <= gain <= 5
    assert with_g["platelet_engraftment_day"] >= without["platelet_engraftment_day"] - 2


def test_non_myeloablative_conditioning_gives_mixed_chimerism_and_fewer_transfusions():
    nma = _outcomes(load_scenario("allo-nma-flutbi2"))
    mac = _outcomes(load_scenario("allo-pbsc-mac"))
    assert 0.05 < nma["donor_chimerism_myeloid_day30"] < 0.95  # mixed
    assert nma["donor_chimerism_myeloid_day100"] > nma["donor_chimerism_myeloid_day30"]
    assert mac["full_donor_chimerism_day30"] is True
    assert nma["platelet_transfusions"] < mac["platelet_transfusions"]


def test_filgrastim_stop_rule_on_another_count_is_refused():
    s = _variant(
        "allo-pbsc-mac",
        protocol={
            "steps": ("Filgrastim 5 ug/kg SC daily from day 5 until PLT > 50 10^9/L for 3 days",)
        },
    )
    with pytest.raises(InputError, match="ANC only"):
        compile_problem([s], default_parameters())


def test_cord_transplant_engrafts_later_than_peripheral_blood():
    cord = _outcomes(load_scenario("cord-single"))["neutrophil_engraftment_day"]
    pbsc = _outcomes(load_scenario("allo-pbsc-mac"))["neutrophil_engraftment_day"]
    assert cord > pbsc
    assert np.isfinite(cord)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Bussulfan 3.2 mg/kg IV daily on days -7 to -4", "did you mean 'Busulfan'"),
        ("Busulfan 3.2 mg/kg IV daily on days 2 to 4", "after day 0"),
        ("Busulfan 3.2 mg/L IV daily on days -7 to -4", "mg/L"),
        ("Busulfan three mg/kg", "accepted forms"),
    ],
)
def test_bad_conditioning_lines_exit_2_with_one_line(tmp_path, capsys, line, expected):
    from marrowsim.cli import main

    text = (
        'name = "bad"\n[patient]\nage_years = 40\nweight_kg = 70\nsex = "male"\n'
        '[donor]\nrelation = "matched_sibling"\n[graft]\nsource = "peripheral_blood"\n'
        f'cd34_per_kg = 5e6\n[conditioning]\nsteps = ["{line}"]\n'
    )
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert main(["simulate", str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert expected in err and "conditioning" in err, err
