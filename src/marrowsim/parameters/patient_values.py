"""One patient's parameter values as a read-only mapping over a batch's per-parameter arrays."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np


class PatientValues(Mapping[str, float]):
    """Patient ``i``'s parameter values, read from the batch's arrays on demand. Building a dict
    of every parameter (~300) for every patient cost more than the event builders that read a
    handful of them (~60 us per patient and builder in a cohort)."""

    def __init__(self, arrays: Mapping[str, np.ndarray], i: int) -> None:
        self._arrays, self._i = arrays, i

    def __getitem__(self, name: str) -> float:
        return float(self._arrays[name][self._i])

    def __iter__(self) -> Iterator[str]:
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)
