"""The protocol language: protocol text ↔ typed steps, the drug catalogue, named regimens.

``parse_step("Busulfan 3.2 mg/kg IV daily on days -7 to -4")`` gives a frozen :class:`DrugDose`
whose ``str()`` is the canonical text; :class:`Protocol` holds an ordered tuple of steps.
Day 0 is the day of graft infusion. See ``docs/protocols.md`` for the grammar and the regimens.
"""

from marrowsim.protocol.drugs import DrugInfo, UnknownDrugError, drug_info, list_drugs
from marrowsim.protocol.grammar import EXAMPLES, parse_step
from marrowsim.protocol.protocol import Protocol
from marrowsim.protocol.regimens import Regimen, list_regimens, regimen
from marrowsim.protocol.steps import (
    Apheresis,
    CountRule,
    DrugDose,
    GrowthFactor,
    Infusion,
    Irradiation,
    Step,
    TransfusionRule,
)

__all__ = [
    "EXAMPLES",
    "Apheresis",
    "CountRule",
    "DrugDose",
    "DrugInfo",
    "GrowthFactor",
    "Infusion",
    "Irradiation",
    "Protocol",
    "Regimen",
    "Step",
    "TransfusionRule",
    "UnknownDrugError",
    "drug_info",
    "list_drugs",
    "list_regimens",
    "parse_step",
    "regimen",
]
