"""Point numba's on-disk cache at a directory keyed by the compiled sources.

numba's ``cache=True`` does not notice when a function *called* by a cached function changes
(numba issue #6845), so a cache kept across versions can silently run stale code. marrowsim keys its
cache directory by a hash of the compiled modules' sources. A user-set ``NUMBA_CACHE_DIR`` wins.

numba reads its configuration when it is first imported; a program that imports numba before
marrowsim would otherwise keep numba's default cache (``__pycache__`` beside each module, keyed by
that module's own timestamp only), where a changed constant in ``model/layout.py`` leaves every
cached caller stale: wrong results or a crash. :func:`configure` therefore makes an
already-imported numba re-read the variable.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

_COMPILED_PACKAGES = ("model", "engine")


def configure() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    root = Path(__file__).parent
    digest = hashlib.sha256()
    for package in _COMPILED_PACKAGES:
        for path in sorted((root / package).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    base = Path(os.environ.get("MARROWSIM_CACHE_DIR") or Path.home() / ".cache" / "marrowsim")
    os.environ["NUMBA_CACHE_DIR"] = str(base / "numba" / digest.hexdigest()[:16])
    if "numba.core.config" in sys.modules:  # imported before marrowsim: re-read the environment
        sys.modules["numba.core.config"].reload_config()
