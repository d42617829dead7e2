"""The lane engine (``engine/lane_rhs.py``, ``engine/lane_dopri.py``) against the scalar one.

Both make the same decisions in the same arithmetic, so every output must be identical bit for
bit, for any mix of scenarios, for failing patients and for patients the generated function does
not cover (those run in the scalar engine).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from helpers import healthy
from marrowsim import default_parameters, load_scenario
from marrowsim.compile import compile_problem, sample_patient_values
from marrowsim.engine import lane_rhs
from marrowsim.engine.dopri import (
    STATUS_NOT_FINITE,
    STATUS_OK,
    STATUS_TOO_MANY_STEPS,
    allocate_outputs,
)
from marrowsim.engine.lanes import solve_in_lanes
from marrowsim.engine.solve import LANES_FROM, solve
from marrowsim.export.symbolic import Context
from marrowsim.model import constants as K
from marrowsim.model import elementary
from marrowsim.model import layout as L
from marrowsim.model.observables import N_OBSERVABLES, observe
from marrowsim.model.rhs import rhs

OUTPUTS = ("observables", "final_state", "rule_state", "status", "n_steps")


def assert_identical(a, b) -> None:
    for name in OUTPUTS:
        assert np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True), name


def drawn(names: list[str], each: int, seed: int = 5, days: int | None = None):
    parameters = default_parameters()
    scenarios = [
        load_scenario(n, days=days) if days else load_scenario(n)
        for n in names
        for _ in range(each)
    ]
    values = sample_patient_values(scenarios, parameters, seed=seed)
    return compile_problem(scenarios, parameters, values)


# batches share their first day: transplants and leukemia (day -8), cord blood and gene therapy
# (day -7), aplastic anemia (day -60), disease without treatment and healthy adults (day 0)
MIXES = {
    "transplant-leukemia": [
        "allo-pbsc-mac",
        "allo-bm-mac",
        "aml-allo-relapse-risk",
        "urd-8of8-vs-7of8",
    ],
    "cord-gene-therapy": ["cord-single", "tdt-exa-cel", "scd-exa-cel"],
    "aplastic-anemia": ["saa-ist-vs-transplant"],
    "untreated": ["aml-untreated", "healthy-adult"],
}


@pytest.fixture(scope="module", params=list(MIXES))
def mixed(request):
    """A mix of scenarios with between-patient variability, 120 days: at least a lane group of
    each (a scenario may decide the model's branches on constants its own way)."""
    names = MIXES[request.param]
    return drawn(names, each=max(16, -(-40 // len(names))), days=120)


def test_lanes_give_the_scalar_engine_results_bit_for_bit(mixed):
    out = allocate_outputs(*mixed.y0.shape, mixed.n_days)
    assert solve_in_lanes(mixed, 1e-6, 1e-6, 20_000, out).size == 0  # all of them in lanes
    assert_identical(solve(mixed, lanes=True), solve(mixed, lanes=False))


def lane_inputs(problem, function):
    """Patients the generated ``function`` covers in its 16 lanes, their states (perturbed
    initial states) and the lane input array."""
    width = lane_rhs.LANES
    rng = np.random.default_rng(0)
    covered = np.flatnonzero(lane_rhs.lane_patients(problem, function))
    patients = rng.choice(covered, width, replace=covered.size < width)
    states = problem.y0[patients] * rng.uniform(0.5, 2.0, (width, L.N_STATES))
    inputs = np.zeros((function.n_input_rows, width))
    inputs[: L.N_STATES] = states.T
    inputs[lane_rhs.CONSTANT_ROW : lane_rhs.MODIFIER_ROW] = problem.constants[patients].T
    inputs[lane_rhs.MODIFIER_ROW : lane_rhs.N_INPUT_ROWS] = (
        problem.class_modifiers[patients].reshape(width, -1).T
    )
    inputs = inputs.ravel()
    function.prepare(inputs, np.empty(function.n_work_rows * width))
    return patients, states, inputs


def test_generated_right_hand_side_is_the_models_bit_for_bit(mixed):
    function = lane_rhs.build(mixed)
    width = lane_rhs.LANES
    patients, states, inputs = lane_inputs(mixed, function)
    dy = np.zeros(L.N_STATES * width)
    function.function(inputs, np.empty(function.n_work_rows * width), dy)
    active = np.zeros(L.N_CLASSES, dtype=bool)
    active[list(function.classes)] = True
    expected = np.zeros(L.N_STATES)
    for lane, p in enumerate(patients):
        rhs(0.0, states[lane], mixed.constants[p], mixed.class_modifiers[p], active, expected)
        np.testing.assert_array_equal(dy[lane::width], expected)


def test_generated_observables_are_the_models_bit_for_bit(mixed):
    function = lane_rhs.build(mixed)
    width = lane_rhs.LANES
    patients, states, inputs = lane_inputs(mixed, function)
    out = np.zeros(N_OBSERVABLES * width)
    function.observe(inputs, np.empty(function.n_work_observe_rows * width), out)
    active = np.zeros(L.N_CLASSES, dtype=bool)
    active[list(function.classes)] = True
    expected = np.zeros(N_OBSERVABLES)
    for lane, p in enumerate(patients):
        observe(states[lane], mixed.constants[p], mixed.class_modifiers[p], active, expected)
        np.testing.assert_array_equal(out[lane::width], expected)


def test_failing_patients_fail_the_same_way_in_lanes():
    problem = compile_problem([healthy(30)] * 20, default_parameters())
    y0 = problem.y0.copy()
    y0[3, 0] = np.nan  # non-finite from the start
    constants = problem.constants.copy()
    constants[7, K.CONSTANT_NAMES.index("lym_star")] = 0.0  # a division by zero on the way
    broken = replace(problem, y0=y0, constants=constants)
    result = solve(broken, lanes=True)
    assert result.status[3] == result.status[7] == STATUS_NOT_FINITE
    assert (np.delete(result.status, [3, 7]) == STATUS_OK).all()
    assert_identical(result, solve(broken, lanes=False))
    tight = {"rtol": 1e-9, "atol": 1e-9, "max_steps_per_day": 3}
    batch = drawn(["hsc-loss"], each=20, days=30)
    result = solve(batch, lanes=True, **tight)
    assert (result.status == STATUS_TOO_MANY_STEPS).any()
    assert_identical(result, solve(batch, lanes=False, **tight))


def test_a_patient_deciding_a_branch_otherwise_runs_in_the_scalar_engine():
    problem = drawn(["allo-pbsc-mac"], each=20, days=40)
    constants = problem.constants.copy()
    constants[4, K.CONSTANT_NAMES.index("cytokine_hill")] = 2.0  # not hill_power's fast path
    other = replace(problem, constants=constants)
    in_lanes = lane_rhs.lane_patients(other, lane_rhs.build(other))
    assert in_lanes.tolist() == [p != 4 for p in range(20)]
    assert_identical(solve(other, lanes=True), solve(other, lanes=False))


def test_decisions_are_evaluated_with_the_models_own_functions():
    """``lane_patients`` decides a traced branch for every patient with the compiled model's
    ``exp`` and ``log`` (numpy's differ from them in the last place) and knows every operation
    the generator writes."""
    arguments = np.random.default_rng(0).uniform(-700.0, 700.0, 2_000)
    x = Context({}).sym("a")
    for op, model in (("exp", elementary.exp), ("ln", elementary.log)):
        values = np.abs(arguments) if op == "ln" else arguments
        decided = lane_rhs._evaluate_all(x.ctx.op(op, x), {"a": values})
        np.testing.assert_array_equal(decided, [model(v) for v in values])
    assert set(lane_rhs._TEMPLATES) - {"piecewise"} <= set(lane_rhs._VECTOR)


def test_large_batches_use_lanes_by_default(monkeypatch):
    problem = drawn(["healthy-adult"], each=LANES_FROM, days=5)
    calls = []
    import marrowsim.engine.lanes as lanes

    original = lanes.solve_in_lanes
    monkeypatch.setattr(lanes, "solve_in_lanes", lambda *a: calls.append(1) or original(*a))
    solve(problem)
    solve(problem.subset(slice(0, LANES_FROM - 1)))
    assert calls == [1]


def test_a_lane_function_is_traced_once_and_reused_by_later_batches(monkeypatch):
    import marrowsim.engine.lanes as lanes

    monkeypatch.setattr(lanes, "_BUILT", {})
    built = []
    original = lane_rhs.build
    monkeypatch.setattr(lane_rhs, "build", lambda *a: built.append(a[1]) or original(*a))
    first = drawn(["allo-pbsc-mac"], each=20, days=20, seed=1)
    second = drawn(["allo-pbsc-mac"], each=20, days=20, seed=2)
    constants = second.constants.copy()
    constants[0, K.CONSTANT_NAMES.index("cytokine_hill")] = 2.0  # decides a branch otherwise
    second = replace(second, constants=constants)
    solve(first, lanes=True)
    assert built == [0]
    result = solve(second, lanes=True)
    assert built == [0, 0]  # second's patient 0 is not covered by first's function; the rest are
    assert len(lanes._BUILT[lane_rhs.batch_classes(second)]) == 2
    assert_identical(result, solve(second, lanes=False))
    solve(second, lanes=True)
    assert built == [0, 0]  # both are reused now
