"""Stochastic steps of the clonal engine (numba): exact SSA and Cao–Gillespie–Petzold tau-leaping.

A clone's state is the integer vector ``x = (HSC, MPP1, MPP2, MPP3)`` in cells. Reactions and
propensities, with the rates of the deterministic model (:mod:`marrowsim.model.regulation`):

====  ===========================  ===========================  ==================
 j    reaction                     change                       propensity
====  ===========================  ===========================  ==================
 0    symmetric self-renewal       HSC + 1                      a p HSC
 1    symmetric differentiation    HSC - 1, MPP1 + 2            (1 - a) p HSC
 2    MPP1 exit (amplifying)       MPP1 - 1, MPP2 + B           k MPP1
 3    MPP2 exit (amplifying)       MPP2 - 1, MPP3 + B           k MPP2
 4    MPP3 exit to the lineages    MPP3 - 1                     k MPP3
====  ===========================  ===========================  ==================

``B`` is a burst of mean ``b = alpha x gain(t)`` (the stage amplification times the demand gain),
stochastically rounded (``floor(b)`` or ``floor(b) + 1``), so that the mean equations are exactly
the deterministic ones: dHSC/dt = (2a - 1) p HSC, dMPP1/dt = 2 (1 - a) p HSC - k MPP1, ...
``a`` and ``p`` depend on the niche occupancy (all clones): the exact method for all clones
(:func:`system_ssa`) updates them after every reaction; clone by clone (:func:`clone_step`) they
are frozen over a short global step.

Clone by clone, the *slow* reactions 0-2 (HSC fates and MPP1 exits: a few per clone and year to a
few thousand per patient and day) are always simulated exactly; their propensities depend only on
HSC and MPP1, which no other reaction changes. Between two slow reactions the *fast* reactions 3-4
(MPP2 and MPP3 exits: up to ~10^7 per day) are tau-leaped after Cao, Gillespie & Petzold, J Chem
Phys 2006;124:044109: a reaction within ``N_CRITICAL`` firings of exhausting its reactant is
*critical* and fires alone on its exponential clock; the leap keeps the expected change and the
standard deviation of every reactant of a non-critical reaction below ``max(eps x_i, 1)``; when the
leap would be shorter than ``SSA_FALLBACK_FACTOR / a0`` up to ``SSA_FALLBACK_STEPS`` reactions are
simulated exactly. Non-critical firings are Poisson with the propensities at the predicted midpoint
of the leap (midpoint tau-leaping, Anderson, Ganguly & Kurtz, Ann Appl Probab 2011;21:2226), so the
mean follows the deterministic equations to second order in the leap.
"""

# numba compiles numpy's legacy np.random API (per-thread state, seeded per run inside the
# compiled run by np.random.seed), so the Generator API that NPY002 asks for does not apply here.
# ruff: noqa: NPY002

from __future__ import annotations

import numpy as np

from marrowsim.model import constants as K
from marrowsim.model.compiled import compiled
from marrowsim.model.regulation import (
    hsc_division_rate,
    hsc_self_renewal,
    mpp_demand_gain,
    niche_occupancy,
)

N_TRACKED = 4  # HSC, MPP1, MPP2, MPP3 (layout indices 0..3)
N_CRITICAL = 10  # Cao, Gillespie & Petzold 2006: n_c = 10
SSA_FALLBACK_FACTOR = 10.0  # same paper: leap only when tau' >= 10 / a0 ...
SSA_FALLBACK_STEPS = 100  # ... otherwise take 100 exact steps


@compiled
def driven_gain(c, times, psi, t):
    """MPP demand gain at time ``t`` from the driving signal, linearly interpolated.

    ``times`` is non-decreasing; a time listed twice carries a jump (the later value holds from
    then on). Before the first and after the last point the signal is held constant.
    """
    n = times.shape[0]
    i = np.searchsorted(times, t, side="right") - 1
    if i < 0:
        value = psi[0]
    elif i >= n - 1:
        value = psi[n - 1]
    else:
        value = psi[i] + (psi[i + 1] - psi[i]) * (t - times[i]) / (times[i + 1] - times[i])
    return mpp_demand_gain(c, value)


@compiled
def poisson(mean):
    """A Poisson number with the given mean (0 for a mean <= 0)."""
    if mean <= 0.0:
        return 0
    return np.random.poisson(mean)


@compiled
def burst_total(n, mean):
    """Cells made by ``n`` bursts of mean ``mean``, each ``floor(mean)`` or ``floor(mean) + 1``."""
    if n <= 0:
        return 0
    base = np.floor(mean)
    frac = mean - base
    extra = np.random.binomial(n, frac) if frac > 0.0 else 0
    return n * int(base) + extra


@compiled
def fire(x, j, burst_mean):
    """Apply reaction ``j`` once to the clone state ``x``."""
    if j == 0:
        x[0] += 1
    elif j == 1:
        x[0] -= 1
        x[1] += 2
    elif j == 2:
        x[1] -= 1
        x[2] += burst_total(1, burst_mean)
    elif j == 3:
        x[2] -= 1
        x[3] += burst_total(1, burst_mean)
    else:
        x[3] -= 1


@compiled
def pick(u, r0, r1, r2, r3, r4):
    """Index of the reaction that ``u`` (uniform on [0, sum of rates)) falls in."""
    if u < r0:
        return 0
    u -= r0
    if u < r1:
        return 1
    u -= r1
    if u < r2:
        return 2
    u -= r2
    if u < r3:
        return 3
    return 4


@compiled
def leap_bound(change_limit, mean_rate, variance_rate):
    """Largest tau with |mean change| and its s.d. below ``max(change_limit, 1)`` (CGP 2006)."""
    lim = max(change_limit, 1.0)
    tau = np.inf
    if mean_rate != 0.0:
        tau = lim / abs(mean_rate)
    if variance_rate > 0.0:
        tau = min(tau, lim * lim / variance_rate)
    return tau


@compiled
def fast_ssa(x, t, t_end, k, alpha, c, times, psi, max_steps):
    """Exact SSA of the fast reactions (MPP2 and MPP3 exits) of one clone; returns the time."""
    for _ in range(max_steps):
        r3, r4 = k * x[2], k * x[3]
        a0 = r3 + r4
        if a0 <= 0.0:
            return t_end
        t += np.random.exponential(1.0 / a0)
        if t >= t_end:
            return t_end
        j = 3 if np.random.random() * a0 < r3 else 4
        fire(x, j, alpha * driven_gain(c, times, psi, t))
    return t


@compiled
def fast_leap(x, t, t_end, k, alpha, c, times, psi, eps):
    """Move the fast reactions of one clone from ``t`` to ``t_end`` (no slow reaction between)."""
    while t < t_end:
        m2, m3 = x[2], x[3]
        r3, r4 = k * m2, k * m3
        a0 = r3 + r4
        if a0 <= 0.0:
            return
        b = alpha * driven_gain(c, times, psi, t)
        l3, l4 = m2 >= N_CRITICAL, m3 >= N_CRITICAL  # False: critical
        n3, n4 = r3 * l3, r4 * l4
        tau1 = np.inf
        if l3:
            tau1 = leap_bound(eps * m2, n3, n3)
        if l4:
            tau1 = min(tau1, leap_bound(eps * m3, b * n3 - n4, (b * b + 0.25) * n3 + n4))
        if tau1 < SSA_FALLBACK_FACTOR / a0:
            t = fast_ssa(x, t, t_end, k, alpha, c, times, psi, SSA_FALLBACK_STEPS)
            continue
        c3, c4 = r3 - n3, r4 - n4
        critical_rate = c3 + c4
        while True:
            tau = min(tau1, t_end - t)
            critical = False
            if critical_rate > 0.0:
                tau2 = np.random.exponential(1.0 / critical_rate)
                if tau2 < tau:
                    tau, critical = tau2, True
            bm = alpha * driven_gain(c, times, psi, t + 0.5 * tau)
            m2m = max(0.0, m2 - 0.5 * tau * n3)  # midpoint predictor of the non-critical part
            m3m = max(0.0, m3 + 0.5 * tau * (bm * n3 - n4))
            k3 = poisson(k * m2m * tau * l3)
            nm2 = m2 - k3
            nm3 = m3 + burst_total(k3, bm) - poisson(k * m3m * tau * l4)
            if nm2 >= 0 and nm3 >= 0:
                break
            tau1 *= 0.5  # a negative count: halve the leap and redraw (CGP 2006)
        x[2], x[3] = nm2, nm3
        t += tau
        if critical:
            j = 3 if np.random.random() * critical_rate < c3 else 4
            fire(x, j, alpha * driven_gain(c, times, psi, t))


@compiled
def clone_step(x, t, t_end, a, p, k, alpha, c, times, psi, eps):
    """Move one clone from ``t`` to ``t_end`` with frozen ``a`` and ``p``.

    Slow reactions (HSC fates, MPP1 exits) exactly, fast ones tau-leaped between them.
    """
    while True:
        h, m1 = x[0], x[1]
        r0, r1, r2 = a * p * h, (1.0 - a) * p * h, k * m1
        slow = r0 + r1 + r2
        t_slow = t + np.random.exponential(1.0 / slow) if slow > 0.0 else np.inf
        t_stop = min(t_slow, t_end)
        fast_leap(x, t, t_stop, k, alpha, c, times, psi, eps)
        if t_slow >= t_end:
            return
        t = t_slow
        j = pick(np.random.random() * slow, r0, r1, r2, 0.0, 0.0)
        fire(x, j, alpha * driven_gain(c, times, psi, t))


@compiled
def _pick_clone(counts, j, total):
    """A clone drawn with probability proportional to its cells in compartment ``j``."""
    target = np.random.randint(0, total)
    acc = 0
    for i in range(counts.shape[0]):
        acc += counts[i, j]
        if acc > target:
            return i
    return counts.shape[0] - 1


@compiled
def system_ssa(counts, klass, totals, t, t_end, c, cm, times, psi):
    """Exact Gillespie direct method for all clones together from ``t`` to ``t_end``.

    Occupancy, and so ``a`` and ``p``, are updated after every reaction. ``totals`` holds the
    cells of each tracked compartment summed over clones and is kept up to date.
    """
    k, alpha, weight = c[K.K_K_MPP], c[K.K_ALPHA_MPP], c[K.K_WEIGHT]
    while True:
        occupancy = niche_occupancy(c, totals[0] / weight)
        p = hsc_division_rate(c, occupancy)
        rh, r2, r3, r4 = p * totals[0], k * totals[1], k * totals[2], k * totals[3]
        a0 = rh + r2 + r3 + r4
        if a0 <= 0.0:
            return
        t += np.random.exponential(1.0 / a0)
        if t >= t_end:
            return
        u = np.random.random() * a0
        comp = 0 if u < rh else (1 if u < rh + r2 else (2 if u < rh + r2 + r3 else 3))
        i = _pick_clone(counts, comp, totals[comp])
        j = comp + 1
        if comp == 0:
            a = hsc_self_renewal(c, occupancy, cm[klass[i], K.CM_HSC_FITNESS])
            j = 0 if np.random.random() < a else 1
        before = counts[i, 0] + 0, counts[i, 1] + 0, counts[i, 2] + 0, counts[i, 3] + 0
        fire(counts[i], j, alpha * driven_gain(c, times, psi, t))
        totals[0] += counts[i, 0] - before[0]
        totals[1] += counts[i, 1] - before[1]
        totals[2] += counts[i, 2] - before[2]
        totals[3] += counts[i, 3] - before[3]
