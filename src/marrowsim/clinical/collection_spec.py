"""The ``[mobilization]`` scenario section and its compilation into a dose/apheresis schedule.

A scenario says, in protocol text (:func:`marrowsim.protocol.parse_step`)::

    [mobilization]
    steps = ["Filgrastim 10 ug/kg SC daily on days 1 to 4",
             "Plerixafor 0.24 mg/kg SC on day 4",
             "Apheresis 20 L on days 5 to 6"]
    target_cd34_per_kg = 5e6
    max_aphereses = 2

Days are mobilization days (day 1 = first day of the course). Filgrastim is given at
``mobilization_gcsf_dose_hour``, plerixafor at ``mobilization_plerixafor_dose_hour`` (evening),
apheresis starts at ``mobilization_apheresis_start_hour`` and lasts volume / inlet flow; all
three are assumptions in ``parameters/sets/Assumptions_mobilization.toml``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator

from marrowsim.errors import InputError, ScenarioError, UnknownNameError
from marrowsim.model.mobilization import Dose
from marrowsim.parameters import ParameterSet, default_parameters

MOBILIZING_DRUGS = ("Filgrastim", "Plerixafor")
MIN_WEIGHT_KG, MAX_WEIGHT_KG = 0.0, 500.0
EXA_CEL_SCD_WARNING = (
    "G-CSF (filgrastim) must not be used to mobilize patients with sickle cell disease "
    "(exa-cel/CASGEVY US label: risk of vaso-occlusive crises and severe complications); "
    "mobilize with plerixafor alone"
)


class ContraindicationWarning(UserWarning):
    """A step the label advises against (the simulation still runs)."""


def warn_gcsf_in_sickle_cell() -> None:
    """Warn (once per process) that G-CSF mobilization is contraindicated in sickle cell disease."""
    warnings.warn(EXA_CEL_SCD_WARNING, ContraindicationWarning, stacklevel=1)


DIAGNOSES: dict[str, str] = {
    "healthy": "healthy",
    "healthy_donor": "healthy",
    "donor": "healthy",
    "myeloma": "myeloma",
    "multiple_myeloma": "myeloma",
    "mm": "myeloma",
    "lymphoma": "lymphoma",
    "nhl": "lymphoma",
    "non_hodgkin_lymphoma": "lymphoma",
    "hodgkin_lymphoma": "lymphoma",
    "sickle_cell_disease": "sickle_cell_disease",
    "sickle_cell": "sickle_cell_disease",
    "scd": "sickle_cell_disease",
    "beta_thalassemia": "beta_thalassemia",
    "thalassemia": "beta_thalassemia",
    "tdt": "beta_thalassemia",
}
"""Diagnosis spellings (lower case, ``_`` for blanks) → mobilization class."""


def mobilization_class(diagnosis: str) -> str:
    """The mobilization class of a diagnosis (``healthy``, ``myeloma``, ``lymphoma`` …)."""
    key = diagnosis.strip().lower().replace(" ", "_").replace("-", "_")
    if key not in DIAGNOSES:
        raise UnknownNameError("diagnosis for mobilization", diagnosis, DIAGNOSES)
    return DIAGNOSES[key]


class MobilizationSpec(BaseModel):
    """The ``[mobilization]`` section of a scenario."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    steps: tuple[str, ...] = Field(min_length=1)
    target_cd34_per_kg: float = Field(default=5e6, gt=0)
    max_aphereses: int = Field(default=4, ge=1, le=10)

    @field_validator("steps")
    @classmethod
    def _parse(cls, steps: tuple[str, ...]) -> tuple[str, ...]:
        from marrowsim.protocol import parse_step

        for line in steps:
            parse_step(line)  # raises ProtocolError (an InputError) with the accepted examples
        return steps


@dataclass(frozen=True)
class CollectionPatient:
    """What collection needs to know about the patient (or donor)."""

    weight_kg: float
    height_cm: float = 170.0
    sex: str = "male"
    diagnosis: str = "healthy"

    def __post_init__(self) -> None:
        if not MIN_WEIGHT_KG < self.weight_kg <= MAX_WEIGHT_KG:
            raise InputError(
                f"weight must be > {MIN_WEIGHT_KG:g} and <= {MAX_WEIGHT_KG:g} kg, "
                f"got {self.weight_kg!r}"
            )
        if not 30.0 <= self.height_cm <= 272.0:
            raise InputError(f"height must be 30-272 cm, got {self.height_cm!r}")
        if self.sex not in ("male", "female"):
            raise InputError(f"sex must be 'male' or 'female', got {self.sex!r}")
        mobilization_class(self.diagnosis)

    @classmethod
    def from_scenario_patient(cls, patient: object) -> CollectionPatient:
        """Build from any object with ``weight_kg``, ``height_cm``, ``sex``, ``diagnosis``."""
        return cls(
            weight_kg=float(patient.weight_kg),  # type: ignore[attr-defined]
            height_cm=float(getattr(patient, "height_cm", 170.0) or 170.0),
            sex=str(getattr(patient, "sex", "male") or "male"),
            diagnosis=str(getattr(patient, "diagnosis", "healthy") or "healthy"),
        )


@dataclass(frozen=True)
class MobilizationSchedule:
    """Doses (per kg, at clock times) and apheresis sessions compiled from the steps."""

    doses: tuple[Dose, ...]
    apheresis_days: tuple[int, ...]
    apheresis_volume_l: tuple[float, ...]
    session_hours: tuple[tuple[float, float], ...]  # (start, end) in days since day 1 00:00
    first_day: int
    last_day: int


def compile_schedule(
    steps: tuple[str, ...] | list[str],
    patient: CollectionPatient,
    ps: ParameterSet | None = None,
) -> MobilizationSchedule:
    """Parse the steps and check them for collection: known drugs only, apheresis after
    the first mobilizing dose; G-CSF in sickle cell disease warns (exa-cel label)."""
    from marrowsim.protocol import Apheresis, DrugDose, GrowthFactor, parse_step

    ps = ps or default_parameters()
    hours = {
        "Filgrastim": ps.value("mobilization_gcsf_dose_hour"),
        "Plerixafor": ps.value("mobilization_plerixafor_dose_hour"),
    }
    flow_l_per_h = ps.value("mobilization_apheresis_inlet_flow_ml_per_min") * 60 / 1000
    start_h = ps.value("mobilization_apheresis_start_hour")
    doses: list[Dose] = []
    sessions: dict[int, float] = {}
    for line in steps:
        step = parse_step(line)
        if isinstance(step, Apheresis):
            for d in step.days:
                if d in sessions:
                    raise ScenarioError(f"apheresis given twice on day {d}: {line!r}")
                sessions[d] = step.volume_l
            continue
        if isinstance(step, GrowthFactor):
            if not isinstance(step.stop, int):
                raise ScenarioError(
                    f"collection needs fixed days for {step.drug}, got {line!r}; "
                    "write 'daily on days A to B'"
                )
            days, times = tuple(range(step.start_day, step.stop + 1)), 1
        elif isinstance(step, DrugDose):
            days, times = step.days, step.times_per_day
        else:
            raise ScenarioError(
                f"step {line!r} is not a mobilization step (allowed: "
                f"{', '.join(MOBILIZING_DRUGS)} doses and Apheresis)"
            )
        if step.drug not in MOBILIZING_DRUGS:
            raise UnknownNameError("mobilizing drug", step.drug, MOBILIZING_DRUGS)
        if step.drug == "Filgrastim" and mobilization_class(patient.diagnosis) == (
            "sickle_cell_disease"
        ):
            warn_gcsf_in_sickle_cell()  # contraindicated, but simulated as asked (issue 5)
        per_kg = _per_kg(step.drug, step.dose, step.unit, patient.weight_kg)
        for d in days:
            for k in range(times):
                hour = hours[step.drug] + k * 24.0 / times
                doses.append(Dose(step.drug.lower(), per_kg, d - 1 + (hour % 24) / 24.0))
    if not sessions:
        raise ScenarioError("the mobilization steps contain no Apheresis step")
    if not doses:
        raise ScenarioError("apheresis without mobilization: add a Filgrastim or Plerixafor step")
    first_dose_day = min(int(d.time_days) + 1 for d in doses)
    early = [d for d in sessions if d <= first_dose_day]
    if early:
        raise ScenarioError(
            f"apheresis on day {min(early)} is not after the start of mobilization "
            f"(first mobilizing dose on day {first_dose_day})"
        )
    days = tuple(sorted(sessions))
    volumes = tuple(sessions[d] for d in days)
    windows = tuple(
        (d - 1 + start_h / 24.0, d - 1 + (start_h + v / flow_l_per_h) / 24.0)
        for d, v in zip(days, volumes, strict=True)
    )
    return MobilizationSchedule(
        doses=tuple(sorted(doses, key=lambda x: x.time_days)),
        apheresis_days=days,
        apheresis_volume_l=volumes,
        session_hours=windows,
        first_day=min(first_dose_day, days[0]),
        last_day=days[-1],
    )


def _per_kg(drug: str, dose: float, unit: str, weight_kg: float) -> float:
    """Dose in the model's unit: µg/kg for filgrastim, mg/kg for plerixafor (flat mg ÷ kg)."""
    if unit == "mg":
        dose, unit = dose / weight_kg, "mg/kg"
    if drug == "Filgrastim" and unit == "mg/kg":
        return dose * 1000.0
    return dose
