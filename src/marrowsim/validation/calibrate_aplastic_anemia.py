"""Calibrate the aplastic anemia model (docs/disease.md); run ``python -m`` this module.

Four values, each fitted to one response rate of anchors.md §3.4 on a virtual population of
severe aplastic anemia (every prior varies between patients; response = no longer meeting the
SAA criteria on day 180, among the patients meeting them on day 0). These response rates are
calibration targets: the model reproduces them because these four values were fitted to them.

=================================  ========  =====================================================
regimen                            target    fitted value
=================================  ========  =====================================================
horse ATG alone                    45 %      ``autoreactive_regrowth_rate`` (40-50 %, review)
horse ATG + ciclosporin            68 %      ``cyclosporine_max_inhibition`` (Scheinberg 2011)
rabbit ATG + ciclosporin           37 %      ``atg_autoreactive_kill_rabbit`` (Scheinberg 2011)
horse ATG + ciclosporin + EPAG     90 %      ``eltrombopag_hsc_stimulation`` (~90 %, review)
=================================  ========  =====================================================

The fits are one-dimensional and sequential (each rate depends mostly on its value); two passes
settle the coupling. Fixed seed (common random numbers). ``--write`` stores the values.
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.validation import disease_scenarios as DS
from marrowsim.validation.calibration_cli import calibration_main
from marrowsim.validation.population import simulate_population

POPULATION, SEED = 300, 19862
# regimen -> (target response, fitted parameter, search interval, log scale?)
FITS = {
    "hATG": (0.45, "autoreactive_regrowth_rate", (0.006, 0.4), True),
    "hATG+CsA": (0.68, "cyclosporine_max_inhibition", (0.0, 0.99), False),
    "rATG+CsA": (0.37, "atg_autoreactive_kill_rabbit", (0.0005, 0.19), True),
    "hATG+CsA+eltrombopag": (0.90, "eltrombopag_hsc_stimulation", (0.0, 19.0), False),
}
FITTED_FILE = "Assumptions_aplastic_anemia.toml"


def response(ps: ParameterSet, regimen: str, *, n: int = POPULATION, seed: int = SEED) -> float:
    """Response rate at 6 months of one regimen (among patients with SAA on day 0)."""
    mapping = DS.saa_ist(f"saa-{regimen}", DS.IST_REGIMENS[regimen])
    pop = simulate_population(mapping, n, seed=seed, parameters=ps)
    return DS.response_rate(pop)[0]


def _fit(ps: ParameterSet, regimen: str) -> float:
    target, name, (lo, hi), log = FITS[regimen]

    def excess(x: float) -> float:
        value = math.exp(x) if log else x
        return response(ps.with_values(**{name: value}), regimen) - target

    a, b = (math.log(lo), math.log(hi)) if log else (lo, hi)
    fa, fb = excess(a), excess(b)
    if fa * fb > 0:  # target outside the reachable range: take the closer end, say so
        x = a if abs(fa) < abs(fb) else b
        print(f"  {regimen}: target {target} not reachable with {name} in [{lo}, {hi}]")
    else:
        x = brentq(excess, a, b, xtol=0.01 if log else 0.005)
    return math.exp(x) if log else x


def calibrate(ps: ParameterSet | None = None, *, passes: int = 2) -> dict[str, float]:
    """Fit the four values (sequential, ``passes`` rounds); returns them."""
    ps = ps or default_parameters()
    fitted: dict[str, float] = {}
    for round_ in range(passes):
        for regimen, (_, name, _, _) in FITS.items():
            fitted[name] = _fit(ps, regimen)
            ps = ps.with_values(**{name: fitted[name]})
            print(f"pass {round_ + 1}: {name} = {fitted[name]:.4g}")
    return fitted


def report(ps: ParameterSet | None = None) -> dict[str, float]:
    """Response at 6 months of each regimen with the current parameters."""
    ps = ps or default_parameters()
    return {regimen: response(ps, regimen) for regimen in FITS}


def _report_with_targets() -> dict[str, str]:
    return {regimen: f"{v:.3f} (target {FITS[regimen][0]})" for regimen, v in report().items()}


def main(argv: list[str] | None = None) -> None:
    calibration_main(
        argv,
        description=__doc__.splitlines()[0],
        calibrate=calibrate,
        files={name: FITTED_FILE for _, name, _, _ in FITS.values()},
        report=_report_with_targets,
    )


if __name__ == "__main__":
    main()
