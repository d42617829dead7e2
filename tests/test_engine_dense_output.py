"""The engine's continuous extension: the mornings inside a step come from its dense output.

The batched engine steps across mornings (``engine/dopri.py``): the morning counts between two
step ends are Dormand–Prince's order-4 interpolant of the step. Checked here on a model state far
from equilibrium (two weeks after myeloablative conditioning and a graft): the interpolant meets
both ends of the step, and its error at mid-step falls like h^5 (local order 4 + 1).
"""

from __future__ import annotations

import numpy as np

from helpers import compile_one
from marrowsim.engine.dopri import (
    MAX_BLOCKS,
    _attempt_step,
    _dense_output,
    _integrate_segment,
    _prepare,
)
from marrowsim.engine.solve import solve
from marrowsim.model import layout as L
from marrowsim.scenario import load_scenario


def _patient_state():
    problem = compile_one(load_scenario("allo-pbsc-mac", days=14))
    y = solve(problem).final_state[0].copy()
    active = problem.active[0].copy()
    active[[L.DONOR, L.TRANSFUSED]] = True  # classes the graft and transfusions switched on
    return problem, y, active


def _buffers(n):
    work = np.empty((9, n))
    return tuple(work[i] for i in range(9)), np.empty((MAX_BLOCKS, 2), dtype=np.int64)


def _exact(problem, y, active, t0, t1):
    """The state at t1 from (t0, y), integrated with tight tolerances."""
    stages, blocks = _buffers(y.shape[0])
    yy = y.copy()
    c, cm, scale = problem.constants[0], problem.class_modifiers[0], problem.scale[0]
    nb = _prepare(t0, yy, c, cm, active, stages, blocks)
    _integrate_segment(t0, t1, yy, 1e-3, c, cm, active, 1e-13, 1e-13, scale, stages, blocks, nb,
                       10**6)  # fmt: skip
    return yy


def _step_and_interpolate(problem, y, active, t0, h, theta):
    """Attempt one step of size h and return (state at its end, dense output at t0 + theta h)."""
    stages, blocks = _buffers(y.shape[0])
    c, cm, scale = problem.constants[0], problem.class_modifiers[0], problem.scale[0]
    yy = y.copy()
    nb = _prepare(t0, yy, c, cm, active, stages, blocks)
    _attempt_step(t0, h, yy, c, cm, active, 1e-6, 1e-6, scale, stages, blocks, nb)
    out = np.empty_like(y)
    _dense_output(theta, h, yy, stages, blocks, nb, out)
    return stages[8].copy(), out


def test_dense_output_meets_both_ends_of_the_step():
    problem, y, active = _patient_state()
    _, start = _step_and_interpolate(problem, y, active, 14.0, 0.5, 0.0)
    end, at_end = _step_and_interpolate(problem, y, active, 14.0, 0.5, 1.0)
    np.testing.assert_array_equal(start, y)
    np.testing.assert_allclose(at_end, end, rtol=1e-13, atol=0)


def test_dense_output_error_falls_like_h_to_the_fifth():
    problem, y, active = _patient_state()
    scale = problem.scale[0]
    errors = []
    for h in (0.4, 0.2, 0.1):
        _, mid = _step_and_interpolate(problem, y, active, 14.0, h, 0.5)
        exact = _exact(problem, y, active, 14.0, 14.0 + h / 2)
        errors.append(np.max(np.abs(mid - exact) / (scale + np.abs(exact))))
    ratios = [errors[0] / errors[1], errors[1] / errors[2]]
    assert all(16 < r < 64 for r in ratios), (errors, ratios)  # 2^5 = 32
