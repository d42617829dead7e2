"""Disease rows of ``marrowsim validate`` and the disease cohorts (built-in two-arm scenarios)."""

from __future__ import annotations

import glob

import numpy as np
import pyarrow.parquet as pq

from marrowsim import default_parameters
from marrowsim.cohort.execute import run_cohort
from marrowsim.scenario import load_scenario
from marrowsim.validation.disease_checks import disease_rows


def test_disease_rows_are_measured_and_labelled(tmp_path):
    rows, raw = disease_rows(default_parameters(), 24, 7, tmp_path)
    assert len(rows) == 11
    assert {r.status for r in rows} <= {"pass", "miss", "info"}
    assert sum("calibration target" in r.quantity for r in rows) == 6
    assert set(raw) == {"leukemia", "aplastic_anemia"}
    gvl = raw["leukemia"]["graft_versus_leukemia"]
    assert gvl["aml-mrd-allo"] < gvl["aml-mrd-auto"]  # graft-versus-leukemia
    for row in rows:
        for plot in row.plots:
            assert (tmp_path / plot).is_file()


def test_saa_cohort_runs_both_arms_with_the_disease_outcomes(tmp_path):
    scenario = load_scenario("saa-ist-vs-transplant", days=200)
    run_cohort(scenario, patients=6, seed=3, out=tmp_path / "run", chunk_size=6)
    files = glob.glob(str(tmp_path / "run" / "chunks" / "*" / "outcomes.parquet"))
    table = pq.read_table(files).to_pandas()
    assert set(table["arm"]) == {"immunosuppression", "transplant"}
    assert table["aplastic_anemia_modelled"].all()
    assert np.isfinite(table["hematologic_response_day180"]).all()
    transplant = table[table["arm"] == "transplant"]
    assert transplant["neutrophil_engraftment_day"].notna().all()


def test_aml_cohort_compares_graft_versus_leukemia_arms(tmp_path):
    scenario = load_scenario("aml-allo-relapse-risk", days=365)
    # 24 virtual patients per arm: at 8 the 1-year relapse fractions (about 50 % vs 80 %) can tie
    run_cohort(scenario, patients=24, seed=3, out=tmp_path / "run", chunk_size=24)
    files = glob.glob(str(tmp_path / "run" / "chunks" / "*" / "outcomes.parquet"))
    table = pq.read_table(files).to_pandas()
    assert table["leukemia_modelled"].all()
    rate = table.groupby("arm")["relapse"].mean()
    assert rate["autologous"] > rate["allogeneic"]
    dead = table[table["death_cause"] == "relapse"]
    assert (dead["death_day"] >= dead["relapse_day"]).all()  # relapse deaths follow relapse
