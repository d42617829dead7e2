"""Run a cohort: plan, split into chunks, execute locally or on Dask, resume, record.

Executors:

* ``workers == 1``: chunks run in this process, one after the other;
* ``workers > 1``: a :class:`concurrent.futures.ProcessPoolExecutor` with ``spawn`` processes,
  each running numba with one thread (K processes = K cores, no oversubscription). Chosen over
  Dask's local scheduler because a lost worker surfaces as an error instead of a hang, there is
  no scheduler/nanny to start (~1 s saved per run) and Ctrl-C can end the workers at once;
* ``scheduler="tcp://host:port"``: a ``dask.distributed`` cluster (workers must see ``RUN_DIR``:
  chunks write their own files). The plan is scattered once; each chunk is one task.

Chunks hold ~10^4 patients (DESIGN.md §3: never one task per patient) and the result of a run
does not depend on the chunk size or the executor: every patient draws from its own random stream
and is integrated independently.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from marrowsim.cohort import store
from marrowsim.cohort.catalog import Catalog
from marrowsim.cohort.chunk import ChunkReport, ChunkTask, run_chunk
from marrowsim.cohort.identity import build_manifest, default_chunk_size, run_identity
from marrowsim.cohort.plan import CohortPlan, plan_cohort
from marrowsim.errors import InputError, MarrowsimError
from marrowsim.parameters import ParameterSet
from marrowsim.scenario import Scenario


@dataclass(frozen=True)
class RunSummary:
    """What :func:`run_cohort` did."""

    run_dir: Path
    manifest: dict[str, Any]
    chunks_reused: int
    chunks_computed: int
    wall_seconds: float
    patients_per_second: float
    status_counts: dict[str, dict[str, int]]
    warnings: tuple[str, ...]


# --- executors -----------------------------------------------------------------------------
def _watch_parent(parent: int) -> None:
    while True:
        time.sleep(2.0)
        if os.getppid() != parent:  # the driver died (kill -9): stop working for nobody
            os._exit(1)


def _init_worker(parent: int) -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides what Ctrl-C means
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _run_chunk_portable(task: ChunkTask, plan: CohortPlan) -> ChunkReport:
    """``run_chunk`` whose errors survive pickling: marrowsim errors are sent back as plain
    :class:`InputError` / :class:`MarrowsimError` with the same one-line message."""
    try:
        return run_chunk(task, plan)
    except InputError as exc:
        raise InputError(str(exc)) from None
    except MarrowsimError as exc:
        raise MarrowsimError(str(exc)) from None


def _run_in_process(tasks: list[ChunkTask], plan: CohortPlan) -> Iterator[ChunkReport]:
    for task in tasks:
        yield _result(lambda t=task: run_chunk(t, plan), task)


@contextlib.contextmanager
def _process_pool(workers: int):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(os.getpid(),),
    )
    try:
        yield pool
    except BaseException:
        processes = list(getattr(pool, "_processes", {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:  # Python < 3.14 has no public way to end busy workers
            with contextlib.suppress(Exception):
                p.terminate()
        for p in processes:  # gone before their unfinished chunks are removed
            with contextlib.suppress(Exception):
                p.join(timeout=10)
                if p.is_alive():  # a loaded machine can miss the grace period: no survivors
                    p.kill()
                    p.join()
        raise
    else:
        pool.shutdown(wait=True)


def _run_on_pool(tasks, plan, workers) -> Iterator[ChunkReport]:
    from concurrent.futures import as_completed

    with _process_pool(workers) as pool:
        futures = {pool.submit(_run_chunk_portable, t, plan): t for t in tasks}
        for future in as_completed(futures):
            yield _result(future.result, futures[future])


def _run_on_dask(tasks, plan, scheduler: str) -> Iterator[ChunkReport]:
    from distributed import Client, as_completed

    try:
        client = Client(scheduler, timeout="10s", set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"could not connect to the Dask scheduler {scheduler!r}: {exc}") from None
    try:
        plan_future = client.scatter(plan, broadcast=True)
        futures = {
            client.submit(
                _run_chunk_portable,
                t,
                plan_future,
                key=f"marrowsim-{t.run_id}-{t.index}",
                pure=False,
            ): t
            for t in tasks
        }
        for future in as_completed(list(futures), loop=client.loop):
            yield _result(future.result, futures[future])
    except BaseException:
        client.cancel(list(locals().get("futures", {})))
        raise
    finally:
        client.close()


def _result(get: Callable[[], ChunkReport], task: ChunkTask) -> ChunkReport:
    """The chunk's report; an input error stays one (exit 2), anything else is logged with its
    traceback in RUN_DIR/errors.log and reported in one line (exit 1)."""
    try:
        return get()
    except InputError:
        raise
    except Exception as exc:
        log = Path(task.run_dir) / "errors.log"
        with open(log, "a", encoding="utf-8") as f:
            f.write(f"chunk {task.index}:\n{''.join(traceback.format_exception(exc))}\n")
        raise MarrowsimError(
            f"chunk {task.index} (patients {task.first}..{task.stop - 1}) failed: "
            f"{type(exc).__name__}: {exc} (traceback in {log})"
        ) from None


# --- progress ------------------------------------------------------------------------------
@contextlib.contextmanager
def _progress(total: int, done: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]cohort"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("patients · {task.fields[rate]} patients/s · ETA"),
        TimeRemainingColumn(),
        TextColumn("· elapsed"),
        TimeElapsedColumn(),
    )
    start, base = time.perf_counter(), done
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("cohort", total=total, completed=done, rate="-")

        def advance(n: int) -> None:
            nonlocal done
            done += n
            rate = (done - base) / max(time.perf_counter() - start, 1e-9)
            bar.update(task, completed=done, rate=f"{rate:,.0f}")

        yield advance


# --- the driver ----------------------------------------------------------------------------
def run_cohort(
    scenario: Scenario,
    *,
    patients: int,
    seed: int,
    out: str | Path,
    chunk_size: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    trajectory_step: int = 0,
    parameters: ParameterSet | None = None,
    progress: bool = False,
) -> RunSummary:
    """Simulate ``patients`` virtual patients of every arm of ``scenario`` into ``out``.

    Re-running with the same arguments and ``out`` resumes: finished chunks are kept, the others
    are computed, and the end result equals an uninterrupted run. A folder holding a different
    run (scenario, seed, patients, chunk size, model code ...) is refused.
    """
    for name, value in (("patients", patients), ("workers", workers)):
        if not isinstance(value, int) or value <= 0:
            raise InputError(f"{name} must be a positive whole number, got {value!r}")
    if seed < 0:
        raise InputError(f"seed must be >= 0, got {seed}")
    if trajectory_step < 0:
        raise InputError(f"trajectory step must be >= 0 days, got {trajectory_step}")
    if scheduler is not None and not scheduler.startswith(("tcp://", "tls://", "inproc://")):
        raise InputError(
            f"--scheduler must be a Dask scheduler address like tcp://HOST:8786, got {scheduler!r}"
        )
    run_dir = Path(out)
    stored = store.read_manifest(run_dir)
    if chunk_size is None:
        old = (stored or {}).get("identity", {})
        same = old.get("patients") == patients and old.get("seed") == seed
        chunk_size = int(old["chunk_size"]) if same else default_chunk_size(patients)
    if chunk_size <= 0:
        raise InputError(f"chunk size must be positive, got {chunk_size}")
    plan = plan_cohort(scenario, parameters)
    identity = run_identity(
        plan, seed=seed, patients=patients, chunk_size=chunk_size, trajectory_step=trajectory_step
    )
    first_day = scenario.first_day
    manifest = build_manifest(plan, identity, first_day, scenario.days)
    if stored is not None:
        store.check_same_run(stored, identity, run_dir)
    elif run_dir.exists() and any(p.name not in ("run.lock", ".tmp") for p in run_dir.iterdir()):
        raise InputError(f"{run_dir} exists and is not a cohort run folder; use another --out")
    run_dir.mkdir(parents=True, exist_ok=True)
    with store.run_lock(run_dir):
        if stored is None:
            store.write_manifest(run_dir, manifest)
        return _execute(plan, manifest, run_dir, workers, scheduler, progress)


def _execute(plan, manifest, run_dir, workers, scheduler, progress) -> RunSummary:
    ident = manifest["identity"]
    run_id, size, n = manifest["run_id"], ident["chunk_size"], ident["patients"]
    store.remove_stale(run_dir, run_id)
    finished = store.finished_chunks(run_dir, run_id)
    tasks = [
        ChunkTask(
            str(run_dir),
            run_id,
            i,
            i * size,
            min((i + 1) * size, n),
            ident["seed"],
            ident["trajectory_step"],
            numba_threads=1,  # one core per worker process (or Dask worker thread)
        )
        for i in range(manifest["chunks"])
        if i not in finished
    ]
    executor = "dask" if scheduler else ("in-process" if workers == 1 else "process-pool")
    catalog = Catalog(run_dir)
    catalog.begin(manifest, executor=executor, workers=workers, reused=len(finished))
    counts: dict[str, Counter] = {arm: Counter() for arm in plan.arm_names}
    for meta in finished.values():
        for arm, c in meta["status_counts"].items():
            counts[arm].update(c)
    done_before = sum(m["stop_patient"] - m["first_patient"] for m in finished.values())
    messages: set[str] = set()
    t0, computed, state = time.perf_counter(), 0, "failed"
    reports: Iterator[ChunkReport] | None = None
    try:
        with _progress(n, done_before, progress) as advance:
            if scheduler:
                reports = _run_on_dask(tasks, plan, scheduler)
            elif workers == 1:
                reports = _run_in_process(tasks, plan)
            else:
                reports = _run_on_pool(tasks, plan, min(workers, max(1, len(tasks))))
            for report in reports:
                computed += 1
                for arm, c in report.status_counts.items():
                    counts[arm].update(c)
                messages.update(report.warnings)
                catalog.chunk_done(report, report.index * size)
                advance(report.n_patients)
        state = "completed"
    except KeyboardInterrupt:
        state = "interrupted"
        # The interrupt can land outside the generator that owns the workers (while a finished
        # chunk is being recorded); closing it ends the workers before their unfinished chunks
        # are removed, so none can write a new one afterwards.
        if reports is not None and hasattr(reports, "close"):
            reports.close()
        store.remove_temporary(run_dir)
        raise
    finally:
        wall = time.perf_counter() - t0
        rate = (n - done_before) / wall if state == "completed" and wall > 0 else 0.0
        status_counts = {arm: dict(c) for arm, c in counts.items()}
        catalog.finish(
            state,
            computed=computed,
            wall_seconds=wall,
            patients_per_second=rate,
            status_counts=status_counts,
        )
    return RunSummary(
        run_dir, manifest, len(finished), computed, wall, rate, status_counts, tuple(messages)
    )
