"""Host-versus-graft rejection: host anti-donor T cells expand on donor antigen (compiled helpers).

Surviving host T cells include a small alloreactive fraction ``φ`` (larger with each HLA mismatch
in the host-versus-graft direction, with an unrelated donor's minor antigens). While donor cells
are present they are stimulated (``u = D / (D + D50)``, ``D`` the donor stem, progenitor and
lymphoid-progenitor cells) and divide: their progeny are the anti-donor effectors ``A``
(auxiliary state ``host_alloimmunity``, relative to the steady-state lymphocyte pool). GVHD
prophylaxis slows the expansion; effectors die at a contraction rate, are depleted by ATG like
other lymphocytes (and by conditioning drugs and irradiation, ``engine/events.py``), and are
eliminated by donor T cells (graft-versus-host-versus-host, the same ``e_GvH`` that kills the
other host lymphocytes). The effectors add to the resting alloreactivity of the host lymphocytes
in the kill of donor cells:

    e_HvG = k_HvG (Y_host / Y* + A)
    dA/dt = ρ u (φ Y_host / Y* + A) (1 − A / A_max)⁺ − (δ + e_ATG + e_GvH) A

Equations and sources: docs/model.md §4, docs/transplant.md §4. Written without branches on the
state (``max``/``min`` only) so that the right-hand side can be traced symbolically.
"""

from __future__ import annotations

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled

# donor cells that present alloantigen to host T cells: stem, progenitor and precursor pools (the
# donor-derived antigen-presenting cells come from them); mature blood cells are not counted
ANTIGEN_COMPARTMENTS = (L.HSC, L.MPP1, L.MPP2, L.MPP3, L.CMP, L.GP, L.EP, L.MKP, L.LP)


@compiled
def donor_antigen_signal(y, c):
    """Stimulation of host anti-donor T cells by donor cells, ``D / (D + D50)`` in [0, 1)."""
    donor = 0.0
    for k in (L.DONOR, L.DONOR2):
        o = k * L.N_COMPARTMENTS
        for j in ANTIGEN_COMPARTMENTS:
            donor += y[o + j]
    donor = max(donor, 0.0)
    return donor / (donor + c[K.K_HVG_ANTIGEN_EC50])


@compiled
def lymphopenic_drive(il7, c):
    """Share of the maximal expansion that the IL-7 excess of lymphopenia allows, in [0, 1): 0 at
    the steady-state IL-7. The same Hill function drives the host's anti-donor effectors and the
    homeostatic proliferation of all lymphocytes (``rhs``)."""
    excess = max(il7 - 1.0, 0.0)
    return excess / (excess + c[K.K_LYM_HOMEOSTATIC_EC50])


@compiled
def host_effector_derivative(y, c, il7, e_atg, e_gvh):
    """dA/dt of the host anti-donor effector level ``A`` (relative to steady-state lymphocytes)."""
    a = max(y[L.N_CELL_STATES + L.AUX_HOST_IMMUNITY], 0.0)
    precursors = c[K.K_HVG_PRECURSOR] * y[L.HOST * L.N_COMPARTMENTS + L.LYM] / c[K.K_LYM_STAR]
    room = max(1.0 - a / c[K.K_HVG_CAPACITY], 0.0)
    stimulation = donor_antigen_signal(y, c) * lymphopenic_drive(il7, c)
    growth = c[K.K_HVG_EXPANSION] * stimulation * (precursors + a) * room
    return growth - (c[K.K_HVG_CONTRACTION] + e_atg + e_gvh) * a
