"""Export of one patient's compiled model to other tools: SBML (``docs/sbml.md``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from marrowsim.errors import InputError
from marrowsim.export.elements import SBMLExportError
from marrowsim.export.sbml import SBMLModel, build_sbml
from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.scenario import Scenario, load_scenario

__all__ = ["SBMLExportError", "SBMLModel", "build_sbml", "export_sbml", "sbml_model"]


def sbml_model(
    scenario: Scenario | str | Path,
    *,
    parameters: ParameterSet | None = None,
    values: Mapping[str, float] | None = None,
    days: int | None = None,
) -> SBMLModel:
    """The SBML model of the scenario's patient (registry parameter values unless ``values``
    overrides some), with its protocol; validated by libsbml."""
    from marrowsim.clinical.graft_from_collection import resolve_graft_from_collection
    from marrowsim.compile import compile_problem
    from marrowsim.export.provenance import constant_sources

    parameters = parameters if parameters is not None else default_parameters()
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, days=days)
    elif days is not None:
        scenario = scenario.model_copy(update={"days": days})
    scenario = resolve_graft_from_collection(scenario, parameters)
    per_patient = {k: np.array([v], dtype=float) for k, v in (values or {}).items()}
    problem = compile_problem([scenario], parameters, per_patient)
    sources = constant_sources(scenario, parameters) if not values else {}
    return build_sbml(
        problem, model_id=_sbml_id(scenario.name), name=scenario.name, sources=sources
    )


def export_sbml(
    scenario: Scenario | str | Path,
    output: str | Path,
    *,
    parameters: ParameterSet | None = None,
    days: int | None = None,
) -> SBMLModel:
    """Write the scenario's patient as SBML to ``output`` (atomically, after validation)."""
    from marrowsim.io import write_text_atomic

    output = Path(output)
    model = sbml_model(scenario, parameters=parameters, days=days)
    try:
        write_text_atomic(output, model.to_string())
    except OSError as exc:
        raise InputError(f"cannot write {str(output)!r}: {exc.strerror or exc}") from None
    return model


def _sbml_id(name: str) -> str:
    """An SBML identifier from a scenario name (letters, digits and underscores)."""
    text = "".join(ch if ch.isalnum() else "_" for ch in name)
    return text if text[:1].isalpha() else f"m_{text}"
