"""Trace one patient's compiled model into expressions: rates, observables and events.

The right-hand side (:func:`marrowsim.model.rhs.rhs`), the observables
(:func:`marrowsim.model.observables.observe`) and the events
(:func:`marrowsim.engine.events.apply_event`) run as symbolic twins (see
:mod:`marrowsim.export.symbolic`) on states, constants and class modifiers that are SBML
identifiers. Only the clone classes that can hold cells for this patient (active at the start, or
filled by an event or a transfusion rule) are exported; the others are zero for the whole run and
drop out of every expression.

Four compiled helpers have hand-written twins here, each next to the function it replaces:
the guarded divisions ``state_sums.guarded_ratio`` and ``erythroid.yield_loss``
(``piecewise``), ``rhs.hill_power`` (``x ^ n``: the compiled function has a fast path for one
exponent), and ``erythroid.protected_fraction``, a lognormal tail (``erfc``, which SBML
has no function for) of constants only: it becomes a constant parameter of its own, computed by
the compiled function from the patient's constants and class modifiers (:class:`Derived`).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from marrowsim.engine import events as E
from marrowsim.engine.problem import Problem
from marrowsim.export.names import Claim, capture_names, hoisted_names
from marrowsim.export.symbolic import Context, Expr, TraceError, evaluate, symbolic_twins, walk
from marrowsim.model import constants as K
from marrowsim.model import erythroid as ERY
from marrowsim.model import layout as L
from marrowsim.model import observables as O
from marrowsim.model import rhs as R
from marrowsim.model import state_sums as S

EVENT_TIME_TOLERANCE = 1e-9  # the engine's: events this close to a time happen at that time
# observables that the morning rules set (observe() writes 0): exported as event-set parameters
RULE_FLAGS = (O.O_PLT_TRANSFUSION, O.O_RBC_TRANSFUSION, O.O_FILG_DOSE)


def state_id(index: int) -> str:
    """SBML identifier of state ``index``: ``host_hsc``, ``donor_neu``, ``filgrastim_depot``."""
    if index >= L.N_CELL_STATES:
        return L.AUX_NAMES[index - L.N_CELL_STATES]
    k, j = divmod(index, L.N_COMPARTMENTS)
    return f"{L.CLASS_NAMES[k]}_{L.COMPARTMENT_NAMES[j]}"


def modifier_id(k: int, m: int) -> str:
    """SBML identifier of class modifier ``m`` of clone class ``k``: ``donor_hsc_fitness``."""
    return f"{L.CLASS_NAMES[k]}_{K.CLASS_MODIFIER_NAMES[m]}"


@dataclass
class TracedEvent:
    """Events of one time, composed in the engine's order: state -> new value (expressions of
    the values just before), and the event fields that became parameters."""

    time: float
    rows: list[int]
    updates: dict[str, Expr]
    parameters: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (row, field)


@dataclass
class Derived:
    """A constant parameter computed from other SBML values by a compiled model function that has
    no SBML math (``erythroid.protected_fraction``): ``function(*args)``, each argument an
    expression of constants and class modifiers."""

    function: Callable[..., float]
    args: tuple[Expr, ...]
    description: str

    def __call__(self, values: Mapping[str, float]) -> float:
        """The value for a patient whose constants and modifiers are ``values`` (SBML ids)."""
        numbers = [evaluate(a, values) for a in self.args]
        if any(x is None for x in numbers):  # pragma: no cover - checked when traced
            raise TraceError(f"{self.description}: an argument is not a constant")
        return float(self.function(*(float(x) for x in numbers)))


@dataclass
class TracedModel:
    ctx: Context
    classes: tuple[int, ...]
    states: list[int]  # indices of exported states
    rates: dict[str, Expr]
    observables: dict[str, Expr]  # SBML id -> expression
    observable_ids: dict[str, str]  # marrowsim observable name -> SBML id
    names: dict[Expr, str]  # hoisted intermediate values
    events: list[TracedEvent]
    derived: dict[str, Derived] = field(default_factory=dict)  # id -> derived constant


def classes_held(problem: Problem) -> np.ndarray:
    """``(patients, classes)``: which clone classes can hold cells for each patient (active at
    the start, or filled by an event or a transfusion rule)."""
    held = problem.active.copy()
    kinds = problem.events[:, :, 1]
    listed = np.arange(kinds.shape[1])[None, :] < problem.n_events[:, None]
    for kind, column in ((E.EV_ADD_CELLS, 2), (E.EV_MOVE_CELLS, 3)):  # the class filled
        p, e = np.nonzero(listed & (kinds == kind))
        held[p, problem.events[p, e, column].astype(np.int64)] = True
    rule_kinds = problem.rules[:, :, 0]
    listed = np.arange(rule_kinds.shape[1])[None, :] < problem.n_rules[:, None]
    transfusions = np.isin(rule_kinds, (E.RULE_TRANSFUSE_PLATELETS, E.RULE_TRANSFUSE_RBC))
    held[:, L.TRANSFUSED] |= (listed & transfusions).any(axis=1)
    return held


def exported_classes(problem: Problem, p: int) -> tuple[int, ...]:
    """Clone classes that can hold cells for patient ``p``."""
    return tuple(np.flatnonzero(classes_held(problem.subset(slice(p, p + 1)))[0]).tolist())


def guarded_ratio_twin(ctx: Context):
    def ratio(num, den):  # state_sums.guarded_ratio: num / den if den > 0 else 0
        if not isinstance(den, Expr):
            return num / den if den > 0.0 else 0.0
        return ctx.piecewise(num / den, den > 0.0, 0.0)

    return ratio


def _hill_power(x, n):  # rhs.hill_power: x ** n, with a cheaper path for n = 1.5
    return x**n


def yield_loss_twin(ctx: Context):
    def yield_loss(ep_yield, ep_all):  # erythroid.yield_loss: 1 - yield / all if all > 0 else 0
        if not isinstance(ep_all, Expr):
            return 1.0 - ep_yield / ep_all if ep_all > 0.0 else 0.0
        return ctx.piecewise(1.0 - ep_yield / ep_all, ep_all > 0.0, 0.0)

    return yield_loss


def _protected_fraction(ctx: Context, derived: dict[str, Derived]):
    """erythroid.protected_fraction(mean_pg, cv, threshold_pg) of constants only: a derived
    constant ``protected_fraction_<class>`` (the class is the caller's loop variable ``k``)."""
    by_args: dict[tuple[int, ...], Expr] = {}

    def protected_fraction(mean_pg, cv, threshold_pg):
        args = tuple(ctx.num(a) for a in (mean_pg, cv, threshold_pg))
        if all(a.op == "num" for a in args):
            return ERY.protected_fraction(*(a.value for a in args))
        key = tuple(id(a) for a in args)
        if key in by_args:
            return by_args[key]
        values = [ctx.evaluate(a) for a in args]
        if any(v is None for v in values):
            raise TraceError(
                "erythroid.protected_fraction depends on the state: it has no SBML twin "
                "(SBML has no erfc); only constants and class modifiers can be exported"
            )
        k = sys._getframe(1).f_locals.get("k")
        base = f"protected_fraction_{L.CLASS_NAMES[k]}" if isinstance(k, int) else "protected"
        sid, n = base, 2
        while sid in derived:
            sid, n = f"{base}_{n}", n + 1
        where = f" of the {L.CLASS_NAMES[k]} class" if isinstance(k, int) else ""
        derived[sid] = Derived(
            ERY.protected_fraction,
            args,
            f"share of HbS-dominant red cells{where} with HbF per cell above hbf_protective_pg "
            "(lognormal tail, erythroid.protected_fraction)",
        )
        ctx.values[sid] = derived[sid](ctx.values)
        by_args[key] = ctx.sym(sid)
        return by_args[key]

    return protected_fraction


def symbolic_inputs(ctx: Context, problem: Problem, p: int, exported: np.ndarray):
    """The right-hand side's arguments ``(y, c, cm)`` for patient ``p`` as expressions: a symbol
    for each state of an ``exported`` class and each auxiliary state (0 for the others), each
    constant, and each class modifier of an exported class (the number for the others). The
    modifiers' numbers go into ``ctx.values``."""
    y = np.empty(L.N_STATES, dtype=object)
    for i in range(L.N_STATES):
        if i >= L.N_CELL_STATES or exported[i // L.N_COMPARTMENTS]:
            y[i] = ctx.sym(state_id(i))
        else:
            y[i] = ctx.num(0.0)
    c = np.array([ctx.sym(name) for name in K.CONSTANT_NAMES], dtype=object)
    cm = np.empty((L.N_CLASSES, K.N_CLASS_MODIFIERS), dtype=object)
    for k in range(L.N_CLASSES):
        for m in range(K.N_CLASS_MODIFIERS):
            value = float(problem.class_modifiers[p, k, m])
            ctx.values[modifier_id(k, m)] = value
            cm[k, m] = ctx.sym(modifier_id(k, m)) if exported[k] else value
    return y, c, cm


def trace_model(problem: Problem, p: int = 0) -> TracedModel:
    """Trace patient ``p`` of ``problem``."""
    constants = dict(zip(K.CONSTANT_NAMES, problem.constants[p].tolist(), strict=True))
    ctx = Context(constants)  # a branch on constants alone follows this patient's values
    classes = exported_classes(problem, p)
    exported = np.zeros(L.N_CLASSES, dtype=bool)
    exported[list(classes)] = True
    y, c, cm = symbolic_inputs(ctx, problem, p, exported)
    states = [i for i in range(L.N_STATES) if y[i].op == "sym"]
    derived: dict[str, Derived] = {}
    twins = symbolic_twins(
        {"rhs": R.rhs, "observe": O.observe, "apply_event": E.apply_event},
        {
            S.guarded_ratio: guarded_ratio_twin(ctx),
            R.hill_power: _hill_power,
            ERY.yield_loss: yield_loss_twin(ctx),
            ERY.protected_fraction: _protected_fraction(ctx, derived),
        },
    )
    claims: dict[Expr, Claim] = {}
    dy = np.empty(L.N_STATES, dtype=object)
    out = np.empty(O.N_OBSERVABLES, dtype=object)
    with capture_names(twins, claims):
        twins["rhs"](ctx.sym("time"), y, c, cm, exported.copy(), dy)
        twins["observe"](y, c, cm, exported.copy(), out)
    rates = {state_id(i): ctx.num(dy[i]) for i in states}
    taken = {state_id(i) for i in range(L.N_STATES)} | set(K.CONSTANT_NAMES)
    taken |= {modifier_id(k, m) for k in range(L.N_CLASSES) for m in range(K.N_CLASS_MODIFIERS)}
    # an observable keeps its name unless a state or constant has it (then: NAME_observable)
    ids = {n: f"{n}_observable" if n in taken else n for n in O.OBSERVABLE_NAMES}
    observables = {
        ids[name]: ctx.num(out[q])
        for q, name in enumerate(O.OBSERVABLE_NAMES)
        if q not in RULE_FLAGS
    }
    events = _trace_events(ctx, twins["apply_event"], problem, p, y, c, cm, exported)
    taken |= set(ids.values()) | {f"morning_{name}" for name in O.OBSERVABLE_NAMES}
    taken |= set(derived)
    names = hoisted_names(claims, observables, rates, taken)
    return TracedModel(ctx, classes, states, rates, observables, ids, names, events, derived)


def _trace_events(ctx, apply_event, problem, p, y, c, cm, exported) -> list[TracedEvent]:
    """Events of the run, grouped by time: those before the first morning and at or after the
    last are never applied by the engine and are left out."""
    t_first, t_last = problem.t_start, problem.t_start + problem.n_days
    rows = problem.events[p, : int(problem.n_events[p])]
    groups: list[TracedEvent] = []
    for r, row in enumerate(rows):
        t = float(row[0])
        if t < t_first - EVENT_TIME_TOLERANCE or t > t_last - EVENT_TIME_TOLERANCE:
            continue
        if not groups or abs(groups[-1].time - t) >= EVENT_TIME_TOLERANCE:
            groups.append(TracedEvent(t, [], {}))
        groups[-1].rows.append(r)
    for group in groups:
        state = y.copy()
        fields: dict[str, tuple[int, int]] = {}
        for r in group.rows:
            ev = np.empty(E.N_EVENT_FIELDS, dtype=object)
            ev[0] = float(rows[r][0])
            for f in range(1, E.N_EVENT_FIELDS):
                name = f"event{r + 1}_{event_field_role(int(rows[r][1]), f)}"
                ev[f] = ctx.parameter(name, float(rows[r][f]))
                fields[name] = (r, f)
            apply_event(ev, state, c, cm, exported.copy())
        for i in range(L.N_STATES):
            if state[i] is not y[i]:
                group.updates[state_id(i)] = ctx.num(state[i])
        used = (
            set().union(*(_symbols(e) for e in group.updates.values())) if group.updates else set()
        )
        group.parameters = {name: rf for name, rf in fields.items() if name in used}
    return groups


def _symbols(node: Expr) -> set[str]:
    return {n.value for n in walk([node]) if n.op == "sym"}


# (event kind, field) -> role of the number: the name of its SBML parameter
_ROLES = {
    (E.EV_ADD_CELLS, 4): "cells_per_kg",
    (E.EV_SCALE_CELLS, 4): "surviving_fraction",
    (E.EV_ADD_AUX, 3): "amount",
    (E.EV_RADIATION, 2): "dose_gy",
    (E.EV_DRUG, 3): "dose",
}


def event_field_role(kind: int, f: int) -> str:
    return _ROLES.get((kind, f), f"a{f - 2}")
