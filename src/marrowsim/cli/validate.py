"""``marrowsim validate``: run the validation rows and write ``docs/validation.md`` with plots."""

from __future__ import annotations

from pathlib import Path

import typer

from marrowsim.cli.app import app, check_positive, print_json


@app.command("validate")
def validate(
    out: Path = typer.Option(Path("docs"), "--out", help="Folder for validation.md and plots."),
    patients: int = typer.Option(200, "--patients", help="Virtual patients per scenario."),
    seed: int = typer.Option(20261127, "--seed", help="Seed of the virtual populations."),
    json_output: bool = typer.Option(False, "--json", help="Print the rows as one JSON object."),
) -> None:
    """Compare the model with the published numbers of anchors.md §8 (pass / miss per row)."""
    from rich.console import Console

    from marrowsim.validation.report import run_validation, write_report

    check_positive("--patients", patients)
    if seed < 0:
        from marrowsim.errors import InputError

        raise InputError(f"--seed must be >= 0, got {seed}")
    console = Console(stderr=True)
    with console.status("validating") as status:
        result = run_validation(
            patients=patients,
            seed=seed,
            plots_dir=out / "validation",
            progress=lambda msg: status.update(f"validating: {msg}"),
        )
    md, js = write_report(result, out)
    counts = result.counts()
    if json_output:
        print_json({"counts": counts, "report": str(md), "rows": [vars(r) for r in result.rows]})
        return
    from rich.table import Table

    table = Table(title=f"validation ({counts['pass']} pass, {counts['miss']} miss)")
    for col in ("row", "quantity", "published", "simulated", "status"):
        table.add_column(col)
    for r in result.rows:
        style = "red" if r.status == "miss" else None
        table.add_row(r.row, r.quantity, r.published, r.simulated, r.status, style=style)
    Console().print(table)
    Console().print(f"wrote {md} and {js.parent}/")
