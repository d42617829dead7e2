"""Exception hierarchy of marrowsim.

Every error a user can cause is an :class:`InputError` (a :class:`ValueError`); the CLI turns
it into one line on stderr and exit code 2. Messages say what was wrong, echo the value received,
list what is allowed and, where possible, suggest the closest allowed value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class MarrowsimError(Exception):
    """Base class of every error raised on purpose by marrowsim."""


class InputError(MarrowsimError, ValueError):
    """Invalid input from a user: a file, a CLI option, an API argument."""


class UnknownNameError(InputError, KeyError):
    """A name (scenario, parameter, drug, regimen, allele …) that is not known.

    It is also a :class:`KeyError` so that mapping-style lookups behave as Python users expect.
    """

    def __init__(self, kind: str, value: object, allowed: Iterable[str], *, limit: int = 12):
        allowed = sorted(set(allowed))
        self.kind, self.value, self.allowed = kind, value, allowed
        hint = did_you_mean(str(value), allowed)
        shown = ", ".join(allowed[:limit]) + (", …" if len(allowed) > limit else "")
        message = f"unknown {kind} {value!r}"
        if hint:
            message += f"; did you mean {hint!r}?"
        message += f" (allowed: {shown})"
        super().__init__(message)

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0])


class ScenarioError(InputError):
    """A scenario file or mapping that does not validate."""


class ProtocolError(InputError):
    """A protocol line that does not parse or does not make sense."""


class DataNotFoundError(MarrowsimError, RuntimeError):
    """Reference data (for example the IPD-IMGT/HLA release) is missing; says how to get it."""


class SolverError(MarrowsimError, RuntimeError):
    """The numerical integration failed for a single run."""


def did_you_mean(value: str, allowed: Iterable[str]) -> str | None:
    """Return the allowed name closest to ``value`` (case-insensitive), or ``None``."""
    allowed = list(allowed)
    lowered = {a.lower(): a for a in allowed}
    match = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def lookup(kind: str, value: str, table: dict, *, case_insensitive: bool = True):
    """Look ``value`` up in ``table``; raise :class:`UnknownNameError` with a suggestion."""
    if value in table:
        return table[value]
    if case_insensitive:
        folded = {str(k).lower(): v for k, v in table.items()}
        if value.lower() in folded:
            return folded[value.lower()]
    raise UnknownNameError(kind, value, [str(k) for k in table])
