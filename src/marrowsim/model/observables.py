"""Daily observables computed from the state (compiled): counts, HSCs, chimerism, cytokines."""

from __future__ import annotations

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled
from marrowsim.model.erythroid import ERYTHROID_OBSERVABLES, erythroid_observe
from marrowsim.model.rhs import blood_counts, cytokine_signals
from marrowsim.model.state_sums import class_sum, guarded_ratio

OBSERVABLES = (
    ("anc", "10^9/L"),
    ("wbc", "10^9/L"),
    ("lymphocytes", "10^9/L"),
    ("hb", "g/dL"),
    ("reticulocytes", "10^9/L"),
    ("platelets", "10^9/L"),
    ("hsc", "cells"),
    ("hsc_host", "cells"),
    ("hsc_donor", "cells"),
    ("hsc_donor2", "cells"),
    ("hsc_edited", "cells"),
    ("hsc_malignant", "cells"),
    ("progenitors", "cells"),
    ("progenitors_host", "cells"),
    ("progenitors_donor", "cells"),  # both donors of a double cord graft
    ("progenitors_edited", "cells"),
    ("progenitors_malignant", "cells"),
    ("donor_chimerism_myeloid", "1"),
    ("donor_chimerism_lymphoid", "1"),
    ("donor_chimerism_hsc", "1"),
    ("edited_fraction_myeloid", "1"),
    ("marrow_blasts_fraction", "1"),
    ("gcsf_relative", "1"),
    ("epo_relative", "1"),
    ("tpo_relative", "1"),
    ("gcsf_from_filgrastim", "1"),
    ("demand_psi", "1"),
    ("rbc", "10^12/L"),
    ("platelets_endogenous", "10^9/L"),  # platelets made by the patient (transfused ones excluded)
    ("hb_endogenous", "g/dL"),  # haemoglobin in red cells made by the patient
    ("platelet_transfusion", "1"),  # 1 on a morning when platelets were transfused
    ("rbc_transfusion", "1"),  # 1 on a morning when red cells were transfused
    ("filgrastim_dose", "ug/kg"),  # filgrastim given that morning by an "until" rule
    # disease models (docs/disease.md)
    ("marrow_blasts_percent", "%"),  # leukemic cells per 100 marrow cells
    ("autoreactive_t_cells", "1"),  # autoreactive effector level, 1 = untreated aplastic anemia
)
_N_BASE_OBSERVABLES = len(OBSERVABLES)
OBSERVABLES = OBSERVABLES + ERYTHROID_OBSERVABLES  # haemoglobin composition, editing
# host-versus-graft rejection (model/rejection.py): host anti-donor effector T cells, relative to
# the steady-state lymphocyte pool (0 without an allogeneic donor)
OBSERVABLES = (*OBSERVABLES, ("host_antidonor_t_cells", "1"))
OBSERVABLE_NAMES = tuple(n for n, _ in OBSERVABLES)
OBSERVABLE_UNITS = dict(OBSERVABLES)
N_OBSERVABLES = len(OBSERVABLES)
OB = {n: i for i, n in enumerate(OBSERVABLE_NAMES)}
(
    O_ANC,
    O_WBC,
    O_LYM,
    O_HB,
    O_RETIC,
    O_PLT,
    O_HSC,
    O_HSC_HOST,
    O_HSC_DONOR,
    O_HSC_DONOR2,
    O_HSC_EDITED,
    O_HSC_MALIGNANT,
    O_PROG,
    O_PROG_HOST,
    O_PROG_DONOR,
    O_PROG_EDITED,
    O_PROG_MALIGNANT,
    O_CHIM_MYELOID,
    O_CHIM_LYMPHOID,
    O_CHIM_HSC,
    O_EDITED_MYELOID,
    O_BLASTS,
    O_GCSF,
    O_EPO,
    O_TPO,
    O_FILG,
    O_DEMAND_PSI,
    O_RBC,
    O_PLT_ENDOGENOUS,
    O_HB_ENDOGENOUS,
    O_PLT_TRANSFUSION,
    O_RBC_TRANSFUSION,
    O_FILG_DOSE,
    O_BLASTS_PERCENT,
    O_AUTOREACTIVE,
) = range(_N_BASE_OBSERVABLES)
O_ERYTHROID = _N_BASE_OBSERVABLES  # first of the erythroid observables
O_HOST_ANTIDONOR = OB["host_antidonor_t_cells"]

_PROGENITOR_COMPARTMENTS = (L.MPP1, L.MPP2, L.MPP3, L.CMP, L.GP, L.EP, L.MKP, L.LP)
_RED_COMPARTMENTS = (L.RETB, L.RBC1, L.RBC2, L.RBC3, L.RBC4)  # circulating red cells
_MARROW_COMPARTMENTS = (
    L.HSC,
    L.MPP1,
    L.MPP2,
    L.MPP3,
    L.CMP,
    L.GP,
    L.NPM1,
    L.NPM2,
    L.NPM3,
    L.EP,
    L.MKP,
    L.MKB,
    L.MK,
    L.LP,
)


@compiled
def _cell(y, k, j):
    return y[k * L.N_COMPARTMENTS + j]


@compiled
def _normal_and_donor(y, j):
    """Sum of compartment ``j`` over the normal classes (host, donors, edited), and the donors'."""
    donor = _cell(y, L.DONOR, j) + _cell(y, L.DONOR2, j)
    return _cell(y, L.HOST, j) + donor + _cell(y, L.EDITED, j), donor


@compiled
def observe(y, c, cm, active, out):
    """Fill ``out`` (length N_OBSERVABLES) with the observables of one patient.

    Called every simulated morning for every patient: it allocates nothing.
    """
    anc, hb, plt, alc = blood_counts(y, c, cm, active)
    w = c[K.K_WEIGHT]
    bv = c[K.K_BV] * 1e9
    out[O_ANC] = anc
    out[O_LYM] = alc
    out[O_WBC] = anc + alc + c[K.K_OTHER_WBC_STAR] * anc / c[K.K_ANC_STAR]
    out[O_HB] = hb
    out[O_PLT] = plt
    retic = 0.0
    red = 0.0
    hsc = 0.0
    prog = 0.0
    marrow = 0.0
    for k in range(L.N_CLASSES):
        retic += _cell(y, k, L.RETB)
        red += class_sum(y, k, _RED_COMPARTMENTS)
        hsc += _cell(y, k, L.HSC)
        prog += class_sum(y, k, _PROGENITOR_COMPARTMENTS)
        marrow += class_sum(y, k, _MARROW_COMPARTMENTS)
    out[O_RETIC] = retic / bv
    out[O_RBC] = red / c[K.K_BV] * 1e-12
    plt_transfused = 0.0
    for j in range(L.PLT1, L.PLT5 + 1):
        plt_transfused += _cell(y, L.TRANSFUSED, j)
    red_transfused = class_sum(y, L.TRANSFUSED, _RED_COMPARTMENTS)
    out[O_PLT_ENDOGENOUS] = plt - plt_transfused / bv
    out[O_HB_ENDOGENOUS] = (
        hb - red_transfused * c[K.K_MCH] * cm[L.TRANSFUSED, K.CM_MCH] / c[K.K_BV] * 1e-13
    )
    out[O_HSC] = hsc * w
    out[O_HSC_HOST] = _cell(y, L.HOST, L.HSC) * w
    out[O_HSC_DONOR] = _cell(y, L.DONOR, L.HSC) * w
    out[O_HSC_DONOR2] = _cell(y, L.DONOR2, L.HSC) * w
    out[O_HSC_EDITED] = _cell(y, L.EDITED, L.HSC) * w
    out[O_HSC_MALIGNANT] = _cell(y, L.MALIGNANT, L.HSC) * w
    out[O_PROG] = prog * w
    out[O_PROG_HOST] = class_sum(y, L.HOST, _PROGENITOR_COMPARTMENTS) * w
    out[O_PROG_DONOR] = (
        class_sum(y, L.DONOR, _PROGENITOR_COMPARTMENTS)
        + class_sum(y, L.DONOR2, _PROGENITOR_COMPARTMENTS)
    ) * w
    out[O_PROG_EDITED] = class_sum(y, L.EDITED, _PROGENITOR_COMPARTMENTS) * w
    out[O_PROG_MALIGNANT] = class_sum(y, L.MALIGNANT, _PROGENITOR_COMPARTMENTS) * w
    neu_all, neu_donor = _normal_and_donor(y, L.NEU)
    lym_all, lym_donor = _normal_and_donor(y, L.LYM)
    hsc_normal, hsc_donor = _normal_and_donor(y, L.HSC)
    out[O_CHIM_MYELOID] = guarded_ratio(neu_donor, neu_all)
    out[O_CHIM_LYMPHOID] = guarded_ratio(lym_donor, lym_all)
    out[O_CHIM_HSC] = guarded_ratio(hsc_donor, hsc_normal)
    out[O_EDITED_MYELOID] = guarded_ratio(_cell(y, L.EDITED, L.NEU), neu_all)
    blasts = class_sum(y, L.MALIGNANT, _MARROW_COMPARTMENTS)
    out[O_BLASTS] = guarded_ratio(blasts, marrow)
    out[O_BLASTS_PERCENT] = 100.0 * out[O_BLASTS]
    out[O_AUTOREACTIVE] = y[L.N_CELL_STATES + L.AUX_AUTOREACTIVE]
    out[O_HOST_ANTIDONOR] = y[L.N_CELL_STATES + L.AUX_HOST_IMMUNITY]
    gcsf, epo, tpo, _il7, m_g, m_e, m_t = cytokine_signals(y, c, cm, active)
    out[O_DEMAND_PSI] = (m_g + m_e + m_t) / 3.0
    out[O_GCSF] = gcsf
    out[O_EPO] = epo
    out[O_TPO] = tpo
    out[O_FILG] = c[K.K_FILG_TO_GCSF] * y[L.N_CELL_STATES + L.AUX_FILG_CENTRAL]
    out[O_PLT_TRANSFUSION] = 0.0
    out[O_RBC_TRANSFUSION] = 0.0
    out[O_FILG_DOSE] = 0.0
    erythroid_observe(y, c, cm, active, epo, out, O_ERYTHROID)
