"""A transplant graft taken from the simulated collection: ``[graft] from_collection = true``.

When a scenario has a ``[mobilization]`` section and ``[graft] from_collection = true``, the graft
dose is what the collection model (:mod:`marrowsim.clinical.collection`) collects:

* the deterministic **median patient** of the diagnosis (mobilization response and plerixafor
  response at their medians) with every apheresis at the **median collection efficiency**, so
  ``marrowsim simulate`` gives one reproducible number (a cohort draws them per patient);
* the cumulative CD34+/kg over the aphereses performed (collection stops at
  ``target_cd34_per_kg`` or after ``max_aphereses``);
* × the CD34+ recovery of positive selection when ``cd34_selected = true`` (65 %,
  ``UrbanoIspizua1997.toml``).

Post-thaw viability is **not** applied here: ``cd34_per_kg`` is the product as collected, and
the transplant compiler already multiplies a ``cryopreserved = true`` graft by
``cryopreserved_viability`` (Abbruzzese 2013); applying it twice would count the loss twice.
Only autologous grafts are supported: an allogeneic donor's collection would need the donor's
weight and mobilization response, which ``[donor]`` does not carry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from marrowsim.errors import ScenarioError
from marrowsim.parameters import ParameterSet, default_parameters

if TYPE_CHECKING:
    from marrowsim.scenario import Scenario


def check_from_collection(scenario: Scenario) -> None:
    """Refuse, in one line, a ``from_collection`` graft that cannot be resolved."""
    graft = scenario.graft
    if graft is None or not graft.from_collection:
        return
    if scenario.mobilization is None:
        raise ScenarioError(
            "[graft] from_collection = true needs a [mobilization] section (steps = [...]) "
            "to simulate the collection"
        )
    if scenario.donor is None or scenario.donor.relation != "autologous":
        relation = None if scenario.donor is None else scenario.donor.relation
        raise ScenarioError(
            "[graft] from_collection = true is supported for autologous grafts only, got donor "
            f"relation {relation!r} (give cd34_per_kg for a donor graft, "
            'or relation = "autologous")'
        )


def graft_dose_from_collection(scenario: Scenario, parameters: ParameterSet | None = None) -> float:
    """CD34+ cells per kg of recipient in the graft collected for ``scenario`` (module doc)."""
    from marrowsim.clinical.collection import simulate_collection
    from marrowsim.clinical.collection_spec import CollectionPatient, compile_schedule

    check_from_collection(scenario)
    graft, spec = scenario.graft, scenario.mobilization
    if graft is None or not graft.from_collection or spec is None:
        raise ScenarioError(f"scenario {scenario.name!r} has no [graft] from_collection = true")
    ps = parameters or default_parameters()
    median_ce = ps.with_values(mobilization_collection_efficiency_logit_sd=0.0)
    patient = CollectionPatient.from_scenario_patient(scenario.patient)
    schedule = compile_schedule(spec.steps, patient, median_ce)
    trajectory, _ce = simulate_collection(
        schedule,
        patient,
        n=1,
        rng=np.random.default_rng(0),  # unused with typical=True and a zero CE spread
        target_cd34_per_kg=spec.target_cd34_per_kg,
        max_aphereses=spec.max_aphereses,
        typical=True,
        ps=median_ce,
    )
    dose = float(trajectory.session_cd34_per_kg[0].sum())
    if graft.cd34_selected:
        dose *= ps.value("cd34_selection_recovery")
    if not dose > 0:
        raise ScenarioError(
            f"scenario {scenario.name!r}: the simulated collection yielded no CD34+ cells"
        )
    return dose


def resolve_graft_from_collection(
    scenario: Scenario, parameters: ParameterSet | None = None
) -> Scenario:
    """A copy of ``scenario`` whose graft has ``cd34_per_kg`` from the collection (and
    ``from_collection = false``), so the transplant compiler needs no collection; any other
    scenario is returned unchanged."""
    graft = scenario.graft
    if graft is None or not graft.from_collection:
        return scenario
    dose = graft_dose_from_collection(scenario, parameters)
    data = scenario.model_dump()
    data["graft"].update(cd34_per_kg=dose, from_collection=False)
    note = f"graft {dose:.3g} CD34+/kg from the simulated collection (median patient)"
    data["description"] = f"{scenario.description} [{note}]".strip()
    from marrowsim.scenario import scenario_from_mapping

    return scenario_from_mapping(data, where=f"scenario {scenario.name!r}")
