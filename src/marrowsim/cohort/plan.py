"""Resolve a scenario's ``[cohort]`` into a plan: arm scenarios, covariate and parameter draws.

A plan is checked once, up front, so that every patient later built from it is valid without
re-validating each one (patients are made with ``model_copy``, ~10 µs instead of ~150 µs):

* each arm's scenario (base scenario with the arm's sections) validates as a whole;
* a numeric covariate's distribution can only produce values its scenario field accepts (for
  example a weight drawn from a normal could be negative: use truncnormal or lognormal with
  ``low``/``high``); integer covariates are categorical; every category of a categorical
  covariate gives a valid scenario in every arm;
* a parameter's variability has its keys, stays inside the parameter's bounds (priors with
  unbounded support are truncated to the bounds) and fits its distribution.

A scenario without ``[cohort]`` is one arm, ``main``, whose patients all have the scenario's
covariates and whose parameters follow their registry priors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marrowsim.cohort.distributions import Distribution
from marrowsim.cohort.seeding import StreamLayout, patient_uniforms
from marrowsim.cohort.spec import COVARIATE_BY_NAME, COVARIATE_NAMES, CohortSpec
from marrowsim.errors import ScenarioError
from marrowsim.parameters import Parameter, ParameterSet, default_parameters
from marrowsim.scenario import Scenario, scenario_from_mapping


@dataclass(frozen=True)
class ArmPlan:
    """One arm: its validated template scenario and the covariates sampled for it."""

    name: str
    description: str
    scenario: Scenario
    covariates: Mapping[str, Distribution]  # sampled covariates only


@dataclass(frozen=True)
class CohortPlan:
    """Everything a chunk needs to build its patients (picklable)."""

    scenario: Scenario
    arms: tuple[ArmPlan, ...]
    reference_arm: str
    parameters: ParameterSet
    variability: Mapping[str, Distribution]  # varied (or fixed-overridden) parameters
    layout: StreamLayout = field(repr=False)

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.arms)

    def describe_variability(self) -> dict[str, str]:
        return {name: d.describe() for name, d in sorted(self.variability.items())}


def _fail(where: str, message: str) -> ScenarioError:
    return ScenarioError(f"scenario {where}: {message}")


def prior_distribution(p: Parameter) -> Distribution | None:
    """The between-patient distribution of a parameter from its registry prior (None: fixed)."""
    prior = p.prior
    lo, hi = p.bounds if p.bounds is not None else (None, None)
    kind = prior.distribution
    if (
        kind == "fixed"
        or (kind == "lognormal" and prior.cv == 0)
        or (kind in ("normal", "logitnormal") and prior.sd == 0)
    ):
        return None
    if kind == "lognormal":
        dist = Distribution(distribution="lognormal", median=p.value, cv=prior.cv)
    elif kind == "normal":
        dist = Distribution(distribution="normal", mean=p.value, sd=prior.sd)
    elif kind == "logitnormal":
        dist = Distribution(distribution="logitnormal", median=p.value, sd=prior.sd)
    elif kind == "uniform":
        if p.bounds is None:
            raise ScenarioError(f"parameter {p.name!r}: a uniform prior needs bounds")
        return Distribution(distribution="uniform", low=lo, high=hi)
    else:  # pragma: no cover - Prior validates its names
        raise ScenarioError(f"parameter {p.name!r}: unknown prior {kind!r}")
    return dist.truncated(lo, hi)


def _parameter_variability(
    spec: CohortSpec, parameters: ParameterSet, where: str
) -> dict[str, Distribution]:
    out: dict[str, Distribution] = {}
    for name, p in parameters.items():
        override = spec.variability.get(name)
        if override is None:
            dist = prior_distribution(p) if spec.parameter_variability == "prior" else None
            if dist is not None:
                out[name] = dist
            continue
        where_p = f"{where}: cohort.variability.{name}"
        if override.distribution == "categorical":
            raise _fail(where_p, "categorical is for covariates, not parameters")
        if override.distribution == "fixed" and override.value is None:
            continue  # no variability: the registry value
        if override.distribution == "fixed" and not isinstance(override.value, float | int):
            raise _fail(where_p, f"a fixed value must be a number, got {override.value!r}")
        dist = override.with_centre(p.value)
        try:
            dist = Distribution.model_validate(dist.model_dump())  # centre-dependent checks
        except ValueError as exc:
            raise _fail(where_p, str(exc).splitlines()[-1].strip()) from None
        lo, hi = dist.support()
        if p.bounds is not None:
            b_lo, b_hi = p.bounds
            if dist.distribution in ("fixed", "uniform") and (lo < b_lo or hi > b_hi):
                raise _fail(
                    where_p,
                    f"{dist.describe()} leaves the parameter's bounds [{b_lo}, {b_hi}] "
                    f"(units: {p.units})",
                )
            dist = dist.truncated(b_lo, b_hi)
        out[name] = dist
    return out


def _field_range(cov_name: str) -> tuple[float, float, bool, bool]:
    """(low, high, low_inclusive, high_inclusive) a scenario field accepts."""
    from marrowsim.clinical.transplant_spec import Donor, Graft
    from marrowsim.scenario import Patient

    cov = COVARIATE_BY_NAME[cov_name]
    if cov.section is None:
        return 0.0, math.inf, True, True
    model = {"patient": Patient, "donor": Donor, "graft": Graft}[cov.section]
    lo, hi, lo_in, hi_in = -math.inf, math.inf, True, True
    for m in model.model_fields[cov.field].metadata:  # type: ignore[index]
        for attr, is_low, inclusive in (("ge", 1, 1), ("gt", 1, 0), ("le", 0, 1), ("lt", 0, 0)):
            value = getattr(m, attr, None)
            if value is None:
                continue
            if is_low:
                lo, lo_in = float(value), bool(inclusive)
            else:
                hi, hi_in = float(value), bool(inclusive)
    return lo, hi, lo_in, hi_in


def _check_numeric(name: str, dist: Distribution, where: str) -> None:
    cov = COVARIATE_BY_NAME[name]
    if dist.distribution == "categorical":
        if cov.kind == "float":
            for label in dist.categories:
                _number(label, name, where)
        else:
            for label in dist.categories:
                if not label.lstrip("-").isdigit():
                    raise _fail(where, f"{name} categories must be integers, got {label!r}")
        values = [float(x) for x in dist.categories]
        lo, hi = min(values), max(values)
    else:
        if cov.kind == "int" and dist.distribution != "fixed":
            raise _fail(
                where,
                f"{name} takes whole numbers: use a categorical distribution (weights = "
                f'{{ "90" = 0.5, "80" = 0.5 }}) or a fixed value, not {dist.distribution}',
            )
        lo, hi = dist.support()
        if dist.distribution == "fixed":
            lo = hi = _number(dist.value, name, where)
    f_lo, f_hi, lo_in, hi_in = _field_range(name)
    open_low = dist.distribution == "lognormal" and (dist.low is None or dist.low <= 0)
    low_ok = lo > f_lo or (lo == f_lo and (lo_in or open_low))
    high_ok = hi < f_hi or (hi == f_hi and hi_in)
    if not (low_ok and high_ok):
        allowed = f"{'[' if lo_in else '('}{f_lo:g}, {f_hi:g}{']' if hi_in else ')'}"
        raise _fail(
            where,
            f"{name} = {dist.describe()} can give values outside {allowed} "
            f"{cov.units}; restrict it with low/high (truncnormal, lognormal or uniform)",
        )


def _number(value: Any, name: str, where: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _fail(where, f"{name} must be a number, got {value!r}") from None


def _arm_mapping(base: dict[str, Any], sections: Mapping[str, Any]) -> dict[str, Any]:
    data = {k: v for k, v in base.items() if k != "cohort"}
    data.update(sections)
    return data


def _covariate_values(name: str, dist: Distribution) -> list[Any]:
    """Representative values to validate an arm with: every category, or the distribution's
    median for a numeric one."""
    if dist.distribution == "categorical":
        return [_typed(name, c) for c in dist.categories]
    return [_typed(name, dist.quantile(np.array([0.5]))[0])]


def _typed(name: str, value: Any) -> Any:
    kind = COVARIATE_BY_NAME[name].kind
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    return str(value)


def with_covariates(template: Scenario, values: Mapping[str, Any]) -> Scenario:
    """``template`` with covariate values put in their scenario fields (no re-validation: the
    plan checked the ranges)."""
    by_section: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        cov = COVARIATE_BY_NAME[name]
        if cov.section is not None:
            by_section.setdefault(cov.section, {})[cov.field] = value  # type: ignore[index]
    update = {
        section: getattr(template, section).model_copy(update=fields)
        for section, fields in by_section.items()
    }
    return template.model_copy(update=update) if update else template


def _check_arm(arm: ArmPlan, where: str) -> None:
    for name, dist in arm.covariates.items():
        cov = COVARIATE_BY_NAME[name]
        w = f"{where}, arm {arm.name!r}"
        if cov.section is not None and getattr(arm.scenario, cov.section) is None:
            raise _fail(w, f"covariate {name} needs a [{cov.section}] section in this arm")
        if cov.kind in ("float", "int"):
            _check_numeric(name, dist, w)
        elif dist.distribution not in ("categorical", "fixed"):
            raise _fail(
                w, f"{name} is categorical: use categorical or fixed, not {dist.distribution}"
            )
        data = arm.scenario.model_dump()
        for value in _covariate_values(name, dist):
            trial = dict(data)
            if cov.section is not None:
                trial[cov.section] = {**data[cov.section], cov.field: value}
            scenario_from_mapping(trial, where=f"scenario {w}: {name} = {value!r}")


def plan_cohort(scenario: Scenario, parameters: ParameterSet | None = None) -> CohortPlan:
    """Check the ``[cohort]`` section of ``scenario`` and resolve it into a :class:`CohortPlan`.

    Raises :class:`~marrowsim.errors.ScenarioError` (one line) for anything that does not fit.
    """
    parameters = parameters if parameters is not None else default_parameters()
    spec = scenario.cohort or CohortSpec()
    where = repr(scenario.name)
    base = scenario.model_dump()
    arms = []
    for name in spec.arm_names:
        arm_spec = spec.arms.get(name)
        sections = arm_spec.sections if arm_spec else {}
        template = scenario_from_mapping(
            _arm_mapping(base, sections), where=f"scenario {where}, cohort arm {name!r}"
        )
        covariates = dict(spec.covariates)
        if arm_spec is not None:
            covariates.update(arm_spec.covariates)
        ordered = {k: covariates[k] for k in COVARIATE_NAMES if k in covariates}
        arm = ArmPlan(name, arm_spec.description if arm_spec else "", template, ordered)
        _check_arm(arm, where)
        arms.append(arm)
    variability = _parameter_variability(spec, parameters, where)
    layout = StreamLayout(covariates=COVARIATE_NAMES, parameters=tuple(parameters))
    reference = spec.reference_arm or arms[0].name
    return CohortPlan(scenario, tuple(arms), reference, parameters, variability, layout)


@dataclass(frozen=True)
class ChunkSample:
    """The draws of patients ``first .. stop-1``: shared parameter values and fate uniforms,
    covariates per arm (arrays of length ``stop - first``)."""

    first: int
    stop: int
    parameter_values: dict[str, np.ndarray]
    covariates: dict[str, dict[str, np.ndarray]]  # arm -> covariate -> values
    fate_uniforms: np.ndarray

    @property
    def patients(self) -> np.ndarray:
        return np.arange(self.first, self.stop, dtype=np.int64)


def sample_patients(plan: CohortPlan, seed: int, first: int, stop: int) -> ChunkSample:
    """Draw patients ``first .. stop-1`` from their own random streams."""
    layout = plan.layout
    u = patient_uniforms(seed, np.arange(first, stop), layout.width)
    values = {
        name: np.asarray(dist.quantile(u[:, layout.parameter_slot(name)]), dtype=float)
        for name, dist in plan.variability.items()
    }
    covariates = {
        arm.name: {
            name: dist.quantile(u[:, layout.covariate_slot(name)])
            for name, dist in arm.covariates.items()
        }
        for arm in plan.arms
    }
    return ChunkSample(first, stop, values, covariates, u[:, layout.fate_slots].copy())
