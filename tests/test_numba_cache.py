"""numba's cache directory is keyed by the compiled sources, also when numba was imported first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

_PRINT_CACHE_DIR = "from numba.core import config; print(config.CACHE_DIR)"


@pytest.mark.parametrize(
    "imports",
    ["import marrowsim", "import numba; import marrowsim"],
    ids=["marrowsim first", "numba first"],
)
def test_cache_dir_is_keyed_by_the_sources(tmp_path: Path, imports: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["MARROWSIM_CACHE_DIR"] = str(tmp_path)
    out = subprocess.run(
        [sys.executable, "-c", f"{imports}; {_PRINT_CACHE_DIR}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    cache_dir = Path(out.stdout.strip())
    assert cache_dir.parent == tmp_path / "numba"
    assert len(cache_dir.name) == 16  # the hash of model/*.py and engine/*.py


def test_a_user_set_cache_dir_wins(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "mine"))
    out = subprocess.run(
        [sys.executable, "-c", f"import numba; import marrowsim; {_PRINT_CACHE_DIR}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()) == tmp_path / "mine"
