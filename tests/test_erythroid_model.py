"""Erythroid phenotypes per clone class, the disease steady states and the HbF-per-cell model.

References: Zheng 2021 (sickle red cells live 12 d), Steinberg 2014 (>= 10 pg HbF per cell
protects; row 30), anchors.md §2 (SCD Hb 8.2-9.1 g/dL, HbF ~8 %), §7 (TDT transfusion dependent).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from marrowsim import default_parameters
from marrowsim.clinical.editing import Editing
from marrowsim.clinical.erythroid import (
    Phenotype,
    edited_phenotype,
    host_phenotype,
    sickle_phenotype,
    thalassemic_phenotype,
)
from marrowsim.compile import compile_problem
from marrowsim.engine.solve import solve
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.erythroid import hbs_dominant, protected_fraction
from marrowsim.model.observables import OB
from marrowsim.model.steady_state import default_class_modifiers
from marrowsim.scenario import scenario_from_mapping

PS = default_parameters()
V = {name: p.value for name, p in PS.items()}


def patient(diagnosis: str, days: int = 60, **extra) -> dict:
    return {
        "name": diagnosis,
        "days": days,
        "patient": {"age_years": 25, "weight_kg": 65, "height_cm": 170, "sex": "female",
                    "diagnosis": diagnosis},
        **extra,
    }  # fmt: skip


def run(mapping: dict):
    problem = compile_problem([scenario_from_mapping(mapping)], PS)
    result = solve(problem)
    assert result.status[0] == 0
    return problem, {name: result.observables[0, :, j] for name, j in OB.items()}


# --- HbF per cell (lognormal) ------------------------------------------------------------------
@pytest.mark.parametrize(("mean", "cv"), [(6.0, 0.8), (9.0, 0.3), (12.0, 1.5), (2.4, 0.8)])
def test_protected_fraction_is_the_lognormal_tail(mean, cv):
    s = math.sqrt(math.log(1 + cv * cv))
    reference = stats.lognorm(s, scale=mean * math.exp(-0.5 * s * s)).sf(10.0)
    assert protected_fraction(mean, cv, 10.0) == pytest.approx(reference, rel=1e-9)


def test_protected_fraction_edge_cases():
    assert protected_fraction(0.0, 0.5, 10.0) == 0.0
    assert protected_fraction(12.0, 0.0, 10.0) == 1.0  # every cell has the mean
    assert protected_fraction(8.0, 0.0, 10.0) == 0.0


def test_row30_protected_cells_at_20_and_30_percent_hbf():
    """Steinberg 2014: at 20 % HbF 1-24 % of cells are protected; near 30 % up to ~70 %."""
    mch, cv = V["mean_corpuscular_hemoglobin_pg"], V["sickle_hbf_cell_cv"]
    p20 = protected_fraction(0.2 * mch, cv, V["hbf_protective_pg_per_cell"])
    p30 = protected_fraction(0.3 * mch, cv, V["hbf_protective_pg_per_cell"])
    assert 0.01 <= p20 <= 0.24
    assert p20 < p30 <= 0.70


# --- phenotypes per class ----------------------------------------------------------------------
def test_sickle_host_lives_about_twelve_days_and_is_mostly_hbs():
    ph = host_phenotype("sickle_cell", V)
    lifespan = ph.lifespan_ratio * V["rbc_lifespan_days"]
    assert V["sickle_rbc_lifespan_days"] < lifespan < V["sickle_rbc_lifespan_days"] + 1.5
    assert ph.hbf == pytest.approx(0.08) and ph.hbs == pytest.approx(0.92)
    assert hbs_dominant(ph.hbf, ph.hbs)


def test_hbf_protects_sickle_cells_and_lengthens_their_survival():
    low = sickle_phenotype(0.08, 0.92, 0.3, V)
    high = sickle_phenotype(0.45, 0.55, 0.3, V)  # ~13.5 pg HbF per cell: mostly protected
    assert high.lifespan_ratio > 5 * low.lifespan_ratio
    carrier = sickle_phenotype(0.01, 0.40, 0.3, V)  # sickle trait: HbS 40 % is not dominant
    assert carrier.lifespan_ratio == 1.0


def test_thalassemic_phenotype_is_restored_by_globin_chain_balance():
    thal = host_phenotype("beta_thalassemia", V)
    assert thal.erythroid_output == pytest.approx(V["thalassemia_erythroid_survival"])
    assert thal.mch_ratio == pytest.approx(V["thalassemia_mch_ratio"])
    assert thal.lifespan_ratio * V["rbc_lifespan_days"] == pytest.approx(
        V["thalassemia_rbc_lifespan_days"]
    )
    balanced = thalassemic_phenotype(0.1, 0.95, V)
    assert (balanced.erythroid_output, balanced.mch_ratio, balanced.lifespan_ratio) == (1, 1, 1)
    half = thalassemic_phenotype(0.1, 0.5, V)
    assert thal.erythroid_output < half.erythroid_output < 1.0
    with pytest.raises(ValueError, match="beta-like globin"):
        thalassemic_phenotype(0.0, 0.0, V)


@pytest.mark.parametrize("diagnosis", ["sickle_cell", "beta_thalassemia", "healthy"])
def test_edited_cells_carry_the_edit_on_the_host_genotype(diagnosis):
    bcl = edited_phenotype(diagnosis, Editing(target="BCL11A_erythroid_enhancer",
                                              allele_editing_fraction=0.8), V)  # fmt: skip
    hbb = edited_phenotype(diagnosis, Editing(target="HBB_correction",
                                              allele_editing_fraction=0.8), V)  # fmt: skip
    host = host_phenotype(diagnosis, V)
    assert bcl.edited_allele_share == pytest.approx(0.8 / 0.96)
    assert bcl.hbf >= host.hbf
    assert not hbs_dominant(hbb.hbf, hbb.hbs)  # corrected alleles make HbA
    assert bcl.lifespan_ratio >= host.lifespan_ratio
    assert hbb.lifespan_ratio >= host.lifespan_ratio
    if diagnosis == "sickle_cell":
        assert bcl.hbf == pytest.approx(V["sickle_bcl11a_edited_hbf_fraction"])
    if diagnosis == "beta_thalassemia":
        assert bcl.erythroid_output > host.erythroid_output
        assert bcl.hbf > 0.8


def test_phenotype_writes_every_erythroid_modifier():
    cm = default_class_modifiers(1)[0, L.EDITED]
    assert cm[K.CM_HBF] == 0 and cm[K.CM_HBS] == 0 and cm[K.CM_ERYTHROID_OUTPUT] == 1
    Phenotype(0.5, 0.7, 0.3, 0.2, 0.7, 0.4, 0.6).write(cm)
    expected = (0.5, 0.7, 0.3, 0.2, 0.7, 0.4, 0.6)
    names = (K.CM_RBC_LIFESPAN, K.CM_MCH, K.CM_ERYTHROID_OUTPUT, K.CM_HBF, K.CM_HBS,
             K.CM_HBF_CV, K.CM_EDITED_ALLELES)  # fmt: skip
    assert tuple(cm[list(names)]) == expected


# --- disease steady states ---------------------------------------------------------------------
def test_healthy_patients_are_untouched_by_the_erythroid_block():
    problem, obs = run(patient("healthy", days=20))
    assert problem.constants[0, K.K_ERYTHROID_EXPANSION_MAX] == 1.0
    assert np.all(obs["erythroid_expansion"] == 1.0)
    assert np.allclose(obs["hb"], obs["hba"]) and np.all(obs["hbf"] == 0.0)
    assert np.all(obs["sickling_red_cells_fraction"] == 0.0)


def test_sickle_cell_disease_starts_at_its_steady_state():
    """SCD: Hb ~8-9 g/dL (anchors §2), 8 % HbF, nearly all red cells can sickle, EPO a few-fold
    up, reticulocytosis; the course stays there."""
    _, obs = run(patient("sickle_cell", days=60))
    assert 7.0 < obs["hb"][0] < 9.5
    assert obs["hbf_percent"][0] == pytest.approx(8.0)
    assert obs["sickling_red_cells_fraction"][0] > 0.95
    assert obs["epo_relative"][0] > 1.5 and obs["erythroid_expansion"][0] > 2
    assert obs["reticulocytes"][0] > 2 * 43  # healthy ~43 x10^9/L
    assert np.ptp(obs["hb"]) < 0.05  # an equilibrium
    assert 100 < obs["platelets"][0] < 450


@pytest.mark.xfail(
    strict=True,
    reason="documented miss (docs/erythroid-disease.md): serum EPO in sickle cell anaemia is only"
    " a few-fold above normal, low for the degree of anaemia (Sherwood 1986, from memory; not in "
    "anchors.md); the model gives ~60-fold because the transplant calibration puts epo_hb_slope at "
    "its upper bound (1.0 per g/dL) and the model has no O2-affinity (HbS) term",
)
def test_sickle_cell_epo_is_only_a_few_fold_above_normal():
    _, obs = run(patient("sickle_cell", days=2))
    assert obs["epo_relative"][0] < 10


@pytest.mark.xfail(
    strict=True,
    reason="documented miss (docs/erythroid-disease.md §3): steady-state sickle cell anaemia has "
    "neutrophils at or above normal (leukocytosis); the model's expanded erythroid progenitor mass "
    "raises the shared demand signal psi to ~2 and halves the ANC (~2.0 vs 4.0 x10^9/L healthy)",
)
def test_sickle_cell_neutrophils_are_not_below_normal():
    _, sickle = run(patient("sickle_cell", days=2))
    _, healthy = run(patient("healthy", days=2))
    assert sickle["anc"][0] >= healthy["anc"][0]


def test_transfusion_dependent_thalassemia_is_kept_transfused():
    """TDT: the patient's own Hb is far below 7 g/dL (transfusion dependent); the pre-transplant
    state carries the chronic transfusion programme's red cells."""
    problem, obs = run(patient("beta_thalassemia", days=2))
    assert problem.active[0, L.TRANSFUSED]
    assert obs["hb_endogenous"][0] < 5.0
    assert obs["hb"][0] > V["thalassemia_chronic_transfusion_hb"] - 1.0
    assert obs["hbs"][0] == 0.0


def test_untransfused_thalassemia_falls_below_the_transfusion_threshold():
    _, obs = run(patient("beta_thalassemia", days=200))
    assert obs["hb"][-1] < 7.0  # without the programme the patient needs transfusions
