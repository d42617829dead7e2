"""Virtual populations for validation: one scenario, between-patient parameter variability.

Every patient has the scenario's covariates and a parameter draw from the registry priors
(:func:`marrowsim.compile.sample_patient_values`, conditioned on a feasible steady state), so the
spread of an endpoint is the model's between-patient variability, not sampling of covariates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from marrowsim.compile import compile_problem, sample_patient_values
from marrowsim.engine.solve import solve
from marrowsim.model.observables import OB
from marrowsim.parameters import ParameterSet
from marrowsim.scenario import scenario_from_mapping


@dataclass(frozen=True)
class Population:
    """Daily morning observables of ``n`` virtual patients of one scenario."""

    name: str
    days: np.ndarray  # (D,)
    observables: np.ndarray  # (n, D, N_OBSERVABLES); NaN after a failed integration
    ok: np.ndarray  # (n,) integration succeeded

    def course(self, i: int) -> dict[str, np.ndarray]:
        """Observables of patient ``i`` by name."""
        return {name: self.observables[i, :, j] for name, j in OB.items()}

    def quantiles(self, name: str, qs=(5, 50, 95)) -> dict[str, np.ndarray]:
        """Daily percentiles of one observable over the successful patients (p05, p50, p95)."""
        x = self.observables[self.ok, :, OB[name]]
        return {f"p{q:02d}": np.nanpercentile(x, q, axis=0) for q in qs}


def simulate_population(
    mapping: dict[str, Any], n: int, *, seed: int, parameters: ParameterSet
) -> Population:
    """Simulate ``n`` draws of the scenario ``mapping`` (seeded, reproducible)."""
    scenario = scenario_from_mapping(mapping, where=f"validation scenario {mapping['name']!r}")
    scenarios = [scenario] * n
    values = sample_patient_values(scenarios, parameters, seed=seed)
    result = solve(compile_problem(scenarios, parameters, values))
    return Population(scenario.name, result.days, result.observables, result.status == 0)


def summary(values: np.ndarray) -> dict[str, float]:
    """Median, quartiles and the number of finite values."""
    v = np.asarray(values, dtype=float)
    finite = v[np.isfinite(v)]
    if finite.size == 0:
        return {"median": float("nan"), "q1": float("nan"), "q3": float("nan"), "n": 0}
    q1, med, q3 = np.percentile(finite, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "n": int(finite.size)}
