"""Cohort runs: invariance to chunking and workers, resume after kill -9 and Ctrl-C, Dask,
batched outcomes equal to single-patient outcomes, the JSON contract.

Small cohorts (tens of patients, 30 days) of the built-in two-arm scenario keep this fast.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from helpers import ARM_SUMMARY_KEYS
from marrowsim.cli import main
from marrowsim.cohort.execute import run_cohort
from marrowsim.cohort.plan import with_covariates
from marrowsim.cohort.spec import COVARIATES
from marrowsim.cohort.summary import band_table, summarise_run
from marrowsim.outcomes import compute_outcomes
from marrowsim.parameters import default_parameters
from marrowsim.scenario import load_scenario
from marrowsim.simulation import Simulation

SCENARIO = "allo-pbsc-vs-marrow"
DAYS, SEED, N = 30, 5, 30
CLI = [sys.executable, "-c", "from marrowsim.cli import main; main()"]
ARGS = [SCENARIO, "--days", str(DAYS), "--seed", str(SEED)]


def outcome_table(run_dir: Path) -> pd.DataFrame:
    files = sorted(Path(run_dir).glob("chunks/chunk-*/outcomes.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files])
    return table.sort_by([("arm", "ascending"), ("patient", "ascending")]).to_pandas()


def parameter_table(run_dir: Path) -> pd.DataFrame:
    files = sorted(Path(run_dir).glob("chunks/chunk-*/parameters.parquet"))
    return pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()


def assert_same_results(a: Path, b: Path) -> None:
    pd.testing.assert_frame_equal(outcome_table(a), outcome_table(b), check_exact=True)
    pd.testing.assert_frame_equal(band_table(a), band_table(b), check_exact=True)
    sa, sb = summarise_run(a, plots=False), summarise_run(b, plots=False)
    for key in ("arms", "comparisons"):  # "run" differs: chunk size, folder
        assert json.dumps(sa[key], default=str) == json.dumps(sb[key], default=str)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    run_cohort(load_scenario(SCENARIO, days=DAYS), patients=N, seed=SEED, out=out, chunk_size=7)
    return out


def test_results_do_not_depend_on_chunk_size_or_workers(reference, tmp_path):
    sc = load_scenario(SCENARIO, days=DAYS)
    run_cohort(sc, patients=N, seed=SEED, out=tmp_path / "one", chunk_size=N)
    assert_same_results(reference, tmp_path / "one")
    run_cohort(sc, patients=N, seed=SEED, out=tmp_path / "pool", chunk_size=4, workers=2)
    assert_same_results(reference, tmp_path / "pool")
    table = outcome_table(reference)
    assert len(table) == 2 * N and set(table["arm"]) == {"pbsc", "marrow"}
    assert (table["status"] == "ok").all()


def test_batched_outcomes_equal_single_patient_outcomes(reference):
    """Rows written by the cohort equal Simulation(...).run().outcomes() of that patient."""
    table = outcome_table(reference)
    params = parameter_table(reference).set_index("patient")
    sc = load_scenario(SCENARIO, days=DAYS)
    arms = {name: arm for name, arm in sc.cohort.arms.items()}
    base = sc.model_dump()
    for _, row in table[table["patient"].isin([0, 3, 11])].iterrows():
        data = {k: v for k, v in base.items() if k != "cohort"}
        data.update(arms[row["arm"]].sections)
        from marrowsim.scenario import scenario_from_mapping

        template = scenario_from_mapping(data)
        covariates = {}
        for cov in COVARIATES:
            value = row[cov.name]
            if (
                cov.section is None
                or value is None
                or (isinstance(value, float) and np.isnan(value))
            ):
                continue
            covariates[cov.name] = int(value) if cov.kind == "int" else value
        patient = with_covariates(template, covariates)
        values = params.loc[row["patient"]].to_dict()
        sol = Simulation(patient, parameters=default_parameters().with_values(**values)).run()
        single = compute_outcomes(sol)
        for key, expected in single.items():
            stored = row[key]
            if expected is None:
                assert stored is None or np.isnan(stored), key
            else:
                assert stored == expected, key


def test_cli_json_is_one_object_and_results_agree(reference, tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        ["cohort", *ARGS, "--patients", str(N), "--out", str(out), "--json", "--workers", "1"]
    )
    captured = capsys.readouterr()
    assert code == 0
    doc = json.loads(captured.out)  # stdout holds nothing but the JSON object
    assert set(doc) == {"arms", "comparisons", "run"}
    for arm in ("pbsc", "marrow"):
        assert set(ARM_SUMMARY_KEYS) <= set(doc["arms"][arm])
        assert doc["arms"][arm]["n"] == N
    paired = doc["comparisons"]["pbsc vs marrow"]["paired"]
    assert paired["n_pairs"] == N and paired["neutrophil_engraftment_day_difference_n"] <= N
    assert doc["run"]["complete"] and doc["run"]["patients"] == N
    assert (out / "summary.json").is_file() and (out / "plots" / "cif_neutrophil.png").is_file()
    assert_same_results(reference, out)
    assert main(["results", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["arms"] == json.loads(json.dumps(doc["arms"]))
    assert [a["state"] for a in again["run"]["attempts"]] == ["completed"]


def test_rerun_with_other_seed_or_size_is_refused(reference, capsys):
    code = main(["cohort", SCENARIO, "--days", str(DAYS), "--seed", "6", "--patients", str(N),
                 "--out", str(reference)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "holds a different cohort run (seed 5 -> 6" in err
    code = main(["cohort", *ARGS, "--patients", str(N + 1), "--out", str(reference)])
    assert code == 2 and "patients 30 -> 31" in capsys.readouterr().err


def _start(out: Path, extra: list[str]) -> subprocess.Popen:
    cmd = [*CLI, "cohort", *ARGS, "--out", str(out), *extra]
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, text=True
    )


def _wait_for_first_chunk(proc: subprocess.Popen, out: Path, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not list(out.glob("chunks/chunk-*")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout, "no chunk appeared"
        time.sleep(0.01)


BIG = ["--patients", "120", "--chunk-size", "4", "--no-plots"]


def test_resume_after_kill_9_equals_an_uninterrupted_run(tmp_path):
    out = tmp_path / "killed"
    proc = _start(out, [*BIG, "--workers", "1"])
    _wait_for_first_chunk(proc, out)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, as kill -9 of a job
    proc.wait()
    done = len(list(out.glob("chunks/chunk-*")))
    assert 1 <= done < 30, "the run should have been killed midway"
    proc = _start(out, [*BIG, "--workers", "1"])
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    straight = tmp_path / "straight"
    run_cohort(
        load_scenario(SCENARIO, days=DAYS), patients=120, seed=SEED, out=straight, chunk_size=4
    )
    assert_same_results(out, straight)
    shown = subprocess.run(
        [*CLI, "results", str(out), "--json"], capture_output=True, text=True, check=True
    )
    states = [a["state"] for a in json.loads(shown.stdout)["run"]["attempts"]]
    assert states == ["running", "completed"]  # the killed attempt never finished


# long enough that the run is still going when the signal arrives: once the first chunk is
# written (after start-up and compilation), 30 chunks of 30-day patients take well under a second
LONG = ["--patients", "1000", "--chunk-size", "4", "--no-plots"]


def test_ctrl_c_exits_130_without_partial_chunks_and_resumes(tmp_path):
    out = tmp_path / "interrupted"
    proc = _start(out, [*LONG, "--workers", "2"])
    _wait_for_first_chunk(proc, out)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err
    for chunk in out.glob("chunks/*"):
        assert chunk.name.startswith("chunk-") and (chunk / "chunk.json").is_file()
    assert not list((out / ".tmp").glob("*")) if (out / ".tmp").exists() else True
    assert main(["cohort", *ARGS, *LONG, "--out", str(out), "--workers", "1"]) == 0
    assert len(outcome_table(out)) == 2000


@pytest.fixture
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def test_dask_cluster_run_equals_local_run(reference, tmp_path, dask_cluster, capsys):
    assert dask_cluster.startswith("tcp://127.0.0.1:")
    out = tmp_path / "dask"
    args = ["cohort", *ARGS, "--patients", str(N), "--chunk-size", "7", "--no-plots"]
    assert main([*args, "--out", str(out), "--scheduler", dask_cluster, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["run"]["executor"] == "dask"
    assert_same_results(reference, out)


def test_infeasible_parameter_draws_are_recorded_not_dropped(reference, tmp_path, monkeypatch):
    """A patient whose parameters have no steady state keeps a row with its status; the others
    are unaffected; statistics leave it out and say so."""
    import marrowsim.compile
    from marrowsim.errors import InputError

    original = marrowsim.compile.compile_problem
    heavy = 80.0

    def refusing(scenarios, parameters, values=None):
        if any(s.patient.weight_kg > heavy for s in scenarios):
            raise InputError("infeasible parameter set: test stand-in")
        return original(scenarios, parameters, values)

    monkeypatch.setattr(marrowsim.compile, "compile_problem", refusing)
    out = tmp_path / "infeasible"
    run_cohort(load_scenario(SCENARIO, days=DAYS), patients=N, seed=SEED, out=out, chunk_size=7)
    table, ref = outcome_table(out), outcome_table(reference)
    bad = table["weight_kg"] > heavy
    assert 0 < bad.sum() < len(table) and len(table) == len(ref)
    assert (table.loc[bad, "status"] == "infeasible parameters").all()
    assert table.loc[bad, "neutrophil_engraftment_day"].isna().all()
    # (dtypes differ where a column gained nulls: nullable booleans of the infeasible rows)
    pd.testing.assert_frame_equal(table[~bad], ref[~bad], check_exact=True, check_dtype=False)
    doc = summarise_run(out, plots=False)
    for summary in doc["arms"].values():
        assert summary["n"] + summary["n_infeasible"] == N
        assert summary["status_counts"]["infeasible parameters"] == summary["n_infeasible"] > 0


def test_trajectories_are_stored_on_request(tmp_path):
    out = tmp_path / "traj"
    sc = load_scenario(SCENARIO, days=DAYS)
    run_cohort(sc, patients=5, seed=SEED, out=out, chunk_size=3, trajectory_step=7)
    files = sorted(out.glob("chunks/chunk-*/trajectories.parquet"))
    table = pa.concat_tables([pq.read_table(f) for f in files]).to_pandas()
    days = [d for d in range(-8, DAYS + 1) if d % 7 == 0]
    assert sorted(set(table["day"])) == days
    assert len(table) == 2 * 5 * len(days) and set(table["arm"]) == {"pbsc", "marrow"}
    assert np.isfinite(table["anc"]).all()


@pytest.mark.parametrize(
    ("error", "code"), [(RuntimeError("boom"), 1), ("input", 2)], ids=["bug", "input"]
)
def test_a_failing_chunk_is_one_line(tmp_path, monkeypatch, capsys, error, code):
    import marrowsim.compile
    from marrowsim.errors import InputError

    def failing(*args, **kwargs):
        if error == "input":
            raise InputError("graft from_collection needs a [mobilization] section")
        raise error

    monkeypatch.setattr(marrowsim.compile, "compile_problem", failing)
    out = tmp_path / "failing"
    assert main(["cohort", *ARGS, "--patients", "4", "--workers", "1", "--out", str(out)]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("marrowsim: error: ") and "Traceback" not in "".join(err)
    if code == 1:
        assert "chunk 0 (patients 0..3) failed: RuntimeError: boom" in err[-1]
        assert "RuntimeError: boom" in (out / "errors.log").read_text()
