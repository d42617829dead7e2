"""``ClonalResult``: labelled daily clone observables of many stochastic runs of one patient."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from marrowsim.engine.clonal_observables import CLONAL_OBSERVABLE_UNITS


@dataclass(frozen=True)
class ClonalResult:
    """Clone observables per run and day, with the seed, the method and the driving signal.

    ``data[name]`` has shape ``(runs, days)``; ``final_counts`` holds the cells of every clone at
    the end, shape ``(runs, clones, 4)`` for HSC, MPP1, MPP2 and MPP3, and ``clone_class`` the class
    index of each clone (``marrowsim.model.layout.CLASS_NAMES``; -1 for an unused slot).
    ``demand_signal`` is the daily psi of the deterministic run that drives the MPP demand gain;
    ``deterministic`` holds that run's daily observables used for comparison (``hsc`` in cells).
    """

    scenario_name: str
    seed: int
    method: str
    days: np.ndarray
    data: dict[str, np.ndarray]
    run_seeds: np.ndarray
    clone_class: np.ndarray
    final_counts: np.ndarray
    demand_signal: np.ndarray
    deterministic: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def runs(self) -> int:
        return int(self.run_seeds.shape[0])

    @property
    def units(self) -> dict[str, str]:
        return {k: CLONAL_OBSERVABLE_UNITS.get(k, "") for k in self.data}

    def __getitem__(self, name: str) -> np.ndarray:
        from marrowsim.errors import lookup

        return lookup("clone observable", name, self.data, case_insensitive=False)

    def mean(self, name: str) -> np.ndarray:
        """Mean over runs of an observable, per day (NaN runs are left out)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(self[name], axis=0)

    def band(self, name: str, low: float = 0.05, high: float = 0.95) -> np.ndarray:
        """The ``low`` and ``high`` quantiles over runs, per day: shape ``(2, days)``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanquantile(self[name], [low, high], axis=0)

    def to_pandas(self):
        """A long DataFrame indexed by (run, day), one column per observable (units in attrs)."""
        import pandas as pd

        runs, days = np.meshgrid(np.arange(self.runs), self.days, indexing="ij")
        frame = {"run": runs.ravel(), "day": days.ravel()}
        frame.update({name: values.ravel() for name, values in self.data.items()})
        df = pd.DataFrame(frame).set_index(["run", "day"])
        df.attrs.update(
            {
                "units": self.units,
                "scenario": self.scenario_name,
                "seed": self.seed,
                "method": self.method,
            }
        )
        return df

    def summary(self, low: float = 0.05, high: float = 0.95):
        """Mean and the ``low``–``high`` band over runs per day: columns (observable, statistic)."""
        import pandas as pd

        columns = {}
        for name in self.data:
            lo, hi = self.band(name, low, high)
            columns[(name, "mean")] = self.mean(name)
            columns[(name, f"p{round(100 * low)}")] = lo
            columns[(name, f"p{round(100 * high)}")] = hi
        df = pd.DataFrame(columns, index=pd.Index(self.days, name="day"))
        df.attrs.update({"units": self.units, "seed": self.seed, "runs": self.runs})
        return df
