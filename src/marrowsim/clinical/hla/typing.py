"""Parse HLA typings written by people into typed objects (syntax only; no reference data).

Names follow WHO nomenclature (clinical.md §1.1; hla.alleles.org naming pages): an optional
``HLA-`` prefix, ``LOCUS*field1:field2[:field3[:field4]]`` with an optional expression suffix
(``N`` null, ``L`` low, ``S`` secreted, ``C`` cytoplasm, ``A`` aberrant, ``Q`` questionable),
G groups (``A*01:01:01G``), P groups (``A*01:01P``), allele ambiguity (``A*02:01/02:06``) and
serological antigens (``A2``, ``B62``, ``Cw7``, ``DR15``, ``DQ6``).

A typing lists up to two positions (alleles) per locus, in either of two formats:

* loci separated by whitespace or ``;``, the two alleles of a locus joined by ``,``; a
  homozygous locus may be written once:
  ``"A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01"``;
* a GL String (``^`` between loci, ``+`` between the two alleles, ``/`` for ambiguity):
  ``"HLA-A*01:01+HLA-A*02:01^HLA-B*08:01+HLA-B*07:02"``.

Whether a name exists in a release is checked later, against the reference data
(:mod:`marrowsim.clinical.hla.reference`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from marrowsim.errors import InputError

#: Loci in the order they are printed; the first six are the ones graded (clinical.md §1.2).
LOCUS_ORDER = ("A", "B", "C", "DRB1", "DQB1", "DPB1", "DRB3", "DRB4", "DRB5", "DQA1", "DPA1")

#: Serological prefix → molecular locus (WHO serology names; rel_ser_ser.txt uses A, B, Cw, DR, DQ).
SEROLOGY_LOCUS = {"A": "A", "B": "B", "CW": "C", "C": "C", "DR": "DRB1", "DQ": "DQB1", "DP": "DPB1"}
#: Molecular locus → prefix used for serological antigen names.
SEROLOGY_PREFIX = {
    **{"A": "A", "B": "B", "C": "Cw", "DRB1": "DR", "DQB1": "DQ", "DPB1": "DP"},
    **{"DRB3": "DR", "DRB4": "DR", "DRB5": "DR"},
}
#: DR51/52/53 are carried by DRB5/DRB3/DRB4, not DRB1 (rel_dna_ser.txt).
_DR_SUPERTYPIC = {"51": "DRB5", "52": "DRB3", "53": "DRB4"}

EXAMPLES = (
    '"A*01:01,A*02:01 B*08:01,B*07:02 C*07:01,C*07:02 DRB1*03:01,DRB1*15:01"',
    '"HLA-A*01:01+HLA-A*02:01^HLA-B*08:01+HLA-B*07:02"',
    '"A*01:01:01G,A*02:01/02:06; B*15:01"',
    '"A1,A2 B8,B62 DR15"',
)

Kind = Literal["allele", "g_group", "p_group", "serology"]

_ALLELE_RE = re.compile(
    r"^(?P<locus>[A-Z][A-Z0-9]*)\*(?P<fields>\d{2,4}(?::\d{2,4}){0,3})"
    r"(?P<suffix>[NLSCAQ])?(?P<group>[GP])?$"
)
_SEROLOGY_RE = re.compile(r"^(?P<prefix>CW|DR|DQ|DPW|DP|A|B|C)(?P<antigen>\d{1,4})$")
_MAC_RE = re.compile(r"^[A-Z][A-Z0-9]*\*\d{2,4}:[A-Z]{2,}$")


class HlaTypingError(InputError):
    """An HLA name or typing string that does not parse."""

    def __init__(self, message: str):
        super().__init__(f"{message}. Accepted typings look like: {'; '.join(EXAMPLES)}")


@dataclass(frozen=True)
class HlaName:
    """One HLA name: an allele, a G or P group, or a serological antigen.

    ``str(name)`` gives the normalised spelling, which parses back to an equal object.
    """

    locus: str
    kind: Kind
    fields: tuple[str, ...] = ()
    suffix: str = ""
    antigen: str = ""

    @property
    def text(self) -> str:
        if self.kind == "serology":
            return f"{SEROLOGY_PREFIX.get(self.locus, self.locus)}{self.antigen}"
        group = {"g_group": "G", "p_group": "P"}.get(self.kind, "")
        return f"{self.locus}*{':'.join(self.fields)}{self.suffix}{group}"

    @property
    def is_null(self) -> bool:
        return self.suffix == "N"

    def __str__(self) -> str:
        return self.text


def parse_name(text: str, *, locus: str | None = None) -> HlaName:
    """Parse one name; ``locus`` is the locus to assume when the name is bare (``02:06``)."""
    raw = text.strip()
    name = raw.upper()
    if name.startswith("HLA-"):
        name = name[4:]
    if locus and re.fullmatch(r"\d{2,4}(:\d{2,4}){0,3}[NLSCAQ]?[GP]?", name):
        name = f"{locus}*{name}"
    if _MAC_RE.match(name):
        raise HlaTypingError(
            f"HLA name {raw!r} looks like an NMDP MAC code; MAC codes are not part of the "
            "IPD-IMGT/HLA release and are not supported, write the alleles out"
        )
    m = _ALLELE_RE.match(name)
    if m:
        fields = tuple(m["fields"].split(":"))
        group = m["group"]
        kind: Kind = "g_group" if group == "G" else "p_group" if group == "P" else "allele"
        return HlaName(m["locus"], kind, fields, m["suffix"] or "")
    s = _SEROLOGY_RE.match(name)
    if s:
        prefix, antigen = s["prefix"], s["antigen"].lstrip("0") or "0"
        serology_locus = SEROLOGY_LOCUS[prefix.rstrip("W") if prefix == "DPW" else prefix]
        if serology_locus == "DRB1" and antigen in _DR_SUPERTYPIC:
            serology_locus = _DR_SUPERTYPIC[antigen]
        return HlaName(serology_locus, "serology", antigen=antigen)
    raise HlaTypingError(
        f"malformed HLA name {raw!r}: expected LOCUS*NN:NN[:NN[:NN]][suffix] (e.g. A*02:01, "
        "A*01:01:01:02N), a G/P group (A*01:01:01G, A*01:01P) or an antigen (A2, B62, DR15)"
    )


@dataclass(frozen=True)
class Position:
    """One allele position of a locus; several names mean an ambiguous typing (``/``)."""

    names: tuple[HlaName, ...]

    @property
    def locus(self) -> str:
        return self.names[0].locus

    @property
    def text(self) -> str:
        first, *rest = self.names
        out = first.text
        for n in rest:
            out += "/" + (n.text.split("*", 1)[1] if n.kind != "serology" else n.text)
        return out

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class LocusTyping:
    """The two positions typed at one locus (a homozygous locus repeats the position)."""

    locus: str
    positions: tuple[Position, Position]

    @property
    def homozygous(self) -> bool:
        return self.positions[0] == self.positions[1]

    def __str__(self) -> str:
        a, b = self.positions
        return a.text if a == b else f"{a.text},{b.text}"


@dataclass(frozen=True)
class HlaTyping:
    """A person's typing: one :class:`LocusTyping` per typed locus, in :data:`LOCUS_ORDER`.

    ``str(typing)`` gives the whitespace-separated format and parses back to an equal typing.
    """

    loci: tuple[LocusTyping, ...]

    @property
    def typed_loci(self) -> tuple[str, ...]:
        return tuple(lt.locus for lt in self.loci)

    def get(self, locus: str) -> LocusTyping | None:
        return next((lt for lt in self.loci if lt.locus == locus), None)

    def __contains__(self, locus: object) -> bool:
        return self.get(str(locus)) is not None

    def __str__(self) -> str:
        return " ".join(str(lt) for lt in self.loci)

    def to_gl_string(self) -> str:
        """The typing as a GL String (``^`` between loci, ``+`` between alleles)."""

        def gl(position: Position) -> str:
            return "/".join(f"HLA-{n.text}" for n in position.names)

        return "^".join("+".join(gl(p) for p in lt.positions) for lt in self.loci)


def _parse_position(text: str) -> Position:
    parts = [p for p in text.split("/")]
    if any(not p.strip() for p in parts):
        raise HlaTypingError(f"empty name in ambiguous typing {text!r}")
    first = parse_name(parts[0])
    names = [first]
    for part in parts[1:]:
        names.append(parse_name(part, locus=first.locus if first.kind != "serology" else None))
    if len({n.locus for n in names}) > 1:
        loci = sorted({n.locus for n in names})
        raise HlaTypingError(f"ambiguous typing {text!r} mixes loci {loci}")
    return Position(tuple(names))


def _split_groups(text: str) -> list[list[str]]:
    if "|" in text or "~" in text:
        op = "|" if "|" in text else "~"
        raise HlaTypingError(
            f"GL String operator {op!r} (genotype list / haplotype) is not supported in {text!r}; "
            "give one genotype with '^', '+' and '/'"
        )
    if "^" in text or "+" in text:
        return [block.split("+") for block in text.split("^")]
    return [group.split(",") for group in re.split(r"[\s;]+", text) if group]


def parse_typing(text: str | HlaTyping) -> HlaTyping:
    """Parse a typing string (whitespace/``;``-separated loci or a GL String).

    >>> str(parse_typing("HLA-A*01:01+HLA-A*02:01^HLA-B*08:01"))
    'A*01:01,A*02:01 B*08:01'
    """
    if isinstance(text, HlaTyping):
        return text
    if not isinstance(text, str) or not text.strip():
        raise HlaTypingError(f"empty HLA typing {text!r}")
    by_locus: dict[str, list[Position]] = {}
    for group in _split_groups(text.strip()):
        if any(not item.strip() for item in group):
            raise HlaTypingError(f"empty allele in {text.strip()!r} (stray ',' '+' or '^'?)")
        positions = [_parse_position(item.strip()) for item in group]
        loci = {p.locus for p in positions}
        if len(loci) > 1:
            raise HlaTypingError(
                f"alleles of different loci {sorted(loci)} joined in {','.join(group)!r}; "
                "separate loci with a space, ';' or '^'"
            )
        by_locus.setdefault(positions[0].locus, []).extend(positions)
    loci_out = []
    for locus, positions in by_locus.items():
        if len(positions) > 2:
            shown = ", ".join(p.text for p in positions)
            raise HlaTypingError(f"locus {locus} has {len(positions)} alleles ({shown}); at most 2")
        pair = (positions[0], positions[-1])
        loci_out.append(LocusTyping(locus, pair))
    order = {locus: i for i, locus in enumerate(LOCUS_ORDER)}
    loci_out.sort(key=lambda lt: (order.get(lt.locus, len(order)), lt.locus))
    return HlaTyping(tuple(loci_out))
