"""Run an exported SBML model in libroadrunner and read marrowsim's daily morning observables.

Used by the round-trip test and the benchmarks; libroadrunner is a development dependency
(``pip install marrowsim[dev]``). One :class:`MorningRunner` compiles the document once; for each
patient of a problem that shares the protocol it writes the patient's numbers into the model's
initial values and resets, which is much faster than loading the document again.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from marrowsim.engine.problem import Problem
from marrowsim.errors import InputError
from marrowsim.export.sbml import SBMLModel
from marrowsim.model.observables import N_OBSERVABLES, OBSERVABLE_NAMES

SAMPLE_OFFSET = 0.5  # read the morning observables half a day after each morning


class MorningRunner:
    """A compiled SBML model and the index of every patient value in it."""

    def __init__(
        self, model: SBMLModel, *, rtol: float = 1e-10, atol: float = 1e-10, max_steps: int = 10**6
    ) -> None:
        try:
            import roadrunner
        except ImportError:  # pragma: no cover - a development dependency
            raise InputError("libroadrunner is not installed (pip install libroadrunner)") from None
        roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)
        self.model = model
        self.rr = roadrunner.RoadRunner(model.to_string())
        self.rr.integrator.maximum_num_steps = max_steps
        self.set_tolerances(rtol=rtol, atol=atol)
        self.rr.timeCourseSelections = ["time"] + [f"morning_{n}" for n in OBSERVABLE_NAMES]
        self._keys = [f"init({sid})" for sid in model.sources]
        self._states = [(sid, src[1]) for sid, src in model.sources.items() if src[0] == "state"]

    def set_tolerances(self, *, rtol: float, atol: float) -> None:
        """CVODE's relative and absolute tolerance for the next simulations."""
        integrator = self.rr.integrator
        integrator.relative_tolerance = rtol
        integrator.absolute_tolerance = atol
        self.atol = atol

    def set_patient(self, problem: Problem, p: int, *, atol_scale: bool = False) -> None:
        """Load patient ``p`` of ``problem`` (the protocol of the exported patient) and reset
        every value, the event-assigned ones (clock, counters) included.

        ``atol_scale``: the absolute tolerance of each state is ``atol`` times its physiological
        size (``problem.scale``), the error weighting of marrowsim's engine; else ``atol`` is
        one number for every state (CVODE's default)."""
        values = self.model.patient_values(problem, p)
        executable = self.rr.model  # RoadRunner.setValue would recompile the model each time
        for key, value in zip(self._keys, values.values(), strict=True):
            executable.setValue(key, value)
        self.rr.resetAll()
        if atol_scale:
            integrator = self.rr.integrator
            for sid, i in self._states:
                integrator.setIndividualTolerance(sid, self.atol * problem.scale[p, i])

    def morning_observables(self, n_days: int) -> np.ndarray:
        """Observables ``(n_days + 1, N_OBSERVABLES)`` of the mornings 0 .. n_days (SBML time)."""
        times = [0.0, *(np.arange(n_days + 1) + SAMPLE_OFFSET).tolist()]
        result = np.asarray(self.rr.simulate(times=times))
        out = result[1:, 1:]
        assert out.shape == (n_days + 1, N_OBSERVABLES)
        return out

    def observables(self, problem: Problem, patients: Sequence[int] | np.ndarray) -> np.ndarray:
        """Morning observables ``(len(patients), days + 1, N_OBSERVABLES)`` of ``problem``'s
        patients (the protocol of the exported patient), one after the other."""
        out = np.empty((len(patients), problem.n_days + 1, N_OBSERVABLES))
        for row, p in enumerate(patients):
            self.set_patient(problem, int(p))
            out[row] = self.morning_observables(problem.n_days)
        return out
