"""Named slots of the per-patient constant vector that the compiled right-hand side reads.

The constants are *derived* from the parameter set and the patient (see ``steady_state.py``):
cited primary parameters plus steady-state balance give every rate the right-hand side needs.
Per-class modifiers (``CM_*``) let clone classes differ by explicit, named factors.
"""

from __future__ import annotations

CONSTANT_NAMES = (
    "weight_kg",
    "blood_volume_l_per_kg",
    "hsc_star",  # steady-state HSC per kg
    "p_hsc",  # HSC division rate at steady state, 1/d
    "a_hsc_max",
    "hsc_stress_activation",
    "k_mpp",  # exit rate of each MPP stage, 1/d
    "alpha_mpp",  # amplification per MPP stage
    "kappa_mpp",  # demand-feedback gain on MPP amplification
    "f_gp",  # lineage split of MPP output
    "f_ep",
    "f_mkp",
    "f_lp",
    "p_gp",
    "a_gp_max",
    "k_gcsf",  # G-CSF signal constant, per 10^9/L ANC
    "k_npm",  # exit rate of each post-mitotic neutrophil stage, 1/d
    "d_neu",
    "p_ep",
    "a_ep_max",
    "k_epo",  # EPO signal constant, per g/dL Hb
    "k_retm",
    "k_retb",
    "k_rbc",  # exit rate of each RBC age stage, 1/d
    "mch_pg",
    "p_mkp",
    "a_mkp_max",
    "k_tpo",  # TPO signal constant, per 10^9/L platelets
    "k_mk",
    "platelet_burst",
    "k_plt",  # exit rate of each platelet age stage, 1/d
    "p_lp",
    "a_lp_max",
    "k_il7",  # lymphoid signal constant, per 10^9/L lymphocytes
    "d_lym",
    "anc_star",
    "hb_star",
    "plt_star",
    "alc_star",
    "other_wbc_star",
    # pharmacology and immunity (filled by the transplant model; zero = inactive)
    "filg_ka",
    "filg_ke",
    "filg_ec50",
    "filg_emax_self_renewal",
    "filg_emax_transit",
    # alloimmunity (set per patient by the transplant compiler; zero = none)
    "k_hvg",  # host-versus-graft kill rate at normal host lymphocytes, 1/d
    "k_gvh",  # graft-versus-host(-leukemia) kill rate at normal donor lymphocytes, 1/d
    "atg_ke",
    "atg_kill",
    # radiation, linear-quadratic by compartment group (hsc, progenitors, lymphocytes)
    "rad_alpha_hsc",
    "rad_beta_hsc",
    "rad_alpha_progenitors",
    "rad_beta_progenitors",
    "rad_alpha_lymphocytes",
    "rad_beta_lymphocytes",
)
# log10 kill per unit dose, by drug and compartment group (drug codes in DRUGS)
DRUGS = ("busulfan", "cyclophosphamide", "fludarabine", "melphalan", "beam", "other_alkylator")
GROUPS = ("hsc", "progenitors", "lymphocytes")
DRUG_BUSULFAN, DRUG_CY, DRUG_FLU, DRUG_MEL, DRUG_BEAM, DRUG_OTHER = range(len(DRUGS))
GROUP_HSC, GROUP_PROGENITORS, GROUP_LYMPHOCYTES = range(len(GROUPS))
CONSTANT_NAMES = CONSTANT_NAMES + tuple(f"lk_{d}_{g}" for d in DRUGS for g in GROUPS)
N_CONSTANTS = len(CONSTANT_NAMES)
C = {name: i for i, name in enumerate(CONSTANT_NAMES)}
(
    K_WEIGHT,
    K_BV,
    K_HSC_STAR,
    K_P_HSC,
    K_A_HSC_MAX,
    K_HSC_STRESS,
    K_K_MPP,
    K_ALPHA_MPP,
    K_KAPPA_MPP,
    K_F_GP,
    K_F_EP,
    K_F_MKP,
    K_F_LP,
    K_P_GP,
    K_A_GP_MAX,
    K_K_GCSF,
    K_K_NPM,
    K_D_NEU,
    K_P_EP,
    K_A_EP_MAX,
    K_K_EPO,
    K_K_RETM,
    K_K_RETB,
    K_K_RBC,
    K_MCH,
    K_P_MKP,
    K_A_MKP_MAX,
    K_K_TPO,
    K_K_MK,
    K_BURST,
    K_K_PLT,
    K_P_LP,
    K_A_LP_MAX,
    K_K_IL7,
    K_D_LYM,
    K_ANC_STAR,
    K_HB_STAR,
    K_PLT_STAR,
    K_ALC_STAR,
    K_OTHER_WBC_STAR,
    K_FILG_KA,
    K_FILG_KE,
    K_FILG_EC50,
    K_FILG_EMAX_SR,
    K_FILG_EMAX_TR,
    K_K_HVG,
    K_K_GVH,
    K_ATG_KE,
    K_ATG_KILL,
    K_RAD_ALPHA_HSC,
    K_RAD_BETA_HSC,
    K_RAD_ALPHA_PROG,
    K_RAD_BETA_PROG,
    K_RAD_ALPHA_LYM,
    K_RAD_BETA_LYM,
) = range(N_CONSTANTS - len(DRUGS) * len(GROUPS))
K_LOG_KILL = N_CONSTANTS - len(DRUGS) * len(
    GROUPS
)  # lk[drug, group] at K_LOG_KILL + 3*drug + group

# --- per-class modifiers (multiplicative, 1 = like a normal host cell) -----------------------
CLASS_MODIFIER_NAMES = (
    "hsc_fitness",  # multiplies the maximal HSC self-renewal (leukemic advantage > 1)
    "rbc_lifespan",  # multiplies the red-cell lifespan (sickle cells ~0.1)
    "mch",  # multiplies haemoglobin per red cell
    "differentiation",  # 1 = normal maturation; 0 = blasts that do not mature
    "drug_sensitivity",  # multiplies log-kill of chemotherapy
    "radiosensitivity",  # multiplies the linear-quadratic exponent
    "immune_target",  # 1 = seen by alloreactive T cells of the other side; 0 = not
)
N_CLASS_MODIFIERS = len(CLASS_MODIFIER_NAMES)
(
    CM_HSC_FITNESS,
    CM_RBC_LIFESPAN,
    CM_MCH,
    CM_DIFFERENTIATION,
    CM_DRUG_SENSITIVITY,
    CM_RADIOSENSITIVITY,
    CM_IMMUNE_TARGET,
) = range(N_CLASS_MODIFIERS)
