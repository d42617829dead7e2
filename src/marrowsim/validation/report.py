"""``marrowsim validate``: every validation row of anchors.md §8 the model covers, run now.

The report compares the published value with the simulated one and says pass or miss; nothing in
it is typed by hand. Transplant rows are run as virtual populations (between-patient parameter
variability from the priors) and reported as median [IQR]; physiology rows are measured on the
healthy adult; the HLA (row 17) and mobilization rows (19-22) come from their own models; the
disease rows (leukemia, aplastic anemia) from ``disease_checks.py``. Plots of
the daily counts (median and 5-95 % band) are written next to the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.validation import physiology as phys
from marrowsim.validation.population import Population, simulate_population, summary
from marrowsim.validation.transplant_targets import COMPARISONS, TARGETS, Target, all_targets
from marrowsim.validation.validation_scenarios import EXTRA_CHECKS, ExtraCheck


@dataclass
class Row:
    """One line of the validation table."""

    section: str
    row: str  # anchors.md §8 row (or section)
    quantity: str
    published: str
    simulated: str
    status: str  # "pass", "miss" or "info"
    source: str
    plots: list[str] = field(default_factory=list)


def _fmt(s: dict[str, float], digits: int = 1) -> str:
    if s["n"] == 0:
        return "never (all patients)"
    return f"{s['median']:.{digits}f} [{s['q1']:.{digits}f}-{s['q3']:.{digits}f}]"


def _pass(ok: bool) -> str:
    return "pass" if ok else "miss"


def physiology_rows(ps: ParameterSet) -> list[Row]:
    rows = []
    for sex, hb_range in (("male", (13.5, 17.5)), ("female", (12.0, 15.5))):
        c = phys.steady_state_counts(sex, ps)
        ok = 2.0 <= c["anc"] <= 7.5 and hb_range[0] <= c["hb"] <= hb_range[1]
        ok = ok and 150 <= c["platelets"] <= 450
        rows.append(
            Row(
                "physiology",
                "1",
                f"steady-state ANC / Hb / platelets, healthy {sex}",
                f"2-7.5 / {hb_range[0]}-{hb_range[1]} / 150-450",
                f"{c['anc']:.1f} / {c['hb']:.1f} / {c['platelets']:.0f}",
                _pass(ok),
                "Mayo Clinic and UK reference intervals (anchors §2)",
            )
        )
    checks: list[tuple[str, str, str, Callable[[], float], Callable[[float], bool], str]] = [
        ("2", "mean red-cell survival (d)", "115-120 (±15)",
         lambda: phys.red_cell_survival_days(ps), lambda x: 100 <= x <= 135, "Franco 2012"),
        ("3", "blood neutrophil half-life (h)", "6-20",
         lambda: phys.neutrophil_half_life_hours(ps), lambda x: 6 <= x <= 20,
         "Summers 2010; Lahoz-Beneytez 2016"),
        ("4", "days until platelets < 5 % after production stops", "<= 10 (±2)",
         lambda: phys.platelet_fall_days(0.05, ps), lambda x: 8 <= x <= 12, "Fliedner 2002"),
        ("5", "mean HSC division interval (weeks)", "40 (25-50)",
         lambda: phys.hsc_division_interval_weeks(ps), lambda x: 25 <= x <= 50, "Catlin 2011"),
        ("6", "active HSCs (70 kg adult)", "5e4-2e5",
         lambda: phys.active_hsc_number(ps), lambda x: 5e4 <= x <= 2e5, "Lee-Six 2018"),
    ]  # fmt: skip
    for row, quantity, published, measure, ok, source in checks:
        x = measure()
        rows.append(Row("physiology", row, quantity, published, f"{x:.4g}", _pass(ok(x)), source))
    return rows


def _endpoint_values(target: Target, pop: Population) -> np.ndarray:
    return np.array(
        [target.endpoint.measure(pop.days, pop.course(i)) if pop.ok[i] else np.nan
         for i in range(len(pop.ok))]
    )  # fmt: skip


def engraftment_rows(
    populations: dict[str, Population], plots: dict[str, list[str]]
) -> tuple[list[Row], dict[str, dict[str, float]]]:
    """Targets and comparisons on population medians."""
    stats: dict[str, dict[str, float]] = {}
    rows: list[Row] = []
    for t in all_targets():
        pop = populations[t.scenario["name"]]
        stats[t.key] = summary(_endpoint_values(t, pop))
    for t in TARGETS:
        s = stats[t.key]
        ok = s["n"] > 0 and abs(s["median"] - t.value) <= t.tolerance
        rows.append(
            Row(
                "engraftment",
                t.row,
                f"{t.endpoint.name}: {t.scenario['name']}",
                f"{t.value:g} ± {t.tolerance:g}",
                _fmt(s),
                _pass(ok),
                t.source,
                plots.get(t.scenario["name"], []),
            )
        )
    for c in COMPARISONS:
        a, b = stats[c.first]["median"], stats[c.second]["median"]
        simulated = f"{_num(a)} vs {_num(b)}"
        rows.append(
            Row("engraftment", c.row, c.claim, "direction / size", simulated,
                _pass(c.check(a, b)), c.source)
        )  # fmt: skip
    return rows, stats


def _num(x: float) -> str:
    return "never" if not np.isfinite(x) else f"{x:.1f}"


def extra_rows(
    ps: ParameterSet, n: int, seed: int, plots_dir: Path | None
) -> tuple[list[Row], dict[str, Any]]:
    """Cord-dose threshold, conditioning intensity and chimerism checks on populations."""
    rows, raw = [], {}
    for check in EXTRA_CHECKS:
        pops = {
            m["name"]: simulate_population(m, n, seed=seed, parameters=ps) for m in check.scenarios
        }
        value, ok, text = check.evaluate(pops)
        raw[check.key] = value
        plots = _band_plots(pops, plots_dir) if plots_dir else []
        rows.append(
            Row(check.section, check.row, check.quantity, check.published, text, _pass(ok),
                check.source, plots)
        )  # fmt: skip
    return rows, raw


def mortality_rows(ps: ParameterSet) -> list[Row]:
    from marrowsim.validation import calibrate_mortality as cm

    cohort = cm.simulate_cohort(n=400, seed=2024, ps=ps)
    s = cm.survival(cohort, ps)
    ok8 = abs(s["survival_8of8"] - 0.52) <= 0.05
    ok7 = abs(s["survival_7of8"] - 0.43) <= 0.05
    return [
        Row("HLA", "17", "1-year survival, unrelated donor 8/8 vs 7/8", "52 % vs 43 % (± 5 %)",
            f"{100 * s['survival_8of8']:.0f} % vs {100 * s['survival_7of8']:.0f} %",
            _pass(ok8 and ok7), "Lee et al., Blood 2007;110:4576"),
    ]  # fmt: skip


def mobilization_rows(ps: ParameterSet) -> list[Row]:
    from marrowsim.validation.calibrate_mobilization import report

    r = report(ps)
    frac = r["row19_fraction_6e6_in_2"]
    plerixafor, gcsf = frac["plerixafor"], frac["placebo"]
    return [
        Row("mobilization", "19", "myeloma >= 6e6 CD34+/kg in <= 2 aphereses, plerixafor vs G-CSF",
            "72 % vs 34 % (± 8 %)", f"{100 * plerixafor:.0f} % vs {100 * gcsf:.0f} %",
            _pass(abs(plerixafor - 0.716) <= 0.08 and abs(gcsf - 0.344) <= 0.08),
            "DiPersio et al., Blood 2009;113:5720"),
        Row("mobilization", "20", "PB CD34+ fold rise after one plerixafor dose", "2.6 (2-3.5)",
            f"{r['row20_fold_rise']:.2f}", _pass(2.0 <= r["row20_fold_rise"] <= 3.5),
            "Bone Marrow Transplant 2010;45:269"),
        Row("mobilization", "21", "healthy donor day-5 PB CD34+/uL (peak day)",
            "80-100 (± 30 %), peak day 5-6",
            f"{r['row21_day5_pb_cd34_per_ul']:.0f} (day {r['row21_peak_day']})",
            _pass(56 <= r["row21_day5_pb_cd34_per_ul"] <= 130 and 5 <= r["row21_peak_day"] <= 6),
            "Vasu 2008; Ann Hematol 1996"),
        Row("mobilization", "22", "apheresis collection efficiency (median CE2)", "45-55 %",
            f"{100 * r['row22_ce2_median']:.0f} %", _pass(0.30 <= r["row22_ce2_median"] <= 0.70),
            "Gidron 2005; J Clin Apher 2025"),
    ]  # fmt: skip


def _band_plots(pops: dict[str, Population], plots_dir: Path) -> list[str]:
    from marrowsim.cohort.plots import plot_bands

    out = []
    for name, pop in pops.items():
        for quantity, observable in (("anc", "anc"), ("platelets", "platelets")):
            path = plots_dir / f"{name}-{quantity}.png"
            plot_bands(pop.days, {name: pop.quantiles(observable)}, path, quantity=quantity,
                       title=f"{name}: {quantity}, median and 5-95 % band")  # fmt: skip
            out.append(path.name)
    return out


@dataclass
class Validation:
    """All rows, with the settings that produced them."""

    rows: list[Row]
    patients: int
    seed: int
    details: dict[str, Any]

    def counts(self) -> dict[str, int]:
        return {s: sum(r.status == s for r in self.rows) for s in ("pass", "miss", "info")}


def run_validation(
    *,
    patients: int = 200,
    seed: int = 20261127,
    parameters: ParameterSet | None = None,
    plots_dir: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Validation:
    """Run every validation row (populations of ``patients`` virtual patients per scenario)."""
    ps = parameters or default_parameters()
    say = progress or (lambda _msg: None)
    say("physiology rows 1-6")
    rows = physiology_rows(ps)
    say("transplant targets")
    mappings = {t.scenario["name"]: t.scenario for t in all_targets()}
    populations = {
        name: simulate_population(m, patients, seed=seed, parameters=ps)
        for name, m in mappings.items()
    }
    plots = {}
    if plots_dir is not None:
        plots_dir.mkdir(parents=True, exist_ok=True)
        for name, pop in populations.items():
            if "graft" in mappings[name]:
                plots[name] = _band_plots({name: pop}, plots_dir)
    engraft, stats = engraftment_rows(populations, plots)
    rows += engraft
    say("cord dose, conditioning intensity and chimerism")
    extra, raw = extra_rows(ps, patients, seed, plots_dir)
    rows += extra
    say("HLA and survival (row 17)")
    rows += mortality_rows(ps)
    say("mobilization rows 19-22")
    rows += mobilization_rows(ps)
    say("disease models: leukemia, aplastic anemia")
    from marrowsim.validation.disease_checks import disease_rows

    disease, raw_disease = disease_rows(ps, patients, seed, plots_dir)
    rows += disease
    say("erythroid disease and gene editing rows 24, 26, 27, 30")
    from marrowsim.validation.erythroid_rows import erythroid_rows

    erythroid, erythroid_raw = erythroid_rows(ps, patients, seed)
    rows += erythroid
    details = {
        "engraftment": stats,
        "extra": raw,
        "disease": raw_disease,
        "erythroid": erythroid_raw,
    }
    return Validation(rows, patients, seed, details)


def to_markdown(v: Validation, plots_subdir: str = "validation") -> str:
    """The report as Markdown (what ``docs/validation.md`` holds)."""
    c = v.counts()
    lines = [
        "# Validation: model vs. published numbers",
        "",
        f"Generated by `marrowsim validate` on {date.today().isoformat()} "
        f"({v.patients} virtual patients per transplant scenario, seed {v.seed}). "
        "Do not edit by hand: rerun the command.",
        "",
        f"**{c['pass']} pass, {c['miss']} miss.** Transplant rows are the median [IQR] of a "
        "virtual population with between-patient parameter variability (registry priors); a row "
        "passes when the median is within the published tolerance. Misses are reported, not tuned "
        "away; their discussion is in `docs/transplant.md`.",
        "",
        "| section | row | quantity | published | simulated | status | source | plots |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in v.rows:
        links = " ".join(f"[{p.rsplit('-', 1)[-1][:-4]}]({plots_subdir}/{p})" for p in r.plots)
        status = f"**{r.status}**" if r.status == "miss" else r.status
        lines.append(
            f"| {r.section} | {r.row} | {r.quantity} | {r.published} | {r.simulated} | "
            f"{status} | {r.source} | {links} |"
        )
    return "\n".join(lines) + "\n"


def write_report(v: Validation, out: Path) -> tuple[Path, Path]:
    """``out/validation.md`` and ``out/validation/validation.json`` (atomic writes)."""
    from marrowsim.io import write_text_atomic

    out.mkdir(parents=True, exist_ok=True)
    md = out / "validation.md"
    js = out / "validation" / "validation.json"
    js.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(md, to_markdown(v))
    doc = {
        "patients": v.patients,
        "seed": v.seed,
        "counts": v.counts(),
        "rows": [asdict(r) for r in v.rows],
        "details": v.details,
    }
    write_text_atomic(js, json.dumps(doc, indent=1, default=_jsonable))
    return md, js


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)


__all__ = ["ExtraCheck", "Row", "Validation", "run_validation", "to_markdown", "write_report"]
