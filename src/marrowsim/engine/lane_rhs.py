"""The right-hand side for several patients at once ("lanes"), generated from the model's own.

:func:`marrowsim.model.rhs.rhs` is scalar code for one patient: a few hundred divisions, Hill
responses and sums that the compiler cannot spread over SIMD registers. Here the same function
runs symbolically (the SBML export's tracer, :mod:`marrowsim.export.symbolic`) for the clone
classes a batch can hold, and the expression DAG is written out as straight-line code over
``LANES`` patients, ``for l in range(n)`` (``n`` = ``LANES``, read from an array's length: a
constant count of 16 is unrolled into scalar code before LLVM's vectoriser sees the loop) around
blocks of :data:`BLOCK` operations, each ``exp`` or ``log`` (:mod:`marrowsim.model.elementary`)
in a loop of its own; LLVM vectorises those loops (AVX2/AVX-512 divisions and square roots for
4-8 patients at a time). The operations are the traced ones in the traced order, so each lane
computes bit for bit what ``rhs`` computes for that patient (``tests/test_engine_lanes.py``).
The model's :func:`marrowsim.model.observables.observe` is traced after it in the same context and
written out the same way as a second function, ``lane_observe(inputs, work, out)``: the lane
engine computes the observables of all lanes' mornings in one call.

Layout: lane ``l`` of quantity ``i`` is element ``i * LANES + l`` of a flat array. The input
array holds the states (``L.N_STATES`` rows), then the constants (``K.N_CONSTANTS``), then the
class modifiers (``L.N_CLASSES * K.N_CLASS_MODIFIERS``); intermediates go to a work array, the
derivatives to ``dy`` (``L.N_STATES`` rows). One array read and two written keep LLVM's runtime
aliasing checks few enough for it to vectorise; blocks of ~40 operations are where it still does
(the whole body in one loop is not vectorised; docs/architecture.md §3).

A branch of the model on constants alone (a feature switched off by a zero constant) is decided
by the traced patient's values and recorded; :func:`lane_patients` tells which patients of a
batch decide every such branch the same way, and only those may use the generated function. The
Hill exponent's fast path (``hill_power``: ``x * sqrt(x)`` for 1.5) is one such decision.

Operations on constants alone (a Hill constant to the power 1.5, a ratio of two rate constants:
35 of a transplant batch's 574, among them 5 divisions and 5 square roots) are not repeated at every
evaluation: a third generated function, ``lane_derive(inputs, work, hoisted)``, computes the ones
the right-hand side or the observables use, once per patient, into rows of the input array after
the modifiers (:data:`N_INPUT_ROWS` + k), where the other two functions read them. They are the
same operations on the same values, so the results stay the model's bit for bit.

The generated module is written under numba's cache directory (keyed by the compiled sources,
``marrowsim._numba_cache``), named by a hash of its text, so numba caches its compiled code like
any other: ~7 s to compile once, then loaded.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import types

from marrowsim.engine.problem import Problem
from marrowsim.export.symbolic import Context, Expr, TraceError, symbolic_twins, walk
from marrowsim.export.trace import (
    classes_held,
    guarded_ratio_twin,
    modifier_id,
    state_id,
    symbolic_inputs,
    yield_loss_twin,
)
from marrowsim.io import write_text_atomic
from marrowsim.model import constants as K
from marrowsim.model import elementary
from marrowsim.model import erythroid as ERY
from marrowsim.model import layout as L
from marrowsim.model import observables as O
from marrowsim.model import rhs as R
from marrowsim.model import state_sums as S

LANES = (
    16  # patients per lane group: AVX-512 holds 8 doubles; 16 was fastest (8: no gain, 32: same)
)
BLOCK = 40  # operations per vectorised loop (20: more loop overhead, 80: not vectorised)

# lane_rhs(inputs, work, dy): passed to the lane engine by address, so its signature is fixed
SIGNATURE = types.void(types.float64[::1], types.float64[::1], types.float64[::1])
FUNCTION_TYPE = types.FunctionType(SIGNATURE)

N_INPUT_ROWS = L.N_STATES + K.N_CONSTANTS + L.N_CLASSES * K.N_CLASS_MODIFIERS
CONSTANT_ROW = L.N_STATES  # first row of the constants in the input array
MODIFIER_ROW = L.N_STATES + K.N_CONSTANTS  # first row of the class modifiers


@dataclass(frozen=True)
class LaneRhs:
    """A generated lane right-hand side: ``function(inputs, work, dy)``.

    The input array has :attr:`n_input_rows` rows: before the first call (and after new
    constants) ``derive(inputs, work, inputs[N_INPUT_ROWS * LANES:])`` fills the hoisted rows
    (see :func:`prepare`)."""

    function: Callable
    n_work_rows: int  # rows of the work array (intermediate values of function and derive)
    observe: Callable  # lane_observe(inputs, work, out): the morning's observables
    n_work_observe_rows: int
    derive: Callable  # lane_derive(inputs, work, hoisted): the operations on constants alone
    n_hoisted_rows: int  # rows it writes, after the modifiers in the input array
    classes: tuple[int, ...]  # clone classes it computes (the others must stay empty)
    decisions: tuple[tuple[Expr, bool], ...]  # branches on constants, as traced
    source_path: Path

    @property
    def n_input_rows(self) -> int:
        """Rows of the input array: states, constants, modifiers, hoisted values."""
        return N_INPUT_ROWS + self.n_hoisted_rows

    def prepare(self, inputs: np.ndarray, work: np.ndarray) -> None:
        """Fill the hoisted rows of the flat input array ``inputs`` from its constants and
        modifiers (all lanes)."""
        self.derive(inputs, work, inputs[N_INPUT_ROWS * LANES :])


class _Recorder(Context):
    """A tracing context that records every branch decided on constants."""

    def __init__(self, values):
        super().__init__(values)
        self._decided: dict[Expr, bool] = {}  # each condition once (hash-consed nodes)

    @property
    def decisions(self) -> list[tuple[Expr, bool]]:
        return list(self._decided.items())

    def evaluate(self, node: Expr):
        value = super().evaluate(node)
        if value is not None and not node.is_leaf:
            self._decided[node] = bool(value)
        return value


def batch_classes(problem: Problem) -> tuple[int, ...]:
    """Clone classes any patient of ``problem`` can hold (``export.trace.classes_held``)."""
    return tuple(np.flatnonzero(classes_held(problem).any(axis=0)).tolist())


def _trace(problem: Problem, p: int, classes: tuple[int, ...]):
    """The rates and the observables of patient ``p``'s model with ``classes`` holding cells,
    and its decisions."""
    constants = dict(zip(K.CONSTANT_NAMES, problem.constants[p].tolist(), strict=True))
    ctx = _Recorder(constants)
    exported = np.zeros(L.N_CLASSES, dtype=bool)
    exported[list(classes)] = True
    y, c, cm = symbolic_inputs(ctx, problem, p, exported)

    def hill_power(x, n):  # rhs.hill_power, with its fast path as a recorded decision
        fast = ctx.op("geq", n, ctx.num(1.5)), ctx.op("leq", n, ctx.num(1.5))
        if all(bool(ctx.evaluate(f)) for f in fast):
            return ctx.op("hill15", ctx.num(x))
        return x**n

    def protected_fraction(mean_pg, cv, threshold_pg):  # erythroid's: a call in the lane code
        args = [ctx.num(a) for a in (mean_pg, cv, threshold_pg)]
        if all(a.op == "num" for a in args):
            return ERY.protected_fraction(*(a.value for a in args))
        return ctx.op("protected_fraction", *args)

    twins = symbolic_twins(
        {"rhs": R.rhs, "observe": O.observe},
        {
            S.guarded_ratio: guarded_ratio_twin(ctx),
            R.hill_power: hill_power,
            ERY.yield_loss: yield_loss_twin(ctx),
            ERY.protected_fraction: protected_fraction,
        },
    )
    dy = np.empty(L.N_STATES, dtype=object)
    twins["rhs"](ctx.sym("time"), y, c, cm, exported.copy(), dy)
    rates = {i: ctx.num(dy[i]) for i in range(L.N_STATES) if y[i].op == "sym"}
    out = np.empty(O.N_OBSERVABLES, dtype=object)
    twins["observe"](y, c, cm, exported.copy(), out)
    observables = {q: ctx.num(out[q]) for q in range(O.N_OBSERVABLES)}
    return rates, observables, ctx.decisions


_TEMPLATES = {
    "+": "{0} + {1}",
    "-": "{0} - {1}",
    "*": "{0} * {1}",
    "/": "{0} / {1}",
    "^": "{0} ** {1}",
    "hill15": "{0} * np.sqrt({0})",  # rhs.hill_power's fast path
    "neg": "-{0}",
    "exp": "exp({0})",  # model/elementary.py, as the scalar right-hand side calls it
    "ln": "log({0})",
    "abs": "abs({0})",
    "gt": "{0} > {1}",
    "lt": "{0} < {1}",
    "geq": "{0} >= {1}",
    "leq": "{0} <= {1}",
    "piecewise": "{0} if {1} else {2}",
    "protected_fraction": "protected_fraction({0}, {1}, {2})",  # erythroid's (erfc: scalar)
}


def _expression(node: Expr, a: list[str]) -> str:
    """The Python expression of operation ``node`` on argument texts ``a``."""
    if node.op in ("and", "or"):
        return f" {node.op} ".join(f"({t})" for t in a)
    if node.op not in _TEMPLATES:
        raise TraceError(f"the lane right-hand side cannot write operation {node.op!r}")
    return _TEMPLATES[node.op].format(*a)


# operations that get a loop of their own (:func:`_blocks`)
_ALONE = ("exp", "ln", "protected_fraction")


def _blocks(operations: list[Expr]) -> dict[int, int]:
    """The loop of each operation (by ``id``): runs of :data:`BLOCK` operations, and each
    operation of :data:`_ALONE` in a loop of its own. An exponential's or logarithm's code
    (model/elementary.py) is ~30 operations; in a loop of 40 others the loop is too large for
    LLVM to vectorise. ``protected_fraction`` is a scalar call, which would keep its loop from
    being vectorised."""
    block_of: dict[int, int] = {}
    block, size = 0, 0
    for node in operations:
        alone = node.op in _ALONE
        if size and (alone or size == BLOCK):
            block, size = block + 1, 0
        block_of[id(node)] = block
        size = BLOCK if alone else size + 1  # nothing joins a loop of its own
    return block_of


@dataclass(frozen=True)
class GeneratedSource:
    """The generated module's text and the sizes of the arrays its functions take."""

    text: str
    n_work_rows: int  # lane_rhs and lane_derive (they share a work array)
    n_work_observe_rows: int
    n_hoisted_rows: int


def _input_rows() -> dict[str, int]:
    """The row of each input symbol (states, constants, class modifiers) in the input array."""
    rows = {state_id(i): i for i in range(L.N_STATES)}
    rows.update({name: CONSTANT_ROW + i for i, name in enumerate(K.CONSTANT_NAMES)})
    rows.update(
        {
            modifier_id(k, m): MODIFIER_ROW + k * K.N_CLASS_MODIFIERS + m
            for k in range(L.N_CLASSES)
            for m in range(K.N_CLASS_MODIFIERS)
        }
    )
    return rows


def _on_constants(roots: list[Expr]) -> set[int]:
    """The operations (by ``id``) under ``roots`` whose leaves are all numbers, constants or
    class modifiers: the same value at every evaluation for a patient."""
    inputs = set(K.CONSTANT_NAMES) | {
        modifier_id(k, m) for k in range(L.N_CLASSES) for m in range(K.N_CLASS_MODIFIERS)
    }
    constant: set[int] = set()  # leaves and operations
    operations: set[int] = set()
    for node in walk(roots):
        if node.is_leaf:
            if node.op == "num" or node.value in inputs:
                constant.add(id(node))
        elif all(id(a) in constant for a in node.args):
            constant.add(id(node))
            operations.add(id(node))
    return operations


def _hoisted(roots: list[Expr], on_constants: set[int]) -> list[Expr]:
    """The operations on constants alone that another operation or a root uses directly:
    what ``lane_derive`` computes, in evaluation order."""
    order = walk(roots)
    needed = {id(r) for r in roots if id(r) in on_constants}
    for node in order:
        if not node.is_leaf and id(node) not in on_constants:
            needed.update(id(a) for a in node.args if id(a) in on_constants)
    return [node for node in order if id(node) in needed]


def generate_source(rates: dict[int, Expr], observables: dict[int, Expr]) -> GeneratedSource:
    """Python source of ``lane_rhs(inputs, work, dy)`` computing ``rates``, of
    ``lane_observe(inputs, work, out)`` computing ``observables`` for ``LANES`` lanes, and of
    ``lane_derive(inputs, work, hoisted)`` computing their operations on constants alone."""
    roots = [*rates.values(), *observables.values()]
    on_constants = _on_constants(roots)
    hoisted = _hoisted(roots, on_constants)
    derive_lines, n_work_derive = _function_lines(
        "lane_derive", "hoisted", dict(enumerate(hoisted)), len(hoisted), {}
    )
    hoisted_rows = {id(node): N_INPUT_ROWS + k for k, node in enumerate(hoisted)}
    rhs_lines, n_work = _function_lines(
        "lane_rhs", "dy", rates, L.N_STATES, hoisted_rows, on_constants
    )
    observe_lines, n_work_observe = _function_lines(
        "lane_observe", "out", observables, O.N_OBSERVABLES, hoisted_rows, on_constants
    )
    lines = [
        '"""Generated by marrowsim.engine.lane_rhs: do not edit."""',
        "import numpy as np",
        "",
        "from marrowsim.engine.lane_rhs import SIGNATURE",
        "from marrowsim.model.compiled import compiled_as",
        "from marrowsim.model.elementary import exp, log",
        "from marrowsim.model.erythroid import protected_fraction",
        "",
        "",
        *rhs_lines,
        "",
        "",
        *observe_lines,
        "",
        "",
        *derive_lines,
    ]
    return GeneratedSource(
        "\n".join(lines) + "\n", max(n_work, n_work_derive), n_work_observe, len(hoisted)
    )


def _function_lines(
    name: str,
    output: str,
    values: dict[int, Expr],
    n_rows: int,
    hoisted_rows: dict[int, int],
    elsewhere: frozenset[int] | set[int] = frozenset(),
) -> tuple[list[str], int]:
    """The lines of ``name(x, w, output)`` writing ``values`` (row: expression) into ``output``
    for ``LANES`` lanes, and the number of work rows.

    ``hoisted_rows``: the input row of each hoisted operation (by ``id``); ``elsewhere``:
    operations this function does not compute (those on constants alone, read from their rows
    when used). The operations are cut into loops of :data:`BLOCK`. Within a
    loop a value is a local variable; a value used by a later loop is also stored in the work
    array, a row per value."""
    operations = [
        node
        for node in walk(list(values.values()))
        if not node.is_leaf and id(node) not in elsewhere
    ]
    rows = _input_rows()
    block_of = _blocks(operations)
    n_blocks = max(block_of.values(), default=-1) + 1
    last_block = n_blocks  # the stores of the values come after every operation
    stored = {
        id(arg)
        for node in operations
        for arg in node.args
        if id(arg) in block_of and block_of[id(arg)] != block_of[id(node)]
    } | {id(node) for node in values.values() if id(node) in block_of}
    work = {key: n for n, key in enumerate(k for k in (id(o) for o in operations) if k in stored)}
    local = {id(node): f"v{n}" for n, node in enumerate(operations)}

    def ref(node: Expr, block: int) -> str:
        if id(node) in hoisted_rows:
            return f"x[{hoisted_rows[id(node)] * LANES} + l]"
        if node.op == "num":
            v = float(node.value)
            return repr(v) if math.isfinite(v) else ("np.inf" if v > 0 else "-np.inf")
        if node.op == "sym":
            if node.value not in rows:
                raise TraceError(f"the lane functions have no input for {node.value!r}")
            return f"x[{rows[node.value] * LANES} + l]"
        if block_of[id(node)] == block:
            return local[id(node)]
        return f"w[{work[id(node)] * LANES} + l]"

    blocks: list[list[str]] = [[] for _ in range(n_blocks + 1)]
    for node in operations:
        b = block_of[id(node)]
        blocks[b].append(f"{local[id(node)]} = {_expression(node, [ref(a, b) for a in node.args])}")
        if id(node) in work:
            blocks[b].append(f"w[{work[id(node)] * LANES} + l] = {local[id(node)]}")
    for i, node in values.items():
        blocks[last_block].append(f"{output}[{i * LANES} + l] = {ref(node, last_block)}")
    lines = [
        "@compiled_as(SIGNATURE)",
        f"def {name}(x, w, {output}):",
        f"    n = {output}.shape[0] // {max(n_rows, 1)}"
        f"  # = {LANES}, not a constant (marrowsim.engine.lane_rhs)",
    ]
    for block in blocks:
        if block:
            lines.append("    for l in range(n):")
            lines += ["        " + s for s in block]
    return lines, max(len(work), 1)


def _load(source: str) -> tuple[Callable, Callable, Callable, Path]:
    digest = hashlib.sha256(source.encode()).hexdigest()[:20]
    base = os.environ.get("NUMBA_CACHE_DIR") or str(Path.home() / ".cache" / "marrowsim")
    path = Path(base) / "marrowsim_lanes" / f"lanes_{digest}.py"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, source)
    name = f"marrowsim_lanes_{digest}"
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        sys.modules[name] = module
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.lane_rhs, module.lane_observe, module.lane_derive, path


def build(problem: Problem, p: int = 0, classes: tuple[int, ...] | None = None) -> LaneRhs:
    """The lane right-hand side and observables traced from patient ``p`` for ``classes``
    (default: every class a patient of ``problem`` can hold)."""
    classes = batch_classes(problem) if classes is None else classes
    rates, observables, decisions = _trace(problem, p, classes)
    source = generate_source(rates, observables)
    function, observe, derive, path = _load(source.text)
    return LaneRhs(
        function,
        source.n_work_rows,
        observe,
        source.n_work_observe_rows,
        derive,
        source.n_hoisted_rows,
        classes,
        tuple(decisions),
        path,
    )


# the operations of a decision over the batch's patients (lane_patients): the model's own
# functions, as export.symbolic._EVALUATE at trace time (numpy's exp and log differ from
# model/elementary.py's in the last place, which could decide a branch otherwise)
_VECTOR = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
    "^": np.power,
    "neg": np.negative,
    "exp": np.vectorize(elementary.exp, otypes=[float]),
    "ln": np.vectorize(elementary.log, otypes=[float]),
    "hill15": lambda x: x * np.sqrt(x),
    "abs": np.abs,
    "gt": np.greater,
    "lt": np.less,
    "geq": np.greater_equal,
    "leq": np.less_equal,
    "and": np.logical_and,
    "or": np.logical_or,
    "protected_fraction": np.vectorize(ERY.protected_fraction, otypes=[float]),
}


def _evaluate_all(node: Expr, values: dict[str, np.ndarray]) -> np.ndarray:
    if node.op == "num":
        return np.asarray(node.value)
    if node.op == "sym":
        return values[node.value]
    args = [_evaluate_all(a, values) for a in node.args]
    if node.op == "piecewise":
        return np.where(args[1], args[0], args[2])
    if node.op in ("and", "or"):
        return _VECTOR[node.op].reduce(np.broadcast_arrays(*args))
    return _VECTOR[node.op](*args)


def lane_patients(problem: Problem, lane_rhs: LaneRhs) -> np.ndarray:
    """Which patients of ``problem`` the generated function computes exactly: those that decide
    every traced branch on constants as the traced patient did and hold no other classes."""
    values = {name: problem.constants[:, i] for i, name in enumerate(K.CONSTANT_NAMES)}
    for k in range(L.N_CLASSES):
        for m in range(K.N_CLASS_MODIFIERS):
            values[modifier_id(k, m)] = problem.class_modifiers[:, k, m]
    ok = np.ones(problem.n_patients, dtype=bool)
    with np.errstate(all="ignore"):
        for node, decided in lane_rhs.decisions:
            ok &= np.broadcast_to(_evaluate_all(node, values), ok.shape).astype(bool) == decided
    outside = np.ones(L.N_CLASSES, dtype=bool)
    outside[list(lane_rhs.classes)] = False
    return ok & ~classes_held(problem)[:, outside].any(axis=1)
