"""Large result arrays whose pages are mapped in one go.

A 365-day result for 10^4 patients is 1.5 GB of observables (patients x days x observables,
float64). ``np.zeros`` maps its pages lazily: the engine's first write to each 4 KiB page is a
page fault, and on the 2-core development VM those 3.7 x 10^5 faults took ~3.2 s, a quarter of a
one-thread run (transparent huge pages did not help there). An anonymous mapping made with
``MAP_POPULATE`` maps every page at once: 0.5 s for the same 1.5 GB. The memory is the same
(the engine writes every element anyway); only the way it is mapped differs.
"""

from __future__ import annotations

import mmap

import numpy as np

POPULATE_FROM_BYTES = 64 * 2**20  # smaller arrays: np.zeros (few pages, often reused memory)


def zeros(shape: tuple[int, ...], dtype: type = np.float64) -> np.ndarray:
    """``np.zeros(shape, dtype)``; from :data:`POPULATE_FROM_BYTES` on, where the platform has
    ``MAP_POPULATE`` (Linux), backed by a populated anonymous mapping (zero-filled, writable,
    C-contiguous, freed with the last array that uses it)."""
    dtype_ = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64)) * dtype_.itemsize
    populate = getattr(mmap, "MAP_POPULATE", None)
    if size < POPULATE_FROM_BYTES or populate is None:
        return np.zeros(shape, dtype_)
    try:
        buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    except (OSError, ValueError):  # no such mapping here (or not enough memory at once)
        return np.zeros(shape, dtype_)
    return np.frombuffer(buffer, dtype=dtype_).reshape(shape)
