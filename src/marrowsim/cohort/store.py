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


class ChunkWriter:
    """Write one chunk's files into a private folder, then make them visible in one rename.

    ``with ChunkWriter(run_dir, index) as w: w.write(name, table); w.append(name, table);
    w.commit(meta)``. Leaving the block without ``commit`` (an exception, Ctrl-C) removes the
    private folder. If the chunk is already there (a worker of an earlier, killed attempt finished
    it), the new copy is discarded: chunks are deterministic, so both are the same.
    """

    def __init__(self, run_dir: str | Path, index: int):
        self.run_dir, self.index = Path(run_dir), index
        token = f"{chunk_name(index)}-{os.getpid()}-{secrets.token_hex(4)}"
        self.tmp = self.run_dir / TMP / token
        self._streams: dict[str, pq.ParquetWriter] = {}

    def __enter__(self) -> ChunkWriter:
        self.tmp.mkdir(parents=True)
        return self

    def write(self, name: str, table: pa.Table) -> None:
        pq.write_table(table, self.tmp / name, compression="zstd")

    def append(self, name: str, table: pa.Table) -> None:
        """Add rows to a file written in pieces (one row group per call)."""
        if name not in self._streams:
            self._streams[name] = pq.ParquetWriter(
                self.tmp / name, table.schema, compression="zstd"
            )
        self._streams[name].write_table(table)

    def commit(self, meta: Mapping[str, Any]) -> Path:
        for stream in self._streams.values():
            stream.close()
        self._streams.clear()
        for path in self.tmp.iterdir():
            with open(path, "rb+") as f:
                os.fsync(f.fileno())
        write_text_atomic(self.tmp / CHUNK_META, json.dumps(dict(meta), indent=1))
        _fsync_dir(self.tmp)
        parent = self.run_dir / CHUNKS
        parent.mkdir(parents=True, exist_ok=True)
        final = chunk_dir(self.run_dir, self.index)
        try:
            os.rename(self.tmp, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        _fsync_dir(parent)
        return final

    def __exit__(self, *exc_info: object) -> None:
        for stream in self._streams.values():
            with contextlib.suppress(Exception):
                stream.close()
        shutil.rmtree(self.tmp, ignore_errors=True)  # gone already after a successful commit


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
