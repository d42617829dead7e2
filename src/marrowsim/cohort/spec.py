"""The ``[cohort]`` section of a scenario: covariates, parameter variability and arms.

.. code-block:: toml

    [cohort]
    patients = 1000                       # default for --patients
    parameter_variability = "prior"       # or "none": every parameter at its value
    reference_arm = "pbsc"                # comparisons are other arms minus this one

    [cohort.covariates]
    age_years = { distribution = "truncnormal", mean = 45, sd = 12, low = 18, high = 70 }
    weight_kg = { distribution = "lognormal", median = 75, cv = 0.2, low = 40, high = 150 }
    sex = { distribution = "categorical", weights = { male = 0.55, female = 0.45 } }

    [cohort.variability]                  # overrides of the registry priors, per parameter
    hsc_division_rate = { distribution = "lognormal", cv = 0.3 }
    homing_fraction = "fixed"

    [cohort.arms.pbsc.graft]              # an arm replaces whole scenario sections
    source = "peripheral_blood"
    cd34_per_kg = 6.0e6

    [cohort.arms.marrow.graft]
    source = "bone_marrow"
    cd34_per_kg = 2.5e6

    [cohort.arms.marrow.covariates]       # and may give its own covariate distributions
    graft_cd34_per_kg = { distribution = "lognormal", median = 2.5e6, cv = 0.35 }

Names are checked here (covariates, parameters, arm sections, distributions); whether values fit
the scenario is checked when the cohort is planned (:mod:`marrowsim.cohort.plan`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from marrowsim.cohort.distributions import Distribution
from marrowsim.errors import UnknownNameError


@dataclass(frozen=True)
class Covariate:
    """A patient-level quantity a cohort can sample; ``field`` is where it goes in a scenario."""

    name: str
    section: str | None  # "patient", "donor", "graft"; None: recorded for fates only
    field: str | None
    kind: Literal["float", "int", "category"]
    units: str
    description: str


# Append only: the position of a covariate is its slot in each patient's random stream.
COVARIATES = (
    Covariate("age_years", "patient", "age_years", "float", "years", "recipient age"),
    Covariate("weight_kg", "patient", "weight_kg", "float", "kg", "recipient weight"),
    Covariate("height_cm", "patient", "height_cm", "float", "cm", "recipient height"),
    Covariate("sex", "patient", "sex", "category", "", "recipient sex"),
    Covariate("diagnosis", "patient", "diagnosis", "category", "", "underlying disease"),
    Covariate("karnofsky", "patient", "karnofsky", "int", "%", "Karnofsky performance score"),
    Covariate("hct_ci", None, None, "int", "points", "HCT-CI comorbidity score (Sorror 2005)"),
    Covariate("donor_relation", "donor", "relation", "category", "", "donor type"),
    Covariate("donor_hla_match", "donor", "hla_match", "category", "", 'HLA grade, e.g. "8/8"'),
    Covariate("donor_age_years", "donor", "age_years", "float", "years", "donor age"),
    Covariate("donor_sex", "donor", "sex", "category", "", "donor sex"),
    Covariate("graft_cd34_per_kg", "graft", "cd34_per_kg", "float", "cells/kg", "CD34+ dose"),
    Covariate("graft_cd3_per_kg", "graft", "cd3_per_kg", "float", "cells/kg", "CD3+ dose"),
)
COVARIATE_NAMES = tuple(c.name for c in COVARIATES)
COVARIATE_BY_NAME = {c.name: c for c in COVARIATES}
# scenario sections an arm may replace (patients are shared between arms: no [patient] here)
ARM_SECTIONS = ("donor", "graft", "conditioning", "protocol", "perturbations", "mobilization")
_ARM_KEYS = ("description", "covariates", *ARM_SECTIONS)
_ARM_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,39}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known_covariates(value: dict[str, Distribution]) -> dict[str, Distribution]:
    for name, dist in value.items():
        if name not in COVARIATE_BY_NAME:
            raise UnknownNameError("covariate", name, COVARIATE_NAMES)
        _complete(name, dist, centre_required=True)
    return value


def _complete(name: str, dist: Distribution, *, centre_required: bool) -> None:
    missing = dist.missing_required(centre_required=centre_required)
    if missing:
        raise ValueError(f"{name}: {dist.distribution} needs {', '.join(missing)}")


class ArmSpec(_Strict):
    """One arm: a description, covariate distributions and whole scenario sections it replaces."""

    description: str = ""
    covariates: dict[str, Distribution] = Field(default_factory=dict)
    sections: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _split_sections(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        sections = dict(data.pop("sections", None) or {})
        for key in list(data):
            if key in ("description", "covariates"):
                continue
            if key not in ARM_SECTIONS:
                raise UnknownNameError("arm section", key, _ARM_KEYS)
            sections[key] = data.pop(key)
        for key in sections:
            if key not in ARM_SECTIONS:
                raise UnknownNameError("arm section", key, _ARM_KEYS)
        return {**data, "sections": sections}

    @field_validator("covariates")
    @classmethod
    def _covariate_names(cls, value: dict[str, Distribution]) -> dict[str, Distribution]:
        return _known_covariates(value)


class CohortSpec(_Strict):
    """The ``[cohort]`` section (see the module documentation for the format)."""

    patients: int | None = Field(default=None, gt=0, le=10**9)
    parameter_variability: Literal["prior", "none"] = "prior"
    reference_arm: str | None = None
    covariates: dict[str, Distribution] = Field(default_factory=dict)
    variability: dict[str, Distribution] = Field(default_factory=dict)
    arms: dict[str, ArmSpec] = Field(default_factory=dict)

    @field_validator("covariates")
    @classmethod
    def _covariate_names(cls, value: dict[str, Distribution]) -> dict[str, Distribution]:
        return _known_covariates(value)

    @field_validator("variability")
    @classmethod
    def _known_parameters(cls, value: dict[str, Distribution]) -> dict[str, Distribution]:
        from marrowsim.parameters import default_parameters

        known = default_parameters()
        for name, dist in value.items():
            if name not in known:
                raise UnknownNameError("parameter", name, known)
            _complete(name, dist, centre_required=False)
        return value

    @field_validator("arms")
    @classmethod
    def _arm_names(cls, value: dict[str, ArmSpec]) -> dict[str, ArmSpec]:
        for name in value:
            if not _ARM_NAME.match(name):
                raise ValueError(
                    f"arm name {name!r} must start with a letter and use letters, digits, _ "
                    "or - (at most 40 characters)"
                )
        return value

    @model_validator(mode="after")
    def _reference(self) -> CohortSpec:
        if self.reference_arm is not None and self.reference_arm not in self.arms:
            raise UnknownNameError("reference_arm", self.reference_arm, self.arms or ("(no arms)",))
        return self

    @property
    def arm_names(self) -> tuple[str, ...]:
        return tuple(self.arms) or (DEFAULT_ARM,)


DEFAULT_ARM = "main"
