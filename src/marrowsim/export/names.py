"""Names of the intermediate values in an exported model: the model's own local variables.

While the symbolic twins run, :func:`capture_names` watches the local variables of the public
model functions (``rhs``, ``cytokine_signals``, ``observe`` ...); :func:`hoisted_names` then turns
them into SBML identifiers (``gcsf_relative``, ``a_gp``, ``hsc_out_donor``) for the values that are
written as assignment rules.
"""

from __future__ import annotations

import sys
import types
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from marrowsim.export.symbolic import COMPARISONS, Expr, Twins, walk
from marrowsim.model import layout as L

# names SBML's infix syntax reads as constants or functions: never used as identifiers
RESERVED = {"e", "pi", "time", "inf", "nan", "avogadro", "true", "false", "exp", "ln", "log"}
RESERVED |= {"exponentiale", "notanumber", "infinity", "delay", "abs", "max", "min", "pow"}
# truth values (a condition of piecewise) stay inline: an SBML parameter holds a number
BOOLEAN_OPS = {*COMPARISONS, "and", "or"}


@dataclass
class Claim:
    """A local variable that held an expression: its name, the clone class ``k`` it was computed
    for (None: not per class) and the function it lives in."""

    name: str
    k: int | None
    function: str


@contextmanager
def capture_names(twins: Twins, found: dict[Expr, Claim]):
    """While active, record for each new non-leaf :class:`Expr` held in a local variable of a
    public twin (helpers whose names start with ``_`` are skipped: their locals are generic) the
    variable's name and the loop variable ``k`` (the clone class) at that moment. Arguments are
    not names (their caller named them). An accumulator (``x += ...``) keeps its name on its
    final value only; one that accumulates over clone classes is not per class."""
    last: dict[tuple[types.FrameType, str], Expr] = {}

    def local(frame: types.FrameType, event: str, arg: Any):
        if event not in ("line", "return"):
            return local
        code = frame.f_code
        arguments = set(code.co_varnames[: code.co_argcount])
        values = frame.f_locals
        k = values.get("k")
        k = k if isinstance(k, int) else None
        for name, value in values.items():
            if not isinstance(value, Expr) or value.is_leaf or name in arguments:
                continue
            previous = last.get((frame, name))
            if previous is value:
                continue
            last[frame, name] = value
            per_class = k
            if previous is not None and any(a is previous for a in value.args):
                old = found.get(previous)  # an accumulator: the name moves to the new value
                if old is not None and old.name == name:
                    del found[previous]
                    per_class = old.k if old.k == k else None
            if value not in found:
                found[value] = Claim(name, per_class, code.co_name)
        return local

    def call(frame: types.FrameType, event: str, arg: Any):
        public = not frame.f_code.co_name.startswith("_")
        return local if public and frame.f_code in twins.codes else None

    previous = sys.gettrace()
    sys.settrace(call)
    try:
        yield found
    finally:
        sys.settrace(previous)


def hoisted_names(claims, observables, rates, taken) -> dict[Expr, str]:
    """Names of the intermediate values written as assignment rules: observables (by their
    names), the model's named local variables (``gcsf``, ``a_gp``, ``hsc_out_donor``) and any
    other sizeable expression used more than once (``term1`` ...)."""
    names: dict[Expr, str] = {}
    for name, node in observables.items():
        if not node.is_leaf:
            names.setdefault(node, name)
    by_name: dict[str, list[tuple[Expr, Claim]]] = defaultdict(list)
    for node, claim in claims.items():
        if node not in names and not node.is_leaf and node.op not in BOOLEAN_OPS:
            by_name[claim.name].append((node, claim))
    used = set(taken) | set(names.values())
    for name, items in by_name.items():
        # a value computed per clone class is suffixed with the class; a total keeps the name
        per_class = len(items) > 1
        for node, claim in items:
            suffix = L.CLASS_NAMES[claim.k] if per_class and claim.k is not None else ""
            names[node] = _unique(f"{name}_{suffix}" if suffix else name, used)
    # event expressions stay inline: only the continuous part gets extra assignment rules
    roots = list(rates.values()) + list(observables.values())
    parents: dict[Expr, int] = defaultdict(int)
    size: dict[Expr, int] = {}
    order = walk(roots)
    for node in order:
        size[node] = 1 + sum(size[a] for a in node.args)
        for a in node.args:
            parents[a] += 1
    counter = 0
    for node in order:
        if node in names or node.is_leaf or parents[node] < 2 or size[node] < 4:
            continue
        if node.op in BOOLEAN_OPS:
            continue
        counter += 1
        names[node] = _unique(f"term{counter}", used)
    return names


def _unique(base: str, used: set[str]) -> str:
    """``base``, else ``base_eff`` (an effective value, e.g. a rate under regulation), else
    ``base_2``, ``base_3`` ..."""
    name = base if base not in RESERVED and base not in used else f"{base}_eff"
    n = 2
    while name in used:
        name = f"{base}_{n}"
        n += 1
    used.add(name)
    return name
