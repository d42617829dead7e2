"""``marrowsim match``, ``marrowsim hla download|info`` and ``marrowsim cord-select``."""

from __future__ import annotations

import typer

from marrowsim.cli.app import app, print_json

hla_app = typer.Typer(help="IPD-IMGT/HLA reference data: download and inspect a release.")
app.add_typer(hla_app, name="hla")

_HLA_DATA_HELP = "IPD-IMGT/HLA release directory (default: $MARROWSIM_HLA_DATA, then download)."


def _print_credit(console, release: str) -> None:
    console.print(
        f"[dim]HLA data: IPD-IMGT/HLA release {release} (CC BY-ND). Cite Barker et al. NAR "
        "2023;51:D948; Robinson et al. HLA 2024;103:e15549; Robinson et al. Tissue Antigens "
        "2000;55:280.[/dim]"
    )


def _print_match(result) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"HLA match ({result.release}; grade = 2 - max(GvH, HvG) per locus)")
    for col in ("locus", "recipient", "donor", "GvH", "HvG", "level"):
        table.add_column(col)
    for lm in result.loci:
        level = lm.level + (" (ambiguous)" if lm.ambiguous else "")
        table.add_row(
            lm.locus,
            lm.recipient,
            lm.donor,
            str(lm.gvh_mismatches),
            str(lm.hvg_mismatches),
            level,
        )
    console.print(table)
    grades = ", ".join(
        f"{name} {getattr(result, name) or 'unknown'}"
        for name in ("grade_8", "grade_10", "grade_12")
    )
    console.print(f"{grades}; DPB1 TCE: {result.dpb1_tce}")
    if result.not_compared:
        console.print(f"not typed on both sides: {', '.join(result.not_compared)}")
    _print_credit(console, result.release)


@app.command("match")
def match_command(
    recipient: str = typer.Option(..., "--recipient", help="Recipient typing or GL String."),
    donor: str = typer.Option(None, "--donor", help="Donor typing or GL String."),
    donors: str = typer.Option(
        None, "--donors", help="CSV of donors: donor_id,hla[,age_years,sex,relation]."
    ),
    hla_data: str = typer.Option(None, "--hla-data", help=_HLA_DATA_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Match a recipient with one donor (--donor) or rank many (--donors CSV)."""
    from marrowsim.clinical.hla import load_reference, match
    from marrowsim.clinical.hla.donors import read_donors
    from marrowsim.errors import InputError

    if (donor is None) == (donors is None):
        raise InputError("give exactly one of --donor TYPING or --donors FILE.csv")
    reference = load_reference(hla_data)
    if donor is not None:
        result = match(recipient, donor, reference)
        if json_output:
            print_json(result.to_dict())
        else:
            _print_match(result)
        return
    ranked = read_donors(donors, recipient, reference)
    rows = [d.to_dict(i + 1) for i, d in enumerate(ranked)]
    if json_output:
        order = "grade_8, grade_10, DPB1 TCE (match/permissive first), younger donor"
        print_json(
            {"recipient": recipient, "ranking": order, "donors": rows, "release": reference.release}
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Donors ranked for the recipient ({reference.release})")
    for col in ("rank", "donor", "8", "10", "12", "GvH/HvG (8)", "DPB1 TCE", "age"):
        table.add_column(col)
    for row in rows:
        table.add_row(
            str(row["rank"]),
            row["donor_id"],
            str(row["grade_8"]),
            str(row["grade_10"]),
            str(row["grade_12"]),
            f"{row['gvh_mismatches_8']}/{row['hvg_mismatches_8']}",
            row["dpb1_tce"],
            "" if row["age_years"] is None else f"{row['age_years']:g}",
        )
    console.print(table)
    _print_credit(console, reference.release)


@hla_app.command("download")
def download_command(
    release: str = typer.Option("Latest", "--release", help="'Latest', '3.58.0' or '3580'."),
    dest: str = typer.Option(None, "--dest", help="Target directory (default: user data dir)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Download an IPD-IMGT/HLA release from ANHIG/IMGTHLA and verify its md5 checksums."""
    from marrowsim.clinical.hla.download import download_release
    from marrowsim.clinical.hla.reference import read_release_version

    path = download_release(release, dest)
    version = read_release_version(path)
    if json_output:
        print_json({"path": str(path), "release": version, "verified": True})
        return
    typer.echo(f"IPD-IMGT/HLA {version} written to {path} (md5 verified).")
    typer.echo(f"Use it with: export MARROWSIM_HLA_DATA={path}")


@hla_app.command("info")
def info_command(
    hla_data: str = typer.Option(None, "--hla-data", help=_HLA_DATA_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Show which release is in use, where it is, and how to credit it."""
    from marrowsim.clinical.hla import CITATIONS, load_reference

    ref = load_reference(hla_data)
    info = {
        "release": ref.release,
        "directory": ref.directory,
        "alleles": len(ref.alleles),
        "licence": "CC BY-ND (IPD-IMGT/HLA)",
        "citations": list(CITATIONS),
    }
    if json_output:
        print_json(info)
        return
    for key, value in info.items():
        typer.echo(f"{key}: {value if not isinstance(value, list) else ''}")
        if isinstance(value, list):
            for item in value:
                typer.echo(f"  - {item}")


@app.command("cord-select")
def cord_select_command(
    recipient: str = typer.Option(..., "--recipient", help="Recipient typing or GL String."),
    units: str = typer.Option(
        ..., "--units", help="CSV: unit_id,hla and tnc,cd34 (cells) or tnc_per_kg,cd34_per_kg."
    ),
    weight_kg: float = typer.Option(..., "--weight-kg", help="Recipient weight in kg."),
    double: bool = typer.Option(False, "--double", help="Also propose double-unit pairs."),
    diagnosis: str = typer.Option("malignant", "--diagnosis", help="malignant | non-malignant"),
    hla_data: str = typer.Option(None, "--hla-data", help=_HLA_DATA_HELP),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Rank cord blood units by HLA match and cell dose per kg (clinical.md §3.3 rules)."""
    from marrowsim.clinical.cord import double_unit_pairs, read_units
    from marrowsim.clinical.hla import load_reference

    reference = load_reference(hla_data)
    ranked = read_units(units, recipient, reference, weight_kg=weight_kg, diagnosis=diagnosis)
    rows = [u.to_dict(i + 1) for i, u in enumerate(ranked)]
    pairs = (
        [
            {"units": [a.unit_id, b.unit_id], "grades_8": [a.result.grade_8, b.result.grade_8]}
            for a, b in double_unit_pairs(ranked)
        ]
        if double
        else None
    )
    if json_output:
        print_json(
            {
                "weight_kg": weight_kg,
                "diagnosis": diagnosis,
                "units": rows,
                "double_unit_pairs": pairs,
                "release": reference.release,
            }
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"Cord blood units ({weight_kg:g} kg recipient, {diagnosis})")
    for col in ("rank", "unit", "8", "6", "TNC/kg", "CD34/kg", "single", "flags"):
        table.add_column(col)
    for r in rows:
        cd34 = "?" if r["cd34_per_kg"] is None else f"{r['cd34_per_kg']:.2e}"
        table.add_row(
            str(r["rank"]) + (" (excluded)" if r["excluded"] else ""),
            r["unit_id"],
            str(r["grade_8"]),
            str(r["grade_6"]),
            f"{r['tnc_per_kg']:.2e}",
            cd34,
            "yes" if r["single_dose_ok"] else "no",
            "; ".join(r["flags"]),
        )
    console.print(table)
    if pairs is not None:
        console.print(
            "double-unit pairs: " + (", ".join("+".join(p["units"]) for p in pairs) or "none")
        )
    _print_credit(console, reference.release)
