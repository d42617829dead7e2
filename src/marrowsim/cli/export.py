"""``marrowsim export-sbml``: one patient's model, with its protocol, as SBML."""

from __future__ import annotations

from pathlib import Path

import typer

from marrowsim.cli.app import app


@app.command("export-sbml")
def export_sbml_command(
    scenario: str = typer.Argument(..., help="Scenario file (.toml) or built-in name."),
    output: Path = typer.Option(..., "--output", "-o", help="SBML file to write."),
    days: int | None = typer.Option(None, "--days", help="Days to simulate after day 0."),
) -> None:
    """Write the scenario's patient (its compiled constants, states, events and morning rules)
    as SBML Level 3 for COPASI, tellurium or libroadrunner (docs/sbml.md)."""
    from marrowsim.cli.app import check_positive
    from marrowsim.export import export_sbml

    check_positive("--days", days)
    model = export_sbml(scenario, output, days=days)
    sbml = model.document.getModel()
    typer.echo(
        f"wrote {output}: {sbml.getNumSpecies()} species, {sbml.getNumParameters()} parameters, "
        f"{sbml.getNumRules()} rules, {sbml.getNumEvents()} events (SBML L3V1)"
    )
