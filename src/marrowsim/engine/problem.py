"""A batch of patients ready to integrate: initial states, constants, schedules and rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marrowsim.engine.events import N_EVENT_FIELDS, N_RULE_FIELDS


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

    @property
    def n_patients(self) -> int:
        return int(self.y0.shape[0])

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
