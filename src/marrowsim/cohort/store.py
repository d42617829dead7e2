"""The results folder of a cohort run: finished chunks, manifest, lock.

Layout (see docs/cohorts.md)::

    RUN_DIR/
      manifest.json          what this run is (identity) and how it was planned
      catalog.duckdb         attempts and finished chunks (:mod:`marrowsim.cohort.catalog`)
      run.lock               held (flock) by the process that is running the cohort
      chunks/chunk-000012/   one finished chunk: outcomes.parquet, parameters.parquet,
                             bands.parquet, [trajectories.parquet], chunk.json
      summary.json, bands.parquet, plots/*.png    written when the run completes

A chunk is written into ``RUN_DIR/.tmp/chunk-000012-<pid>-<random>/`` and then renamed to
``chunks/chunk-000012/`` in one ``os.rename`` (same filesystem, atomic): a chunk folder is either
complete or absent, so an interrupted run (Ctrl-C, kill -9, a lost worker) never leaves a partial
chunk under ``chunks/``. A chunk counts as finished only if its ``chunk.json`` names the run's
identity hash. ``.tmp`` is emptied when a run starts or is interrupted.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from marrowsim.errors import InputError
from marrowsim.io import write_text_atomic

CHUNKS = "chunks"
TMP = ".tmp"
MANIFEST = "manifest.json"
CHUNK_META = "chunk.json"
OUTCOMES, PARAMETERS, BANDS, TRAJECTORIES = (
    "outcomes.parquet",
    "parameters.parquet",
    "bands.parquet",
    "trajectories.parquet",
)


def chunk_name(index: int) -> str:
    return f"chunk-{index:06d}"


def chunk_dir(run_dir: Path, index: int) -> Path:
    return Path(run_dir) / CHUNKS / chunk_name(index)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def commit_chunk(
    run_dir: str | Path, index: int, tables: Mapping[str, pa.Table], meta: Mapping[str, Any]
) -> Path:
    """Write one chunk's Parquet files and ``chunk.json`` and make them visible atomically.

    If the chunk is already there (a worker of an earlier, killed attempt finished it), the new
    copy is discarded: chunks are deterministic, so both are the same.
    """
    parent = Path(run_dir) / CHUNKS
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(run_dir) / TMP / f"{chunk_name(index)}-{os.getpid()}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)
    try:
        for name, table in tables.items():
            path = tmp / name
            pq.write_table(table, path, compression="zstd")
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
        write_text_atomic(tmp / CHUNK_META, json.dumps(dict(meta), indent=1))
        _fsync_dir(tmp)
        final = chunk_dir(run_dir, index)
        try:
            os.rename(tmp, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            shutil.rmtree(tmp, ignore_errors=True)
        _fsync_dir(parent)
        return final
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def finished_chunks(run_dir: str | Path, run_id: str) -> dict[int, dict[str, Any]]:
    """Index -> ``chunk.json`` of the chunks of run ``run_id`` that are complete."""
    out: dict[int, dict[str, Any]] = {}
    parent = Path(run_dir) / CHUNKS
    if not parent.is_dir():
        return out
    for entry in parent.iterdir():
        if not entry.name.startswith("chunk-") or not (entry / OUTCOMES).is_file():
            continue
        try:
            meta = json.loads((entry / CHUNK_META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if meta.get("run_id") == run_id:
            out[int(meta["chunk"])] = meta
    return out


def remove_temporary(run_dir: str | Path) -> None:
    """Remove the unfinished chunk folders of interrupted attempts (call with the run lock)."""
    shutil.rmtree(Path(run_dir) / TMP, ignore_errors=True)


def remove_stale(run_dir: str | Path, run_id: str) -> int:
    """Remove unfinished chunks and chunks that belong to another identity."""
    remove_temporary(run_dir)
    parent = Path(run_dir) / CHUNKS
    removed = 0
    if not parent.is_dir():
        return removed
    for entry in parent.iterdir():
        stale = not entry.name.startswith("chunk-")
        if not stale:
            try:
                meta = json.loads((entry / CHUNK_META).read_text(encoding="utf-8"))
                stale = meta.get("run_id") != run_id
            except (OSError, ValueError):
                stale = True
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed


def read_manifest(run_dir: str | Path) -> dict[str, Any] | None:
    path = Path(run_dir) / MANIFEST
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        raise InputError(f"{path} is not valid JSON: is this a marrowsim cohort folder?") from None


def write_manifest(run_dir: str | Path, manifest: Mapping[str, Any]) -> None:
    Path(run_dir).mkdir(parents=True, exist_ok=True)
    write_text_atomic(Path(run_dir) / MANIFEST, json.dumps(dict(manifest), indent=1))


def check_same_run(stored: Mapping[str, Any], identity: Mapping[str, Any], run_dir: Path) -> None:
    """Refuse to resume into a folder that holds a different run (one clear line)."""
    old = stored.get("identity", {})
    diffs = [
        f"{key} {old.get(key)!r} -> {identity[key]!r}"
        for key in identity
        if old.get(key) != identity[key]
    ]
    if diffs:
        raise InputError(
            f"{run_dir} holds a different cohort run ({'; '.join(diffs)}); use another --out "
            f"or delete the folder to start over"
        )


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the run folder (released when the process dies, even by
    kill -9)."""
    import fcntl

    path = Path(run_dir) / "run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            raise InputError(
                f"{run_dir} is in use by {holder}; wait for it or use another --out"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"marrowsim pid {os.getpid()}")
        f.flush()
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
