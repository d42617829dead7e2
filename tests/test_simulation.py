"""``Simulation(...).run()`` returns a labelled, immutable ``Solution``."""

from __future__ import annotations

import dataclasses
import doctest

import numpy as np
import pytest

import marrowsim.simulation
from marrowsim import Simulation, Solution, default_parameters, load_scenario
from marrowsim.errors import InputError, UnknownNameError
from marrowsim.model.observables import OBSERVABLE_NAMES

DAILY = ("anc", "wbc", "lymphocytes", "hb", "reticulocytes", "platelets", "hsc", "progenitors")
BY_CLASS = ("host", "donor", "donor2", "edited", "malignant")


@pytest.fixture(scope="module")
def solution() -> Solution:
    return Simulation("healthy-adult").run()


def test_solution_is_labelled(solution):
    assert solution.scenario_name == "healthy-adult" and solution.seed == 0
    assert solution.status == "ok"
    assert solution.days.tolist() == list(range(366))
    assert set(DAILY) <= set(solution.data) == set(OBSERVABLE_NAMES)
    for k in BY_CLASS:
        assert f"hsc_{k}" in solution.data
    for k in ("host", "donor", "edited", "malignant"):
        assert f"progenitors_{k}" in solution.data
    assert solution.units["anc"] == "10^9/L" and solution.units["hb"] == "g/dL"
    assert solution.units["hsc"] == "cells"
    assert all(len(v) == 366 for v in solution.data.values())
    # every cited source of the parameters used, with its full reference
    assert "Catlin2011" in solution.citations and "Blood 2011" in solution.citations["Catlin2011"]
    assert "assumption" not in solution.citations
    assert solution.metadata["method"] == "dopri5" and solution.metadata["steps"] > 0


def test_solution_values_and_lookup(solution):
    assert solution.at("anc", 100) == pytest.approx(4.0)
    assert solution["hsc_host"][-1] == pytest.approx(solution["hsc"][-1])
    assert solution["hsc_donor"].max() == 0 and solution["progenitors_edited"].max() == 0
    with pytest.raises(UnknownNameError, match="did you mean 'platelets'"):
        solution["platelet"]
    with pytest.raises(InputError, match=r"day 400 not simulated \(days 0..365\)"):
        solution.at("anc", 400)


def test_solution_is_immutable(solution):
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.seed = 3  # type: ignore[misc]


def test_to_pandas(solution):
    df = solution.to_pandas()
    assert df.index.name == "day" and len(df) == 366
    assert list(df.columns) == list(OBSERVABLE_NAMES)
    assert df.attrs["units"]["platelets"] == "10^9/L" and df.attrs["seed"] == 0
    assert df.loc[10, "platelets"] == pytest.approx(250.0)


def test_plot_writes_a_png(solution, tmp_path):
    path = tmp_path / "counts.png"
    solution.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_outcomes_of_a_healthy_adult(solution):
    out = solution.outcomes()
    assert out["anc_nadir"] == pytest.approx(4.0) and out["days_anc_below_0_5"] == 0
    assert "neutrophil_engraftment_day" not in out  # no transplant, no engraftment endpoints
    assert out["hsc_final"] == pytest.approx(1e5)


def test_simulation_accepts_a_scenario_object_a_path_and_parameters(tmp_path):
    scenario = load_scenario("healthy-adult", days=5, seed=11)
    path = tmp_path / "adult.toml"
    path.write_text(
        'name = "adult"\ndays = 5\n[patient]\nage_years = 30\nweight_kg = 70\nsex = "male"\n'
    )
    assert Simulation(scenario).run().seed == 11
    assert Simulation(path).run().scenario_name == "adult"
    params = default_parameters().with_values(anc_steady_state=5.0)
    sol = Simulation(scenario, parameters=params).run()
    np.testing.assert_allclose(sol["anc"], 5.0)


def test_reference_method_gives_the_same_solution():
    fast = Simulation(load_scenario("hsc-loss", days=60)).run()
    ref = Simulation(load_scenario("hsc-loss", days=60), method="scipy-lsoda", rtol=1e-10).run()
    np.testing.assert_allclose(fast["hsc"], ref["hsc"], rtol=1e-5)


def test_docstring_examples_run():
    result = doctest.testmod(marrowsim.simulation, verbose=False)
    assert result.attempted > 0 and result.failed == 0
