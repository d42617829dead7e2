"""Compile scenarios into an engine :class:`~marrowsim.engine.problem.Problem`.

Units are already canonical in a validated scenario; here text and covariates become arrays:
constants derived from parameters and the patient, the initial state, events and morning rules.
Later stories (conditioning, graft, disease, editing) add their events through ``EVENT_BUILDERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from marrowsim.engine.events import EV_SCALE_CELLS
from marrowsim.engine.problem import Problem, pack_events, pack_rules
from marrowsim.errors import InputError
from marrowsim.model import layout as L
from marrowsim.model.steady_state import (
    default_class_modifiers,
    derive_constants,
    feasible_patients,
    steady_state,
)
from marrowsim.parameters import ParameterSet
from marrowsim.parameters.patient_values import PatientValues
from marrowsim.parameters.priors import MAX_REDRAWS, sample_values
from marrowsim.scenario import Scenario

Event = tuple[float, int, float, float, float, float]
Rule = tuple[int, float, float, float, float]
# (scenario, parameter values of that patient) -> (events, rules)
EventBuilder = Callable[[Scenario, Mapping[str, float]], tuple[list[Event], list[Rule]]]
EVENT_BUILDERS: list[EventBuilder] = []


def perturbation_events(scenario: Scenario, values: Mapping[str, float]) -> tuple[list, list]:
    """Instantaneous cell losses listed in ``[[perturbations]]``."""
    events: list[Event] = []
    for p in scenario.perturbations:
        k = -1 if p.clone_class == "all" else L.CLASS_NAMES.index(p.clone_class)
        j = -1 if p.compartment == "all" else L.COMPARTMENT_NAMES.index(p.compartment)
        events.append((float(p.day), EV_SCALE_CELLS, k, j, p.surviving_fraction, 0.0))
    return events, []


def _transplant(scenario: Scenario, values: Mapping[str, float]) -> tuple[list, list]:
    from marrowsim.model.transplant import transplant_events

    return transplant_events(scenario, values)


def _disease(scenario: Scenario, values: Mapping[str, float]) -> tuple[list, list]:
    from marrowsim.model.disease import disease_rules

    return disease_rules(scenario, values)


EVENT_BUILDERS.append(perturbation_events)
EVENT_BUILDERS.append(_transplant)
EVENT_BUILDERS.append(_disease)


def patient_heights(scenarios: Sequence[Scenario], parameters: ParameterSet) -> np.ndarray:
    """Height of each patient in cm (a default by sex when the scenario gives none)."""
    return np.array(
        [
            s.patient.height_cm
            if s.patient.height_cm is not None
            else parameters.value(f"default_height_{s.patient.sex}_cm")
            for s in scenarios
        ]
    )


def _merged_values(
    n: int, parameters: ParameterSet, values: Mapping[str, np.ndarray] | None
) -> dict[str, np.ndarray]:
    """Every parameter as an array of length ``n``: the set's value unless ``values`` overrides."""
    merged: dict[str, np.ndarray] = {k: np.full(n, p.value) for k, p in parameters.items()}
    for name, arr in (values or {}).items():
        parameters[name]  # unknown names raise UnknownNameError with a suggestion
        arr = np.asarray(arr, dtype=float)
        if arr.shape not in ((), (n,)):
            raise InputError(f"parameter {name!r}: expected {n} values, got shape {arr.shape}")
        merged[name] = np.broadcast_to(arr, (n,)).copy()
    return merged


def _covariates(scenarios: Sequence[Scenario], parameters: ParameterSet):
    weight = np.array([s.patient.weight_kg for s in scenarios])
    male = np.array([s.patient.sex == "male" for s in scenarios])
    return weight, patient_heights(scenarios, parameters), male


def sample_patient_values(
    scenarios: Sequence[Scenario],
    parameters: ParameterSet,
    *,
    seed: int | np.random.Generator = 0,
) -> dict[str, np.ndarray]:
    """Per-patient parameter values drawn from the priors, one patient per scenario.

    A patient whose draw has no feasible healthy steady state (see ``docs/model.md``) is drawn
    again, so the result is the prior conditioned on feasibility. Reproducible from ``seed``.
    """
    n = len(scenarios)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    drawn = sample_values(parameters, n, seed=rng)
    weight, height, male = _covariates(scenarios, parameters)
    todo = np.arange(n)
    for _ in range(MAX_REDRAWS):
        ok = feasible_patients(
            _merged_values(len(todo), parameters, {k: v[todo] for k, v in drawn.items()}),
            weight[todo],
            height[todo],
            male[todo],
        )
        todo = todo[~ok]
        if len(todo) == 0:
            return drawn
        redraw = sample_values(parameters, len(todo), seed=rng)
        for name, arr in redraw.items():
            drawn[name][todo] = arr
    raise InputError("the priors give almost no patient with a feasible steady state")


def compile_problem(
    scenarios: Sequence[Scenario],
    parameters: ParameterSet,
    values: Mapping[str, np.ndarray] | None = None,
) -> Problem:
    """Build one batch. ``values`` overrides parameter values per patient (arrays of length P)."""
    if not scenarios:
        raise InputError("no scenarios to compile")
    from marrowsim.clinical.graft_from_collection import resolve_graft_from_collection

    resolved: dict[int, Scenario] = {}  # a cohort shares scenario objects: resolve each once
    scenarios = [
        resolved.setdefault(id(s), resolve_graft_from_collection(s, parameters)) for s in scenarios
    ]
    first, days = scenarios[0].first_day, scenarios[0].days
    distinct = {id(s): s for s in scenarios}.values()  # first_day parses the protocol
    if any(s.first_day != first or s.days != days for s in distinct):
        raise InputError("all patients of a batch must share start_day and days")
    n = len(scenarios)
    merged = _merged_values(n, parameters, values)
    weight, height, male = _covariates(scenarios, parameters)
    constants = derive_constants(merged, weight, height, male)
    y0 = steady_state(constants)
    from marrowsim.model.transplant import donor_antigen_ec50

    donor_antigen_ec50(constants, y0, merged)  # needs the healthy steady state
    class_mods = default_class_modifiers(n)
    active = np.zeros((n, L.N_CLASSES), dtype=bool)
    active[:, L.HOST] = True
    per_state = np.maximum(y0[:, : L.N_COMPARTMENTS], 1.0)
    scale = np.concatenate([np.tile(per_state, (1, L.N_CLASSES)), np.ones((n, L.N_AUX))], axis=1)
    from marrowsim.model.disease import prepare_disease  # leukemia, aplastic anemia

    prepare_disease(scenarios, merged, constants, y0, class_mods, active, scale)

    # erythroid phenotypes per class; sickle cell disease / thalassaemia start at their disease
    # steady state (clinical/erythroid.py)
    from marrowsim.clinical.erythroid import apply_erythroid_disease

    y0 = apply_erythroid_disease(scenarios, merged, constants, class_mods, y0, active, scale)

    all_events, all_rules = [], []
    for i, s in enumerate(scenarios):
        pv = PatientValues(merged, i)
        evs: list[Event] = []
        rules: list[Rule] = []
        for builder in EVENT_BUILDERS:
            e, r = builder(s, pv)
            evs += e
            rules += r
        all_events.append(evs)
        all_rules.append(rules)
        if s.donor is not None:
            from marrowsim.model import constants as K
            from marrowsim.model.transplant import alloimmunity_rates, host_effector_rates

            constants[i, K.K_K_HVG], constants[i, K.K_K_GVH] = alloimmunity_rates(s, pv)
            constants[i, K.K_HVG_EXPANSION], constants[i, K.K_HVG_PRECURSOR] = host_effector_rates(
                s, pv
            )
    events, n_events = pack_events(all_events)
    rules_arr, n_rules = pack_rules(all_rules)
    return Problem(
        y0=y0,
        constants=constants,
        class_modifiers=class_mods,
        active=active,
        scale=scale,
        t_start=first,
        n_days=days - first if first < 0 else days,
        events=events,
        n_events=n_events,
        rules=rules_arr,
        n_rules=n_rules,
    )
