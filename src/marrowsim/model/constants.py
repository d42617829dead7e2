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
    "f_lp",  # share of MPP output that enters the lymphoid lineage (the rest enters CMP)
    "p_cmp",  # division rate of common myeloid progenitors, 1/d
    "a_cmp_max",
    "a_cmp_min",
    "cmp_ec50",  # demand level of half-maximal increase of CMP self-renewal
    "cmp_star",  # steady-state CMP per kg
    "cmp_amplification",
    "demand_eps",  # progenitor demand signal: non-specific share
    "cmp_gcsf_weight",  # weight of G-CSF (vs lineage demand) in the CMP self-renewal stimulus
    "f_gp",  # split of CMP output into the myeloid lineages
    "f_ep",
    "f_mkp",
    "cytokine_hill",  # Hill exponent of the self-renewal responses to cytokines
    # neutrophil lineage and G-CSF (signal relative to the healthy steady state)
    "p_gp",
    "a_gp_max",
    "a_gp_min",  # self-renewal without G-CSF (derived)
    "gp_ec50",  # G-CSF level (relative) of half-maximal self-renewal effect
    "gcsf_star_mass",  # G-CSF receptor mass at steady state: blood + weighted marrow neutrophils
    "gcsf_marrow_weight",
    "gcsf_eps",  # non-receptor clearance relative to receptor clearance at steady state
    "npm_gcsf_emax",  # maximal fractional acceleration of post-mitotic maturation
    "npm_gcsf_ec50",  # G-CSF level of half-maximal acceleration of maturation and release
    "release_gcsf_emax",  # maximal fractional acceleration of release from the marrow reserve
    "filgrastim_to_gcsf",  # relative G-CSF level per ug/kg of filgrastim in plasma
    "k_npm",  # exit rate of each post-mitotic neutrophil stage at steady state, 1/d
    "d_neu",
    # erythroid lineage and EPO
    "p_ep",
    "a_ep_max",
    "a_ep_min",
    "ep_ec50",
    "ep_star",
    "epo_eps",
    "epo_hb_slope",  # ln EPO production per g/dL Hb below the steady state
    "k_retm",
    "k_retb",
    "k_rbc",  # exit rate of each RBC age stage, 1/d
    "mch_pg",
    # megakaryocyte lineage and TPO
    "p_mkp",
    "a_mkp_max",
    "a_mkp_min",
    "mkp_ec50",
    "tpo_star_mass",  # TPO receptor mass at steady state: platelets + weighted megakaryocytes
    "tpo_mk_weight",
    "tpo_eps",
    "k_mk",
    "platelet_burst",
    "k_plt",  # exit rate of each platelet age stage, 1/d
    # lymphoid lineage and IL-7
    "p_lp",
    "a_lp_max",
    "a_lp_min",
    "lp_ec50",
    "lym_star",
    "il7_eps",
    "lym_homeostatic_max",  # maximal IL-7-driven proliferation of mature lymphocytes, 1/d
    "lym_homeostatic_ec50",  # IL-7 excess over the steady state of half-maximal proliferation
    "d_lym",
    # reference counts
    "anc_star",
    "hb_star",
    "plt_star",
    "alc_star",
    "other_wbc_star",
    # filgrastim pharmacokinetics
    "filg_ka",
    "filg_ke_linear",  # non-saturable elimination, 1/d
    "filg_ke_neutrophil",  # receptor-mediated elimination at the steady-state neutrophil mass, 1/d
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
DRUGS = (
    "busulfan",
    "cyclophosphamide",
    "fludarabine",
    "melphalan",
    "beam",
    "other_alkylator",
    "methotrexate",
)
GROUPS = ("hsc", "progenitors", "lymphocytes")
DRUG_BUSULFAN, DRUG_CY, DRUG_FLU, DRUG_MEL, DRUG_BEAM, DRUG_OTHER, DRUG_MTX = range(len(DRUGS))
GROUP_HSC, GROUP_PROGENITORS, GROUP_LYMPHOCYTES = range(len(GROUPS))
N_NAMED_CONSTANTS = len(CONSTANT_NAMES)
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
    K_F_LP,
    K_P_CMP,
    K_A_CMP_MAX,
    K_A_CMP_MIN,
    K_CMP_EC50,
    K_CMP_STAR,
    K_CMP_AMPLIFICATION,
    K_DEMAND_EPS,
    K_CMP_GCSF_WEIGHT,
    K_F_GP,
    K_F_EP,
    K_F_MKP,
    K_CYTOKINE_HILL,
    K_P_GP,
    K_A_GP_MAX,
    K_A_GP_MIN,
    K_GP_EC50,
    K_GCSF_STAR_MASS,
    K_GCSF_MARROW_WEIGHT,
    K_GCSF_EPS,
    K_NPM_GCSF_EMAX,
    K_NPM_GCSF_EC50,
    K_RELEASE_GCSF_EMAX,
    K_FILG_TO_GCSF,
    K_K_NPM,
    K_D_NEU,
    K_P_EP,
    K_A_EP_MAX,
    K_A_EP_MIN,
    K_EP_EC50,
    K_EP_STAR,
    K_EPO_EPS,
    K_EPO_HB_SLOPE,
    K_K_RETM,
    K_K_RETB,
    K_K_RBC,
    K_MCH,
    K_P_MKP,
    K_A_MKP_MAX,
    K_A_MKP_MIN,
    K_MKP_EC50,
    K_TPO_STAR_MASS,
    K_TPO_MK_WEIGHT,
    K_TPO_EPS,
    K_K_MK,
    K_BURST,
    K_K_PLT,
    K_P_LP,
    K_A_LP_MAX,
    K_A_LP_MIN,
    K_LP_EC50,
    K_LYM_STAR,
    K_IL7_EPS,
    K_LYM_HOMEOSTATIC_MAX,
    K_LYM_HOMEOSTATIC_EC50,
    K_D_LYM,
    K_ANC_STAR,
    K_HB_STAR,
    K_PLT_STAR,
    K_ALC_STAR,
    K_OTHER_WBC_STAR,
    K_FILG_KA,
    K_FILG_KE_LINEAR,
    K_FILG_KE_NEUTROPHIL,
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
) = range(N_NAMED_CONSTANTS)
# lk[drug, group] sits at K_LOG_KILL + 3 * drug + group
K_LOG_KILL = N_NAMED_CONSTANTS

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

# --- disease models (leukemia: model/leukemia.py; autoimmunity: model/autoimmunity.py) -------
# Appended after the log-kill table so that every index above stays where it was. All are zero
# for a patient without the disease model (the right-hand side then skips the disease terms).
DISEASE_CONSTANT_NAMES = (
    "lsc_division_rate",  # division rate of leukemic stem cells, 1/d
    "lsc_self_renewal_advantage",  # a_1L / a_1 (Stiehl 2015)
    "leukemic_progenitor_division_ratio",  # p_2L / p_2 (Stiehl 2015)
    "leukemic_blast_clearance",  # death rate of post-mitotic blasts d_L, 1/d
    "autoimmune_kill_rate",  # kill rate of HSCs and MPPs at the untreated autoreactive level, 1/d
    "autoreactive_regrowth_rate",  # re-expansion rate of autoreactive T cells, 1/d
    "autoimmune_progenitor_suppression",  # fractional loss of progenitor self-renewal at A = 1
    "cyclosporine_elimination_rate",  # 1/d
    "cyclosporine_ec50",  # mg/kg in the body
    "cyclosporine_max_inhibition",  # maximal fractional inhibition of autoreactive T cells
    "atg_autoreactive_kill_rabbit",  # depletion of autoreactive T cells per mg/kg rabbit ATG, 1/d
    "atg_autoreactive_kill_horse",  # depletion of autoreactive T cells per mg/kg horse ATG, 1/d
    "horse_atg_potency",  # lymphocyte depletion of horse ATG per mg relative to rabbit ATG
    "eltrombopag_elimination_rate",  # 1/d
    "eltrombopag_ec50",  # mg/kg in the body
    "eltrombopag_tpo_equivalent",  # TPO signal added at full eltrombopag effect (relative)
    "eltrombopag_hsc_stimulation",  # maximal fractional increase of HSC division
)
K_DISEASE = len(CONSTANT_NAMES)
CONSTANT_NAMES = CONSTANT_NAMES + DISEASE_CONSTANT_NAMES
N_CONSTANTS = len(CONSTANT_NAMES)
C = {name: i for i, name in enumerate(CONSTANT_NAMES)}
(
    K_LSC_DIVISION,
    K_LSC_ADVANTAGE,
    K_LEUKEMIC_PROGENITOR_DIVISION,
    K_BLAST_CLEARANCE,
    K_AUTOIMMUNE_KILL,
    K_AUTOREACTIVE_REGROWTH,
    K_AUTOIMMUNE_SUPPRESSION,
    K_CSA_KE,
    K_CSA_EC50,
    K_CSA_IMAX,
    K_ATG_AUTOREACTIVE_RABBIT,
    K_ATG_AUTOREACTIVE_HORSE,
    K_HORSE_ATG_POTENCY,
    K_EPAG_KE,
    K_EPAG_EC50,
    K_EPAG_TPO,
    K_EPAG_HSC,
) = range(K_DISEASE, N_CONSTANTS)

# --- erythroid disease and gene editing (model/erythroid.py, docs/erythroid-disease.md) -------
# Appended after the modifiers above so their indices stay put. Unlike those, the normal value of
# a haemoglobin-composition modifier is not 1: CLASS_MODIFIER_DEFAULTS gives it.
ERYTHROID_CLASS_MODIFIER_NAMES = (
    "erythroid_output",  # fraction of erythroid output that leaves the marrow (thalassaemia < 1)
    "hbf_fraction",  # share of the cell's haemoglobin that is HbF
    "hbs_fraction",  # share that is HbS (the rest is HbA)
    "hbf_cell_cv",  # cell-to-cell coefficient of variation of HbF per red cell (lognormal)
    "edited_allele_share",  # fraction of the two alleles edited in a cell of the class
)
CLASS_MODIFIER_NAMES = CLASS_MODIFIER_NAMES + ERYTHROID_CLASS_MODIFIER_NAMES
N_CLASS_MODIFIERS = len(CLASS_MODIFIER_NAMES)
(
    CM_ERYTHROID_OUTPUT,
    CM_HBF,
    CM_HBS,
    CM_HBF_CV,
    CM_EDITED_ALLELES,
) = range(N_CLASS_MODIFIERS - len(ERYTHROID_CLASS_MODIFIER_NAMES), N_CLASS_MODIFIERS)
# a normal adult red cell: HbA only (adult HbF < 1 %), nothing edited
CLASS_MODIFIER_DEFAULTS = {CM_HBF: 0.0, CM_HBS: 0.0, CM_HBF_CV: 0.0, CM_EDITED_ALLELES: 0.0}

ERYTHROID_CONSTANT_NAMES = (
    "erythroid_expansion_max",  # maximal expansion of the erythroid marrow (1 = none)
    "erythroid_expansion_ec50",  # EPO excess over its steady state of half-maximal expansion
    "erythroid_expansion_rate",  # 1 / time constant of the expansion and its regression, 1/d
    "hbf_protective_pg",  # HbF per red cell that prevents sickling (pg)
)
CONSTANT_NAMES = CONSTANT_NAMES + ERYTHROID_CONSTANT_NAMES
N_CONSTANTS = len(CONSTANT_NAMES)
C = {name: i for i, name in enumerate(CONSTANT_NAMES)}
K_ERYTHROID_EXPANSION_MAX = C["erythroid_expansion_max"]
K_ERYTHROID_EXPANSION_EC50 = C["erythroid_expansion_ec50"]
K_ERYTHROID_EXPANSION_RATE = C["erythroid_expansion_rate"]
K_HBF_PROTECTIVE_PG = C["hbf_protective_pg"]

# --- host-versus-graft rejection (model/rhs.py, docs/model.md §4, docs/transplant.md §4) --------
# Appended so that every index above stays where it was. The antigen half-saturation, the
# contraction rate and the capacity are set for every patient; the expansion rate and the
# precursor fraction only for an allogeneic donor (zero otherwise: no effector ever appears).
HVG_CONSTANT_NAMES = (
    "hvg_expansion_rate",  # antigen-driven proliferation of host anti-donor T cells (x prophylaxis)
    "hvg_contraction_rate",  # death of host anti-donor effector T cells, 1/d
    "hvg_precursor_fraction",  # alloreactive fraction of the host lymphocytes (HLA, relation)
    "hvg_antigen_ec50",  # donor marrow cells (cells/kg) of half-maximal stimulation
    "hvg_effector_capacity",  # largest effector level (relative to the steady-state lymphocytes)
)
CONSTANT_NAMES = CONSTANT_NAMES + HVG_CONSTANT_NAMES
N_CONSTANTS = len(CONSTANT_NAMES)
C = {name: i for i, name in enumerate(CONSTANT_NAMES)}
K_HVG_EXPANSION = C["hvg_expansion_rate"]
K_HVG_CONTRACTION = C["hvg_contraction_rate"]
K_HVG_PRECURSOR = C["hvg_precursor_fraction"]
K_HVG_ANTIGEN_EC50 = C["hvg_antigen_ec50"]
K_HVG_CAPACITY = C["hvg_effector_capacity"]
