"""Helpers shared by the model and engine tests: scenarios, batches, labelled cohorts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from marrowsim import default_parameters, load_scenario
from marrowsim.compile import compile_problem
from marrowsim.engine.events import EV_MOVE_CELLS, apply_event
from marrowsim.engine.problem import Problem
from marrowsim.engine.solve import solve
from marrowsim.model import layout as L
from marrowsim.model.observables import OB
from marrowsim.scenario import Scenario, scenario_from_mapping

# an otherwise empty clone class that receives labelled cells (nothing else ever enters it)
LABEL_CLASS = L.EDITED


def healthy(days: int = 365, *, sex: str = "male", perturbations=()) -> Scenario:
    """The built-in healthy adult, optionally female, with perturbations."""
    data = load_scenario("healthy-adult").model_dump()
    data["days"] = days
    data["perturbations"] = list(perturbations)
    data["patient"]["sex"] = sex
    data["patient"].pop("height_cm")  # the default height of that sex
    return scenario_from_mapping(data)


def compile_one(scenario: Scenario, values: dict | None = None) -> Problem:
    """A batch of one patient with the shipped default parameters (``values`` overrides)."""
    return compile_problem([scenario], default_parameters(), values)


def series(problem: Problem, name: str, **options) -> np.ndarray:
    """One observable of patient 0, one value per morning."""
    result = solve(problem, **options)
    assert result.status[0] == 0, result.status_messages()
    return result.observables[0, :, OB[name]]


def label(problem: Problem, compartments: tuple[int, ...]) -> Problem:
    """Move the host cells of ``compartments`` into :data:`LABEL_CLASS` at the start (the engine's
    own move event, applied to the initial state): a labelled cohort that has no production."""
    y0, active = problem.y0.copy(), problem.active.copy()
    for j in compartments:
        event = np.array([problem.t_start, EV_MOVE_CELLS, L.HOST, LABEL_CLASS, j, 0.0])
        for p in range(problem.n_patients):
            apply_event(event, y0[p], problem.constants[p], problem.class_modifiers[p], active[p])
    return replace(problem, y0=y0, active=active)


def daily_states(problem: Problem, n_days: int) -> np.ndarray:
    """Full state of patient 0 every morning, ``(n_days + 1, N_STATES)``: the engine is run one day
    at a time from the previous day's final state (no events or rules in ``problem``)."""
    assert int(problem.n_events.max(initial=0)) == 0 and int(problem.n_rules.max(initial=0)) == 0
    states = [problem.y0[0].copy()]
    step = replace(problem, n_days=1)
    for _ in range(n_days):
        result = solve(step)
        assert result.status[0] == 0, result.status_messages()
        states.append(result.final_state[0].copy())
        step = replace(step, y0=result.final_state.copy(), t_start=step.t_start + 1)
    return np.array(states)


def class_sum(states: np.ndarray, clone_class: int, compartments) -> np.ndarray:
    """Cells per kg of one clone class summed over compartments, per row of ``states``."""
    return sum(states[:, L.cell_index(clone_class, j)] for j in compartments)


def first_day(days: np.ndarray, condition: np.ndarray) -> int | None:
    """The first day on which ``condition`` holds, or ``None``."""
    hit = np.flatnonzero(condition)
    return int(days[hit[0]]) if len(hit) else None
