"""The stochastic clonal engine (engine/stochastic.py and its kernels).

Statistical tests use fixed seeds, so they are deterministic; their tolerances are the ones a
fresh seed would pass with the stated probability. Sizes are small (10 kg child, hundreds of
clones, weeks) to keep the file within a few seconds once numba has compiled the kernels.
"""

from __future__ import annotations

import dataclasses
import math
import re
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from marrowsim.compile import compile_problem
from marrowsim.engine.clonal_kernel import split_into_clones
from marrowsim.engine.clonal_observables import (
    CLONAL_OBSERVABLE_NAMES,
    N_CLONAL_OBSERVABLES,
    observe_clones,
)
from marrowsim.engine.driving import psi_trajectory
from marrowsim.engine.events import EV_ADD_CELLS, EV_MOVE_CELLS
from marrowsim.engine.problem import pack_events
from marrowsim.engine.solve import solve
from marrowsim.engine.stochastic import simulate_clones
from marrowsim.errors import InputError
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.observables import OB
from marrowsim.parameters import default_parameters
from marrowsim.scenario import scenario_from_mapping

CHILD = {"age_years": 2, "weight_kg": 10, "height_cm": 85, "sex": "female"}


def _child(days: int, surviving_fraction: float | None = None, compartment: str = "all"):
    data = {"name": "child", "days": days, "patient": CHILD}
    if surviving_fraction is not None:
        data["perturbations"] = [
            {"day": 0, "compartment": compartment, "surviving_fraction": surviving_fraction}
        ]
    return scenario_from_mapping(data)


def _problem(scenario):
    return compile_problem([scenario], default_parameters())


@pytest.fixture(scope="module")
def small_problem():
    """40 HSCs in an empty marrow, fast HSCs (p = 0.05/d) and small MPP amplification (20)."""
    problem = _problem(_child(days=20))
    c = problem.constants.copy()
    c[0, K.K_P_HSC] = 0.05
    c[0, K.K_ALPHA_MPP] = 20.0
    y0 = np.zeros_like(problem.y0)
    y0[0, L.HSC] = 40.0 / c[0, K.K_WEIGHT]
    return dataclasses.replace(problem, constants=c, y0=y0)


# --- reproducibility -------------------------------------------------------------------------


def test_same_seed_same_result_and_seed_recorded(small_problem):
    a = simulate_clones(small_problem, runs=3, seed=7, days=10)
    b = simulate_clones(small_problem, runs=3, seed=7, days=10)
    c = simulate_clones(small_problem, runs=3, seed=8, days=10)
    assert a.seed == 7 and a.runs == 3
    for name in a.data:
        np.testing.assert_array_equal(a[name], b[name])
    np.testing.assert_array_equal(a.final_counts, b.final_counts)
    assert not np.array_equal(a["mpp3"], c["mpp3"])
    assert not np.array_equal(a["mpp3"][0], a["mpp3"][1])  # runs differ from one another


def test_a_run_does_not_depend_on_the_number_of_runs(small_problem):
    few = simulate_clones(small_problem, runs=2, seed=3, days=10)
    many = simulate_clones(small_problem, runs=5, seed=3, days=10)
    np.testing.assert_array_equal(few["hsc"], many["hsc"][:2])
    np.testing.assert_array_equal(few.run_seeds, many.run_seeds[:2])


def test_scenario_seed_is_the_default():
    scenario = _child(days=3).with_overrides(seed=42)
    assert simulate_clones(scenario, runs=1).seed == 42


# --- agreement with the deterministic model ----------------------------------------------------


def test_mean_converges_to_the_deterministic_trajectory():
    """Mean of n runs vs the deterministic engine after a 90 % loss of every cell (day 0).

    By the central limit theorem the mean of n independent runs has standard error s/sqrt(n);
    with 16 comparisons and a family-wise error of 0.1 %, each |mean - deterministic| must be
    below z = Phi^-1(1 - 0.001/32) = 4.0 standard errors, plus 2e-4 of the deterministic value for
    the numerical error of the deterministic reference and of the sub-daily driving signal
    (measured below 3e-5). Result at the time of writing: all |z| < 2.
    """
    runs, checkpoints = 200, (5, 10, 20, 40)
    problem = _problem(_child(days=40, surviving_fraction=0.1))
    result = simulate_clones(problem, runs=runs, seed=2024, method="tau", barcode_limit=200)
    w = problem.constants[0, K.K_WEIGHT]
    z_crit = NormalDist().inv_cdf(1 - 0.001 / (2 * 4 * len(checkpoints)))
    for day in checkpoints:
        det = solve(dataclasses.replace(problem, n_days=day)).final_state[0, : L.MPP3 + 1] * w
        assert det[L.HSC] == pytest.approx(result.deterministic["hsc"][day], rel=1e-12)
        for j, name in enumerate(("hsc", "mpp1", "mpp2", "mpp3")):
            x = result[name][:, day]
            se = x.std(ddof=1) / math.sqrt(runs)
            assert abs(x.mean() - det[j]) <= z_crit * se + 2e-4 * det[j], (name, day)


def test_ssa_and_tau_leaping_agree_in_distribution(small_problem):
    """Exact SSA vs tau-leaping, 200 runs each, day 20: Welch (means), Levene (variances) and
    Kolmogorov-Smirnov tests, each at p > 1e-4 (12 tests: family-wise error below 0.12 %)."""
    ssa = simulate_clones(small_problem, runs=200, seed=1, method="ssa")
    tau = simulate_clones(small_problem, runs=200, seed=2, method="tau")
    assert tau["mpp3"][:, -1].mean() > 2e4  # large enough for leaps to be taken
    for name in ("hsc", "mpp1", "mpp2", "mpp3"):
        a, b = ssa[name][:, -1], tau[name][:, -1]
        assert stats.ttest_ind(a, b, equal_var=False).pvalue > 1e-4, name
        assert stats.levene(a, b).pvalue > 1e-4, name
        assert stats.ks_2samp(a, b).pvalue > 1e-4, name


def test_driving_signal_matches_the_deterministic_mornings():
    problem = _problem(_child(days=20, surviving_fraction=0.1))
    times, psi, status = psi_trajectory(problem)
    assert status == 0 and np.all(np.diff(times) >= 0)
    o = solve(problem).observables[0]
    for d, day in enumerate(problem.days):
        first = np.searchsorted(times, day, side="left")  # the morning, before rules and events
        assert psi[first] == pytest.approx(o[d, OB["demand_psi"]], rel=1e-4)
    at_zero = np.flatnonzero(times == 0.0)  # the day-0 loss is recorded on both sides
    assert psi[at_zero[0]] == pytest.approx(1.0) and psi[at_zero[-1]] < 0.2


# --- clones ------------------------------------------------------------------------------------


def _with_events(problem, events):
    arr, n = pack_events([events])
    return dataclasses.replace(problem, events=arr, n_events=n)


def test_split_into_clones_one_per_cell_or_barcoded_groups():
    counts = np.zeros((400, 4), dtype=np.int64)
    klass = np.full(400, -1, dtype=np.int64)
    assert split_into_clones(counts, klass, 0, 300, L.EDITED, L.HSC, 300) == 300
    assert np.all(counts[:300, L.HSC] == 1) and np.all(klass[:300] == L.EDITED)
    assert split_into_clones(counts, klass, 300, 100, L.DONOR, L.MPP3, 1005) == 100
    sizes = counts[300:, L.MPP3]
    assert sizes.sum() == 1005 and set(sizes) == {10, 11}


def test_an_infusion_seeds_new_clones():
    problem = _problem(_child(days=3))
    w = problem.constants[0, K.K_WEIGHT]
    empty = dataclasses.replace(problem, y0=np.zeros_like(problem.y0))
    infused = _with_events(empty, [(1.0, EV_ADD_CELLS, L.EDITED, L.HSC, 300.0 / w, 0.0)])
    one_each = simulate_clones(infused, runs=4, seed=1, barcode_limit=math.inf)
    made = (one_each.clone_class == L.EDITED).sum(axis=1)  # Poisson number of homed cells
    assert np.all(np.abs(made - 300) < 4 * math.sqrt(300))
    assert np.all(one_each["hsc_clones"][:, 1] == 0)
    # each infused HSC is its own clone; few die (differentiate) within two days
    assert np.all(one_each["hsc_clones"][:, 3] >= made - 10)
    assert np.all(one_each["hsc_fraction_edited"][:, 2] == 1.0)
    grouped = simulate_clones(infused, runs=4, seed=1, barcode_limit=10)
    assert np.all(grouped["hsc_clones"][:, 2] == 10)


def test_clone_observables_on_hand_made_clones(small_problem):
    c, cm = small_problem.constants[0], small_problem.class_modifiers[0].copy()
    counts = np.array([[2, 0, 0, 30], [2, 0, 0, 10], [0, 5, 0, 0], [0, 0, 0, 0]], dtype=np.int64)
    klass = np.array([L.HOST, L.EDITED, L.EDITED, -1], dtype=np.int64)
    out = np.zeros(N_CLONAL_OBSERVABLES)
    observe_clones(counts, klass, c, cm, 1.5, 0.2, out)
    q = dict(zip(CLONAL_OBSERVABLE_NAMES, out, strict=True))
    assert (q["hsc"], q["mpp1"], q["mpp3"]) == (4, 5, 40)
    assert q["mpp_output"] == pytest.approx(c[K.K_ALPHA_MPP] * 1.5 * c[K.K_K_MPP] * 40)
    assert q["hsc_clones"] == 2
    assert q["shannon_hsc"] == pytest.approx(math.log(2))
    assert q["shannon_output"] == pytest.approx(-(0.75 * math.log(0.75) + 0.25 * math.log(0.25)))
    assert (q["largest_clone_hsc"], q["largest_clone_output"]) == (0.5, 0.75)
    assert q["contributing_clones"] == 2  # shares 0.75 and 0.25 are both >= 0.2
    assert (q["hsc_fraction_edited"], q["output_fraction_edited"]) == (0.5, 0.25)
    cm[L.EDITED, K.CM_DIFFERENTIATION] = 0.0  # blasts: no output to the lineages
    observe_clones(counts, klass, c, cm, 1.5, 0.2, out)
    q = dict(zip(CLONAL_OBSERVABLE_NAMES, out, strict=True))
    assert (q["output_fraction_host"], q["contributing_clones"], q["shannon_output"]) == (1, 1, 0)
    observe_clones(np.zeros((2, 4), np.int64), klass[:2], c, cm, 1.0, 0.2, out)
    q = dict(zip(CLONAL_OBSERVABLE_NAMES, out, strict=True))
    assert q["hsc_clones"] == 0 and math.isnan(q["shannon_hsc"])
    assert math.isnan(q["largest_clone_output"])


def test_a_small_graft_drifts_towards_fewer_larger_clones():
    """About 23 surviving HSCs, each its own clone: some die out and the largest grows."""
    scenario = _child(days=120, surviving_fraction=0.001)
    result = simulate_clones(scenario, runs=10, seed=4, barcode_limit=math.inf)
    largest = result.mean("largest_clone_hsc")
    assert largest[120] > 2 * largest[1]
    assert result.mean("hsc_clones")[120] < result.mean("hsc_clones")[1]
    assert result.mean("shannon_hsc")[120] < result.mean("shannon_hsc")[1]


def test_result_tables(small_problem):
    result = simulate_clones(small_problem, runs=2, seed=1, days=5)
    long = result.to_pandas()
    assert long.shape == (2 * 6, len(result.data)) and long.attrs["seed"] == 1
    summary = result.summary()
    assert summary.shape == (6, 3 * len(result.data))
    assert ("hsc", "p95") in summary.columns and "output_fraction_host" in result.data
    assert "output_fraction_donor" not in result.data  # no donor cells in this problem
    assert result.final_counts.shape[0] == 2 and result.final_counts.shape[2] == 4
    assert result.final_counts[:, :, L.HSC].sum(axis=1).tolist() == result["hsc"][:, -1].tolist()
    light = simulate_clones(small_problem, runs=2, seed=1, days=5, keep_clones=False)
    assert light.final_counts.shape == (2, 0, 4)
    np.testing.assert_array_equal(light["hsc"], result["hsc"])


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"runs": 0}, "runs must be a positive integer, got 0"),
        ({"runs": -3}, "runs must be a positive integer"),
        ({"runs": 2.5}, "runs must be a positive integer"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"seed": "x"}, "seed must be a non-negative integer"),
        ({"days": 0}, "days must be a positive integer"),
        ({"method": "gillespie"}, "unknown stochastic method 'gillespie'"),
        ({"epsilon": 0.0}, "epsilon must be in (0, 1)"),
        ({"detection_threshold": 0.0}, "detection_threshold must be in (0, 1]"),
        ({"barcode_limit": 0}, "barcode_limit must be a positive integer or math.inf"),
        ({"barcode_limit": 2.5}, "barcode_limit must be a positive integer or math.inf"),
    ],
)
def test_bad_options_are_refused_in_one_line(small_problem, options, message):
    with pytest.raises(InputError, match="^" + re.escape(message)):
        simulate_clones(small_problem, **options)


def test_bad_problems_are_refused(small_problem):
    two = compile_problem([_child(days=5), _child(days=5)], default_parameters())
    with pytest.raises(InputError, match="one patient, got 2"):
        simulate_clones(two)
    move = _with_events(small_problem, [(1.0, EV_MOVE_CELLS, L.HOST, L.EDITED, L.HSC, 0.0)])
    with pytest.raises(InputError, match="moves only the hsc cells"):
        simulate_clones(move)
    with pytest.raises(InputError, match="unknown scenario"):
        simulate_clones("no-such-scenario")


def test_allogeneic_course_warns_that_immune_kill_is_missing():
    with pytest.warns(UserWarning, match="alloimmune and ATG kill"):
        simulate_clones("allo-pbsc-mac", runs=1, days=1)


def test_cli_prints_json_and_refuses_bad_options(capsys):
    import json

    from marrowsim.cli import main

    assert main(["clones", "healthy-adult", "--runs", "2", "--days", "2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["runs"] == 2 and doc["seed"] == 0 and doc["daily"]["day"] == [0, 1, 2]
    assert set(doc["daily"]["hsc"]) == {"mean", "p5", "p95"}
    assert main(["clones", "healthy-adult", "--runs", "0"]) == 2
    assert "runs must be a positive integer" in capsys.readouterr().err
    assert main(["clones", "healthy-adult", "--seed", "-4"]) == 2
