"""Scenarios: a TOML file (or mapping) describing one patient, validated with clear errors.

Built-in scenarios ship in ``marrowsim/scenarios/*.toml`` and can be named anywhere a path is
accepted. Validation errors are one line: where, what was wrong, the value received, what is
allowed.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from marrowsim.clinical.collection_spec import MobilizationSpec
from marrowsim.clinical.disease_spec import Disease
from marrowsim.clinical.editing import Editing
from marrowsim.clinical.transplant_spec import Conditioning, Donor, Graft, ProtocolSection
from marrowsim.cohort.spec import CohortSpec
from marrowsim.errors import ScenarioError, UnknownNameError, did_you_mean

Diagnosis = Literal[
    "healthy",
    "AML",
    "ALL",
    "MDS",
    "myeloma",
    "lymphoma",
    "aplastic_anemia",
    "sickle_cell",
    "beta_thalassemia",
]
DIAGNOSES: tuple[str, ...] = get_args(Diagnosis)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _quantity(value: Any, dimension: str) -> Any:
    """Accept a number in canonical units or a string with a unit of the right dimension."""
    if isinstance(value, str):
        from marrowsim.errors import InputError
        from marrowsim.units import parse_quantity

        try:
            return parse_quantity(value, dimension=dimension)[0]
        except InputError as exc:  # re-raised as a validation error (its location names the key)
            raise ValueError(str(exc)) from None
    return value


class Patient(_Strict):
    """The recipient (or the healthy person) being simulated."""

    age_years: float = Field(ge=0, le=120)
    weight_kg: float = Field(gt=0, le=500)
    height_cm: float | None = Field(default=None, gt=30, le=260)
    sex: Literal["male", "female"]
    diagnosis: Diagnosis = "healthy"
    hla: str | None = None
    comorbidities: tuple[str, ...] = ()
    karnofsky: int | None = Field(default=None, ge=0, le=100)

    @field_validator("weight_kg", mode="before")
    @classmethod
    def _weight(cls, v: Any) -> Any:
        return _quantity(v, "mass")

    @field_validator("height_cm", mode="before")
    @classmethod
    def _height(cls, v: Any) -> Any:
        return _quantity(v, "length")

    @field_validator("hla")
    @classmethod
    def _hla(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from marrowsim.clinical.compatibility import validate_typing

        return validate_typing(v, where="[patient] hla")

    @field_validator("comorbidities")
    @classmethod
    def _comorbidities(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        from marrowsim.clinical.scores import hct_ci

        hct_ci(v)  # unknown names raise with "did you mean" and the 17 HCT-CI items
        return v

    @field_validator("karnofsky")
    @classmethod
    def _karnofsky(cls, v: int | None) -> int | None:
        from marrowsim.clinical.scores import validate_karnofsky

        return None if v is None else validate_karnofsky(v)


COMPARTMENT_TARGETS = ("all",)  # plus every compartment name (checked at compile time)


class Perturbation(_Strict):
    """An instantaneous loss of cells.

    Example: ``{ day = 10, compartment = "hsc", surviving_fraction = 0.5 }``.
    """

    day: float
    compartment: str = "all"
    surviving_fraction: float = Field(ge=0, le=1)
    clone_class: str = "host"

    @field_validator("compartment")
    @classmethod
    def _compartment(cls, v: str) -> str:
        from marrowsim.model.layout import COMPARTMENT_NAMES

        if v != "all" and v not in COMPARTMENT_NAMES:
            raise UnknownNameError("compartment", v, ("all", *COMPARTMENT_NAMES))
        return v

    @field_validator("clone_class")
    @classmethod
    def _clone_class(cls, v: str) -> str:
        from marrowsim.model.layout import CLASS_NAMES

        if v != "all" and v not in CLASS_NAMES:
            raise UnknownNameError("clone class", v, ("all", *CLASS_NAMES))
        return v


class Scenario(_Strict):
    """One simulated course. Day 0 is the graft infusion where there is one."""

    name: str
    description: str = ""
    days: int = Field(default=100, gt=0, le=36500)
    start_day: int | None = Field(default=None, le=0)
    seed: int = Field(default=0, ge=0)
    patient: Patient
    perturbations: tuple[Perturbation, ...] = ()
    mobilization: MobilizationSpec | None = None
    donor: Donor | None = None
    graft: Graft | None = None
    conditioning: Conditioning | None = None
    protocol: ProtocolSection | None = None
    disease: Disease | None = None  # disease models: docs/disease.md
    editing: Editing | None = None  # ex vivo gene editing of an autologous graft
    cohort: CohortSpec | None = None  # virtual cohorts: docs/cohorts.md

    @model_validator(mode="after")
    def _transplant_consistent(self) -> Scenario:
        if self.graft is not None and self.donor is None:
            raise ValueError("a [graft] needs a [donor] section (relation = ...)")
        if self.graft is not None and self.donor is not None:
            cord = self.graft.source == "cord_blood"
            if cord != (self.donor.relation == "cord"):
                raise ValueError(
                    f"graft source {self.graft.source!r} does not fit donor relation "
                    f'{self.donor.relation!r} (cord grafts have relation = "cord")'
                )
        from marrowsim.clinical.disease_spec import check_disease

        check_disease(self.patient.diagnosis, self.disease)
        from marrowsim.clinical.graft_from_collection import check_from_collection

        check_from_collection(self)
        from marrowsim.clinical.erythroid import check_erythroid_scenario

        check_erythroid_scenario(self)  # [editing] on an allogeneic graft; G-CSF in SCD warns
        if self.donor is not None:
            from marrowsim.clinical.compatibility import mismatch_summary

            mismatch_summary(self)  # grade/typing missing or contradictory: one clear line
        return self

    @property
    def first_day(self) -> int:
        """The first simulated day: ``start_day``, else one day before the earliest step."""
        if self.start_day is not None:
            return self.start_day
        days = [0]
        for section in (self.conditioning, self.protocol):
            if section is not None:
                for step in section.protocol().steps:
                    days += list(getattr(step, "days", ()) or [getattr(step, "day", 0)])
        return min(min(days) - 1, 0) if min(days) < 0 else 0

    def with_overrides(self, **changes: Any) -> Scenario:
        """A validated copy with top-level fields replaced (``days``, ``seed`` …)."""
        data = self.model_dump()
        data.update({k: v for k, v in changes.items() if v is not None})
        return scenario_from_mapping(data, where=f"scenario {self.name!r}")


def _format_validation_error(exc: ValidationError, where: str) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        section = _model_at(err["loc"][:-1])
        allowed = ", ".join(section.model_fields) if section else ""
        hint = did_you_mean(str(err["loc"][-1]), section.model_fields) if section else None
        extra = f"; did you mean {hint!r}?" if hint else ""
        return f"{where}: unknown key {loc!r}{extra} (allowed: {allowed})"
    if kind == "missing":
        return f"{where}: missing required key {loc!r}"
    msg = err["msg"].removeprefix("Value error, ")
    received = err.get("input")
    shown = "" if isinstance(received, dict) else f" (got {received!r})"
    return f"{where}: {loc}: {msg}{shown}"


def _model_at(loc: tuple) -> type[BaseModel] | None:
    model: type[BaseModel] = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        ann = field.annotation
        candidates = [ann, *getattr(ann, "__args__", ())]
        for cand in candidates:
            inner = [cand, *getattr(cand, "__args__", ())]
            nxt = next((c for c in inner if isinstance(c, type) and issubclass(c, BaseModel)), None)
            if nxt is not None:
                model = nxt
                break
        else:
            return None
    return model


def scenario_from_mapping(data: dict[str, Any], *, where: str = "scenario") -> Scenario:
    """Validate a mapping (e.g. parsed TOML) into a :class:`Scenario`."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(_format_validation_error(exc, where)) from None


def builtin_scenarios() -> dict[str, resources.abc.Traversable]:
    """Names of the built-in scenarios and their files."""
    folder = resources.files("marrowsim") / "scenarios"
    return {f.name.removesuffix(".toml"): f for f in folder.iterdir() if f.name.endswith(".toml")}


def read_scenario_mapping(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    """Read the raw TOML mapping of a scenario file or built-in name."""
    path = Path(name_or_path)
    builtins = builtin_scenarios()
    if path.is_file():
        text, where = path.read_text(encoding="utf-8"), str(path)
    elif path.suffix == ".toml":
        raise ScenarioError(f"scenario file {str(path)!r} does not exist")
    elif str(name_or_path) in builtins:
        text, where = builtins[str(name_or_path)].read_text(encoding="utf-8"), str(name_or_path)
    else:
        raise UnknownNameError("scenario", str(name_or_path), builtins)
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{where}: not valid TOML: {exc}") from None


def load_scenario(name_or_path: str | Path, **overrides: Any) -> Scenario:
    """Load a scenario by built-in name or file path; ``overrides`` replace top-level keys."""
    data, where = read_scenario_mapping(name_or_path)
    data.update({k: v for k, v in overrides.items() if v is not None})
    return scenario_from_mapping(data, where=where)
