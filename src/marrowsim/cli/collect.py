"""``marrowsim collect SCENARIO``: mobilization, apheresis and the CD34+ yield of a scenario."""

from __future__ import annotations

import typer

from marrowsim.cli.app import app, print_json


@app.command("collect")
def collect_command(
    scenario: str = typer.Argument(..., help="Built-in scenario name or path to a TOML file."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
    patients: int | None = typer.Option(
        None, "--patients", help="Simulate a virtual population of N patients."
    ),
) -> None:
    """Simulate CD34+ mobilization and apheresis until the target or the last apheresis."""
    from marrowsim.clinical.collection import collect
    from marrowsim.errors import InputError
    from marrowsim.scenario import load_scenario

    if seed is not None and seed < 0:
        raise InputError(f"--seed must be >= 0, got {seed}")
    loaded = load_scenario(scenario)
    result = collect(loaded, seed=loaded.seed if seed is None else seed, patients=patients)
    if json_output:
        print_json(result.to_dict())
        return
    _print_table(loaded.name, result)


def _print_table(name: str, result) -> None:
    from rich.console import Console
    from rich.table import Table

    from marrowsim.clinical.collection import PopulationResult

    console = Console()
    if isinstance(result, PopulationResult):
        summary = result.to_dict()
        table = Table(title=f"{name}: virtual population (seed {result.seed})")
        table.add_column("quantity")
        table.add_column("value", justify="right")
        table.add_row("patients", str(summary["n"]))
        table.add_row(
            f"target {result.target_cd34_per_kg:.3g} CD34+/kg reached",
            f"{summary['fraction_target_reached']:.1%}",
        )
        table.add_row("collected < 2e6 CD34+/kg", f"{summary['fraction_below_2e6_per_kg']:.1%}")
        table.add_row("median number of aphereses", f"{summary['median_aphereses']:g}")
        console.print(table)
        return
    counts = Table(title=f"{name}: morning PB CD34+ (typical patient, seed {result.seed})")
    counts.add_column("day", justify="right")
    counts.add_column("PB CD34+ /µL", justify="right")
    for day, value in zip(result.days, result.pb_cd34_per_ul, strict=True):
        counts.add_row(str(day), f"{value:.1f}")
    console.print(counts)
    sessions = Table(title="aphereses")
    for col in ("day", "volume (L)", "pre-count /µL", "CE", "CD34+/kg"):
        sessions.add_column(col, justify="right")
    for a in result.aphereses:
        sessions.add_row(
            str(a.day),
            f"{a.volume_l:g}",
            f"{a.pre_pb_cd34_per_ul:.1f}",
            f"{a.collection_efficiency:.2f}",
            f"{a.cd34_per_kg:.3g}",
        )
    console.print(sessions)
    verdict = "reached" if result.target_reached else "NOT reached"
    console.print(
        f"cumulative {result.cumulative_cd34_per_kg:.3g} CD34+/kg; "
        f"target {result.target_cd34_per_kg:.3g}/kg {verdict}"
    )
