"""Reference path: the same right-hand side, events and rules integrated with SciPy's ``solve_ivp``.

Used in tests (the batched engine must match it) and as the baseline of ``make bench``; never the
production path. It loops over patients in Python, integrating piecewise between the same
breakpoints.
"""

from __future__ import annotations

import numpy as np
from scipy.integrate import solve_ivp

from marrowsim.engine.dopri import STATUS_NOT_FINITE, STATUS_OK
from marrowsim.engine.events import N_RULE_STATE, apply_event, apply_rules
from marrowsim.engine.problem import Problem
from marrowsim.model.observables import N_OBSERVABLES, observe
from marrowsim.model.rhs import rhs


def solve_reference(
    problem: Problem, *, method: str = "LSODA", rtol: float = 1e-8, atol: float = 1e-8
) -> dict[str, np.ndarray]:
    """Integrate every patient with ``scipy.integrate.solve_ivp``; same outputs as the engine."""
    n, s = problem.y0.shape
    obs = np.zeros((n, problem.n_days + 1, N_OBSERVABLES))
    final = np.zeros((n, s))
    rule_state = np.zeros((n, N_RULE_STATE))
    status = np.zeros(n, dtype=np.int64)
    for p in range(n):
        status[p] = _solve_one(problem, p, method, rtol, atol, obs[p], final[p], rule_state[p])
    return {"obs_out": obs, "final_state": final, "rule_state": rule_state, "status": status}


def _solve_one(problem, p, method, rtol, atol, obs, final, rule_state) -> int:
    y = problem.y0[p].copy()
    active = problem.active[p].copy()
    c, cm = problem.constants[p], problem.class_modifiers[p]
    events, ne = problem.events[p], int(problem.n_events[p])
    atol_vec = atol * problem.scale[p]
    dy = np.empty_like(y)

    def fun(t, yy):
        rhs(t, yy, c, cm, active, dy)
        return dy.copy()

    e = 0
    for d in range(problem.n_days + 1):
        day = problem.t_start + d
        observe(y, c, cm, active, obs[d])
        apply_rules(day, obs[d], problem.rules[p], int(problem.n_rules[p]), rule_state, y, active)
        t = float(day)
        while e < ne and events[e, 0] < t - 1e-9:
            e += 1
        if d == problem.n_days:
            break
        while True:
            while e < ne and abs(events[e, 0] - t) < 1e-9:
                apply_event(events[e], y, c, cm, active)
                e += 1
            t_next = float(day + 1)
            if e < ne and events[e, 0] < t_next - 1e-9:
                t_next = events[e, 0]
            if not np.all(np.isfinite(y)):  # solve_ivp raises on it: a status, as in the engine
                obs[d + 1 :] = np.nan
                final[:] = y
                return STATUS_NOT_FINITE
            sol = solve_ivp(fun, (t, t_next), y, method=method, rtol=rtol, atol=atol_vec)
            if not sol.success or not np.all(np.isfinite(sol.y[:, -1])):
                obs[d + 1 :] = np.nan
                final[:] = y
                return STATUS_NOT_FINITE
            y = sol.y[:, -1].copy()
            t = t_next
            if t >= day + 1 - 1e-9:
                break
    final[:] = y
    return STATUS_OK
