"""Regulation of the stem and multipotent compartments, shared by every engine.

The deterministic right-hand side (:mod:`marrowsim.model.rhs`) and the stochastic clonal engine
(:mod:`marrowsim.engine.stochastic`) call these functions, so that both use the same rates:

* niche occupancy ``occupancy = H / H*`` (all clone classes together);
* HSC division rate ``p = p0 (1 + g) / (1 + g occupancy)`` (stress activation ``g``);
* HSC self-renewal fraction ``a = a_max / (1 + (2 a_max - 1) occupancy) x fitness``, at most 1,
  so that ``a = 1/2`` at a full niche and ``a -> a_max`` in an empty one;
* demand signal ``psi`` = mean of the neutrophil, erythroid-progenitor and megakaryocyte/platelet
  receptor masses relative to their steady state (:func:`marrowsim.model.rhs.cytokine_signals`);
* MPP demand gain ``(1 + kappa) / (1 + kappa psi)`` on the amplification of each MPP stage.

``c`` is the per-patient constant vector (:mod:`marrowsim.model.constants`).
"""

from __future__ import annotations

from marrowsim.model import constants as K
from marrowsim.model.compiled import compiled


@compiled
def niche_occupancy(c, hsc_per_kg):
    """Occupancy of the HSC niche: HSCs per kg (all classes) over the steady-state number."""
    return hsc_per_kg / c[K.K_HSC_STAR]


@compiled
def hsc_division_rate(c, occupancy):
    """HSC division rate (1/day) at a niche occupancy; rises up to (1 + g)-fold when empty."""
    gamma = c[K.K_HSC_STRESS]
    return c[K.K_P_HSC] * (1.0 + gamma) / (1.0 + gamma * occupancy)


@compiled
def hsc_self_renewal(c, occupancy, fitness):
    """Probability that an HSC division is a symmetric self-renewal (at most 1)."""
    a_hsc_max = c[K.K_A_HSC_MAX]
    a = a_hsc_max / (1.0 + (2.0 * a_hsc_max - 1.0) * occupancy) * fitness
    return min(a, 1.0)  # min(), not a branch: the SBML export traces this (docs/sbml.md)


@compiled
def demand_signal(m_gcsf, m_epo, m_tpo):
    """Mean of the lineage receptor masses relative to their steady state (1 = healthy)."""
    return (m_gcsf + m_epo + m_tpo) / 3.0


@compiled
def mpp_demand_gain(c, psi):
    """Factor on the amplification of each MPP stage at demand signal ``psi`` (1 at psi = 1)."""
    kappa = c[K.K_KAPPA_MPP]
    return (1.0 + kappa) / (1.0 + kappa * psi)
