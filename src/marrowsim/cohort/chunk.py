"""One chunk of a cohort: sample its patients, simulate every arm, write its files.

:func:`run_chunk` is the unit of work sent to a local process or a Dask worker. It returns a
small :class:`ChunkReport`; the per-patient rows go straight to Parquet in the run folder (written
by the chunk itself, atomically, see :mod:`marrowsim.cohort.store`), so neither the driver's nor
the worker's memory grows with the number of patients. Inside a chunk patients are integrated in
batches of ``SOLVE_BATCH`` so that the daily observables of a batch stay small (1,000 patients x
366 days x 28 observables = 82 MB).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from marrowsim.cohort import bands
from marrowsim.cohort.fates import assign_fates, censor_engraftment_after_death
from marrowsim.cohort.plan import ArmPlan, ChunkSample, CohortPlan, sample_patients, with_covariates
from marrowsim.cohort.spec import COVARIATE_BY_NAME, COVARIATES
from marrowsim.cohort.store import BANDS, OUTCOMES, PARAMETERS, TRAJECTORIES, ChunkWriter

SOLVE_BATCH = 1000
STATUS_INFEASIBLE = -1  # the patient's parameter draw has no healthy steady state
STATUS_INFEASIBLE_MESSAGE = "infeasible parameters"
TRAJECTORY_OBSERVABLES = (
    "anc",
    "wbc",
    "lymphocytes",
    "hb",
    "platelets",
    "donor_chimerism_myeloid",
)
# numba's default (workqueue) threading layer must not be entered by two threads at once; Dask
# workers run tasks in threads, so solves in one process take turns.
_SOLVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class ChunkTask:
    """Patients ``first .. stop-1`` of a run."""

    run_dir: str
    run_id: str
    index: int
    first: int
    stop: int
    seed: int
    trajectory_step: int = 0  # 0: no trajectories; k: every k-th day
    numba_threads: int | None = None  # None: leave numba's setting alone


@dataclass(frozen=True)
class ChunkReport:
    index: int
    n_patients: int
    status_counts: dict[str, dict[str, int]]
    wall_seconds: float
    worker: str
    warnings: tuple[str, ...] = field(default=())


def _covariate_columns(arm: ArmPlan, sampled: dict[str, np.ndarray], n: int) -> dict[str, Any]:
    """Every covariate of the vocabulary: sampled values, else the arm scenario's value."""
    columns: dict[str, Any] = {}
    for cov in COVARIATES:
        if cov.name in sampled:
            values = sampled[cov.name]
        else:
            section = getattr(arm.scenario, cov.section) if cov.section else None
            value = getattr(section, cov.field) if section is not None else None  # type: ignore[arg-type]
            values = np.full(n, value, dtype=object)
        if cov.kind == "category":
            columns[cov.name] = pa.array(
                [None if v is None else str(v) for v in values], pa.string()
            )
        else:
            columns[cov.name] = pa.array(
                np.array([np.nan if v is None else float(v) for v in values], dtype=float)
            )
    return columns


def _patients(arm: ArmPlan, sampled: dict[str, np.ndarray], n: int) -> list:
    if not sampled:
        return [arm.scenario] * n
    kinds = {name: COVARIATE_BY_NAME[name].kind for name in sampled}
    cast = {"float": float, "int": int, "category": str}
    return [
        with_covariates(
            arm.scenario, {name: cast[kinds[name]](values[r]) for name, values in sampled.items()}
        )
        for r in range(n)
    ]


def _infeasible(scenarios: list, parameters, values: dict[str, np.ndarray], idx: np.ndarray):
    """Positions (within ``idx``) of patients whose parameter draw has no steady state.

    ``compile_problem`` refuses a batch with any such patient; bisection finds them with
    O(k log n) compilations for k infeasible patients (one when there are none).
    """
    from marrowsim.compile import compile_problem
    from marrowsim.errors import InputError

    try:
        compile_problem(
            [scenarios[i] for i in idx], parameters, {k: v[idx] for k, v in values.items()}
        )
        return []
    except InputError as exc:
        if "infeasible parameter set" not in str(exc):
            raise
        if len(idx) == 1:
            return [int(idx[0])]
    mid = len(idx) // 2
    return _infeasible(scenarios, parameters, values, idx[:mid]) + _infeasible(
        scenarios, parameters, values, idx[mid:]
    )


@dataclass(frozen=True)
class _Batch:
    days: np.ndarray
    observables: np.ndarray
    status: np.ndarray
    n_steps: np.ndarray


def _solve(problem, task: ChunkTask):
    from marrowsim.engine.solve import solve

    with _SOLVE_LOCK:
        if task.numba_threads is None:
            return solve(problem)
        import numba

        before = numba.get_num_threads()
        numba.set_num_threads(min(task.numba_threads, numba.config.NUMBA_NUM_THREADS))
        try:
            return solve(problem)
        finally:
            numba.set_num_threads(before)  # the caller's setting (in-process runs)


def _solve_arm(task: ChunkTask, plan: CohortPlan, arm: ArmPlan, sample: ChunkSample):
    """Simulate one arm of the chunk; yields (slice, scenarios, batch result) per batch.

    Patients whose parameters have no steady state get status ``STATUS_INFEASIBLE`` and NaN
    observables; they are recorded, not simulated.
    """
    from marrowsim.compile import compile_problem
    from marrowsim.errors import InputError

    n = sample.stop - sample.first
    covariates = sample.covariates[arm.name]
    for start in range(0, n, SOLVE_BATCH):
        sl = slice(start, min(start + SOLVE_BATCH, n))
        batch = _patients(arm, {k: v[sl] for k, v in covariates.items()}, sl.stop - sl.start)
        values = {k: v[sl] for k, v in sample.parameter_values.items()}
        try:
            problem = compile_problem(batch, plan.parameters, values=values)
        except InputError as exc:
            if "infeasible parameter set" not in str(exc):
                raise
            problem = None
        if problem is not None:
            yield sl, batch, _solve(problem, task)
            continue
        bad = _infeasible(batch, plan.parameters, values, np.arange(len(batch)))
        good = np.setdiff1d(np.arange(len(batch)), bad)
        status = np.full(len(batch), STATUS_INFEASIBLE, dtype=np.int64)
        steps = np.zeros(len(batch), dtype=np.int64)
        if len(good):
            sub = {k: v[good] for k, v in values.items()}
            result = _solve(compile_problem([batch[i] for i in good], plan.parameters, sub), task)
            obs = np.full((len(batch), *result.observables.shape[1:]), np.nan)
            obs[good], status[good], steps[good] = result.observables, result.status, result.n_steps
            days = result.days
        else:
            first = batch[0].first_day
            days = np.arange(first, batch[0].days + 1)
            from marrowsim.model.observables import N_OBSERVABLES

            obs = np.full((len(batch), len(days), N_OBSERVABLES), np.nan)
        yield sl, batch, _Batch(days, obs, status, steps)


def _arm_tables(
    task: ChunkTask, plan: CohortPlan, arm: ArmPlan, sample: ChunkSample, writer: ChunkWriter
):
    from marrowsim.engine.dopri import STATUS_MESSAGES
    from marrowsim.model.observables import OB
    from marrowsim.outcomes import OUTCOME_INPUTS, compute_batch_outcomes

    n = sample.stop - sample.first
    covariates = _covariate_columns(arm, sample.covariates[arm.name], n)
    batches: list[pa.Table] = []
    counts: dict[str, np.ndarray] = {}
    days = None
    for sl, scenarios, result in _solve_arm(task, plan, arm, sample):
        days = result.days
        obs = result.observables
        series = {name: obs[:, :, OB[name]] for name in OUTCOME_INPUTS}
        table = compute_batch_outcomes(
            days,
            series,
            graft_source=[s.graft.source if s.graft else None for s in scenarios],
            donor_relation=[s.donor.relation if s.donor else None for s in scenarios],
        )
        table["hla_mismatches_8"] = _hla_mismatches(scenarios)
        cov_batch = {k: v[sl] for k, v in covariates.items()}
        cov_np = {k: np.asarray(v.to_numpy(zero_copy_only=False)) for k, v in cov_batch.items()}
        death_day, death_cause = assign_fates(table, cov_np, sample.fate_uniforms[sl])
        censor_engraftment_after_death(table, death_day)
        status = result.status.astype(np.int64)
        columns: dict[str, Any] = {
            "patient": pa.array(sample.patients[sl]),
            "arm": pa.array([arm.name] * len(status), pa.string()),
            "status": pa.array([_status_message(s, STATUS_MESSAGES) for s in status]),
            "status_code": pa.array(status.astype(np.int8)),
            "solver_steps": pa.array(result.n_steps.astype(np.int64)),
            **cov_batch,
            "graft_source": pa.array(  # string even for an arm without a graft (all None)
                [s.graft.source if s.graft else None for s in scenarios], pa.string()
            ),
            "followup_days": pa.array(np.maximum(table["last_day"], 0.0)),
            "death_day": pa.array(np.asarray(death_day, dtype=float)),
            "death_cause": pa.array(list(death_cause), pa.string()),
        }
        for key, values in table.items():
            if key.startswith("full_donor_chimerism"):
                columns[key] = pa.array(
                    [None if not np.isfinite(x) else bool(x) for x in values], pa.bool_()
                )
            elif key not in columns:
                columns[key] = pa.array(values)
        batches.append(pa.table(columns))
        for name in bands.BAND_OBSERVABLES:
            c = bands.count(obs[:, :, OB[name]])
            counts[name] = counts[name] + c if name in counts else c
        if task.trajectory_step:  # streamed: memory stays at one batch
            traj = _trajectory_table(task, arm, sample.patients[sl], days, obs, OB)
            writer.append(TRAJECTORIES, traj)
    assert days is not None
    return pa.concat_tables(batches), bands.to_table(arm.name, counts, days)


def _hla_mismatches(scenarios: list) -> np.ndarray:
    """HLA mismatches (x/8) of each patient's donor; 0 without an allogeneic donor."""
    from marrowsim.clinical.compatibility import mismatch_summary

    cache: dict[int, float] = {}  # patients of an arm share their donor section
    out = np.zeros(len(scenarios))
    for i, s in enumerate(scenarios):
        if s.donor is None or s.donor.relation == "autologous":
            continue
        key = id(s.donor)
        if key not in cache:
            cache[key] = float(mismatch_summary(s).mismatches_8)
        out[i] = cache[key]
    return out


def _status_message(code: int, messages: dict[int, str]) -> str:
    if code == STATUS_INFEASIBLE:
        return STATUS_INFEASIBLE_MESSAGE
    return messages.get(int(code), f"status {code}")


def _trajectory_table(task, arm, patients, days, obs, index) -> pa.Table:
    keep = np.nonzero(days % task.trajectory_step == 0)[0]
    n, d = len(patients), len(keep)
    columns: dict[str, Any] = {
        "patient": pa.array(np.repeat(patients, d)),
        "arm": pa.DictionaryArray.from_arrays(
            pa.array(np.zeros(n * d, dtype=np.int8)), pa.array([arm.name])
        ),
        "day": pa.array(np.tile(days[keep].astype(np.int32), n)),
    }
    for name in TRAJECTORY_OBSERVABLES:
        columns[name] = pa.array(obs[:, keep, index[name]].astype(np.float32).ravel())
    return pa.table(columns)


def run_chunk(task: ChunkTask, plan: CohortPlan) -> ChunkReport:
    """Simulate patients ``task.first .. task.stop - 1`` in every arm and commit the chunk."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught, ChunkWriter(task.run_dir, task.index) as w:
        warnings.simplefilter("always")
        sample = sample_patients(plan, task.seed, task.first, task.stop)
        outcomes, band_tables = [], []
        for arm in plan.arms:
            rows, band_rows = _arm_tables(task, plan, arm, sample, w)
            outcomes.append(rows)
            band_tables.append(band_rows)
        param_columns = {"patient": pa.array(sample.patients)}
        param_columns.update({k: pa.array(v) for k, v in sorted(sample.parameter_values.items())})
        w.write(OUTCOMES, pa.concat_tables(outcomes))
        w.write(PARAMETERS, pa.table(param_columns))
        w.write(BANDS, pa.concat_tables(band_tables))
        status_counts = {
            arm.name: dict(Counter(t.column("status").to_pylist()))
            for arm, t in zip(plan.arms, outcomes, strict=True)
        }
        worker = f"{socket.gethostname()}:{os.getpid()}"
        wall = time.perf_counter() - t0
        w.commit(
            {
                "run_id": task.run_id,
                "chunk": task.index,
                "first_patient": task.first,
                "stop_patient": task.stop,
                "status_counts": status_counts,
                "wall_seconds": wall,
                "worker": worker,
            }
        )
    messages = tuple(sorted({str(warning.message) for warning in caught}))
    return ChunkReport(task.index, task.stop - task.first, status_counts, wall, worker, messages)
