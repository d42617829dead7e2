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
from marrowsim.model.constants import (
    CLASS_MODIFIER_DEFAULTS,
    DRUGS,
    GROUPS,
    N_CLASS_MODIFIERS,
    N_CONSTANTS,
    C,
)
from marrowsim.units import total_blood_volume_l

REFERENCE_WEIGHT_KG = 70.0


def _steady_self_renewal(amplification: np.ndarray) -> np.ndarray:
    """Self-renewal fraction a* of a compartment with amplification A = 2(1-a)/(1-2a)."""
    return (amplification - 2.0) / (2.0 * amplification - 2.0)


def _minimal_self_renewal(a_star, a_max, ec50, hill):
    """Self-renewal a0 without cytokine, so that a(1) = a_star.

    The response is ``a(S) = a0 + (a_max - a0) S^n / (S^n + ec50^n)`` with ``S`` the relative
    level and ``n`` the Hill exponent.
    """
    s = 1.0 / (1.0 + ec50**hill)  # response at the steady-state level S = 1
    return (a_star - a_max * s) / (1.0 - s)


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

    hill = v["cytokine_response_hill"]
    put("cytokine_hill", hill)

    # --- neutrophils: mitotic pool (bounded amplifier) -> 3 post-mitotic stages -> blood ------
    neu = anc * per_kg_blood
    d_neu = v["neutrophil_clearance_rate"]
    neutrophil_output = d_neu * neu
    gp_star = neu / v["blood_to_mitotic_pool_ratio"]
    a_gp = _steady_self_renewal(v["gp_amplification"])
    influx_gp = neutrophil_output / v["gp_amplification"]
    p_gp = neutrophil_output / (2.0 * (1.0 - a_gp) * gp_star)
    a_gp_max = _steady_self_renewal(v["gp_amplification"] * v["gcsf_amplification_max_ratio"])
    k_npm = L.N_NPM_STAGES / v["neutrophil_marrow_transit_days"]
    npm_star = L.N_NPM_STAGES * neutrophil_output / k_npm
    theta_g = v["gcsf_marrow_neutrophil_weight"]
    put("d_neu", d_neu)
    put("k_npm", k_npm)
    put("p_gp", p_gp)
    put("a_gp_max", a_gp_max)
    put("gp_ec50", v["gp_gcsf_ec50"])
    put("a_gp_min", _minimal_self_renewal(a_gp, a_gp_max, v["gp_gcsf_ec50"], hill))
    put("gcsf_marrow_weight", theta_g)
    put("gcsf_star_mass", neu + theta_g * npm_star)
    put("gcsf_eps", 1.0 / (v["gcsf_max_elevation"] - 1.0))
    put("npm_gcsf_emax", v["gcsf_maturation_acceleration_max"] - 1.0)
    put("npm_gcsf_ec50", v["gcsf_maturation_ec50"])
    put("release_gcsf_emax", v["gcsf_release_acceleration_max"] - 1.0)
    # ug/kg in plasma -> ng/mL (= ug/L) -> relative to the endogenous steady-state level
    gcsf_ng_per_ml = v["gcsf_endogenous_concentration_pg_per_ml"] * 1e-3
    put("filgrastim_to_gcsf", 1.0 / (v["filgrastim_volume_of_distribution"] * gcsf_ng_per_ml))
    share = v["filgrastim_neutrophil_clearance_share"]
    put("filg_ke_linear", v["filgrastim_elimination_rate"] * (1.0 - share))
    put("filg_ke_neutrophil", v["filgrastim_elimination_rate"] * share)

    # --- erythroid: EP -> marrow reticulocyte -> blood reticulocyte -> 4 RBC stages -----------
    mch = v["mean_corpuscular_hemoglobin_pg"]
    red_cells = hb_star * 10.0 / mch * 1e12 * bv  # cells/kg (reticulocytes + RBC)
    t_ret = v["reticulocyte_maturation_days"]
    t_retb = t_ret * (1.0 - v["reticulocyte_marrow_fraction"])
    t_rbc = v["rbc_lifespan_days"]
    red_output = red_cells / (t_retb + t_rbc)
    a_ep = _steady_self_renewal(v["ep_amplification"])
    influx_ep = red_output / v["ep_amplification"]
    ep_star = (red_output - influx_ep) / v["ep_division_rate"]
    put("mch_pg", mch)
    put("k_retm", 1.0 / (t_ret * v["reticulocyte_marrow_fraction"]))
    put("k_retb", 1.0 / t_retb)
    put("k_rbc", L.N_RBC_STAGES / t_rbc)
    a_ep_max = _steady_self_renewal(v["ep_amplification"] * v["epo_amplification_max_ratio"])
    put("p_ep", v["ep_division_rate"])
    put("a_ep_max", a_ep_max)
    put("ep_ec50", v["ep_epo_ec50"])
    put("a_ep_min", _minimal_self_renewal(a_ep, a_ep_max, v["ep_epo_ec50"], hill))
    put("ep_star", ep_star)
    put("epo_eps", 1.0 / (v["epo_max_clearance_elevation"] - 1.0))
    put("epo_hb_slope", v["epo_hb_slope"])

    # --- platelets: MKP -> megakaryocytes -> 5 platelet age stages ---------------------------
    t_plt = v["platelet_lifespan_days"]
    plt_cells = plt * per_kg_blood
    mk_exits = plt_cells / t_plt / v["platelets_per_megakaryocyte"]
    mk_star = 2.0 * mk_exits / v["megakaryocyte_exit_rate"]  # megakaryoblasts + megakaryocytes
    a_mkp = _steady_self_renewal(v["mkp_amplification"])
    influx_mkp = mk_exits / v["mkp_amplification"]
    share = v["tpo_megakaryocyte_clearance_share"]
    theta_t = share / (1.0 - share) * plt_cells / mk_star
    put("p_mkp", v["mkp_division_rate"])
    put("a_mkp_max", v["mkp_self_renewal_max"])
    put("mkp_ec50", v["mkp_tpo_ec50"])
    put(
        "a_mkp_min",
        _minimal_self_renewal(a_mkp, v["mkp_self_renewal_max"], v["mkp_tpo_ec50"], hill),
    )
    put("tpo_mk_weight", theta_t)
    put("tpo_star_mass", plt_cells + theta_t * mk_star)
    put("tpo_eps", 1.0 / (v["tpo_max_elevation"] - 1.0))
    put("k_mk", v["megakaryocyte_exit_rate"])
    put("platelet_burst", v["platelets_per_megakaryocyte"])
    put("k_plt", L.N_PLT_STAGES / t_plt)

    # --- lymphocytes: LP -> lymphocyte pool ----------------------------------------------------
    d_lym = 1.0 / v["lymphocyte_lifespan_days"]
    lym_cells = alc * per_kg_blood
    lym_output = d_lym * lym_cells
    a_lp = _steady_self_renewal(v["lp_amplification"])
    influx_lp = lym_output / v["lp_amplification"]
    put("p_lp", v["lp_division_rate"])
    put("a_lp_max", v["lp_self_renewal_max"])
    put("lp_ec50", v["lp_il7_ec50"])
    put("a_lp_min", _minimal_self_renewal(a_lp, v["lp_self_renewal_max"], v["lp_il7_ec50"], hill))
    put("lym_star", lym_cells)
    put("il7_eps", 1.0 / (v["il7_max_elevation"] - 1.0))
    put("lym_homeostatic_max", v["lymphocyte_homeostatic_proliferation_max"])
    put("lym_homeostatic_ec50", v["lymphocyte_homeostatic_proliferation_ec50"])
    put("d_lym", d_lym)

    # --- CMP: self-renewing myeloid progenitors, regulated by the demand of the lineages -------
    myeloid_influx = influx_gp + influx_ep + influx_mkp
    alpha_cmp = v["cmp_amplification"]
    a_cmp = _steady_self_renewal(alpha_cmp)
    p_cmp = v["cmp_division_rate"]
    put("p_cmp", p_cmp)
    put("cmp_amplification", alpha_cmp)
    put("a_cmp_max", v["cmp_self_renewal_max"])
    put("cmp_ec50", v["cmp_demand_ec50"])
    put(
        "a_cmp_min",
        _minimal_self_renewal(a_cmp, v["cmp_self_renewal_max"], v["cmp_demand_ec50"], hill),
    )
    put("demand_eps", 1.0 / (v["progenitor_demand_max_elevation"] - 1.0))
    put("cmp_gcsf_weight", v["cmp_gcsf_weight"])
    put("cmp_star", myeloid_influx / (2.0 * (1.0 - a_cmp) * p_cmp))
    for name, x in (("f_gp", influx_gp), ("f_ep", influx_ep), ("f_mkp", influx_mkp)):
        put(name, x / myeloid_influx)

    # --- MPP: three transit-amplifying stages carry HSC output to CMP and the lymphoid lineage ---
    mpp_output = myeloid_influx / alpha_cmp + influx_lp
    put("k_mpp", L.N_MPP_STAGES / v["mpp_residence_days"])
    put("alpha_mpp", (mpp_output / hsc_output) ** (1.0 / L.N_MPP_STAGES))
    put("kappa_mpp", v["mpp_feedback_gain"])
    put("f_lp", influx_lp / mpp_output)

    # --- exogenous filgrastim: subcutaneous depot -> plasma ------------------------------------
    put("filg_ka", v["filgrastim_absorption_rate"])

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
    # host-versus-graft effectors (model/rejection.py): the expansion rate and the precursor
    # fraction are set by the transplant compiler for an allogeneic donor only (0 = none); the
    # antigen half-saturation needs the steady state (compile.py)
    put("hvg_contraction_rate", v["hvg_effector_contraction_rate"])
    put("hvg_effector_capacity", v["hvg_effector_capacity"])

    # --- erythroid disease (clinical/erythroid.py sets the expansion of a diseased patient) -----
    put("erythroid_expansion_max", 1.0)
    put("erythroid_expansion_ec50", v["erythroid_expansion_ec50"])
    put("erythroid_expansion_rate", 1.0 / v["erythroid_expansion_days"])
    put("hbf_protective_pg", v["hbf_protective_pg_per_cell"])

    return out, _feasibility(out)


def _feasibility(out: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """Conditions for a feasible steady state (never clip silently): (message, violated mask)."""
    problems = []
    for name in ("gp", "ep"):
        a_max = out[:, C[f"a_{name}_max"]]
        problems.append(
            (f"{name}: maximal self-renewal reaches 1/2 (an unbounded amplifier)", a_max >= 0.5)
        )
        problems.append(
            (
                f"{name}: steady-state amplification not above 2",
                _steady_self_renewal_of(out, name) <= 0,
            )
        )
    for name in ("gp", "ep", "mkp", "lp", "cmp"):
        mask = ~(out[:, C[f"a_{name}_min"]] >= 0)
        worst = np.min(out[mask, C[f"{name}_ec50"]]) if np.any(mask) else np.nan
        problems.append(
            (
                f"{name}: EC50 {worst:.3g} too small for its steady-state self-renewal and maximum "
                "(self-renewal without signal would be < 0)",
                mask,
            )
        )
    problems.append(
        (
            "MPP amplification <= 1: HSC output exceeds lineage demand",
            ~(out[:, C["alpha_mpp"]] > 1.0),
        )
    )
    return problems


def _steady_self_renewal_of(out: np.ndarray, name: str) -> np.ndarray:
    """Steady-state self-renewal a* = a_min + (a_max - a_min) / (1 + ec50^n) of a lineage."""
    s = 1.0 / (1.0 + out[:, C[f"{name}_ec50"]] ** out[:, C["cytokine_hill"]])
    a_min, a_max = out[:, C[f"a_{name}_min"]], out[:, C[f"a_{name}_max"]]
    return a_min + (a_max - a_min) * s


def default_class_modifiers(n_patients: int) -> np.ndarray:
    """Class modifiers of shape ``(patients, N_CLASSES, N_CLASS_MODIFIERS)``: 1, except the
    haemoglobin-composition modifiers of a normal red cell (``CLASS_MODIFIER_DEFAULTS``)."""
    out = np.ones((n_patients, L.N_CLASSES, N_CLASS_MODIFIERS))
    for index, value in CLASS_MODIFIER_DEFAULTS.items():
        out[:, :, index] = value
    return out


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
    put(L.CMP, c[:, C["cmp_star"]])
    cmp_out = (1.0 - c[:, C["f_lp"]]) * mpp_out * c[:, C["cmp_amplification"]]

    neu = c[:, C["anc_star"]] * bv1e9
    neu_out = c[:, C["d_neu"]] * neu
    influx = c[:, C["f_gp"]] * cmp_out
    put(L.GP, (neu_out - influx) / c[:, C["p_gp"]])
    for comp in (L.NPM1, L.NPM2, L.NPM3):
        put(comp, neu_out / c[:, C["k_npm"]])
    put(L.NEU, neu)

    red_out = c[:, C["f_ep"]] * cmp_out  # influx into EP
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
    put(L.MKP, (mk_exits - c[:, C["f_mkp"]] * cmp_out) / c[:, C["p_mkp"]])
    put(L.MKB, mk_exits / c[:, C["k_mk"]])
    put(L.MK, mk_exits / c[:, C["k_mk"]])
    for comp in (L.PLT1, L.PLT2, L.PLT3, L.PLT4, L.PLT5):
        put(comp, plt_prod / c[:, C["k_plt"]])

    lym = c[:, C["alc_star"]] * bv1e9
    lym_out = c[:, C["d_lym"]] * lym
    put(L.LP, (lym_out - c[:, C["f_lp"]] * mpp_out) / c[:, C["p_lp"]])
    put(L.LYM, lym)
    return y
