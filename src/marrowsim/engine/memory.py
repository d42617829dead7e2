"""Large result arrays whose pages are mapped in one go, while the engine computes.

A 365-day result for 10^4 patients is 1.5 GB of observables (patients x days x observables,
float64). ``np.zeros`` maps its pages lazily: the engine's first write to each 4 KiB page is a
page fault, and on the 2-core development VM those 3.7 x 10^5 faults took ~3.2 s, a quarter of a
one-thread run (transparent huge pages did not help there: mapping 2 MiB pages took 0.14-2 s,
depending on how much the kernel had to compact memory first). Mapping every page at once
(``MAP_POPULATE``, or ``madvise(MADV_POPULATE_WRITE)``) takes ~0.5 s for the same 1.5 GB.

:func:`zeros` with ``shares`` goes one step further: a background thread maps the pages while
the engine already computes (the engine's kernels release the GIL), in the order the engine's
threads write them (``shares`` contiguous runs of the first axis, one per thread, mapped
alternately from their starts). On 2 cores that hides about half of the 0.5 s. A page the engine
reaches first is simply faulted in by the engine (correct, only slower): the values never depend
on the thread. :func:`wait_mapped` joins it; ``engine.solve`` does so before it returns.

The memory is the same as with ``np.zeros`` (the engine writes every element anyway); only the
way the pages are mapped differs.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import threading
from collections.abc import Callable

import numpy as np

POPULATE_FROM_BYTES = 64 * 2**20  # smaller arrays: np.zeros (few pages, often reused memory)
MADV_POPULATE_WRITE = 23  # Linux >= 5.14 (include/uapi/asm-generic/mman-common.h)
CHUNK_BYTES = 4 * 2**20  # pages mapped per madvise call of the background thread


class _Mapping(mmap.mmap):
    """An anonymous mapping, with the thread (if any) that maps its pages."""

    filler: threading.Thread | None = None


@functools.cache
def _madvise() -> Callable[[int, int, int], int] | None:
    """libc's ``madvise`` if this kernel has ``MADV_POPULATE_WRITE`` (tried on one page)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    function.restype = ctypes.c_int
    probe = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    page = np.frombuffer(probe, dtype=np.uint8)
    works = function(page.ctypes.data, mmap.PAGESIZE, MADV_POPULATE_WRITE) == 0
    del page  # releases the buffer, so the probe can be closed
    probe.close()
    return function if works else None


def zeros(shape: tuple[int, ...], dtype: type = np.float64, *, shares: int = 0) -> np.ndarray:
    """``np.zeros(shape, dtype)``; from :data:`POPULATE_FROM_BYTES` on (Linux), backed by an
    anonymous mapping (zero-filled, writable, C-contiguous, freed with the last array that uses
    it) whose pages are mapped at once: by a background thread in ``shares`` runs of the first
    axis if ``shares`` > 0 and the kernel has ``MADV_POPULATE_WRITE`` (join it with
    :func:`wait_mapped`), else here with ``MAP_POPULATE``."""
    dtype_ = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype_.itemsize
    populate = getattr(mmap, "MAP_POPULATE", None)
    if size < POPULATE_FROM_BYTES or populate is None:
        return np.zeros(shape, dtype_)
    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    madvise = _madvise() if shares > 0 else None
    try:
        buffer = _Mapping(-1, size, flags=flags if madvise else flags | populate)
    except (OSError, ValueError):  # no such mapping here (or not enough memory at once)
        return np.zeros(shape, dtype_)
    array = np.frombuffer(buffer, dtype=dtype_).reshape(shape)
    if madvise is not None:
        runs = _runs(size, shape[0], shares)
        buffer.filler = threading.Thread(
            target=_map_pages, args=(madvise, buffer, array.ctypes.data, runs), daemon=True
        )
        buffer.filler.start()
    return array


def _runs(size: int, rows: int, shares: int) -> list[tuple[int, int]]:
    """Byte ranges of ``shares`` contiguous runs of whole rows, page-aligned."""
    row_bytes = size // max(rows, 1)
    per = -(-rows // shares)
    page = mmap.PAGESIZE
    first_rows = [min(rows, s * per) for s in range(shares)]
    bounds = [size if r == rows else r * row_bytes // page * page for r in first_rows] + [size]
    return [(bounds[s], bounds[s + 1]) for s in range(shares) if bounds[s] < bounds[s + 1]]


def _map_pages(madvise, buffer: _Mapping, start: int, runs: list[tuple[int, int]]) -> None:
    """Map the pages of ``runs`` (byte ranges of ``buffer``), a chunk of each run in turn.
    ``buffer`` is held so that the mapping outlives the thread."""
    position = [lo for lo, _ in runs]
    busy = True
    while busy:
        busy = False
        for r, (_, hi) in enumerate(runs):
            n = min(CHUNK_BYTES, hi - position[r])
            if n > 0:
                if madvise(start + position[r], n, MADV_POPULATE_WRITE) != 0:
                    return  # out of memory now: the engine's own writes fault the pages in
                position[r] += n
                busy = True


def wait_mapped(array: np.ndarray) -> None:
    """Wait until the background thread of :func:`zeros` (if any) has mapped ``array``'s pages."""
    owner = array
    while isinstance(owner, np.ndarray):
        owner = owner.base
    mapping = getattr(owner, "obj", owner)
    filler = getattr(mapping, "filler", None)
    if filler is not None:
        filler.join()
        mapping.filler = None
