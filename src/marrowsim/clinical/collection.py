"""Apheresis arithmetic, collection planning, bone-marrow harvest and simulated collection.

Formulas (``../shared/science/clinical.md`` §3.1; CD34/µL × 10^6 = CD34/L):

* yield (cells) = CE × PB CD34/µL × 10^6 × litres processed (Pierelli, Vox Sang 2006;91:126);
  per kg = ÷ weight;
* CE2 = product CD34 / (litres processed × pre-count PB CD34/µL × 10^6) (Neyrinck 2015);
* volume to process = target/kg × weight / (PB CD34/µL × 10^6 × CE) (Ford et al.).

:func:`collect` runs the PD model of :mod:`marrowsim.model.mobilization` for one patient (the
typical patient of the diagnosis; per-session CE drawn from ``seed``) or, with ``patients=N``, a
virtual population in which the mobilization response, the plerixafor response and the CE vary.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from marrowsim.clinical.collection_spec import (
    CollectionPatient,
    MobilizationSchedule,
    MobilizationSpec,
    compile_schedule,
    mobilization_class,
)
from marrowsim.errors import InputError
from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.units import total_blood_volume_l

POOR_COLLECTION_CD34_PER_KG = 2e6  # usual autologous floor (clinical.md §3.1)


def _positive(value: float, what: str) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise InputError(f"{what} must be a positive number, got {value!r}")
    return float(value)


def _fraction(value: float, what: str) -> float:
    if not (isinstance(value, int | float) and 0 < value <= 1.5):
        raise InputError(f"{what} must be in (0, 1.5], got {value!r}")
    return float(value)


def predicted_yield_cd34_per_kg(
    pb_cd34_per_ul: float, processed_volume_l: float, collection_efficiency: float, weight_kg: float
) -> float:
    """CE × PB CD34/µL × 10^6 × L processed / kg (clinical.md §3.1, Pierelli 2006)."""
    _positive(pb_cd34_per_ul, "PB CD34+ count (/uL)")
    _positive(processed_volume_l, "processed volume (L)")
    _fraction(collection_efficiency, "collection efficiency")
    _positive(weight_kg, "weight (kg)")
    return collection_efficiency * pb_cd34_per_ul * 1e6 * processed_volume_l / weight_kg


def collection_efficiency_ce2(
    product_cd34_cells: float, processed_volume_l: float, pb_cd34_per_ul: float
) -> float:
    """CE2 from the pre-apheresis count (Neyrinck, J Clin Apher 2015;30:38)."""
    _positive(processed_volume_l, "processed volume (L)")
    _positive(pb_cd34_per_ul, "PB CD34+ count (/uL)")
    if product_cd34_cells < 0:
        raise InputError(f"product CD34+ cells must be >= 0, got {product_cd34_cells!r}")
    return product_cd34_cells / (processed_volume_l * pb_cd34_per_ul * 1e6)


def volume_to_process_l(
    target_cd34_per_kg: float, weight_kg: float, pb_cd34_per_ul: float, collection_efficiency: float
) -> float:
    """Litres to process to reach the target in one go (Ford et al., clinical.md §3.1)."""
    _positive(target_cd34_per_kg, "target CD34+/kg")
    _positive(weight_kg, "weight (kg)")
    _positive(pb_cd34_per_ul, "PB CD34+ count (/uL)")
    _fraction(collection_efficiency, "collection efficiency")
    return target_cd34_per_kg * weight_kg / (pb_cd34_per_ul * 1e6 * collection_efficiency)


def aphereses_needed(
    target_cd34_per_kg: float,
    weight_kg: float,
    pb_cd34_per_ul: float,
    collection_efficiency: float,
    volume_per_session_l: float,
) -> int:
    """Number of sessions of ``volume_per_session_l`` if the count stayed constant."""
    _positive(volume_per_session_l, "volume per session (L)")
    litres = volume_to_process_l(
        target_cd34_per_kg, weight_kg, pb_cd34_per_ul, collection_efficiency
    )
    return max(1, math.ceil(litres / volume_per_session_l - 1e-9))


def processed_volume_from_blood_volumes(
    multiple: float, weight_kg: float, height_cm: float, sex: str
) -> float:
    """Litres processed when ``multiple`` total blood volumes (Nadler) are processed."""
    _positive(multiple, "number of blood volumes")
    return multiple * total_blood_volume_l(weight_kg, height_cm, sex)


def first_collection_day(
    days: list[int] | tuple[int, ...], pb_cd34_per_ul: list[float], threshold_per_ul: float | None
) -> int | None:
    """First day whose morning PB CD34+ reaches the start threshold (assumption: 10/µL,
    ``mobilization_apheresis_start_threshold_per_ul``), or ``None``."""
    if threshold_per_ul is None:
        threshold_per_ul = default_parameters().value(
            "mobilization_apheresis_start_threshold_per_ul"
        )
    for day, count in zip(days, pb_cd34_per_ul, strict=True):
        if count >= threshold_per_ul:
            return int(day)
    return None


@dataclass(frozen=True)
class MarrowHarvest:
    """Bone-marrow harvest: volume (mL), TNC and CD34+ per kg of recipient."""

    volume_ml: float
    tnc_per_kg: float
    cd34_per_kg: float


def bone_marrow_harvest(
    donor_sex: str, donor_weight_kg: float, recipient_weight_kg: float
) -> MarrowHarvest:
    """Median harvest by donor sex (Lysák 2021), capped at 20 mL/kg donor (assumption); TNC
    concentration and CD34+ fraction are assumptions (``Assumptions_mobilization.toml``)."""
    ps = default_parameters()
    CollectionPatient(weight_kg=donor_weight_kg, sex=donor_sex)
    CollectionPatient(weight_kg=recipient_weight_kg)
    volume = ps.value(f"mobilization_marrow_harvest_volume_{donor_sex}_ml")
    volume = min(volume, ps.value("mobilization_marrow_max_harvest_ml_per_kg") * donor_weight_kg)
    tnc = volume * ps.value("mobilization_marrow_tnc_per_ml") / recipient_weight_kg
    return MarrowHarvest(volume, tnc, tnc * ps.value("mobilization_marrow_cd34_fraction"))


@dataclass(frozen=True)
class ApheresisYield:
    """One apheresis session of a single-patient collection."""

    day: int
    volume_l: float
    cd34_per_kg: float
    pre_pb_cd34_per_ul: float
    collection_efficiency: float


@dataclass(frozen=True)
class CollectionResult:
    """A single-patient collection (morning counts, sessions, cumulative yield)."""

    days: tuple[int, ...]
    pb_cd34_per_ul: tuple[float, ...]
    aphereses: tuple[ApheresisYield, ...]
    cumulative_cd34_per_kg: float
    target_cd34_per_kg: float
    seed: int

    @property
    def target_reached(self) -> bool:
        return self.cumulative_cd34_per_kg >= self.target_cd34_per_kg

    def to_dict(self) -> dict[str, Any]:
        """The ``marrowsim collect --json`` output contract."""
        return {
            "day": list(self.days),
            "pb_cd34_per_ul": [round(x, 3) for x in self.pb_cd34_per_ul],
            "aphereses": [
                {"day": a.day, "volume_l": a.volume_l, "cd34_per_kg": a.cd34_per_kg}
                for a in self.aphereses
            ],
            "cumulative_cd34_per_kg": self.cumulative_cd34_per_kg,
            "target_reached": self.target_reached,
        }


@dataclass(frozen=True)
class PopulationResult:
    """A virtual population: per-patient cumulative yields and session counts."""

    cumulative_cd34_per_kg: np.ndarray
    aphereses: np.ndarray
    target_cd34_per_kg: float
    seed: int

    @property
    def n(self) -> int:
        return int(self.cumulative_cd34_per_kg.size)

    def to_dict(self) -> dict[str, Any]:
        """The ``marrowsim collect --patients N --json`` output contract."""
        return {
            "n": self.n,
            "fraction_target_reached": float(
                np.mean(self.cumulative_cd34_per_kg >= self.target_cd34_per_kg)
            ),
            "fraction_below_2e6_per_kg": float(
                np.mean(self.cumulative_cd34_per_kg < POOR_COLLECTION_CD34_PER_KG)
            ),
            "median_aphereses": float(np.median(self.aphereses)),
        }


def _spec_and_patient(
    scenario_or_spec: Any, patient: CollectionPatient | None
) -> tuple[MobilizationSpec, CollectionPatient]:
    if isinstance(scenario_or_spec, MobilizationSpec):
        if patient is None:
            raise InputError("collect(spec) needs patient=CollectionPatient(...)")
        return scenario_or_spec, patient
    spec = getattr(scenario_or_spec, "mobilization", None)
    if spec is None:
        name = getattr(scenario_or_spec, "name", scenario_or_spec)
        raise InputError(f"scenario {name!r} has no [mobilization] section")
    if not isinstance(spec, MobilizationSpec):
        spec = MobilizationSpec.model_validate(spec)
    if patient is None:
        patient = CollectionPatient.from_scenario_patient(scenario_or_spec.patient)
    return spec, patient


def response_median(diagnosis: str, ps: ParameterSet) -> float:
    """Median mobilization response of a diagnosis (healthy donors = 1 by definition)."""
    cls = mobilization_class(diagnosis)
    if cls == "healthy":
        return 1.0
    if cls in ("sickle_cell_disease", "beta_thalassemia"):
        return ps.value("mobilization_response_median_hemoglobinopathy")
    myeloma = ps.value("mobilization_response_median_myeloma")
    if cls == "lymphoma":
        return myeloma * ps.value("mobilization_response_lymphoma_to_myeloma")
    return myeloma


def simulate_collection(
    schedule: MobilizationSchedule,
    patient: CollectionPatient,
    *,
    n: int,
    rng: np.random.Generator,
    target_cd34_per_kg: float,
    max_aphereses: int,
    typical: bool,
    ps: ParameterSet | None = None,
    count_days: list[int] | None = None,
):
    """Run the PD model for ``n`` patients; returns the model's trajectory and the CE drawn."""
    from marrowsim.model.mobilization import MobilizationModel, MobilizationParameters, Patients
    from marrowsim.model.mobilization import Session as _Session

    ps = ps or default_parameters()
    model = MobilizationModel(MobilizationParameters.from_parameters(ps))
    omega = 0.0 if typical else ps.value("mobilization_response_log_sd")
    cv_p = 0.0 if typical else ps.value("mobilization_plerixafor_response_cv")
    sd_p = math.sqrt(math.log1p(cv_p**2))
    median = response_median(patient.diagnosis, ps)
    response = median * np.exp(omega * rng.standard_normal(n))
    pler = np.exp(sd_p * rng.standard_normal(n))
    ce_mid = ps.value("mobilization_collection_efficiency_median")
    ce_sd = ps.value("mobilization_collection_efficiency_logit_sd")
    n_sessions = len(schedule.apheresis_days)
    z = rng.standard_normal((n, n_sessions))
    ce = 1.0 / (1.0 + np.exp(-(math.log(ce_mid / (1 - ce_mid)) + ce_sd * z)))
    tbv = total_blood_volume_l(patient.weight_kg, patient.height_cm, patient.sex)
    pts = Patients(
        weight_kg=np.full(n, patient.weight_kg),
        blood_volume_l=np.full(n, tbv),
        response=response,
        plerixafor_response=pler,
    )
    sessions = [
        _Session(s, e, np.full(n, v), ce[:, i])
        for i, ((s, e), v) in enumerate(
            zip(schedule.session_hours, schedule.apheresis_volume_l, strict=True)
        )
    ]
    days = count_days or list(range(schedule.first_day, schedule.last_day + 1))
    traj = model.simulate(
        schedule.doses,
        sessions,
        pts,
        count_days=days,
        target_cd34_per_kg=target_cd34_per_kg,
        max_sessions=max_aphereses,
    )
    return traj, ce


def collect(
    scenario_or_spec: Any,
    *,
    seed: int = 0,
    patients: int | None = None,
    patient: CollectionPatient | None = None,
) -> CollectionResult | PopulationResult:
    """Simulate the collection of a scenario's ``[mobilization]`` section.

    Without ``patients``: the typical patient of the diagnosis, CE per session drawn from
    ``seed`` → :class:`CollectionResult`. With ``patients=N``: a virtual population →
    :class:`PopulationResult`. Collection stops at the target or after ``max_aphereses``.
    """
    spec, patient = _spec_and_patient(scenario_or_spec, patient)
    if patients is not None and not (isinstance(patients, int) and 1 <= patients <= 10**6):
        raise InputError(f"number of patients must be an integer in 1..1000000, got {patients!r}")
    ps = default_parameters()
    schedule = compile_schedule(spec.steps, patient, ps)
    rng = np.random.default_rng(seed)
    n = patients or 1
    traj, ce = simulate_collection(
        schedule,
        patient,
        n=n,
        rng=rng,
        target_cd34_per_kg=spec.target_cd34_per_kg,
        max_aphereses=spec.max_aphereses,
        typical=patients is None,
        ps=ps,
    )
    cumulative = traj.session_cd34_per_kg.sum(axis=1)
    if patients is not None:
        return PopulationResult(
            cumulative, traj.session_performed.sum(axis=1), spec.target_cd34_per_kg, seed
        )
    done = traj.session_performed[0]
    sessions = tuple(
        ApheresisYield(
            day=int(schedule.apheresis_days[i]),
            volume_l=float(schedule.apheresis_volume_l[i]),
            cd34_per_kg=float(traj.session_cd34_per_kg[0, i]),
            pre_pb_cd34_per_ul=float(traj.session_pre_pb_cd34_per_ul[0, i]),
            collection_efficiency=float(ce[0, i]),
        )
        for i in range(len(done))
        if done[i]
    )
    return CollectionResult(
        days=tuple(int(d) for d in traj.days),
        pb_cd34_per_ul=tuple(float(x) for x in traj.pb_cd34_per_ul[0]),
        aphereses=sessions,
        cumulative_cd34_per_kg=float(cumulative[0]),
        target_cd34_per_kg=spec.target_cd34_per_kg,
        seed=seed,
    )
