"""The right-hand side of the model, written once for one patient and compiled with numba.

The batched engine calls :func:`rhs` for each patient of a batch (arrays ``(patients, states)``);
the SciPy reference path calls the same function. Equations: ``docs/model.md``.
"""

from __future__ import annotations

import numpy as np

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.autoimmunity import (
    autoimmunity_derivatives,
    eltrombopag_effect,
    progenitor_suppression,
)
from marrowsim.model.compiled import compiled
from marrowsim.model.elementary import exp, log
from marrowsim.model.erythroid import erythroid_expansion, red_cell_yield, yield_loss
from marrowsim.model.leukemia import leukemia_derivatives
from marrowsim.model.regulation import (
    demand_signal,
    hsc_division_rate,
    hsc_self_renewal,
    mpp_demand_gain,
    niche_occupancy,
)
from marrowsim.model.rejection import host_effector_derivative, lymphopenic_drive

# compartments attacked by alloreactive T cells: stem, progenitor and lymphoid cells
_IMMUNE_TARGETS = (L.HSC, L.MPP1, L.MPP2, L.MPP3, L.CMP, L.GP, L.EP, L.MKP, L.LP, L.LYM)


@compiled
def _class_haemoglobin_pg(y, c, cm, k):
    """Haemoglobin (pg per kg) in the circulating red cells (blood reticulocytes and the four
    red-cell ages) of clone class ``k``."""
    o = k * L.N_COMPARTMENTS
    red = y[o + L.RETB]
    for j in range(L.RBC1, L.RBC4 + 1):
        red += y[o + j]
    return red * c[K.K_MCH] * cm[k, K.CM_MCH]


@compiled
def _hb_g_dl(haemoglobin_pg, c):
    """Blood haemoglobin concentration (g/dL) of ``haemoglobin_pg`` pg per kg."""
    return haemoglobin_pg / c[K.K_BV] * 1e-13


@compiled
def blood_counts(y, c, cm, active):
    """ANC, Hb (g/dL), platelets and lymphocytes (10^9/L) summed over clone classes."""
    bv = c[K.K_BV] * 1e9
    neu = 0.0
    plt = 0.0
    lym = 0.0
    hb_cells_pg = 0.0
    for k in range(L.N_CLASSES):
        if not active[k]:
            continue
        o = k * L.N_COMPARTMENTS
        neu += y[o + L.NEU]
        lym += y[o + L.LYM]
        for j in range(L.PLT1, L.PLT5 + 1):
            plt += y[o + j]
        hb_cells_pg += _class_haemoglobin_pg(y, c, cm, k)
    return neu / bv, _hb_g_dl(hb_cells_pg, c), plt / bv, lym / bv


@compiled
def _acceleration(signal, emax, ec50):
    """Rate multiplier under G-CSF: 1 at the steady state (S = 1), saturating in S."""
    return (1.0 + emax * signal / (signal + ec50)) / (1.0 + emax / (1.0 + ec50))


@compiled
def hill_power(x, n):
    """``x ** n`` for ``x >= 0``. The calibrated Hill exponent of the cytokine responses is 1.5,
    for which ``x * sqrt(x)`` (within an ulp of ``pow``) is several times cheaper than the libm
    ``pow`` call: ten of them per right-hand side were a third of its cost. Other exponents take
    ``pow``. The SBML export writes ``x ^ n`` (``export/trace.py``)."""
    if n == 1.5:
        return x * np.sqrt(x)
    return x**n


@compiled
def _self_renewal(signal, a_min, a_max, ec50, hill):
    """Self-renewal fraction under a cytokine signal (relative to the healthy steady state).

    ``a = a_min + (a_max - a_min) S^n / (S^n + EC50^n)``: a Hill response graded over the orders of
    magnitude that cytokine levels span between health, cytopenia and exogenous growth factor.
    """
    sn = hill_power(max(signal, 0.0), hill)
    return a_min + (a_max - a_min) * sn / (sn + hill_power(ec50, hill))


@compiled
def cytokine_signals(y, c, cm, active):
    """Relative cytokine levels and receptor masses of one patient.

    Each cytokine is at quasi-steady state between production and clearance, most of which is
    receptor-mediated uptake by the cells of the lineage it regulates (G-CSF by neutrophils, TPO by
    platelets and megakaryocytes, EPO by erythroid progenitors, IL-7 by lymphocytes); EPO
    production also rises exponentially as haemoglobin falls. All levels are 1 in a healthy steady
    state. Returns ``(gcsf, epo, tpo, il7, m_gcsf, m_epo, m_tpo)`` where ``m_*`` are the receptor
    masses relative to the steady state.
    """
    neu = 0.0
    npm = 0.0
    ep = 0.0
    mk = 0.0
    plt = 0.0
    lym = 0.0
    hb_cells_pg = 0.0  # in this pass rather than a second one through blood_counts()
    for k in range(L.N_CLASSES):
        if not active[k]:
            continue
        o = k * L.N_COMPARTMENTS
        hb_cells_pg += _class_haemoglobin_pg(y, c, cm, k)
        neu += y[o + L.NEU]
        npm += y[o + L.NPM1] + y[o + L.NPM2] + y[o + L.NPM3]
        if k == L.MALIGNANT:  # dividing leukemic blasts carry G-CSF receptors too
            npm += y[o + L.CMP]
        ep += y[o + L.EP]
        mk += y[o + L.MKB] + y[o + L.MK]
        lym += y[o + L.LYM]
        for j in range(L.PLT1, L.PLT5 + 1):
            plt += y[o + j]
    m_g = max((neu + c[K.K_GCSF_MARROW_WEIGHT] * npm) / c[K.K_GCSF_STAR_MASS], 0.0)
    m_t = max((plt + c[K.K_TPO_MK_WEIGHT] * mk) / c[K.K_TPO_STAR_MASS], 0.0)
    m_e = max(ep / c[K.K_EP_STAR], 0.0)
    m_l = max(lym / c[K.K_LYM_STAR], 0.0)
    eps = c[K.K_GCSF_EPS]
    filgrastim = max(y[L.N_CELL_STATES + L.AUX_FILG_CENTRAL], 0.0)
    gcsf = (1.0 + eps) / (eps + m_g) + c[K.K_FILG_TO_GCSF] * filgrastim
    eps = c[K.K_TPO_EPS]
    tpo = (1.0 + eps) / (eps + m_t) + c[K.K_EPAG_TPO] * eltrombopag_effect(y, c)  # + eltrombopag
    eps = c[K.K_EPO_EPS]
    hb = _hb_g_dl(hb_cells_pg, c)
    epo = exp(c[K.K_EPO_HB_SLOPE] * (c[K.K_HB_STAR] - hb)) * (1.0 + eps) / (eps + m_e)
    eps = c[K.K_IL7_EPS]
    il7 = (1.0 + eps) / (eps + m_l)
    return gcsf, epo, tpo, il7, m_g, m_e, m_t


@compiled
def _red_cell_and_platelet_ageing(y, c, cm, dy, k, red_inflow, platelet_inflow):
    """dy/dt of the red-cell and platelet age stages of clone class ``k``: the inflow (cells per
    kg per day) enters the first stage, each stage passes on to the next at the ageing rate and
    the last one is cleared at that rate (Erlang-distributed lifespans). The stage loops keep
    their constant bounds: a general chain helper with bounds as arguments made the right-hand
    side ~12 % slower."""
    o = k * L.N_COMPARTMENTS
    k_rbc = c[K.K_K_RBC] / cm[k, K.CM_RBC_LIFESPAN]
    dy[o + L.RBC1] = red_inflow - k_rbc * y[o + L.RBC1]
    for j in range(L.RBC2, L.RBC4 + 1):
        dy[o + j] = k_rbc * (y[o + j - 1] - y[o + j])
    k_plt = c[K.K_K_PLT]
    dy[o + L.PLT1] = platelet_inflow - k_plt * y[o + L.PLT1]
    for j in range(L.PLT2, L.PLT5 + 1):
        dy[o + j] = k_plt * (y[o + j - 1] - y[o + j])


@compiled
def rhs(t, y, c, cm, active, dy):
    """Write dy/dt of one patient into ``dy`` (cells per kg per day; aux in their own units)."""
    for i in range(dy.shape[0]):
        dy[i] = 0.0

    # --- regulation ---------------------------------------------------------------------------
    hsc_total = 0.0
    for k in range(L.N_CLASSES):
        hsc_total += y[k * L.N_COMPARTMENTS + L.HSC]
    occupancy = niche_occupancy(c, hsc_total)
    p_hsc = hsc_division_rate(c, occupancy)
    p_hsc *= 1.0 + c[K.K_EPAG_HSC] * eltrombopag_effect(y, c)  # eltrombopag stimulates HSCs
    a_hsc_base = hsc_self_renewal(c, occupancy, 1.0)  # the leukemic clone scales it (no cap)

    gcsf, epo, tpo, il7, m_g, m_e, m_t = cytokine_signals(y, c, cm, active)
    # erythroid disease: the expanded erythroid marrow (x_ery = 1 without one; model/erythroid.py)
    x_ery = 1.0 + y[L.N_CELL_STATES + L.AUX_ERYTHROID_EXPANSION]
    psi = demand_signal(m_g, m_e / x_ery, m_t)
    mpp_gain = mpp_demand_gain(c, psi)

    hill = c[K.K_CYTOKINE_HILL]
    a_gp = _self_renewal(gcsf, c[K.K_A_GP_MIN], c[K.K_A_GP_MAX], c[K.K_GP_EC50], hill)
    ec50 = c[K.K_NPM_GCSF_EC50]
    k_npm = c[K.K_K_NPM] * _acceleration(gcsf, c[K.K_NPM_GCSF_EMAX], ec50)
    k_release = c[K.K_K_NPM] * _acceleration(gcsf, c[K.K_RELEASE_GCSF_EMAX], ec50)
    p_gp = c[K.K_P_GP]
    eps = c[K.K_DEMAND_EPS]
    demand = (1.0 + eps) / (eps + psi)
    w = c[K.K_CMP_GCSF_WEIGHT]  # CMP/GMP respond to G-CSF as well as to the early-acting signal
    # demand^(1-w) gcsf^w, as two logarithms and an exponential (model/elementary.py)
    stimulus = exp((1.0 - w) * log(demand) + w * log(gcsf))
    a_cmp = _self_renewal(stimulus, c[K.K_A_CMP_MIN], c[K.K_A_CMP_MAX], c[K.K_CMP_EC50], hill)
    a_ep = _self_renewal(epo * x_ery, c[K.K_A_EP_MIN], c[K.K_A_EP_MAX], c[K.K_EP_EC50], hill)
    a_mkp = _self_renewal(tpo, c[K.K_A_MKP_MIN], c[K.K_A_MKP_MAX], c[K.K_MKP_EC50], hill)
    suppression = progenitor_suppression(y, c)  # aplastic anemia (model/autoimmunity.py)
    a_cmp *= suppression
    a_mkp *= suppression
    a_lp = _self_renewal(il7, c[K.K_A_LP_MIN], c[K.K_A_LP_MAX], c[K.K_LP_EC50], hill)
    # IL-7-driven homeostatic proliferation of mature lymphocytes, only above the steady state
    homeostatic = c[K.K_LYM_HOMEOSTATIC_MAX] * lymphopenic_drive(il7, c)

    k_mpp = c[K.K_K_MPP]
    alpha = c[K.K_ALPHA_MPP]
    p_ep, p_mkp, p_lp, p_cmp = c[K.K_P_EP], c[K.K_P_MKP], c[K.K_P_LP], c[K.K_P_CMP]

    # --- cells, class by class ----------------------------------------------------------------
    ep_all = 0.0  # erythroid progenitors, and their red-cell yield (haemolysis, ineffective)
    ep_yield = 0.0
    for k in range(L.N_CLASSES):
        if not active[k]:
            continue
        if k == L.MALIGNANT:  # the leukemic hierarchy (model/leukemia.py)
            leukemia_derivatives(y, c, cm, dy, a_hsc_base, mpp_gain, a_cmp, k_npm, k_release)
            continue
        o = k * L.N_COMPARTMENTS
        if k == L.TRANSFUSED:  # transfused red cells and platelets only age (nothing else there)
            _red_cell_and_platelet_ageing(y, c, cm, dy, k, 0.0, 0.0)
            continue
        a_h = hsc_self_renewal(c, occupancy, cm[k, K.CM_HSC_FITNESS])
        h = y[o + L.HSC]
        dy[o + L.HSC] = (2.0 * a_h - 1.0) * p_hsc * h
        hsc_out = 2.0 * (1.0 - a_h) * p_hsc * h

        dy[o + L.MPP1] = hsc_out - k_mpp * y[o + L.MPP1]
        dy[o + L.MPP2] = alpha * mpp_gain * k_mpp * y[o + L.MPP1] - k_mpp * y[o + L.MPP2]
        dy[o + L.MPP3] = alpha * mpp_gain * k_mpp * y[o + L.MPP2] - k_mpp * y[o + L.MPP3]
        mpp_out = alpha * mpp_gain * k_mpp * y[o + L.MPP3] * cm[k, K.CM_DIFFERENTIATION]
        cmp = y[o + L.CMP]
        dy[o + L.CMP] = (2.0 * a_cmp - 1.0) * p_cmp * cmp + (1.0 - c[K.K_F_LP]) * mpp_out
        cmp_out = 2.0 * (1.0 - a_cmp) * p_cmp * cmp

        gp = y[o + L.GP]
        dy[o + L.GP] = (2.0 * a_gp - 1.0) * p_gp * gp + c[K.K_F_GP] * cmp_out
        gp_out = 2.0 * (1.0 - a_gp) * p_gp * gp
        dy[o + L.NPM1] = gp_out - k_npm * y[o + L.NPM1]
        dy[o + L.NPM2] = k_npm * (y[o + L.NPM1] - y[o + L.NPM2])
        dy[o + L.NPM3] = k_npm * y[o + L.NPM2] - k_release * y[o + L.NPM3]
        dy[o + L.NEU] = k_release * y[o + L.NPM3] - c[K.K_D_NEU] * y[o + L.NEU]

        ep = y[o + L.EP]
        ep_all += ep
        ep_yield += ep * red_cell_yield(cm, k)
        dy[o + L.EP] = (2.0 * a_ep - 1.0) * p_ep * ep + c[K.K_F_EP] * cmp_out
        ep_out = 2.0 * (1.0 - a_ep) * p_ep * ep
        # ineffective erythropoiesis: only a fraction of the output leaves as reticulocytes
        ep_out *= cm[k, K.CM_ERYTHROID_OUTPUT]
        dy[o + L.RETM] = ep_out - c[K.K_K_RETM] * y[o + L.RETM]
        dy[o + L.RETB] = c[K.K_K_RETM] * y[o + L.RETM] - c[K.K_K_RETB] * y[o + L.RETB]

        mkp = y[o + L.MKP]
        dy[o + L.MKP] = (2.0 * a_mkp - 1.0) * p_mkp * mkp + c[K.K_F_MKP] * cmp_out
        mkp_out = 2.0 * (1.0 - a_mkp) * p_mkp * mkp
        dy[o + L.MKB] = mkp_out - c[K.K_K_MK] * y[o + L.MKB]
        dy[o + L.MK] = c[K.K_K_MK] * (y[o + L.MKB] - y[o + L.MK])
        # blood reticulocytes mature into red cells, megakaryocytes shed platelets; both age
        red_inflow = c[K.K_K_RETB] * y[o + L.RETB]
        platelet_inflow = c[K.K_BURST] * c[K.K_K_MK] * y[o + L.MK]
        _red_cell_and_platelet_ageing(y, c, cm, dy, k, red_inflow, platelet_inflow)

        lp = y[o + L.LP]
        dy[o + L.LP] = (2.0 * a_lp - 1.0) * p_lp * lp + c[K.K_F_LP] * mpp_out
        dy[o + L.LYM] = 2.0 * (1.0 - a_lp) * p_lp * lp + (homeostatic - c[K.K_D_LYM]) * y[o + L.LYM]

    # --- alloimmunity: host T cells reject donor cells, donor T cells attack host and leukemia --
    a0 = L.N_CELL_STATES
    lym_star = c[K.K_LYM_STAR]
    # resting alloreactivity of the host lymphocytes + their expanded anti-donor effectors
    # (model/rejection.py); the effector level is 0 without an allogeneic donor
    e_hvg = c[K.K_K_HVG] * y[L.HOST * L.N_COMPARTMENTS + L.LYM] / lym_star
    e_hvg += c[K.K_K_HVG] * max(y[a0 + L.AUX_HOST_IMMUNITY], 0.0)
    donor_lym = y[L.DONOR * L.N_COMPARTMENTS + L.LYM] + y[L.DONOR2 * L.N_COMPARTMENTS + L.LYM]
    e_gvh = c[K.K_K_GVH] * donor_lym / lym_star
    atg = y[a0 + L.AUX_ATG]
    e_atg = c[K.K_ATG_KILL] * (atg + c[K.K_HORSE_ATG_POTENCY] * y[a0 + L.AUX_HATG])
    dy[a0 + L.AUX_HOST_IMMUNITY] = host_effector_derivative(y, c, il7, e_atg, e_gvh)
    for k in range(L.N_CLASSES):
        if not active[k]:
            continue
        o = k * L.N_COMPARTMENTS
        if k == L.DONOR or k == L.DONOR2:
            e = e_hvg * cm[k, K.CM_IMMUNE_TARGET]
        elif k == L.HOST or k == L.MALIGNANT:
            e = e_gvh * cm[k, K.CM_IMMUNE_TARGET]
        else:
            e = 0.0
        e = max(e, 0.0)
        for j in _IMMUNE_TARGETS:
            dy[o + j] -= e * y[o + j]
        dy[o + L.LYM] -= max(e_atg, 0.0) * y[o + L.LYM]
    dy[a0 + L.AUX_ATG] = -c[K.K_ATG_KE] * atg
    # --- aplastic anemia: autoreactive T cells, ciclosporin, horse ATG, eltrombopag -----------
    autoimmunity_derivatives(y, c, active, dy, e_gvh)

    # --- auxiliary: the erythroid marrow expands and regresses slowly towards its target -------
    loss = yield_loss(ep_yield, ep_all)
    dy[a0 + L.AUX_ERYTHROID_EXPANSION] = erythroid_expansion(x_ery, epo, loss, c)

    # --- auxiliary: filgrastim subcutaneous depot -> plasma ----------------------------------
    dy[a0 + L.AUX_FILG_DEPOT] = -c[K.K_FILG_KA] * y[a0 + L.AUX_FILG_DEPOT]
    dy[a0 + L.AUX_FILG_CENTRAL] = (
        c[K.K_FILG_KA] * y[a0 + L.AUX_FILG_DEPOT]
        - (c[K.K_FILG_KE_LINEAR] + c[K.K_FILG_KE_NEUTROPHIL] * m_g) * y[a0 + L.AUX_FILG_CENTRAL]
    )


def rhs_numpy(
    t: float, y: np.ndarray, c: np.ndarray, cm: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Allocate-and-return wrapper for SciPy (``solve_ivp(fun=...)``)."""
    dy = np.empty_like(y)
    rhs(t, y, c, cm, active, dy)
    return dy
