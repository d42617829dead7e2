"""Write fitted values back into the shipped parameter files (used by the calibration scripts).

Only the ``value = ...`` line of a parameter changes (and, optionally, its ``location``, where a
fit records the run that produced it); everything else in the file, including the provenance
text, stays as written. Each file is replaced atomically.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources

from marrowsim.io import write_text_atomic


def write_parameter_values(
    values: Mapping[str, float],
    files: Mapping[str, str],
    *,
    digits: int = 4,
    location: str | None = None,
) -> None:
    """Set ``value`` of each parameter in its file (``files[name]``, a name in ``sets/``).

    With ``location``, the parameter's ``location`` line is replaced too (e.g. the calibration
    run). Raises :class:`RuntimeError` if a parameter is not found exactly once.
    """
    folder = resources.files("marrowsim.parameters") / "sets"
    for name, value in values.items():
        path = folder / files[name]
        text = path.read_text(encoding="utf-8")
        block = rf"(\[parameters\.{re.escape(name)}\]\nvalue = )[^\n]+"
        if location is None:
            new, count = re.subn(block, rf"\g<1>{value:.{digits}g}", text)
        else:
            pattern = block + r"((?:\n(?!\[)[^\n]*)*?\nlocation = )[^\n]+"
            quoted = location.replace("\\", "\\\\").replace('"', '\\"')
            new, count = re.subn(pattern, f'\\g<1>{value:.{digits}g}\\g<2>"{quoted}"', text)
        if count != 1:
            raise RuntimeError(f"could not find parameter {name!r} in {path}")
        write_text_atomic(str(path), new)
