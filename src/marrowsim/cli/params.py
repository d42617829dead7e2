"""``marrowsim params list`` and ``marrowsim params show NAME``."""

from __future__ import annotations

from pathlib import Path

import typer

from marrowsim.cli.app import app, print_json
from marrowsim.errors import InputError

params_app = typer.Typer(help="List and inspect model parameters with units and sources.")
app.add_typer(params_app, name="params")


@params_app.command("list")
def list_parameters(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
    markdown: bool = typer.Option(
        False, "--markdown", help="Print the Markdown tables of docs/model.md (one per source)."
    ),
    update: Path | None = typer.Option(
        None,
        "--update",
        help="With --markdown: rewrite the generated table between the markers in this file.",
    ),
) -> None:
    """List every parameter: name, value, units and source."""
    from rich.console import Console
    from rich.table import Table

    from marrowsim.parameters import default_parameters

    if update is not None and not markdown:
        raise InputError("--update needs --markdown")
    if markdown:
        _markdown(update)
        return
    ps = default_parameters()
    if json_output:
        print_json(
            {n: {"value": p.value, "units": p.units, "source": p.source} for n, p in ps.items()}
        )
        return
    table = Table(title=f"marrowsim parameters ({len(ps)})")
    for col in ("name", "value", "units", "source"):
        table.add_column(col)
    for name, p in sorted(ps.items()):
        table.add_row(name, f"{p.value:.4g}", p.units, p.source)
    Console().print(table)


@params_app.command("show")
def show_parameter(name: str = typer.Argument(..., help="Parameter name")) -> None:
    """Show one parameter with its description, provenance, bounds and prior."""
    from rich.console import Console

    from marrowsim.parameters import default_parameters

    p = default_parameters()[name]
    c = Console()
    c.print(f"[bold]{p.name}[/bold] = {p.value:.6g} {p.units}")
    c.print(f"  {p.description}")
    c.print(f"  source: {p.provenance()}")
    if p.citation:
        c.print(f"  citation: {p.citation}")
    if p.bounds:
        c.print(f"  bounds: [{p.bounds[0]:.4g}, {p.bounds[1]:.4g}]")
    if p.prior.distribution != "fixed":
        spread = f"cv={p.prior.cv}" if p.prior.cv else f"sd={p.prior.sd}"
        c.print(f"  between-patient variability: {p.prior.distribution} ({spread})")


def _markdown(update: Path | None) -> None:
    import sys

    from marrowsim.io import write_text_atomic
    from marrowsim.parameters.markdown import parameter_table_markdown, with_generated_table

    table = parameter_table_markdown()
    if update is None:
        sys.stdout.write(table)
        return
    if not update.is_file():
        raise InputError(f"--update: file {str(update)!r} does not exist")
    text = update.read_text(encoding="utf-8")
    write_text_atomic(update, with_generated_table(text, table, where=str(update)))
    sys.stdout.write(f"updated the parameter table in {update}\n")
