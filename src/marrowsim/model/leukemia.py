"""Leukemia: a malignant clone with the Stiehl 2015 leukemic hierarchy, inside the shared marrow.

Stiehl, Baran, Ho and Marciniak-Czochra (Cancer Res 2015;75:940; anchors.md §1.1) model AML as a
second hierarchy of leukemic stem cells (L1), dividing leukemic progenitors (L2) and post-mitotic
blasts (L3) that share the feedback of normal hematopoiesis, with ``a_1L = 1.6 a_1``,
``p_2L = 0.5 p_2``, ``d_L = 0.25 d`` and the same feedback constant. Here the malignant clone class
uses the same compartments as the normal classes, with these roles (equations in
``docs/disease.md``):

* ``hsc``: leukemic stem cells in the HSC niche. They count in the niche occupancy ``x`` that
  regulates every class's self-renewal, so they compete with normal HSCs for the niche; their
  self-renewal is the niche's ``a_H(x)`` times the advantage ``m_hsc_fitness`` (Stiehl's 1.6),
  their division rate ``lsc_division_rate``.
* ``mpp1..3``: leukemic multipotent progenitors: the LSC output is amplified like the normal
  multipotent output (same stages, same demand gain).
* ``cmp``: dividing leukemic progenitors (Stiehl L2): the self-renewal of the normal myeloid
  progenitors under the same demand signal (Stiehl: ``a_2L = a_2``, same feedback), dividing at
  ``leukemic_progenitor_division_ratio`` (0.5) times their rate.
* ``npm1``: post-mitotic blasts (Stiehl L3): cleared at ``d_L = 0.25 d_N``; they take up G-CSF
  like maturing neutrophils (Stiehl's shared feedback: ``s = 1/(1 + k (C3 + L3))``), which
  lowers the G-CSF and progenitor-demand signals of normal hematopoiesis.
* ``npm2``, ``npm3``, ``neu``: the fraction ``m_differentiation`` of blasts that complete
  maturation into functional neutrophils (0 in AML: the maturation block).

Conditioning kills LSCs as HSCs and leukemic progenitors as progenitors, scaled by the class's
drug and radiation sensitivities; donor T cells kill them at the graft-versus-host rate times the
class's ``immune_target`` (graft-versus-leukemia, ``rhs.py``).
"""

from __future__ import annotations

import numpy as np

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled

# compartments the malignant class uses (every other one stays empty)
LEUKEMIC_COMPARTMENTS = (L.HSC, L.MPP1, L.MPP2, L.MPP3, L.CMP, L.NPM1, L.NPM2, L.NPM3, L.NEU)


@compiled
def leukemia_derivatives(y, c, cm, dy, a_hsc_base, mpp_gain, a_cmp, k_npm, k_release):
    """Write dy/dt of the malignant class (cells/kg/day) given the shared regulation of the day.

    ``a_hsc_base`` is the niche self-renewal ``a_H(x)``, ``mpp_gain`` the demand gain of the
    multipotent stages, ``a_cmp`` the self-renewal of myeloid progenitors and ``k_npm``,
    ``k_release`` the G-CSF-dependent maturation and release rates of the moment.
    """
    o = L.MALIGNANT * L.N_COMPARTMENTS
    k = L.MALIGNANT
    a_l = min(a_hsc_base * cm[k, K.CM_HSC_FITNESS], 1.0)  # min(), not a branch: docs/sbml.md
    p_l = c[K.K_LSC_DIVISION]
    lsc = y[o + L.HSC]
    dy[o + L.HSC] = (2.0 * a_l - 1.0) * p_l * lsc
    lsc_out = 2.0 * (1.0 - a_l) * p_l * lsc

    k_mpp = c[K.K_K_MPP]
    amp = c[K.K_ALPHA_MPP] * mpp_gain * k_mpp
    dy[o + L.MPP1] = lsc_out - k_mpp * y[o + L.MPP1]
    dy[o + L.MPP2] = amp * y[o + L.MPP1] - k_mpp * y[o + L.MPP2]
    dy[o + L.MPP3] = amp * y[o + L.MPP2] - k_mpp * y[o + L.MPP3]
    mpp_out = amp * y[o + L.MPP3]  # myeloid leukemia: all of it stays leukemic, no lymphoid share

    p_2 = c[K.K_LEUKEMIC_PROGENITOR_DIVISION] * c[K.K_P_CMP]
    prog = y[o + L.CMP]
    dy[o + L.CMP] = (2.0 * a_cmp - 1.0) * p_2 * prog + mpp_out
    prog_out = 2.0 * (1.0 - a_cmp) * p_2 * prog

    d_l = c[K.K_BLAST_CLEARANCE]
    blasts = y[o + L.NPM1]
    dy[o + L.NPM1] = prog_out - d_l * blasts
    maturing = cm[k, K.CM_DIFFERENTIATION] * d_l * blasts
    dy[o + L.NPM2] = maturing - k_npm * y[o + L.NPM2]
    dy[o + L.NPM3] = k_npm * y[o + L.NPM2] - k_release * y[o + L.NPM3]
    dy[o + L.NEU] = k_release * y[o + L.NPM3] - c[K.K_D_NEU] * y[o + L.NEU]


def lsc_growth_rate(constants: np.ndarray, advantage: np.ndarray) -> np.ndarray:
    """Net growth rate (1/day) of leukemic stem cells in a healthy niche (occupancy 1)."""
    a_l = np.minimum(1.0, 0.5 * np.asarray(advantage, dtype=float))  # a_H(1) = 1/2
    return (2.0 * a_l - 1.0) * constants[:, K.K_LSC_DIVISION]


def growth_profile(
    constants: np.ndarray, advantage: np.ndarray, differentiation: np.ndarray
) -> np.ndarray:
    """Malignant cells per compartment per LSC when a small clone grows in a healthy marrow.

    While the clone is small the normal marrow sits at its steady state (occupancy 1, all
    signals 1) and the leukemic hierarchy is linear: every compartment grows at the LSC rate
    ``r``, so each holds a fixed multiple of the LSCs (the growing eigenvector). Shape
    ``(patients, N_COMPARTMENTS)``, ``hsc`` = 1. Used to seed a measured residual disease.
    """
    c = constants
    n = c.shape[0]
    r = lsc_growth_rate(c, advantage)
    a_l = np.minimum(1.0, 0.5 * np.asarray(advantage, dtype=float))
    k_mpp, alpha = c[:, K.K_K_MPP], c[:, K.K_ALPHA_MPP]
    a_q = (c[:, K.K_CMP_AMPLIFICATION] - 2.0) / (2.0 * c[:, K.K_CMP_AMPLIFICATION] - 2.0)
    p_2 = c[:, K.K_LEUKEMIC_PROGENITOR_DIVISION] * c[:, K.K_P_CMP]
    d_l, k_npm, d_n = c[:, K.K_BLAST_CLEARANCE], c[:, K.K_K_NPM], c[:, K.K_D_NEU]
    prof = np.zeros((n, L.N_COMPARTMENTS))
    prof[:, L.HSC] = 1.0
    prof[:, L.MPP1] = 2.0 * (1.0 - a_l) * c[:, K.K_LSC_DIVISION] / (k_mpp + r)
    prof[:, L.MPP2] = alpha * k_mpp * prof[:, L.MPP1] / (k_mpp + r)
    prof[:, L.MPP3] = alpha * k_mpp * prof[:, L.MPP2] / (k_mpp + r)
    prof[:, L.CMP] = alpha * k_mpp * prof[:, L.MPP3] / (r - (2.0 * a_q - 1.0) * p_2)
    prof[:, L.NPM1] = 2.0 * (1.0 - a_q) * p_2 * prof[:, L.CMP] / (d_l + r)
    prof[:, L.NPM2] = np.asarray(differentiation) * d_l * prof[:, L.NPM1] / (k_npm + r)
    prof[:, L.NPM3] = k_npm * prof[:, L.NPM2] / (k_npm + r)
    prof[:, L.NEU] = k_npm * prof[:, L.NPM3] / (d_n + r)
    return prof
