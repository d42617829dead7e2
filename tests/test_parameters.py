"""The parameter registry, priors and patient draws."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from marrowsim import default_parameters, load_scenario
from marrowsim.compile import sample_patient_values
from marrowsim.errors import InputError, UnknownNameError
from marrowsim.parameters import Parameter, ParameterSet, Prior
from marrowsim.parameters.priors import draw_parameter, sample_values, varying_parameters


def _param(**changes) -> Parameter:
    base = Parameter("x", 2.0, "1/day", "a rate", "Test2020", location="Table 1")
    return replace(base, **changes)


def test_registry_is_complete_and_names_are_checked():
    ps = default_parameters()
    assert len(ps) > 50 and ps["hsc_division_rate"].source == "Catlin2011"
    assert ps.value("rbc_lifespan_days") == 115.0
    with pytest.raises(UnknownNameError, match="did you mean 'rbc_lifespan_days'"):
        ps["rbc_lifespan_day"]
    changed = ps.with_values(rbc_lifespan_days=120.0)
    assert changed.value("rbc_lifespan_days") == 120.0 and ps.value("rbc_lifespan_days") == 115.0
    with pytest.raises(InputError, match="outside its bounds"):
        ps.with_values(rbc_lifespan_days=20.0)


@pytest.mark.parametrize(
    ("prior", "check"),
    [
        (Prior("lognormal", cv=0.2), lambda a: abs(np.median(a) / 2.0 - 1) < 0.02),
        (Prior("normal", sd=0.1), lambda a: abs(a.mean() - 2.0) < 0.01),
        (Prior("fixed"), lambda a: np.all(a == 2.0)),
    ],
)
def test_draws_follow_the_prior(prior, check):
    values = draw_parameter(_param(prior=prior), 20_000, np.random.default_rng(1))
    assert values.shape == (20_000,) and check(values)


def test_draws_are_truncated_to_the_bounds_not_clipped():
    p = _param(prior=Prior("lognormal", cv=0.5), bounds=(1.5, 2.5))
    values = draw_parameter(p, 10_000, np.random.default_rng(2))
    assert values.min() >= 1.5 and values.max() <= 2.5
    assert np.mean(values == 1.5) == 0 and np.mean(values == 2.5) == 0
    uniform = draw_parameter(
        _param(prior=Prior("uniform"), bounds=(1, 3)), 1000, np.random.default_rng(3)
    )
    assert uniform.min() >= 1 and uniform.max() <= 3
    logit = _param(value=0.8, prior=Prior("logitnormal", sd=1.0))
    fractions = draw_parameter(logit, 1000, np.random.default_rng(4))
    assert fractions.min() > 0 and fractions.max() < 1


@pytest.mark.parametrize(
    ("param", "message"),
    [
        (_param(value=-1.0, prior=Prior("lognormal", cv=0.1)), "lognormal prior needs a positive"),
        (_param(prior=Prior("uniform")), "uniform prior needs bounds"),
        (_param(value=2.0, prior=Prior("logitnormal", sd=0.1)), "logit-normal prior needs a value"),
        (
            _param(value=2.0, prior=Prior("normal", sd=1e-6), bounds=(2.0, 2.0 + 1e-12)),
            "almost no mass inside bounds",
        ),
    ],
)
def test_impossible_priors_are_refused(param, message):
    with pytest.raises(InputError, match=message):
        draw_parameter(param, 100, np.random.default_rng(0))


def test_prior_and_parameter_validation():
    with pytest.raises(InputError, match="unknown prior distribution 'gamma'"):
        Prior("gamma")
    with pytest.raises(InputError, match="non-negative"):
        Prior("lognormal", cv=-1)
    with pytest.raises(InputError, match="gives no reason"):
        _param(source="assumption")


def test_sample_values_is_seeded_and_names_can_be_chosen():
    ps = default_parameters()
    a, b = sample_values(ps, 50, seed=3), sample_values(ps, 50, seed=3)
    assert list(a) == varying_parameters(ps) and all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(
        a["anc_steady_state"], sample_values(ps, 50, seed=4)["anc_steady_state"]
    )
    only = sample_values(ps, 5, seed=0, names=["rbc_lifespan_days"])
    assert list(only) == ["rbc_lifespan_days"]
    with pytest.raises(InputError, match="at least 1"):
        sample_values(ps, 0)


def test_patients_without_a_steady_state_are_redrawn_or_refused(monkeypatch):
    from marrowsim.compile import patient_heights
    from marrowsim.model.steady_state import feasible_patients

    ps = default_parameters()
    scenarios = [load_scenario("healthy-adult")] * 300
    values = sample_patient_values(scenarios, ps, seed=5)
    merged = {k: np.full(300, p.value) for k, p in ps.items()} | values
    weight = np.full(300, scenarios[0].patient.weight_kg)
    male = np.full(300, scenarios[0].patient.sex == "male")
    assert feasible_patients(merged, weight, patient_heights(scenarios, ps), male).all()
    # a CMP half-effect level below what the steady-state self-renewal allows: no draw is feasible
    low = replace(ps["cmp_demand_ec50"], value=0.3, prior=Prior())
    impossible = ParameterSet({**dict(ps.items()), "cmp_demand_ec50": low})
    monkeypatch.setattr("marrowsim.compile.MAX_REDRAWS", 3)
    with pytest.raises(InputError, match="no patient with a feasible steady state"):
        sample_patient_values(scenarios[:2], impossible, seed=0)
