"""``Protocol``: an ordered, frozen tuple of steps that reads from and prints to protocol text."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from marrowsim.errors import ProtocolError
from marrowsim.protocol.grammar import parse_step
from marrowsim.protocol.steps import STEP_TYPES, Infusion, Step

S = TypeVar("S")


@dataclass(frozen=True)
class Protocol:
    """The steps of a treatment in the order written.

    Rules across lines: at most one :class:`Infusion` and, if present, on day 0 (day 0 is by
    definition the day of graft infusion). A double cord graft is still one ``Infuse graft on
    day 0`` line; its two units are described in the scenario's ``[graft]``. A protocol without an
    infusion (mobilization, immunosuppressive therapy) counts days from the start of treatment.
    """

    steps: tuple[Step, ...] = ()

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        for step in steps:
            if not isinstance(step, STEP_TYPES):
                raise ProtocolError(f"not a protocol step: {step!r}")
        object.__setattr__(self, "steps", steps)
        infusions = [s for s in steps if isinstance(s, Infusion)]
        if len(infusions) > 1:
            raise ProtocolError(
                f"a protocol has one graft infusion ('Infuse graft on day 0'), got "
                f"{len(infusions)}; a double cord graft is one line, its two units are "
                f"described in the scenario's [graft]"
            )
        if infusions and infusions[0].day != 0:
            raise ProtocolError(
                f"the graft infusion defines day 0; got 'Infuse graft on day "
                f"{infusions[0].day}' (write it on day 0 and count the other days from it)"
            )

    @classmethod
    def from_lines(cls, lines: Iterable[str] | str) -> Protocol:
        """Parse protocol lines (blank lines and ``#`` comments are skipped).

        A single string is split into lines. Errors name the line number.
        """
        if isinstance(lines, str):
            lines = lines.splitlines()
        lines = tuple(lines)
        if all(isinstance(line, str) for line in lines):
            return _parse_lines(cls, lines)  # parsed once per distinct text (steps are frozen)
        return cls._parse(lines)

    @classmethod
    def _parse(cls, lines: tuple) -> Protocol:
        steps = []
        for number, line in enumerate(lines, start=1):
            if not isinstance(line, str):
                raise ProtocolError(f"line {number}: a protocol line must be text, got {line!r}")
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                steps.append(parse_step(text))
            except ProtocolError as exc:
                exc.args = (f"line {number}: {exc}",)
                raise
        return cls(tuple(steps))

    def steps_of(self, kind: type[S]) -> tuple[S, ...]:
        """The steps of one type, in order: ``protocol.steps_of(DrugDose)``."""
        return tuple(s for s in self.steps if isinstance(s, kind))

    @property
    def lines(self) -> tuple[str, ...]:
        """Canonical text of each step."""
        return tuple(str(s) for s in self.steps)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    def __len__(self) -> int:
        return len(self.steps)

    def __add__(self, other: Protocol) -> Protocol:
        """Concatenate two protocols (e.g. a regimen plus supportive care)."""
        if not isinstance(other, Protocol):
            return NotImplemented
        return Protocol(self.steps + other.steps)


@functools.lru_cache(maxsize=1024)
def _parse_lines(cls: type[Protocol], lines: tuple[str, ...]) -> Protocol:
    return cls._parse(lines)
