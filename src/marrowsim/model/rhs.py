"""The right-hand side of the model, written once for one patient and compiled with numba.

The batched engine calls :func:`rhs` for each patient of a batch (arrays ``(patients, states)``);
the SciPy reference path calls the same function. Equations: ``docs/model.md``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.regulation import (
    demand_signal,
    hsc_division_rate,
    hsc_self_renewal,
    mpp_demand_gain,
    niche_occupancy,
)

# compartments attacked by alloreactive T cells: stem, progenitor and lymphoid cells
_IMMUNE_TARGETS = (L.HSC, L.MPP1, L.MPP2, L.MPP3, L.GP, L.EP, L.MKP, L.LP, L.LYM)


@njit(cache=True)
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
        red = y[o + L.RETB]
        for j in range(L.RBC1, L.RBC4 + 1):
            red += y[o + j]
        hb_cells_pg += red * c[K.K_MCH] * cm[k, K.CM_MCH]
    hb = hb_cells_pg / c[K.K_BV] * 1e-13
    return neu / bv, hb, plt / bv, lym / bv


@njit(cache=True)
def filgrastim_effect(y, c):
    """Fractional effect (0..1) of exogenous filgrastim at its plasma level."""
    ec50 = c[K.K_FILG_EC50]
    if ec50 <= 0.0:
        return 0.0
    conc = y[L.N_CELL_STATES + L.AUX_FILG_CENTRAL]
    if conc <= 0.0:
        return 0.0
    return conc / (ec50 + conc)


@njit(cache=True)
def rhs(t, y, c, cm, active, dy):
    """Write dy/dt of one patient into ``dy`` (cells per kg per day; aux in their own units)."""
    for i in range(dy.shape[0]):
        dy[i] = 0.0
    anc, hb, plt, alc = blood_counts(y, c, cm, active)

    # --- regulation ---------------------------------------------------------------------------
    hsc_total = 0.0
    for k in range(L.N_CLASSES):
        hsc_total += y[k * L.N_COMPARTMENTS + L.HSC]
    occupancy = niche_occupancy(c, hsc_total)
    p_hsc = hsc_division_rate(c, occupancy)
    mpp_gain = mpp_demand_gain(c, demand_signal(c, anc, hb, plt))

    e_filg = filgrastim_effect(y, c)
    s_g = 1.0 / (1.0 + c[K.K_K_GCSF] * anc)
    s_g = s_g + (1.0 - s_g) * c[K.K_FILG_EMAX_SR] * e_filg
    a_gp = c[K.K_A_GP_MAX] * s_g
    k_npm = c[K.K_K_NPM] * (1.0 + c[K.K_FILG_EMAX_TR] * e_filg)
    a_ep = c[K.K_A_EP_MAX] / (1.0 + c[K.K_K_EPO] * hb)
    a_mkp = c[K.K_A_MKP_MAX] / (1.0 + c[K.K_K_TPO] * plt)
    a_lp = c[K.K_A_LP_MAX] / (1.0 + c[K.K_K_IL7] * alc)

    k_mpp = c[K.K_K_MPP]
    alpha = c[K.K_ALPHA_MPP]
    p_gp, p_ep, p_mkp, p_lp = c[K.K_P_GP], c[K.K_P_EP], c[K.K_P_MKP], c[K.K_P_LP]

    # --- cells, class by class ----------------------------------------------------------------
    for k in range(L.N_CLASSES):
        if not active[k]:
            continue
        o = k * L.N_COMPARTMENTS
        a_h = hsc_self_renewal(c, occupancy, cm[k, K.CM_HSC_FITNESS])
        h = y[o + L.HSC]
        dy[o + L.HSC] = (2.0 * a_h - 1.0) * p_hsc * h
        hsc_out = 2.0 * (1.0 - a_h) * p_hsc * h

        dy[o + L.MPP1] = hsc_out - k_mpp * y[o + L.MPP1]
        dy[o + L.MPP2] = alpha * mpp_gain * k_mpp * y[o + L.MPP1] - k_mpp * y[o + L.MPP2]
        dy[o + L.MPP3] = alpha * mpp_gain * k_mpp * y[o + L.MPP2] - k_mpp * y[o + L.MPP3]
        mpp_out = alpha * mpp_gain * k_mpp * y[o + L.MPP3] * cm[k, K.CM_DIFFERENTIATION]

        gp = y[o + L.GP]
        dy[o + L.GP] = (2.0 * a_gp - 1.0) * p_gp * gp + c[K.K_F_GP] * mpp_out
        gp_out = 2.0 * (1.0 - a_gp) * p_gp * gp
        dy[o + L.NPM1] = gp_out - k_npm * y[o + L.NPM1]
        dy[o + L.NPM2] = k_npm * (y[o + L.NPM1] - y[o + L.NPM2])
        dy[o + L.NPM3] = k_npm * (y[o + L.NPM2] - y[o + L.NPM3])
        dy[o + L.NEU] = k_npm * y[o + L.NPM3] - c[K.K_D_NEU] * y[o + L.NEU]

        ep = y[o + L.EP]
        dy[o + L.EP] = (2.0 * a_ep - 1.0) * p_ep * ep + c[K.K_F_EP] * mpp_out
        ep_out = 2.0 * (1.0 - a_ep) * p_ep * ep
        dy[o + L.RETM] = ep_out - c[K.K_K_RETM] * y[o + L.RETM]
        dy[o + L.RETB] = c[K.K_K_RETM] * y[o + L.RETM] - c[K.K_K_RETB] * y[o + L.RETB]
        k_rbc = c[K.K_K_RBC] / cm[k, K.CM_RBC_LIFESPAN]
        dy[o + L.RBC1] = c[K.K_K_RETB] * y[o + L.RETB] - k_rbc * y[o + L.RBC1]
        for j in range(L.RBC2, L.RBC4 + 1):
            dy[o + j] = k_rbc * (y[o + j - 1] - y[o + j])

        mkp = y[o + L.MKP]
        dy[o + L.MKP] = (2.0 * a_mkp - 1.0) * p_mkp * mkp + c[K.K_F_MKP] * mpp_out
        mkp_out = 2.0 * (1.0 - a_mkp) * p_mkp * mkp
        dy[o + L.MK] = mkp_out - c[K.K_K_MK] * y[o + L.MK]
        k_plt = c[K.K_K_PLT]
        dy[o + L.PLT1] = c[K.K_BURST] * c[K.K_K_MK] * y[o + L.MK] - k_plt * y[o + L.PLT1]
        for j in range(L.PLT2, L.PLT5 + 1):
            dy[o + j] = k_plt * (y[o + j - 1] - y[o + j])

        lp = y[o + L.LP]
        dy[o + L.LP] = (2.0 * a_lp - 1.0) * p_lp * lp + c[K.K_F_LP] * mpp_out
        dy[o + L.LYM] = 2.0 * (1.0 - a_lp) * p_lp * lp - c[K.K_D_LYM] * y[o + L.LYM]

    # --- alloimmunity: host T cells reject donor cells, donor T cells attack host and leukemia --
    a0 = L.N_CELL_STATES
    lym_star = c[K.K_ALC_STAR] * c[K.K_BV] * 1e9
    e_hvg = c[K.K_K_HVG] * y[L.HOST * L.N_COMPARTMENTS + L.LYM] / lym_star
    donor_lym = y[L.DONOR * L.N_COMPARTMENTS + L.LYM] + y[L.DONOR2 * L.N_COMPARTMENTS + L.LYM]
    e_gvh = c[K.K_K_GVH] * donor_lym / lym_star
    atg = y[a0 + L.AUX_ATG]
    e_atg = c[K.K_ATG_KILL] * atg
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
        if e > 0.0:
            for j in _IMMUNE_TARGETS:
                dy[o + j] -= e * y[o + j]
        if e_atg > 0.0:
            dy[o + L.LYM] -= e_atg * y[o + L.LYM]
    dy[a0 + L.AUX_ATG] = -c[K.K_ATG_KE] * atg

    # --- auxiliary: filgrastim subcutaneous depot -> plasma ----------------------------------
    dy[a0 + L.AUX_FILG_DEPOT] = -c[K.K_FILG_KA] * y[a0 + L.AUX_FILG_DEPOT]
    dy[a0 + L.AUX_FILG_CENTRAL] = (
        c[K.K_FILG_KA] * y[a0 + L.AUX_FILG_DEPOT] - c[K.K_FILG_KE] * y[a0 + L.AUX_FILG_CENTRAL]
    )


def rhs_numpy(
    t: float, y: np.ndarray, c: np.ndarray, cm: np.ndarray, active: np.ndarray
) -> np.ndarray:
    """Allocate-and-return wrapper for SciPy (``solve_ivp(fun=...)``)."""
    dy = np.empty_like(y)
    rhs(t, y, c, cm, active, dy)
    return dy
