"""A batch of patients ready to integrate: initial states, constants, schedules and rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marrowsim.engine.events import EV_ADD_CELLS, EV_MOVE_CELLS, N_EVENT_FIELDS, N_RULE_FIELDS
from marrowsim.model import layout as L


@dataclass(frozen=True)
class Problem:
    """Everything the engines need; arrays have the patient axis first."""

    y0: np.ndarray  # (P, S)
    constants: np.ndarray  # (P, N_CONSTANTS)
    class_modifiers: np.ndarray  # (P, N_CLASSES, N_CLASS_MODIFIERS)
    active: np.ndarray  # (P, N_CLASSES) bool
    scale: np.ndarray  # (P, S) physiological size of each state (for the error norm)
    t_start: int
    n_days: int
    events: np.ndarray  # (P, E, N_EVENT_FIELDS), sorted by time within a patient
    n_events: np.ndarray  # (P,)
    rules: np.ndarray  # (P, R, N_RULE_FIELDS)
    n_rules: np.ndarray  # (P,)

    def __post_init__(self) -> None:
        p = self.y0.shape[0]
        assert self.events.shape[0] == p and self.events.shape[2] == N_EVENT_FIELDS
        assert self.rules.shape[0] == p and self.rules.shape[2] == N_RULE_FIELDS
        assert self.constants.shape[0] == p and self.active.shape[0] == p
        _check_transfused_class(self.y0, self.events)

    @property
    def n_patients(self) -> int:
        return int(self.y0.shape[0])

    def kernel_arrays(self) -> tuple:
        """The batch in the order the compiled engines take it (``dopri.solve_batch``,
        ``lane_dopri.solve_lanes``)."""
        return (
            self.y0,
            self.constants,
            self.class_modifiers,
            self.active,
            self.scale,
            self.t_start,
            self.n_days,
            self.events,
            self.n_events,
            self.rules,
            self.n_rules,
        )

    @property
    def days(self) -> np.ndarray:
        return np.arange(self.t_start, self.t_start + self.n_days + 1)

    def subset(self, index: np.ndarray | slice) -> Problem:
        """The same problem for a subset of patients (chunking)."""
        return Problem(
            y0=self.y0[index],
            constants=self.constants[index],
            class_modifiers=self.class_modifiers[index],
            active=self.active[index],
            scale=self.scale[index],
            t_start=self.t_start,
            n_days=self.n_days,
            events=self.events[index],
            n_events=self.n_events[index],
            rules=self.rules[index],
            n_rules=self.n_rules[index],
        )


def _check_transfused_class(y0: np.ndarray, events: np.ndarray) -> None:
    """The transfused class holds transfused red cells and platelets and nothing else: the
    right-hand side computes only their ageing (``model/rhs.py``). Refuse a problem that starts
    other cells in it or whose events add or move cells into it."""
    held = {j for first, stop in L.TRANSFUSED_COMPARTMENT_RANGES for j in range(first, stop)}
    other = [j for j in range(L.N_COMPARTMENTS) if j not in held]
    start = L.TRANSFUSED * L.N_COMPARTMENTS
    cells = y0[:, [start + j for j in other]]
    if np.any((cells != 0.0) & ~np.isnan(cells)):  # NaN: a patient whose preparation failed
        raise ValueError("the transfused class may hold only red cells and platelets at the start")
    kind, target = events[:, :, 1], events[:, :, 2]
    into = (kind == EV_ADD_CELLS) & (target == L.TRANSFUSED)
    into |= (kind == EV_MOVE_CELLS) & (events[:, :, 3] == L.TRANSFUSED)
    if np.any(into):
        raise ValueError("events may not add or move cells into the transfused class")


def pack_events(per_patient: list[list[tuple[float, int, float, float, float, float]]]):
    """Stack per-patient event lists into a padded, time-sorted array and counts."""
    n = len(per_patient)
    width = max((len(e) for e in per_patient), default=0)
    arr = np.zeros((n, width, N_EVENT_FIELDS))
    counts = np.zeros(n, dtype=np.int64)
    for i, evs in enumerate(per_patient):
        evs = sorted(evs, key=lambda e: e[0])  # stable: same-time events keep their order
        counts[i] = len(evs)
        if evs:
            arr[i, : len(evs)] = np.asarray(evs, dtype=float)
    return arr, counts


def pack_rules(per_patient: list[list[tuple[int, float, float, float, float]]]):
    """Stack per-patient rule lists into a padded array and counts."""
    n = len(per_patient)
    width = max((len(r) for r in per_patient), default=0)
    arr = np.zeros((n, width, N_RULE_FIELDS))
    counts = np.zeros(n, dtype=np.int64)
    for i, rs in enumerate(per_patient):
        counts[i] = len(rs)
        if rs:
            arr[i, : len(rs)] = np.asarray(rs, dtype=float)
    return arr, counts
