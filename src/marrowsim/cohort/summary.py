"""Summaries of a stored run: per-arm statistics, arm comparisons, bands and plots.

Reads only the columns the statistics need from the chunk files (memory ~40 bytes per patient and
arm) and merges the band histograms chunk by chunk. The JSON document is the contract of
``marrowsim cohort --json`` and ``marrowsim results --json``::

    {"arms": {ARM: {...summarise_arm..., "status_counts", "n_simulated", "n_infeasible"}},
     "comparisons": {"ARM vs REFERENCE": {...compare_arms (ARM minus REFERENCE)...}},
     "run": {"scenario", "seed", "patients", "chunk_size", "chunks", "chunks_finished",
             "complete", "arms", "reference_arm", "run_dir", "run_id", ...}}

Which patients count: patients whose parameter draw is infeasible (no healthy steady state) were
not simulated and are left out of the statistics (``n_infeasible``); patients whose integration
failed are kept, censored at their last simulated morning (``followup_days``).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from marrowsim.cohort import store
from marrowsim.cohort.bands import BAND_OBSERVABLES, BandAccumulator
from marrowsim.cohort.chunk import STATUS_INFEASIBLE
from marrowsim.errors import InputError

STAT_COLUMNS = (
    "patient",
    "arm",
    "status_code",
    "neutrophil_engraftment_day",
    "platelet_engraftment_day",
    "primary_graft_failure",
    "secondary_graft_failure",
    "death_day",
    "followup_days",
)
_PLOT_QUANTITY = {"anc": "anc", "platelets": "platelets", "hb": "hemoglobin"}


def open_run(run_dir: str | Path) -> tuple[dict[str, Any], dict[int, dict[str, Any]]]:
    """The manifest and finished chunks of a run folder (clear error if it is not one)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise InputError(f"run folder {str(run_dir)!r} does not exist")
    manifest = store.read_manifest(run_dir)
    if manifest is None:
        raise InputError(f"{str(run_dir)!r} is not a cohort run folder (no manifest.json)")
    return manifest, store.finished_chunks(run_dir, manifest["run_id"])


def _read_outcomes(run_dir: Path, chunks: dict[int, dict[str, Any]]) -> pd.DataFrame:
    import pyarrow.parquet as pq

    parts = [
        pq.read_table(store.chunk_dir(run_dir, i) / store.OUTCOMES, columns=list(STAT_COLUMNS))
        for i in sorted(chunks)
    ]
    if not parts:
        return pd.DataFrame(columns=list(STAT_COLUMNS))
    import pyarrow as pa

    return pa.concat_tables(parts).to_pandas()


def _arm_summary(df: pd.DataFrame, counts: dict[str, int]) -> dict[str, Any]:
    from marrowsim.cohort.statistics import summarise_arm

    simulated = df[df["status_code"] != STATUS_INFEASIBLE]
    out: dict[str, Any] = {"n": len(simulated)}
    if len(simulated):
        out.update(summarise_arm(simulated))
    out["n_infeasible"] = int(len(df) - len(simulated))
    out["n_integration_failures"] = int((df["status_code"] > 0).sum())
    out["status_counts"] = counts
    return out


def summarise_run(run_dir: str | Path, *, plots: bool = True) -> dict[str, Any]:
    """The JSON document of a run (see the module documentation); writes plots if asked."""
    run_dir = Path(run_dir)
    manifest, chunks = open_run(run_dir)
    ident = manifest["identity"]
    df = _read_outcomes(run_dir, chunks)
    arms: dict[str, Any] = {}
    frames: dict[str, pd.DataFrame] = {}
    for arm in manifest["arms"]:
        part = df[df["arm"] == arm]
        counts: dict[str, int] = {}
        for meta in chunks.values():
            for status, k in meta["status_counts"].get(arm, {}).items():
                counts[status] = counts.get(status, 0) + int(k)
        arms[arm] = _arm_summary(part, counts)
        frames[arm] = part[part["status_code"] != STATUS_INFEASIBLE]
    comparisons = _comparisons(manifest, frames, ident["seed"])
    finished = len(chunks)
    run = {
        "scenario": ident["scenario"],
        "scenario_hash": ident["scenario_hash"],
        "seed": ident["seed"],
        "patients": ident["patients"],
        "patients_finished": int(
            sum(m["stop_patient"] - m["first_patient"] for m in chunks.values())
        ),
        "chunk_size": ident["chunk_size"],
        "chunks": manifest["chunks"],
        "chunks_finished": finished,
        "complete": finished == manifest["chunks"],
        "arms": manifest["arms"],
        "reference_arm": manifest["reference_arm"],
        "days": manifest["days"],
        "package_version": ident["package_version"],
        "run_id": manifest["run_id"],
        "run_dir": str(run_dir),
    }
    doc = {"arms": arms, "comparisons": comparisons, "run": run}
    if plots and finished:
        run["plots"] = [str(p) for p in write_plots(run_dir, manifest, chunks, frames)]
    return doc


def _comparisons(manifest, frames: dict[str, pd.DataFrame], seed: int) -> dict[str, Any]:
    from marrowsim.cohort.statistics import compare_arms

    ref = manifest["reference_arm"]
    out: dict[str, Any] = {}
    for arm in manifest["arms"]:
        if arm == ref or not len(frames[arm]) or not len(frames[ref]):
            continue
        result = compare_arms(frames[ref], frames[arm], seed=seed)
        paired = paired_differences(frames[ref], frames[arm])
        out[f"{arm} vs {ref}"] = {"arm": arm, "reference": ref, **result, "paired": paired}
    return out


def paired_differences(reference: pd.DataFrame, arm: pd.DataFrame) -> dict[str, Any]:
    """Per-patient differences (arm minus reference) over the patients simulated in both arms:
    the same virtual patient with the same parameters, so these isolate the effect of the arm."""
    both = reference.merge(arm, on="patient", suffixes=("_ref", "_arm"))
    out: dict[str, Any] = {"n_pairs": len(both)}
    for lineage in ("neutrophil", "platelet"):
        a = both[f"{lineage}_engraftment_day_arm"].to_numpy(float)
        r = both[f"{lineage}_engraftment_day_ref"].to_numpy(float)
        engrafted = np.isfinite(a) & np.isfinite(r)
        d = a[engrafted] - r[engrafted]
        key = f"{lineage}_engraftment_day_difference"
        out[f"{key}_n"] = int(engrafted.sum())
        out[f"{key}_median"] = float(np.median(d)) if d.size else math.nan
        out[f"{key}_iqr"] = (
            [float(q) for q in np.percentile(d, [25, 75])] if d.size else [math.nan, math.nan]
        )
        earlier = float(np.mean(d < 0)) if d.size else math.nan
        out[f"{lineage}_engraftment_earlier_fraction"] = earlier
    fa = both["primary_graft_failure_arm"].astype(bool).to_numpy()
    fr = both["primary_graft_failure_ref"].astype(bool).to_numpy()
    out["primary_graft_failure_discordant"] = {
        "arm_only": int((fa & ~fr).sum()),
        "reference_only": int((fr & ~fa).sum()),
    }
    return out


def merged_bands(
    run_dir: Path, manifest: dict[str, Any], chunks: dict[int, dict[str, Any]]
) -> tuple[np.ndarray, dict[str, Any]]:
    """Daily p05/p50/p95 per observable and arm, merged chunk by chunk."""
    import pyarrow.parquet as pq

    first, last = manifest["days"]
    days = np.arange(first, last + 1)
    acc = BandAccumulator(manifest["arms"], days)
    for i in sorted(chunks):
        acc.add(pq.read_table(store.chunk_dir(run_dir, i) / store.BANDS))
    return days, acc.quantiles()


def write_plots(
    run_dir: Path,
    manifest: dict[str, Any],
    chunks: dict[int, dict[str, Any]],
    frames: dict[str, pd.DataFrame],
) -> list[Path]:
    """CIF curves per lineage and count bands per observable, as PNG under ``RUN_DIR/plots``."""
    from marrowsim.cohort.plots import plot_bands, plot_cif
    from marrowsim.cohort.statistics import engraftment_incidence

    out_dir = run_dir / "plots"
    paths = []
    horizon = float(max(manifest["days"][1], 1))
    transplanted = any(
        frame["neutrophil_engraftment_day"].notna().any() for frame in frames.values()
    )
    if transplanted:
        for lineage in ("neutrophil", "platelet"):
            curves = {
                arm: engraftment_incidence(frame, lineage)
                for arm, frame in frames.items()
                if len(frame)
            }
            ticks = [d for d in (0, 14, 28, 42, 56, 70, 84, 100) if d <= horizon]
            paths.append(
                plot_cif(
                    curves,
                    out_dir / f"cif_{lineage}.png",
                    title=f"Cumulative incidence of {lineage} engraftment",
                    max_day=min(100.0, horizon),
                    marks=[d for d in (28.0, 42.0) if d <= horizon],
                    at_risk_days=ticks,
                )
            )
    days, quantiles = merged_bands(run_dir, manifest, chunks)
    for name in BAND_OBSERVABLES:
        usable = {arm: q for arm, q in quantiles[name].items() if np.isfinite(q["p50"]).any()}
        if usable:
            paths.append(
                plot_bands(
                    days, usable, out_dir / f"bands_{name}.png", quantity=_PLOT_QUANTITY[name]
                )
            )
    return paths


def band_table(run_dir: str | Path) -> pd.DataFrame:
    """Daily quantile bands as a long table (arm, observable, day, p05, p50, p95)."""
    manifest, chunks = open_run(run_dir)
    days, quantiles = merged_bands(Path(run_dir), manifest, chunks)
    rows = []
    for name, by_arm in quantiles.items():
        for arm, q in by_arm.items():
            rows.append(pd.DataFrame({"arm": arm, "observable": name, "day": days, **q}))
    return pd.concat(rows, ignore_index=True)
