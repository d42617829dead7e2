"""Solve a batch in lanes: generate the lane right-hand side, pick the patients it computes
exactly, run :func:`marrowsim.engine.lane_dopri.solve_lanes` (docs/architecture.md §3)."""

from __future__ import annotations

import numba
import numpy as np

from marrowsim.engine import lane_dopri, lane_rhs
from marrowsim.engine.dopri import OUTPUTS
from marrowsim.engine.problem import Problem

MAX_FUNCTIONS = 4  # lane functions per batch (each ~7 s to compile once, then cached)
PATIENTS_PER_GROUP = 512  # a group's share: its last patients leave lanes idle (~2 % at 512)


def solve_in_lanes(
    problem: Problem, rtol: float, atol: float, max_steps_per_day: int, out: dict[str, np.ndarray]
) -> np.ndarray:
    """Integrate in lanes the patients a generated function computes exactly, into ``out``;
    return the indices of the others (for the scalar engine).

    A batch whose patients decide the model's branches on constants differently (a gene-therapy
    arm beside a cord-blood arm: the erythroid expansion is switched on in one) gets one function
    per decision set, up to :data:`MAX_FUNCTIONS`; a set with fewer than ``LANES`` patients is
    left to the scalar engine."""
    classes = lane_rhs.batch_classes(problem)
    remaining = np.ones(problem.n_patients, dtype=bool)  # not integrated yet
    unexplored = remaining.copy()  # not yet tried with a function of their own
    for _ in range(MAX_FUNCTIONS):
        if unexplored.sum() < lane_rhs.LANES:
            break
        first = int(np.flatnonzero(unexplored)[0])
        function, covered = _function_for(problem, first, classes)
        covered &= remaining
        unexplored &= ~covered
        unexplored[first] = False
        if covered.sum() >= lane_rhs.LANES:
            _run(function, np.flatnonzero(covered).astype(np.int64), problem, rtol, atol,
                 max_steps_per_day, out)  # fmt: skip
            remaining &= ~covered
    return np.flatnonzero(remaining)


# lane functions built in this process, by the classes they compute (most recent last): a
# cohort's batches have the same decisions batch after batch, so each is traced once, not per
# batch (~35 ms each)
_BUILT: dict[tuple[int, ...], list[lane_rhs.LaneRhs]] = {}


def _function_for(
    problem: Problem, first: int, classes: tuple[int, ...]
) -> tuple[lane_rhs.LaneRhs, np.ndarray]:
    """A lane function that computes patient ``first`` exactly, and which patients of
    ``problem`` it computes exactly (:func:`lane_rhs.lane_patients`): one built before for
    ``classes`` if it covers ``first``, else one traced from ``first``."""
    built = _BUILT.setdefault(classes, [])
    for function in reversed(built):
        covered = lane_rhs.lane_patients(problem, function)
        if covered[first]:
            return function, covered
    function = lane_rhs.build(problem, first, classes)
    built.append(function)
    del built[:-MAX_FUNCTIONS]
    return function, lane_rhs.lane_patients(problem, function)


def _run(
    function: lane_rhs.LaneRhs,
    patients: np.ndarray,
    problem: Problem,
    rtol: float,
    atol: float,
    max_steps_per_day: int,
    out: dict[str, np.ndarray],
) -> None:
    threads = numba.get_num_threads()
    n_groups = max(min(threads, -(-patients.size // lane_rhs.LANES)),
                   -(-patients.size // PATIENTS_PER_GROUP))  # fmt: skip
    lane_dopri.solve_lanes(
        function.function,
        function.n_work_rows,
        function.observe,
        function.n_work_observe_rows,
        function.derive,
        function.n_hoisted_rows,
        patients,
        n_groups,
        lane_dopri.stepped_states(function.classes),
        *problem.kernel_arrays(),
        rtol,
        atol,
        max_steps_per_day,
        *(out[k] for k in OUTPUTS),
    )
