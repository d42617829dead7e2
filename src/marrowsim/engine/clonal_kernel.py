"""The run loop of the stochastic clonal engine (numba): seeding, events, steps, daily records.

One run follows the deterministic engine's day structure (``engine/dopri.py``): each morning the
clone observables are recorded, then the events of that day are applied (events at fractional times
split the day). Between events the clones move by exact SSA for all clones together, or clone
by clone (slow reactions exact, fast ones tau-leaped) with the niche occupancy frozen over a short
global step; ``METHOD_AUTO`` takes the exact method for a segment whose expected number of
reactions is at most ``AUTO_SSA_EVENTS``. Events act on clones as they act on the deterministic
state: infusions seed new clones, cell kill (conditioning, perturbations) is binomial thinning
with the same surviving fractions (``engine/events.py``).
"""

# numba compiles numpy's legacy np.random API (per-thread state, seeded per run inside the
# compiled run by np.random.seed), so the Generator API that NPY002 asks for does not apply here.
# ruff: noqa: NPY002

from __future__ import annotations

import numpy as np
from numba import prange

from marrowsim.engine.clonal_observables import observe_clones
from marrowsim.engine.clonal_steps import (
    N_TRACKED,
    clone_step,
    driven_gain,
    leap_bound,
    poisson,
    system_ssa,
)
from marrowsim.engine.events import (
    EV_ADD_CELLS,
    EV_DRUG,
    EV_MOVE_CELLS,
    EV_RADIATION,
    EV_SCALE_CELLS,
    compartment_group,
    drug_survival,
    radiation_survival,
)
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled, compiled_allocating, compiled_parallel
from marrowsim.model.regulation import hsc_division_rate, hsc_self_renewal, niche_occupancy

METHOD_AUTO, METHOD_SSA, METHOD_TAU = 0, 1, 2
# "auto": exact SSA for a segment (at most one day) expected to hold at most this many reactions
AUTO_SSA_EVENTS = 2000.0


@compiled
def stochastic_round(x):
    """``floor(x)`` or ``floor(x) + 1`` with the mean ``x``."""
    base = np.floor(x)
    return int(base) + (1 if np.random.random() < x - base else 0)


@compiled
def split_into_clones(counts, klass, slot0, n_slots, k, j, n):
    """Put ``n`` cells of compartment ``j`` into ``min(n, n_slots)`` new clones of class ``k``.

    Each cell is its own clone when it fits; otherwise the cells form equal barcoded groups.
    Returns the number of clones made.
    """
    if n <= 0 or n_slots <= 0:
        return 0
    g = min(n, n_slots)
    q, rem = n // g, n % g
    for s in range(g):
        counts[slot0 + s, j] += q + (1 if s < rem else 0)
        klass[slot0 + s] = k
    return g


@compiled_allocating
def seed_initial(y0_cells, init_slot0, init_slots, counts, klass):
    """Clones of the initial state: HSCs split into clones, their MPPs shared multinomially."""
    for k in range(L.N_CLASSES):
        if init_slots[k] == 0:
            continue
        s0 = init_slot0[k]
        n_h = stochastic_round(y0_cells[k, 0])
        g = split_into_clones(counts, klass, s0, init_slots[k], k, 0, n_h)
        if g == 0:  # no stem cell: the multipotent cells of this class form one clone
            g = 1
            klass[s0] = k
        shares = np.empty(g)
        for s in range(g):
            shares[s] = counts[s0 + s, 0] / n_h if n_h > 0 else 1.0 / g
        for j in range(1, N_TRACKED):
            n_j = stochastic_round(y0_cells[k, j])
            if n_j > 0:
                drawn = np.random.multinomial(n_j, shares)
                for s in range(g):
                    counts[s0 + s, j] += drawn[s]


@compiled
def _thin(n, surviving_fraction):
    if n <= 0 or surviving_fraction >= 1.0:
        return n
    if surviving_fraction <= 0.0:
        return 0
    return np.random.binomial(n, surviving_fraction)


@compiled
def apply_clone_event(ev, slot0, n_slots, counts, klass, c, cm):
    """Apply one scheduled event row to the clones (events on other compartments do nothing)."""
    kind = int(ev[1])
    if kind == EV_ADD_CELLS:
        if int(ev[3]) < N_TRACKED:
            n = poisson(ev[4] * c[K.K_WEIGHT])  # homing of many cells, each with a small chance
            split_into_clones(counts, klass, slot0, n_slots, int(ev[2]), int(ev[3]), n)
    elif kind == EV_MOVE_CELLS:  # moves of single tracked compartments are refused beforehand
        if int(ev[4]) < 0:
            for i in range(counts.shape[0]):
                if klass[i] == int(ev[2]):
                    klass[i] = int(ev[3])
    elif kind in (EV_SCALE_CELLS, EV_RADIATION, EV_DRUG):
        for i in range(counts.shape[0]):
            k = klass[i]
            if k < 0:
                continue
            for j in range(N_TRACKED):
                if kind == EV_SCALE_CELLS:
                    hit = (ev[2] < 0 or k == int(ev[2])) and (ev[3] < 0 or j == int(ev[3]))
                    f = ev[4] if hit else 1.0
                elif kind == EV_RADIATION:
                    g = compartment_group(j)
                    f = radiation_survival(ev[2], g, c, cm[k, K.CM_RADIOSENSITIVITY])
                else:
                    g = compartment_group(j)
                    f = drug_survival(int(ev[2]), ev[3], g, c, cm[k, K.CM_DRUG_SENSITIVITY])
                counts[i, j] = _thin(counts[i, j], f)


@compiled
def _sum_clones(counts, klass, totals, hsc_by_class):
    totals[:] = 0
    hsc_by_class[:] = 0.0
    for i in range(counts.shape[0]):
        if klass[i] < 0:
            continue
        for j in range(N_TRACKED):
            totals[j] += counts[i, j]
        hsc_by_class[klass[i]] += counts[i, 0]


@compiled
def advance(method, counts, klass, t, t_end, c, cm, times, psi, eps, work):
    """Move every clone from ``t`` to ``t_end`` (no event in between)."""
    totals, hsc_by_class, a_by_class = work
    k, alpha, weight = c[K.K_K_MPP], c[K.K_ALPHA_MPP], c[K.K_WEIGHT]
    _sum_clones(counts, klass, totals, hsc_by_class)
    if method != METHOD_TAU:
        p = hsc_division_rate(c, niche_occupancy(c, totals[0] / weight))
        expected = (p * totals[0] + k * (totals[1] + totals[2] + totals[3])) * (t_end - t)
        if method == METHOD_SSA or expected <= AUTO_SSA_EVENTS:
            system_ssa(counts, klass, totals, t, t_end, c, cm, times, psi)
            return
    while t < t_end:
        occupancy = niche_occupancy(c, totals[0] / weight)
        p = hsc_division_rate(c, occupancy)
        drift = 0.0
        for kk in range(L.N_CLASSES):
            a = hsc_self_renewal(c, occupancy, cm[kk, K.CM_HSC_FITNESS])
            drift += (2.0 * a - 1.0) * p * hsc_by_class[kk]
        # a global step over which the niche changes by less than eps (CGP rule on the HSC total);
        # a and p are frozen at the predicted occupancy of its midpoint
        dt = min(t_end - t, leap_bound(eps * totals[0], drift, p * totals[0]))
        occupancy = niche_occupancy(c, max(0.0, totals[0] + 0.5 * dt * drift) / weight)
        p = hsc_division_rate(c, occupancy)
        for kk in range(L.N_CLASSES):
            a_by_class[kk] = hsc_self_renewal(c, occupancy, cm[kk, K.CM_HSC_FITNESS])
        for i in range(counts.shape[0]):
            if klass[i] < 0:
                continue
            if counts[i, 0] + counts[i, 1] + counts[i, 2] + counts[i, 3] == 0:
                continue
            clone_step(counts[i], t, t + dt, a_by_class[klass[i]], p, k, alpha, c, times, psi, eps)
        t += dt
        _sum_clones(counts, klass, totals, hsc_by_class)


@compiled_allocating
def simulate_run(
    seed,
    method,
    y0_cells,
    c,
    cm,
    t_start,
    n_days,
    events,
    n_events,
    slots,
    times,
    psi,
    eps,
    threshold,
    n_clones,
    obs,
    counts_out,
    class_out,
):
    """One run: ``obs[day, :]`` clone observables; final counts and class of each clone.

    ``slots`` rows: (first slot, number of slots) of the initial classes, then of each event.
    The final clones are copied to ``counts_out`` and ``class_out`` when these have room.
    """
    np.random.seed(seed)
    counts = np.zeros((n_clones, N_TRACKED), np.int64)
    klass = np.full(n_clones, -1, np.int64)
    seed_initial(y0_cells, slots[: L.N_CLASSES, 0], slots[: L.N_CLASSES, 1], counts, klass)
    work = (np.zeros(N_TRACKED, np.int64), np.zeros(L.N_CLASSES), np.zeros(L.N_CLASSES))
    e = 0
    for d in range(n_days + 1):
        day = t_start + d
        gain = driven_gain(c, times, psi, float(day))
        observe_clones(counts, klass, c, cm, gain, threshold, obs[d])
        t = float(day)
        while e < n_events and events[e, 0] < t - 1e-9:  # events before the start are dropped
            e += 1
        if d == n_days:
            break
        while True:
            while e < n_events and abs(events[e, 0] - t) < 1e-9:
                row = slots[L.N_CLASSES + e]
                apply_clone_event(events[e], row[0], row[1], counts, klass, c, cm)
                e += 1
            t_next = float(day + 1)
            if e < n_events and events[e, 0] < t_next - 1e-9:
                t_next = events[e, 0]
            advance(method, counts, klass, t, t_next, c, cm, times, psi, eps, work)
            t = t_next
            if t >= day + 1 - 1e-9:
                break
    if counts_out.shape[0] == n_clones:
        counts_out[:, :] = counts
        class_out[:] = klass


@compiled_parallel
def simulate_runs(
    seeds,
    method,
    y0_cells,
    c,
    cm,
    t_start,
    n_days,
    events,
    n_events,
    slots,
    times,
    psi,
    eps,
    threshold,
    n_clones,
    obs_out,
    counts_out,
    class_out,
):
    """All runs, in parallel; run ``r`` is seeded with ``seeds[r]`` (independent of threads).

    ``counts_out``/``class_out`` have shape ``(runs, n_clones, 4)``/``(runs, n_clones)`` to keep
    the final clones, or ``(runs, 0, 4)``/``(runs, 0)`` not to.
    """
    for r in prange(seeds.shape[0]):
        simulate_run(
            seeds[r],
            method,
            y0_cells,
            c,
            cm,
            t_start,
            n_days,
            events,
            n_events,
            slots,
            times,
            psi,
            eps,
            threshold,
            n_clones,
            obs_out[r],
            counts_out[r],
            class_out[r],
        )
