"""Validation targets of sickle cell disease, thalassaemia and gene editing (anchors.md §2, §6, §7,
§8 rows 24, 26, 27, 30), shared by ``calibrate_erythroid.py`` and ``marrowsim validate``.

* **SCD baseline** (anchors §2): steady-state Hb of sickle cell anaemia, 8.2-9.1 g/dL.
* **Row 24** (Fitzhugh 2017; Abraham 2017): stable mixed chimerism after a non-myeloablative
  allogeneic transplant for SCD. A sweep of stable donor shares of the marrow (a fraction ``m`` of
  every stem and progenitor compartment of the SCD steady state relabelled as donor cells, no
  alloreactivity: neutral competition keeps ``m``) is run to its new steady state; the sickle
  phenotype is present while more than 30 % of the red cells can sickle (the HbS level that
  exchange transfusion targets before apheresis and conditioning, exa-cel label, anchors §5).
  The threshold in donor *myeloid* chimerism emerges from the red-cell survival difference.
* **Rows 26-27** (CASGEVY label; Locatelli 2024): the built-in ``tdt-exa-cel`` scenario as a
  virtual population: engraftment days, Hb and HbF at >= 12 months, transfusion independence.
* **Row 30** (Steinberg 2014): the lognormal HbF-per-cell distribution of a sickle red cell
  population with mean HbF 20 % and 30 %: fraction of cells with >= 10 pg HbF.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from marrowsim.model import layout as L
from marrowsim.parameters import ParameterSet

SCD_PATIENT = {"age_years": 25, "weight_kg": 65, "height_cm": 170, "diagnosis": "sickle_cell"}
SCD_BASELINE_HB = (8.2, 9.1)  # anchors §2, US registry (Teng, CLIMB benchmarking)
SICKLE_PHENOTYPE_CELLS = 0.30  # red cells that can sickle: above -> sickle phenotype
ABRAHAM_HBS_PERCENT = 50.0  # recurrent disease in Abraham 2017: HbS > 50 %
CHIMERISM_LEVELS = (0.02, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.7, 1.0)
_MARROW = (L.HSC, L.MPP1, L.MPP2, L.MPP3, L.CMP, L.GP, L.EP, L.MKP, L.MKB, L.MK, L.LP)
EXA_CEL_TDT = "tdt-exa-cel"


def _mapping(name: str, sex: str, days: int) -> dict[str, Any]:
    return {"name": name, "days": days, "seed": 0, "patient": {**SCD_PATIENT, "sex": sex}}


def scd_baseline_hb(ps: ParameterSet, n: int, seed: int) -> np.ndarray:
    """Steady-state Hb of ``n`` virtual women and ``n`` men with sickle cell anaemia."""
    from marrowsim.model.observables import OB
    from marrowsim.validation.population import simulate_population

    out = []
    for sex in ("female", "male"):
        pop = simulate_population(_mapping(f"scd-baseline-{sex}", sex, 1), n, seed=seed,
                                  parameters=ps)  # fmt: skip
        out.append(pop.observables[pop.ok, 0, OB["hb"]])
    return np.concatenate(out)


@dataclass(frozen=True)
class ChimerismPoint:
    """The steady state of one stable donor share of the marrow."""

    marrow_donor_share: float
    myeloid: float  # donor chimerism of blood neutrophils
    red_cells: float  # donor share of circulating red cells
    hb: float
    hbs_percent: float
    sickling_cells: float  # fraction of red cells that can sickle


def chimerism_sweep(
    ps: ParameterSet,
    levels: Sequence[float] = CHIMERISM_LEVELS,
    *,
    sex: str = "female",
    days: int = 1095,
) -> list[ChimerismPoint]:
    """Stable mixed chimerism in an SCD patient at each donor share of the marrow (module doc)."""
    from marrowsim.compile import compile_problem
    from marrowsim.engine.solve import solve
    from marrowsim.model.observables import OB
    from marrowsim.scenario import scenario_from_mapping

    scenario = scenario_from_mapping(_mapping("scd-mixed-chimerism-sweep", sex, days))
    problem = compile_problem([scenario] * len(levels), ps)
    y0, active = problem.y0.copy(), problem.active.copy()
    for i, m in enumerate(levels):
        for j in _MARROW:
            host, donor = L.cell_index(L.HOST, j), L.cell_index(L.DONOR, j)
            y0[i, donor] = m * y0[i, host]
            y0[i, host] *= 1.0 - m
        active[i, L.DONOR] = True
    result = solve(replace(problem, y0=y0, active=active))
    last = result.observables[:, -1, :]
    return [
        ChimerismPoint(
            float(m),
            float(last[i, OB["donor_chimerism_myeloid"]]),
            float(last[i, OB["donor_chimerism_red_cells"]]),
            float(last[i, OB["hb"]]),
            float(last[i, OB["hbs_percent"]]),
            float(last[i, OB["sickling_red_cells_fraction"]]),
        )
        for i, m in enumerate(levels)
    ]


def threshold(points: Sequence[ChimerismPoint], value: str, limit: float) -> float:
    """Donor myeloid chimerism at which ``value`` (falling with chimerism) crosses ``limit``
    (linear interpolation between sweep points); NaN if it never does."""
    x = np.array([p.myeloid for p in points])
    y = np.array([getattr(p, value) for p in points])
    for i in range(len(x) - 1):
        if y[i] > limit >= y[i + 1]:
            return float(x[i] + (x[i + 1] - x[i]) * (y[i] - limit) / (y[i] - y[i + 1]))
    return float("nan")


def hbf_protected_fraction(ps: ParameterSet, hbf_fraction: float) -> float:
    """Fraction of sickle red cells with >= 10 pg HbF at mean HbF ``hbf_fraction`` (row 30)."""
    from marrowsim.model.erythroid import protected_fraction

    mean_pg = hbf_fraction * ps.value("mean_corpuscular_hemoglobin_pg")
    cv = ps.value("sickle_hbf_cell_cv")
    return float(protected_fraction(mean_pg, cv, ps.value("hbf_protective_pg_per_cell")))


@dataclass(frozen=True)
class ExaCelResult:
    """Per-patient endpoints of a virtual exa-cel population (NaN where not reached)."""

    anc_day: np.ndarray
    platelet_day: np.ndarray
    hb_late: np.ndarray  # mean Hb over months 12-24 (g/dL)
    hbf_late: np.ndarray  # mean HbF over months 12-24 (g/dL)
    hbf_percent_late: np.ndarray
    transfusion_independent: np.ndarray  # 1/0, NaN not evaluable
    edited_allele_blood_month12: np.ndarray


def exa_cel_population(
    ps: ParameterSet, n: int, seed: int, name: str = EXA_CEL_TDT
) -> tuple[ExaCelResult, Any]:
    """Simulate the built-in exa-cel scenario ``name`` as ``n`` virtual patients."""
    from marrowsim.model.observables import OB
    from marrowsim.outcomes import OUTCOME_INPUTS, compute_batch_outcomes
    from marrowsim.scenario import read_scenario_mapping
    from marrowsim.validation.population import simulate_population

    mapping, _ = read_scenario_mapping(name)
    pop = simulate_population(mapping, n, seed=seed, parameters=ps)
    obs = np.where(pop.ok[:, None, None], pop.observables, np.nan)
    table = compute_batch_outcomes(
        pop.days,
        {k: obs[:, :, OB[k]] for k in OUTCOME_INPUTS},
        graft_source=[mapping["graft"]["source"]] * n,
        donor_relation=["autologous"] * n,
    )
    late = (pop.days >= 365) & (pop.days <= 730)

    def mean_late(key: str) -> np.ndarray:
        return np.nanmean(obs[:, late, OB[key]], axis=1)

    result = ExaCelResult(
        table["neutrophil_engraftment_day"],
        table["platelet_engraftment_day"],
        mean_late("hb"),
        mean_late("hbf"),
        mean_late("hbf_percent"),
        table["transfusion_independent"],
        table["edited_allele_fraction_blood_month12"],
    )
    return result, pop


def tdt_baseline_transfusions(ps: ParameterSet, n: int, seed: int) -> np.ndarray:
    """Red-cell units per year of the chronic transfusion programme of transfusion-dependent
    thalassaemia before gene therapy, per virtual patient: one year from the disease steady
    state with the programme's rule (one unit whenever the morning Hb is below the threshold)."""
    from marrowsim.model.observables import OB
    from marrowsim.scenario import read_scenario_mapping
    from marrowsim.validation.population import simulate_population

    mapping, _ = read_scenario_mapping(EXA_CEL_TDT)
    hb = ps.value("thalassemia_chronic_transfusion_hb")
    base = {
        "name": "tdt-chronic-transfusion",
        "days": 365,
        "seed": 0,
        "patient": mapping["patient"],
        "protocol": {"rules": [f"Transfuse RBC when Hb < {hb:g} g/dL"]},
    }
    pop = simulate_population(base, n, seed=seed, parameters=ps)
    flags = pop.observables[pop.ok, 1:, OB["rbc_transfusion"]]
    return np.sum(flags > 0, axis=1).astype(float)
