"""Derive the model's rate constants from cited parameters and steady-state balance.

The healthy steady state is the anchor (as Friberg's ``Circ0``): cited steady-state counts,
lifespans, transit times and division rates are primary parameters; the self-renewal fractions at
steady state, the feedback constants and the lineage split of multipotent output follow from mass
balance, so that a healthy patient sits exactly at a steady state with counts inside the reference
ranges. The equations are in ``docs/model.md``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from marrowsim.errors import InputError
from marrowsim.model import layout as L
from marrowsim.model.constants import DRUGS, GROUPS, N_CLASS_MODIFIERS, N_CONSTANTS, C
from marrowsim.units import total_blood_volume_l

REFERENCE_WEIGHT_KG = 70.0


def _steady_self_renewal(amplification: np.ndarray) -> np.ndarray:
    """Self-renewal fraction a* of a compartment with amplification A = 2(1-a)/(1-2a)."""
    return (amplification - 2.0) / (2.0 * amplification - 2.0)


def blood_volume_per_kg(
    weight_kg: np.ndarray, height_cm: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """Nadler total blood volume divided by weight, L/kg."""
    tbv = np.where(
        male,
        total_blood_volume_l(weight_kg, height_cm, "male"),
        total_blood_volume_l(weight_kg, height_cm, "female"),
    )
    return tbv / weight_kg


def derive_constants(
    values: Mapping[str, np.ndarray | float],
    weight_kg: np.ndarray,
    height_cm: np.ndarray,
    male: np.ndarray,
) -> np.ndarray:
    """Per-patient constant vectors, shape ``(patients, N_CONSTANTS)``.

    ``values`` maps parameter names to scalars or arrays of shape ``(patients,)``. Raises
    :class:`InputError` if any patient's parameters have no feasible steady state.
    """
    out, problems = _derive(values, weight_kg, height_cm, male)
    bad = [message for message, mask in problems if np.any(mask)]
    if bad:
        raise InputError("infeasible parameter set: " + "; ".join(bad))
    return out


def feasible_patients(
    values: Mapping[str, np.ndarray | float],
    weight_kg: np.ndarray,
    height_cm: np.ndarray,
    male: np.ndarray,
) -> np.ndarray:
    """Boolean mask ``(patients,)``: whose parameters have a feasible healthy steady state."""
    with np.errstate(invalid="ignore", divide="ignore"):  # infeasible rows give NaN, not noise
        _, problems = _derive(values, weight_kg, height_cm, male)
    ok = np.ones(np.asarray(weight_kg).shape[0], dtype=bool)
    for _, mask in problems:
        ok &= ~mask
    return ok


def _derive(values, weight_kg, height_cm, male) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Constants and, per feasibility condition, a message and the mask of patients violating it."""
    w = np.asarray(weight_kg, dtype=float)
    n = w.shape[0]
    v = {k: np.broadcast_to(np.asarray(x, dtype=float), (n,)) for k, x in values.items()}
    out = np.zeros((n, N_CONSTANTS))

    def put(name: str, x: np.ndarray | float) -> None:
        out[:, C[name]] = x

    bv = blood_volume_per_kg(w, np.asarray(height_cm, float), np.asarray(male, bool))
    put("weight_kg", w)
    put("blood_volume_l_per_kg", bv)
    per_kg_blood = 1e9 * bv  # cells/kg for 1 x10^9/L

    # --- HSC: niche-regulated self-renewal; steady output = p_hsc * H* ----------------------
    hsc_total = (
        v["hsc_active_number_70kg"] * (w / REFERENCE_WEIGHT_KG) ** v["hsc_allometric_exponent"]
    )
    hsc_star = hsc_total / w
    p_hsc = v["hsc_division_rate"]
    hsc_output = p_hsc * hsc_star
    put("hsc_star", hsc_star)
    put("p_hsc", p_hsc)
    put("a_hsc_max", v["hsc_self_renewal_max"])
    put("hsc_stress_activation", v["hsc_stress_activation"])

    # --- targets of the mature pools ----------------------------------------------------------
    hb_star = np.where(male, v["hb_steady_state_male"], v["hb_steady_state_female"])
    anc, plt, alc = v["anc_steady_state"], v["platelets_steady_state"], v["lymphocyte_steady_state"]
    for name, x in (("anc_star", anc), ("hb_star", hb_star), ("plt_star", plt), ("alc_star", alc)):
        put(name, x)
    put("other_wbc_star", v["other_leukocytes_steady_state"])

    # --- neutrophils: mitotic pool (Stiehl progenitor) -> 3 post-mitotic stages -> blood -------
    neu = anc * per_kg_blood
    d_neu = v["neutrophil_clearance_rate"]
    neutrophil_output = d_neu * neu
    gp_star = neu / v["blood_to_mitotic_pool_ratio"]
    p_gp = v["gp_division_rate"]
    influx_gp = neutrophil_output - p_gp * gp_star
    a_gp = 0.5 * (1.0 - influx_gp / (p_gp * gp_star))
    put("d_neu", d_neu)
    put("k_npm", L.N_NPM_STAGES / v["neutrophil_marrow_transit_days"])
    put("p_gp", p_gp)
    put("a_gp_max", v["gp_self_renewal_max"])
    put("k_gcsf", (v["gp_self_renewal_max"] / a_gp - 1.0) / anc)

    # --- erythroid: EP -> marrow reticulocyte -> blood reticulocyte -> 4 RBC stages -----------
    mch = v["mean_corpuscular_hemoglobin_pg"]
    red_cells = hb_star * 10.0 / mch * 1e12 * bv  # cells/kg (reticulocytes + RBC)
    t_ret = v["reticulocyte_maturation_days"]
    t_retb = t_ret * (1.0 - v["reticulocyte_marrow_fraction"])
    t_rbc = v["rbc_lifespan_days"]
    red_output = red_cells / (t_retb + t_rbc)
    a_ep = _steady_self_renewal(v["ep_amplification"])
    influx_ep = red_output / v["ep_amplification"]
    put("mch_pg", mch)
    put("k_retm", 1.0 / (t_ret * v["reticulocyte_marrow_fraction"]))
    put("k_retb", 1.0 / t_retb)
    put("k_rbc", L.N_RBC_STAGES / t_rbc)
    put("p_ep", v["ep_division_rate"])
    put("a_ep_max", v["ep_self_renewal_max"])
    put("k_epo", (v["ep_self_renewal_max"] / a_ep - 1.0) / hb_star)

    # --- platelets: MKP -> megakaryocytes -> 5 platelet age stages ---------------------------
    t_plt = v["platelet_lifespan_days"]
    mk_exits = plt * per_kg_blood / t_plt / v["platelets_per_megakaryocyte"]
    a_mkp = _steady_self_renewal(v["mkp_amplification"])
    influx_mkp = mk_exits / v["mkp_amplification"]
    put("p_mkp", v["mkp_division_rate"])
    put("a_mkp_max", v["mkp_self_renewal_max"])
    put("k_tpo", (v["mkp_self_renewal_max"] / a_mkp - 1.0) / plt)
    put("k_mk", v["megakaryocyte_exit_rate"])
    put("platelet_burst", v["platelets_per_megakaryocyte"])
    put("k_plt", L.N_PLT_STAGES / t_plt)

    # --- lymphocytes: LP -> lymphocyte pool ----------------------------------------------------
    d_lym = 1.0 / v["lymphocyte_lifespan_days"]
    lym_output = d_lym * alc * per_kg_blood
    a_lp = _steady_self_renewal(v["lp_amplification"])
    influx_lp = lym_output / v["lp_amplification"]
    put("p_lp", v["lp_division_rate"])
    put("a_lp_max", v["lp_self_renewal_max"])
    put("k_il7", (v["lp_self_renewal_max"] / a_lp - 1.0) / alc)
    put("d_lym", d_lym)

    # --- MPP: three transit-amplifying stages carry HSC output to the lineages ------------------
    total_influx = influx_gp + influx_ep + influx_mkp + influx_lp
    put("k_mpp", L.N_MPP_STAGES / v["mpp_residence_days"])
    put("alpha_mpp", (total_influx / hsc_output) ** (1.0 / L.N_MPP_STAGES))
    put("kappa_mpp", v["mpp_feedback_gain"])
    for name, x in (
        ("f_gp", influx_gp),
        ("f_ep", influx_ep),
        ("f_mkp", influx_mkp),
        ("f_lp", influx_lp),
    ):
        put(name, x / total_influx)

    # --- exogenous filgrastim (inactive unless the parameters exist) ---------------------------
    for const, name in (
        ("filg_ka", "filgrastim_absorption_rate"),
        ("filg_ke", "filgrastim_elimination_rate"),
        ("filg_ec50", "filgrastim_ec50"),
        ("filg_emax_self_renewal", "filgrastim_emax_self_renewal"),
        ("filg_emax_transit", "filgrastim_emax_transit"),
    ):
        if name in v:
            put(const, v[name])

    # --- conditioning: radiation (linear-quadratic) and drug log-kill by compartment group -----
    for group in GROUPS:
        put(f"rad_alpha_{group}", v[f"radiation_alpha_{group}"])
        put(f"rad_beta_{group}", v[f"radiation_beta_{group}"])
        for drug in DRUGS:
            name = f"{drug}_log_kill_{group}"
            if name in v:
                put(f"lk_{drug}_{group}", v[name])
    put("atg_ke", v["atg_elimination_rate"])
    put("atg_kill", v["atg_lymphocyte_kill_rate"])

    return out, _feasibility(out, influx_gp, a_gp, a_ep, a_mkp, a_lp, v)


def _feasibility(out, influx_gp, a_gp, a_ep, a_mkp, a_lp, v) -> list[tuple[str, np.ndarray]]:
    """Conditions for a feasible steady state (never clip silently): (message, violated mask)."""
    problems = [
        (
            "granulocyte progenitor pool too large for its division rate and neutrophil output "
            "(blood_to_mitotic_pool_ratio, gp_division_rate, neutrophil_clearance_rate)",
            influx_gp <= 0,
        )
    ]
    for name, a, amax in (
        ("gp", a_gp, v["gp_self_renewal_max"]),
        ("ep", a_ep, v["ep_self_renewal_max"]),
        ("mkp", a_mkp, v["mkp_self_renewal_max"]),
        ("lp", a_lp, v["lp_self_renewal_max"]),
    ):
        mask = (a >= amax) | (a <= 0)
        worst = np.max(a[mask]) if np.any(mask) else np.max(a)
        problems.append(
            (f"{name}: steady-state self-renewal {worst:.3f} not in (0, its maximum)", mask)
        )
    problems.append(
        (
            "MPP amplification <= 1: HSC output exceeds lineage demand",
            ~(out[:, C["alpha_mpp"]] > 1.0),
        )
    )
    return problems


def default_class_modifiers(n_patients: int) -> np.ndarray:
    """Class modifiers of shape ``(patients, N_CLASSES, N_CLASS_MODIFIERS)``, all 1."""
    return np.ones((n_patients, L.N_CLASSES, N_CLASS_MODIFIERS))


def steady_state(constants: np.ndarray, clone_class: int = L.HOST) -> np.ndarray:
    """Healthy steady state (all cells in one clone class), shape ``(patients, N_STATES)``."""
    c = constants
    n = c.shape[0]
    y = np.zeros((n, L.N_STATES))

    def put(comp: int, x: np.ndarray) -> None:
        y[:, L.cell_index(clone_class, comp)] = x

    bv1e9 = c[:, C["blood_volume_l_per_kg"]] * 1e9
    hsc_out = c[:, C["p_hsc"]] * c[:, C["hsc_star"]]
    put(L.HSC, c[:, C["hsc_star"]])
    k_mpp, alpha = c[:, C["k_mpp"]], c[:, C["alpha_mpp"]]
    for s, comp in enumerate((L.MPP1, L.MPP2, L.MPP3)):
        put(comp, hsc_out * alpha**s / k_mpp)
    mpp_out = hsc_out * alpha**L.N_MPP_STAGES

    neu = c[:, C["anc_star"]] * bv1e9
    neu_out = c[:, C["d_neu"]] * neu
    influx = c[:, C["f_gp"]] * mpp_out
    put(L.GP, (neu_out - influx) / c[:, C["p_gp"]])
    for comp in (L.NPM1, L.NPM2, L.NPM3):
        put(comp, neu_out / c[:, C["k_npm"]])
    put(L.NEU, neu)

    red_out = c[:, C["f_ep"]] * mpp_out  # influx into EP
    ep_in = red_out
    hb = c[:, C["hb_star"]]
    k_retb, k_rbc = c[:, C["k_retb"]], c[:, C["k_rbc"]]
    red_cells = hb * 10.0 / c[:, C["mch_pg"]] * 1e12 * c[:, C["blood_volume_l_per_kg"]]
    production = red_cells / (1.0 / k_retb + L.N_RBC_STAGES / k_rbc)
    put(L.EP, (production - ep_in) / c[:, C["p_ep"]])
    put(L.RETM, production / c[:, C["k_retm"]])
    put(L.RETB, production / k_retb)
    for comp in (L.RBC1, L.RBC2, L.RBC3, L.RBC4):
        put(comp, production / k_rbc)

    plt = c[:, C["plt_star"]] * bv1e9
    plt_prod = plt * c[:, C["k_plt"]] / L.N_PLT_STAGES
    mk_exits = plt_prod / c[:, C["platelet_burst"]]
    put(L.MKP, (mk_exits - c[:, C["f_mkp"]] * mpp_out) / c[:, C["p_mkp"]])
    put(L.MK, mk_exits / c[:, C["k_mk"]])
    for comp in (L.PLT1, L.PLT2, L.PLT3, L.PLT4, L.PLT5):
        put(comp, plt_prod / c[:, C["k_plt"]])

    lym = c[:, C["alc_star"]] * bv1e9
    lym_out = c[:, C["d_lym"]] * lym
    put(L.LP, (lym_out - c[:, C["f_lp"]] * mpp_out) / c[:, C["p_lp"]])
    put(L.LYM, lym)
    return y
