"""Cohort figures: cumulative incidence curves and blood-count bands, written as PNG.

Conventions follow ``../shared/science/clinical.md`` §5.3 (design guidance): day 0 = infusion,
x axis to day +100, marks at day +28 and +42 (graft-failure checkpoints), numbers at risk under
the axis, ANC and platelets on a log axis with threshold lines at ANC 0.5 ×10^9/L and
platelets 20 ×10^9/L (ASTCT recovery thresholds, clinical.md §2.1).

Uses matplotlib's object API with the Agg canvas (no pyplot state, no display needed).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike

from marrowsim.cohort.estimators import CumulativeIncidence
from marrowsim.errors import InputError, UnknownNameError

__all__ = ["BAND_KEYS", "COUNT_THRESHOLDS", "plot_bands", "plot_cif"]

BAND_KEYS = ("p05", "p50", "p95")
# quantity -> (threshold in 10^9/L, axis label); ASTCT recovery thresholds (clinical.md §2.1).
COUNT_THRESHOLDS: dict[str, tuple[float | None, str]] = {
    "anc": (0.5, "ANC (×10⁹/L)"),
    "platelets": (20.0, "Platelets (×10⁹/L)"),
    "wbc": (None, "WBC (×10⁹/L)"),
    "alc": (None, "ALC (×10⁹/L)"),
    "hemoglobin": (None, "Hb (g/dL)"),
}
_LOG_QUANTITIES = {"anc", "platelets", "wbc", "alc"}


def _new_figure(height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, height), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    out = Path(path)
    if out.suffix.lower() != ".png":
        raise InputError(f"figures are written as PNG; got {str(out)!r} (use a .png path)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png")
    return out


def plot_cif(
    curves_by_arm: Mapping[str, CumulativeIncidence],
    path: str | Path,
    *,
    title: str = "Cumulative incidence of neutrophil engraftment",
    max_day: float = 100.0,
    marks: Sequence[float] = (28.0, 42.0),
    at_risk_days: Sequence[float] = (0, 14, 28, 42, 56, 70, 84, 100),
    show_ci: bool = True,
) -> Path:
    """Step plot of one cumulative incidence curve per arm, with CI bands and numbers at risk.

    ``curves_by_arm`` maps an arm label to an :class:`~marrowsim.cohort.estimators.
    CumulativeIncidence` (for example from :func:`marrowsim.cohort.statistics.
    engraftment_incidence`). Returns the PNG path.
    """
    if not curves_by_arm:
        raise InputError("plot_cif needs at least one arm (got an empty mapping)")
    for arm, curve in curves_by_arm.items():
        if not isinstance(curve, CumulativeIncidence):
            raise InputError(
                f"arm {arm!r}: expected a CumulativeIncidence (from aalen_johansen), "
                f"got {type(curve).__name__}"
            )
    n_arms = len(curves_by_arm)
    fig = _new_figure(4.6 + 0.25 * n_arms)
    ax = fig.add_axes((0.12, 0.16 + 0.05 * n_arms, 0.84, 0.74 - 0.05 * n_arms))
    for arm, curve in curves_by_arm.items():
        x = np.r_[0.0, curve.times, max_day]
        y = np.r_[0.0, curve.cif, curve.at(max_day)]
        keep = x <= max_day
        (line,) = ax.step(x[keep], y[keep], where="post", label=arm, lw=1.8)
        if show_ci:
            lo = np.r_[0.0, curve.lower, curve.interval_at(max_day)[0]]
            hi = np.r_[0.0, curve.upper, curve.interval_at(max_day)[1]]
            ax.fill_between(
                x[keep], lo[keep], hi[keep], step="post", alpha=0.18, color=line.get_color()
            )
    for day in marks:
        ax.axvline(day, color="0.5", ls=":", lw=1)
        ax.text(day, 1.01, f"d{day:g}", ha="center", va="bottom", fontsize=8, color="0.35")
    ax.set_xlim(0, max_day)
    ax.set_ylim(0, 1.0)
    ax.set_xticks(list(at_risk_days))
    ax.set_xlabel("Day after infusion")
    ax.set_ylabel("Cumulative incidence")
    ax.set_title(title, pad=14)
    ax.legend(loc="lower right", frameon=False)
    ax.grid(alpha=0.25)
    fig.text(0.01, 0.03 + 0.05 * n_arms, "At risk", fontsize=8, weight="bold")
    for row, (arm, curve) in enumerate(curves_by_arm.items()):
        y_fig = 0.03 + 0.05 * (n_arms - 1 - row)
        fig.text(0.01, y_fig, arm[:14], fontsize=8)
        for day in at_risk_days:
            x_fig = 0.12 + 0.84 * (day / max_day)
            if 0 <= day <= max_day:
                fig.text(x_fig, y_fig, str(curve.number_at_risk(day)), fontsize=8, ha="center")
    return _save(fig, path)


def plot_bands(
    day: ArrayLike,
    quantiles_by_arm: Mapping[str, Mapping[str, ArrayLike]],
    path: str | Path,
    *,
    quantity: str = "anc",
    title: str | None = None,
    log_y: bool | None = None,
) -> Path:
    """Median line and 5–95 % band of a daily count per arm.

    ``quantiles_by_arm[arm]`` maps ``"p05"``, ``"p50"``, ``"p95"`` to arrays as long as ``day``.
    ``quantity`` (``anc``, ``platelets``, ``wbc``, ``alc``, ``hemoglobin``) picks the axis label,
    the threshold line (ANC 0.5, platelets 20 ×10^9/L) and, by default, a log y axis for counts.
    """
    key = quantity.lower()
    if key not in COUNT_THRESHOLDS:
        raise UnknownNameError("quantity", quantity, COUNT_THRESHOLDS)
    if not quantiles_by_arm:
        raise InputError("plot_bands needs at least one arm (got an empty mapping)")
    x = np.asarray(day, dtype=float).ravel()
    threshold, label = COUNT_THRESHOLDS[key]
    use_log = key in _LOG_QUANTITIES if log_y is None else log_y
    fig = _new_figure(4.4)
    ax = fig.add_axes((0.12, 0.13, 0.84, 0.77))
    floor = np.inf
    for arm, bands in quantiles_by_arm.items():
        missing = [k for k in BAND_KEYS if k not in bands]
        if missing:
            raise InputError(
                f"arm {arm!r}: missing quantiles {missing} (need {', '.join(BAND_KEYS)})"
            )
        q = {k: np.asarray(bands[k], dtype=float).ravel() for k in BAND_KEYS}
        if any(v.size != x.size for v in q.values()):
            sizes = {k: v.size for k, v in q.items()}
            raise InputError(f"arm {arm!r}: quantile lengths {sizes} differ from {x.size} days")
        (line,) = ax.plot(x, q["p50"], lw=1.8, label=f"{arm} (median)")
        ax.fill_between(x, q["p05"], q["p95"], alpha=0.2, color=line.get_color(), lw=0)
        positive = np.r_[q["p05"], q["p50"]]
        positive = positive[np.isfinite(positive) & (positive > 0)]
        if positive.size:
            floor = min(floor, float(positive.min()))
    if threshold is not None:
        ax.axhline(threshold, color="crimson", ls="--", lw=1)
        ax.text(x.min(), threshold, f" {threshold:g}", color="crimson", va="bottom", fontsize=8)
    if use_log:
        ax.set_yscale("log")
        if np.isfinite(floor):
            ax.set_ylim(bottom=max(floor / 2, 1e-3))
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("Day after infusion")
    ax.set_ylabel(label)
    ax.set_title(title or f"{label.split(' (')[0]}: median and 5–95 % band")
    ax.legend(loc="best", frameon=False, fontsize=8)
    ax.grid(alpha=0.25, which="both")
    return _save(fig, path)
