"""engine/memory.zeros: large result arrays mapped in one go, otherwise np.zeros."""

from __future__ import annotations

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
