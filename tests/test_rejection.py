"""Host-versus-graft rejection (issue 4): host anti-donor T cells expand on donor antigen.

Checks on the mechanism of ``model/rejection.py`` and on virtual populations with the shipped
(calibrated) parameters: an HLA mismatch the host can see (host-versus-graft direction) raises
graft failure in the same virtual patients, a mismatch only the graft sees does not, ATG and a
more intensive conditioning lower it, matched-sibling myeloablative transplants rarely fail, and
patients without an allogeneic donor are untouched. The calibration itself
(``validation/calibrate_rejection.py``) and its published targets are in docs/transplant.md §6.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hla_support import needs_data
from marrowsim import default_parameters, load_scenario
from marrowsim.compile import compile_problem
from marrowsim.engine.solve import solve
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.observables import OB
from marrowsim.model.rejection import host_effector_derivative, lymphopenic_drive
from marrowsim.model.rhs import rhs
from marrowsim.model.transplant import alloimmunity_rates, host_effector_rates
from marrowsim.scenario import scenario_from_mapping
from marrowsim.validation import rejection_targets as RT
from marrowsim.validation.population import simulate_population

N, SEED, DAYS = 300, 41, 200


RECIPIENT = "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01"
HOMOZYGOUS_C = "A*01:01,A*02:01 B*08:01,B*07:02 C*07:01 DRB1*03:01,DRB1*15:01"


@pytest.fixture(scope="module")
def parameters():
    return default_parameters()


def unrelated(name: str, hla_match: str | None = "8/8", **changes) -> dict:
    """The row-17 unrelated-donor marrow transplant, shortened to DAYS, with section changes."""
    mapping = RT.unrelated_marrow(name, hla_match or "8/8", days=DAYS)
    if hla_match is None:
        mapping["donor"] = {"relation": "unrelated"}
    for key, value in changes.items():  # a regimen or steps replace the whole conditioning
        merge = key not in ("days", "conditioning")
        mapping[key] = {**mapping.get(key, {}), **value} if merge else value
    return mapping


def graft_failure(mapping: dict, parameters) -> np.ndarray:
    pop = simulate_population(mapping, N, seed=SEED, parameters=parameters)
    assert pop.ok.all()
    return RT.graft_failure(pop, mapping)


def effector_peak(mapping: dict, parameters) -> float:
    """Peak host anti-donor effector level of the typical patient (no between-patient spread)."""
    result = solve(compile_problem([scenario_from_mapping(mapping)], parameters))
    return float(np.max(result.observables[0, :, OB["host_antidonor_t_cells"]]))


# --- the mechanism ------------------------------------------------------------------------------
def test_new_constants_are_appended_after_every_existing_index():
    names = K.HVG_CONSTANT_NAMES
    assert K.CONSTANT_NAMES[-len(names) :] == names
    assert K.N_CONSTANTS - len(names) == K.K_HVG_EXPANSION
    assert K.K_HBF_PROTECTIVE_PG < K.K_HVG_EXPANSION  # the previous last constant did not move


def test_effector_expands_only_with_donor_antigen_and_contracts_without(parameters):
    problem = compile_problem([scenario_from_mapping(unrelated("m", "7/8"))], parameters)
    c = problem.constants[0].copy()
    y = problem.y0[0].copy()
    a = L.aux_index(L.AUX_HOST_IMMUNITY)
    y[a] = 0.01
    lymphopenic = 5.0  # IL-7 of profound lymphopenia
    # no donor cells: no stimulation, only contraction (and ATG / GvH kill)
    no_antigen = host_effector_derivative(y, c, lymphopenic, 0.0, 0.0)
    assert no_antigen == pytest.approx(-c[K.K_HVG_CONTRACTION] * 0.01)
    assert host_effector_derivative(y, c, lymphopenic, 0.2, 0.1) == pytest.approx(
        -(c[K.K_HVG_CONTRACTION] + 0.3) * 0.01
    )
    # a full donor marrow stimulates: expansion beats contraction without prophylaxis
    y[L.cell_index(L.DONOR, L.CMP)] = 1e3 * c[K.K_HVG_ANTIGEN_EC50]
    c[K.K_HVG_EXPANSION] = parameters.value("hvg_effector_expansion_rate")
    assert host_effector_derivative(y, c, lymphopenic, 0.0, 0.0) > 0.0
    # ... but not at the steady-state IL-7 (no lymphopenia) nor at the capacity
    assert lymphopenic_drive(1.0, c) == 0.0
    assert host_effector_derivative(y, c, 1.0, 0.0, 0.0) == pytest.approx(no_antigen)
    y[a] = c[K.K_HVG_CAPACITY]
    assert host_effector_derivative(y, c, lymphopenic, 0.0, 0.0) < 0.0


def test_effectors_appear_only_after_the_infusion_and_ptcy_kills_them(parameters):
    haplo = RT.haploidentical_marrow("haplo", 4, days=10)
    obs = solve(compile_problem([scenario_from_mapping(haplo)], parameters)).observables[0]
    days = np.arange(-10, 11)
    effector = obs[:, OB["host_antidonor_t_cells"]]
    assert np.all(effector[days <= 0] == 0.0)  # graft infused on day 0 (morning counts first)
    assert effector[days == 3][0] > 0.0
    # post-transplant cyclophosphamide 50 mg/kg on days 3 and 4 kills them like lymphocytes
    assert effector[days == 5][0] < 0.1 * effector[days == 3][0]


# --- healthy and autologous: untouched ----------------------------------------------------------
@pytest.mark.parametrize("name", ["healthy-adult", "auto-myeloma-mel200", "aml-untreated"])
def test_no_allogeneic_donor_no_effector_and_no_effect(name, parameters):
    scenario = load_scenario(name, days=60)
    problem = compile_problem([scenario], parameters)
    assert problem.constants[0, K.K_HVG_EXPANSION] == problem.constants[0, K.K_HVG_PRECURSOR] == 0
    base = solve(problem)
    assert np.all(base.observables[0, :, OB["host_antidonor_t_cells"]] == 0.0)
    # whatever the rejection constants, the course is the same to the last bit
    c = problem.constants.copy()
    c[:, K.K_HVG_EXPANSION] = 50.0
    c[:, K.K_HVG_PRECURSOR] = 0.5
    c[:, K.K_HVG_CONTRACTION] = 0.01
    c[:, K.K_HVG_ANTIGEN_EC50] *= 1e-3
    other = solve(replace(problem, constants=c))
    np.testing.assert_array_equal(base.observables, other.observables)
    np.testing.assert_array_equal(base.final_state, other.final_state)
    assert base.n_steps.tolist() == other.n_steps.tolist()
    dy, dy2 = np.empty(L.N_STATES), np.empty(L.N_STATES)
    rhs(0.0, problem.y0[0], problem.constants[0], problem.class_modifiers[0], problem.active[0], dy)
    rhs(0.0, problem.y0[0], c[0], problem.class_modifiers[0], problem.active[0], dy2)
    np.testing.assert_array_equal(dy, dy2)


# --- HLA mismatch: direction matters ------------------------------------------------------------
def test_mismatch_raises_precursors_not_the_expansion_rate(parameters):
    v = parameters.values()
    matched = host_effector_rates(scenario_from_mapping(unrelated("a", "8/8")), v)
    mismatched = host_effector_rates(scenario_from_mapping(unrelated("b", "7/8")), v)
    assert mismatched[0] == matched[0] > 0
    assert mismatched[1] == pytest.approx(matched[1] + v["hvg_precursor_fraction_per_mismatch"])
    auto = load_scenario("auto-myeloma-mel200")
    assert host_effector_rates(auto, v) == (0.0, 0.0)
    bare = unrelated("c", "8/8")
    bare["protocol"] = {"steps": []}
    assert host_effector_rates(scenario_from_mapping(bare), v)[0] == pytest.approx(
        matched[0] / v["immunosuppression_factor"]
    )


def test_7_of_8_fails_more_often_than_8_of_8_in_the_same_patients(parameters):
    matched = graft_failure(unrelated("urd-8of8", "8/8"), parameters)
    mismatched = graft_failure(unrelated("urd-7of8", "7/8"), parameters)
    assert np.nanmean(mismatched) >= 1.5 * np.nanmean(matched)
    assert np.nanmean(mismatched) - np.nanmean(matched) >= 0.03
    # the same virtual patients: a 7/8 donor makes graft failure more likely, hardly ever less
    assert np.sum((matched == 1) & (mismatched == 0)) <= 0.01 * N


@needs_data
def test_a_mismatch_only_the_graft_sees_does_not_raise_rejection(parameters):
    v = parameters.values()
    # donor homozygous at C where the recipient is not: graft-versus-host direction only
    gvh_only = unrelated("gvh-only", None)
    gvh_only["patient"] = {**gvh_only["patient"], "hla": RECIPIENT}
    gvh_only["donor"] = {"relation": "unrelated", "hla": HOMOZYGOUS_C}
    # recipient homozygous, donor not: host-versus-graft direction only
    hvg_only = unrelated("hvg-only", None)
    hvg_only["patient"] = {**hvg_only["patient"], "hla": HOMOZYGOUS_C}
    hvg_only["donor"] = {"relation": "unrelated", "hla": RECIPIENT}
    matched = unrelated("matched", "8/8")
    s_gvh, s_hvg, s_matched = (scenario_from_mapping(m) for m in (gvh_only, hvg_only, matched))
    assert host_effector_rates(s_gvh, v) == host_effector_rates(s_matched, v)
    assert alloimmunity_rates(s_gvh, v)[0] == alloimmunity_rates(s_matched, v)[0]
    assert alloimmunity_rates(s_gvh, v)[1] > alloimmunity_rates(s_matched, v)[1]
    assert host_effector_rates(s_hvg, v)[1] > host_effector_rates(s_matched, v)[1]
    failure = {name: graft_failure(m, parameters) for name, m in
               (("gvh", gvh_only), ("hvg", hvg_only), ("matched", matched))}  # fmt: skip
    assert np.nanmean(failure["gvh"]) <= np.nanmean(failure["matched"])
    assert np.nanmean(failure["hvg"]) > np.nanmean(failure["matched"]) + 0.02


# --- immunosuppression, ATG, conditioning intensity, graft ---------------------------------------
def test_atg_and_more_intensive_conditioning_lower_rejection(parameters):
    bucy = graft_failure(unrelated("bucy", "7/8"), parameters)
    atg_steps = [
        "Busulfan 0.8 mg/kg IV four times daily on days -7 to -4",
        "Cyclophosphamide 60 mg/kg IV daily on days -3 to -2",
        "ATG 2.5 mg/kg IV daily on days -3 to -1",
    ]
    atg = graft_failure(unrelated("bucy-atg", "7/8", conditioning={"steps": atg_steps}), parameters)
    cytbi = graft_failure(unrelated("cytbi", "7/8", conditioning={"regimen": "CyTBI"}), parameters)
    assert np.nanmean(atg) < np.nanmean(bucy)
    assert np.nanmean(cytbi) < np.nanmean(bucy)


def test_effector_peak_follows_prophylaxis_graft_and_conditioning(parameters):
    base = effector_peak(unrelated("base", "7/8", days=60), parameters)
    bare = unrelated("bare", "7/8", days=60)
    bare["protocol"] = {"steps": [], "rules": list(RT.RULES)}
    assert effector_peak(bare, parameters) > 10 * base  # no GVHD prophylaxis
    pbsc = unrelated("pbsc", "7/8", days=60, graft={"source": "peripheral_blood"})
    assert effector_peak(pbsc, parameters) < base  # more donor T cells: shorter lymphopenia
    ric = unrelated("ric", "7/8", days=60, conditioning={"regimen": "FluMel"})
    assert effector_peak(ric, parameters) > base  # more surviving host T cells


def test_matched_sibling_myeloablative_transplants_rarely_fail(parameters):
    from marrowsim.validation.validation_scenarios import MAC_STEPS, _sibling

    mapping = _sibling("msd-mac", "BuCy", MAC_STEPS)
    pop = simulate_population(mapping, N, seed=SEED, parameters=parameters)
    failed = RT.graft_failure(pop, mapping, lost_graft=True)
    assert np.nanmean(failed) <= 0.03


def test_rejection_rows_of_the_validation_report_evaluate(parameters):
    from marrowsim.validation.validation_scenarios import EXTRA_CHECKS

    checks = {c.key: c for c in EXTRA_CHECKS}
    for key in ("unrelated_graft_failure_by_hla", "matched_sibling_rejection"):
        check = checks[key]
        pops = {
            m["name"]: simulate_population({**m, "days": 60}, 20, seed=1, parameters=parameters)
            for m in check.scenarios
        }
        _raw, ok, text = check.evaluate(pops)
        assert isinstance(ok, bool) and "%" in text
    assert "haploidentical_tbi_graft_failure" in checks
