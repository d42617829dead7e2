"""Matplotlib figures of a Solution: counts on log axes with ASTCT thresholds (clinical.md §5.3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def plot_solution(solution, path: str | Path | None = None, *, show_lineages: bool = True):
    """Four panels: ANC and WBC, platelets, Hb, HSC and chimerism; day 0 = infusion."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    days = solution.days
    xlabel = "day (0 = infusion)" if solution.metadata.get("graft_source") else "day"
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    ax = axes[0, 0]
    ax.semilogy(days, np.maximum(solution["anc"], 1e-3), label="ANC", color="tab:blue")
    ax.semilogy(days, np.maximum(solution["wbc"], 1e-3), label="WBC", color="tab:gray", lw=0.8)
    ax.semilogy(days, np.maximum(solution["lymphocytes"], 1e-3), label="lymphocytes", lw=0.8)
    ax.axhline(0.5, color="tab:red", ls="--", lw=0.8, label="ANC 0.5 (ASTCT)")
    ax.set_ylabel("10^9/L")
    ax.set_title("Leukocytes")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    ax.semilogy(
        days, np.maximum(solution["platelets"], 1e-1), color="tab:purple", label="platelets"
    )
    ax.axhline(20, color="tab:red", ls="--", lw=0.8, label="PLT 20 (ASTCT)")
    tx = days[solution["platelet_transfusion"] > 0]
    if len(tx):
        ax.plot(tx, np.full(len(tx), 5.0), "v", color="tab:orange", ms=4, label="PLT transfusion")
    ax.set_ylabel("10^9/L")
    ax.set_title("Platelets")
    ax.legend(fontsize=8)
    ax = axes[1, 0]
    ax.plot(days, solution["hb"], color="tab:red", label="Hb")
    ax.axhline(7.0, color="k", ls=":", lw=0.8, label="Hb 7")
    tx = days[solution["rbc_transfusion"] > 0]
    if len(tx):
        ax.plot(tx, np.full(len(tx), 6.0), "v", color="tab:orange", ms=4, label="RBC transfusion")
    ax.set_ylabel("g/dL")
    ax.set_xlabel(xlabel)
    ax.set_title("Haemoglobin")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    ax.semilogy(days, np.maximum(solution["hsc"], 1.0), color="k", label="HSC (all)")
    if show_lineages:
        classes = [(f"hsc_{k}", k) for k in ("host", "donor", "donor2", "edited", "malignant")]
        present = [(n, k) for n, k in classes if np.any(solution[n] >= 1.0)]
        if len(present) > 1:  # a single class is the total already drawn
            for name, label in present:
                shown = np.where(solution[name] >= 1.0, solution[name], np.nan)  # gaps below 1
                ax.semilogy(days, shown, lw=0.8, label=f"HSC {label}")
    ax.set_ylabel("cells")
    ax.set_xlabel(xlabel)
    ax.set_title("Stem cells")
    ax.legend(fontsize=8)
    for a in axes.flat:
        a.axvline(0, color="k", lw=0.5)
        a.grid(alpha=0.3)
    fig.suptitle(
        f"{solution.scenario_name} (seed {solution.seed}) - marrowsim, not for clinical use"
    )
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
        plt.close(fig)
    return fig
