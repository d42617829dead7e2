"""Daily clone-tracking observables of the stochastic engine (numba).

Definitions (``docs/stochastic.md``): the *output* of clone ``i`` is its current flux of cells out
of the multipotent stages into the lineages, ``alpha gain k MPP3_i x differentiation(class)``; its
*output share* is that flux over the flux of all clones. A clone *contributes* when its output
share is at least the detection threshold. Shannon diversity ``-sum s ln s`` (nats) is taken over
the HSC shares and over the output shares; the largest-clone fraction is the largest share.
"""

from __future__ import annotations

import numpy as np

from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model.compiled import compiled_allocating

_TOTALS = (
    ("hsc", "cells"),
    ("mpp1", "cells"),
    ("mpp2", "cells"),
    ("mpp3", "cells"),
    ("mpp_output", "cells/day"),
    ("hsc_clones", "clones"),  # clones with at least one HSC
    ("contributing_clones", "clones"),  # output share >= detection threshold
    ("shannon_hsc", "nats"),
    ("shannon_output", "nats"),
    ("largest_clone_hsc", "1"),
    ("largest_clone_output", "1"),
)
CLONAL_OBSERVABLES = (
    _TOTALS
    + tuple((f"hsc_fraction_{name}", "1") for name in L.CLASS_NAMES)
    + tuple((f"output_fraction_{name}", "1") for name in L.CLASS_NAMES)
)
CLONAL_OBSERVABLE_NAMES = tuple(n for n, _ in CLONAL_OBSERVABLES)
CLONAL_OBSERVABLE_UNITS = dict(CLONAL_OBSERVABLES)
N_CLONAL_OBSERVABLES = len(CLONAL_OBSERVABLES)
(
    Q_HSC,
    Q_MPP1,
    Q_MPP2,
    Q_MPP3,
    Q_OUTPUT,
    Q_HSC_CLONES,
    Q_CONTRIBUTING,
    Q_SHANNON_HSC,
    Q_SHANNON_OUTPUT,
    Q_LARGEST_HSC,
    Q_LARGEST_OUTPUT,
) = range(len(_TOTALS))
Q_HSC_FRACTION = len(_TOTALS)  # + class index
Q_OUTPUT_FRACTION = Q_HSC_FRACTION + L.N_CLASSES  # + class index


@compiled_allocating
def observe_clones(counts, klass, c, cm, gain, threshold, out):
    """Fill ``out`` (length N_CLONAL_OBSERVABLES) from clone counts ``(clones, 4)`` and classes.

    ``gain`` is the MPP demand gain at that time (it scales the output flux, not the shares).
    Shares, diversities and fractions are NaN when there is nothing to share.
    """
    n = counts.shape[0]
    hsc_by_class = np.zeros(L.N_CLASSES)
    out_by_class = np.zeros(L.N_CLASSES)
    totals = np.zeros(4)
    flux_total = 0.0
    for i in range(n):
        if klass[i] < 0:
            continue
        for j in range(4):
            totals[j] += counts[i, j]
        hsc_by_class[klass[i]] += counts[i, 0]
        f = counts[i, 3] * cm[klass[i], K.CM_DIFFERENTIATION]
        out_by_class[klass[i]] += f
        flux_total += f
    for j in range(4):
        out[Q_HSC + j] = totals[j]
    out[Q_OUTPUT] = c[K.K_ALPHA_MPP] * gain * c[K.K_K_MPP] * flux_total
    hsc_clones = 0
    contributing = 0
    sh_hsc = 0.0
    sh_out = 0.0
    big_hsc = 0.0
    big_out = 0.0
    for i in range(n):
        if klass[i] < 0:
            continue
        if counts[i, 0] > 0:
            hsc_clones += 1
            s = counts[i, 0] / totals[0]
            sh_hsc -= s * np.log(s)
            big_hsc = max(big_hsc, s)
        f = counts[i, 3] * cm[klass[i], K.CM_DIFFERENTIATION]
        if f > 0.0:
            s = f / flux_total
            sh_out -= s * np.log(s)
            big_out = max(big_out, s)
            if s >= threshold:
                contributing += 1
    out[Q_HSC_CLONES] = hsc_clones
    out[Q_CONTRIBUTING] = contributing
    no_hsc = totals[0] <= 0.0
    no_out = flux_total <= 0.0
    out[Q_SHANNON_HSC] = np.nan if no_hsc else sh_hsc
    out[Q_SHANNON_OUTPUT] = np.nan if no_out else sh_out
    out[Q_LARGEST_HSC] = np.nan if no_hsc else big_hsc
    out[Q_LARGEST_OUTPUT] = np.nan if no_out else big_out
    for k in range(L.N_CLASSES):
        out[Q_HSC_FRACTION + k] = np.nan if no_hsc else hsc_by_class[k] / totals[0]
        out[Q_OUTPUT_FRACTION + k] = np.nan if no_out else out_by_class[k] / flux_total
