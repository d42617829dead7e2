"""numba's cache directory is keyed by the compiled sources, also when numba was imported first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _cache_dir_after(imports: str, env: dict[str, str]) -> Path:
    """numba's cache directory in a fresh interpreter after ``imports``."""
    code = f"{imports}; from numba.core import config; print(config.CACHE_DIR)"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return Path(out.stdout.strip())


@pytest.mark.parametrize(
    "imports",
    ["import marrowsim", "import numba; import marrowsim"],
    ids=["marrowsim first", "numba first"],
)
def test_cache_dir_is_keyed_by_the_sources(tmp_path: Path, imports: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["MARROWSIM_CACHE_DIR"] = str(tmp_path)
    cache_dir = _cache_dir_after(imports, env)
    assert cache_dir.parent == tmp_path / "numba"
    assert len(cache_dir.name) == 16  # the hash of model/*.py and engine/*.py


def test_a_user_set_cache_dir_wins(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    assert _cache_dir_after("import numba; import marrowsim", env) == tmp_path / "mine"
