"""What makes two cohort runs the same run: the identity hash that guards resumption."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from marrowsim.cohort.plan import CohortPlan

DEFAULT_CHUNK_SIZE = 10_000
# sources whose change alters results: the model, the engine, compilation, outcomes, cohorts
_RESULT_SOURCES = ("model", "engine", "cohort", "compile.py", "outcomes.py")


MIN_CHUNK_SIZE = 64


def default_chunk_size(patients: int) -> int:
    """About 10^4 patients per chunk (DESIGN.md §3); 1/16 of the cohort for smaller cohorts (so
    that a few workers get several chunks each) but not below 64 patients. Depends on
    ``patients`` only, never on the number of workers."""
    size = max(math.ceil(patients / 16), MIN_CHUNK_SIZE)
    return max(1, min(DEFAULT_CHUNK_SIZE, size, patients))


def _digest(obj: Any) -> str:
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def code_digest() -> str:
    """Hash of the package sources that determine results."""
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for entry in _RESULT_SOURCES:
        path = root / entry
        files = sorted(path.glob("*.py")) if path.is_dir() else [path]
        for f in files:
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def parameters_digest(plan: CohortPlan) -> str:
    params = {
        name: [p.value, p.bounds, p.prior.distribution, p.prior.cv, p.prior.sd]
        for name, p in plan.parameters.items()
    }
    return _digest(params)


def run_identity(
    plan: CohortPlan, *, seed: int, patients: int, chunk_size: int, trajectory_step: int
) -> dict[str, Any]:
    """The fields that must match for a run folder to be resumed."""
    from marrowsim import __version__

    scenario_json = plan.scenario.model_dump(mode="json")
    return {
        "scenario": plan.scenario.name,
        "scenario_hash": _digest(scenario_json),
        "seed": int(seed),
        "patients": int(patients),
        "chunk_size": int(chunk_size),
        "trajectory_step": int(trajectory_step),
        "package_version": __version__,
        "model_code": code_digest(),
        "parameters_hash": parameters_digest(plan),
    }


def run_id(identity: dict[str, Any]) -> str:
    return _digest(identity)


def build_manifest(
    plan: CohortPlan, identity: dict[str, Any], first_day: int, last_day: int
) -> dict[str, Any]:
    """The content of ``manifest.json``: identity, run id, arms and how patients are drawn."""
    patients, size = identity["patients"], identity["chunk_size"]
    return {
        "format": "marrowsim-cohort/1",
        "run_id": run_id(identity),
        "identity": identity,
        "chunks": math.ceil(patients / size),
        "arms": list(plan.arm_names),
        "reference_arm": plan.reference_arm,
        "arm_descriptions": {a.name: a.description for a in plan.arms},
        "days": [first_day, last_day],
        "variability": plan.describe_variability(),
        "covariates": {
            a.name: {k: d.describe() for k, d in a.covariates.items()} for a in plan.arms
        },
        "parameter_values": {k: p.value for k, p in plan.parameters.items()},
        "scenario_json": plan.scenario.model_dump(mode="json"),
    }
