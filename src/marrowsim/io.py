"""Atomic file writes: write to a temporary file in the same folder, then rename."""

from __future__ import annotations

import functools
import os
import stat
import tempfile
from pathlib import Path


def process_umask() -> int:
    """The process's umask, read without changing it where the kernel reports it (Linux >= 4.7,
    ``/proc/self/status``). Elsewhere it can only be read by setting and restoring it, which is
    process-wide: a thread creating a file in that instant (a Dask worker writing a chunk) would
    get the temporary mask. That is done once per process (:func:`_umask_by_setting`)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return _umask_by_setting()


@functools.cache
def _umask_by_setting() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def _mode_for(path: Path) -> int:
    """The permissions of the file being replaced, else those of a new file under the umask
    (the temporary file of :func:`tempfile.mkstemp` is private, 0600)."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~process_umask()


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers never see a partial file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_text_atomic(path: str | Path, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
