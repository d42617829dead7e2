"""One patient's compiled model as an SBML Level 3 Version 1 document (python-libsbml).

What is written (docs/sbml.md has the full mapping):

* every compiled constant as a parameter (value of this patient, units, an annotation naming the
  registry parameters it comes from), and the class modifiers of the exported clone classes;
* cell states as species in a 1 kg compartment (concentrations are cells per kg), auxiliary
  states (drug and filgrastim amounts) as parameters, each with a rate rule traced from the
  model's right-hand side; named intermediate values and the observables as assignment rules;
* scheduled events (conditioning, infusions, doses) at their times, composed in the engine's order
  when several fall at the same time;
* the morning: one recurring event on a daily clock (``time >= morning``) that records the
  morning observables (``morning_anc`` ...) and applies the supportive-care rules with piecewise
  assignments and counters. It has the higher priority, so on a day with scheduled events the
  simulator does what the engine does: observe, rules, then that day's events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import libsbml
import numpy as np

import marrowsim
from marrowsim.engine import events as E
from marrowsim.engine.problem import Problem
from marrowsim.export import units as U
from marrowsim.export.elements import (
    SBMLExportError,
    add_parameter,
    annotate,
    math_of,
    xml_text,
)
from marrowsim.export.provenance import ConstantSource
from marrowsim.export.rules import morning_rules
from marrowsim.export.symbolic import walk
from marrowsim.export.trace import Derived, TracedModel, modifier_id, state_id, trace_model
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.model import observables as O

COMPARTMENT = "patient"
CLOCK = "morning"
KIND_NAMES = {v: k[3:].lower() for k, v in vars(E).items() if k.startswith("EV_")}


@dataclass
class SBMLModel:
    """An exported document and, for each SBML value, where it sits in a :class:`Problem`:
    ``("constant", j)``, ``("modifier", k, m)``, ``("state", i)``, ``("event", row, field)``,
    ``("rule", row, field)`` or ``("derived",)`` (computed from the others by ``derived[id]``);
    :meth:`patient_values` reads another patient's numbers."""

    document: libsbml.SBMLDocument
    sources: dict[str, tuple] = field(default_factory=dict)
    derived: dict[str, Derived] = field(default_factory=dict)

    def to_string(self) -> str:
        return libsbml.writeSBMLToString(self.document)

    def patient_values(self, problem: Problem, p: int) -> dict[str, float]:
        """The values of patient ``p`` of ``problem`` (same protocol) for every SBML value."""
        arrays = {
            "constant": problem.constants[p],
            "modifier": problem.class_modifiers[p],
            "state": problem.y0[p],
            "event": problem.events[p],
            "rule": problem.rules[p],
        }
        values = {
            sid: float(arrays[src[0]][src[1:]])
            for sid, src in self.sources.items()
            if src[0] != "derived"
        }
        for sid, derive in self.derived.items():
            values[sid] = derive(values)
        return {sid: values[sid] for sid in self.sources}  # in the order of sources


def build_sbml(
    problem: Problem,
    p: int = 0,
    *,
    model_id: str = "marrowsim_patient",
    name: str = "",
    sources: Mapping[str, ConstantSource] | None = None,
) -> SBMLModel:
    """The SBML document of patient ``p`` of ``problem``, validated by libsbml."""
    traced = trace_model(problem, p)
    document = libsbml.SBMLDocument(3, 1)
    model = document.createModel()
    model.setId(model_id)
    model.setName(name or model_id)
    model.setTimeUnits("day")
    model.setSubstanceUnits("item")
    model.setExtentUnits("item")
    _notes(model, name)
    U.add_unit_definitions(model, U.used_units() | {"d"})
    compartment = model.createCompartment()
    compartment.setId(COMPARTMENT)
    compartment.setName("1 kg of the patient's body weight (states are per kg)")
    compartment.setSize(1.0)
    compartment.setUnits("kilogram")  # no spatial dimensions: a mass of tissue, not a volume
    compartment.setConstant(True)
    out = SBMLModel(document)
    _constants(model, out, problem, p, sources or {})
    _states(model, out, problem, p, traced)
    _continuous(model, traced)
    _scheduled_events(model, out, problem, p, traced)
    morning_rules(model, out, problem, p, traced, _observables_at_start(problem, p))
    validate(document)
    return out


def _notes(model: libsbml.Model, name: str) -> None:
    text = (
        f"Exported by marrowsim {marrowsim.__version__} from the scenario '{name}': one patient's "
        "compiled model (research and education software, not a medical device). States are per "
        "kg of body weight; time is in days. Documentation: docs/sbml.md of marrowsim."
    )
    model.setNotes(f'<body xmlns="http://www.w3.org/1999/xhtml"><p>{xml_text(text)}</p></body>')


def _constants(model, out: SBMLModel, problem: Problem, p: int, sources) -> None:
    for j, cname in enumerate(K.CONSTANT_NAMES):
        parameter = add_parameter(
            model, cname, problem.constants[p, j], U.constant_units(cname), constant=True
        )
        source = sources.get(cname)
        if source is not None and source.copy_of:
            parameter.setName(f"{cname} (= {source.copy_of})")
        annotate(
            parameter,
            "constant",
            name=cname,
            units=U.constant_units(cname) or "",
            copyOf=source.copy_of or "" if source else "",
            derivedFrom=" ".join(source.parameters) if source else "",
        )
        out.sources[cname] = ("constant", j)


def _states(model, out: SBMLModel, problem: Problem, p: int, traced: TracedModel) -> None:
    referenced = _referenced(traced)
    for k in traced.classes:
        for m, mname in enumerate(K.CLASS_MODIFIER_NAMES):
            sid = modifier_id(k, m)
            parameter = add_parameter(
                model, sid, problem.class_modifiers[p, k, m], "1", constant=True
            )
            annotate(parameter, "classModifier", cloneClass=L.CLASS_NAMES[k], modifier=mname)
            out.sources[sid] = ("modifier", k, m)
    for sid, derive in traced.derived.items():
        value = traced.ctx.values[sid]
        parameter = add_parameter(model, sid, value, "1", constant=True, name=derive.description)
        arguments = ", ".join(traced.ctx.infix(a) for a in derive.args)
        annotate(parameter, "derived", function=derive.function.__name__, arguments=arguments)
        out.sources[sid] = ("derived",)
        out.derived[sid] = derive
    for i in traced.states:
        sid = state_id(i)
        if i >= L.N_CELL_STATES:
            aux = sid
            if sid not in referenced and problem.y0[p, i] == 0.0:
                continue  # an auxiliary slot this model never uses
            element = add_parameter(model, sid, problem.y0[p, i], U.aux_units(aux), constant=False)
            annotate(element, "state", index=str(i), kind="auxiliary")
        else:
            k, j = divmod(i, L.N_COMPARTMENTS)
            element = model.createSpecies()
            element.setId(sid)
            element.setName(f"{L.CLASS_NAMES[k]} {L.COMPARTMENT_NAMES[j]} (cells per kg)")
            element.setCompartment(COMPARTMENT)
            element.setInitialConcentration(float(problem.y0[p, i]))
            element.setSubstanceUnits("item")
            element.setHasOnlySubstanceUnits(False)
            element.setBoundaryCondition(False)
            element.setConstant(False)
            annotate(
                element,
                "state",
                index=str(i),
                cloneClass=L.CLASS_NAMES[k],
                compartment=L.COMPARTMENT_NAMES[j],
            )
        rule = model.createRateRule()
        rule.setVariable(sid)
        rule.setMath(math_of(traced, traced.rates[sid]))
        out.sources[sid] = ("state", i)


def _referenced(traced: TracedModel) -> set[str]:
    """Symbols that any rate, observable or event uses (or changes)."""
    roots = [*traced.rates.values(), *traced.observables.values()]
    roots += [e for ev in traced.events for e in ev.updates.values()]
    names = {n.value for n in walk(roots) if n.op == "sym"}
    names |= {sid for ev in traced.events for sid in ev.updates}
    names |= {
        sid for sid, rate in traced.rates.items() if not (rate.op == "num" and rate.value == 0)
    }
    return names


def _continuous(model, traced: TracedModel) -> None:
    """Assignment rules: hoisted intermediate values (children first) and observables."""
    order = walk(traced.names)  # children before parents
    units = {sid: U.observable_units(name) for name, sid in traced.observable_ids.items()}
    for node in order:
        sid = traced.names.get(node)
        if sid is None:
            continue
        add_parameter(model, sid, 0.0, units.get(sid), constant=False)
        rule = model.createAssignmentRule()
        rule.setVariable(sid)
        rule.setMath(math_of(traced, node))
    for sid, node in traced.observables.items():
        if traced.names.get(node) == sid:
            continue
        add_parameter(model, sid, 0.0, units.get(sid), constant=False)
        rule = model.createAssignmentRule()
        rule.setVariable(sid)
        rule.setMath(math_of(traced, node))


def describe_event(row: np.ndarray) -> str:
    """A short text of one event row, for the SBML ``name``."""
    kind, a = int(row[1]), row[2:]
    if kind == E.EV_ADD_CELLS:
        return f"{a[2]:.4g} cells/kg into {state_id(L.cell_index(int(a[0]), int(a[1])))}"
    if kind == E.EV_SCALE_CELLS:
        cls = "all classes" if a[0] < 0 else L.CLASS_NAMES[int(a[0])]
        comp = "all compartments" if a[1] < 0 else L.COMPARTMENT_NAMES[int(a[1])]
        return f"{cls}, {comp}: surviving fraction {a[2]:.4g}"
    if kind == E.EV_MOVE_CELLS:
        comp = "all compartments" if a[2] < 0 else L.COMPARTMENT_NAMES[int(a[2])]
        return f"move {comp} from {L.CLASS_NAMES[int(a[0])]} to {L.CLASS_NAMES[int(a[1])]}"
    if kind == E.EV_ADD_AUX:
        aux = L.AUX_NAMES[int(a[0])]
        return f"{a[1]:.4g} {U.aux_units(aux) or ''} {aux}"
    if kind == E.EV_RADIATION:
        return f"irradiation {a[0]:.4g} Gy"
    if kind == E.EV_DRUG:
        drug = K.DRUGS[int(a[0])]
        return f"{drug} {a[1]:.4g} {U.drug_dose_units(int(a[0])) or ''}"
    return f"event kind {kind}"


_FIELD_UNITS = {"cells_per_kg": "cells/kg", "surviving_fraction": "1", "dose_gy": "Gy"}


def _event_field_units(row: np.ndarray, role: str) -> str | None:
    kind = int(row[1])
    if kind == E.EV_ADD_AUX:
        return U.aux_units(L.AUX_NAMES[int(row[2])])
    if kind == E.EV_DRUG:
        return U.drug_dose_units(int(row[2]))
    return _FIELD_UNITS.get(role)


def _scheduled_events(model, out: SBMLModel, problem: Problem, p: int, traced) -> None:
    rows = problem.events[p]
    for n, group in enumerate(traced.events, start=1):
        for sid, (r, f) in group.parameters.items():
            role = sid.split("_", 1)[1]
            parameter = add_parameter(
                model,
                sid,
                rows[r, f],
                _event_field_units(rows[r], role),
                constant=True,
                name=describe_event(rows[r]),
            )
            annotate(parameter, "eventField", row=str(r), field=str(f), role=role)
            out.sources[sid] = ("event", r, f)
        event = model.createEvent()
        event.setId(f"scheduled{n}")
        event.setName(
            f"day {group.time:g}: " + "; ".join(describe_event(rows[r]) for r in group.rows)
        )
        event.setUseValuesFromTriggerTime(False)  # after the morning event of the same time
        trigger = event.createTrigger()
        trigger.setInitialValue(False)  # an event at the first morning fires at the start
        trigger.setPersistent(True)
        offset = group.time - problem.t_start  # SBML time starts at 0 on the first morning
        trigger.setMath(libsbml.parseL3Formula(f"time >= {offset!r}"))
        event.createPriority().setMath(libsbml.parseL3Formula("0"))
        for sid, node in group.updates.items():
            assignment = event.createEventAssignment()
            assignment.setVariable(sid)
            assignment.setMath(math_of(traced, node))
        annotate(event, "scheduledEvents", rows=" ".join(str(r) for r in group.rows))


def _observables_at_start(problem: Problem, p: int) -> np.ndarray:
    out = np.zeros(O.N_OBSERVABLES)
    O.observe(
        problem.y0[p], problem.constants[p], problem.class_modifiers[p], problem.active[p], out
    )
    return out


def validate(document: libsbml.SBMLDocument) -> int:
    """Run libsbml's consistency checks (units excluded, see docs/sbml.md); raise
    :class:`SBMLExportError` on the first error. Returns the number of warnings."""
    document.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, False)
    document.checkConsistency()
    warnings = 0
    for i in range(document.getNumErrors()):
        error = document.getError(i)
        if error.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            message = " ".join(error.getMessage().split())
            raise SBMLExportError(
                f"the exported SBML is not valid (line {error.getLine()}): {message}"
            )
        warnings += 1
    return warnings
