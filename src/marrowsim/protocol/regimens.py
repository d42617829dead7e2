"""Named conditioning regimens: cited TOML files in ``protocol/regimens/``, one per regimen.

File layout (``regimens/FluBu2.toml``)::

    name = "FluBu2"
    aliases = ["Flu/Bu2"]
    intensity = "reduced_intensity"      # myeloablative | reduced_intensity | nonmyeloablative
    indication = "allogeneic"            # allogeneic | autologous
    steps = ["Fludarabine 30 mg/m^2 IV daily on days -5 to -2", ..., "Infuse graft on day 0"]
    source_key = "Alyea2005"             # AuthorYear, as the parameter files
    source = "Alyea EP et al. Blood 2005;105:1810"
    location = "abstract"
    notes = "what is verified, what is not and why it is used"

Names match case-insensitively and ignoring ``/``, ``-``, spaces (``flu/bu2`` = ``FluBu2``).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from marrowsim.errors import ProtocolError, UnknownNameError
from marrowsim.protocol.protocol import Protocol

INTENSITIES = ("myeloablative", "reduced_intensity", "nonmyeloablative")
INDICATIONS = ("allogeneic", "autologous")
_REQUIRED = (
    "name",
    "intensity",
    "indication",
    "steps",
    "source_key",
    "source",
    "location",
    "notes",
)
_OPTIONAL = ("aliases",)


@dataclass(frozen=True)
class Regimen:
    """A named regimen: its protocol (conditioning days negative, ``Infuse graft on day 0``) and
    provenance. ``notes`` says which doses are verified and which are UNVERIFIED, and why."""

    name: str
    intensity: str
    indication: str
    protocol: Protocol
    source_key: str
    source: str
    location: str
    notes: str
    aliases: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        """False when the notes label any dose UNVERIFIED."""
        return "UNVERIFIED" not in self.notes

    def summary(self) -> dict[str, object]:
        """Plain dictionary for JSON output."""
        return {
            "name": self.name,
            "aliases": list(self.aliases),
            "intensity": self.intensity,
            "indication": self.indication,
            "steps": list(self.protocol.lines),
            "source_key": self.source_key,
            "source": self.source,
            "location": self.location,
            "notes": self.notes,
            "verified": self.verified,
        }


def _key(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.lower())


def load_regimen_file(path: Traversable) -> Regimen:
    """Read and validate one regimen file (raises :class:`ProtocolError` naming the file)."""
    where = path.name
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError(f"regimen file {where}: not valid TOML ({exc})") from None
    missing = [k for k in _REQUIRED if k not in data]
    unknown = sorted(set(data) - set(_REQUIRED) - set(_OPTIONAL))
    if missing or unknown:
        raise ProtocolError(
            f"regimen file {where}: missing keys {missing}, unknown keys {unknown} "
            f"(allowed: {', '.join(_REQUIRED + _OPTIONAL)})"
        )
    for key, allowed in (("intensity", INTENSITIES), ("indication", INDICATIONS)):
        if data[key] not in allowed:
            raise ProtocolError(
                f"regimen file {where}: {key} {data[key]!r} is not one of {', '.join(allowed)}"
            )
    try:
        protocol = Protocol.from_lines(data["steps"])
    except ProtocolError as exc:
        exc.args = (f"regimen file {where}: {exc}",)
        raise
    return Regimen(
        name=data["name"],
        intensity=data["intensity"],
        indication=data["indication"],
        protocol=protocol,
        source_key=data["source_key"],
        source=data["source"],
        location=data["location"],
        notes=data["notes"],
        aliases=tuple(data.get("aliases", ())),
    )


@functools.cache
def _regimens() -> dict[str, Regimen]:
    folder = resources.files("marrowsim.protocol").joinpath("regimens")
    files = sorted((p for p in folder.iterdir() if p.name.endswith(".toml")), key=lambda p: p.name)
    return {r.name: r for r in map(load_regimen_file, files)}


@functools.cache
def _regimens_by_key() -> dict[str, Regimen]:
    """Every spelling (name and aliases, normalised by ``_key``) -> regimen; built once."""
    by_key: dict[str, Regimen] = {}
    for r in _regimens().values():
        for spelling in (r.name, *r.aliases):
            by_key[_key(spelling)] = r
    return by_key


def list_regimens() -> tuple[Regimen, ...]:
    """Every named regimen, sorted by name."""
    return tuple(sorted(_regimens().values(), key=lambda r: r.name.lower()))


def regimen(name: str) -> Regimen:
    """The regimen called ``name`` or one of its aliases (case-, ``/``- and ``-``-insensitive).

    Raises :class:`UnknownNameError` with the closest name.
    """
    found = _regimens_by_key().get(_key(name))
    if found is None:
        raise UnknownNameError("regimen", name, list(_regimens()))
    return found
