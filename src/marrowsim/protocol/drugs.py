"""The drug catalogue of the protocol language: canonical names, aliases, units, routes, classes.

The catalogue says what a protocol line may contain, not what a drug does: pharmacology (exposure,
marrow toxicity, mobilization) belongs to ``marrowsim.model``. Names and aliases match
case-insensitively (``Bu``, ``BU``, ``busulfan`` and ``Busulfex`` are all ``Busulfan``).

``after_infusion`` says whether a drug may be given after day 0 (day 0 = graft infusion).
Conditioning chemotherapy (busulfan, melphalan, fludarabine, BEAM drugs, thiotepa, treosulfan) may
not; post-transplant cyclophosphamide, growth factors, mobilizers, immunosuppressants and the
anti-thymocyte globulins may (ATG is also given without a transplant, as immunosuppressive therapy
of aplastic anemia, with days counted from the start of treatment; anchors.md §3.4).
``open_ended`` marks the drugs that may be given "daily from day N until <count rule>"
(:class:`marrowsim.protocol.GrowthFactor`).
"""

from __future__ import annotations

from dataclasses import dataclass

from marrowsim.errors import ProtocolError, UnknownNameError, did_you_mean

ROUTES: dict[str, str] = {
    **dict.fromkeys(("iv", "i.v.", "intravenous", "intravenously"), "IV"),
    **dict.fromkeys(("po", "p.o.", "oral", "orally"), "PO"),
    **dict.fromkeys(("sc", "s.c.", "sq", "subcut", "subcutaneous", "subcutaneously"), "SC"),
    **dict.fromkeys(("im", "i.m.", "intramuscular"), "IM"),
}
"""Route spellings (lower case) → canonical route."""


class UnknownDrugError(UnknownNameError, ProtocolError):
    """A drug name that is not in the catalogue (a :class:`ProtocolError` with "did you mean").

    The suggestion is searched among names and aliases; the message lists the canonical names.
    """

    def __init__(self, value: str, spellings: list[str], names: list[str]):
        self.kind, self.value, self.allowed = "drug", value, sorted(names)
        hint = did_you_mean(value, spellings)
        message = f"unknown drug {value!r}"
        if hint:
            message += f"; did you mean {hint!r}?"
        message += f" (allowed: {', '.join(self.allowed)}, or an alias of one of them)"
        Exception.__init__(self, message)


@dataclass(frozen=True)
class DrugInfo:
    """One catalogue entry.

    ``units`` are canonical units of :mod:`marrowsim.units` (``mg/kg``, ``mg/m^2``, ``mg``,
    ``ug/kg``); any spelling that converts to one of them is accepted. ``routes`` are canonical
    routes, the first being the default when a line gives none.
    """

    name: str
    drug_class: str
    units: tuple[str, ...]
    routes: tuple[str, ...]
    after_infusion: bool
    aliases: tuple[str, ...] = ()
    open_ended: bool = False

    @property
    def default_route(self) -> str:
        """The route assumed when a protocol line names none."""
        return self.routes[0]

    def check_route(self, route: str) -> str:
        """Return the canonical route for ``route`` or raise a :class:`ProtocolError`."""
        canonical = ROUTES.get(route.strip().lower())
        if canonical is None or canonical not in self.routes:
            raise ProtocolError(
                f"route {route!r} is not allowed for {self.name} "
                f"(allowed: {', '.join(self.routes)})"
            )
        return canonical


def _drug(
    name: str,
    drug_class: str,
    units: tuple[str, ...],
    routes: tuple[str, ...],
    after_infusion: bool,
    *aliases: str,
    open_ended: bool = False,
) -> DrugInfo:
    return DrugInfo(name, drug_class, units, routes, after_infusion, aliases, open_ended)


_PER_KG, _PER_M2, _FLAT, _UG_PER_KG = "mg/kg", "mg/m^2", "mg", "ug/kg"

CATALOGUE: tuple[DrugInfo, ...] = (
    # conditioning chemotherapy (not after day 0)
    _drug("Busulfan", "alkylator", (_PER_KG, _PER_M2), ("IV", "PO"), False, "Bu", "Busulfex"),
    _drug("Fludarabine", "purine analogue", (_PER_M2,), ("IV", "PO"), False, "Flu", "Fludara"),
    _drug("Melphalan", "alkylator", (_PER_M2, _PER_KG), ("IV",), False, "Mel", "Alkeran", "L-PAM"),
    _drug("Carmustine", "alkylator (nitrosourea)", (_PER_M2,), ("IV",), False, "BCNU"),
    _drug("Etoposide", "topoisomerase II inhibitor", (_PER_M2, _PER_KG), ("IV",), False, "VP-16"),
    _drug("Cytarabine", "pyrimidine analogue", (_PER_M2,), ("IV", "SC"), False, "Ara-C", "AraC"),
    _drug("Thiotepa", "alkylator", (_PER_KG, _PER_M2), ("IV",), False, "TT", "Tepadina"),
    _drug("Treosulfan", "alkylator", (_PER_M2,), ("IV",), False, "Treo", "Trecondi"),
    # cyclophosphamide: conditioning and post-transplant (PTCy), also mobilization
    _drug(
        "Cyclophosphamide",
        "alkylator",
        (_PER_KG, _PER_M2),
        ("IV", "PO"),
        True,
        "Cy",
        "CTX",
        "Cytoxan",
        "Endoxan",
    ),
    # anti-thymocyte globulins
    _drug(
        "ATG",
        "anti-thymocyte globulin",
        (_PER_KG,),
        ("IV",),
        True,
        "rATG",
        "rabbit ATG",
        "Thymoglobulin",
        "Thymoglobuline",
    ),
    _drug("hATG", "anti-thymocyte globulin", (_PER_KG,), ("IV",), True, "horse ATG", "ATGAM"),
    # growth factors and mobilizers
    _drug(
        "Filgrastim",
        "growth factor",
        (_UG_PER_KG, _FLAT),
        ("SC", "IV"),
        True,
        "G-CSF",
        "GCSF",
        "Neupogen",
        "Zarxio",
        open_ended=True,
    ),
    _drug("Pegfilgrastim", "growth factor", (_FLAT,), ("SC",), True, "Neulasta", "peg-G-CSF"),
    _drug(
        "Eltrombopag",
        "thrombopoietin receptor agonist",
        (_FLAT,),
        ("PO",),
        True,
        "Promacta",
        "Revolade",
        open_ended=True,
    ),
    _drug("Plerixafor", "mobilizer", (_PER_KG, _FLAT), ("SC",), True, "Mozobil", "AMD3100"),
    # immunosuppressants (GVHD prophylaxis, aplastic anemia)
    _drug(
        "Cyclosporine",
        "immunosuppressant",
        (_PER_KG, _FLAT),
        ("PO", "IV"),
        True,
        "CsA",
        "ciclosporin",
        "cyclosporin",
        "Neoral",
        "Sandimmune",
    ),
    _drug("Tacrolimus", "immunosuppressant", (_PER_KG, _FLAT), ("PO", "IV"), True, "Tac", "FK506"),
    _drug("Methotrexate", "antimetabolite", (_PER_M2,), ("IV",), True, "MTX"),
    _drug(
        "Mycophenolate",
        "immunosuppressant",
        (_PER_KG, _FLAT),
        ("PO", "IV"),
        True,
        "MMF",
        "CellCept",
    ),
    _drug("Sirolimus", "immunosuppressant", (_FLAT,), ("PO",), True, "Rapamune"),
)

_BY_NAME: dict[str, DrugInfo] = {
    spelling.lower(): info for info in CATALOGUE for spelling in (info.name, *info.aliases)
}


def drug_info(name: str) -> DrugInfo:
    """Return the catalogue entry for a drug name or alias (case-insensitive).

    Raises :class:`UnknownDrugError` (a :class:`ProtocolError`) with the closest name.
    """
    info = _BY_NAME.get(name.strip().lower())
    if info is None:
        spellings = [s for d in CATALOGUE for s in (d.name, *d.aliases)]
        raise UnknownDrugError(name, spellings, [d.name for d in CATALOGUE])
    return info


def list_drugs() -> tuple[DrugInfo, ...]:
    """Every catalogue entry, in catalogue order."""
    return CATALOGUE
