"""``marrowsim cohort`` (run or resume a virtual cohort) and ``marrowsim results`` (summarise one).

Both print one JSON object with ``--json`` (the progress bar and notes go to stderr), otherwise
rich tables. The document is described in :mod:`marrowsim.cohort.summary` and docs/cohorts.md.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer

from marrowsim.cli.app import app, check_positive, print_json


def _note(message: str) -> None:
    sys.stderr.write(f"marrowsim: {message}\n")


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _fmt(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}g}"
    return str(x)


def _interval(value: Any, ci: Any) -> str:
    if not ci or _fmt(value) == "-":
        return _fmt(value)
    return f"{_fmt(value)} ({_fmt(ci[0])} to {_fmt(ci[1])})"


def _print_tables(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    arms = doc["arms"]
    run = doc["run"]
    table = Table(
        title=f"{run['scenario']}: {run['patients']} patients per arm, seed {run['seed']}"
    )
    table.add_column("outcome")
    for arm in arms:
        table.add_column(arm, justify="right")
    rows = [
        ("patients simulated", lambda a: _fmt(a.get("n"))),
        ("infeasible parameter draws", lambda a: _fmt(a.get("n_infeasible"))),
        ("integration failures", lambda a: _fmt(a.get("n_integration_failures"))),
    ]
    for lineage in ("neutrophil", "platelet"):
        rows.append(
            (
                f"{lineage} engraftment day, median (IQR)",
                lambda a, x=lineage: _iqr(a, x),
            )
        )
        for day in (28, 42):
            key = f"cif_{lineage}_day{day}"
            rows.append(
                (f"{lineage} engraftment by day {day} (AJ, 95% CI)", lambda a, k=key: _cif(a, k))
            )
    rows.append(
        (
            "primary graft failure (95% CI)",
            lambda a: _interval(
                a.get("primary_graft_failure_fraction"), a.get("primary_graft_failure_fraction_ci")
            ),
        )
    )
    rows.append(
        (
            "graft failure, primary or secondary (95% CI)",
            lambda a: _interval(
                a.get("graft_failure_fraction"), a.get("graft_failure_fraction_ci")
            ),
        )
    )
    rows.append(("deaths", lambda a: _fmt(a.get("deaths"))))
    for label, cell in rows:
        table.add_row(label, *(cell(a) for a in arms.values()))
    console.print(table)
    for name, comp in doc["comparisons"].items():
        t = Table(title=f"{name} ({comp['arm']} minus {comp['reference']})")
        t.add_column("comparison")
        t.add_column("estimate (95% CI)", justify="right")
        t.add_column("p", justify="right")
        for lineage in ("neutrophil", "platelet"):
            d = comp[f"{lineage}_engraftment_day_median_difference"]
            lr = comp[f"{lineage}_engraftment_logrank"]
            t.add_row(
                f"{lineage} engraftment day, difference of medians",
                _interval(d["estimate"], [d["lower"], d["upper"]]),
                "-",
            )
            t.add_row(f"{lineage} engraftment, log-rank (cause-specific)", "-", _fmt(lr["p_value"]))
            paired = comp["paired"]
            key = f"{lineage}_engraftment_day_difference"
            t.add_row(
                f"{lineage} engraftment day, paired per patient: median (IQR)",
                _interval(paired[f"{key}_median"], paired[f"{key}_iqr"]),
                "-",
            )
        g = comp["primary_graft_failure_fraction_difference"]
        t.add_row(
            "primary graft failure, difference",
            _interval(g["estimate"], [g["lower"], g["upper"]]),
            "-",
        )
        g = comp.get("graft_failure_fraction_difference")
        if g is not None:
            t.add_row(
                "graft failure (primary or secondary), difference",
                _interval(g["estimate"], [g["lower"], g["upper"]]),
                "-",
            )
        console.print(t)
    if run.get("plots"):
        console.print("plots: " + ", ".join(run["plots"]))
    console.print(f"results in {run['run_dir']}  (research software, not a medical device)")


def _iqr(arm: dict[str, Any], lineage: str) -> str:
    med = arm.get(f"{lineage}_engraftment_day_median")
    iqr = arm.get(f"{lineage}_engraftment_day_iqr")
    return _interval(med, iqr)


def _cif(arm: dict[str, Any], key: str) -> str:
    return _interval(arm.get(key), arm.get(f"{key}_ci"))


def _warn_about(doc: dict[str, Any]) -> None:
    for name, arm in doc["arms"].items():
        total = arm["n"] + arm["n_infeasible"]
        if arm["n_infeasible"]:
            _note(
                f"note: arm {name!r}: {arm['n_infeasible']} of {total} patients "
                f"({arm['n_infeasible'] / total:.0%}) drew parameters without a healthy steady "
                "state; they were not simulated (status 'infeasible parameters') and are left "
                "out of the statistics"
            )
        if arm["n_integration_failures"]:
            _note(
                f"note: arm {name!r}: {arm['n_integration_failures']} integrations failed; those "
                "patients are censored at their last simulated day"
            )
    if not doc["run"]["complete"]:
        run = doc["run"]
        _note(
            f"note: run incomplete ({run['chunks_finished']} of {run['chunks']} chunks); "
            "re-run the same cohort command to finish it"
        )


def _write_summary(run_dir: Path, doc: dict[str, Any]) -> None:
    from marrowsim.cli.app import _finite
    from marrowsim.cohort.summary import band_table
    from marrowsim.io import write_bytes_atomic, write_text_atomic

    write_text_atomic(run_dir / "summary.json", json.dumps(_finite(doc), indent=1, default=str))
    import io

    buffer = io.BytesIO()
    band_table(run_dir).to_parquet(buffer, index=False)
    write_bytes_atomic(run_dir / "bands.parquet", buffer.getvalue())


@app.command()
def cohort(
    scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
    patients: int | None = typer.Option(
        None, "--patients", "-n", help="Patients per arm (default: the scenario's cohort.patients)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Seed (default: the scenario's)."),
    workers: int | None = typer.Option(
        None, "--workers", help="Local worker processes (default: the available cores)."
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Run on a Dask cluster: tcp://HOST:PORT of its scheduler."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Run folder (default: marrowsim-out/cohort-SCENARIO-SEED)."
    ),
    chunk_size: int | None = typer.Option(
        None, "--chunk-size", help="Patients per chunk (default: ~10^4, fewer for small runs)."
    ),
    days: int | None = typer.Option(None, "--days", help="Days to simulate after day 0."),
    json_output: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    trajectories: bool = typer.Option(
        False, "--trajectories", help="Also store daily counts of every patient (Parquet)."
    ),
    trajectory_step: int = typer.Option(
        1, "--trajectory-step", help="With --trajectories: keep every k-th day."
    ),
    plots: bool = typer.Option(True, "--plots/--no-plots", help="Write PNG figures."),
) -> None:
    """Simulate a virtual cohort in chunks (resumable), then summarise every arm."""
    from marrowsim.cohort.execute import run_cohort
    from marrowsim.cohort.summary import summarise_run
    from marrowsim.errors import InputError
    from marrowsim.scenario import load_scenario

    for option, value in (
        ("--patients", patients),
        ("--workers", workers),
        ("--chunk-size", chunk_size),
        ("--days", days),
        ("--trajectory-step", trajectory_step),
    ):
        check_positive(option, value)
    if seed is not None and seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    if workers is not None and scheduler is not None:
        raise InputError("give either --workers (local processes) or --scheduler (Dask), not both")
    sc = load_scenario(scenario, days=days)
    n = patients if patients is not None else (sc.cohort.patients if sc.cohort else None)
    if n is None:
        raise InputError(f"give --patients N (scenario {sc.name!r} has no [cohort] patients)")
    seed = sc.seed if seed is None else seed
    run_dir = out if out is not None else Path("marrowsim-out") / f"cohort-{sc.name}-{seed}"
    try:
        summary = run_cohort(
            sc,
            patients=n,
            seed=seed,
            out=run_dir,
            chunk_size=chunk_size,
            workers=workers or (1 if scheduler else _default_workers()),
            scheduler=scheduler,
            trajectory_step=trajectory_step if trajectories else 0,
            progress=True,
        )
    except KeyboardInterrupt:
        _note(f"interrupted: finished chunks are kept in {run_dir}; re-run to resume")
        raise
    for message in summary.warnings:
        _note(f"warning (from the simulation): {message}")
    doc = summarise_run(run_dir, plots=plots)
    doc["run"].update(
        wall_seconds=summary.wall_seconds,
        patients_per_second=summary.patients_per_second,
        chunks_reused=summary.chunks_reused,
        chunks_computed=summary.chunks_computed,
        executor="dask" if scheduler else "local",
        workers=None if scheduler else (workers or _default_workers()),
        scheduler=scheduler,
    )
    _write_summary(run_dir, doc)
    _warn_about(doc)
    if json_output:
        print_json(doc)
    else:
        _print_tables(doc)


@app.command()
def results(
    run_dir: Path = typer.Argument(..., help="A cohort run folder."),
    json_output: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    plots: bool = typer.Option(False, "--plots/--no-plots", help="(Re)write the PNG figures."),
) -> None:
    """Summarise a stored cohort run (finished or not) from its Parquet files."""
    from marrowsim.cohort.catalog import read_attempts
    from marrowsim.cohort.summary import summarise_run

    doc = summarise_run(run_dir, plots=plots)
    doc["run"]["attempts"] = [
        {k: (str(v) if v is not None and k.endswith("_at") else v) for k, v in a.items()}
        for a in read_attempts(run_dir)
    ]
    _warn_about(doc)
    if json_output:
        print_json(doc)
    else:
        _print_tables(doc)
