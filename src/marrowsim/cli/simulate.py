"""``marrowsim simulate``, ``marrowsim demo`` and ``marrowsim scenarios list``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from marrowsim.cli.app import app, print_json

DEFAULT_SCENARIO = "allo-pbsc-mac"
DAILY_KEYS = ("anc", "wbc", "lymphocytes", "hb", "reticulocytes", "platelets", "hsc")

scenarios_app = typer.Typer(help="Built-in scenarios.")
app.add_typer(scenarios_app, name="scenarios")


@scenarios_app.command("list")
def list_scenarios(json_output: bool = typer.Option(False, "--json")) -> None:
    """List the built-in scenarios (usable by name wherever a scenario file is accepted)."""
    import tomllib

    from rich.console import Console
    from rich.table import Table

    from marrowsim.scenario import builtin_scenarios

    rows = []
    for name, f in sorted(builtin_scenarios().items()):
        data = tomllib.loads(f.read_text(encoding="utf-8"))
        rows.append((name, data.get("description", "")))
    if json_output:
        print_json({name: desc for name, desc in rows})
        return
    table = Table(title="built-in scenarios")
    table.add_column("name")
    table.add_column("description")
    for row in rows:
        table.add_row(*row)
    Console().print(table)


# haemoglobinopathy or gene-editing scenarios add these daily series (docs/gene-editing.md)
ERYTHROID_DAILY_KEYS = (
    "hbf",
    "hbf_percent",
    "hbs_percent",
    "sickling_red_cells_fraction",
    "donor_chimerism_red_cells",
    "edited_allele_fraction_blood",
    "edited_allele_fraction_marrow",
)


def result_document(solution, outcomes: dict[str, Any]) -> dict[str, Any]:
    """The JSON contract of ``simulate --json`` (counts in 10^9/L, Hb in g/dL, HSC in cells)."""
    daily: dict[str, Any] = {"day": [int(d) for d in solution.days]}
    keys = DAILY_KEYS
    if solution.metadata.get("erythroid"):
        keys = DAILY_KEYS + ERYTHROID_DAILY_KEYS
    for key in keys:
        daily[key] = [round(float(x), 6) for x in solution[key]]
    return {
        "scenario": solution.scenario_name,
        "seed": solution.seed,
        "outcomes": outcomes,
        "daily": daily,
    }


def _write_outputs(solution, doc: dict[str, Any], out: Path) -> tuple[Path, Path]:
    from marrowsim.io import write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    png = out / f"{solution.scenario_name}.png"
    js = out / f"{solution.scenario_name}.json"
    solution.plot(png)
    write_text_atomic(js, json.dumps(doc, indent=1, allow_nan=False, default=_none))
    return png, js


def _none(x: Any) -> Any:
    return None


def _print_summary(solution, outcomes: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{solution.scenario_name} - key results (research software)")
    table.add_column("outcome")
    table.add_column("value", justify="right")
    for key, value in outcomes.items():
        if value is None:
            shown = "-"
        elif isinstance(value, float):
            shown = f"{value:.3g}"
        else:
            shown = str(value)
        table.add_row(key, shown)
    Console().print(table)


def _run(scenario: str, days: int | None, seed: int | None):
    from marrowsim.cli.app import check_positive
    from marrowsim.scenario import load_scenario
    from marrowsim.simulation import Simulation

    check_positive("--days", days)
    sc = load_scenario(scenario, days=days, seed=seed)
    sol = Simulation(sc).run()
    from marrowsim.clinical.patient_risk import patient_risk_outcomes

    outcomes = sol.outcomes()
    return sol, _clean({**outcomes, **patient_risk_outcomes(sc, outcomes)})


def _clean(outcomes: dict[str, Any]) -> dict[str, Any]:
    import math

    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in outcomes.items()
    }


@app.command()
def simulate(
    scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
    days: int | None = typer.Option(None, "--days", help="Days to simulate after day 0."),
    seed: int | None = typer.Option(None, "--seed", help="Random seed (recorded in results)."),
    json_output: bool = typer.Option(False, "--json", help="Print exactly one JSON object."),
    out: Path | None = typer.Option(None, "--out", help="Write a PNG plot and a JSON file here."),
) -> None:
    """Simulate one patient and report daily counts and ASTCT outcomes."""
    sol, outcomes = _run(scenario, days, seed)
    doc = result_document(sol, outcomes)
    if out is not None:
        _write_outputs(sol, doc, out)
    if json_output:
        print_json(doc)
    else:
        _print_summary(sol, outcomes)


@app.command()
def demo(
    out: Path = typer.Option(Path("marrowsim-out"), "--out", help="Output folder."),
) -> None:
    """Run the embedded default scenario (allogeneic PBSC transplant), print a table and plot it."""
    from rich.console import Console

    sol, outcomes = _run(DEFAULT_SCENARIO, None, None)
    doc = result_document(sol, outcomes)
    png, js = _write_outputs(sol, doc, out)
    _print_summary(sol, outcomes)
    Console().print(f"wrote {png} and {js}  (marrowsim is research software, not a medical device)")
