"""engine/memory.zeros: large result arrays mapped in one go, otherwise np.zeros."""

from __future__ import annotations

import itertools
import mmap

import numpy as np
import pytest

from marrowsim.engine import memory


def test_small_arrays_are_plain_zeros():
    a = memory.zeros((3, 4))
    assert a.flags.owndata and a.shape == (3, 4) and not a.any()


@pytest.mark.skipif(not hasattr(mmap, "MAP_POPULATE"), reason="MAP_POPULATE is Linux only")
def test_large_arrays_are_a_populated_zero_mapping(monkeypatch):
    monkeypatch.setattr(memory, "POPULATE_FROM_BYTES", 1024)
    a = memory.zeros((100, 7, 3))
    owner = a
    while isinstance(owner, np.ndarray):
        owner = owner.base
    assert isinstance(owner.obj, mmap.mmap)  # a view of the mapping, not numpy's allocator
    assert a.shape == (100, 7, 3) and a.dtype == np.float64
    assert a.flags.c_contiguous and a.flags.writeable and not a.any()
    a[5, 2, 1] = 4.0
    assert a.sum() == 4.0
    counts = memory.zeros((500,), np.int64)
    assert counts.dtype == np.int64 and not counts.any()


@pytest.mark.skipif(memory._madvise() is None, reason="needs Linux >= 5.14 (MADV_POPULATE_WRITE)")
def test_large_arrays_mapped_by_a_background_thread_keep_every_write(monkeypatch):
    monkeypatch.setattr(memory, "POPULATE_FROM_BYTES", 1024)
    monkeypatch.setattr(memory, "CHUNK_BYTES", mmap.PAGESIZE)  # many small steps
    a = memory.zeros((64, 100, 49), shares=3)
    a[0, 0, 0] = 1.0  # the engine writes while the thread maps: both are fine
    a[-1, -1, -1] = 2.0
    memory.wait_mapped(a)
    memory.wait_mapped(a)  # joined once, then a no-op
    assert a.shape == (64, 100, 49) and a.flags.c_contiguous and a.flags.writeable
    assert a.sum() == 3.0
    assert memory.wait_mapped(np.zeros(3)) is None  # any other array: nothing to wait for


def test_runs_cover_the_rows_in_page_aligned_shares():
    page = mmap.PAGESIZE
    size = 1000 * 37 * 8
    runs = memory._runs(size, 1000, 3)
    assert runs[0][0] == 0 and runs[-1][1] == size
    assert all(a[1] == b[0] for a, b in itertools.pairwise(runs))
    assert all(lo % page == 0 for lo, _ in runs)
    assert len(memory._runs(size, 2, 8)) <= 2  # more shares than rows: no empty runs
