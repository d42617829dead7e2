"""The parameter table of ``docs/model.md``, generated from the registry so that it cannot drift.

``marrowsim params list --markdown`` prints the table; ``make docs`` (``marrowsim params list
--markdown --update docs/model.md``) rewrites the part of a document between the two markers
below. A test fails when the committed table differs from the registry.
"""

from __future__ import annotations

from marrowsim.errors import InputError
from marrowsim.parameters.parameter import Parameter
from marrowsim.parameters.registry import parameters_by_file

BEGIN = "<!-- BEGIN GENERATED PARAMETER TABLE: do not edit; regenerate with `make docs` -->"
END = "<!-- END GENERATED PARAMETER TABLE -->"
REGENERATE = "make docs  (= marrowsim params list --markdown --update docs/model.md)"
COLUMNS = (
    "parameter",
    "value",
    "units",
    "meaning",
    "where in the source / reason",
    "bounds",
    "prior",
)


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _prior(p: Parameter) -> str:
    prior = p.prior
    if prior.distribution == "fixed":
        return "fixed"
    spread = f"cv {prior.cv:g}" if prior.distribution == "lognormal" else f"sd {prior.sd:g}"
    return (
        prior.distribution if prior.distribution == "uniform" else f"{prior.distribution}, {spread}"
    )


def _row(p: Parameter) -> str:
    where = f"assumption: {p.assumption}" if p.is_assumption else p.location
    bounds = f"[{p.bounds[0]:g}, {p.bounds[1]:g}]" if p.bounds else ""
    cells = (f"`{p.name}`", f"{p.value:.6g}", p.units, p.description, where, bounds, _prior(p))
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def parameter_table_markdown() -> str:
    """Every shipped parameter, one table per source file, with value, units and provenance."""
    lines: list[str] = []
    groups = parameters_by_file()
    total = sum(len(ps) for ps in groups.values())
    lines.append(f"{total} parameters in {len(groups)} files (`src/marrowsim/parameters/sets/`).")
    for name, params in groups.items():
        if not params:
            continue
        lines += ["", f"#### {name}", ""]
        citation = params[0].citation
        if citation:
            lines += [f"Source: {_cell(citation)}", ""]
        elif params[0].is_assumption:
            lines += ["Assumptions: each row gives its reason.", ""]
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "---|" * len(COLUMNS))
        lines += [_row(p) for p in sorted(params, key=lambda p: p.name)]
    return "\n".join(lines) + "\n"


def _split(text: str, where: str) -> tuple[str, str, str]:
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise InputError(
            f"{where}: needs exactly one pair of generated-table markers ({BEGIN!r} ... {END!r})"
        )
    head, rest = text.split(BEGIN)
    body, tail = rest.split(END)
    return head, body, tail


def generated_table(text: str, *, where: str = "document") -> str:
    """The generated table currently written between the markers of ``text``."""
    return _split(text, where)[1].strip("\n") + "\n"


def with_generated_table(text: str, table: str, *, where: str = "document") -> str:
    """``text`` with the part between the markers replaced by ``table``."""
    head, _, tail = _split(text, where)
    return f"{head}{BEGIN}\n{table.rstrip()}\n{END}{tail}"
