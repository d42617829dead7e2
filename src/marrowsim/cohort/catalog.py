"""The DuckDB catalog of a run folder: one row per attempt, one row per finished chunk.

``RUN_DIR/catalog.duckdb`` holds two tables (JSON documents are stored as text)::

    runs(attempt, run_id, state, started_at, finished_at, scenario, scenario_hash, seed,
         patients, chunk_size, chunks, arms, package_version, model_code, parameters_hash,
         executor, workers, chunks_reused, chunks_computed, wall_seconds, patients_per_second,
         status_counts, variability, parameter_values, scenario_json)
    chunks(attempt, chunk, first_patient, n_patients, wall_seconds, worker, status_counts,
           finished_at)

``state`` is ``running``, ``completed``, ``interrupted`` or ``failed``; an attempt killed with
``kill -9`` stays ``running``. Only the driver writes, opening the file for each write so that
``marrowsim results`` or a user's ``duckdb`` shell can read it between writes; chunk rows are
written in batches (at most every ``FLUSH_SECONDS``, and when the attempt ends), so a killed
attempt may miss its last few chunk rows (the chunks themselves are on disk, see ``chunk.json``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

CATALOG = "catalog.duckdb"
FLUSH_SECONDS = 5.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    attempt INTEGER, run_id VARCHAR, state VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
    scenario VARCHAR, scenario_hash VARCHAR, seed BIGINT, patients BIGINT, chunk_size INTEGER,
    chunks INTEGER, arms VARCHAR, package_version VARCHAR, model_code VARCHAR,
    parameters_hash VARCHAR, executor VARCHAR, workers INTEGER, chunks_reused INTEGER,
    chunks_computed INTEGER, wall_seconds DOUBLE, patients_per_second DOUBLE,
    status_counts VARCHAR, variability VARCHAR, parameter_values VARCHAR, scenario_json VARCHAR
);
CREATE TABLE IF NOT EXISTS chunks (
    attempt INTEGER, chunk INTEGER, first_patient BIGINT, n_patients INTEGER,
    wall_seconds DOUBLE, worker VARCHAR, status_counts VARCHAR, finished_at TIMESTAMP
);
"""


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Catalog:
    """Writes of one attempt to ``RUN_DIR/catalog.duckdb``."""

    def __init__(self, run_dir: str | Path):
        self.path = Path(run_dir) / CATALOG
        self.attempt: int | None = None
        self._pending: list[list[Any]] = []
        self._flushed = time.monotonic()

    def _connect(self):
        import duckdb

        con = duckdb.connect(str(self.path))
        con.execute(_SCHEMA)
        return con

    def begin(
        self, manifest: Mapping[str, Any], *, executor: str, workers: int, reused: int
    ) -> int:
        ident = manifest["identity"]
        with self._connect() as con:
            row = con.execute("SELECT coalesce(max(attempt), 0) + 1 FROM runs").fetchone()
            self.attempt = int(row[0])  # type: ignore[index]
            con.execute(
                "INSERT INTO runs (attempt, run_id, state, started_at, scenario, scenario_hash, "
                "seed, patients, chunk_size, chunks, arms, package_version, model_code, "
                "parameters_hash, executor, workers, chunks_reused, variability, "
                "parameter_values, scenario_json) VALUES "
                "(?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    self.attempt,
                    manifest["run_id"],
                    _now(),
                    ident["scenario"],
                    ident["scenario_hash"],
                    ident["seed"],
                    ident["patients"],
                    ident["chunk_size"],
                    manifest["chunks"],
                    json.dumps(manifest["arms"]),
                    ident["package_version"],
                    ident["model_code"],
                    ident["parameters_hash"],
                    executor,
                    workers,
                    reused,
                    json.dumps(manifest["variability"]),
                    json.dumps(manifest["parameter_values"]),
                    json.dumps(manifest["scenario_json"]),
                ],
            )
        return self.attempt

    def chunk_done(self, report: Any, first_patient: int) -> None:
        self._pending.append(
            [
                self.attempt,
                report.index,
                first_patient,
                report.n_patients,
                report.wall_seconds,
                report.worker,
                json.dumps(report.status_counts),
                _now(),
            ]
        )
        if time.monotonic() - self._flushed > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            with self._connect() as con:
                con.executemany("INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?)", self._pending)
            self._pending = []
        self._flushed = time.monotonic()

    def finish(
        self,
        state: str,
        *,
        computed: int,
        wall_seconds: float,
        patients_per_second: float,
        status_counts: Mapping[str, Mapping[str, int]],
    ) -> None:
        if self.attempt is None:
            return
        self.flush()
        with self._connect() as con:
            con.execute(
                "UPDATE runs SET state = ?, finished_at = ?, chunks_computed = ?, "
                "wall_seconds = ?, patients_per_second = ?, status_counts = ? WHERE attempt = ?",
                [
                    state,
                    _now(),
                    computed,
                    wall_seconds,
                    patients_per_second,
                    json.dumps(status_counts),
                    self.attempt,
                ],
            )


def read_attempts(run_dir: str | Path) -> list[dict[str, Any]]:
    """Every attempt recorded in the catalog (empty if there is none or it is busy)."""
    import duckdb

    path = Path(run_dir) / CATALOG
    if not path.is_file():
        return []
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            cur = con.execute(
                "SELECT attempt, state, started_at, finished_at, executor, workers, "
                "chunks_reused, chunks_computed, wall_seconds, patients_per_second "
                "FROM runs ORDER BY attempt"
            )
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    except duckdb.Error:
        return []
