"""Daily quantile bands of blood counts from mergeable log-scale histograms.

Each chunk counts, per arm, observable and day, how many patients fall in each of ``BINS``
log-spaced bins (``BINS_PER_DECADE`` per decade from ``10**LOG10_LOW`` to ``10**LOG10_HIGH``, one
underflow bin for smaller values, including 0, and one overflow bin). Counts add exactly across
chunks, so the bands of a run do not depend on chunking or workers and memory does not grow with
the number of patients. A quantile is read off the merged counts as the geometric middle of the
bin where the cumulative count first reaches ``q * n`` (``n`` = patients with a finite value that
day): within ±1.2 % of the exact sample quantile. Underflow reads as ``10**LOG10_LOW`` ("at or
below"), overflow as ``10**LOG10_HIGH``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa

BAND_OBSERVABLES = ("anc", "platelets", "hb")
QUANTILES = {"p05": 0.05, "p50": 0.50, "p95": 0.95}
LOG10_LOW, LOG10_HIGH, BINS_PER_DECADE = -4, 4, 100
BINS = (LOG10_HIGH - LOG10_LOW) * BINS_PER_DECADE + 2  # + underflow + overflow


def bin_index(values: np.ndarray) -> np.ndarray:
    """Histogram bin of each value (finite values only)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = (np.log10(values) - LOG10_LOW) * BINS_PER_DECADE
    idx = np.floor(np.where(values > 0, pos, -1.0)) + 1
    return np.clip(idx, 0, BINS - 1).astype(np.int64)


def bin_value(index: np.ndarray) -> np.ndarray:
    """Representative value of each bin (geometric middle; edges for under/overflow)."""
    index = np.asarray(index)
    mid = 10.0 ** (LOG10_LOW + (index - 0.5) / BINS_PER_DECADE)
    mid = np.where(index <= 0, 10.0**LOG10_LOW, mid)
    return np.where(index >= BINS - 1, 10.0**LOG10_HIGH, mid)


def count(values: np.ndarray) -> np.ndarray:
    """Counts ``(days, BINS)`` of a ``(patients, days)`` array (NaN ignored)."""
    n_days = values.shape[1]
    finite = np.isfinite(values)
    day = np.broadcast_to(np.arange(n_days), values.shape)[finite]
    flat = day * BINS + bin_index(values[finite])
    return np.bincount(flat, minlength=n_days * BINS).reshape(n_days, BINS)


def to_table(arm: str, counts: Mapping[str, np.ndarray], days: np.ndarray) -> pa.Table:
    """Sparse rows (arm, observable, day, bin, count) of the non-zero counts of one arm."""
    parts = []
    for name, c in counts.items():
        d, b = np.nonzero(c)
        parts.append(
            pa.table(
                {
                    "arm": pa.array([arm] * len(d), pa.string()),
                    "observable": pa.array([name] * len(d), pa.string()),
                    "day": pa.array(days[d].astype(np.int32)),
                    "bin": pa.array(b.astype(np.int32)),
                    "count": pa.array(c[d, b].astype(np.int64)),
                }
            )
        )
    return pa.concat_tables(parts)


class BandAccumulator:
    """Merged counts of many chunks: ``add`` each chunk's table, then ``quantiles``."""

    def __init__(self, arms: Iterable[str], days: np.ndarray):
        self.arms = tuple(arms)
        self.days = np.asarray(days)
        shape = (len(self.arms), len(BAND_OBSERVABLES), len(self.days), BINS)
        self.counts = np.zeros(shape, dtype=np.int64)

    def add(self, table: pa.Table) -> None:
        import pandas as pd

        arm = pd.Categorical(table.column("arm").to_pandas(), categories=self.arms).codes
        obs = pd.Categorical(
            table.column("observable").to_pandas(), categories=BAND_OBSERVABLES
        ).codes
        day = table.column("day").to_numpy() - self.days[0]
        b = table.column("bin").to_numpy()
        np.add.at(self.counts, (arm, obs, day, b), table.column("count").to_numpy())

    def quantiles(self) -> dict[str, dict[str, dict[str, np.ndarray]]]:
        """observable -> arm -> {"p05", "p50", "p95"} arrays over days (NaN: no patient)."""
        out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
        for k, name in enumerate(BAND_OBSERVABLES):
            out[name] = {}
            for a, arm in enumerate(self.arms):
                c = self.counts[a, k]
                cum = np.cumsum(c, axis=1)
                n = cum[:, -1]
                bands = {}
                for key, q in QUANTILES.items():
                    target = np.maximum(np.ceil(q * n), 1)
                    idx = (cum < target[:, None]).sum(axis=1)
                    bands[key] = np.where(n > 0, bin_value(idx), np.nan)
                out[name][arm] = bands
        return out
