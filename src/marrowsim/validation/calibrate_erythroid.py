"""Calibrate the erythroid-disease and editing assumptions; run ``python -m`` this module.

Two assumptions are fitted, one target each, on virtual populations with the registry priors
(fixed seeds, common random numbers); ``--write`` stores the values in their TOML files:

* ``chronic_anemia_erythroid_expansion_max`` → median steady-state Hb of sickle cell anaemia
  8.65 g/dL (middle of 8.2-9.1, anchors.md §2), women and men of 25 years pooled;
* ``thalassemia_bcl11a_edited_gamma_output`` → median HbF share of total Hb over months 12-24 after
  exa-cel in transfusion-dependent thalassaemia 90.8 % (11.9 of 13.1 g/dL, Locatelli 2024, row
  27). The share, not the absolute HbF: the model's post-transplant Hb plateau sits below normal
  in every transplant (docs/gene-editing.md), so only the composition is identifiable;
Everything else of rows 24, 26, 27 and 30 is then a prediction (``marrowsim validate``).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.validation.calibration_cli import calibration_main
from marrowsim.validation.erythroid_targets import exa_cel_population, scd_baseline_hb

N_PATIENTS = 100
SEED = 5
TARGETS = {"scd_hb": 8.65, "hbf_share_percent": 100 * 11.9 / 13.1}
FILES = {
    "chronic_anemia_erythroid_expansion_max": "Assumptions_erythroid.toml",
    "thalassemia_bcl11a_edited_gamma_output": "Assumptions_erythroid.toml",
}


def _hbf_share_median(ps: ParameterSet) -> float:
    result, _ = exa_cel_population(ps, N_PATIENTS, SEED)
    return float(np.nanmedian(result.hbf_percent_late))


def _scd_hb_median(ps: ParameterSet) -> float:
    return float(np.median(scd_baseline_hb(ps, N_PATIENTS, SEED)))


def _fit(ps: ParameterSet, name: str, measure, target: float, lo: float, hi: float, log=False):
    """Root of ``measure - target`` on [lo, hi]; where the target is out of reach, the grid value
    (17 points) that comes closest, the smallest if several tie (the miss is then reported)."""

    def f(x: float) -> float:
        value = float(np.exp(x)) if log else x
        return measure(ps.with_values(**{name: value})) - target

    a, b = (np.log(lo), np.log(hi)) if log else (lo, hi)
    fa, fb = f(a), f(b)
    if fa * fb < 0:
        x = brentq(f, a, b, xtol=1e-3)
    else:
        grid = np.linspace(a, b, 17)
        errors = [abs(f(g)) for g in grid]
        x = float(grid[int(np.argmin(np.round(errors, 1)))])
    value = float(np.exp(x)) if log else float(x)
    return ps.with_values(**{name: value}), value


def calibrate(ps: ParameterSet | None = None, *, verbose: bool = True) -> dict[str, float]:
    """Fit the two assumptions in turn (the first changes the second's target little)."""
    ps = ps or default_parameters()
    fitted: dict[str, float] = {}
    steps = (
        ("chronic_anemia_erythroid_expansion_max", _scd_hb_median, "scd_hb", 2.0, 190.0, True),
        ("thalassemia_bcl11a_edited_gamma_output", _hbf_share_median, "hbf_share_percent",
         0.3, 0.99, False),
    )  # fmt: skip
    for name, measure, key, lo, hi, log in steps:
        ps, value = _fit(ps, name, measure, TARGETS[key], lo, hi, log)
        fitted[name] = round(value, 3)
        if verbose:
            print(f"{name} = {fitted[name]} -> {key} {measure(ps):.2f} (target {TARGETS[key]:.2f})")
    return fitted


def main(argv: list[str] | None = None) -> None:
    calibration_main(
        argv,
        description=__doc__.splitlines()[0],
        calibrate=calibrate,
        files=FILES,
    )


if __name__ == "__main__":
    main()
