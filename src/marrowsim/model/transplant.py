"""Compile the transplant course of a scenario: conditioning, graft infusion, protocol, immunity.

Conditioning drugs and irradiation act as instantaneous fractional kills at the time of each dose
(the conditioning drugs' half-lives are hours: busulfan ~2.5 h, melphalan ~1.5 h); anti-thymocyte
globulin persists for weeks and is a pharmacokinetic state. The graft is split into compartments by
its cited composition; alloreactivity in both directions scales with surviving host lymphocytes,
donor T cells, HLA disparity and GVHD prophylaxis. Equations and sources: docs/model.md,
docs/transplant.md.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping

from marrowsim.engine.events import (
    EV_ADD_AUX,
    EV_ADD_CELLS,
    EV_DRUG,
    EV_RADIATION,
    RULE_FILGRASTIM_UNTIL,
    RULE_TRANSFUSE_PLATELETS,
    RULE_TRANSFUSE_RBC,
)
from marrowsim.errors import InputError
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.units import body_surface_area_m2

# protocol drug name -> (model drug code, canonical unit of its log-kill)
CONDITIONING_DRUGS = {
    "Busulfan": (K.DRUG_BUSULFAN, "mg/kg"),
    "Cyclophosphamide": (K.DRUG_CY, "mg/kg"),
    "Fludarabine": (K.DRUG_FLU, "mg/m^2"),
    "Melphalan": (K.DRUG_MEL, "mg/m^2"),
    "Carmustine": (K.DRUG_BEAM, "mg/m^2"),
    "Etoposide": (K.DRUG_BEAM, "mg/m^2"),
    "Cytarabine": (K.DRUG_BEAM, "mg/m^2"),
    "Thiotepa": (K.DRUG_OTHER, "mg/kg"),
    "Treosulfan": (K.DRUG_OTHER, "mg/kg"),
    "Methotrexate": (K.DRUG_MTX, "mg/m^2"),
}
# ATG (rabbit) doses go to the ATG state; horse ATG has its own (model/disease.py), its
# lymphocyte-depleting potency per mg relative to rabbit ATG is the parameter horse_atg_potency
# GVHD prophylaxis: any of these in the protocol applies `immunosuppression_factor` to
# alloreactivity in both directions (methotrexate also acts as a myelosuppressive drug above).
GVHD_PROPHYLAXIS = {"Cyclosporine", "Tacrolimus", "Mycophenolate", "Sirolimus", "Methotrexate"}
DEFAULT_RULES = ("Transfuse platelets when PLT < 10 10^9/L", "Transfuse RBC when Hb < 7 g/dL")


def _dose_in(unit: str, dose: float, given: str, weight: float, bsa: float) -> float:
    """Convert a dose between mg/kg, mg/m^2 and flat mg for one patient."""
    if given == unit:
        return dose
    mg = {"mg/kg": dose * weight, "mg/m^2": dose * bsa, "mg": dose}.get(given)
    if mg is None:
        raise InputError(f"cannot convert a dose in {given!r} to {unit!r}")
    return {"mg/kg": mg / weight, "mg/m^2": mg / bsa, "mg": mg}[unit]


@functools.lru_cache(maxsize=256)
def _times(days: tuple[int, ...], per_day: int) -> tuple[float, ...]:
    return tuple(d + i / per_day for d in days for i in range(per_day))


def graft_cells(scenario, v: Mapping[str, float]) -> list[tuple[int, int, float]]:
    """(class, compartment, cells per kg) infused, after viability and homing."""
    from marrowsim.clinical.graft import graft_composition

    editing = getattr(scenario, "editing", None)  # an edited autologous product (issue 5)
    return graft_composition(
        scenario.graft, scenario.donor.relation, v, editing=editing
    ).infusion_cells()


def alloimmunity_rates(scenario, v: Mapping[str, float]) -> tuple[float, float]:
    """(k_hvg, k_gvh) in 1/day for this donor–recipient pair; zero for autologous grafts."""
    donor = scenario.donor
    if donor is None or donor.relation == "autologous":
        return 0.0, 0.0
    from marrowsim.clinical.compatibility import mismatch_summary

    summary = mismatch_summary(scenario)
    gvh_mm, hvg_mm = summary.gvh_mismatches_8, summary.hvg_mismatches_8
    base = v["unrelated_donor_immunity_factor"] if donor.relation == "unrelated" else 1.0
    w = v["hla_mismatch_immunity_factor"]
    suppression = v["immunosuppression_factor"] if receives_gvhd_prophylaxis(scenario) else 1.0
    cord = v["cord_t_cell_alloreactivity"] if donor.relation == "cord" else 1.0
    k_hvg = v["host_versus_graft_rate"] * base * (1 + w * hvg_mm) * suppression
    k_gvh = v["graft_versus_host_rate"] * base * (1 + w * gvh_mm) * suppression * cord
    return k_hvg, k_gvh


def host_effector_rates(scenario, v: Mapping[str, float]) -> tuple[float, float]:
    """(expansion rate in 1/day, precursor fraction) of the host's anti-donor T cells
    (model/rejection.py); zero for an autologous graft, so that no effector ever appears.

    The precursors are the host lymphocytes that react to the donor's minor histocompatibility
    antigens (more of them with an unrelated donor) plus those that react to each donor HLA allele
    the host lacks (host-versus-graft mismatches only: a mismatch the host's T cells cannot see,
    such as a donor homozygous at a locus where the recipient is not, adds nothing). GVHD
    prophylaxis slows their expansion by ``immunosuppression_factor``.
    """
    donor = scenario.donor
    if donor is None or donor.relation == "autologous":
        return 0.0, 0.0
    from marrowsim.clinical.compatibility import mismatch_summary

    hvg_mm = mismatch_summary(scenario).hvg_mismatches_8
    base = v["unrelated_donor_immunity_factor"] if donor.relation == "unrelated" else 1.0
    suppression = v["immunosuppression_factor"] if receives_gvhd_prophylaxis(scenario) else 1.0
    precursors = (
        v["hvg_precursor_fraction_matched"] * base
        + v["hvg_precursor_fraction_per_mismatch"] * hvg_mm
    )
    return v["hvg_effector_expansion_rate"] * suppression, precursors


def donor_antigen_ec50(constants, y0, values: Mapping[str, object]) -> None:
    """Set the donor-antigen half-saturation (cells/kg) of every patient in place: the fraction
    ``hvg_antigen_ec50`` of the stem, progenitor and precursor cells of its healthy marrow."""
    from marrowsim.model.rejection import ANTIGEN_COMPARTMENTS

    healthy = sum(y0[:, L.cell_index(L.HOST, j)] for j in ANTIGEN_COMPARTMENTS)
    constants[:, K.K_HVG_ANTIGEN_EC50] = values["hvg_antigen_ec50"] * healthy


def protocol_steps(scenario) -> list:
    """The typed steps of the scenario's conditioning and post-transplant protocol, in order."""
    return list(_protocol(scenario)[0])


def receives_gvhd_prophylaxis(scenario) -> bool:
    """Whether the protocol lists a GVHD-prophylaxis drug (ciclosporin, tacrolimus, MTX ...)."""
    return _protocol(scenario)[1]


# (conditioning, protocol) sections -> their steps and whether they give GVHD prophylaxis, by
# identity: the patients of a cohort arm share the (frozen) sections, and hashing or comparing
# pydantic models per patient cost more than building the steps. Each entry holds its two
# sections, so no other object can take their ids while the entry exists.
_PROTOCOLS: dict[tuple[int, int], tuple[object, object, tuple, bool]] = {}


def _protocol(scenario) -> tuple[tuple, bool]:
    conditioning, protocol = scenario.conditioning, scenario.protocol
    key = (id(conditioning), id(protocol))
    hit = _PROTOCOLS.get(key)
    if hit is not None:
        return hit[2], hit[3]
    steps = (() if conditioning is None else tuple(conditioning.protocol().steps)) + (
        () if protocol is None else tuple(protocol.protocol().steps)
    )
    gvhd = any(getattr(s, "drug", None) in GVHD_PROPHYLAXIS for s in steps)
    if len(_PROTOCOLS) >= 256:
        _PROTOCOLS.clear()
    _PROTOCOLS[key] = (conditioning, protocol, steps, gvhd)
    return steps, gvhd


def transplant_events(scenario, v: Mapping[str, float]):
    """Events and morning rules of the conditioning, infusion and post-transplant protocol."""
    events: list[tuple] = []
    rules: list[tuple] = []
    unmodelled: list[str] = []
    if scenario.conditioning is None and scenario.protocol is None and scenario.graft is None:
        return events, rules
    from marrowsim.model.disease import AUTOIMMUNITY_DRUGS, drug_events
    from marrowsim.protocol import (
        DrugDose,
        GrowthFactor,
        Infusion,
        Irradiation,
        Protocol,
        TransfusionRule,
    )

    p = scenario.patient
    height = p.height_cm if p.height_cm is not None else v[f"default_height_{p.sex}_cm"]
    bsa = body_surface_area_m2(p.weight_kg, height)
    steps = protocol_steps(scenario)
    if scenario.graft is not None and not any(isinstance(s, TransfusionRule) for s in steps):
        steps += list(Protocol.from_lines(list(DEFAULT_RULES)).steps)
    infusion_day = None
    for step in steps:
        if isinstance(step, Infusion):
            infusion_day = step.day
        elif isinstance(step, Irradiation):
            for t in _times(step.days, step.fractions_per_day):
                events.append((t, EV_RADIATION, step.dose_gy, 0, 0, 0))
        elif isinstance(step, DrugDose) and step.drug in CONDITIONING_DRUGS:
            code, unit = CONDITIONING_DRUGS[step.drug]
            dose = _dose_in(unit, step.dose, step.unit, p.weight_kg, bsa)
            for t in _times(step.days, step.times_per_day):
                events.append((t, EV_DRUG, code, dose, 0, 0))
        elif isinstance(step, (DrugDose, GrowthFactor)) and step.drug in AUTOIMMUNITY_DRUGS:
            # horse ATG, ciclosporin, eltrombopag: aux states of model/autoimmunity.py
            events += drug_events(step, scenario, p.weight_kg)
        elif isinstance(step, DrugDose) and step.drug == "ATG":
            dose = _dose_in("mg/kg", step.dose, step.unit, p.weight_kg, bsa)
            for t in _times(step.days, step.times_per_day):
                events.append((t, EV_ADD_AUX, L.AUX_ATG, dose, 0, 0))
        elif isinstance(step, DrugDose) and step.drug == "Filgrastim":
            dose = (
                _dose_in("ug/kg", step.dose, step.unit, p.weight_kg, bsa)
                if step.unit != "ug/kg"
                else step.dose
            )
            for t in _times(step.days, step.times_per_day):
                events.append((t, EV_ADD_AUX, L.AUX_FILG_DEPOT, dose, 0, 0))
        elif isinstance(step, GrowthFactor) and step.drug == "Filgrastim":
            if isinstance(step.stop, int):
                for day in range(step.start_day, step.stop + 1):
                    events.append((float(day), EV_ADD_AUX, L.AUX_FILG_DEPOT, step.dose, 0, 0))
            else:
                rule = step.stop
                if rule.analyte != "ANC":
                    raise InputError(
                        f"filgrastim stop rule on {rule.analyte} is not modelled (ANC only)"
                    )
                rules.append(
                    (
                        RULE_FILGRASTIM_UNTIL,
                        step.start_day,
                        step.dose,
                        rule.threshold,
                        rule.consecutive_days,
                    )
                )
        elif isinstance(step, TransfusionRule):
            rules.append(_transfusion_rule(step, v, p.weight_kg))
        elif getattr(step, "drug", None) not in GVHD_PROPHYLAXIS:
            unmodelled.append(str(step))
    if scenario.graft is not None:
        if infusion_day is None:
            infusion_day = 0
        for k, j, cells in graft_cells(scenario, v):
            events.append((float(infusion_day), EV_ADD_CELLS, k, j, cells, 0))
    if unmodelled:
        warnings.warn(
            f"protocol steps accepted but not modelled: {'; '.join(unmodelled)}", stacklevel=2
        )
    return events, rules


def _transfusion_rule(step, v: Mapping[str, float], weight: float) -> tuple:
    if step.product == "platelets":
        per_kg = v["platelet_transfusion_dose"] * v["platelet_transfusion_recovery"] / weight
        return (RULE_TRANSFUSE_PLATELETS, step.threshold, per_kg, 0.0, 0.0)
    # one red-cell unit raises Hb by `rbc_transfusion_hb_increment` in a 70 kg adult (4.8 L blood)
    grams = v["rbc_transfusion_hb_increment"] * 10.0 * 4.8
    cells = grams / (v["mean_corpuscular_hemoglobin_pg"] * 1e-12)
    return (RULE_TRANSFUSE_RBC, step.threshold, cells / weight, 0.0, 0.0)
