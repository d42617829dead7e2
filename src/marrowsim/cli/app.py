"""The typer application object and the helpers every command shares.

Commands live in small modules of this package (``simulate.py``, ``hla.py`` …), each adding its
commands to :data:`app`. They are thin: parse options, call the public API, print. Heavy imports
happen inside the command functions so that ``marrowsim --help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import typer

app = typer.Typer(
    name="marrowsim",
    help="Simulate hematopoietic stem cell transplantation and bone-marrow restoration. "
    "Research and education software, not a medical device.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def print_json(obj: Any) -> None:
    """Write exactly one JSON object to stdout (NaN/inf become null)."""
    sys.stdout.write(json.dumps(_finite(obj), allow_nan=False) + "\n")


def _finite(obj: Any) -> Any:
    import math

    import numpy as np

    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _finite(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def check_positive(option: str, value: int | float | None) -> None:
    """Refuse a non-positive numeric option with one clear line."""
    from marrowsim.errors import InputError

    if value is not None and value <= 0:
        raise InputError(f"{option} must be positive, got {value}")
