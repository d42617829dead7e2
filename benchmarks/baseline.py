"""Baselines and accuracy measures for the benchmarks (not part of the package).

The baseline is a plain loop of ``scipy.integrate.solve_ivp`` over patients on the SAME compiled
right-hand side (``marrowsim.model.rhs.rhs``), one call per event-free segment with ``t_eval`` at
the mornings: the most favourable way to drive LSODA (no restart every day, unlike the engine's
test reference ``engine/reference.py``, which restarts every morning to apply rules).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.integrate import solve_ivp

from marrowsim.engine.events import apply_event
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
    if int(problem.n_rules.max(initial=0)) > 0:
        raise ValueError("the solve_ivp baseline does not apply morning rules")
    out = np.full((len(patients), problem.n_days + 1, N_OBSERVABLES), np.nan)
    for row, p in enumerate(patients):
        _one_patient(problem, int(p), method, rtol, atol, max_step, out[row])
    return out


def _one_patient(problem: Problem, p: int, method, rtol, atol, max_step, obs) -> None:
    y = problem.y0[p].copy()
    active = problem.active[p].copy()
    c, cm = problem.constants[p], problem.class_modifiers[p]
    events = problem.events[p, : int(problem.n_events[p])]
    atol_vec = atol * problem.scale[p]
    dy = np.empty_like(y)

    def fun(t, yy):
        rhs(t, yy, c, cm, active, dy)
        return dy.copy()

    t0, t1 = float(problem.t_start), float(problem.t_start + problem.n_days)
    mornings = np.arange(problem.n_days + 1) + t0
    cuts = sorted({t0, t1, *(float(t) for t in events[:, 0] if t0 < t < t1)})
    observe(y, c, cm, active, obs[0])
    for a, b in itertools.pairwise(cuts):
        for ev in events:  # events at the start of this segment, after that morning's counts
            if abs(ev[0] - a) < 1e-9:
                apply_event(ev, y, c, cm, active)
        inside = mornings[(mornings > a) & (mornings <= b)]
        t_eval = np.union1d(inside, [b])
        sol = solve_ivp(
            fun, (a, b), y, method, t_eval=t_eval, rtol=rtol, atol=atol_vec, max_step=max_step
        )
        if not sol.success:
            return
        for k, t in enumerate(sol.t):
            if t in inside:
                observe(sol.y[:, k], c, cm, active, obs[round(t - t0)])
        y = sol.y[:, -1].copy()


def max_relative_error(values: np.ndarray, truth: np.ndarray) -> float:
    """Largest |value - truth| / |truth| over patients, mornings and observables (entries that
    are exactly zero in both count as exact; a non-zero value where the truth is zero is inf)."""
    diff = np.abs(values - truth)
    scale = np.abs(truth)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(diff == 0, 0.0, diff / scale)
    return float(np.max(rel))
