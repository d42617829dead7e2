"""State layout: clone classes × compartments, plus auxiliary states; named indices.

The state of one patient is a flat vector: ``N_CLASSES * N_COMPARTMENTS`` cell counts (cells per kg
of body weight) followed by ``N_AUX`` auxiliary states (drug amounts, cytokine PK, immune
effectors).
Index constants are module-level integers so that numba compiles them as constants.
"""

from __future__ import annotations

# --- clone classes -------------------------------------------------------------------------
HOST, DONOR, DONOR2, EDITED, MALIGNANT, TRANSFUSED = 0, 1, 2, 3, 4, 5
# "transfused" holds transfused red cells and platelets (normal phenotype, never in chimerism)
CLASS_NAMES = ("host", "donor", "donor2", "edited", "malignant", "transfused")
N_CLASSES = len(CLASS_NAMES)

# --- compartments (per clone class) --------------------------------------------------------
COMPARTMENT_NAMES = (
    "hsc",  # long-term HSC in the niche (self-renewing)
    "mpp1",  # short-term HSC / multipotent progenitors: three transit-amplifying stages
    "mpp2",
    "mpp3",
    "cmp",  # common myeloid progenitors: amplify multipotent output into the myeloid lineages
    "gp",  # granulocyte progenitors + mitotic precursors (myeloblast .. myelocyte)
    "npm1",  # post-mitotic neutrophil maturation stages (metamyelocyte .. band/segmented)
    "npm2",
    "npm3",  # marrow neutrophil reserve
    "neu",  # blood neutrophils
    "ep",  # erythroid progenitors + erythroblasts (BFU-E .. orthochromatic)
    "ret_marrow",  # marrow reticulocytes
    "ret_blood",  # blood reticulocytes
    "rbc1",  # red cells, four age stages (Erlang-distributed lifespan)
    "rbc2",
    "rbc3",
    "rbc4",
    "mkp",  # megakaryocyte progenitors (MEP/CFU-Mk)
    "mkb",  # megakaryoblasts (endomitotic)
    "mk",  # maturing megakaryocytes that shed platelets
    "plt1",  # platelets, five age stages
    "plt2",
    "plt3",
    "plt4",
    "plt5",
    "lp",  # lymphoid progenitors
    "lym",  # lymphocytes (blood-equivalent pool)
)
N_COMPARTMENTS = len(COMPARTMENT_NAMES)
(
    HSC,
    MPP1,
    MPP2,
    MPP3,
    CMP,
    GP,
    NPM1,
    NPM2,
    NPM3,
    NEU,
    EP,
    RETM,
    RETB,
    RBC1,
    RBC2,
    RBC3,
    RBC4,
    MKP,
    MKB,
    MK,
    PLT1,
    PLT2,
    PLT3,
    PLT4,
    PLT5,
    LP,
    LYM,
) = range(N_COMPARTMENTS)
# the compartments the transfused class holds, as ranges [first, stop): transfused red cells and
# platelets age and are cleared; its other compartments are always zero (model/rhs.py)
TRANSFUSED_COMPARTMENT_RANGES = ((RBC1, RBC4 + 1), (PLT1, PLT5 + 1))
N_MPP_STAGES = 3
N_NPM_STAGES = 3
N_RBC_STAGES = 4
N_PLT_STAGES = 5

# --- auxiliary states (per patient) --------------------------------------------------------
AUX_NAMES = (
    "filgrastim_depot",  # µg/kg at the subcutaneous site
    "filgrastim_central",  # µg/kg in plasma
    "atg",  # mg/kg
    "host_alloimmunity",  # host anti-donor T-cell effector level (relative)
    "cyclosporine",  # mg/kg exposure (immunosuppression)
    "erythroid_expansion",  # X - 1: expansion of the erythroid marrow (model/erythroid.py)
    # disease models (model/autoimmunity.py)
    "horse_atg",  # mg/kg of horse ATG (ATGAM) in the body (rabbit ATG is "atg")
    "eltrombopag",  # mg/kg in the body
    "autoreactive_t_cells",  # autoreactive effector level, 1 = untreated aplastic anemia
)
# Conditioning drugs and irradiation act as instantaneous kills (engine/events.py), so they have
# no state here.
N_AUX = len(AUX_NAMES)
(
    AUX_FILG_DEPOT,
    AUX_FILG_CENTRAL,
    AUX_ATG,
    AUX_HOST_IMMUNITY,
    AUX_CSA,
    AUX_ERYTHROID_EXPANSION,
    AUX_HATG,
    AUX_ELTROMBOPAG,
    AUX_AUTOREACTIVE,
) = range(N_AUX)

N_CELL_STATES = N_CLASSES * N_COMPARTMENTS
N_STATES = N_CELL_STATES + N_AUX


def cell_index(clone_class: int, compartment: int) -> int:
    """Index of a (class, compartment) cell count in the flat state vector."""
    return clone_class * N_COMPARTMENTS + compartment


def aux_index(aux: int) -> int:
    """Index of an auxiliary state in the flat state vector."""
    return N_CELL_STATES + aux
