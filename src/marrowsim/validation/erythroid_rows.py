"""Validation rows of sickle cell disease, thalassaemia and gene editing for ``marrowsim validate``:
anchors.md §2 (SCD baseline Hb, TDT transfusion burden) and §8 rows 24, 26, 27 and 30.

The measurements are in :mod:`marrowsim.validation.erythroid_targets`; each row states what was
calibrated (``calibrate_erythroid.py``) and what is a prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from marrowsim.parameters import ParameterSet
from marrowsim.validation import erythroid_targets as et
from marrowsim.validation.population import summary
from marrowsim.validation.report import Row

LOCATELLI = "Locatelli et al., NEJM 2024;390:1663 (CLIMB THAL-111)"
LABEL = "CASGEVY label (casgevyhcp.com): TDT engraftment, adults and 12-17 y"


def _fmt(values: np.ndarray, digits: int = 1) -> str:
    s = summary(values)
    if s["n"] == 0:
        return "never (all patients)"
    return f"{s['median']:.{digits}f} [{s['q1']:.{digits}f}-{s['q3']:.{digits}f}]"


def _status(ok: bool) -> str:
    return "pass" if ok else "miss"


def _median(values: np.ndarray) -> float:
    return summary(values)["median"]


def erythroid_rows(ps: ParameterSet, patients: int, seed: int) -> tuple[list[Row], dict[str, Any]]:
    """The rows and their raw numbers (for validation.json)."""
    rows: list[Row] = []
    raw: dict[str, Any] = {}

    hb = et.scd_baseline_hb(ps, patients, seed)
    lo, hi = et.SCD_BASELINE_HB
    rows.append(
        Row(
            "erythroid",
            "§2",
            "sickle cell anaemia steady-state Hb (g/dL), women and men "
            "(calibrated: erythroid expansion)",
            f"{lo}-{hi}",
            _fmt(hb),
            _status(lo <= _median(hb) <= hi),
            "Teng (CLIMB benchmarking), anchors §2",
        )
    )
    units = et.tdt_baseline_transfusions(ps, patients, seed)
    rows.append(
        Row(
            "erythroid",
            "§7",
            "TDT before gene therapy: red-cell units per year (one "
            "unit whenever morning Hb < 9.5 g/dL)",
            "17 (11-35) transfusions/yr",
            _fmt(units, 0),
            "info",
            "CASGEVY label (baseline burden), anchors §7",
        )
    )
    raw["scd_baseline_hb"], raw["tdt_units_per_year"] = summary(hb), summary(units)

    points = et.chimerism_sweep(ps)
    t30 = et.threshold(points, "sickling_cells", et.SICKLE_PHENOTYPE_CELLS)
    t50 = et.threshold(points, "hbs_percent", et.ABRAHAM_HBS_PERCENT)
    at20 = min(points, key=lambda p: abs(p.myeloid - 0.2))
    rows.append(
        Row(
            "erythroid",
            "24",
            "SCD stable mixed chimerism: donor myeloid chimerism below "
            "which > 30 % of red cells can sickle",
            "~20 % (15-30 %)",
            f"{100 * t30:.0f} % (at 20 % myeloid: {100 * at20.red_cells:.0f} % donor red "
            f"cells, Hb {at20.hb:.1f})",
            _status(0.15 <= t30 <= 0.30),
            "Fitzhugh et al., Blood 2017;130:1946; Abraham et al., BBMT 2017",
        )
    )
    rows.append(
        Row(
            "erythroid",
            "24",
            "same sweep, Abraham's recurrence criterion HbS > 50 % (donor HbAA)",
            "> 25 % clinically (donor trait status matters)",
            f"{100 * t50:.0f} %",
            "info",
            "Abraham et al., BBMT 2017",
        )
    )
    raw["row24"] = {
        "threshold_sickling_30": t30,
        "threshold_hbs_50": t50,
        "sweep": [p.__dict__ for p in points],
    }

    res, _ = et.exa_cel_population(ps, patients, seed)
    anc, plt = _median(res.anc_day), _median(res.platelet_day)
    rows.append(
        Row(
            "gene editing",
            "26",
            "exa-cel TDT (tdt-exa-cel): neutrophil engraftment day",
            "29 (12-56) ± 5",
            _fmt(res.anc_day),
            _status(abs(anc - 29) <= 5),
            LABEL,
        )
    )
    rows.append(
        Row(
            "gene editing",
            "26",
            "exa-cel TDT: platelet engraftment day",
            "42-45 (20-200) ± 8",
            _fmt(res.platelet_day),
            _status(34 <= plt <= 53),
            LABEL,
        )
    )
    hb_late, hbf_late = _median(res.hb_late), _median(res.hbf_late)
    ti = float(np.nanmean(res.transfusion_independent))
    rows.append(
        Row(
            "gene editing",
            "27",
            "exa-cel TDT: total Hb, mean of months 12-24 (g/dL)",
            "13.1 ± 1",
            _fmt(res.hb_late),
            _status(abs(hb_late - 13.1) <= 1),
            LOCATELLI,
        )
    )
    rows.append(
        Row(
            "gene editing",
            "27",
            "exa-cel TDT: HbF, mean of months 12-24 (g/dL)",
            "11.9 ± 1.5",
            _fmt(res.hbf_late),
            _status(abs(hbf_late - 11.9) <= 1.5),
            LOCATELLI,
        )
    )
    rows.append(
        Row(
            "gene editing",
            "27",
            "exa-cel TDT: HbF share of Hb, months 12-24 (%; calibrated: edited gamma output)",
            "91 (11.9 of 13.1)",
            _fmt(res.hbf_percent_late),
            "info",
            LOCATELLI,
        )
    )
    rows.append(
        Row(
            "gene editing",
            "27",
            "exa-cel TDT: transfusion independent (Hb >= 9 without "
            "transfusion for 12 months, within 24 months)",
            "91 % ± 8",
            f"{100 * ti:.0f} %",
            _status(abs(ti - 0.91) <= 0.08),
            LOCATELLI,
        )
    )
    scd, _ = et.exa_cel_population(ps, patients, seed, name="scd-exa-cel")
    rows.append(
        Row(
            "gene editing",
            "§7",
            "exa-cel SCD (scd-exa-cel): HbF share, months 12-24 (%)",
            "~40 % (gene therapy in SCD)",
            _fmt(scd.hbf_percent_late),
            "info",
            "Steinberg, touchREVIEWS Oncol Haematol 2023;19:29",
        )
    )
    raw["exa_cel_tdt"] = {k: summary(v) for k, v in res.__dict__.items()}
    raw["exa_cel_tdt"]["transfusion_independent_fraction"] = ti

    p20, p30 = et.hbf_protected_fraction(ps, 0.20), et.hbf_protected_fraction(ps, 0.30)
    quantity = "sickle red cells with >= 10 pg HbF at mean HbF 20 % and 30 %"
    rows.append(
        Row(
            "erythroid",
            "30",
            quantity,
            "1-24 % and up to ~70 %",
            f"{100 * p20:.0f} % and {100 * p30:.0f} %",
            _status(0.01 <= p20 <= 0.24 and p20 < p30 <= 0.70),
            "Steinberg et al., Blood 2014;123:481",
        )
    )
    raw["row30"] = {"hbf20": p20, "hbf30": p30}
    return rows, raw
