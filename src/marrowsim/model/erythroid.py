"""Erythroid phenotypes of the clone classes: expansion, haemoglobin, F-cells (compiled).

Red-cell survival (``rbc_lifespan``), haemoglobin per cell (``mch``) and the fraction of erythroid
output that leaves the marrow (``erythroid_output``, ineffective erythropoiesis) are class modifiers
read by the right-hand side; the haemoglobin composition (HbF, HbS, HbA) and the cell-to-cell
spread of HbF are read by the observables. The phenotypes themselves are set per patient and class
by ``clinical/erythroid.py``. Equations: ``docs/erythroid-disease.md``.

* **Erythroid expansion.** In a lifelong haemolytic or dyserythropoietic anaemia the erythroid
  marrow expands and responds to modest EPO levels (stress erythropoiesis, expanded medullary
  cavities, extramedullary erythropoiesis); the acute EPO response of the healthy model cannot
  sustain a 12-day red-cell survival. An auxiliary state ``X >= 1`` follows
  ``dX/dt = (X* − X) / τ_X`` with
  ``X* = 1 + (X_max − 1) · ℓ · (S_E − 1)_+ / ((S_E − 1)_+ + EC_X)``, where ``ℓ`` is the fraction of
  the red-cell yield lost to haemolysis and ineffective erythropoiesis (EP-weighted over classes).
  The erythroid compartment sees the EPO signal ``X · S_E``, and its mass counts as ``m_E / X`` in
  the early-progenitor demand signal (the expanded erythron lies outside the normal niche).
  ``X_max = 1`` for everyone without such a disease, so their course is unchanged.
* **F-cells.** HbF per red cell is lognormal across the cells of a class with mean
  ``f_F · MCH_k`` and coefficient of variation ``cv_k``; a cell with at least ``hbf_protective_pg``
  (~10 pg, Steinberg 2014) does not sickle.
"""

from __future__ import annotations

import math

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled
from marrowsim.model.state_sums import class_sum, guarded_ratio

ERYTHROID_OBSERVABLES = (
    ("hbf", "g/dL"),  # fetal haemoglobin in blood
    ("hbs", "g/dL"),  # sickle haemoglobin
    ("hba", "g/dL"),  # adult haemoglobin (incl. transfused red cells)
    ("hbf_percent", "%"),  # HbF as a percentage of total haemoglobin
    ("hbs_percent", "%"),
    ("sickling_red_cells_fraction", "1"),  # red cells that can sickle (HbS-dominant, < 10 pg HbF)
    ("hbf_protected_fraction", "1"),  # of the HbS-dominant red cells, those with >= 10 pg HbF
    ("donor_chimerism_red_cells", "1"),  # donor share of the patient's circulating red cells
    ("edited_fraction_red_cells", "1"),  # edited-class share of the patient's red cells
    ("edited_fraction_hsc", "1"),  # edited share of the normal long-term HSCs
    ("edited_allele_fraction_blood", "1"),  # edited alleles in nucleated blood cells (neu + lym)
    ("edited_allele_fraction_marrow", "1"),  # edited alleles in marrow stem/progenitor cells
    ("erythroid_expansion", "1"),  # X, the expansion factor of the erythroid marrow
)
N_ERYTHROID_OBSERVABLES = len(ERYTHROID_OBSERVABLES)

_RED = (L.RETB, L.RBC1, L.RBC2, L.RBC3, L.RBC4)
_MARROW_STEM_PROGENITOR = (
    L.HSC,
    L.MPP1,
    L.MPP2,
    L.MPP3,
    L.CMP,
    L.GP,
    L.EP,
    L.MKP,
    L.LP,
)
_PATIENT_CLASSES = (L.HOST, L.DONOR, L.DONOR2, L.EDITED)


@compiled
def erythroid_expansion_target(epo, loss, c):
    """Expansion X* >= 1 that the erythroid marrow tends to at relative EPO level ``epo`` when a
    fraction ``loss`` of the red-cell yield is lost to haemolysis and ineffective erythropoiesis."""
    x_max = c[K.K_ERYTHROID_EXPANSION_MAX]
    if x_max <= 1.0:  # a constant: no lifelong anaemia
        return 1.0
    # max(), not branches on the state (docs/sbml.md §1): no loss or no EPO excess gives X* = 1
    loss = max(loss, 0.0)
    excess = max(epo - 1.0, 0.0)
    return 1.0 + (x_max - 1.0) * loss * excess / (excess + c[K.K_ERYTHROID_EXPANSION_EC50])


@compiled
def erythroid_expansion(x, epo, loss, c):
    """dX/dt: the expansion X follows its target with time constant 1/rate (days)."""
    return (erythroid_expansion_target(epo, loss, c) - x) * c[K.K_ERYTHROID_EXPANSION_RATE]


@compiled
def yield_loss(ep_yield, ep_all):
    """Fraction of the red-cell yield of the erythroid progenitors ``ep_all`` lost to haemolysis
    and ineffective erythropoiesis, ``1 - yield / all`` (0 without progenitors). A guarded
    division: the SBML export gives it a symbolic twin (``export/trace.py``)."""
    return 1.0 - ep_yield / ep_all if ep_all > 0.0 else 0.0


@compiled
def red_cell_yield(cm, k):
    """Red-cell mass made per erythroid progenitor of class ``k`` relative to a normal one:
    the fraction leaving the marrow times the relative survival in blood."""
    return cm[k, K.CM_ERYTHROID_OUTPUT] * cm[k, K.CM_RBC_LIFESPAN]


@compiled
def protected_fraction(mean_pg, cv, threshold_pg):
    """Fraction of red cells with HbF >= ``threshold_pg`` when HbF per cell is lognormal with
    mean ``mean_pg`` and coefficient of variation ``cv`` (``cv = 0``: every cell has the mean)."""
    if mean_pg <= 0.0:
        return 0.0
    if cv <= 0.0:
        return 1.0 if mean_pg >= threshold_pg else 0.0
    s2 = math.log(1.0 + cv * cv)
    mu = math.log(mean_pg) - 0.5 * s2
    return 0.5 * math.erfc((math.log(threshold_pg) - mu) / math.sqrt(2.0 * s2))


@compiled
def hbs_dominant(hbf, hbs):
    """A red cell whose non-fetal haemoglobin is mostly HbS (HbSS, HbS/β0), not a carrier's."""
    return hbs > 0.5 * (1.0 - hbf)


@compiled
def erythroid_observe(y, c, cm, active, epo, out, start):
    """Write the :data:`ERYTHROID_OBSERVABLES` of one patient into ``out[start:]``."""
    mch = c[K.K_MCH]
    to_g_dl = 1e-13 / c[K.K_BV]
    hb = hbf = hbs = 0.0
    prone = prone_protected = red_all = 0.0
    for k in range(L.N_CLASSES):
        if not active[k]:
            continue
        red = class_sum(y, k, _RED)
        mch_k = mch * cm[k, K.CM_MCH]
        hb_k = red * mch_k * to_g_dl
        f, s = cm[k, K.CM_HBF], cm[k, K.CM_HBS]
        hb += hb_k
        hbf += hb_k * f
        hbs += hb_k * s
        red_all += red
        if hbs_dominant(f, s):
            p = protected_fraction(f * mch_k, cm[k, K.CM_HBF_CV], c[K.K_HBF_PROTECTIVE_PG])
            prone += red
            prone_protected += red * p
    out[start] = hbf
    out[start + 1] = hbs
    out[start + 2] = hb - hbf - hbs
    out[start + 3] = 100.0 * guarded_ratio(hbf, hb)
    out[start + 4] = 100.0 * guarded_ratio(hbs, hb)
    out[start + 5] = guarded_ratio(prone - prone_protected, red_all)
    out[start + 6] = guarded_ratio(prone_protected, prone)

    red_patient = 0.0
    for k in _PATIENT_CLASSES:
        red_patient += class_sum(y, k, _RED)
    red_donor = class_sum(y, L.DONOR, _RED) + class_sum(y, L.DONOR2, _RED)
    out[start + 7] = guarded_ratio(red_donor, red_patient)
    out[start + 8] = guarded_ratio(class_sum(y, L.EDITED, _RED), red_patient)

    hsc = blood = marrow = 0.0
    for k in _PATIENT_CLASSES:
        o = k * L.N_COMPARTMENTS
        hsc += y[o + L.HSC]
        blood += y[o + L.NEU] + y[o + L.LYM]
        marrow += class_sum(y, k, _MARROW_STEM_PROGENITOR)
    o = L.EDITED * L.N_COMPARTMENTS
    share = cm[L.EDITED, K.CM_EDITED_ALLELES]
    out[start + 9] = guarded_ratio(y[o + L.HSC], hsc)
    out[start + 10] = share * guarded_ratio(y[o + L.NEU] + y[o + L.LYM], blood)
    out[start + 11] = share * guarded_ratio(class_sum(y, L.EDITED, _MARROW_STEM_PROGENITOR), marrow)
    out[start + 12] = 1.0 + y[L.N_CELL_STATES + L.AUX_ERYTHROID_EXPANSION]
