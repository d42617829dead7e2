"""Compiled helpers shared by the observables: sums over one clone class and guarded ratios."""

from __future__ import annotations

from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled


@compiled
def class_sum(y, k, compartments):
    """Cells of clone class ``k`` summed over ``compartments`` (indices within a class)."""
    o = k * L.N_COMPARTMENTS
    total = 0.0
    for j in compartments:
        total += y[o + j]
    return total


@compiled
def guarded_ratio(num, den):
    """``num / den``, and 0 where there is nothing to divide by (an empty compartment)."""
    return num / den if den > 0.0 else 0.0
