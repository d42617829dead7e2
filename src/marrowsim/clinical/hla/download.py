"""Fetch the official IPD-IMGT/HLA release files and check them against ``md5checksum.txt``.

Files come, unmodified, from the ANHIG/IMGTHLA GitHub repository (raw URLs), branch ``Latest``
or a release branch (``3580`` for 3.58.0). They are written in the upstream layout
(``wmda/…``, ``tce/dpb_tce.csv``, ``Allelelist.txt`` …) into a temporary directory next to the
destination, every file listed in ``wmda/md5checksum.txt`` is verified, and only then is the
directory renamed into place, so a failed download never leaves a half-written release.

The base URL can be replaced with ``MARROWSIM_HLA_BASE_URL`` (``file://`` URLs work), which is
how the tests run without network. Licence: CC BY-ND; see :data:`reference.CITATIONS`.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from marrowsim.clinical.hla.reference import default_download_dir
from marrowsim.errors import InputError, MarrowsimError

DEFAULT_BASE_URL = "https://raw.githubusercontent.com/ANHIG/IMGTHLA/"
ENV_BASE_URL = "MARROWSIM_HLA_BASE_URL"
RELEASE_FILES = (
    "wmda/md5checksum.txt",
    "wmda/README.md",
    "wmda/hla_nom.txt",
    "wmda/hla_nom_g.txt",
    "wmda/hla_nom_p.txt",
    "wmda/rel_dna_ser.txt",
    "wmda/rel_ser_ser.txt",
    "tce/dpb_tce.csv",
    "Allelelist.txt",
    "release_version.txt",
    "LICENCE.md",
)


class DownloadError(MarrowsimError, RuntimeError):
    """A release file could not be fetched or failed its checksum."""


def release_branch(release: str) -> str:
    """``"Latest"`` → ``"Latest"``; ``"3.58.0"`` or ``"3580"`` → ``"3580"``."""
    text = release.strip()
    if text.lower() == "latest":
        return "Latest"
    if re.fullmatch(r"\d\.\d{1,2}\.\d", text):
        return text.replace(".", "")
    if re.fullmatch(r"\d{3,4}", text):
        return text
    raise InputError(
        f"malformed IPD-IMGT/HLA release {release!r}; expected 'Latest', '3.58.0' or '3580'"
    )


def parse_md5sums(text: str) -> dict[str, str]:
    """Parse ``MD5 (name) = hex`` lines (BSD style) or ``hex  name`` lines (GNU style)."""
    sums: dict[str, str] = {}
    for line in text.splitlines():
        m = re.match(r"^MD5 \((.+)\) = ([0-9a-fA-F]{32})\s*$", line.strip()) or re.match(
            r"^([0-9a-fA-F]{32})\s+\*?(.+)$", line.strip()
        )
        if not m:
            continue
        name, digest = (m[1], m[2]) if line.strip().startswith("MD5") else (m[2], m[1])
        sums[name.strip()] = digest.lower()
    return sums


def _fetch(url: str) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise DownloadError(f"could not fetch {url}: {exc}") from None


def download_release(
    release: str = "Latest",
    dest: str | os.PathLike | None = None,
    *,
    base_url: str | None = None,
) -> Path:
    """Download ``release`` into ``dest`` (default: the user data folder) and return the path."""
    branch = release_branch(release)
    base = base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
    base = base if base.endswith("/") else base + "/"
    target = Path(dest).expanduser() if dest is not None else default_download_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        for rel in RELEASE_FILES:
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(_fetch(f"{base}{branch}/{rel}"))
        sums = parse_md5sums((tmp / "wmda/md5checksum.txt").read_text(encoding="utf-8"))
        if not sums:
            raise DownloadError(f"{base}{branch}/wmda/md5checksum.txt lists no checksums")
        for name, expected in sums.items():
            path = tmp / "wmda" / name
            if not path.is_file():  # listed upstream but not in RELEASE_FILES
                path.write_bytes(_fetch(f"{base}{branch}/wmda/{name}"))
            actual = hashlib.md5(path.read_bytes()).hexdigest()
            if actual != expected:
                raise DownloadError(
                    f"checksum mismatch for wmda/{name}: md5 {actual}, md5checksum.txt says "
                    f"{expected}; the download is incomplete or corrupted (nothing was written)"
                )
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _swap_into_place(tmp: Path, target: Path) -> None:
    if not target.exists():
        os.replace(tmp, target)
        return
    old = target.with_name(f".{target.name}-old-{os.getpid()}")
    os.replace(target, old)
    try:
        os.replace(tmp, target)
    except OSError:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)
