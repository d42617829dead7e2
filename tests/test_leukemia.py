"""The leukemia model (docs/disease.md §2): Stiehl 2015 hierarchy, niche competition, remission,
relapse, graft-versus-leukemia, extinction, relapse outcomes and relapse deaths.

Reference: Stiehl T, Baran N, Ho AD, Marciniak-Czochra A. Cancer Res 2015;75:940 (Fig. 3A, one
LSC per kg reaches 50 % leukemic marrow cells at ~175 d in the radivot/myelo reimplementation,
the calibration target of ``lsc_division_rate``).
"""

from __future__ import annotations

import numpy as np
import pytest

from marrowsim import Simulation, default_parameters
from marrowsim.compile import compile_problem
from marrowsim.disease_outcomes import relapse_day_batch
from marrowsim.engine.solve import solve
from marrowsim.model import layout as L
from marrowsim.model.leukemia import LEUKEMIC_COMPARTMENTS, lsc_growth_rate
from marrowsim.model.observables import OB
from marrowsim.outcomes import compute_outcomes
from marrowsim.scenario import scenario_from_mapping
from marrowsim.validation import disease_scenarios as DS


def run(mappings, parameters=None):
    scenarios = [scenario_from_mapping(m) for m in mappings]
    result = solve(compile_problem(scenarios, parameters or default_parameters()))
    assert (result.status == 0).all()
    return result


def blasts(result, i=0):
    return result.observables[i, :, OB["marrow_blasts_percent"]]


def test_one_lsc_per_kg_takes_over_the_marrow_at_the_calibrated_day_and_suppresses_normal_cells():
    result = run([DS.stiehl_untreated(days=365)])
    b, obs = blasts(result), result.observables[0]
    day50 = int(np.argmax(b >= 50))
    assert abs(day50 - 175) <= 3  # calibration target (typical patient)
    assert np.all(np.diff(b) >= -1e-9)  # leukemic cells only gain ground untreated
    np.testing.assert_allclose(b, 100 * obs[:, OB["marrow_blasts_fraction"]])
    assert obs[-1, OB["anc"]] < 0.25 * obs[0, OB["anc"]]  # shared feedback suppresses neutrophils
    assert obs[-1, OB["gcsf_relative"]] < 0.5  # blasts take up G-CSF
    # LSCs compete for the niche: they end up above the normal HSC count, normal HSCs persist
    assert obs[-1, OB["hsc_malignant"]] > obs[-1, OB["hsc_host"]] > 0.5 * obs[0, OB["hsc_host"]]


def test_mrd_fraction_sets_the_first_morning_and_the_clone_grows_in_its_eigen_proportions():
    mapping = {**DS.stiehl_untreated(days=20), "disease": {"mrd_fraction": 1e-6}}
    scenarios = [scenario_from_mapping(mapping)]
    problem = compile_problem(scenarios, default_parameters())
    result = solve(problem)
    assert result.observables[0, 0, OB["marrow_blasts_fraction"]] == pytest.approx(1e-6, rel=1e-9)
    o = L.MALIGNANT * L.N_COMPARTMENTS
    start = problem.y0[0, o : o + L.N_COMPARTMENTS]
    end = result.final_state[0, o : o + L.N_COMPARTMENTS]
    used = [j for j in LEUKEMIC_COMPARTMENTS if start[j] > 0]
    growth = np.log(end[used] / start[used]) / 20
    r = lsc_growth_rate(problem.constants, problem.class_modifiers[:, L.MALIGNANT, 0])[0]
    np.testing.assert_allclose(growth, r, rtol=0.02)  # every compartment grows at the LSC rate


def test_differentiation_lets_blasts_mature_into_blood_neutrophils():
    mapping = DS.stiehl_untreated(days=150)
    ps = default_parameters()
    blocked = run([mapping], ps).final_state[0]
    maturing = run([mapping], ps.with_values(leukemia_differentiation=0.5)).final_state[0]
    neu = L.cell_index(L.MALIGNANT, L.NEU)
    assert blocked[neu] == 0.0 and maturing[neu] > 1e6


def test_remission_after_conditioning_relapse_without_gvl_and_earlier_with_more_disease():
    mappings = [
        DS.aml_transplant("allo", mrd_fraction=1e-3),
        DS.aml_transplant("auto", relation="autologous", mrd_fraction=1e-3),
        DS.aml_transplant("auto-more", relation="autologous", mrd_fraction=1e-2),
    ]
    result = run(mappings)
    days = relapse_day_batch(result.days, result.observables[:, :, OB["marrow_blasts_percent"]])
    day0 = int(np.searchsorted(result.days, 0))
    lsc = result.observables[:, :, OB["hsc_malignant"]]
    for i in range(3):
        assert lsc[i, day0] < 0.05 * lsc[i, 0]  # conditioning kills leukemic stem cells
        assert blasts(result, i)[day0] < 5.0  # morphologic remission at infusion
    assert np.isnan(days[0])  # graft-versus-leukemia holds the residual disease below 5 %
    assert np.isfinite(days[1]) and np.isfinite(days[2])  # autologous graft: relapse
    assert days[2] < days[1]  # a higher burden relapses earlier


def test_t_cell_depletion_weakens_graft_versus_leukemia():
    # the same typical patient over a range of residual burdens: with the T-cell-depleted graft
    # the blasts peak higher in the first months and relapse comes no later, and at some burden
    # only the T-cell-depleted graft relapses (graft-versus-leukemia decides)
    burdens = (1e-3, 3e-3, 1e-2, 3e-2)
    mappings = []
    for mrd in burdens:
        mappings += [
            DS.aml_transplant(f"allo-{mrd}", mrd_fraction=mrd),
            DS.aml_transplant(f"tcd-{mrd}", mrd_fraction=mrd, cd34_selected=True),
        ]
    result = run(mappings)
    b = result.observables[:, :, OB["marrow_blasts_percent"]]
    days = relapse_day_batch(result.days, b)
    allo, tcd = days[0::2], days[1::2]
    early = (result.days >= 0) & (result.days <= 120)  # before T cells regrow from the graft
    assert np.all(b[1::2, early].max(axis=1) > b[0::2, early].max(axis=1))
    assert np.all(np.isnan(tcd) <= np.isnan(allo))  # no burden where only the allo graft relapses
    both = np.isfinite(allo) & np.isfinite(tcd)
    assert np.all(tcd[both] <= allo[both])
    assert np.any(np.isnan(allo) & np.isfinite(tcd))


def test_a_clone_below_one_stem_cell_is_extinct_and_never_relapses():
    result = run([DS.aml_transplant("auto-tiny", relation="autologous", mrd_fraction=1e-7)])
    o = L.MALIGNANT * L.N_COMPARTMENTS
    assert np.all(result.final_state[0, o : o + L.N_COMPARTMENTS] == 0.0)
    assert blasts(result)[-1] == 0.0


def test_leukemic_drug_sensitivity_scales_the_conditioning_kill():
    mapping = DS.aml_transplant("s", relation="autologous", mrd_fraction=1e-2, days=1)
    ps = default_parameters()
    lsc = []
    for s in (0.3, 0.6):
        r = run([mapping], ps.with_values(leukemia_drug_sensitivity=s))
        lsc.append(r.observables[0, -1, OB["hsc_malignant"]])  # day 1, after Bu/Cy
    # Bu/Cy: 12.8 mg/kg busulfan and 120 mg/kg cyclophosphamide, log-kill per unit dose of HSCs
    log_kill = 12.8 * ps.value("busulfan_log_kill_hsc") + 120 * ps.value(
        "cyclophosphamide_log_kill_hsc"
    )
    assert lsc[0] / lsc[1] == pytest.approx(10 ** (0.3 * log_kill), rel=0.05)


def test_relapse_outcomes_single_and_batch():
    sol = Simulation(scenario_from_mapping(DS.aml_transplant("auto", relation="autologous",
                                                             mrd_fraction=1e-3))).run()  # fmt: skip
    out = compute_outcomes(sol)
    assert out["relapse"] is True and out["relapse_day"] > 0
    assert "marrow_blasts_percent" in sol.data
    healthy = compute_outcomes(Simulation("healthy-adult").run())
    assert "relapse" not in healthy  # no leukemia: the endpoint does not apply


def test_relapse_day_definition():
    days = np.arange(-2, 6)
    b = np.array(
        [
            [50, 50, 1, 2, 6, 7, 1, 9],  # remission on day 0, relapse on day 2
            [50, 50, 8, 9, 9, 9, 9, 9],  # never in remission after day 0: no relapse
            [0, 0, 1, 1, 1, np.nan, np.nan, np.nan],  # failed integration, no relapse
            [0, 0, 0, 0, 0, 0, 0, 5],  # threshold is inclusive
        ],
        dtype=float,
    )
    out = relapse_day_batch(days, b)
    np.testing.assert_array_equal(out[[0, 3]], [2.0, 5.0])
    assert np.isnan(out[1]) and np.isnan(out[2])
    assert np.isnan(relapse_day_batch(np.arange(-3, 0), np.ones((1, 3))))[0]


def test_relapse_deaths_follow_the_simulated_relapse_day():
    from marrowsim.clinical import mortality as M

    n = 3
    outcomes = {
        "donor_relation": np.array(["matched_sibling"] * n),
        "hla_mismatches_8": np.zeros(n),
        "primary_graft_failure": np.zeros(n, bool),
        "days_anc_below_0_5": np.full(n, 10.0),
        "leukemia_modelled": np.array([True, True, False]),
        "relapse_day": np.array([100.0, np.nan, np.nan]),
    }
    covariates = {"age_years": np.full(n, 45.0), "hct_ci_score": np.zeros(n),
                  "diagnosis": np.array(["AML"] * n)}  # fmt: skip
    h = M.cumulative_hazards([50, 465], outcomes, covariates)["relapse"]
    rate = default_parameters().value("relapse_death_rate")
    np.testing.assert_allclose(h[0], [0.0, rate * 365])  # from the relapse day on
    np.testing.assert_array_equal(h[1], [0.0, 0.0])  # simulated, never relapsed
    assert h[2, 0] > 0  # not simulated: the constant relapse hazard
    bad = {**outcomes}
    del bad["relapse_day"]
    with pytest.raises(M.InputError, match="'leukemia_modelled' needs 'relapse_day'"):
        M.cumulative_hazards([50], bad, covariates)
