"""``Simulation``: the one stateful orchestrator that compiles a scenario, runs it, labels it."""

from __future__ import annotations

from pathlib import Path

from marrowsim.compile import compile_problem
from marrowsim.engine.solve import solve
from marrowsim.errors import SolverError
from marrowsim.model.observables import OBSERVABLE_NAMES
from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.scenario import Scenario, load_scenario
from marrowsim.solution import Solution


class Simulation:
    """Simulate one patient.

    >>> from marrowsim import Simulation
    >>> sol = Simulation("healthy-adult").run()
    >>> round(sol.at("anc", 100), 1)
    4.0
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        *,
        parameters: ParameterSet | None = None,
        method: str = "dopri5",
        rtol: float = 1e-6,
        atol: float = 1e-6,
        max_steps_per_day: int = 20_000,
    ) -> None:
        from marrowsim.clinical.graft_from_collection import resolve_graft_from_collection

        self.parameters = parameters if parameters is not None else default_parameters()
        loaded = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.scenario = resolve_graft_from_collection(loaded, self.parameters)
        self.method, self.rtol, self.atol = method, rtol, atol
        self.max_steps_per_day = max_steps_per_day
        self.solution: Solution | None = None

    def run(self) -> Solution:
        """Integrate; raises :class:`SolverError` if the integration fails."""
        problem = compile_problem([self.scenario], self.parameters)
        result = solve(
            problem,
            method=self.method,
            rtol=self.rtol,
            atol=self.atol,
            max_steps_per_day=self.max_steps_per_day,
        )
        status = result.status_messages()[0]
        if status != "ok":
            raise SolverError(f"scenario {self.scenario.name!r}: integration failed ({status})")
        data = {name: result.observables[0, :, i] for i, name in enumerate(OBSERVABLE_NAMES)}
        self.solution = Solution(
            scenario_name=self.scenario.name,
            seed=self.scenario.seed,
            days=result.days,
            data=data,
            status=status,
            citations=self.parameters.citations(),
            metadata={
                "method": self.method,
                "rtol": self.rtol,
                "atol": self.atol,
                "steps": int(result.n_steps[0]),
                "transfusions_platelets": int(result.rule_state[0, 0]),
                "transfusions_rbc": int(result.rule_state[0, 1]),
                "weight_kg": self.scenario.patient.weight_kg,
                "diagnosis": self.scenario.patient.diagnosis,
                "graft_source": self.scenario.graft.source if self.scenario.graft else None,
                "donor_relation": self.scenario.donor.relation if self.scenario.donor else None,
                "erythroid": self.scenario.patient.diagnosis in ("sickle_cell", "beta_thalassemia")
                or self.scenario.editing is not None,
            },
        )
        return self.solution
