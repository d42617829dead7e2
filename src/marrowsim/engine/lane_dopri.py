"""The Dormand–Prince engine of ``engine/dopri.py`` for :data:`LANES` patients at a time.

Each lane is one patient with its own time, step size, error control, mornings, rules and events:
exactly the decisions :func:`marrowsim.engine.dopri.solve_batch` makes for that patient, in the
same arithmetic, so the results are bit for bit the same (``tests/test_engine_lanes.py``). What
changes is the loop order: the seven stage evaluations and the stage, error, dense-output and
accept loops run for all lanes together, the right-hand side and a morning's observables through
the generated lane functions (:mod:`marrowsim.engine.lane_rhs`) whose loops LLVM vectorises
across patients. The bookkeeping of one patient (a morning's rules, an event, the start of a
stretch) is scalar code on that lane's column, through the same compiled functions as the scalar
engine. A lane whose patient is finished takes the next patient of its group's share, so lanes do
not idle while the slowest patient of a group finishes.

Layout: quantity ``i`` of lane ``l`` is element ``i * LANES + l``. The state arrays hold the
patient's constants, class modifiers and the hoisted operations on them (``lane_derive``'s,
computed when a patient is loaded) after the states: the lane right-hand side's input.
"""

from __future__ import annotations

import numpy as np
from numba import prange, types, uint64

from marrowsim.engine.dopri import (
    _A21,
    _A31,
    _A32,
    _A41,
    _A42,
    _A43,
    _A51,
    _A52,
    _A53,
    _A54,
    _A61,
    _A62,
    _A63,
    _A64,
    _A65,
    _B1,
    _B3,
    _B4,
    _B5,
    _B6,
    _E1,
    _E3,
    _E4,
    _E5,
    _E6,
    _E7,
    MAX_BLOCKS,
    MAX_STEP,
    STATUS_NOT_FINITE,
    STATUS_OK,
    STATUS_STEP_TOO_SMALL,
    STATUS_TOO_MANY_STEPS,
    _active_states,
    _copy,
    interpolate,
    limited_step_size,
    n_stepped,
    pi_factor,
    shrink_factor,
)
from marrowsim.engine.events import apply_event, apply_rules
from marrowsim.engine.lane_rhs import (
    CONSTANT_ROW,
    FUNCTION_TYPE,
    LANES,
    MODIFIER_ROW,
    N_INPUT_ROWS,
)
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled, compiled_allocating, compiled_as
from marrowsim.model.elementary import log
from marrowsim.model.observables import N_OBSERVABLES, observe
from marrowsim.model.rhs import rhs

# what a lane does next
_IDLE = 0  # no patient left for it
_START = 1  # at the start of a stretch: morning, events, f(t, y)
_STEP = 2  # inside a stretch: attempt a step
# the outcome of an attempt
_FAILED, _REJECTED, _ACCEPTED = 0, 1, 2


@compiled
def _gather(x, lane, out):
    """The states of ``lane`` into the vector ``out``."""
    w = uint64(LANES)
    for i in range(uint64(L.N_STATES)):
        out[i] = x[i * w + uint64(lane)]


@compiled
def _scatter(vector, x, lane):
    """The state vector into ``lane``."""
    w = uint64(LANES)
    for i in range(uint64(L.N_STATES)):
        x[i * w + uint64(lane)] = vector[i]


@compiled
def _load_patient(p, lane, y0, consts, class_mods, scale, inputs, scale_lanes):
    """Patient ``p``'s initial state, constants and modifiers into ``lane`` of the input arrays
    (state, stage, new state, morning) and its state scales into ``scale_lanes``."""
    w = uint64(LANES)
    lu = uint64(lane)
    for a in range(inputs.shape[0]):
        x = inputs[a]
        for i in range(uint64(L.N_STATES)):
            x[i * w + lu] = y0[p, i]
        for i in range(uint64(K.N_CONSTANTS)):
            x[(uint64(CONSTANT_ROW) + i) * w + lu] = consts[p, i]
        n_mod = uint64(K.N_CLASS_MODIFIERS)
        for k in range(uint64(L.N_CLASSES)):
            for m in range(n_mod):
                x[(uint64(MODIFIER_ROW) + k * n_mod + m) * w + lu] = class_mods[p, k, m]
    for i in range(uint64(L.N_STATES)):
        scale_lanes[i * w + lu] = scale[p, i]


@compiled
def _derive(lane_derive, inputs, work):
    """The hoisted rows (operations on constants alone, ``lane_rhs.LaneRhs.prepare``) of every
    lane, into the four input arrays: after a patient is loaded into a lane."""
    x = inputs[0]
    start = uint64(N_INPUT_ROWS * LANES)
    lane_derive(x, work, x[start:])
    for a in range(1, inputs.shape[0]):
        for j in range(start, uint64(x.shape[0])):
            inputs[a, j] = x[j]


@compiled
def _dense_output_lane(theta, h, lane, x, stages, x_new, stepped, out):
    """``dopri._dense_output`` for one lane: the state at ``t + theta h`` of the attempted step."""
    w = uint64(LANES)
    lu = uint64(lane)
    _gather(x, lane, out)
    k1, k3, k4, k5, k6, k7 = stages[0], stages[2], stages[3], stages[4], stages[5], stages[6]
    for q in range(stepped.shape[0]):
        i = stepped[q]
        j = i * w + lu
        out[i] = interpolate(theta, h, x[j], x_new[j], k1[j], k3[j], k4[j], k5[j], k6[j], k7[j])


@compiled
def _broadcast(values, out):
    """Each lane's value at every position of a run: ``out[r * LANES + l] = values[l]``."""
    nl = uint64(values.shape[0])
    for r in range(uint64(out.shape[0]) // nl):
        b = r * nl
        for lane in range(nl):
            out[b + lane] = values[lane]


@compiled
def _attempt(lane_rhs, x, x_tmp, x_new, stages, work, hb, runs):
    """One Dormand–Prince step for every lane, of size ``hh[l]`` (0 for a lane not stepping):
    ``dopri._attempt_step``'s loops over the stepped states. Fills ``k2 .. k7`` and ``x_new``.

    Each loop runs over a run of consecutive stepped states (``runs[r]``: its first and end
    element in the lane layout) as one flat loop, the step sizes broadcast along it (``hb`` =
    :func:`_broadcast` of ``hh``). A loop over the lanes of one state at a time spent more on its
    set-up (LLVM's run-time check that the arrays do not overlap, per state) than on its four
    vector iterations; the runs are a few (4 for an allogeneic transplant's 72 states)."""
    k1, k2, k3, k4, k5, k6, k7 = stages
    n = runs.shape[0]
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for j in range(lo, hi):
            x_tmp[j] = x[j] + hb[j - lo] * _A21 * k1[j]
    lane_rhs(x_tmp, work, k2)
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for j in range(lo, hi):
            x_tmp[j] = x[j] + hb[j - lo] * (_A31 * k1[j] + _A32 * k2[j])
    lane_rhs(x_tmp, work, k3)
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for j in range(lo, hi):
            x_tmp[j] = x[j] + hb[j - lo] * (_A41 * k1[j] + _A42 * k2[j] + _A43 * k3[j])
    lane_rhs(x_tmp, work, k4)
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for j in range(lo, hi):
            x_tmp[j] = x[j] + hb[j - lo] * (
                _A51 * k1[j] + _A52 * k2[j] + _A53 * k3[j] + _A54 * k4[j]
            )
    lane_rhs(x_tmp, work, k5)
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for j in range(lo, hi):
            x_tmp[j] = x[j] + hb[j - lo] * (
                _A61 * k1[j] + _A62 * k2[j] + _A63 * k3[j] + _A64 * k4[j] + _A65 * k5[j]
            )
    lane_rhs(x_tmp, work, k6)
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for j in range(lo, hi):
            x_new[j] = x[j] + hb[j - lo] * (
                _B1 * k1[j] + _B3 * k3[j] + _B4 * k4[j] + _B5 * k5[j] + _B6 * k6[j]
            )
    lane_rhs(x_new, work, k7)


@compiled
def _error_norms(x, x_new, stages, hb, tb, eb, scale_lanes, runs, counts, rtol, atol, squares,
                 err, dense):  # fmt: skip
    """``dopri._attempt_step``'s error norm for every lane: the RMS over the lane's own stepped
    states, ``counts[l]`` of them (the others of the group's set add exact zeros), summed in
    increasing state order. The same pass writes each lane's state at its next morning inside the
    step into ``dense``: ``dopri._dense_output`` at ``theta[l]``, or the new state where the step
    ends on the morning (``exact[l]``); it reads the same arrays, and a step is mostly accepted.
    For a lane without a morning in the step (``theta[l] < 0``) that value is not used.
    ``hb``, ``tb``, ``eb``: ``hh``, ``theta`` and ``exact`` broadcast along a run (see
    :func:`_attempt`); ``squares``: each state's squared scaled error, summed per lane after."""
    k1, k3, k4, k5, k6, k7 = stages[0], stages[2], stages[3], stages[4], stages[5], stages[6]
    w = uint64(LANES)
    n = runs.shape[0]
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for j in range(lo, hi):
            o = j - lo
            e = hb[o] * (
                _E1 * k1[j] + _E3 * k3[j] + _E4 * k4[j] + _E5 * k5[j] + _E6 * k6[j] + _E7 * k7[j]
            )
            yi = abs(x[j])
            yn = abs(x_new[j])
            sc = atol * scale_lanes[j] + rtol * (yi if yi > yn else yn)
            q = e / sc
            squares[j] = q * q
            interpolated = interpolate(
                tb[o], hb[o], x[j], x_new[j], k1[j], k3[j], k4[j], k5[j], k6[j], k7[j]
            )
            dense[j] = x_new[j] if eb[o] else interpolated
    nl = uint64(err.shape[0])  # = LANES, not a constant (see lane_rhs)
    for lane in range(w):
        err[lane] = 0.0
    for r in range(n):
        lo, hi = runs[r, 0], runs[r, 1]
        for i in range((hi - lo) // w):
            b = lo + i * w
            for lane in range(nl):
                err[lane] += squares[b + lane]
    for lane in range(w):
        err[lane] = np.sqrt(err[lane] / counts[lane])


@compiled
def _accept(x, x_new, stages, accepted, stepped):
    """``dopri._accept_step`` for the lanes whose step was accepted: state = new state, k1 = k7."""
    k1, k7 = stages[0], stages[6]
    w = uint64(LANES)
    for q in range(stepped.shape[0]):
        b = stepped[q] * w
        for lane in range(w):  # a select rather than a branch
            j = b + lane
            x[j] = x_new[j] if accepted[lane] else x[j]
            k1[j] = k7[j] if accepted[lane] else k1[j]


@compiled
def _start_stretch(lane, p, x, stages, f_lane, i_lane, active, vectors, row, blocks,
                   consts, class_mods, t_start, n_days, events, n_events, rules, n_rules,
                   obs_out, rule_state):  # fmt: skip
    """``dopri.solve_batch``'s loop body up to the stretch for the lane's patient: the morning at
    ``t`` (observables, rules), the events at ``t``, the end of the stretch and f(t, y).
    Returns the lane's next phase; a finished patient's status is in ``i_lane[lane, 3]``.

    Only ``x`` gets the lane's new state: the stage, new-state and morning arrays hold the states
    outside the stepped ranges as loaded (no event or rule changes them: their classes are empty
    in every patient of the group), and the stage loops write the stepped ones before they are
    read."""
    y, k = vectors[0], vectors[1]
    c, cm = consts[p], class_mods[p]
    t = f_lane[lane, 0]
    d = i_lane[lane, 0]
    e = i_lane[lane, 1]
    k1_valid = i_lane[lane, 4] != 0
    _gather(x, lane, y)
    changed = False
    if d <= n_days and abs(t - (t_start + d)) < 1e-9:
        observe(y, c, cm, active, obs_out[p, d])
        if apply_rules(t_start + d, obs_out[p, d], rules[p], n_rules[p], rule_state[p], y, active):
            k1_valid = False
            changed = True
        d += 1
    i_lane[lane, 0] = d
    if t >= t_start + n_days - 1e-9:
        if changed:
            _scatter(y, x, lane)
        i_lane[lane, 3] = STATUS_OK
        return _IDLE
    while e < n_events[p] and abs(events[p, e, 0] - t) < 1e-9:
        apply_event(events[p, e], y, c, cm, active)
        e += 1
        k1_valid = False
        changed = True
    i_lane[lane, 1] = e
    t_next = float(t_start + n_days)
    if e < n_events[p] and events[p, e, 0] < t_next - 1e-9:
        t_next = events[p, e, 0]
    f_lane[lane, 3] = t_next
    if not k1_valid:
        for i in range(y.shape[0]):
            if not np.isfinite(y[i]):
                if changed:
                    _scatter(y, x, lane)
                i_lane[lane, 3] = STATUS_NOT_FINITE
                return _IDLE
        rhs(t, y, c, cm, active, k)
        _scatter(k, stages[0], lane)
        i_lane[lane, 5] = n_stepped(blocks, _active_states(active, blocks))
    if changed:
        _scatter(y, x, lane)
    _copy(y, row)  # the states the stretch does not step stay these in every row
    i_lane[lane, 4] = 1
    i_lane[lane, 2] = 0  # attempts since the last morning
    f_lane[lane, 2] = 1e-4  # the controller's previous error (reset per stretch, as dopri)
    return _STEP


@compiled
def _step_factors(err, f_lane, factors):
    """The step size controller's factors of every lane (``dopri._next_step_size``'s), in loops
    over the lanes that LLVM vectorises: ``factors[0]`` the rejected step's
    (``dopri.shrink_factor``), ``factors[1]`` the accepted step's (``dopri.pi_factor``);
    ``factors[2]``, ``factors[3]``: the logarithms of the error and of the previous error. Each
    ``log`` and ``exp`` in a loop of its own (see ``lane_rhs._blocks``). A lane not stepping gets
    numbers that are not used."""
    log_err, log_prev = factors[2], factors[3]
    n = err.shape[0]  # = LANES, not a constant (see lane_rhs)
    for lane in range(n):  # the previous errors, contiguous for the loop of their log
        log_prev[lane] = f_lane[lane, 2]
    for lane in range(n):
        log_prev[lane] = log(log_prev[lane])
    for lane in range(n):
        log_err[lane] = log(err[lane])
    for lane in range(n):
        factors[0, lane] = shrink_factor(log_err[lane])
    for lane in range(n):
        factors[1, lane] = pi_factor(log_err[lane], log_prev[lane])


@compiled
def _control(lane, err, f_lane, i_lane, factors):
    """``dopri._integrate_stretch``'s step size control after an attempt, for one lane, up to
    the mornings, with the lane's factors (:func:`_step_factors`): returns the lane's outcome
    (:data:`_FAILED`, :data:`_REJECTED`, :data:`_ACCEPTED`)."""
    if not np.isfinite(err):
        i_lane[lane, 3] = STATUS_NOT_FINITE
        return _FAILED
    i_lane[lane, 6] += 1
    i_lane[lane, 2] += 1
    h = f_lane[lane, 4]  # the attempted step
    h_next, f_lane[lane, 2] = limited_step_size(
        h, err, f_lane[lane, 2], factors[0, lane], factors[1, lane]
    )
    f_lane[lane, 1] = h_next
    if err > 1.0:
        return _REJECTED
    return _ACCEPTED


@compiled
def _morning_rows(stepped, theta, dense, rows):
    """The state at each lane's morning inside its accepted step (``theta[l] >= 0``), computed by
    :func:`_error_norms` in the lane layout (``dense``), into ``rows[l]``. Only the stepped states
    are written: :func:`_start_stretch` left the others, constant during a stretch, there.
    Returns the number of lanes with a morning."""
    w = uint64(LANES)
    mornings = 0
    for lane in range(w):
        if theta[lane] >= 0.0:
            mornings += 1
            row = rows[lane]
            for q in range(stepped.shape[0]):
                row[stepped[q]] = dense[stepped[q] * w + lane]
    return mornings


@compiled
def _mornings(lane, p, x, x_new, stages, stepped, f_lane, i_lane, active, row, vector,
              consts, class_mods, t_start, n_days, rules, n_rules, obs_out, rule_state,
              accepted, obs_lanes):  # fmt: skip
    """``dopri._integrate_stretch``'s mornings inside an accepted step, for one lane: the first
    from ``row`` (:func:`_morning_rows`) and ``obs_lanes`` (the generated ``lane_observe`` of the
    lanes' morning states), any further one from the lane's dense output and ``observe``. A rule
    that changes the state ends the stretch there. Returns True if one did (the lane restarts)."""
    t = f_lane[lane, 0]
    h = f_lane[lane, 4]
    t_next = f_lane[lane, 3]
    t_new = f_lane[lane, 6]
    d = i_lane[lane, 0]
    c, cm = consts[p], class_mods[p]
    w = uint64(LANES)
    y = row
    first = True
    while d <= n_days and t_start + d < t_next - 1e-9 and t_start + d <= t_new + 1e-9:
        morning = float(t_start + d)
        obs = obs_out[p, d]
        if first:
            for q in range(uint64(N_OBSERVABLES)):
                obs[q] = obs_lanes[q * w + uint64(lane)]
            first = False
        else:  # a second morning in one step (a step ending exactly on a morning)
            y = vector
            if abs(morning - t_new) <= 1e-9:
                _gather(x, lane, y)
                for q in range(stepped.shape[0]):
                    y[stepped[q]] = x_new[stepped[q] * w + uint64(lane)]
            else:
                _dense_output_lane((morning - t) / h, h, lane, x, stages, x_new, stepped, y)
            observe(y, c, cm, active, obs)
        fired = apply_rules(t_start + d, obs, rules[p], n_rules[p], rule_state[p], y, active)
        d += 1
        i_lane[lane, 2] = 0
        if fired:
            i_lane[lane, 0] = d
            _scatter(y, x, lane)
            f_lane[lane, 0] = morning
            i_lane[lane, 4] = 0  # f(t, y) is stale
            return True
    i_lane[lane, 0] = d
    f_lane[lane, 0] = t_new
    accepted[lane] = True
    return False


@compiled
def _next_phase(lane, f_lane, i_lane):
    """After an attempt that did not end in a rule: underflow, the end of the stretch, or on."""
    if f_lane[lane, 1] < 1e-10:
        i_lane[lane, 3] = STATUS_STEP_TOO_SMALL
        return _IDLE
    if not f_lane[lane, 0] < f_lane[lane, 3]:
        return _START  # the stretch ended at the next event (or the end); f(t, y) is k7
    return _STEP


@compiled
def _prepare_attempt(lane, f_lane, i_lane, max_steps_per_day, t_start, n_days, hh, theta, exact):
    """The step size of the lane's next attempt (``dopri._integrate_stretch``'s loop head), and
    where its next morning lies in the step if accepted: ``theta[lane]`` (-1: none) and
    ``exact[lane]`` (the step ends on it). Returns False if the day's attempts are used up."""
    if i_lane[lane, 2] >= max_steps_per_day:
        i_lane[lane, 3] = STATUS_TOO_MANY_STEPS
        return False
    t = f_lane[lane, 0]
    h = f_lane[lane, 1]
    if h > MAX_STEP:
        h = MAX_STEP
    t_next = f_lane[lane, 3]
    last = t + h > t_next - 1e-9
    if last:
        h = t_next - t
    f_lane[lane, 4] = h
    f_lane[lane, 5] = 1.0 if last else 0.0
    hh[lane] = h
    t_new = t_next if last else t + h  # the time an accepted step reaches
    f_lane[lane, 6] = t_new
    theta[lane] = -1.0
    d = i_lane[lane, 0]
    if d <= n_days and t_start + d < t_next - 1e-9 and t_start + d <= t_new + 1e-9:
        morning = float(t_start + d)
        theta[lane] = (morning - t) / h
        exact[lane] = abs(morning - t_new) <= 1e-9
    return True


@compiled
def _finish(lane, p, x, i_lane, n_days, obs_out, final_state, status, n_steps):
    """Write a finished lane's patient: status, steps, final state, NaN for unrecorded days."""
    st = i_lane[lane, 3]
    if st != STATUS_OK:
        for dd in range(i_lane[lane, 0], n_days + 1):
            for q in range(N_OBSERVABLES):
                obs_out[p, dd, q] = np.nan
    status[p] = st
    n_steps[p] = i_lane[lane, 6]
    w = uint64(LANES)
    for i in range(uint64(L.N_STATES)):
        final_state[p, i] = x[i * w + uint64(lane)]


@compiled_allocating
def _runs(stepped):
    """The runs of consecutive states in ``stepped`` (increasing), as their first and end element
    in the lane layout: ``(n_runs, 2)``, uint64."""
    n = 1
    for q in range(1, stepped.shape[0]):
        if stepped[q] != stepped[q - 1] + 1:
            n += 1
    runs = np.empty((n, 2), dtype=np.uint64)
    w = uint64(LANES)
    r = 0
    runs[0, 0] = stepped[0] * w
    for q in range(1, stepped.shape[0]):
        if stepped[q] != stepped[q - 1] + 1:
            runs[r, 1] = (stepped[q - 1] + 1) * w
            r += 1
            runs[r, 0] = stepped[q] * w
    runs[r, 1] = (stepped[stepped.shape[0] - 1] + 1) * w
    return runs


@compiled_allocating
def _solve_group(lane_rhs, n_work, lane_observe, n_work_observe, lane_derive, n_hoisted, patients,
                 stepped, y0, consts, class_mods, active0, scale, t_start, n_days, events,
                 n_events, rules, n_rules, rtol, atol, max_steps_per_day, obs_out, final_state,
                 rule_state, status, n_steps):  # fmt: skip
    """Integrate ``patients`` (indices into the batch) through ``LANES`` lanes: the group's
    buffers, then :func:`_integrate_group` in them."""
    size = (N_INPUT_ROWS + n_hoisted) * LANES
    # state, stage state, new state, the state at the morning in the step (+ constants,
    # modifiers and hoisted values)
    inputs = np.zeros((4, size))
    stage_buffer = np.zeros((7, L.N_STATES * LANES))
    stages = (
        stage_buffer[0],
        stage_buffer[1],
        stage_buffer[2],
        stage_buffer[3],
        stage_buffer[4],
        stage_buffer[5],
        stage_buffer[6],
    )
    work = np.empty(n_work * LANES)
    scale_lanes = np.ones(L.N_STATES * LANES)
    vectors = np.empty((2, L.N_STATES))
    blocks = np.empty((MAX_BLOCKS, 2), dtype=np.int64)
    lane_state = np.zeros(LANES, dtype=np.int64)  # phase
    lane_patient = np.full(LANES, -1, dtype=np.int64)
    active = np.zeros((LANES, L.N_CLASSES), dtype=np.bool_)
    # per lane: t, h (to go on with), previous error, end of the stretch, attempted h, last
    # step of the stretch (1/0), time the accepted step reaches
    f_lane = np.zeros((LANES, 7))
    # per lane: next morning, next event, attempts today, status, f(t, y) valid, states
    # stepped, steps
    i_lane = np.zeros((LANES, 7), dtype=np.int64)
    hh = np.zeros(LANES)
    err = np.zeros(LANES)
    accepted = np.zeros(LANES, dtype=np.bool_)
    outcome = np.zeros(LANES, dtype=np.int64)
    theta = np.full(LANES, -1.0)  # where a lane's morning lies in its step (-1: none)
    exact = np.zeros(LANES, dtype=np.bool_)
    work_observe = np.empty(n_work_observe * LANES)
    obs_lanes = np.zeros(N_OBSERVABLES * LANES)
    rows = np.zeros((LANES, L.N_STATES))
    runs = _runs(stepped)
    longest = np.max(runs[:, 1] - runs[:, 0])
    hb = np.zeros(longest)  # hh, theta and exact broadcast along a run (_attempt)
    tb = np.zeros(longest)
    eb = np.zeros(longest, dtype=np.bool_)
    squares = np.zeros(L.N_STATES * LANES)
    factors = np.zeros((4, LANES))  # the step size controller's (_step_factors)
    buffers = (inputs, stages, work, scale_lanes, vectors, blocks, lane_state, lane_patient,
               active, f_lane, i_lane, hh, err, accepted, outcome, theta, exact, work_observe,
               obs_lanes, rows, runs, hb, tb, eb, squares, factors)  # fmt: skip
    _integrate_group(lane_rhs, lane_observe, lane_derive, patients, stepped, y0, consts,
                     class_mods, active0, scale, t_start, n_days, events, n_events, rules,
                     n_rules, rtol, atol, max_steps_per_day, obs_out, final_state, rule_state,
                     status, n_steps, buffers)  # fmt: skip


@compiled
def _integrate_group(lane_rhs, lane_observe, lane_derive, patients, stepped, y0, consts,
                     class_mods, active0, scale, t_start, n_days, events, n_events, rules,
                     n_rules, rtol, atol, max_steps_per_day, obs_out, final_state, rule_state,
                     status, n_steps, buffers):  # fmt: skip
    """:func:`_solve_group`'s loop, in the group's ``buffers``. It allocates nothing, so it is
    compiled without reference counting, like the functions it calls."""
    (inputs, stages, work, scale_lanes, vectors, blocks, lane_state, lane_patient, active, f_lane,
     i_lane, hh, err, accepted, outcome, theta, exact, work_observe, obs_lanes, rows, runs, hb,
     tb, eb, squares, factors) = buffers  # fmt: skip
    x, x_tmp, x_new, dense = inputs[0], inputs[1], inputs[2], inputs[3]
    next_patient = 0
    n_patients = patients.shape[0]
    while True:
        stepping = 0
        for lane in range(LANES):
            hh[lane] = 0.0
            while True:
                phase = lane_state[lane]
                if phase == _IDLE:
                    if lane_patient[lane] >= 0:
                        _finish(lane, lane_patient[lane], x, i_lane, n_days, obs_out,
                                final_state, status, n_steps)  # fmt: skip
                        lane_patient[lane] = -1
                    if next_patient >= n_patients:
                        break
                    p = patients[next_patient]
                    next_patient += 1
                    lane_patient[lane] = p
                    _load_patient(p, lane, y0, consts, class_mods, scale, inputs, scale_lanes)
                    _derive(lane_derive, inputs, work)
                    for k in range(L.N_CLASSES):
                        active[lane, k] = active0[p, k]
                    f_lane[lane, 0] = float(t_start)
                    f_lane[lane, 1] = 0.05
                    i_lane[lane, 0] = 0
                    e = 0
                    while e < n_events[p] and events[p, e, 0] < t_start - 1e-9:
                        e += 1  # events before the start are dropped
                    i_lane[lane, 1] = e
                    i_lane[lane, 3] = STATUS_OK
                    i_lane[lane, 4] = 0
                    i_lane[lane, 6] = 0
                    lane_state[lane] = _START
                elif phase == _START:
                    lane_state[lane] = _start_stretch(
                        lane, lane_patient[lane], x, stages, f_lane, i_lane,
                        active[lane], vectors, rows[lane], blocks, consts, class_mods, t_start,
                        n_days, events, n_events, rules, n_rules, obs_out, rule_state,
                    )  # fmt: skip
                else:
                    if _prepare_attempt(
                        lane, f_lane, i_lane, max_steps_per_day, t_start, n_days, hh, theta, exact
                    ):
                        stepping += 1
                        break
                    lane_state[lane] = _IDLE
        if stepping == 0:
            break
        _broadcast(hh, hb)
        _broadcast(theta, tb)
        _broadcast(exact, eb)
        _attempt(lane_rhs, x, x_tmp, x_new, stages, work, hb, runs)
        _error_norms(x, x_new, stages, hb, tb, eb, scale_lanes, runs, i_lane[:, 5], rtol, atol,
                     squares, err, dense)  # fmt: skip
        _step_factors(err, f_lane, factors)
        for lane in range(LANES):
            accepted[lane] = False
            if lane_state[lane] == _STEP:
                outcome[lane] = _control(lane, err[lane], f_lane, i_lane, factors)
            if lane_state[lane] != _STEP or outcome[lane] != _ACCEPTED:
                theta[lane] = -1.0  # no morning in this step
        if _morning_rows(stepped, theta, dense, rows):
            lane_observe(dense, work_observe, obs_lanes)
        for lane in range(LANES):
            if lane_state[lane] != _STEP:
                continue
            if outcome[lane] == _FAILED:
                lane_state[lane] = _IDLE
                continue
            if outcome[lane] == _ACCEPTED and _mornings(
                lane, lane_patient[lane], x, x_new, stages, stepped, f_lane, i_lane,
                active[lane], rows[lane], vectors[0], consts, class_mods, t_start, n_days, rules,
                n_rules, obs_out, rule_state, accepted, obs_lanes,
            ):  # fmt: skip
                lane_state[lane] = _START
                continue
            lane_state[lane] = _next_phase(lane, f_lane, i_lane)
        every = True
        for lane in range(LANES):
            every = every and accepted[lane]
        if every:  # the new states and last stages become the current ones: swap, not copy
            x, x_new = x_new, x
            k1, k2, k3, k4, k5, k6, k7 = stages
            stages = (k7, k2, k3, k4, k5, k6, k1)
        else:
            _accept(x, x_new, stages, accepted, stepped)


_F1, _F2, _F3 = types.float64[::1], types.float64[:, ::1], types.float64[:, :, ::1]
_I1 = types.int64[::1]
_SOLVE_LANES_SIGNATURE = types.void(
    FUNCTION_TYPE,  # lane_rhs
    types.int64,  # n_work
    FUNCTION_TYPE,  # lane_observe
    types.int64,  # n_work_observe
    FUNCTION_TYPE,  # lane_derive
    types.int64,  # n_hoisted
    _I1,  # patients
    types.int64,  # n_groups
    types.uint64[::1],  # stepped
    _F2,  # y0
    _F2,  # consts
    _F3,  # class_mods
    types.boolean[:, ::1],  # active0
    _F2,  # scale
    types.int64,  # t_start
    types.int64,  # n_days
    _F3,  # events
    _I1,  # n_events
    _F3,  # rules
    _I1,  # n_rules
    types.float64,  # rtol
    types.float64,  # atol
    types.int64,  # max_steps_per_day
    _F3,  # obs_out
    _F2,  # final_state
    _F2,  # rule_state
    _I1,  # status
    _I1,  # n_steps
)


@compiled_as(_SOLVE_LANES_SIGNATURE, parallel=True)
def solve_lanes(lane_rhs, n_work, lane_observe, n_work_observe, lane_derive, n_hoisted, patients,
                n_groups, stepped, y0, consts, class_mods, active0, scale, t_start, n_days,
                events, n_events, rules, n_rules, rtol, atol, max_steps_per_day, obs_out,
                final_state, rule_state, status, n_steps):  # fmt: skip
    """:func:`marrowsim.engine.dopri.solve_batch` for ``patients`` (indices into the batch),
    ``n_groups`` groups of lanes on numba's threads, each taking a contiguous share."""
    n = patients.shape[0]
    per = (n + n_groups - 1) // n_groups
    for g in prange(n_groups):
        lo = g * per
        hi = min(n, lo + per)
        if lo < hi:
            _solve_group(lane_rhs, n_work, lane_observe, n_work_observe, lane_derive, n_hoisted,
                         patients[lo:hi], stepped, y0, consts, class_mods, active0, scale,
                         t_start, n_days, events, n_events, rules, n_rules, rtol, atol,
                         max_steps_per_day, obs_out, final_state, rule_state, status,
                         n_steps)  # fmt: skip


def stepped_states(classes: tuple[int, ...]) -> np.ndarray:
    """The states the lane loops step for a group that can hold ``classes`` (uint64 indices)."""
    active = np.zeros(L.N_CLASSES, dtype=np.bool_)
    active[list(classes)] = True
    blocks = np.empty((MAX_BLOCKS, 2), dtype=np.int64)
    nb = _active_states(active, blocks)
    return np.concatenate([np.arange(blocks[b, 0], blocks[b, 1]) for b in range(nb)]).astype(
        np.uint64
    )
