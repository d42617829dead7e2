"""SBML export (issue 6 item 5): the exported document, simulated by libroadrunner, reproduces
marrowsim's own daily morning observables, for the transplant model and for the disease models
(leukemia with its extinction rule, aplastic anemia, sickle cell disease and thalassaemia with
edited grafts, host-versus-graft rejection).

Both sides integrate tightly (engine: rtol = atol = 1e-10; CVODE in libroadrunner: 1e-10) so that
the comparison tests the exported equations, events and rules rather than either solver's
tolerance. Every observable on every morning must agree to 1e-4 relative; values below 1e-9 of
the observable's healthy level (at least 1e-9 in its units: e.g. a filgrastim level that decays
to 1e-80 after the course) are below both solvers' absolute tolerances and are compared
absolutely at that floor instead.
"""

from __future__ import annotations

from dataclasses import replace

import libsbml
import numpy as np
import pytest

from marrowsim import default_parameters, load_scenario
from marrowsim.cli import main
from marrowsim.compile import compile_problem, sample_patient_values
from marrowsim.engine.events import RULE_FILGRASTIM_UNTIL
from marrowsim.engine.solve import solve
from marrowsim.errors import InputError
from marrowsim.export import SBMLExportError, build_sbml, export_sbml, sbml_model
from marrowsim.export.roadrunner import MorningRunner
from marrowsim.export.sbml import validate
from marrowsim.export.symbolic import Context, TraceError, symbolic_twins
from marrowsim.export.units import missing_units
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.constants import CONSTANT_NAMES
from marrowsim.model.erythroid import protected_fraction
from marrowsim.model.observables import OB, OBSERVABLE_NAMES
from marrowsim.scenario import scenario_from_mapping
from marrowsim.validation.rejection_targets import haploidentical_marrow

pytest.importorskip("roadrunner")

RTOL = 1e-4
FLOOR = 1e-9  # relative to the observable's healthy level (at least 1 in its units)
TIGHT = {"rtol": 1e-10, "atol": 1e-10}
FILGRASTIM_UNTIL = "Filgrastim 5 ug/kg SC daily from day 5 until ANC > 0.5 10^9/L for 3 days"


def filgrastim_until_scenario():
    """Autologous melphalan transplant with G-CSF from day 5 until ANC > 0.5 for 3 days."""
    rules = ["Transfuse platelets when PLT < 10 10^9/L", "Transfuse RBC when Hb < 7 g/dL"]
    return load_scenario(
        "auto-myeloma-mel200", protocol={"steps": [FILGRASTIM_UNTIL], "rules": rules}
    )


def aml_extinction_scenario():
    """AML allograft (Bu/Cy, matched-sibling blood, ciclosporin + methotrexate) with residual
    disease of 1e-6 of the marrow: conditioning and graft-versus-leukemia take the leukemic stem
    cells below one cell and the extinction rule empties the malignant class."""
    return load_scenario("aml-allo-relapse-risk", days=200, disease={"mrd_fraction": 1e-6})


def haplo_rejection_scenario():
    """Sickle cell disease, haploidentical marrow after ATG, Flu/Cy and 2 Gy TBI with
    post-transplant cyclophosphamide (validation row of Bolanos-Meade 2019): host anti-donor T
    cells expand and reject the graft."""
    return scenario_from_mapping(haploidentical_marrow("haplo-ptcy-tbi2gy", 2.0))


def assert_round_trip(sbml: np.ndarray, engine: np.ndarray) -> None:
    floor = FLOOR * np.maximum(np.abs(engine[0]), 1.0)  # healthy level: the first morning
    for q, name in enumerate(OBSERVABLE_NAMES):
        np.testing.assert_allclose(sbml[:, q], engine[:, q], rtol=RTOL, atol=floor[q], err_msg=name)


CASES = {
    "healthy-adult": lambda: load_scenario("healthy-adult"),
    "hsc-loss": lambda: load_scenario("hsc-loss"),
    "allo-pbsc-mac": lambda: load_scenario("allo-pbsc-mac"),
    "filgrastim-until": filgrastim_until_scenario,
    "aml-allo-extinction": aml_extinction_scenario,
    "saa-ist-vs-transplant": lambda: load_scenario("saa-ist-vs-transplant"),
    "scd-exa-cel": lambda: load_scenario("scd-exa-cel"),
    "haplo-ptcy-rejection": haplo_rejection_scenario,
}
# the same check on the other built-in disease scenarios: each 3-12 s (mostly libroadrunner's
# compile), about 45 s together for what the cases above already cover; `make test-slow`
SLOW_CASES = {
    "aml-allo-relapse-risk": lambda: load_scenario("aml-allo-relapse-risk"),
    "aml-untreated": lambda: load_scenario("aml-untreated"),
    "tdt-exa-cel": lambda: load_scenario("tdt-exa-cel"),
    "scd-allo-nma-mixed-chimerism": lambda: load_scenario("scd-allo-nma-mixed-chimerism"),
    "urd-8of8-vs-7of8": lambda: load_scenario("urd-8of8-vs-7of8"),
}


def round_trip(scenario):
    """The engine's and libroadrunner's morning observables of the scenario's patient."""
    problem = compile_problem([scenario], default_parameters())
    engine = solve(problem, **TIGHT)
    runner = MorningRunner(sbml_model(scenario), **TIGHT)
    runner.set_patient(problem, 0)
    sbml = runner.morning_observables(problem.n_days)
    assert_round_trip(sbml, engine.observables[0])
    return problem, engine, sbml


@pytest.mark.parametrize("case", CASES)
def test_roadrunner_reproduces_the_engine(case):
    problem, engine, sbml = round_trip(CASES[case]())
    obs = engine.observables[0]
    if case == "allo-pbsc-mac":  # the rules acted: transfusions on the same mornings
        assert obs[:, OB["platelet_transfusion"]].sum() >= 1
    if case == "filgrastim-until":  # doses until ANC stayed above 0.5 for 3 mornings
        doses = obs[:, OB["filgrastim_dose"]]
        assert 0 < doses.sum() < 5.0 * (problem.n_days - 5)
        assert engine.rule_state[0, 3] == 1.0  # the course ended
    if case == "aml-allo-extinction":  # the extinction rule emptied the malignant class in both
        assert obs[0, OB["hsc_malignant"]] > 1.0
        o = L.MALIGNANT * L.N_COMPARTMENTS
        assert np.all(engine.final_state[0, o : o + L.N_COMPARTMENTS] == 0.0)
        assert sbml[-1, OB["hsc_malignant"]] == 0.0 and sbml[-1, OB["marrow_blasts_fraction"]] == 0
    if case == "saa-ist-vs-transplant":  # immunosuppression depletes the autoreactive T cells
        assert obs[0, OB["autoreactive_t_cells"]] == 1.0
        assert obs[:, OB["autoreactive_t_cells"]].min() < 0.5
    if case == "scd-exa-cel":  # edited red cells with HbF replace the sickle ones
        assert obs[-1, OB["edited_fraction_red_cells"]] > 0.5
        assert obs[-1, OB["hbf_protected_fraction"]] > 10 * obs[0, OB["hbf_protected_fraction"]]
    if case == "haplo-ptcy-rejection":  # host anti-donor T cells expand and reject the graft
        assert obs[:, OB["host_antidonor_t_cells"]].max() > 1e-3
        assert obs[:, OB["donor_chimerism_myeloid"]].max() > 0.1  # mixed chimerism first
        assert obs[-1, OB["donor_chimerism_myeloid"]] < 1e-6


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES)
def test_roadrunner_reproduces_the_engine_for_the_disease_scenarios(case):
    round_trip(SLOW_CASES[case]())


def test_protected_fraction_is_a_constant_recomputed_for_each_patient():
    """The lognormal tail of HbF per red cell (erfc: no SBML math) is a derived constant, which
    MorningRunner recomputes from another patient's class modifiers."""
    scenario = load_scenario("scd-exa-cel", days=60)
    problem = compile_problem([scenario], default_parameters())
    model = sbml_model(scenario)
    assert model.sources["protected_fraction_host"] == ("derived",)
    cm = problem.class_modifiers.copy()
    cm[0, L.HOST, K.CM_HBF_CV] *= 0.5
    cm[0, L.HOST, K.CM_HBF] *= 2.0
    other = replace(problem, class_modifiers=cm)
    c = problem.constants[0]
    mean_pg = cm[0, L.HOST, K.CM_HBF] * c[K.K_MCH] * cm[0, L.HOST, K.CM_MCH]
    expected = protected_fraction(mean_pg, cm[0, L.HOST, K.CM_HBF_CV], c[K.K_HBF_PROTECTIVE_PG])
    assert model.patient_values(other, 0)["protected_fraction_host"] == expected
    assert expected != model.patient_values(problem, 0)["protected_fraction_host"]
    engine = solve(other, **TIGHT)
    runner = MorningRunner(model, **TIGHT)
    runner.set_patient(other, 0)
    assert_round_trip(runner.morning_observables(other.n_days), engine.observables[0])


def test_one_document_serves_patients_drawn_from_the_priors():
    """The exported patient's document, given another patient's numbers, is that patient."""
    scenarios = [load_scenario("allo-pbsc-mac", days=40)] * 3
    parameters = default_parameters()
    values = sample_patient_values(scenarios, parameters, seed=11)
    problem = compile_problem(scenarios, parameters, values)
    engine = solve(problem, **TIGHT)
    runner = MorningRunner(build_sbml(problem, 0), **TIGHT)
    for p in (2, 1, 2):
        runner.set_patient(problem, p)
        assert_round_trip(runner.morning_observables(problem.n_days), engine.observables[p])


def test_document_is_valid_sbml_with_units_and_provenance(tmp_path):
    path = tmp_path / "allo.xml"
    model = export_sbml("allo-pbsc-mac", path)
    assert not list(tmp_path.glob(".*.tmp"))
    document = libsbml.readSBMLFromFile(str(path))
    assert document.getLevel() == 3 and document.getVersion() == 1
    document.checkConsistency()  # units included: warnings (unitless literals), never errors
    errors = [
        document.getError(i).getMessage()
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    assert errors == []
    assert missing_units() == []
    sbml = document.getModel()
    problem = compile_problem([load_scenario("allo-pbsc-mac")], default_parameters())
    for j, name in enumerate(CONSTANT_NAMES):
        parameter = sbml.getParameter(name)
        # libsbml writes 15 significant digits
        assert parameter.getValue() == pytest.approx(problem.constants[0, j], rel=1e-14)
        assert parameter.isSetUnits()
    assert 'copyOf="hsc_division_rate"' in sbml.getParameter("p_hsc").getAnnotationString()
    assert "host_versus_graft_rate" in sbml.getParameter("k_hvg").getAnnotationString()
    assert sbml.getSpecies("donor_hsc").getInitialConcentration() == 0.0
    assert sbml.getEvent("morning_clock").getPriority() is not None
    assert {p.getId() for p in sbml.getListOfParameters()} >= {
        f"morning_{name}" for name in OBSERVABLE_NAMES
    }
    assert model.sources["p_hsc"] == ("constant", CONSTANT_NAMES.index("p_hsc"))


def test_cli_export_and_its_input_errors(tmp_path, capsys):
    out = tmp_path / "model.xml"
    assert main(["export-sbml", "hsc-loss", "-o", str(out), "--days", "30"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert libsbml.readSBMLFromFile(str(out)).getModel().getSpecies("host_hsc") is not None
    bad = [
        (["export-sbml", "hsc-los", "-o", str(out)], "unknown scenario 'hsc-los'"),
        (["export-sbml", "hsc-loss", "-o", str(tmp_path / "no" / "x.xml")], "cannot write"),
        (["export-sbml", "hsc-loss", "-o", str(tmp_path)], "cannot write"),
        (["export-sbml", "hsc-loss", "-o", str(out), "--days", "-3"], "--days must be positive"),
    ]
    for argv, message in bad:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err


def test_a_branch_on_the_state_cannot_be_traced():
    from numba import njit

    @njit
    def branchy(x):
        if x > 0.0:
            return x
        return -x

    twin = symbolic_twins({"f": branchy})["f"]
    with pytest.raises(TraceError, match="write it with max"):
        twin(Context().sym("x"))
    assert twin(2.0) == 2.0


def test_a_protected_fraction_that_depends_on_the_state_is_refused():
    """Its twin is a constant of the patient; on a state it would need erfc, which SBML lacks."""
    from marrowsim.export.trace import _protected_fraction

    ctx = Context({"cv": 0.8, "threshold": 10.0, "mean": 2.4})
    derived = {}
    twin = _protected_fraction(ctx, derived)
    assert twin(2.4, 0.8, 10.0) == protected_fraction(2.4, 0.8, 10.0)  # numbers: the function
    k = L.HOST  # noqa: F841 - the twin names the constant after the caller's clone class
    constant = twin(ctx.sym("mean"), ctx.sym("cv"), ctx.sym("threshold"))
    assert constant.value == "protected_fraction_host"
    assert ctx.values["protected_fraction_host"] == protected_fraction(2.4, 0.8, 10.0)
    with pytest.raises(TraceError, match="depends on the state"):
        twin(ctx.sym("host_hsc"), ctx.sym("cv"), ctx.sym("threshold"))


def test_more_than_one_filgrastim_until_rule_or_an_unknown_rule_is_refused():
    problem = compile_problem([filgrastim_until_scenario()], default_parameters())
    n = int(problem.n_rules[0])
    until = [r for r in range(n) if problem.rules[0, r, 0] == RULE_FILGRASTIM_UNTIL]
    assert len(until) == 1
    twice = np.concatenate([problem.rules, problem.rules[:, until]], axis=1)
    with pytest.raises(InputError, match="only one filgrastim 'until' rule"):
        build_sbml(replace(problem, rules=twice, n_rules=problem.n_rules + 1))
    unknown = twice.copy()
    unknown[0, -1, 0] = 99
    with pytest.raises(InputError, match="morning rule kind 99"):
        build_sbml(replace(problem, rules=unknown, n_rules=problem.n_rules + 1))


def test_validation_errors_are_one_line():
    document = libsbml.SBMLDocument(3, 1)
    model = document.createModel()
    parameter = model.createParameter()
    parameter.setId("x")
    parameter.setConstant(True)
    rule = model.createRateRule()  # a rate rule on a constant parameter is invalid
    rule.setVariable("x")
    rule.setMath(libsbml.parseL3Formula("1"))
    with pytest.raises(SBMLExportError, match="not valid"):
        validate(document)
