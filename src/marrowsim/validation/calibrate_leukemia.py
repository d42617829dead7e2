"""Calibrate the leukemia model (docs/disease.md); run ``python -m`` this module.

Three numbers are fitted, each to one published target (calibration targets, not predictions):

* ``lsc_division_rate`` to the Stiehl 2015 time course: one leukemic stem cell per kg of an
  untreated adult reaches 50 % leukemic marrow cells at day 175 (the radivot/myelo
  reimplementation of Cancer Res 2015 Fig. 3A; the paper's figure shows ~200 d; anchors.md
  §1.1). Typical patient, no variability.
* ``aml_mrd_fraction`` (median of its log-normal prior, spread fixed) so that 24 % of patients
  have flow-cytometric MRD at or above the detection limit 1e-4 before transplant (Walter 2011:
  24 of 99 MRD-positive). Closed form.
* ``leukemia_drug_sensitivity`` (median) to the overall 2-year relapse after myeloablative
  matched-sibling transplant in first remission, 29 % (Walter 2011: 64.9 % of 24 MRD-positive and
  17.6 % of 75 MRD-negative patients), on a virtual population with every prior.

What is then *validated*, not fitted (``disease_checks.py``): relapse by MRD status (64.9 % vs
17.6 %), the median day of relapse, autologous vs allogeneic and T-cell-depleted grafts.
``--write`` stores the fitted values in the parameter TOML files.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from marrowsim.compile import compile_problem
from marrowsim.engine.solve import solve
from marrowsim.model.observables import OB
from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.scenario import scenario_from_mapping
from marrowsim.validation import disease_scenarios as DS
from marrowsim.validation.calibration_cli import calibration_main
from marrowsim.validation.population import simulate_population

STIEHL_DAY_50 = 175.0
MRD_POSITIVE_FRACTION = 24 / 99
RELAPSE_2YEAR = (24 * 0.649 + 75 * 0.176) / 99
POPULATION, SEED = 300, 20151
FITTED_FILES = {
    "lsc_division_rate": "Assumptions_leukemia.toml",
    "aml_mrd_fraction": "Assumptions_leukemia.toml",
    "leukemia_drug_sensitivity": "Assumptions_leukemia.toml",
}


def stiehl_day(ps: ParameterSet, percent: float = 50.0) -> float:
    """Day one LSC per kg reaches ``percent`` leukemic marrow cells (typical patient)."""
    scenario = scenario_from_mapping(DS.stiehl_untreated(), where="calibration")
    result = solve(compile_problem([scenario], ps))
    blasts = result.observables[0, :, OB["marrow_blasts_percent"]]
    hit = np.nonzero(blasts >= percent)[0]
    if not len(hit):
        return math.inf
    i = hit[0]  # linear interpolation between mornings
    return float(result.days[i - 1] + (percent - blasts[i - 1]) / (blasts[i] - blasts[i - 1]))


def mrd_median(ps: ParameterSet, positive_fraction: float = MRD_POSITIVE_FRACTION) -> float:
    """Median of the log-normal MRD prior that puts ``positive_fraction`` above the limit."""
    cv = ps["aml_mrd_fraction"].prior.cv
    sigma = math.sqrt(math.log1p(cv**2))
    return DS.MRD_DETECTION_LIMIT * math.exp(-sigma * norm.ppf(1.0 - positive_fraction))


def relapse_fraction(
    ps: ParameterSet, *, n: int = POPULATION, seed: int = SEED, **kwargs
) -> tuple[float, np.ndarray, np.ndarray]:
    """2-year relapse fraction of a virtual MAC transplant population, per-patient relapse days
    and starting MRD."""
    pop = simulate_population(
        DS.aml_transplant("calibration-relapse", **kwargs), n, seed=seed, parameters=ps
    )
    days = DS.relapse_days(pop)[pop.ok]
    return float(np.isfinite(days).mean()), days, DS.starting_mrd(pop)[pop.ok]


def calibrate(ps: ParameterSet | None = None, *, verbose: bool = True) -> dict[str, float]:
    """Fit the three values in order; returns them."""
    ps = ps or default_parameters()
    say = print if verbose else (lambda *_: None)
    rate = brentq(
        lambda p: stiehl_day(ps.with_values(lsc_division_rate=p)) - STIEHL_DAY_50,
        0.06,
        0.5,
        xtol=1e-4,
    )
    ps = ps.with_values(lsc_division_rate=rate)
    say(f"lsc_division_rate = {rate:.4g}/d: day 50 % = {stiehl_day(ps):.1f}")
    median = mrd_median(ps)
    ps = ps.with_values(aml_mrd_fraction=median)
    say(f"aml_mrd_fraction median = {median:.3g}")

    def excess(log_s: float) -> float:
        s = math.exp(log_s)
        return relapse_fraction(ps.with_values(leukemia_drug_sensitivity=s))[0] - RELAPSE_2YEAR

    lo, hi = math.log(0.06), math.log(2.9)
    sensitivity = math.exp(brentq(excess, lo, hi, xtol=0.01))
    ps = ps.with_values(leukemia_drug_sensitivity=sensitivity)
    say(f"leukemia_drug_sensitivity = {sensitivity:.3g}: relapse {relapse_fraction(ps)[0]:.3f}")
    return {
        "lsc_division_rate": rate,
        "aml_mrd_fraction": median,
        "leukemia_drug_sensitivity": sensitivity,
    }


def report(ps: ParameterSet | None = None) -> dict[str, object]:
    """The calibration targets as the current parameters reproduce them."""
    ps = ps or default_parameters()
    fraction, days, mrd = relapse_fraction(ps)
    positive = mrd >= DS.MRD_DETECTION_LIMIT
    relapsed = np.isfinite(days)
    return {
        "stiehl_day_50_percent": stiehl_day(ps),
        "stiehl_day_5_percent": stiehl_day(ps, 5.0),
        "mrd_positive_fraction": float(positive.mean()),
        "relapse_2year_overall": fraction,
        "relapse_2year_mrd_positive": float(relapsed[positive].mean()),
        "relapse_2year_mrd_negative": float(relapsed[~positive].mean()),
        "median_relapse_day": float(np.median(days[relapsed])) if relapsed.any() else math.nan,
    }


def main(argv: list[str] | None = None) -> None:
    calibration_main(
        argv,
        description=__doc__.splitlines()[0],
        calibrate=calibrate,
        files=FITTED_FILES,
        report=report,
    )


if __name__ == "__main__":
    main()
