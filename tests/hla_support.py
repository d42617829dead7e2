"""Where the tests find the IPD-IMGT/HLA release (`MARROWSIM_HLA_DATA`, else ../shared)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def hla_data_dir() -> Path | None:
    """The release directory, or None when it is not there (the HLA tests are then skipped)."""
    env = os.environ.get("MARROWSIM_HLA_DATA")
    path = Path(env) if env else (Path(__file__).parents[1] / ".." / "shared/data/imgt-hla")
    return path.resolve() if (path / "hla_nom_g.txt").is_file() else None


needs_data = pytest.mark.skipif(
    hla_data_dir() is None,
    reason="IPD-IMGT/HLA release not found: set MARROWSIM_HLA_DATA (see docs/hla.md)",
)
