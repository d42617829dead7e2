"""Healthy physiology measured in the simulation the way the cited studies measured it.

Rows 1-6 of anchors.md §8, with the SHIPPED parameters: steady-state counts, the mean survival of a
labelled red-cell cohort, the half-life of labelled blood neutrophils, the fall of platelets when
production stops, the mean HSC division interval and the number of active HSCs. Used by the
validation report and by ``tests/test_model_physiology.py``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from marrowsim.compile import compile_problem
from marrowsim.engine.events import EV_MOVE_CELLS, apply_event
from marrowsim.engine.problem import Problem
from marrowsim.engine.solve import solve
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.observables import OB
from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.scenario import Scenario, load_scenario, scenario_from_mapping

# an otherwise empty clone class that receives labelled cells (nothing else ever enters it)
LABEL_CLASS = L.EDITED
RED_CELLS = (L.RETB, L.RBC1, L.RBC2, L.RBC3, L.RBC4)  # circulating red cells (as Hb counts them)


def healthy(days: int = 365, *, sex: str = "male", perturbations=()) -> Scenario:
    """The built-in healthy adult, optionally female, with perturbations."""
    data = load_scenario("healthy-adult").model_dump()
    data["days"] = days
    data["perturbations"] = list(perturbations)
    data["patient"]["sex"] = sex
    data["patient"].pop("height_cm")  # the default height of that sex
    return scenario_from_mapping(data)


def compile_one(
    scenario: Scenario, values: dict | None = None, parameters: ParameterSet | None = None
) -> Problem:
    """A batch of one patient (default parameters unless given; ``values`` overrides)."""
    return compile_problem([scenario], parameters or default_parameters(), values)


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
    if int(problem.n_events.max(initial=0)) or int(problem.n_rules.max(initial=0)):
        raise ValueError("daily_states needs a problem without events or rules")
    states = [problem.y0[0].copy()]
    step = replace(problem, n_days=1)
    for _ in range(n_days):
        result = solve(step)
        states.append(result.final_state[0].copy())
        step = replace(step, y0=result.final_state.copy(), t_start=step.t_start + 1)
    return np.array(states)


def class_sum(states: np.ndarray, clone_class: int, compartments) -> np.ndarray:
    """Cells per kg of one clone class summed over compartments, per row of ``states``."""
    return sum(states[:, L.cell_index(clone_class, j)] for j in compartments)


def steady_state_counts(sex: str = "male", parameters: ParameterSet | None = None) -> dict:
    """Row 1: morning counts of the healthy adult (first day; the state does not move)."""
    obs = solve(compile_one(healthy(1, sex=sex), parameters=parameters)).observables[0, 0]
    names = ("anc", "wbc", "hb", "platelets", "reticulocytes", "rbc", "lymphocytes")
    return {n: float(obs[OB[n]]) for n in names}


def red_cell_survival_days(parameters: ParameterSet | None = None) -> float:
    """Row 2: mean circulating survival of a labelled birth cohort of red cells (area under the
    surviving fraction of the blood reticulocytes present at t = 0, over 700 days)."""
    problem = label(compile_one(healthy(1), parameters=parameters), (L.RETB,))
    labelled = class_sum(daily_states(problem, 700), LABEL_CLASS, RED_CELLS)
    return float(np.trapezoid(labelled / labelled[0], dx=1.0))


def neutrophil_half_life_hours(parameters: ParameterSet | None = None) -> float:
    """Row 3: blood half-life of labelled neutrophils (log-linear fit over three mornings)."""
    problem = label(compile_one(healthy(3), parameters=parameters), (L.NEU,))
    obs = solve(problem, rtol=1e-10, atol=1e-10).observables[0]
    labelled_anc = obs[:, OB["edited_fraction_myeloid"]] * obs[:, OB["anc"]]
    slope, _ = np.polyfit(np.arange(len(labelled_anc)), np.log(labelled_anc), 1)
    return float(np.log(2) / -slope * 24.0)


def platelet_fall_days(fraction: float = 0.05, parameters: ParameterSet | None = None) -> int:
    """Row 4: first morning with platelets below ``fraction`` of baseline when megakaryocytes shed
    no more platelets from t = 0 ("~0" read as below 5 %)."""
    problem = compile_one(healthy(30), parameters=parameters)
    constants = problem.constants.copy()
    constants[:, K.K_BURST] = 0.0
    obs = solve(replace(problem, constants=constants)).observables[0, :, OB["platelets"]]
    below = np.flatnonzero(obs / obs[0] < fraction)
    return int(below[0]) if len(below) else -1


def hsc_division_interval_weeks(parameters: ParameterSet | None = None) -> float:
    """Row 5: at steady state every HSC division sends on average one daughter to MPP1, so
    divisions per HSC per day = k_mpp * MPP1 / HSC (state after one simulated year)."""
    problem = compile_one(healthy(365), parameters=parameters)
    y, c = solve(problem).final_state[0], problem.constants[0]
    hsc = y[L.cell_index(L.HOST, L.HSC)]
    return float(hsc / (c[K.K_K_MPP] * y[L.cell_index(L.HOST, L.MPP1)]) / 7.0)


def active_hsc_number(parameters: ParameterSet | None = None) -> float:
    """Row 6: simulated HSC count of the 70-kg healthy adult."""
    obs = solve(compile_one(healthy(1), parameters=parameters)).observables[0, 0]
    return float(obs[OB["hsc"]])
