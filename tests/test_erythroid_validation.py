"""Validation rows 24, 26, 27, 30 of anchors.md §8 and the SCD baseline (§2) in the model.

Row 24 (Fitzhugh 2017; Abraham 2017): the donor myeloid chimerism below which the sickle
phenotype returns must emerge from the red-cell survival advantage of donor cells (115 d vs 12 d);
the row is checked on the steady states of a sweep of stable mixed chimerism.
"""

from __future__ import annotations

import numpy as np
import pytest

from marrowsim import default_parameters
from marrowsim.validation import erythroid_targets as et
from marrowsim.validation.erythroid_rows import erythroid_rows

PS = default_parameters()


@pytest.fixture(scope="module")
def sweep():
    return et.chimerism_sweep(PS, (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1.0))


def test_chimerism_is_stable_and_red_cells_are_enriched_in_donor_cells(sweep):
    for p in sweep:
        assert p.myeloid == pytest.approx(p.marrow_donor_share, abs=0.01)  # neutral competition
        if 0 < p.myeloid < 1:
            assert p.red_cells > p.myeloid + 0.2  # survival advantage of donor red cells
    hb = [p.hb for p in sweep]
    assert hb == sorted(hb)  # more donor cells, less anaemia


def test_row24_threshold_emerges_between_15_and_30_percent(sweep):
    t = et.threshold(sweep, "sickling_cells", et.SICKLE_PHENOTYPE_CELLS)
    assert 0.15 <= t <= 0.30
    # without the survival advantage the threshold would equal 1 - 0.30 = 70 % chimerism
    assert t < 0.5


def test_threshold_is_nan_when_never_crossed(sweep):
    assert np.isnan(et.threshold(sweep, "sickling_cells", -1.0))


def test_scd_baseline_population_hb_sits_in_the_registry_range():
    hb = et.scd_baseline_hb(PS, 20, seed=3)
    assert 8.0 <= np.median(hb) <= 9.3


def test_validation_rows_cover_24_26_27_30():
    rows, raw = erythroid_rows(PS, 12, 7)
    assert {r.row for r in rows} >= {"24", "26", "27", "30", "§2"}
    assert all(r.status in ("pass", "miss", "info") for r in rows)
    assert {"row24", "row30", "exa_cel_tdt"} <= set(raw)
    by_quantity = {r.quantity: r for r in rows}
    assert any("platelet engraftment" in q for q in by_quantity)


@pytest.mark.xfail(
    strict=True,
    reason="documented miss (docs/erythroid-disease.md §4): after non-myeloablative "
    "matched-sibling transplant most SCD patients keep stable mixed chimerism (Fitzhugh 2017: "
    "3 of 67 lost it); the model's alloimmunity is winner-take-all (no tolerance) and converts "
    "to full donor by ~day 180",
)
def test_scd_non_myeloablative_transplant_keeps_stable_mixed_chimerism():
    from marrowsim import Simulation

    frame = Simulation("scd-allo-nma-mixed-chimerism").run().to_pandas()
    myeloid = frame["donor_chimerism_myeloid"]
    assert 0.2 <= myeloid.loc[365] <= 0.95
    assert 0.2 <= myeloid.loc[729] <= 0.95
