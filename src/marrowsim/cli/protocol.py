"""``marrowsim regimens list|show NAME`` and ``marrowsim protocol check "LINE" ...``."""

from __future__ import annotations

import typer

from marrowsim.cli.app import app, print_json

regimens_app = typer.Typer(help="List and show named conditioning regimens with their sources.")
protocol_app = typer.Typer(help="Check protocol lines and print their canonical text.")
app.add_typer(regimens_app, name="regimens")
app.add_typer(protocol_app, name="protocol")

_JSON = typer.Option(False, "--json", help="Print one JSON object.")
_LINES = typer.Argument(..., help='Protocol lines, e.g. "Infuse graft on day 0"')


@regimens_app.command("list")
def list_regimens(json_output: bool = _JSON) -> None:
    """List the named regimens: intensity, indication, source."""
    from rich.console import Console
    from rich.table import Table

    from marrowsim.protocol import list_regimens as regimens

    found = regimens()
    if json_output:
        print_json({r.name: r.summary() for r in found})
        return
    table = Table(title=f"marrowsim regimens ({len(found)})")
    for column in ("name", "intensity", "indication", "doses", "source"):
        table.add_column(column)
    for r in found:
        doses = "verified" if r.verified else "UNVERIFIED"
        table.add_row(r.name, r.intensity, r.indication, doses, r.source_key)
    Console().print(table)


@regimens_app.command("show")
def show_regimen(
    name: str = typer.Argument(..., help="Regimen name or alias (case-insensitive)"),
    json_output: bool = _JSON,
) -> None:
    """Show one regimen: its protocol lines, source, location and notes."""
    from rich.console import Console

    from marrowsim.protocol import regimen

    r = regimen(name)
    if json_output:
        print_json(r.summary())
        return
    console = Console(highlight=False)
    console.print(f"[bold]{r.name}[/bold] ({r.intensity.replace('_', ' ')}, {r.indication})")
    for line in r.protocol.lines:
        console.print(f"  {line}", markup=False)
    console.print(f"  source: {r.source_key}: {r.source}", markup=False)
    console.print(f"  location: {r.location}", markup=False)
    console.print(f"  notes: {r.notes}", markup=False)


@protocol_app.command("check")
def check_protocol(
    lines: list[str] = _LINES,
    json_output: bool = _JSON,
) -> None:
    """Parse protocol lines as one protocol and print the canonical text (or the error)."""
    from marrowsim.protocol import Protocol

    protocol = Protocol.from_lines(lines)
    if json_output:
        print_json(
            {
                "lines": list(protocol.lines),
                "steps": [type(step).__name__ for step in protocol.steps],
            }
        )
        return
    typer.echo(str(protocol))
