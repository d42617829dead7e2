"""The driving signal of the stochastic engine: the demand signal of the deterministic run.

The stochastic clonal engine simulates HSCs and MPPs only; the blood counts that set the MPP demand
gain come from the deterministic model of the same scenario (hybrid design, ``docs/stochastic.md``).
This module integrates that run exactly as the batched engine does (same right-hand side, morning
rules and events, ``engine/dopri.py``), but records the demand signal ``psi`` (mean relative
lineage receptor mass, :func:`marrowsim.model.regulation.demand_signal`) ``per_day`` times a day and
both sides of every event and morning rule. Linear interpolation of these points is then exact at
the jumps that infusions, cell kill and transfusions cause; the morning values equal the
deterministic engine's morning counts to within its tolerance.
"""

from __future__ import annotations

import numpy as np

from marrowsim.engine.dopri import (
    MAX_BLOCKS,
    STATUS_NOT_FINITE,
    STATUS_OK,
    _integrate_segment,
    _prepare,
)
from marrowsim.engine.events import N_RULE_STATE, apply_event, apply_rules
from marrowsim.engine.problem import Problem
from marrowsim.model.compiled import compiled, compiled_allocating
from marrowsim.model.observables import N_OBSERVABLES, observe
from marrowsim.model.regulation import demand_signal
from marrowsim.model.rhs import cytokine_signals

POINTS_PER_DAY = 8


@compiled
def _record(t, y, c, cm, active, times, values, n):
    _, _, _, _, m_g, m_e, m_t = cytokine_signals(y, c, cm, active)
    times[n] = t
    values[n] = demand_signal(m_g, m_e, m_t)
    return n + 1


@compiled_allocating
def _psi_trajectory(y0, c, cm, active0, scale, t_start, n_days, events, n_events, rules,
                    n_rules, rtol, atol, max_steps, per_day, times, values):  # fmt: skip
    """Fill ``times``/``values``; returns (points recorded, status)."""
    y = y0.copy()
    active = active0.copy()
    work = np.empty((9, y.shape[0]))
    stages = (work[0], work[1], work[2], work[3], work[4], work[5], work[6], work[7], work[8])
    blocks = np.empty((MAX_BLOCKS, 2), dtype=np.int64)  # ranges of stepped states
    obs = np.zeros(N_OBSERVABLES)
    rule_state = np.zeros(N_RULE_STATE)
    h = 0.05
    e = 0
    n = 0
    for d in range(n_days + 1):
        day = t_start + d
        t = float(day)
        n = _record(t, y, c, cm, active, times, values, n)
        observe(y, c, cm, active, obs)
        apply_rules(day, obs, rules, n_rules, rule_state, y, active)
        while e < n_events and events[e, 0] < t - 1e-9:
            e += 1
        if d == n_days:
            n = _record(t, y, c, cm, active, times, values, n)
            break
        while True:
            while e < n_events and abs(events[e, 0] - t) < 1e-9:
                apply_event(events[e], y, c, cm, active)
                e += 1
            n = _record(t, y, c, cm, active, times, values, n)  # after rules and events
            t_next = float(day + 1)
            if e < n_events and events[e, 0] < t_next - 1e-9:
                t_next = events[e, 0]
            while t < t_next - 1e-9:
                t_sub = min(t_next, day + (np.floor((t - day) * per_day + 1e-9) + 1) / per_day)
                nb = _prepare(t, y, c, cm, active, stages, blocks)
                if nb < 0:
                    return n, STATUS_NOT_FINITE
                st, h, _ = _integrate_segment(
                    t, t_sub, y, h, c, cm, active, rtol, atol, scale, stages, blocks, nb, max_steps
                )
                if st != STATUS_OK:
                    return n, st
                t = t_sub
                if t < day + 1 - 1e-9:
                    n = _record(t, y, c, cm, active, times, values, n)
            t = t_next
            if t >= day + 1 - 1e-9:
                break
    return n, STATUS_OK


def psi_trajectory(
    problem: Problem,
    *,
    per_day: int = POINTS_PER_DAY,
    rtol: float = 1e-6,
    atol: float = 1e-6,
    max_steps_per_day: int = 20_000,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Times (days, non-decreasing) and demand signal of the first patient, and the status."""
    n_events = int(problem.n_events[0])
    size = (problem.n_days + 1) * (per_day + 2) + 2 * n_events + 2
    times, values = np.zeros(size), np.zeros(size)
    n, status = _psi_trajectory(
        problem.y0[0], problem.constants[0], problem.class_modifiers[0], problem.active[0],
        problem.scale[0], problem.t_start, problem.n_days, problem.events[0], n_events,
        problem.rules[0], int(problem.n_rules[0]), rtol, atol, max_steps_per_day, per_day,
        times, values,
    )  # fmt: skip
    return times[:n].copy(), values[:n].copy(), int(status)
