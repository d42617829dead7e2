"""The registry of parameter files: one TOML file per source in ``parameters/sets/``.

File layout (``sets/Catlin2011.toml``)::

    [source]
    key = "Catlin2011"
    citation = "Catlin SN, ... Blood 2011;117:4460-4466."

    [parameters.hsc_division_rate]
    value = 0.00357
    units = "1/day"
    description = "..."
    location = "Abstract: once per 40 weeks (25-50)"
    bounds = [0.002, 0.006]
    prior = { distribution = "lognormal", cv = 0.2 }

Assumptions live in ``sets/Assumptions.toml`` with ``source = "assumption"`` at file level and an
``assumption = "reason"`` per parameter.
"""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from pathlib import Path

from marrowsim.errors import InputError
from marrowsim.parameters.parameter import Parameter, ParameterSet, Prior

_ALLOWED_KEYS = {
    "value",
    "units",
    "description",
    "location",
    "assumption",
    "bounds",
    "prior",
}


def _parse_file(path: Path | resources.abc.Traversable) -> list[Parameter]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    where = getattr(path, "name", str(path))
    try:
        source = data["source"]
        key, citation = source["key"], source.get("citation", "")
    except KeyError as exc:
        raise InputError(f"{where}: missing [source] key {exc}") from None
    out = []
    for name, spec in data.get("parameters", {}).items():
        unknown = set(spec) - _ALLOWED_KEYS
        if unknown:
            raise InputError(
                f"{where}: parameter {name!r} has unknown keys {sorted(unknown)} "
                f"(allowed: {', '.join(sorted(_ALLOWED_KEYS))})"
            )
        prior = Prior(**spec["prior"]) if "prior" in spec else Prior()
        bounds = tuple(spec["bounds"]) if "bounds" in spec else None
        out.append(
            Parameter(
                name=name,
                value=float(spec["value"]),
                units=spec["units"],
                description=spec.get("description", ""),
                source=key,
                location=spec.get("location", ""),
                assumption=spec.get("assumption", ""),
                bounds=bounds,  # type: ignore[arg-type]
                prior=prior,
                citation=citation,
            )
        )
    return out


def parameter_files() -> list[resources.abc.Traversable]:
    """The shipped parameter files, sorted by name."""
    sets = resources.files("marrowsim.parameters") / "sets"
    return sorted((f for f in sets.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)


def parameters_by_file() -> dict[str, list[Parameter]]:
    """The shipped parameters grouped by the file (one source) that defines them."""
    return {f.name.removesuffix(".toml"): _parse_file(f) for f in parameter_files()}


@functools.cache
def default_parameters() -> ParameterSet:
    """All shipped parameters. A name defined in two files is an error."""
    params: dict[str, Parameter] = {}
    for f in parameter_files():
        for p in _parse_file(f):
            if p.name in params:
                raise InputError(
                    f"parameter {p.name!r} defined twice ({params[p.name].source} and {p.source})"
                )
            params[p.name] = p
    return ParameterSet(params)
