"""A labelled result of one simulated patient: daily counts with units, seed, status, citations."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from marrowsim.model.observables import OBSERVABLE_UNITS

# ASTCT thresholds drawn on plots (clinical.md §5.3)
THRESHOLDS = {"anc": (0.5, "ANC 0.5"), "platelets": (20.0, "PLT 20"), "hb": (7.0, "Hb 7")}


@dataclass(frozen=True)
class Solution:
    """Daily morning observables of one patient (day 0 = graft infusion where there is one)."""

    scenario_name: str
    seed: int
    days: np.ndarray
    data: dict[str, np.ndarray]
    status: str = "ok"
    citations: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Solution(scenario={self.scenario_name!r}, seed={self.seed}, "
            f"days={int(self.days[0])}..{int(self.days[-1])}, "
            f"observables={len(self.data)}, status={self.status!r})"
        )

    @property
    def units(self) -> dict[str, str]:
        return {k: OBSERVABLE_UNITS.get(k, "") for k in self.data}

    def __getitem__(self, name: str) -> np.ndarray:
        from marrowsim.errors import lookup

        return lookup("observable", name, self.data, case_insensitive=False)

    def at(self, name: str, day: int) -> float:
        """Value of an observable on a given day."""
        idx = np.searchsorted(self.days, day)
        if idx >= len(self.days) or self.days[idx] != day:
            from marrowsim.errors import InputError

            raise InputError(f"day {day} not simulated (days {self.days[0]}..{self.days[-1]})")
        return float(self[name][idx])

    def to_pandas(self):
        """A DataFrame indexed by day, one column per observable (units in ``df.attrs``)."""
        import pandas as pd

        df = pd.DataFrame({"day": self.days, **self.data}).set_index("day")
        df.attrs.update({"units": self.units, "scenario": self.scenario_name, "seed": self.seed})
        return df

    def outcomes(self) -> dict[str, Any]:
        """ASTCT outcomes computed from this solution (see :mod:`marrowsim.outcomes`)."""
        from marrowsim.outcomes import compute_outcomes

        return compute_outcomes(self)

    def plot(self, path: str | Path | None = None, *, show_lineages: bool = True):
        """Blood counts over time with ASTCT thresholds; saves a PNG when ``path`` is given."""
        from marrowsim.plotting import plot_solution

        return plot_solution(self, path, show_lineages=show_lineages)
