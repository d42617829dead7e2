"""Erythroid phenotypes of sickle cell disease and beta-thalassaemia, per patient and clone class.

The diagnosis of the patient sets the phenotype of the ``host`` class; donor cells (and transfused
red cells) are normal; an ``[editing]`` section sets the phenotype of the ``edited`` class from the
host's genotype and the edit. A phenotype is a set of class modifiers (``model/constants.py``):

* **sickle** (HbSS): HbF share ``f`` (8 %), the rest HbS. HbF per red cell is lognormal across
  cells (CV ``cv``); a cell with >= 10 pg HbF does not sickle (Steinberg 2014). The class's red-cell
  survival is the mixture ``T = p T_normal + (1 - p) T_sickle`` of protected (fraction ``p``) and
  sickling cells (``T_sickle`` = 12 d, Zheng 2021);
* **thalassaemic**: globin-chain balance ``b = beta + gamma`` (beta-like synthesis relative to a
  normal cell, alpha being normal). With ``u = (1 - b) / (1 - b_thal)`` the share of the untreated
  imbalance that remains, ineffective erythropoiesis, red-cell survival and haemoglobin per cell
  move linearly from their thalassaemic values (``u = 1``) to normal (``u = 0``); HbF share
  ``gamma / b``, HbA ``beta / b``;
* **edited**, ``BCL11A_erythroid_enhancer``: HbF induced (sickle cells: HbF share 40 %, Steinberg
  2023; thalassaemic cells: gamma output calibrated to row 27); ``HBB_correction``: the edited
  alleles make beta-A globin.

Patients with sickle cell disease or beta-thalassaemia start from their **disease steady state**:
the healthy steady state is simulated with the disease phenotype (and, for transfusion-dependent
thalassaemia, its chronic transfusion programme) for ``disease_equilibration_days``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.erythroid import hbs_dominant, protected_fraction
from marrowsim.parameters.patient_values import PatientValues

ERYTHROID_DIAGNOSES = ("sickle_cell", "beta_thalassemia")
TRANSFUSION_DEPENDENT = ("beta_thalassemia",)
POST_TRANSPLANT_GCSF_WARNING = (
    "filgrastim (G-CSF) in a patient with sickle cell disease can precipitate vaso-occlusive "
    "crises, which the model does not simulate; exa-cel protocols give no G-CSF after infusion"
)


@dataclass(frozen=True)
class Phenotype:
    """The erythroid phenotype of one clone class of one patient (class-modifier values)."""

    lifespan_ratio: float = 1.0  # red-cell survival / normal red-cell survival
    mch_ratio: float = 1.0  # haemoglobin per red cell / normal
    erythroid_output: float = 1.0  # fraction of erythroid output leaving the marrow
    hbf: float = 0.0  # HbF share of the cell's haemoglobin
    hbs: float = 0.0  # HbS share
    hbf_cv: float = 0.0  # cell-to-cell CV of HbF per cell
    edited_allele_share: float = 0.0  # fraction of alleles edited in a cell of the class

    def write(self, cm: np.ndarray) -> None:
        """Write into the modifier vector of one class (``cm[patient, class]``)."""
        cm[K.CM_RBC_LIFESPAN] = self.lifespan_ratio
        cm[K.CM_MCH] = self.mch_ratio
        cm[K.CM_ERYTHROID_OUTPUT] = self.erythroid_output
        cm[K.CM_HBF] = self.hbf
        cm[K.CM_HBS] = self.hbs
        cm[K.CM_HBF_CV] = self.hbf_cv
        cm[K.CM_EDITED_ALLELES] = self.edited_allele_share


def sickle_phenotype(hbf: float, hbs: float, cv: float, v: Mapping[str, float]) -> Phenotype:
    """Red cells with HbS: survival is the mixture of protected and sickling cells."""
    normal = v["rbc_lifespan_days"]
    lifespan = normal
    if hbs_dominant(hbf, hbs):
        mean_pg = hbf * v["mean_corpuscular_hemoglobin_pg"]
        p = protected_fraction(mean_pg, cv, v["hbf_protective_pg_per_cell"])
        lifespan = p * normal + (1.0 - p) * v["sickle_rbc_lifespan_days"]
    return Phenotype(lifespan_ratio=lifespan / normal, hbf=hbf, hbs=hbs, hbf_cv=cv)


def thalassemic_phenotype(
    beta: float, gamma: float, v: Mapping[str, float], cv: float = 0.0
) -> Phenotype:
    """Phenotype of a cell with beta-like globin synthesis ``beta + gamma`` (chain balance)."""
    b_thal = v["thalassemia_beta_output"] + v["thalassemia_gamma_output"]
    b = min(1.0, beta + gamma)
    if b <= 0.0:
        raise ValueError("a red cell needs beta-like globin synthesis > 0")
    u = min(1.0, max(0.0, (1.0 - b) / (1.0 - b_thal))) if b_thal < 1.0 else 0.0
    normal, thal = v["rbc_lifespan_days"], v["thalassemia_rbc_lifespan_days"]
    lifespan = thal + (normal - thal) * (1.0 - u)
    gamma = min(gamma, b)
    return Phenotype(
        lifespan_ratio=lifespan / normal,
        mch_ratio=v["thalassemia_mch_ratio"] + (1.0 - v["thalassemia_mch_ratio"]) * (1.0 - u),
        erythroid_output=1.0 - (1.0 - v["thalassemia_erythroid_survival"]) * u,
        hbf=gamma / b,
        hbf_cv=cv,
    )


def host_phenotype(diagnosis: str, v: Mapping[str, float]) -> Phenotype:
    """The phenotype of the patient's own (unedited) cells."""
    if diagnosis == "sickle_cell":
        f = v["sickle_hbf_fraction"]
        return sickle_phenotype(f, 1.0 - f, v["sickle_hbf_cell_cv"], v)
    if diagnosis == "beta_thalassemia":
        return thalassemic_phenotype(v["thalassemia_beta_output"], v["thalassemia_gamma_output"], v)
    return Phenotype()


def edited_phenotype(diagnosis: str, editing, v: Mapping[str, float]) -> Phenotype:
    """The phenotype of edited cells: the host genotype with the edit."""
    share = editing.edited_allele_share
    cv = v["edited_hbf_cell_cv"]
    if editing.target == "BCL11A_erythroid_enhancer":
        if diagnosis == "beta_thalassemia":
            out = thalassemic_phenotype(
                v["thalassemia_beta_output"], v["thalassemia_bcl11a_edited_gamma_output"], v, cv
            )
        else:
            f = v["sickle_bcl11a_edited_hbf_fraction"]
            out = sickle_phenotype(f, 1.0 - f if diagnosis == "sickle_cell" else 0.0, cv, v)
    elif diagnosis == "sickle_cell":  # HBB correction: edited alleles make beta-A globin
        f = v["sickle_hbf_fraction"]
        out = sickle_phenotype(f, (1.0 - share) * (1.0 - f), v["sickle_hbf_cell_cv"], v)
    elif diagnosis == "beta_thalassemia":
        beta = share + (1.0 - share) * v["thalassemia_beta_output"]
        out = thalassemic_phenotype(beta, (1.0 - share) * v["thalassemia_gamma_output"], v)
    else:
        out = Phenotype()
    return Phenotype(**{**out.__dict__, "edited_allele_share": share})


def class_phenotypes(scenario, v: Mapping[str, float]) -> dict[int, Phenotype]:
    """Phenotype of every patient-made clone class (donor and transfused cells are normal)."""
    diagnosis = scenario.patient.diagnosis
    out = {L.HOST: host_phenotype(diagnosis, v)}
    editing = getattr(scenario, "editing", None)
    if editing is not None:
        out[L.EDITED] = edited_phenotype(diagnosis, editing, v)
    return out


def check_erythroid_scenario(scenario) -> None:
    """Scenario-level checks: ``[editing]`` needs an autologous graft (raises); filgrastim in
    sickle cell disease warns (mobilization: contraindicated by the exa-cel label)."""
    from marrowsim.clinical.collection_spec import (
        ContraindicationWarning,
        warn_gcsf_in_sickle_cell,
    )
    from marrowsim.clinical.editing import check_editing

    check_editing(scenario)
    if scenario.patient.diagnosis != "sickle_cell":
        return
    if scenario.mobilization is not None and _gives_gcsf(scenario.mobilization.steps):
        warn_gcsf_in_sickle_cell()
    if scenario.protocol is not None and _gives_gcsf(scenario.protocol.steps):
        warnings.warn(POST_TRANSPLANT_GCSF_WARNING, ContraindicationWarning, stacklevel=1)


def _gives_gcsf(steps: Sequence[str]) -> bool:
    from marrowsim.protocol import parse_step

    return any(getattr(parse_step(line), "drug", None) == "Filgrastim" for line in steps)


# --- compile: class modifiers, expansion constant and the disease steady state ---------------
def apply_erythroid_disease(
    scenarios: Sequence,
    values: Mapping[str, np.ndarray],
    constants: np.ndarray,
    class_mods: np.ndarray,
    y0: np.ndarray,
    active: np.ndarray,
    scale: np.ndarray,
) -> np.ndarray:
    """Set the phenotypes and erythroid expansion of every patient (in place on ``constants``,
    ``class_mods`` and ``active``) and return the initial states, the disease steady state for
    patients with sickle cell disease or beta-thalassaemia."""
    diseased = []
    for i, s in enumerate(scenarios):
        v = PatientValues(values, i)
        for k, phenotype in class_phenotypes(s, v).items():
            phenotype.write(class_mods[i, k])
        if s.patient.diagnosis in ERYTHROID_DIAGNOSES:
            constants[i, K.K_ERYTHROID_EXPANSION_MAX] = v["chronic_anemia_erythroid_expansion_max"]
            diseased.append(i)
    if not diseased:
        return y0
    idx = np.asarray(diseased)
    result = disease_course(scenarios, values, constants, class_mods, y0, scale, idx)
    y0 = y0.copy()
    y0[idx] = np.where(result.status[:, None] == 0, result.final_state, np.nan)
    active[idx, L.TRANSFUSED] = y0[idx, L.cell_index(L.TRANSFUSED, L.RBC1)] > 0
    return y0


def disease_course(
    scenarios: Sequence,
    values: Mapping[str, np.ndarray],
    constants: np.ndarray,
    class_mods: np.ndarray,
    y0: np.ndarray,
    scale: np.ndarray,
    idx: np.ndarray,
    *,
    days: int | None = None,
):
    """Simulate patients ``idx`` from the healthy steady state with their disease phenotype (and
    the chronic transfusion programme of transfusion-dependent thalassaemia); a BatchResult."""
    from marrowsim.engine.problem import Problem, pack_events, pack_rules
    from marrowsim.engine.solve import solve

    n_days = days or int(max(values["disease_equilibration_days"][i] for i in idx))
    rules = []
    for i in idx:
        s = scenarios[i]
        rules.append(
            [_chronic_transfusion_rule(s, {k: float(x[i]) for k, x in values.items()})]
            if s.patient.diagnosis in TRANSFUSION_DEPENDENT
            else []
        )
    events, n_events = pack_events([[] for _ in idx])
    rules_arr, n_rules = pack_rules(rules)
    active = np.zeros((len(idx), L.N_CLASSES), dtype=bool)
    active[:, L.HOST] = True
    problem = Problem(
        y0=y0[idx].copy(),
        constants=constants[idx],
        class_modifiers=class_mods[idx],
        active=active,
        scale=scale[idx],
        t_start=0,
        n_days=n_days,
        events=events,
        n_events=n_events,
        rules=rules_arr,
        n_rules=n_rules,
    )
    return solve(problem)


def _chronic_transfusion_rule(scenario, v: Mapping[str, float]) -> tuple:
    from marrowsim.model.transplant import _transfusion_rule
    from marrowsim.protocol import parse_step

    step = parse_step(f"Transfuse RBC when Hb < {v['thalassemia_chronic_transfusion_hb']:g} g/dL")
    return _transfusion_rule(step, v, scenario.patient.weight_kg)
