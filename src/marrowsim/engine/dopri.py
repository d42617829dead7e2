"""Batched, compiled Dormand–Prince 5(4) integrator with per-patient adaptive steps.

Each patient of a batch is integrated independently (``numba.prange`` over patients) in stretches
between its scheduled events. At every integer day the morning counts are recorded, the day's rules
are evaluated on them (transfusions, growth factor "until" rules) and the day's scheduled events are
applied; events at fractional times (a second TBI fraction) split the day. The integrator does not
stop at the mornings: a morning inside a step is read from the step's continuous extension (dense
output of order 4), and only a rule that changes the state restarts the integration there. Steps
are at most one day long (:data:`MAX_STEP`). Step size control is the standard PI controller
(Hairer, Nørsett & Wanner, *Solving ODEs I*, §II.4) on a mixed error norm
``|err_i| / (atol * scale_i + rtol * max(|y_i|, |y_new_i|))`` with ``scale_i`` the physiological
size of state ``i`` (its healthy steady state), so that one ``atol`` means the same for HSCs and
red cells.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange, uint64

from marrowsim.engine import memory
from marrowsim.engine.events import N_RULE_STATE, apply_event, apply_rules
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled, compiled_parallel
from marrowsim.model.elementary import exp, log
from marrowsim.model.observables import N_OBSERVABLES, observe
from marrowsim.model.rhs import rhs

# Dormand–Prince 5(4) tableau
_C2, _C3, _C4, _C5 = 1 / 5, 3 / 10, 4 / 5, 8 / 9
_A21 = 1 / 5
_A31, _A32 = 3 / 40, 9 / 40
_A41, _A42, _A43 = 44 / 45, -56 / 15, 32 / 9
_A51, _A52, _A53, _A54 = 19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729
_A61, _A62, _A63, _A64, _A65 = 9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656
_B1, _B3, _B4, _B5, _B6 = 35 / 384, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84
_E1, _E3, _E4, _E5, _E6, _E7 = (
    71 / 57600,
    -71 / 16695,
    71 / 1920,
    -17253 / 339200,
    22 / 525,
    -1 / 40,
)
# its continuous extension of order 4 (Hairer, Nørsett & Wanner, Solving ODEs I, §II.6: DOPRI5)
_D1 = -12715105075 / 11282082432
_D3 = 87487479700 / 32700410799
_D4 = -10690763975 / 1880347072
_D5 = 701980252875 / 199316789632
_D6 = -1453857185 / 822651844
_D7 = 69997945 / 29380423

# the longest step (days): the record interval. Explicit steps at their stability limit (~1.3 d
# here, set by the fastest turnover: blood neutrophils) make an equilibrium oscillate at the
# tolerance level (1e-5 relative); steps of at most a day keep a steady state exact, for ~0.3 more
# steps per patient-day in calm stretches.
MAX_STEP = 1.0

STATUS_OK = 0
STATUS_STEP_TOO_SMALL = 1
STATUS_TOO_MANY_STEPS = 2
STATUS_NOT_FINITE = 3
STATUS_MESSAGES = {
    STATUS_OK: "ok",
    STATUS_STEP_TOO_SMALL: "step size underflow",
    STATUS_TOO_MANY_STEPS: "too many steps",
    STATUS_NOT_FINITE: "non-finite state",
}


# the most ranges of stepped states (:func:`_active_states`): one per clone class, one per range
# the transfused class holds, one for the auxiliary states
MAX_BLOCKS = L.N_CLASSES - 1 + len(L.TRANSFUSED_COMPARTMENT_RANGES) + 1


@compiled
def _copy(source, target):
    """``target[:] = source`` as a loop: numba's slice assignment may allocate a temporary."""
    for i in range(source.shape[0]):
        target[i] = source[i]


@compiled
def _add_range(blocks, nb, start, stop):
    """Append ``[start, stop)`` to the ranges, merged with the last one if adjacent."""
    if nb > 0 and blocks[nb - 1, 1] == start:
        blocks[nb - 1, 1] = stop
        return nb
    blocks[nb, 0] = start
    blocks[nb, 1] = stop
    return nb + 1


@compiled
def _active_states(active, blocks):
    """Write into ``blocks`` the contiguous index ranges ``[start, stop)`` of the states that are
    stepped: the states of active clone classes (of the transfused class only its red cells and
    platelets) and the auxiliary states, in increasing order, adjacent ranges merged; return how
    many. The other states are zero and have zero derivative (``rhs`` skips inactive classes), so
    the integrator leaves them out of every loop."""
    nb = 0
    for k in range(L.N_CLASSES):
        if not active[k]:
            continue
        start = k * L.N_COMPARTMENTS
        if k == L.TRANSFUSED:
            for first, stop in L.TRANSFUSED_COMPARTMENT_RANGES:
                nb = _add_range(blocks, nb, start + first, start + stop)
        else:
            nb = _add_range(blocks, nb, start, start + L.N_COMPARTMENTS)
    return _add_range(blocks, nb, L.N_CELL_STATES, L.N_STATES)


@compiled
def _prepare(t, y, c, cm, active, stages, blocks):
    """After the state changed outside the integrator (start, event, rule): check it, fill the
    stage buffers for the states the loops skip, list the ranges of active states, evaluate
    f(t, y) into ``stages[0]``. Returns the number of ranges, or -1 if the state is not finite."""
    k1, ytmp, ynew = stages[0], stages[7], stages[8]
    for i in range(y.shape[0]):
        if not np.isfinite(y[i]):
            return -1
        ytmp[i] = y[i]  # states left out of the stage loops keep their value
        ynew[i] = y[i]
    rhs(t, y, c, cm, active, k1)
    return _active_states(active, blocks)


@compiled
def n_stepped(blocks, nb):
    """How many states the ranges ``blocks[:nb]`` hold (the error norm's RMS is over them)."""
    n = 0
    for b in range(nb):
        n += blocks[b, 1] - blocks[b, 0]
    return n


@compiled
def _attempt_step(t, h, y, c, cm, active, rtol, atol, scale, stages, blocks, nb):
    """One Dormand–Prince step of size ``h`` from ``(t, y)``: fills ``k2 .. k7`` and ``ynew`` and
    returns the error norm (accept if <= 1). Only the ranges of :func:`_active_states` are stepped;
    the indices are unsigned, so that numba adds no negative-index wraparound to each access and
    the compiler vectorises the loops (6x faster than signed indices, same arithmetic). The error
    norm is the RMS over the states stepped, summed in increasing state order: the others are
    structurally zero and would loosen the tolerance by the square root of their share if they
    were counted (SciPy counts every component it is given)."""
    k1, k2, k3, k4, k5, k6, k7, ytmp, ynew = stages
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            ytmp[i] = y[i] + h * _A21 * k1[i]
    rhs(t + _C2 * h, ytmp, c, cm, active, k2)
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            ytmp[i] = y[i] + h * (_A31 * k1[i] + _A32 * k2[i])
    rhs(t + _C3 * h, ytmp, c, cm, active, k3)
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            ytmp[i] = y[i] + h * (_A41 * k1[i] + _A42 * k2[i] + _A43 * k3[i])
    rhs(t + _C4 * h, ytmp, c, cm, active, k4)
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            ytmp[i] = y[i] + h * (_A51 * k1[i] + _A52 * k2[i] + _A53 * k3[i] + _A54 * k4[i])
    rhs(t + _C5 * h, ytmp, c, cm, active, k5)
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            ytmp[i] = y[i] + h * (
                _A61 * k1[i] + _A62 * k2[i] + _A63 * k3[i] + _A64 * k4[i] + _A65 * k5[i]
            )
    rhs(t + h, ytmp, c, cm, active, k6)
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            ynew[i] = y[i] + h * (
                _B1 * k1[i] + _B3 * k3[i] + _B4 * k4[i] + _B5 * k5[i] + _B6 * k6[i]
            )
    rhs(t + h, ynew, c, cm, active, k7)
    err = 0.0
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            e = h * (
                _E1 * k1[i] + _E3 * k3[i] + _E4 * k4[i] + _E5 * k5[i] + _E6 * k6[i] + _E7 * k7[i]
            )
            yi = abs(y[i])
            yn = abs(ynew[i])
            sc = atol * scale[i] + rtol * (yi if yi > yn else yn)
            r = e / sc
            err += r * r
    return np.sqrt(err / n_stepped(blocks, nb))


@compiled
def _accept_step(y, stages, blocks, nb):
    """Move to the end of an accepted step: ``y = ynew`` and ``k1 = k7`` (first same as last)."""
    k1, k7, ynew = stages[0], stages[6], stages[8]
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            y[i] = ynew[i]
            k1[i] = k7[i]


@compiled
def shrink_factor(log_err):
    """A rejected step's factor before its limit, ``0.9 err^(-1/5)``, from ``log(err)``."""
    return 0.9 * exp(-0.2 * log_err)


@compiled
def pi_factor(log_err, log_err_prev):
    """An accepted step's factor before its limits, the PI controller's
    ``0.9 err^-0.17 err_prev^0.04``, from the logarithms of the two errors."""
    return 0.9 * exp(-0.17 * log_err + 0.04 * log_err_prev)


@compiled
def limited_step_size(h, err, err_prev, shrink, pi):
    """Step size after an attempt of size ``h`` with error norm ``err``, and the error to
    remember, given the attempt's :func:`shrink_factor` (used if rejected) and
    :func:`pi_factor` (if accepted). Accepted (``err <= 1``): PI controller (alpha = 0.17,
    beta = 0.04), safety 0.9, growth within [0.2, 5]. Rejected: shrink by ``0.9 err^(-1/5)``, at
    most 5-fold."""
    if err > 1.0:
        return h * max(0.2, shrink), err_prev
    fac = pi if err > 0 else 5.0
    fac = min(5.0, max(0.2, fac))
    return h * fac, max(err, 1e-4)


@compiled
def _next_step_size(h, err, err_prev):
    """:func:`limited_step_size` with the factor it needs. The powers are ``exp`` and ``log`` of
    model/elementary.py, not libm's ``pow``: the lane engine computes them for its 16 lanes in
    vectorised loops (``lane_dopri._step_factors``), the same numbers."""
    log_err = log(err)
    if err > 1.0:
        return limited_step_size(h, err, err_prev, shrink_factor(log_err), 0.0)
    return limited_step_size(h, err, err_prev, 0.0, pi_factor(log_err, log(err_prev)))


@compiled
def interpolate(theta, h, y, y_new, k1, k3, k4, k5, k6, k7):
    """One state at ``t + theta h`` inside a step of size ``h`` from ``y`` to ``y_new`` with stage
    derivatives ``k1 .. k7``: Dormand–Prince's continuous extension of order 4 (Hairer, Nørsett &
    Wanner, *Solving ODEs I*, §II.6; the ``CONTD5`` of their DOPRI5 code), no new evaluation.
    Both engines call it, so their mornings are the same numbers."""
    theta1 = 1.0 - theta
    ydiff = y_new - y
    bspl = h * k1 - ydiff
    r4 = ydiff - h * k7 - bspl
    r5 = h * (_D1 * k1 + _D3 * k3 + _D4 * k4 + _D5 * k5 + _D6 * k6 + _D7 * k7)
    return y + theta * (ydiff + theta1 * (bspl + theta * (r4 + theta1 * r5)))


@compiled
def _dense_output(theta, h, y, stages, blocks, nb, out):
    """The state at ``t + theta h`` inside an attempted step from ``(t, y)``, into ``out``
    (:func:`interpolate` for each stepped state)."""
    k1, _, k3, k4, k5, k6, k7, _, ynew = stages
    for i in range(y.shape[0]):
        out[i] = y[i]  # states outside the active ranges are constant
    for b in range(nb):
        for i in range(uint64(blocks[b, 0]), uint64(blocks[b, 1])):
            out[i] = interpolate(theta, h, y[i], ynew[i], k1[i], k3[i], k4[i], k5[i], k6[i], k7[i])


@compiled
def _integrate_segment(
    t0, t1, y, h, c, cm, active, rtol, atol, scale, stages, blocks, nb, max_steps
):
    """Integrate one patient from t0 to t1 in place; returns (status, last step size, steps).

    ``stages`` = (k1 .. k7, ytmp, ynew), views made once per patient. On entry ``k1`` holds
    f(t0, y) and ``blocks[:nb]`` the ranges of active states (see :func:`_prepare`); on exit
    ``k1`` holds f(t1, y) (first-same-as-last across segments). The last step is shortened to end
    at t1.
    """
    t = t0
    steps = 0
    err_prev = 1e-4
    while t < t1 - 1e-12:
        if steps >= max_steps:
            return STATUS_TOO_MANY_STEPS, h, steps
        if h > t1 - t:
            h = t1 - t
        err = _attempt_step(t, h, y, c, cm, active, rtol, atol, scale, stages, blocks, nb)
        if not np.isfinite(err):
            return STATUS_NOT_FINITE, h, steps
        steps += 1
        if err <= 1.0:
            t += h
            _accept_step(y, stages, blocks, nb)
        h, err_prev = _next_step_size(h, err, err_prev)
        if h < 1e-10:
            return STATUS_STEP_TOO_SMALL, h, steps
    return STATUS_OK, h, steps


@compiled
def _integrate_stretch(t0, t1, y, h, c, cm, active, rtol, atol, scale, stages, blocks, nb,
                       max_steps_per_day, mornings, y_morning):  # fmt: skip
    """Integrate one patient from t0 towards t1 (the next event, or the end) without stopping at
    the mornings in between: each morning inside a step is recorded from the step's dense output
    and the day's rules are evaluated on it. A rule that changes the state ends the stretch at
    that morning, with ``y`` set to the morning's state after the rule (the caller restarts
    there). ``mornings`` = (first day, next morning's index, last index, observables, rule table,
    number of rules, rule state) of the patient. At most ``max_steps_per_day`` step attempts
    between two mornings.

    Returns (status, step size to go on with, steps, time reached, next morning's index).
    """
    day0, d, n_days, obs, rules, n_rules, rule_state = mornings
    t = t0
    steps = 0
    steps_today = 0
    err_prev = 1e-4
    while t < t1:
        if steps_today >= max_steps_per_day:
            return STATUS_TOO_MANY_STEPS, h, steps, t, d
        if h > MAX_STEP:
            h = MAX_STEP
        last = t + h > t1 - 1e-9  # leave no sliver before t1 (t drifts over a long stretch)
        if last:
            h = t1 - t
        err = _attempt_step(t, h, y, c, cm, active, rtol, atol, scale, stages, blocks, nb)
        if not np.isfinite(err):
            return STATUS_NOT_FINITE, h, steps, t, d
        steps += 1
        steps_today += 1
        h_next, err_prev = _next_step_size(h, err, err_prev)
        if err <= 1.0:
            t_new = t1 if last else t + h
            # the mornings inside this step (a morning at t1 is the caller's: events may follow)
            while d <= n_days and day0 + d < t1 - 1e-9 and day0 + d <= t_new + 1e-9:
                morning = float(day0 + d)
                if abs(morning - t_new) <= 1e-9:  # the step ends on it
                    _copy(stages[8], y_morning)
                else:
                    _dense_output((morning - t) / h, h, y, stages, blocks, nb, y_morning)
                observe(y_morning, c, cm, active, obs[d])
                fired = apply_rules(day0 + d, obs[d], rules, n_rules, rule_state, y_morning, active)
                d += 1
                steps_today = 0
                if fired:
                    _copy(y_morning, y)
                    return STATUS_OK, h_next, steps, morning, d
            t = t_new
            _accept_step(y, stages, blocks, nb)
        h = h_next
        if h < 1e-10:
            return STATUS_STEP_TOO_SMALL, h, steps, t, d
    return STATUS_OK, h, steps, t1, d


@compiled_parallel
def solve_batch(
    y0,
    consts,
    class_mods,
    active0,
    scale,
    t_start,
    n_days,
    events,
    n_events,
    rules,
    n_rules,
    rtol,
    atol,
    max_steps_per_day,
    obs_out,
    final_state,
    rule_state,
    status,
    n_steps,
):
    """Integrate every patient of a batch; fills ``obs_out[p, day, :]`` with morning observables.

    ``t_start`` is the first (integer) day; ``obs_out`` has ``n_days + 1`` rows per patient. Each
    patient is integrated in stretches between its scheduled events; the mornings inside a stretch
    come from the dense output (:func:`_integrate_stretch`), so that the step size is set by
    accuracy and stability, not by the daily record. A morning rule that changes the state (a
    transfusion, a filgrastim dose) restarts the integration at that morning.
    """
    n_patients, n_states = y0.shape
    t_end = float(t_start + n_days)
    for p in prange(n_patients):
        y = y0[p].copy()
        active = active0[p].copy()
        work = np.empty((10, n_states))
        stages = (work[0], work[1], work[2], work[3], work[4], work[5], work[6], work[7], work[8])
        y_morning = work[9]
        blocks = np.empty((MAX_BLOCKS, 2), dtype=np.int64)
        nb = 0
        c = consts[p]
        cm = class_mods[p]
        scale_p, obs_p, rules_p, rule_state_p = scale[p], obs_out[p], rules[p], rule_state[p]
        h = 0.05
        e = 0
        ne = n_events[p]
        d = 0  # index of the next morning to record
        t = float(t_start)
        while e < ne and events[p, e, 0] < t - 1e-9:  # events before the start are dropped
            e += 1
        total_steps = 0
        st = STATUS_OK
        k1_valid = False  # whether work[0] holds f(t, y) for the current state
        while True:
            if d <= n_days and abs(t - (t_start + d)) < 1e-9:  # a morning: counts, then rules
                observe(y, c, cm, active, obs_p[d])
                if apply_rules(t_start + d, obs_p[d], rules_p, n_rules[p], rule_state_p, y, active):
                    k1_valid = False
                d += 1
            if t >= t_end - 1e-9:
                break
            while e < ne and abs(events[p, e, 0] - t) < 1e-9:
                apply_event(events[p, e], y, c, cm, active)
                e += 1
                k1_valid = False
            t_next = t_end
            if e < ne and events[p, e, 0] < t_next - 1e-9:
                t_next = events[p, e, 0]
            if not k1_valid:
                nb = _prepare(t, y, c, cm, active, stages, blocks)
                if nb < 0:
                    st = STATUS_NOT_FINITE
                    break
            mornings = (t_start, d, n_days, obs_p, rules_p, n_rules[p], rule_state_p)
            st, h, steps, t_reached, d = _integrate_stretch(
                t, t_next, y, h, c, cm, active, rtol, atol, scale_p, stages, blocks, nb,
                max_steps_per_day, mornings, y_morning,
            )  # fmt: skip
            total_steps += steps
            if st != STATUS_OK:
                break
            k1_valid = t_reached == t_next  # else a rule changed the state at a morning
            t = t_reached
        if st != STATUS_OK:
            for dd in range(d, n_days + 1):
                for q in range(N_OBSERVABLES):
                    obs_p[dd, q] = np.nan
        status[p] = st
        n_steps[p] = total_steps
        for i in range(n_states):
            final_state[p, i] = y[i]


OUTPUTS = ("obs_out", "final_state", "rule_state", "status", "n_steps")  # the kernels' order


def allocate_outputs(n_patients: int, n_states: int, n_days: int) -> dict[str, np.ndarray]:
    """Output buffers for :func:`solve_batch` (keys: :data:`OUTPUTS`)."""
    shape = (n_patients, n_days + 1, N_OBSERVABLES)  # GBs for 10^4 patients
    return {
        # mapped by a background thread in the order the kernels' threads write their patients
        # (memory.wait_mapped joins it)
        "obs_out": memory.zeros(shape, shares=numba.get_num_threads()),
        "final_state": np.zeros((n_patients, n_states)),
        "rule_state": np.zeros((n_patients, N_RULE_STATE)),
        "status": np.zeros(n_patients, dtype=np.int64),
        "n_steps": np.zeros(n_patients, dtype=np.int64),
    }
