"""Cohort specifications: distributions, per-patient streams, plans and one-line input errors."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from marrowsim.cli import main
from marrowsim.cohort.distributions import Distribution
from marrowsim.cohort.plan import plan_cohort, sample_patients
from marrowsim.cohort.seeding import FATE_SLOTS, patient_uniforms
from marrowsim.errors import ScenarioError
from marrowsim.scenario import load_scenario, read_scenario_mapping, scenario_from_mapping

U = (np.arange(20_000) + 0.5) / 20_000  # an even grid of uniforms


def test_distribution_quantiles():
    tn = Distribution(distribution="truncnormal", mean=45, sd=12, low=18, high=65).quantile(U)
    assert tn.min() >= 18 and tn.max() <= 65 and abs(np.median(tn) - 45) < 1
    ln = Distribution(distribution="lognormal", median=75, cv=0.2).quantile(U)
    assert np.median(ln) == pytest.approx(75, rel=1e-3)
    assert ln.std() / ln.mean() == pytest.approx(0.2, rel=0.02)
    cut = Distribution(distribution="lognormal", median=75, cv=0.2, low=40, high=150).quantile(U)
    assert cut.min() >= 40 and cut.max() <= 150
    cat = Distribution(distribution="categorical", weights={"b": 1, "a": 3}).quantile(U)
    assert list(cat[:5]) == ["b"] * 5 and np.mean(cat == "a") == pytest.approx(0.75)
    un = Distribution(distribution="uniform", low=2, high=4).quantile(U)
    assert un.min() > 2 and un.max() < 4
    logit = Distribution(distribution="logitnormal", median=0.3, sd=0.5).truncated(0.2, 0.5)
    x = logit.quantile(U)
    assert x.min() >= 0.2 and x.max() <= 0.5


def test_patient_streams_do_not_depend_on_their_neighbours():
    alone = patient_uniforms(7, [1234], 50)
    among = patient_uniforms(7, [1233, 1234, 1235], 50)
    np.testing.assert_array_equal(alone[0], among[1])
    assert not np.array_equal(among[0], among[1])
    assert (among > 0).all() and (among < 1).all()
    assert not np.array_equal(patient_uniforms(8, [1234], 50), alone)


def test_plan_of_a_scenario_without_cohort_is_one_arm_with_prior_variability():
    plan = plan_cohort(load_scenario("allo-pbsc-mac"))
    assert plan.arm_names == ("main",) and plan.reference_arm == "main"
    assert not plan.arms[0].covariates
    priors = {n for n, p in plan.parameters.items() if p.prior.distribution != "fixed"}
    assert set(plan.variability) == priors
    sample = sample_patients(plan, 3, 10, 14)
    assert sample.fate_uniforms.shape == (4, FATE_SLOTS)
    for name, values in sample.parameter_values.items():
        lo, hi = plan.parameters[name].bounds or (-np.inf, np.inf)
        assert values.min() >= lo and values.max() <= hi, name


def test_arms_share_patients_and_parameters():
    plan = plan_cohort(load_scenario("allo-pbsc-vs-marrow"))
    assert plan.arm_names == ("pbsc", "marrow") and plan.reference_arm == "marrow"
    s = sample_patients(plan, 1, 0, 50)
    pbsc, marrow = s.covariates["pbsc"], s.covariates["marrow"]
    np.testing.assert_array_equal(pbsc["weight_kg"], marrow["weight_kg"])
    # paired doses: the same uniform, so the same rank in both arms
    assert (np.argsort(pbsc["graft_cd34_per_kg"]) == np.argsort(marrow["graft_cd34_per_kg"])).all()
    assert np.median(pbsc["graft_cd34_per_kg"]) > 2 * np.median(marrow["graft_cd34_per_kg"])
    assert "homing_fraction" in plan.variability  # registry priors apply to every arm


def test_parameter_variability_none_and_fixed_values():
    data, _ = read_scenario_mapping("allo-pbsc-mac")
    data["cohort"] = {
        "parameter_variability": "none",
        "variability": {"homing_fraction": {"distribution": "fixed", "value": 0.2}},
    }
    plan = plan_cohort(scenario_from_mapping(data))
    assert set(plan.variability) == {"homing_fraction"}
    s = sample_patients(plan, 0, 0, 3)
    assert list(s.parameter_values["homing_fraction"]) == [0.2, 0.2, 0.2]


BASE = """
name = "spec-test"
days = 20

[patient]
age_years = 50
weight_kg = 70
sex = "female"
diagnosis = "AML"

[donor]
relation = "matched_sibling"
hla_match = "8/8"

[graft]
source = "peripheral_blood"
cd34_per_kg = 5e6

[conditioning]
regimen = "BuCy"
"""


@pytest.mark.parametrize(
    ("cohort", "args", "expected"),
    [
        ("", ["--patients", "-5"], "--patients must be positive, got -5"),
        ("[cohort]\npatients = -5", [], "cohort.patients: Input should be greater than 0"),
        (
            '[cohort.covariates]\nweight_kg = { distribution = "gaussian", mean = 70, sd = 9 }',
            [],
            "unknown distribution 'gaussian'",
        ),
        (
            '[cohort.variability]\nhsc_divison_rate = "fixed"',
            [],
            "unknown parameter 'hsc_divison_rate'; did you mean 'hsc_division_rate'?",
        ),
        (
            '[cohort.arms.marrow.graf]\nsource = "bone_marrow"',
            [],
            "unknown arm section 'graf'; did you mean 'graft'?",
        ),
        ("[cohort.covariates]\nweigth_kg = 60", [], "did you mean 'weight_kg'?"),
        (
            '[cohort.covariates]\nweight_kg = { distribution = "normal", mean = 70, sd = 15 }',
            ["--patients", "5"],
            "can give values outside (0, 500] kg",
        ),
        (
            '[cohort.covariates]\nkarnofsky = { distribution = "uniform", low = 60, high = 100 }',
            ["--patients", "5"],
            "karnofsky takes whole numbers",
        ),
        (
            '[cohort.covariates]\nsex = { distribution = "categorical", weights = { x = 1 } }',
            ["--patients", "5"],
            "sex = 'x'",
        ),
        (
            "[cohort.variability]\n"
            'homing_fraction = { distribution = "uniform", low = 0, high = 2 }',
            ["--patients", "5"],
            "leaves the parameter's bounds",
        ),
        ("[cohort]\nreference_arm = 'c'\n[cohort.arms.a]\n[cohort.arms.b]", [], "arm 'c'"),
        ("", ["--patients", "5", "--chunk-size", "0"], "--chunk-size must be positive"),
        ("", ["--patients", "5", "--workers", "2", "--scheduler", "tcp://x:1"], "not both"),
        ("", ["--patients", "5", "--scheduler", "localhost:8786"], "tcp://HOST:8786"),
        ("", [], "give --patients N"),
    ],
)
def test_bad_cohort_input_is_one_line_and_exit_2(tmp_path, capsys, cohort, args, expected):
    path = tmp_path / "s.toml"
    path.write_text(BASE + "\n" + textwrap.dedent(cohort), encoding="utf-8")
    code = main(["cohort", str(path), "--out", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("marrowsim: error: ")
    assert expected in err
    assert not (tmp_path / "run" / "chunks").exists()


def test_spec_round_trips_through_with_overrides():
    sc = load_scenario("allo-pbsc-vs-marrow")
    assert sc.with_overrides(days=30).cohort == sc.cohort


def test_arm_scenarios_are_validated_as_a_whole(tmp_path):
    data, _ = read_scenario_mapping("allo-pbsc-vs-marrow")
    data["cohort"]["arms"]["marrow"]["graft"] = {"source": "cord_blood", "cd34_per_kg": 2e5}
    with pytest.raises(ScenarioError, match=r"cohort arm 'marrow'.*does not fit donor relation"):
        plan_cohort(scenario_from_mapping(data))
