"""The CIF and band plots write non-empty PNG files and reject malformed input."""

from __future__ import annotations

import numpy as np
import pytest

from marrowsim.cohort.estimators import aalen_johansen
from marrowsim.cohort.plots import plot_bands, plot_cif
from marrowsim.errors import InputError, UnknownNameError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _curve(seed: int):
    rng = np.random.default_rng(seed)
    time = rng.integers(8, 30, 80).astype(float)
    event = rng.choice([0, 1, 2], 80, p=[0.05, 0.85, 0.1])
    return aalen_johansen(time, event, 1)


def _bands(day, centre):
    return {"p05": centre * 0.4, "p50": centre, "p95": centre * 2.5}


def test_plot_cif_writes_png(tmp_path):
    out = plot_cif({"PBSC": _curve(0), "cord": _curve(1)}, tmp_path / "sub" / "cif.png")
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 5000


def test_plot_bands_writes_png_for_anc_and_platelets(tmp_path):
    day = np.arange(-7, 101, dtype=float)
    anc = np.clip(np.exp((day - 14) / 4), 0.01, 4.0)
    for quantity in ("anc", "platelets", "hemoglobin"):
        out = plot_bands(
            day,
            {"arm A": _bands(day, anc), "arm B": _bands(day, anc * 0.7)},
            tmp_path / f"{quantity}.png",
            quantity=quantity,
        )
        assert out.read_bytes().startswith(PNG_MAGIC) and out.stat().st_size > 5000


def test_plot_errors(tmp_path):
    day = np.arange(3.0)
    with pytest.raises(InputError, match="at least one arm"):
        plot_cif({}, tmp_path / "x.png")
    with pytest.raises(InputError, match="expected a CumulativeIncidence"):
        plot_cif({"a": [1, 2]}, tmp_path / "x.png")  # type: ignore[dict-item]
    with pytest.raises(InputError, match="PNG"):
        plot_cif({"a": _curve(0)}, tmp_path / "x.pdf")
    with pytest.raises(UnknownNameError, match="did you mean 'platelets'"):
        plot_bands(day, {"a": _bands(day, day + 1)}, tmp_path / "x.png", quantity="platelet")
    with pytest.raises(InputError, match="at least one arm"):
        plot_bands(day, {}, tmp_path / "x.png")
    with pytest.raises(InputError, match="missing quantiles"):
        plot_bands(day, {"a": {"p50": day}}, tmp_path / "x.png")
    with pytest.raises(InputError, match="differ from 3 days"):
        plot_bands(day, {"a": _bands(day, np.ones(4))}, tmp_path / "x.png")
