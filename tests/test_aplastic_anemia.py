"""The aplastic anemia model (docs/disease.md §3): immune attack on stem and progenitor cells,
pancytopenia meeting the SAA criteria, immunosuppression (horse/rabbit ATG, ciclosporin),
eltrombopag, the transplant arm and the response endpoints."""

from __future__ import annotations

import numpy as np
import pytest

from marrowsim import Simulation, default_parameters
from marrowsim.compile import compile_problem
from marrowsim.disease_outcomes import saa_criteria_batch
from marrowsim.engine.events import EV_ADD_AUX
from marrowsim.engine.solve import solve
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.autoimmunity import cyclosporine_inhibition, eltrombopag_effect
from marrowsim.model.observables import OB
from marrowsim.outcomes import compute_outcomes
from marrowsim.scenario import scenario_from_mapping
from marrowsim.validation import disease_scenarios as DS


def run(mappings, parameters=None):
    scenarios = [scenario_from_mapping(m) for m in mappings]
    result = solve(compile_problem(scenarios, parameters or default_parameters()))
    assert (result.status == 0).all()
    return result


def on(result, i, name, day):
    return result.observables[i, int(np.searchsorted(result.days, day)), OB[name]]


def test_untreated_attack_gives_pancytopenia_meeting_the_saa_criteria_and_no_recovery():
    r = run([DS.saa_ist("untreated", (), days=180)])
    assert on(r, 0, "platelets_endogenous", 0) < 20 and on(r, 0, "reticulocytes", 0) < 60
    assert on(r, 0, "anc", 180) < 0.5 and on(r, 0, "hsc", 180) < 0.01 * on(r, 0, "hsc", -60)
    assert on(r, 0, "autoreactive_t_cells", 180) == pytest.approx(1.0)
    out = compute_outcomes(Simulation(scenario_from_mapping(DS.saa_ist("u", ()))).run())
    assert out["severe_aplastic_anemia_day0"] is True
    assert out["hematologic_response_day180"] is False


def test_horse_atg_and_ciclosporin_restore_hematopoiesis_and_relapse_follows_withdrawal():
    r = run([DS.saa_ist("ist", DS.IST_REGIMENS["hATG+CsA"], days=365)])
    assert on(r, 0, "autoreactive_t_cells", 14) < 0.05  # depleted by horse ATG
    assert on(r, 0, "hsc", 180) > 3 * on(r, 0, "hsc", 0)  # the residual pool regrows
    assert on(r, 0, "anc", 180) >= 0.5 and on(r, 0, "platelets_endogenous", 180) >= 20

    # ciclosporin holds the surviving autoreactive T cells back; it stops on day 180 and, once it
    # has washed out, they re-expand at their own rate r_A (logistic, far below the disease level)
    def log_rate(start, end):
        a = on(r, 0, "autoreactive_t_cells", start)
        b = on(r, 0, "autoreactive_t_cells", end)
        return np.log(b / a) / (end - start)

    regrowth = default_parameters().value("autoreactive_regrowth_rate")
    assert log_rate(60, 180) < 0.5 * regrowth  # on ciclosporin
    assert log_rate(240, 365) > 0.8 * regrowth  # after withdrawal
    assert on(r, 0, "anc", 365) < on(r, 0, "anc", 180)  # counts fall again: relapse under way


def test_each_drug_adds_to_the_response_of_a_typical_patient():
    regimens = ("hATG", "hATG+CsA", "hATG+CsA+eltrombopag")
    r = run([DS.saa_ist(name, DS.IST_REGIMENS[name]) for name in regimens])
    hsc = [on(r, i, "hsc", 180) for i in range(3)]
    assert hsc[0] < hsc[1] < hsc[2]  # ciclosporin, then eltrombopag: more stem cells at 6 months


def test_ciclosporin_and_eltrombopag_effects_are_emax_functions_of_the_amount_in_the_body():
    ps = default_parameters()
    problem = compile_problem([scenario_from_mapping(DS.saa_ist("x", ()))], ps)
    c = problem.constants[0]
    y = np.zeros(L.N_STATES)
    assert cyclosporine_inhibition(y, c) == 0.0 and eltrombopag_effect(y, c) == 0.0
    y[L.aux_index(L.AUX_CSA)] = 5.0
    y[L.aux_index(L.AUX_ELTROMBOPAG)] = 1.0
    imax, ec50 = ps.value("cyclosporine_max_inhibition"), ps.value("cyclosporine_ec50")
    assert cyclosporine_inhibition(y, c) == pytest.approx(imax * 5 / (5 + ec50))
    assert eltrombopag_effect(y, c) == pytest.approx(1 / (1 + ps.value("eltrombopag_ec50")))


def test_eltrombopag_raises_platelets_of_a_healthy_person_boundedly():
    healthy = {
        "name": "epag",
        "days": 120,
        "patient": {**DS.SAA_PATIENT, "diagnosis": "healthy"},
        "protocol": {"steps": [DS.ELTROMBOPAG]},
    }
    r = run([healthy])
    plt = r.observables[0, :, OB["platelets"]]
    assert on(r, 0, "tpo_relative", 2) > 1.2  # the TPO-receptor agonist adds to TPO
    assert 1.05 * plt[0] < plt[-1] < 2.0 * plt[0]  # rises, does not run away


def test_horse_atg_depletes_lymphocytes_like_its_rabbit_equivalent_dose():
    ps = default_parameters()
    potency = ps.value("horse_atg_potency")
    common = {"days": 30, "patient": {**DS.ADULT, "diagnosis": "healthy"}}
    rabbit = {**common, "name": "r", "protocol": {"steps": ["ATG 2 mg/kg IV on day 1"]}}
    horse = {**common, "name": "h",
             "protocol": {"steps": [f"hATG {2 / potency:g} mg/kg IV on day 1"]}}  # fmt: skip
    r = run([rabbit, horse], ps)
    np.testing.assert_allclose(
        r.observables[0, :, OB["lymphocytes"]], r.observables[1, :, OB["lymphocytes"]], rtol=1e-6
    )


def test_ciclosporin_doses_are_compiled_only_for_the_autoimmune_model():
    from marrowsim.model.transplant import transplant_events

    ps = default_parameters()
    values = {name: p.value for name, p in ps.items()}
    aml = scenario_from_mapping(DS.aml_transplant("x"))
    events, _ = transplant_events(aml, values)
    assert not [e for e in events if e[1] == EV_ADD_AUX and e[2] == L.AUX_CSA]
    saa = scenario_from_mapping(DS.saa_ist("y", (DS.CYCLOSPORINE,)))
    events, _ = transplant_events(saa, values)
    doses = [e for e in events if e[1] == EV_ADD_AUX and e[2] == L.AUX_CSA]
    assert len(doses) == 2 * 181 and doses[0][3] == 5.0  # twice daily, days 0-180, mg/kg


def test_transplant_arm_replaces_the_marrow_and_removes_the_autoreactive_t_cells():
    r = run([DS.saa_transplant(days=180)])
    assert on(r, 0, "donor_chimerism_myeloid", 100) > 0.95
    assert on(r, 0, "autoreactive_t_cells", 0) < 1e-3  # Cy + ATG
    assert on(r, 0, "autoreactive_t_cells", 180) < on(r, 0, "autoreactive_t_cells", 0)  # GvH
    assert on(r, 0, "anc", 180) > 1.0 and on(r, 0, "platelets_endogenous", 180) > 100


def test_residual_fraction_scales_the_first_day_and_the_constants_are_per_patient():
    mapping = {**DS.saa_ist("x", ()), "disease": {"residual_hsc_fraction": 0.2}}
    problem = compile_problem([scenario_from_mapping(mapping)], default_parameters())
    healthy = compile_problem(
        [scenario_from_mapping({**mapping, "disease": None, "patient": {**DS.SAA_PATIENT}})],
        default_parameters(),
    )
    for j in (L.HSC, L.MPP1, L.CMP, L.MKP):
        i = L.cell_index(L.HOST, j)
        assert problem.y0[0, i] == pytest.approx(0.2 * healthy.y0[0, i])
    assert problem.y0[0, L.aux_index(L.AUX_AUTOREACTIVE)] == 1.0
    assert healthy.y0[0, L.aux_index(L.AUX_AUTOREACTIVE)] == 0.0
    assert (
        problem.constants[0, K.K_AUTOIMMUNE_KILL] > 0 == healthy.constants[0, K.K_AUTOIMMUNE_KILL]
    )


def test_saa_criteria_two_of_three():
    anc = np.array([0.4, 0.4, 1.0, 1.0, np.nan])
    retic = np.array([50, 70, 50, 70, 50.0])
    plt = np.array([30, 10, 10, 10, 10.0])
    np.testing.assert_array_equal(saa_criteria_batch(anc, retic, plt)[:4], [1, 1, 1, 0])
    assert np.isnan(saa_criteria_batch(anc, retic, plt)[4])


def test_response_rate_counts_only_patients_with_saa_on_day_0():
    from marrowsim.validation.population import simulate_population

    ps = default_parameters()
    pop = simulate_population(DS.saa_ist("p", DS.IST_REGIMENS["hATG+CsA"]), 12, seed=1,
                              parameters=ps)  # fmt: skip
    rate, eligible = DS.response_rate(pop)
    assert 0 < eligible <= 12 and 0.0 <= rate <= 1.0
