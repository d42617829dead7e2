"""The morning of the engine as one recurring SBML event on a daily clock.

SBML time starts at 0 on the first simulated morning (``first_day``; ``day = time + first_day``).
Every integer day the engine (``engine/dopri.py``) records the observables, then evaluates the
morning rules on those counts (``engine/events.apply_rules``), then applies that day's events. The
event written here fires when ``day >= morning`` (``morning`` is the day number; the event adds
one to it), with a priority above the scheduled events, and assigns, all from the values at that
moment:

* ``morning_<observable>``: the morning counts, exactly what marrowsim reports for the day;
* each transfusion rule: ``state := state + piecewise(cells, count < threshold, 0)``, a flag for
  the day and a counter (``platelet_transfusions``, ``rbc_transfusions``);
* a filgrastim "until" rule: the streak of consecutive mornings above the ANC threshold
  (``filgrastim_streak``), a done flag (``filgrastim_done``) and the dose into the depot, in the
  engine's order (count the streak; stop once it reaches n days; else dose);
* an extinction rule (``engine/events.extinguish``, the leukemic clone): once the class's stem
  cells are fewer than one cell, each of its compartments that holds less than one cell is
  emptied, ``state := piecewise(0, abs(hsc) < one_cell && abs(state) < one_cell, state)``.
"""

from __future__ import annotations

from collections import defaultdict

import libsbml

from marrowsim.engine import events as E
from marrowsim.engine.problem import Problem
from marrowsim.errors import InputError
from marrowsim.export import units as U
from marrowsim.export.elements import add_parameter, annotate, math_of
from marrowsim.export.symbolic import Expr
from marrowsim.export.trace import TracedModel, state_id
from marrowsim.model import layout as L
from marrowsim.model import observables as O

# rule kind -> (observable compared, state that receives the cells, flag, counter, units)
TRANSFUSIONS = {
    E.RULE_TRANSFUSE_PLATELETS: (
        O.O_PLT,
        L.cell_index(L.TRANSFUSED, L.PLT1),
        "platelet_transfusion",
        "platelet_transfusions",
        "10^9/L",
    ),
    E.RULE_TRANSFUSE_RBC: (
        O.O_HB,
        L.cell_index(L.TRANSFUSED, L.RBC1),
        "rbc_transfusion",
        "rbc_transfusions",
        "g/dL",
    ),
}
FILGRASTIM_FIELDS = {1: ("first_day", "d"), 2: ("dose", "ug/kg"), 3: ("anc_threshold", "10^9/L")}
FILGRASTIM_FIELDS[4] = ("days_above", "1")
COUNTERS = ("platelet_transfusions", "rbc_transfusions", "filgrastim_streak", "filgrastim_done")
FLAGS = {
    O.O_PLT_TRANSFUSION: "platelet_transfusion",
    O.O_RBC_TRANSFUSION: "rbc_transfusion",
    O.O_FILG_DOSE: "filgrastim_dose",
}


def morning_rules(model, out, problem: Problem, p: int, traced: TracedModel, obs0) -> None:
    """Add the clock, the morning observables and the rules of patient ``p`` to ``model``."""
    ctx = traced.ctx
    add_parameter(model, "first_day", problem.t_start, "d", constant=True, name="day at time 0")
    add_parameter(model, "day", problem.t_start, "d", constant=False, name="day (time + first_day)")
    day = model.createAssignmentRule()
    day.setVariable("day")
    day.setMath(libsbml.parseL3Formula("time + first_day"))
    add_parameter(model, "morning", problem.t_start, "d", constant=False, name="next morning (day)")
    for name in COUNTERS:
        add_parameter(model, name, 0.0, "1", constant=False, name=f"rule state: {name}")
    for q, name in FLAGS.items():
        add_parameter(model, name, 0.0, U.observable_units(O.OBSERVABLE_NAMES[q]), constant=False)
    assignments: dict[str, Expr] = {"morning": ctx.sym("morning") + 1.0}
    for q, name in enumerate(O.OBSERVABLE_NAMES):
        sid = f"morning_{name}"
        units = U.observable_units(name)
        add_parameter(model, sid, obs0[q], units, constant=False, name=f"{name} this morning")
        assignments[sid] = ctx.sym(FLAGS.get(q) or traced.observable_ids[name])
    rules = problem.rules[p, : int(problem.n_rules[p])]
    state: dict[str, Expr] = {}
    flags: dict[str, list] = defaultdict(list)
    counters: dict[str, Expr] = {}
    filgrastim = [r for r, row in enumerate(rules) if int(row[0]) == E.RULE_FILGRASTIM_UNTIL]
    if len(filgrastim) > 1:
        raise InputError("only one filgrastim 'until' rule per patient can be exported to SBML")
    for r, row in enumerate(rules):
        kind = int(row[0])
        if kind in TRANSFUSIONS:
            observable, target, flag, counter, units = TRANSFUSIONS[kind]
            threshold = _rule_parameter(ctx, model, out, problem, p, r, 1, "threshold", units)
            cells = _rule_parameter(ctx, model, out, problem, p, r, 2, "cells_per_kg", "cells/kg")
            below = ctx.sym(traced.observable_ids[O.OBSERVABLE_NAMES[observable]]) < threshold
            target_id = state_id(target)
            previous = state.get(target_id, ctx.sym(target_id))
            state[target_id] = previous + ctx.piecewise(cells, below, 0.0)
            counters[counter] = counters.get(counter, ctx.sym(counter)) + ctx.piecewise(
                1.0, below, 0.0
            )
            flags[flag].append(below)
        elif kind == E.RULE_FILGRASTIM_UNTIL:
            _filgrastim(model, out, problem, p, r, traced, state, counters, flags)
        elif kind == E.RULE_EXTINCTION:
            _extinction(model, out, problem, p, r, traced, state)
        else:
            raise InputError(f"morning rule kind {kind} cannot be exported to SBML")
    for flag, conditions in flags.items():
        if flag == "filgrastim_dose":
            assignments[flag] = conditions[0]
        else:
            assignments[flag] = ctx.piecewise(1.0, ctx.logical("or", *conditions), 0.0)
        assignments[f"morning_{flag}"] = assignments[flag]  # today's flag, not yesterday's
    assignments.update(counters)
    assignments.update(state)
    event = model.createEvent()
    event.setId("morning_clock")
    event.setName("every morning: record the counts, then apply the supportive-care rules")
    event.setUseValuesFromTriggerTime(True)
    trigger = event.createTrigger()
    trigger.setInitialValue(False)  # fires at the first morning too
    trigger.setPersistent(True)
    trigger.setMath(libsbml.parseL3Formula("time + first_day >= morning"))
    event.createPriority().setMath(libsbml.parseL3Formula("1"))
    for sid, node in assignments.items():
        assignment = event.createEventAssignment()
        assignment.setVariable(sid)
        assignment.setMath(math_of(traced, node))
    annotate(event, "morning", rules=str(len(rules)))


def _rule_parameter(ctx, model, out, problem, p, r, f, role, units) -> Expr:
    sid = f"rule{r + 1}_{role}"
    parameter = add_parameter(model, sid, problem.rules[p, r, f], units, constant=True)
    annotate(parameter, "ruleField", row=str(r), field=str(f), role=role)
    out.sources[sid] = ("rule", r, f)
    return ctx.sym(sid)


def _filgrastim(model, out, problem, p, r, traced, state, counters, flags) -> None:
    """Engine order: skip before the first day or once done; count the streak (reset when ANC is
    not above the threshold); once the streak reaches n days, done (no dose); else dose."""
    ctx, observable_ids = traced.ctx, traced.observable_ids
    first, dose, threshold, days = (
        _rule_parameter(ctx, model, out, problem, p, r, f, *FILGRASTIM_FIELDS[f])
        for f in (1, 2, 3, 4)
    )
    streak, done = ctx.sym("filgrastim_streak"), ctx.sym("filgrastim_done")
    on = ctx.logical("and", ctx.sym("morning") >= first, done <= 0.0)
    anc = ctx.sym(observable_ids["anc"])
    new_streak = ctx.piecewise(streak + 1.0, anc > threshold, 0.0)
    counters["filgrastim_streak"] = ctx.piecewise(new_streak, on, streak)
    counters["filgrastim_done"] = ctx.piecewise(
        1.0, ctx.logical("and", on, new_streak >= days), done
    )
    give = ctx.logical("and", on, new_streak < days)
    depot = state_id(L.N_CELL_STATES + L.AUX_FILG_DEPOT)
    state[depot] = state.get(depot, ctx.sym(depot)) + ctx.piecewise(dose, give, 0.0)
    flags["filgrastim_dose"].append(ctx.piecewise(dose, give, 0.0))


def _extinction(model, out, problem, p, r, traced, state) -> None:
    """``engine/events.extinguish``: fewer than one stem cell of class ``k`` is none; then every
    compartment of the class holding less than one cell is emptied (the stem cells included)."""
    ctx = traced.ctx
    k = int(problem.rules[p, r, 1])
    if k not in traced.classes:
        return  # a class that never holds cells: nothing to extinguish
    one_cell = _rule_parameter(ctx, model, out, problem, p, r, 2, "one_cell", "cells/kg")
    o = k * L.N_COMPARTMENTS
    ids = [state_id(o + j) for j in range(L.N_COMPARTMENTS)]
    before = {sid: state.get(sid, ctx.sym(sid)) for sid in ids}  # after the earlier rules
    gone = abs(before[state_id(o + L.HSC)]) < one_cell
    for sid in ids:
        below = ctx.logical("and", gone, abs(before[sid]) < one_cell)
        state[sid] = ctx.piecewise(0.0, below, before[sid])
