"""Units of everything the SBML export writes, and their SBML unit definitions.

The model's canonical units (DESIGN.md §4): days; cells per kg of body weight; counts in 10^9/L
(red cells 10^12/L), Hb in g/dL; drug doses in mg/kg or mg/m^2; filgrastim in µg/kg; Gy. The
constants' units are listed here by name because most constants are derived (steady-state
balance) rather than copied from one registry parameter; ``tests/test_sbml.py`` checks that
every constant has one, so a new constant cannot be exported without its units.
"""

from __future__ import annotations

import libsbml

from marrowsim.model import layout as L
from marrowsim.model.constants import DRUGS, GROUPS
from marrowsim.model.observables import OBSERVABLE_UNITS
from marrowsim.model.transplant import CONDITIONING_DRUGS

# unit text -> (SBML id, [(kind, exponent, scale, multiplier)]): (multiplier 10^scale kind)^exponent
DAY = ("second", 1, 0, 86400.0)
_DEFINITIONS: dict[str, tuple[str, list[tuple[str, int, int, float]]]] = {
    "1": ("dimensionless", []),
    "%": ("percent", [("dimensionless", 1, 0, 0.01)]),
    "d": ("day", [DAY]),
    "1/d": ("per_day", [("second", -1, 0, 86400.0)]),
    "kg": ("kilogram", []),
    "cells": ("item", []),
    "cells/kg": ("cells_per_kg", [("item", 1, 0, 1.0), ("kilogram", -1, 0, 1.0)]),
    "L/kg": ("litre_per_kg", [("litre", 1, 0, 1.0), ("kilogram", -1, 0, 1.0)]),
    "10^9/L": ("giga_cells_per_litre", [("item", 1, 9, 1.0), ("litre", -1, 0, 1.0)]),
    "10^12/L": ("tera_cells_per_litre", [("item", 1, 12, 1.0), ("litre", -1, 0, 1.0)]),
    "g/dL": ("gram_per_decilitre", [("gram", 1, 0, 1.0), ("litre", -1, -1, 1.0)]),
    "1/(g/dL)": ("decilitre_per_gram", [("gram", -1, 0, 1.0), ("litre", 1, -1, 1.0)]),
    "pg": ("picogram", [("gram", 1, -12, 1.0)]),
    "ug/kg": ("microgram_per_kg", [("gram", 1, -6, 1.0), ("kilogram", -1, 0, 1.0)]),
    "1/(ug/kg)": ("kg_per_microgram", [("gram", -1, -6, 1.0), ("kilogram", 1, 0, 1.0)]),
    "mg/kg": ("milligram_per_kg", [("gram", 1, -3, 1.0), ("kilogram", -1, 0, 1.0)]),
    "1/(mg/kg)": ("kg_per_milligram", [("gram", -1, -3, 1.0), ("kilogram", 1, 0, 1.0)]),
    "1/d/(mg/kg)": (
        "kg_per_milligram_per_day",
        [("gram", -1, -3, 1.0), ("kilogram", 1, 0, 1.0), ("second", -1, 0, 86400.0)],
    ),
    "mg/m^2": ("milligram_per_m2", [("gram", 1, -3, 1.0), ("metre", -2, 0, 1.0)]),
    "1/(mg/m^2)": ("m2_per_milligram", [("gram", -1, -3, 1.0), ("metre", 2, 0, 1.0)]),
    "Gy": ("gray", []),
    "1/Gy": ("per_gray", [("gray", -1, 0, 1.0)]),
    "1/Gy^2": ("per_gray_squared", [("gray", -2, 0, 1.0)]),
}

_RATE = "1/d"
_CELLS = "cells/kg"
_COUNT = "10^9/L"
CONSTANT_UNITS: dict[str, str] = {
    "weight_kg": "kg",
    "blood_volume_l_per_kg": "L/kg",
    "hsc_star": _CELLS,
    "cmp_star": _CELLS,
    "ep_star": _CELLS,
    "lym_star": _CELLS,
    "gcsf_star_mass": _CELLS,
    "tpo_star_mass": _CELLS,
    "anc_star": _COUNT,
    "plt_star": _COUNT,
    "alc_star": _COUNT,
    "other_wbc_star": _COUNT,
    "hb_star": "g/dL",
    "mch_pg": "pg",
    "epo_hb_slope": "1/(g/dL)",
    "filgrastim_to_gcsf": "1/(ug/kg)",
    "atg_kill": "1/d/(mg/kg)",
    # disease models (model/leukemia.py, model/autoimmunity.py)
    "cyclosporine_ec50": "mg/kg",
    "eltrombopag_ec50": "mg/kg",
    "atg_autoreactive_kill_rabbit": "1/d/(mg/kg)",
    "atg_autoreactive_kill_horse": "1/d/(mg/kg)",
    # erythroid disease (model/erythroid.py) and host-versus-graft rejection (model/rejection.py)
    "hbf_protective_pg": "pg",
    "hvg_antigen_ec50": _CELLS,
}
for _name in ("p_hsc", "k_mpp", "p_cmp", "p_gp", "k_npm", "d_neu", "p_ep", "k_retm", "k_retb"):
    CONSTANT_UNITS[_name] = _RATE
for _name in ("k_rbc", "p_mkp", "k_mk", "k_plt", "p_lp", "lym_homeostatic_max", "d_lym"):
    CONSTANT_UNITS[_name] = _RATE
for _name in ("filg_ka", "filg_ke_linear", "filg_ke_neutrophil", "k_hvg", "k_gvh", "atg_ke"):
    CONSTANT_UNITS[_name] = _RATE
for _name in (
    "lsc_division_rate",
    "leukemic_blast_clearance",
    "autoimmune_kill_rate",
    "autoreactive_regrowth_rate",
    "cyclosporine_elimination_rate",
    "eltrombopag_elimination_rate",
    "erythroid_expansion_rate",
    "hvg_expansion_rate",
    "hvg_contraction_rate",
):
    CONSTANT_UNITS[_name] = _RATE
for _group in GROUPS:
    CONSTANT_UNITS[f"rad_alpha_{_group}"] = "1/Gy"
    CONSTANT_UNITS[f"rad_beta_{_group}"] = "1/Gy^2"
# every other named constant is a dimensionless ratio, fraction, gain, Hill exponent or EC50
# of a relative signal; listed explicitly so that a new constant must be given its units
for _name in (
    "a_hsc_max",
    "hsc_stress_activation",
    "alpha_mpp",
    "kappa_mpp",
    "f_lp",
    "a_cmp_max",
    "a_cmp_min",
    "cmp_ec50",
    "cmp_amplification",
    "demand_eps",
    "cmp_gcsf_weight",
    "f_gp",
    "f_ep",
    "f_mkp",
    "cytokine_hill",
    "a_gp_max",
    "a_gp_min",
    "gp_ec50",
    "gcsf_marrow_weight",
    "gcsf_eps",
    "npm_gcsf_emax",
    "npm_gcsf_ec50",
    "release_gcsf_emax",
    "a_ep_max",
    "a_ep_min",
    "ep_ec50",
    "epo_eps",
    "a_mkp_max",
    "a_mkp_min",
    "mkp_ec50",
    "tpo_mk_weight",
    "tpo_eps",
    "platelet_burst",
    "a_lp_max",
    "a_lp_min",
    "lp_ec50",
    "il7_eps",
    "lym_homeostatic_ec50",
    "lsc_self_renewal_advantage",
    "leukemic_progenitor_division_ratio",
    "autoimmune_progenitor_suppression",
    "cyclosporine_max_inhibition",
    "horse_atg_potency",
    "eltrombopag_tpo_equivalent",
    "eltrombopag_hsc_stimulation",
    "erythroid_expansion_max",
    "erythroid_expansion_ec50",
    "hvg_precursor_fraction",
    "hvg_effector_capacity",
):
    CONSTANT_UNITS[_name] = "1"
DRUG_DOSE_UNITS = {code: unit for code, unit in CONDITIONING_DRUGS.values()}
for _code, _drug in enumerate(DRUGS):
    for _group in GROUPS:  # log10 kill per unit dose
        if _code in DRUG_DOSE_UNITS:
            CONSTANT_UNITS[f"lk_{_drug}_{_group}"] = f"1/({DRUG_DOSE_UNITS[_code]})"

AUX_UNITS = {
    "filgrastim_depot": "ug/kg",
    "filgrastim_central": "ug/kg",
    "atg": "mg/kg",
    "host_alloimmunity": "1",
    "cyclosporine": "mg/kg",
    "erythroid_expansion": "1",  # X - 1
    "horse_atg": "mg/kg",
    "eltrombopag": "mg/kg",
    "autoreactive_t_cells": "1",  # relative to the untreated aplastic anemia
}


def missing_units() -> list[str]:
    """Constants, observables and auxiliary states without units here (must be empty)."""
    from marrowsim.model.constants import CONSTANT_NAMES

    names = [n for n in CONSTANT_NAMES if constant_units(n) is None]
    names += [n for n in OBSERVABLE_UNITS if observable_units(n) is None]
    return names + [n for n in L.AUX_NAMES if aux_units(n) is None]


def used_units() -> set[str]:
    texts = (
        *CONSTANT_UNITS.values(),
        *AUX_UNITS.values(),
        *OBSERVABLE_UNITS.values(),
        *DRUG_DOSE_UNITS.values(),  # the doses of conditioning events
    )
    return {u for u in texts if known(u)}


def sbml_unit(text: str) -> str:
    """The SBML unit identifier of a unit text of this table (``"1/d"`` -> ``per_day``)."""
    return _DEFINITIONS[text][0]


def known(text: str | None) -> str | None:
    """``text`` if this table defines it, else None (the value is then written without units
    and :func:`missing_units` lists it)."""
    return text if text in _DEFINITIONS else None


def constant_units(name: str) -> str | None:
    return known(CONSTANT_UNITS.get(name))


def observable_units(name: str) -> str | None:
    return known(OBSERVABLE_UNITS.get(name))


def aux_units(name: str) -> str | None:
    return known(AUX_UNITS.get(name))


def drug_dose_units(code: int) -> str | None:
    return known(DRUG_DOSE_UNITS.get(code))


def add_unit_definitions(model: libsbml.Model, texts: set[str]) -> None:
    """Define in ``model`` every unit of ``texts`` that is not a base SBML unit."""
    base = {"dimensionless", "kilogram", "item", "gray"}
    for text in sorted(texts):
        sid, parts = _DEFINITIONS[text]
        if sid in base or model.getUnitDefinition(sid) is not None:
            continue
        definition = model.createUnitDefinition()
        definition.setId(sid)
        definition.setName(text)
        for kind, exponent, scale, multiplier in parts:
            unit = definition.createUnit()
            unit.setKind(libsbml.UnitKind_forName(kind))
            unit.setExponent(exponent)
            unit.setScale(scale)
            unit.setMultiplier(multiplier)
