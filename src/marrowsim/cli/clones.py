"""``marrowsim clones``: stochastic clone tracking (mean and 5–95 % band over runs)."""

from __future__ import annotations

from typing import Any

import typer

from marrowsim.cli.app import app, print_json

TABLE_COLUMNS = {
    "hsc": "HSC cells",
    "hsc_clones": "HSC clones",
    "contributing_clones": "contributing clones",
    "shannon_output": "output diversity (nats)",
    "largest_clone_output": "largest clone (of output)",
}


def clones_document(result, low: float = 0.05, high: float = 0.95) -> dict[str, Any]:
    """The JSON contract of ``clones --json``: per observable, daily mean and band over runs."""
    daily: dict[str, Any] = {"day": [int(d) for d in result.days]}
    for name in result.data:
        lo, hi = result.band(name, low, high)
        daily[name] = {
            "mean": [float(x) for x in result.mean(name)],
            f"p{round(100 * low)}": [float(x) for x in lo],
            f"p{round(100 * high)}": [float(x) for x in hi],
        }
    return {
        "scenario": result.scenario_name,
        "seed": result.seed,
        "runs": result.runs,
        "method": result.method,
        "units": result.units,
        "metadata": {k: v for k, v in result.metadata.items() if k != "compartments"},
        "daily": daily,
    }


def _cell(mean: float, lo: float, hi: float) -> str:
    if mean != mean:  # NaN: nothing to share on that day
        return "-"
    return f"{mean:.3g}\n[{lo:.3g}, {hi:.3g}]"


def _print_table(result, every: int) -> None:
    from rich.console import Console
    from rich.table import Table

    labels = dict(TABLE_COLUMNS)
    for name in result.data:
        if name.startswith("output_fraction_") and not name.endswith("host"):
            labels[name] = f"{name.removeprefix('output_fraction_')} share of output"
    columns = list(labels)
    table = Table(
        title=f"{result.scenario_name}: clones over {result.runs} runs, seed {result.seed} "
        "(mean [5-95 %]; research software)"
    )
    table.add_column("day", justify="right")
    for name in columns:
        table.add_column(labels[name], justify="right")
    stats = {n: (result.mean(n), *result.band(n)) for n in columns}
    for i, day in enumerate(result.days):
        if i % every and i != len(result.days) - 1:
            continue
        table.add_row(str(int(day)), *(_cell(*(s[i] for s in stats[n])) for n in columns))
    Console().print(table)


@app.command()
def clones(
    scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
    runs: int = typer.Option(20, "--runs", help="Number of stochastic runs."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (default: the scenario's)."),
    days: int | None = typer.Option(None, "--days", help="Last day to simulate."),
    method: str = typer.Option("auto", "--method", help="auto, ssa (exact) or tau (leaping)."),
    barcode_limit: int | None = typer.Option(
        None, "--barcode-limit", help="Most clones one seeding creates (default: parameter set)."
    ),
    every: int = typer.Option(1, "--every", help="Print every N-th day in the table."),
    json_output: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
) -> None:
    """Stochastic HSC/MPP clones: counts, contributing clones, diversity, largest clone."""
    from marrowsim.cli.app import check_positive
    from marrowsim.engine.stochastic import simulate_clones

    check_positive("--every", every)
    result = simulate_clones(
        scenario,
        runs=runs,
        seed=seed,
        days=days,
        method=method,
        barcode_limit=barcode_limit,
        keep_clones=False,
    )
    if json_output:
        print_json(clones_document(result))
    else:
        _print_table(result, every)
