"""Scheduled events and daily "morning-count" rules, applied between integration segments.

Events are rows ``(time, kind, a0, a1, a2, a3)`` sorted by time; rules are rows
``(kind, a0, a1, a2, a3)`` checked every morning on the counts of that day. Both are compiled so the
batched engine and the SciPy reference apply them identically.
"""

from __future__ import annotations

import numpy as np

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled
from marrowsim.model.observables import (
    O_ANC,
    O_FILG_DOSE,
    O_HB,
    O_PLT,
    O_PLT_TRANSFUSION,
    O_RBC_TRANSFUSION,
)

# --- event kinds ---------------------------------------------------------------------------
EV_ADD_CELLS = 1  # a0 = class, a1 = compartment, a2 = cells per kg
EV_SCALE_CELLS = 2  # a0 = class (-1 all), a1 = compartment (-1 all), a2 = surviving fraction
EV_MOVE_CELLS = 3  # a0 = from class, a1 = to class, a2 = compartment (-1 all)
EV_ADD_AUX = 4  # a0 = aux index, a1 = amount
EV_RADIATION = 5  # a0 = dose (Gy) of one fraction: linear-quadratic survival by compartment group
EV_DRUG = 6  # a0 = drug code (constants.DRUGS), a1 = dose in that drug's canonical unit

# --- rule kinds ----------------------------------------------------------------------------
RULE_TRANSFUSE_PLATELETS = 1  # a0 = threshold 10^9/L, a1 = platelets per kg per transfusion
RULE_TRANSFUSE_RBC = 2  # a0 = threshold g/dL, a1 = red cells per kg per transfusion
RULE_FILGRASTIM_UNTIL = 3  # a0 = first day, a1 = dose ug/kg, a2 = ANC threshold, a3 = days above
RULE_EXTINCTION = 4  # a0 = clone class, a1 = cells/kg of one cell: fewer than one cell is none

N_EVENT_FIELDS = 6
N_RULE_FIELDS = 5
# per-patient rule bookkeeping: counters of transfusions and of consecutive days above threshold
N_RULE_STATE = 4
RS_PLT_TRANSFUSIONS, RS_RBC_TRANSFUSIONS, RS_FILG_STREAK, RS_FILG_DONE = range(N_RULE_STATE)


@compiled
def compartment_group(j):
    """Compartment group for cell kill: 0 HSC, 1 cycling progenitors, 2 lymphocytes, -1 spared.

    Megakaryocytes count with the progenitors: they replicate their DNA (endomitosis) while they
    mature, and platelet production stops within days of myeloablative conditioning.
    """
    if j == L.HSC:
        return K.GROUP_HSC
    if j == L.MPP1 or j == L.MPP2 or j == L.MPP3 or j == L.CMP or j == L.GP or j == L.EP:
        return K.GROUP_PROGENITORS
    if j == L.MKP or j == L.MKB or j == L.MK or j == L.LP:
        return K.GROUP_PROGENITORS
    if j == L.LYM:
        return K.GROUP_LYMPHOCYTES
    return -1


@compiled
def radiation_survival(dose, group, c, radiosensitivity):
    """Linear-quadratic surviving fraction exp(-(alpha d + beta d^2)) of one fraction."""
    if group < 0:
        return 1.0
    alpha = c[K.K_RAD_ALPHA_HSC + 2 * group]
    beta = c[K.K_RAD_BETA_HSC + 2 * group]
    return np.exp(-radiosensitivity * (alpha * dose + beta * dose * dose))


@compiled
def drug_survival(drug, dose, group, c, sensitivity):
    """Surviving fraction 10^(-log_kill * dose) of one dose of a conditioning drug."""
    if group < 0:
        return 1.0
    lk = c[K.K_LOG_KILL + len(K.GROUPS) * drug + group]
    return 10.0 ** (-sensitivity * lk * dose)


@compiled
def apply_event(ev, y, c, cm, active):
    """Apply one event row (without its time) to the state of one patient."""
    kind = int(ev[1])
    if kind == EV_ADD_CELLS:
        k, j = int(ev[2]), int(ev[3])
        y[k * L.N_COMPARTMENTS + j] += ev[4]
        active[k] = True
    elif kind == EV_SCALE_CELLS:
        k0, j0 = int(ev[2]), int(ev[3])
        for k in range(L.N_CLASSES):
            if k0 >= 0 and k != k0:
                continue
            for j in range(L.N_COMPARTMENTS):
                if j0 >= 0 and j != j0:
                    continue
                y[k * L.N_COMPARTMENTS + j] *= ev[4]
    elif kind == EV_MOVE_CELLS:
        k_from, k_to, j0 = int(ev[2]), int(ev[3]), int(ev[4])
        for j in range(L.N_COMPARTMENTS):
            if j0 >= 0 and j != j0:
                continue
            y[k_to * L.N_COMPARTMENTS + j] += y[k_from * L.N_COMPARTMENTS + j]
            y[k_from * L.N_COMPARTMENTS + j] = 0.0
        active[k_to] = True
    elif kind == EV_ADD_AUX:
        y[L.N_CELL_STATES + int(ev[2])] += ev[3]
    elif kind in (EV_RADIATION, EV_DRUG):
        for k in range(L.N_CLASSES):
            if not active[k]:
                continue
            for j in range(L.N_COMPARTMENTS):
                g = compartment_group(j)
                if kind == EV_RADIATION:
                    f = radiation_survival(ev[2], g, c, cm[k, K.CM_RADIOSENSITIVITY])
                else:
                    f = drug_survival(int(ev[2]), ev[3], g, c, cm[k, K.CM_DRUG_SENSITIVITY])
                y[k * L.N_COMPARTMENTS + j] *= f
        # autoreactive T cells (aplastic anemia, model/autoimmunity.py) and host anti-donor
        # effector T cells (model/rejection.py; post-transplant cyclophosphamide) die like
        # lymphocytes
        if kind == EV_RADIATION:
            f = radiation_survival(ev[2], K.GROUP_LYMPHOCYTES, c, 1.0)
        else:
            f = drug_survival(int(ev[2]), ev[3], K.GROUP_LYMPHOCYTES, c, 1.0)
        y[L.N_CELL_STATES + L.AUX_AUTOREACTIVE] *= f
        y[L.N_CELL_STATES + L.AUX_HOST_IMMUNITY] *= f


@compiled
def apply_rules(day, obs, rules, n_rules, rule_state, y, active):
    """Evaluate the morning rules of one patient on that day's counts ``obs``; returns the number
    of rules that changed the state (transfusions given, filgrastim doses)."""
    fired = 0
    for r in range(n_rules):
        kind = int(rules[r, 0])
        if kind == RULE_TRANSFUSE_PLATELETS:
            if obs[O_PLT] < rules[r, 1]:
                y[L.TRANSFUSED * L.N_COMPARTMENTS + L.PLT1] += rules[r, 2]
                active[L.TRANSFUSED] = True
                rule_state[RS_PLT_TRANSFUSIONS] += 1.0
                obs[O_PLT_TRANSFUSION] = 1.0
                fired += 1
        elif kind == RULE_TRANSFUSE_RBC:
            if obs[O_HB] < rules[r, 1]:
                y[L.TRANSFUSED * L.N_COMPARTMENTS + L.RBC1] += rules[r, 2]
                active[L.TRANSFUSED] = True
                rule_state[RS_RBC_TRANSFUSIONS] += 1.0
                obs[O_RBC_TRANSFUSION] = 1.0
                fired += 1
        elif kind == RULE_FILGRASTIM_UNTIL:
            if day < rules[r, 1] or rule_state[RS_FILG_DONE] > 0.0:
                continue
            if obs[O_ANC] > rules[r, 3]:
                rule_state[RS_FILG_STREAK] += 1.0
            else:
                rule_state[RS_FILG_STREAK] = 0.0
            if rule_state[RS_FILG_STREAK] >= rules[r, 4]:
                rule_state[RS_FILG_DONE] = 1.0
                continue
            y[L.N_CELL_STATES + L.AUX_FILG_DEPOT] += rules[r, 2]
            obs[O_FILG_DOSE] += rules[r, 2]
            fired += 1
        elif kind == RULE_EXTINCTION:
            fired += extinguish(int(rules[r, 1]), rules[r, 2], y)
    return fired


@compiled
def extinguish(k, one_cell, y):
    """Extinction of clone class ``k``: less than one stem cell in the whole body is none.

    A deterministic model carries fractions of a cell; a clone whose stem cells are reduced below
    one cell (for the leukemia: by conditioning and graft-versus-leukemia) is gone and cannot
    regrow. Once its stem-cell compartment is empty, its other compartments that hold less than
    one cell are emptied too (nothing refills them). Returns the number of compartments emptied."""
    o = k * L.N_COMPARTMENTS
    if abs(y[o + L.HSC]) >= one_cell:
        return 0
    emptied = 0
    for j in range(L.N_COMPARTMENTS):
        if y[o + j] != 0.0 and abs(y[o + j]) < one_cell:
            y[o + j] = 0.0
            emptied += 1
    return emptied


def empty_events(n_patients: int) -> tuple[np.ndarray, np.ndarray]:
    """An empty event table ``(patients, 0, N_EVENT_FIELDS)`` and counts."""
    return np.zeros((n_patients, 0, N_EVENT_FIELDS)), np.zeros(n_patients, dtype=np.int64)


def empty_rules(n_patients: int) -> tuple[np.ndarray, np.ndarray]:
    """An empty rule table ``(patients, 0, N_RULE_FIELDS)`` and counts."""
    return np.zeros((n_patients, 0, N_RULE_FIELDS)), np.zeros(n_patients, dtype=np.int64)
