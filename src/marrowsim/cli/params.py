"""``marrowsim params list`` and ``marrowsim params show NAME``."""

from __future__ import annotations

import typer

from marrowsim.cli.app import app, print_json

params_app = typer.Typer(help="List and inspect model parameters with units and sources.")
app.add_typer(params_app, name="params")


@params_app.command("list")
def list_parameters(
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """List every parameter: name, value, units and source."""
    from rich.console import Console
    from rich.table import Table

    from marrowsim.parameters import default_parameters

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
