"""Compile the disease models of a batch: constants, clone-class modifiers, initial state, rules.

Called by :func:`marrowsim.compile.compile_problem` after the healthy steady state is built. A
patient gets a disease model only when the scenario has a ``[disease]`` section
(:mod:`marrowsim.clinical.disease_spec`):

* **leukemia** (AML): the malignant class is seeded with a small clone in its growing proportions
  (:func:`marrowsim.model.leukemia.growth_profile`), sized by the measurable residual disease or
  the number of leukemic stem cells; its modifiers carry the Stiehl 2015 self-renewal advantage
  and the leukemic drug, radiation and immune sensitivities; a morning rule removes a clone
  reduced below one stem cell in the body;
* **autoimmunity** (aplastic anemia): the patient's HSCs and multipotent progenitors start at the
  residual fraction and the autoreactive T cells at their disease level (1).

The pharmacology of the drugs of aplastic anemia (horse ATG, ciclosporin, eltrombopag) is set for
every patient: eltrombopag and horse ATG act without the disease model too. Equations and
sources: ``docs/disease.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from marrowsim.clinical.disease_spec import disease_model
from marrowsim.engine.events import EV_ADD_AUX, RULE_EXTINCTION
from marrowsim.errors import InputError
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.autoimmunity import AUTOIMMUNE_TARGET_COMPARTMENTS
from marrowsim.model.leukemia import LEUKEMIC_COMPARTMENTS, growth_profile
from marrowsim.model.observables import _MARROW_COMPARTMENTS

# constant -> parameter, for every patient
DRUG_CONSTANTS = {
    "cyclosporine_elimination_rate": "cyclosporine_elimination_rate",
    "cyclosporine_ec50": "cyclosporine_ec50",
    "cyclosporine_max_inhibition": "cyclosporine_max_inhibition",
    "atg_autoreactive_kill_rabbit": "atg_autoreactive_kill_rabbit",
    "atg_autoreactive_kill_horse": "atg_autoreactive_kill_horse",
    "horse_atg_potency": "horse_atg_potency",
    "eltrombopag_elimination_rate": "eltrombopag_elimination_rate",
    "eltrombopag_ec50": "eltrombopag_ec50",
    "eltrombopag_tpo_equivalent": "eltrombopag_tpo_equivalent",
    "eltrombopag_hsc_stimulation": "eltrombopag_hsc_stimulation",
}
# drugs of aplastic anemia whose doses become auxiliary states (the rest of the protocol is
# compiled by model/transplant.py)
AUTOIMMUNITY_DRUGS = ("hATG", "Cyclosporine", "Eltrombopag")
_MARROW = list(_MARROW_COMPARTMENTS)

if TYPE_CHECKING:
    from marrowsim.protocol import DrugDose, GrowthFactor
    from marrowsim.scenario import Scenario


def prepare_disease(
    scenarios: Sequence[Scenario],
    values: Mapping[str, np.ndarray],
    constants: np.ndarray,
    y0: np.ndarray,
    class_mods: np.ndarray,
    active: np.ndarray,
    scale: np.ndarray,
) -> None:
    """Fill the disease parts of a batch in place (arrays with the patient axis first)."""
    for name, parameter in DRUG_CONSTANTS.items():
        constants[:, K.C[name]] = values[parameter]
    models = [disease_model(s.patient.diagnosis, s.disease) for s in scenarios]
    leukemia = np.array([i for i, m in enumerate(models) if m == "leukemia"], dtype=np.int64)
    if leukemia.size:
        _prepare_leukemia(scenarios, leukemia, values, constants, y0, class_mods, active, scale)
    autoimmunity = np.array([i for i, m in enumerate(models) if m == "autoimmunity"], dtype=int)
    if autoimmunity.size:
        _prepare_autoimmunity(scenarios, autoimmunity, values, constants, y0)


def _prepare_leukemia(scenarios, idx, values, constants, y0, class_mods, active, scale) -> None:
    v = {name: np.asarray(arr, dtype=float)[idx] for name, arr in values.items()}
    constants[idx, K.K_LSC_DIVISION] = v["lsc_division_rate"]
    constants[idx, K.K_LEUKEMIC_PROGENITOR_DIVISION] = v["leukemic_progenitor_division_ratio"]
    constants[idx, K.K_BLAST_CLEARANCE] = (
        v["leukemic_blast_clearance_ratio"] * v["neutrophil_clearance_rate"]
    )
    mods = class_mods[idx, L.MALIGNANT]
    mods[:, K.CM_HSC_FITNESS] = v["lsc_self_renewal_advantage"]
    mods[:, K.CM_DIFFERENTIATION] = v["leukemia_differentiation"]
    mods[:, K.CM_DRUG_SENSITIVITY] = v["leukemia_drug_sensitivity"]
    mods[:, K.CM_RADIOSENSITIVITY] = v["leukemia_radiosensitivity"]
    mods[:, K.CM_IMMUNE_TARGET] = v["leukemia_immune_target"]
    class_mods[idx, L.MALIGNANT] = mods
    advantage, differentiation = mods[:, K.CM_HSC_FITNESS], mods[:, K.CM_DIFFERENTIATION]
    profile = growth_profile(constants[idx], advantage, differentiation)
    if not np.all(np.isfinite(profile) & (profile >= 0)):
        raise InputError(
            "leukemia: the leukemic clone has no growing profile with these parameters "
            "(lsc_self_renewal_advantage must be >= 1)"
        )
    lsc = np.empty(idx.size)
    for q, i in enumerate(idx):
        spec = scenarios[i].disease
        if spec.leukemic_stem_cells_per_kg is not None:
            lsc[q] = spec.leukemic_stem_cells_per_kg
            continue
        mrd = spec.mrd_fraction if spec.mrd_fraction is not None else v["aml_mrd_fraction"][q]
        normal = y0[i, [L.cell_index(L.HOST, j) for j in _MARROW]].sum()
        lsc[q] = mrd / (1.0 - mrd) * normal / profile[q, _MARROW].sum()
    o = L.MALIGNANT * L.N_COMPARTMENTS
    for j in LEUKEMIC_COMPARTMENTS:
        y0[idx, o + j] = profile[:, j] * lsc
    active[idx, L.MALIGNANT] = True
    # the error norm counts leukemic cells in single cells: one cell in the body matters
    weight = constants[idx, K.K_WEIGHT]
    scale[idx, o : o + L.N_COMPARTMENTS] = (1.0 / weight)[:, None]


def _prepare_autoimmunity(scenarios, idx, values, constants, y0) -> None:
    v = {name: np.asarray(arr, dtype=float)[idx] for name, arr in values.items()}
    constants[idx, K.K_AUTOIMMUNE_KILL] = v["autoimmune_kill_rate"]
    constants[idx, K.K_AUTOREACTIVE_REGROWTH] = v["autoreactive_regrowth_rate"]
    constants[idx, K.K_AUTOIMMUNE_SUPPRESSION] = v["autoimmune_progenitor_suppression"]
    for q, i in enumerate(idx):
        given = scenarios[i].disease.residual_hsc_fraction
        residual = given if given is not None else v["aa_residual_hsc_fraction"][q]
        for j in AUTOIMMUNE_TARGET_COMPARTMENTS:
            y0[i, L.cell_index(L.HOST, j)] *= residual
    y0[idx, L.aux_index(L.AUX_AUTOREACTIVE)] = 1.0


def disease_rules(scenario: Scenario, v: Mapping[str, float]) -> tuple[list, list]:
    """Morning rules of the disease models: extinction of a leukemic clone below one LSC."""
    if disease_model(scenario.patient.diagnosis, scenario.disease) != "leukemia":
        return [], []
    one_cell = 1.0 / scenario.patient.weight_kg
    return [], [(RULE_EXTINCTION, float(L.MALIGNANT), one_cell, 0.0, 0.0)]


def drug_events(step: DrugDose | GrowthFactor, scenario: Scenario, weight_kg: float) -> list[tuple]:
    """Aux-state doses of horse ATG, ciclosporin and eltrombopag for one protocol step.

    Horse ATG and eltrombopag are compiled for every patient; ciclosporin only when the
    scenario runs the aplastic anemia model (as GVHD prophylaxis its effect on alloreactivity is
    the lumped ``immunosuppression_factor`` of ``model/transplant.py``).
    """
    from marrowsim.protocol import GrowthFactor

    if step.drug == "Cyclosporine" and (
        disease_model(scenario.patient.diagnosis, scenario.disease) != "autoimmunity"
    ):
        return []
    aux = {"hATG": L.AUX_HATG, "Cyclosporine": L.AUX_CSA, "Eltrombopag": L.AUX_ELTROMBOPAG}
    if step.unit not in ("mg/kg", "mg"):
        raise InputError(f"{step.drug}: dose unit {step.unit!r} is not modelled (mg/kg or mg)")
    dose = step.dose if step.unit == "mg/kg" else step.dose / weight_kg  # mg -> mg/kg
    if isinstance(step, GrowthFactor):
        if not isinstance(step.stop, int):
            raise InputError(
                f"{step.drug} until a count rule ({step.stop}) is not modelled; give its last "
                f"day ('from day {step.start_day} until day N')"
            )
        times = [float(d) for d in range(step.start_day, step.stop + 1)]
    else:
        times = [d + i / step.times_per_day for d in step.days for i in range(step.times_per_day)]
    return [(t, EV_ADD_AUX, aux[step.drug], dose, 0.0, 0.0) for t in times]
