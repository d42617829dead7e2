"""One solve entry point for a batch: ``solve(problem, method=..., rtol=..., atol=...)``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marrowsim.engine import memory
from marrowsim.engine.dopri import OUTPUTS, STATUS_MESSAGES, allocate_outputs, solve_batch
from marrowsim.engine.problem import Problem
from marrowsim.errors import InputError

METHODS = ("dopri5", "scipy-lsoda", "scipy-rk45", "scipy-dop853")
LANES_FROM = 64  # batches this large run in lanes by default (smaller: not worth the set-up)


@dataclass(frozen=True)
class BatchResult:
    """Raw engine output: morning observables per patient and day, final states, statuses."""

    days: np.ndarray  # (D,)
    observables: np.ndarray  # (P, D, N_OBSERVABLES)
    final_state: np.ndarray  # (P, S)
    rule_state: np.ndarray  # (P, N_RULE_STATE)
    status: np.ndarray  # (P,) 0 = ok
    n_steps: np.ndarray  # (P,)

    def status_messages(self) -> list[str]:
        return [STATUS_MESSAGES.get(int(s), f"status {int(s)}") for s in self.status]


def solve(
    problem: Problem,
    *,
    method: str = "dopri5",
    rtol: float = 1e-6,
    atol: float = 1e-6,
    max_steps_per_day: int = 20_000,
    lanes: bool | None = None,
) -> BatchResult:
    """Integrate a batch of patients. Failures are per-patient statuses, never exceptions.

    ``atol`` is relative to each state's physiological size (see ``engine/dopri.py``).
    ``lanes`` (dopri5 only): integrate ``LANES`` patients at a time through the generated lane
    right-hand side (``engine/lanes.py``; the same results bit for bit, faster for large
    batches). None (default): for batches of at least :data:`LANES_FROM` patients.
    """
    if method not in METHODS:
        raise InputError(f"unknown solver method {method!r} (allowed: {', '.join(METHODS)})")
    if not (0 < rtol < 1 and 0 < atol < 1):
        raise InputError(f"rtol and atol must be in (0, 1), got rtol={rtol}, atol={atol}")
    if max_steps_per_day < 1:
        raise InputError(f"max_steps_per_day must be at least 1, got {max_steps_per_day}")
    if method == "dopri5":
        out = allocate_outputs(problem.n_patients, problem.y0.shape[1], problem.n_days)
        use_lanes = problem.n_patients >= LANES_FROM if lanes is None else lanes
        try:
            if use_lanes:
                from marrowsim.engine.lanes import solve_in_lanes

                rest = solve_in_lanes(problem, rtol, atol, max_steps_per_day, out)
                if rest.size:
                    _solve_scalar(problem.subset(rest), rtol, atol, max_steps_per_day, out, rest)
            else:
                _solve_scalar(problem, rtol, atol, max_steps_per_day, out, None)
        finally:
            memory.wait_mapped(out["obs_out"])
        n_steps = out["n_steps"]
    else:
        from marrowsim.engine.reference import solve_reference

        scipy_method = {"scipy-lsoda": "LSODA", "scipy-rk45": "RK45", "scipy-dop853": "DOP853"}
        out = solve_reference(problem, method=scipy_method[method], rtol=rtol, atol=atol)
        n_steps = np.zeros(problem.n_patients, dtype=np.int64)
    return BatchResult(
        days=problem.days,
        observables=out["obs_out"],
        final_state=out["final_state"],
        rule_state=out["rule_state"],
        status=out["status"],
        n_steps=n_steps,
    )


def _solve_scalar(
    problem: Problem,
    rtol: float,
    atol: float,
    max_steps_per_day: int,
    out: dict[str, np.ndarray],
    index: np.ndarray | None,
) -> None:
    """The scalar engine (one patient per thread) into ``out``, or into its rows ``index``."""
    own = out if index is None else allocate_outputs(*problem.y0.shape, problem.n_days)
    try:
        solve_batch(
            *problem.kernel_arrays(), rtol, atol, max_steps_per_day, *(own[k] for k in OUTPUTS)
        )
    finally:
        memory.wait_mapped(own["obs_out"])
    if index is not None:
        for key, value in own.items():
            out[key][index] = value
