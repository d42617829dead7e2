"""Baselines and accuracy measures for the benchmarks (not part of the package).

The baseline is a plain loop of ``scipy.integrate.solve_ivp`` over patients on the SAME compiled
right-hand side (``marrowsim.model.rhs.rhs``), one call per event-free segment with ``t_eval`` at
the mornings: the most favourable way to drive LSODA (no restart every day, unlike the engine's
test reference ``engine/reference.py``, which restarts every morning to apply rules).
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from marrowsim.engine.events import N_RULE_STATE, apply_event, apply_rules
from marrowsim.engine.problem import Problem
from marrowsim.model.observables import N_OBSERVABLES, observe
from marrowsim.model.rhs import rhs


def solve_ivp_loop(
    problem: Problem,
    patients: np.ndarray,
    *,
    method: str,
    rtol: float,
    atol: float,
    max_step: float = np.inf,
) -> np.ndarray:
    """Morning observables ``(len(patients), days + 1, N_OBSERVABLES)`` from a solve_ivp loop."""
    out = np.full((len(patients), problem.n_days + 1, N_OBSERVABLES), np.nan)
    for row, p in enumerate(patients):
        _one_patient(problem, int(p), method, rtol, atol, max_step, out[row])
    return out


def _one_patient(problem: Problem, p: int, method, rtol, atol, max_step, obs) -> None:
    """The engine's order of operations (every morning: observe, rules, that day's events), with
    LSODA driven as favourably as rules allow: one ``solve_ivp`` call per event-free stretch with
    ``t_eval`` at the mornings; the morning rules are evaluated on each morning's state in turn,
    and the integration restarts from a morning only when a rule changed the state there (a
    patient without rules never restarts)."""
    y = problem.y0[p].copy()
    active = problem.active[p].copy()
    c, cm = problem.constants[p], problem.class_modifiers[p]
    events = problem.events[p, : int(problem.n_events[p])]
    rules, n_rules = problem.rules[p], int(problem.n_rules[p])
    rule_state = np.zeros(N_RULE_STATE)
    atol_vec = atol * problem.scale[p]
    dy = np.empty_like(y)

    def fun(t, yy):
        rhs(t, yy, c, cm, active, dy)
        return dy.copy()

    t0, t_end = float(problem.t_start), float(problem.t_start + problem.n_days)
    times = events[:, 0]
    e = int(np.searchsorted(times, t0 - 1e-9))  # the engine drops events before the start
    t, observed = t0, 0  # mornings 0 .. observed-1 are recorded
    while True:
        if observed <= problem.n_days and abs(t - (t0 + observed)) < 1e-9:
            observe(y, c, cm, active, obs[observed])
            apply_rules(t0 + observed, obs[observed], rules, n_rules, rule_state, y, active)
            observed += 1
        if t >= t_end - 1e-9:
            return
        while e < len(events) and abs(times[e] - t) < 1e-9:
            apply_event(events[e], y, c, cm, active)
            e += 1
        b = min(times[e], t_end) if e < len(events) else t_end
        inside = t0 + np.arange(observed, problem.n_days + 1)
        inside = inside[(inside > t + 1e-9) & (inside < b - 1e-9)]
        sol = solve_ivp(
            fun,
            (t, b),
            y,
            method,
            t_eval=np.append(inside, b),
            rtol=rtol,
            atol=atol_vec,
            max_step=max_step,
        )
        if not sol.success:
            return
        restarted = False
        for k, m in enumerate(inside):
            state = sol.y[:, k].copy()
            observe(state, c, cm, active, obs[observed])
            fired = apply_rules(m, obs[observed], rules, n_rules, rule_state, state, active)
            observed += 1
            if fired:  # the state changed this morning: continue from here
                y, t, restarted = state, float(m), True
                break
        if not restarted:
            y, t = sol.y[:, -1].copy(), b


def max_relative_error(
    values: np.ndarray, truth: np.ndarray, floor: np.ndarray | None = None
) -> float:
    """Largest |value - truth| / |truth| over patients, mornings and observables (entries that
    are exactly zero in both count as exact; a non-zero value where the truth is zero is inf).

    ``floor`` (broadcast against the arrays): below it a difference is measured against the floor
    instead of the truth, for values that are numerically zero to both integrators."""
    diff = np.abs(values - truth)
    scale = np.abs(truth) if floor is None else np.maximum(np.abs(truth), floor)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / scale)
    return float(np.max(rel))


def healthy_floor(truth: np.ndarray, fraction: float = 1e-9) -> np.ndarray:
    """``fraction`` of each patient's observables on the first morning (their healthy levels;
    at least ``fraction`` in the observable's units), shaped to broadcast against ``truth``."""
    return fraction * np.maximum(np.abs(truth[:, :1, :]), 1.0)
