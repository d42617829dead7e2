"""Per-patient random streams: every draw of patient ``i`` comes from its own generator.

Patient ``i`` of a cohort with seed ``s`` has the generator
``numpy.random.default_rng(numpy.random.SeedSequence([s, i]))`` (PCG64). Its first ``width``
draws are 52-bit integers ``k``, turned into uniforms ``(k + 0.5) / 2**52`` strictly inside
(0, 1). Slots of that vector have fixed meanings (:class:`StreamLayout`):

* slots ``0 .. FATE_SLOTS-1``: uniforms reserved for :func:`marrowsim.cohort.fates.assign_fates`;
* the next ``COVARIATE_SLOTS``: one per covariate of the vocabulary, in vocabulary order (an arm
  that overrides a covariate's distribution reuses the same uniform: common random numbers);
* then one per model parameter, in sorted name order (every parameter has a slot, varied or not,
  so switching the variability of one parameter does not change the draws of the others).

A patient's draws therefore depend only on ``(seed, patient index)``, never on the chunk size or
the number of workers. To reproduce patient 1234 of seed 7 by hand:
``patient_uniforms(7, np.array([1234]), layout.width)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FATE_SLOTS = 8
COVARIATE_SLOTS = 32
_BITS = 52


@dataclass(frozen=True)
class StreamLayout:
    """Which uniform of a patient's stream feeds which quantity."""

    covariates: tuple[str, ...]
    parameters: tuple[str, ...]

    def __post_init__(self) -> None:
        if len(self.covariates) > COVARIATE_SLOTS:
            raise ValueError(f"at most {COVARIATE_SLOTS} covariates, got {len(self.covariates)}")
        object.__setattr__(self, "parameters", tuple(sorted(self.parameters)))

    @property
    def width(self) -> int:
        return FATE_SLOTS + COVARIATE_SLOTS + len(self.parameters)

    def covariate_slot(self, name: str) -> int:
        return FATE_SLOTS + self.covariates.index(name)

    def parameter_slot(self, name: str) -> int:
        return FATE_SLOTS + COVARIATE_SLOTS + self.parameters.index(name)

    @property
    def fate_slots(self) -> slice:
        return slice(0, FATE_SLOTS)


def patient_uniforms(seed: int, patients: Sequence[int] | np.ndarray, width: int) -> np.ndarray:
    """Uniforms in (0, 1), shape ``(len(patients), width)``; row ``r`` is patient ``patients[r]``.

    Each row comes from that patient's own generator (``SeedSequence([seed, index])``), so a
    row never depends on the other rows requested with it.
    """
    index = np.asarray(patients, dtype=np.int64)
    if seed < 0 or (index.size and index.min() < 0):
        raise ValueError(f"seed and patient indices must be >= 0, got seed {seed}")
    out = np.empty((index.size, width))
    scale = 2.0**-_BITS
    for row, i in enumerate(index.tolist()):
        rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
        out[row] = rng.integers(0, 2**_BITS, width, dtype=np.int64)
    out += 0.5
    out *= scale
    return out
