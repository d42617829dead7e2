"""Symbolic execution of the model's own compiled functions, for export.

The right-hand side, the observables and the events are numba functions written for numbers.
:func:`symbolic_twin` rebuilds such a function from its Python source with the same code object
but fresh globals: every compiled helper it calls is replaced by its own twin (recursively), and
``max``/``min`` (plus any helper listed in ``overrides``) by symbolic versions. Called with arrays
of :class:`Expr` instead of floats, the twin returns expressions of the model's own formulas, so an
export cannot drift from the engine by a re-derivation made by hand.

A branch on a value that depends on the state (``if x > 0.0:``) cannot be traced: the model writes
such branches as ``max``/``min``, and any other raises :class:`TraceError` naming the line.

Expressions are hash-consed per :class:`Context` (equal sub-expressions are one object), which is
what lets the exporter name shared intermediate values (``export/names.py``).
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from numba.core.registry import CPUDispatcher

from marrowsim.model import elementary, erythroid

BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow"}
COMPARISONS = {"gt": ">", "lt": "<", "geq": ">=", "leq": "<="}


class TraceError(RuntimeError):
    """A model function does something that has no symbolic meaning (a branch on the state)."""


class Expr:
    """A node of an expression DAG: a symbol, a number or an operation on other nodes."""

    __slots__ = ("__weakref__", "args", "ctx", "op", "value")

    def __init__(self, ctx: Context, op: str, args: tuple[Expr, ...], value: Any) -> None:
        self.ctx, self.op, self.args, self.value = ctx, op, args, value

    @property
    def is_leaf(self) -> bool:
        return self.op in ("sym", "num")

    def _wrap(self, other: Any) -> Expr:
        return other if isinstance(other, Expr) else self.ctx.num(other)

    def __add__(self, other: Any) -> Expr:
        return self.ctx.op("+", self, self._wrap(other))

    def __radd__(self, other: Any) -> Expr:
        return self.ctx.op("+", self._wrap(other), self)

    def __sub__(self, other: Any) -> Expr:
        return self.ctx.op("-", self, self._wrap(other))

    def __rsub__(self, other: Any) -> Expr:
        return self.ctx.op("-", self._wrap(other), self)

    def __mul__(self, other: Any) -> Expr:
        return self.ctx.op("*", self, self._wrap(other))

    def __rmul__(self, other: Any) -> Expr:
        return self.ctx.op("*", self._wrap(other), self)

    def __truediv__(self, other: Any) -> Expr:
        return self.ctx.op("/", self, self._wrap(other))

    def __rtruediv__(self, other: Any) -> Expr:
        return self.ctx.op("/", self._wrap(other), self)

    def __pow__(self, other: Any) -> Expr:
        return self.ctx.op("^", self, self._wrap(other))

    def __rpow__(self, other: Any) -> Expr:
        return self.ctx.op("^", self._wrap(other), self)

    def __neg__(self) -> Expr:
        return self.ctx.op("neg", self)

    def __pos__(self) -> Expr:
        return self

    def __gt__(self, other: Any) -> Expr:
        return self.ctx.op("gt", self, self._wrap(other))

    def __lt__(self, other: Any) -> Expr:
        return self.ctx.op("lt", self, self._wrap(other))

    def __ge__(self, other: Any) -> Expr:
        return self.ctx.op("geq", self, self._wrap(other))

    def __le__(self, other: Any) -> Expr:
        return self.ctx.op("leq", self, self._wrap(other))

    def exp(self) -> Expr:  # numpy calls this for np.exp(expr)
        return self.ctx.op("exp", self)

    def ln(self) -> Expr:  # the twin of model.elementary.log
        return self.ctx.op("ln", self)

    def __abs__(self) -> Expr:
        return self.ctx.op("abs", self)

    def __bool__(self) -> bool:
        """A branch on constants only (a feature switched off by a zero rate) is decided by this
        patient's values; a branch on the state cannot be traced."""
        value = self.ctx.evaluate(self)
        if value is not None:
            return bool(value)
        frame = sys._getframe(1)
        raise TraceError(
            f"a branch on a state-dependent value at {frame.f_code.co_filename}:{frame.f_lineno} "
            "cannot be exported: write it with max()/min() (see marrowsim.export.symbolic)"
        )

    def __float__(self) -> float:
        if self.op == "num":
            return float(self.value)
        raise TraceError(f"symbolic value {self.ctx.infix(self)} used as a number")

    __hash__ = object.__hash__  # identity: equal structure is already one object


class Parameter(Expr):
    """A symbol with a numeric value: ``int()`` gives the value (a structural code such as a
    clone class or a drug), arithmetic gives the symbol (a dose that becomes an SBML parameter).
    Records whether arithmetic used it."""

    __slots__ = ("number", "used")

    def __init__(self, ctx: Context, name: str, number: float) -> None:
        super().__init__(ctx, "sym", (), name)
        self.number, self.used = number, False

    def _as_symbol(self) -> Expr:
        self.used = True
        return self.ctx.sym(self.value)

    def __int__(self) -> int:
        return int(self.number)

    __index__ = __int__

    def __float__(self) -> float:
        return float(self.number)


for _name in (
    "__add__",
    "__radd__",
    "__sub__",
    "__rsub__",
    "__mul__",
    "__rmul__",
    "__truediv__",
    "__rtruediv__",
    "__pow__",
    "__rpow__",
    "__neg__",
    "__gt__",
    "__lt__",
    "__ge__",
    "__le__",
    "exp",
    "ln",
    "__abs__",
):

    def _delegate(self: Parameter, *args: Any, _name: str = _name) -> Any:
        return getattr(self._as_symbol(), _name)(*args)

    setattr(Parameter, _name, _delegate)


class Context:
    """Owner of one expression DAG: hash-consing table, numbers and symbols."""

    def __init__(self, values: Mapping[str, float] | None = None) -> None:
        self._table: dict[tuple, Expr] = {}
        self.values = dict(values or {})  # numbers of the symbols that are constants

    def evaluate(self, node: Expr) -> Any:
        """The number (or truth value) of ``node`` if every symbol in it has a value, else None."""
        return evaluate(node, self.values)

    def _intern(self, op: str, args: tuple[Expr, ...], value: Any = None) -> Expr:
        key = (op, tuple(id(a) for a in args), value)
        node = self._table.get(key)
        if node is None:
            node = self._table[key] = Expr(self, op, args, value)
        return node

    def num(self, x: Any) -> Expr:
        if isinstance(x, Expr):
            return x
        x = float(x)
        return self._intern("num", (), 0.0 if x == 0 else x)  # one zero, whatever its sign

    def sym(self, name: str) -> Expr:
        return self._intern("sym", (), name)

    def parameter(self, name: str, number: float) -> Parameter:
        return Parameter(self, name, number)

    def op(self, op: str, *args: Expr) -> Expr:
        args = tuple(a._as_symbol() if isinstance(a, Parameter) else a for a in args)
        folded = _fold(self, op, args)
        return folded if folded is not None else self._intern(op, args)

    def piecewise(self, then: Any, condition: Any, otherwise: Any) -> Any:
        """``then`` where ``condition`` holds, else ``otherwise`` (plain values pass through)."""
        if isinstance(condition, bool):
            return then if condition else otherwise
        then, otherwise = self.num(then), self.num(otherwise)
        if then is otherwise:
            return then
        return self.op("piecewise", then, condition, otherwise)

    def logical(self, op: str, *conditions: Any) -> Any:
        """``and``/``or`` of conditions; Python booleans fold away."""
        symbolic = [c for c in conditions if not isinstance(c, bool)]
        plain = [c for c in conditions if isinstance(c, bool)]
        if op == "and" and not all(plain):
            return False
        if op == "or" and any(plain):
            return True
        if not symbolic:
            return op == "and"
        return symbolic[0] if len(symbolic) == 1 else self.op(op, *symbolic)

    def infix(self, node: Any, names: Mapping[Expr, str] | None = None) -> str:
        """SBML Level 3 infix text of ``node``; nodes in ``names`` are written as their name."""
        return _infix(self.num(node), names or {}, top=True)


def evaluate(node: Any, values: Mapping[str, float]) -> Any:
    """The number (or truth value) of ``node`` with the symbols' ``values``; None if a symbol in
    it has none. Plain numbers pass through."""
    if not isinstance(node, Expr):
        return node
    if node.op == "num":
        return node.value
    if node.op == "sym":
        return values.get(node.value)
    args = [evaluate(a, values) for a in node.args]
    if any(a is None for a in args):
        return None
    if node.op == "piecewise":
        return args[0] if args[1] else args[2]
    return _EVALUATE[node.op](*args)


def _fold(ctx: Context, op: str, args: tuple[Expr, ...]) -> Expr | None:
    """Constant folding and the identities x+0, x-0, 0-x, x*1, x*0, x/1, 0/x, x^1, --x."""
    values = [a.value if a.op == "num" else None for a in args]
    if op in COMPARISONS and None not in values:
        a, b = values
        return {"gt": a > b, "lt": a < b, "geq": a >= b, "leq": a <= b}[op]  # type: ignore[return-value]
    if op in BINARY and None not in values:
        a, b = values
        result = {
            "+": lambda: a + b,
            "-": lambda: a - b,
            "*": lambda: a * b,
            "/": lambda: a / b,
            "^": lambda: a**b,
        }[op]()
        return ctx.num(result)
    if op == "neg":
        if values[0] is not None:
            return ctx.num(-values[0])
        if args[0].op == "neg":
            return args[0].args[0]
        return None
    if op in ("exp", "ln") and values[0] is not None:
        return ctx.num(_EVALUATE[op](values[0]))
    if op == "abs" and values[0] is not None:
        return ctx.num(abs(values[0]))
    if op not in BINARY:
        return None
    a, b = values
    x, y = args
    if op == "+":
        return y if a == 0 else x if b == 0 else None
    if op == "-":
        return x if b == 0 else ctx.op("neg", y) if a == 0 else None
    if op == "*":
        return ctx.num(0.0) if 0 in (a, b) else y if a == 1 else x if b == 1 else None
    if op == "/":
        return ctx.num(0.0) if a == 0 else x if b == 1 else None
    return x if b == 1 else None  # "^"


_EVALUATE = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "^": lambda a, b: a**b,
    "neg": lambda a: -a,
    "exp": lambda a: float(elementary.exp(a)),  # the compiled model's own: the same bits
    "ln": lambda a: float(elementary.log(a)),
    "hill15": lambda a: a * math.sqrt(a),  # rhs.hill_power's fast path (engine/lane_rhs.py)
    "abs": abs,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "geq": lambda a, b: a >= b,
    "leq": lambda a, b: a <= b,
    "and": lambda *a: all(a),
    "or": lambda *a: any(a),
    # the lane functions' call of a function of constants (engine/lane_rhs.py)
    "protected_fraction": lambda *a: float(erythroid.protected_fraction(*a)),
}


def _infix(node: Expr, names: Mapping[Expr, str], top: bool = False) -> str:
    if not top and node in names:
        return names[node]
    if node.op == "num":
        v = node.value
        if math.isinf(v):
            return "INF" if v > 0 else "(-INF)"
        text = repr(v)
        return f"({text})" if v < 0 else text
    if node.op == "sym":
        return node.value
    parts = [_infix(a, names) for a in node.args]
    if node.op in BINARY:
        return f"({parts[0]} {node.op} {parts[1]})"
    if node.op == "neg":
        return f"(-{parts[0]})"
    if node.op in COMPARISONS:
        return f"({parts[0]} {COMPARISONS[node.op]} {parts[1]})"
    if node.op in ("and", "or"):
        return "(" + (" && " if node.op == "and" else " || ").join(parts) + ")"
    return f"{node.op}({', '.join(parts)})"  # exp, abs, piecewise


def walk(roots: Iterable[Expr]) -> list[Expr]:
    """Every node reachable from ``roots``, children before parents (each once)."""
    seen: set[int] = set()
    order: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        stack.extend((a, False) for a in node.args)
    return order


def symbols(node: Expr) -> set[str]:
    """Names of the symbols ``node`` depends on."""
    return {n.value for n in walk([node]) if n.op == "sym"}


# --- symbolic twins of compiled functions ------------------------------------------------------


def _symbolic_exp(x: Any) -> Any:
    return x.exp() if isinstance(x, Expr) else float(elementary.exp(x))


def _symbolic_log(x: Any) -> Any:
    return x.ln() if isinstance(x, Expr) else float(elementary.log(x))


def _symbolic_max(*args: Any) -> Any:
    return _minmax(args, bigger=True)


def _symbolic_min(*args: Any) -> Any:
    return _minmax(args, bigger=False)


def _minmax(args: tuple, bigger: bool) -> Any:
    """Python's ``max``/``min`` of two values: the first unless the second is strictly beyond."""
    a, b = args
    exprs = [x for x in (a, b) if isinstance(x, Expr)]
    if not exprs:
        return max(a, b) if bigger else min(a, b)
    ctx = exprs[0].ctx
    a, b = ctx.num(a), ctx.num(b)
    return ctx.piecewise(b, b > a if bigger else b < a, a)


class Twins(dict):
    """Symbolic twins by name (``twins["rhs"](...)``), and the code objects of every twin made."""

    codes: set[types.CodeType]


def symbolic_twins(
    functions: Mapping[str, Callable], overrides: Mapping[Any, Callable] | None = None
) -> Twins:
    """Python versions of (numba) ``functions`` whose compiled callees are twins too.

    ``overrides`` maps compiled helpers (or global names) to replacements; ``max`` and ``min``
    are always replaced by symbolic versions.
    """
    table: dict[Any, Callable] = {
        "max": _symbolic_max,
        "min": _symbolic_min,
        elementary.exp: _symbolic_exp,
        elementary.log: _symbolic_log,
    }
    table.update(overrides or {})
    memo: dict[int, types.FunctionType] = {}
    twins = Twins({name: _twin(f, table, memo) for name, f in functions.items()})
    twins.codes = {t.__code__ for t in memo.values() if isinstance(t, types.FunctionType)}
    return twins


def _twin(function: Callable, table: Mapping[Any, Callable], memo: dict[int, Any]) -> Any:
    if id(function) in memo:
        return memo[id(function)]
    py = function.py_func if isinstance(function, CPUDispatcher) else function
    namespace = dict(py.__globals__)
    twin = types.FunctionType(py.__code__, namespace, py.__name__, py.__defaults__, py.__closure__)
    memo[id(function)] = twin
    for name, value in list(namespace.items()):
        if name in table:
            namespace[name] = table[name]
        elif isinstance(value, CPUDispatcher):
            namespace[name] = table.get(value) or _twin(value, table, memo)  # type: ignore[call-overload]
    for name in ("max", "min"):
        namespace[name] = table[name]
    return twin
