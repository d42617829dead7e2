"""Calibrate the mobilization PD model to anchors rows 19-22; run ``python -m`` this module.

Targets (``../shared/science/anchors.md`` §5 and §8):

* row 21 (Vasu 2008): healthy donor, filgrastim 10 µg/kg/day → morning PB CD34+ on day 5 = 90/µL
  (79-104); fits ``mobilization_gcsf_expansion_max``. The peak day (5-6) is checked, not fitted.
* row 20 (BMT 2010;45:269): one plerixafor dose (evening of day 4) → day-5 / day-4 morning
  PB CD34+ = 2.6; fits ``mobilization_plerixafor_emax``.
* row 22 (Gidron 2005; J Clin Apher 2025): median pre-count CE2 = 0.50; fits
  ``mobilization_collection_efficiency_median``.
* row 19 (DiPersio 2009): myeloma, ≥ 6 ×10^6 CD34+/kg in ≤ 2 aphereses in 71.6 % (plerixafor +
  G-CSF) vs 34.4 % (G-CSF alone); fits the myeloma median response and the log-SD jointly.

Calibration patients (assumptions): healthy donor 75 kg, 175 cm, male; myeloma patient 80 kg,
170 cm, male; apheresis 20 L from day 5 with G-CSF continued on apheresis days. Fixed seeds
(common random numbers). ``--write`` stores the fitted values in the parameter TOML files.
"""

from __future__ import annotations

import numpy as np

from marrowsim.clinical.collection import simulate_collection
from marrowsim.clinical.collection_spec import CollectionPatient, compile_schedule
from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.validation.calibration_cli import calibration_main

HEALTHY = CollectionPatient(weight_kg=75.0, height_cm=175.0, sex="male", diagnosis="healthy")
MYELOMA = CollectionPatient(weight_kg=80.0, height_cm=170.0, sex="male", diagnosis="myeloma")
GCSF = "Filgrastim 10 ug/kg SC daily on days 1 to {last}"
PLERIXAFOR = "Plerixafor 0.24 mg/kg SC on days 4 to 5"
DIPERSIO_TARGET = 6e6
TARGETS = {"day5_pb_cd34": 90.0, "fold_rise": 2.6, "ce2_median": 0.50}
DIPERSIO = {"plerixafor": 0.716, "placebo": 0.344}
FITTED_FILES = {
    "mobilization_gcsf_expansion_max": "Vasu2008.toml",
    "mobilization_plerixafor_emax": "BMT2010.toml",
    "mobilization_collection_efficiency_median": "Gidron2005.toml",
    "mobilization_response_median_myeloma": "DiPersio2009.toml",
    "mobilization_response_log_sd": "DiPersio2009.toml",
}


def _typical(steps, patient, ps, days, n=1, typical=True, seed=0, target=np.inf, max_a=4):
    schedule = compile_schedule(steps, patient, ps)
    traj, ce = simulate_collection(
        schedule,
        patient,
        n=n,
        rng=np.random.default_rng(seed),
        target_cd34_per_kg=target,
        max_aphereses=max_a,
        typical=typical,
        ps=ps,
        count_days=days,
    )
    return traj, ce, schedule


def healthy_donor_counts(ps: ParameterSet | None = None) -> np.ndarray:
    """Morning PB CD34+/µL on days 1-10 of daily filgrastim 10 µg/kg (days 1-9), typical donor."""
    ps = ps or default_parameters()
    steps = [GCSF.format(last=9), "Apheresis 1 L on day 12"]  # tiny, after the window
    traj, _, _ = _typical(steps, HEALTHY, ps, list(range(1, 11)))
    return traj.pb_cd34_per_ul[0]


def plerixafor_fold_rise(ps: ParameterSet | None = None) -> float:
    """Day-5 / day-4 morning PB CD34+ with plerixafor on the evening of day 4 (typical myeloma)."""
    ps = ps or default_parameters()
    steps = [GCSF.format(last=5), "Plerixafor 0.24 mg/kg SC on day 4", "Apheresis 1 L on day 8"]
    traj, _, _ = _typical(steps, MYELOMA, ps, [4, 5])
    return float(traj.pb_cd34_per_ul[0, 1] / traj.pb_cd34_per_ul[0, 0])


def ce2_distribution(ps: ParameterSet | None = None, n: int = 2000, seed: int = 22) -> np.ndarray:
    """Pre-count CE2 of day-5 20 L sessions in a virtual myeloma population (plerixafor arm)."""
    ps = ps or default_parameters()
    steps = [GCSF.format(last=5), "Plerixafor 0.24 mg/kg SC on day 4", "Apheresis 20 L on day 5"]
    traj, _, sched = _typical(steps, MYELOMA, ps, [5], n=n, typical=False, seed=seed)
    product = traj.session_cd34_per_kg[:, 0] * MYELOMA.weight_kg
    return product / (sched.apheresis_volume_l[0] * traj.session_pre_pb_cd34_per_ul[:, 0] * 1e6)


def dipersio_fractions(
    ps: ParameterSet | None = None, n: int = 4000, seed: int = 19
) -> dict[str, float]:
    """Fraction of myeloma patients with ≥ 6 ×10^6 CD34+/kg in ≤ 2 aphereses, per arm."""
    ps = ps or default_parameters()
    out = {}
    for arm in ("plerixafor", "placebo"):
        steps = [GCSF.format(last=6), "Apheresis 20 L on days 5 to 6"]
        if arm == "plerixafor":
            steps.append(PLERIXAFOR)
        traj, _, _ = _typical(
            steps, MYELOMA, ps, [5], n=n, typical=False, seed=seed, target=DIPERSIO_TARGET, max_a=2
        )
        out[arm] = float(np.mean(traj.session_cd34_per_kg.sum(axis=1) >= DIPERSIO_TARGET))
    return out


def calibrate(ps: ParameterSet | None = None, *, verbose: bool = True) -> dict[str, float]:
    """Fit the five calibrated parameters in sequence; returns name → value."""
    from scipy.optimize import brentq, minimize

    ps = ps or default_parameters()
    fitted: dict[str, float] = {}

    def fit1(name, func, target, lo, hi):
        nonlocal ps
        value = brentq(lambda v: func(ps.with_values(**{name: v})) - target, lo, hi, xtol=1e-4)
        ps = ps.with_values(**{name: value})
        fitted[name] = float(value)
        if verbose:
            print(f"{name} = {value:.4g}")

    fit1(
        "mobilization_gcsf_expansion_max",
        lambda p: healthy_donor_counts(p)[4],
        TARGETS["day5_pb_cd34"],
        5.0,
        900.0,
    )
    fit1("mobilization_plerixafor_emax", plerixafor_fold_rise, TARGETS["fold_rise"], 0.1, 19.0)
    fit1(
        "mobilization_collection_efficiency_median",
        lambda p: float(np.median(ce2_distribution(p, n=1000))),
        TARGETS["ce2_median"],
        0.1,
        0.95,
    )

    def loss(x):
        p = ps.with_values(
            mobilization_response_median_myeloma=float(np.exp(x[0])),
            mobilization_response_log_sd=float(np.exp(x[1])),
        )
        got = dipersio_fractions(p, n=2000)
        return sum((got[k] - DIPERSIO[k]) ** 2 for k in DIPERSIO)

    x0 = np.log([ps.value("mobilization_response_median_myeloma"), 0.8])
    res = minimize(loss, x0, method="Nelder-Mead", options={"xatol": 0.01, "fatol": 1e-5})
    fitted["mobilization_response_median_myeloma"] = float(np.exp(res.x[0]))
    fitted["mobilization_response_log_sd"] = float(np.exp(res.x[1]))
    if verbose:
        for k in ("mobilization_response_median_myeloma", "mobilization_response_log_sd"):
            print(f"{k} = {fitted[k]:.4g}")
    return fitted


def report(ps: ParameterSet | None = None) -> dict[str, object]:
    """The calibration targets as the shipped parameters reproduce them."""
    ps = ps or default_parameters()
    counts = healthy_donor_counts(ps)
    ce2 = ce2_distribution(ps)
    return {
        "row21_day5_pb_cd34_per_ul": float(counts[4]),
        "row21_peak_day": int(np.argmax(counts)) + 1,
        "row21_counts_days_1_to_10": [round(float(c), 1) for c in counts],
        "row20_fold_rise": plerixafor_fold_rise(ps),
        "row22_ce2_median": float(np.median(ce2)),
        "row22_ce2_p5_p95": [float(np.percentile(ce2, 5)), float(np.percentile(ce2, 95))],
        "row19_fraction_6e6_in_2": dipersio_fractions(ps),
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
