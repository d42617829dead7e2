"""Aplastic anemia: autoreactive T cells destroy HSCs and early progenitors; immunosuppression.

Acquired aplastic anemia is immune-mediated destruction of marrow stem and progenitor cells
(Scheinberg 2011; Desmond 2015; anchors.md §3.4). The model adds (equations in
``docs/disease.md``):

* an auxiliary autoreactive effector level ``A`` (1 = the untreated disease), which kills the
  HSCs and CD34+ progenitors (multipotent, myeloid, megakaryocyte) of every normal clone class at
  ``k_AA · A · (1 − I_CsA)`` per day; ``k_AA`` varies between patients;
* ``dA/dt = r_A (1 − I_CsA) A (1 − A) − (κ_r ATG_r + κ_h ATG_h) A − e_GvH A``: surviving
  autoreactive clones re-expand towards the disease level, cyclosporine slows them, each
  anti-thymocyte globulin depletes them at its own rate per mg/kg, and after an allogeneic
  transplant donor T cells eliminate them with the other host lymphocytes; conditioning drugs and
  irradiation kill them like lymphocytes (``engine/events.py``);
* the same T cells suppress the self-renewal of myeloid and megakaryocyte progenitors (the
  interferon-gamma and TNF of the immune attack): ``a ← a (1 − σ A (1 − I_CsA))`` for the CMP and
  MKP compartments, so that these progenitors cannot sustain themselves while the attack lasts;
* cyclosporine as a pharmacokinetic state (mg/kg in the body, first-order elimination) with an
  Emax inhibition ``I_CsA = I_max C / (C + EC50)`` of autoreactive killing and re-expansion;
* eltrombopag (mg/kg in the body) with effect ``u = C / (C + EC50)``: a thrombopoietin-receptor
  agonist that adds to the TPO signal and raises the division rate of HSCs by
  ``1 + s_E · u`` (it stimulates stem and progenitor cells: Desmond et al., Blood 2014);
* horse ATG (ATGAM) as its own state, because its effect on the disease differs from rabbit ATG's
  (Scheinberg 2011: response 68 % vs 37 %) although both deplete lymphocytes.
"""

from __future__ import annotations

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled

# clone classes and compartments the autoreactive T cells attack
AUTOIMMUNE_TARGET_CLASSES = (L.HOST, L.DONOR, L.DONOR2, L.EDITED)
AUTOIMMUNE_TARGET_COMPARTMENTS = (L.HSC, L.MPP1, L.MPP2, L.MPP3, L.CMP, L.MKP)


@compiled
def _emax(amount, ec50):
    """Fraction of the maximal effect, ``C / (C + EC50)`` (0 for no drug or no EC50)."""
    if ec50 <= 0.0:  # a constant: the drug is not modelled for this patient
        return 0.0
    amount = max(amount, 0.0)  # max(), not a branch on the state: see docs/sbml.md §1
    return amount / (amount + ec50)


@compiled
def cyclosporine_inhibition(y, c):
    """Fractional inhibition of autoreactive T cells by cyclosporine in the body."""
    amount = y[L.N_CELL_STATES + L.AUX_CSA]
    return c[K.K_CSA_IMAX] * _emax(amount, c[K.K_CSA_EC50])


@compiled
def eltrombopag_effect(y, c):
    """Fraction of the maximal eltrombopag effect, from the amount in the body."""
    return _emax(y[L.N_CELL_STATES + L.AUX_ELTROMBOPAG], c[K.K_EPAG_EC50])


@compiled
def progenitor_suppression(y, c):
    """Factor (<= 1) on the self-renewal of myeloid and megakaryocyte progenitors while
    autoreactive T cells are active (their interferon-gamma and TNF suppress progenitors)."""
    sigma = c[K.K_AUTOIMMUNE_SUPPRESSION]
    if sigma == 0.0:  # a constant: no aplastic anemia
        return 1.0
    level = max(y[L.N_CELL_STATES + L.AUX_AUTOREACTIVE], 0.0)
    return 1.0 - sigma * level * (1.0 - cyclosporine_inhibition(y, c))


@compiled
def autoimmunity_derivatives(y, c, active, dy, e_gvh):
    """Add the autoimmune kill to ``dy`` and write the derivatives of the disease's aux states."""
    a0 = L.N_CELL_STATES
    level = y[a0 + L.AUX_AUTOREACTIVE]
    inhibition = cyclosporine_inhibition(y, c)
    kill = max(c[K.K_AUTOIMMUNE_KILL] * level * (1.0 - inhibition), 0.0)
    if c[K.K_AUTOIMMUNE_KILL] != 0.0:  # a constant: aplastic anemia
        for k in AUTOIMMUNE_TARGET_CLASSES:
            if not active[k]:
                continue
            o = k * L.N_COMPARTMENTS
            for j in AUTOIMMUNE_TARGET_COMPARTMENTS:
                dy[o + j] -= kill * y[o + j]
    atg = c[K.K_ATG_AUTOREACTIVE_RABBIT] * y[a0 + L.AUX_ATG]
    atg += c[K.K_ATG_AUTOREACTIVE_HORSE] * y[a0 + L.AUX_HATG]
    regrowth = c[K.K_AUTOREACTIVE_REGROWTH] * (1.0 - inhibition) * (1.0 - level)
    dy[a0 + L.AUX_AUTOREACTIVE] = (regrowth - atg - e_gvh) * level
    dy[a0 + L.AUX_HATG] = -c[K.K_ATG_KE] * y[a0 + L.AUX_HATG]
    dy[a0 + L.AUX_CSA] = -c[K.K_CSA_KE] * y[a0 + L.AUX_CSA]
    dy[a0 + L.AUX_ELTROMBOPAG] = -c[K.K_EPAG_KE] * y[a0 + L.AUX_ELTROMBOPAG]
