"""Which registry parameters each compiled constant comes from, found by the compiler itself.

Most constants are derived by steady-state balance (``model/steady_state.py``) or set by the
transplant compiler (``k_hvg``, ``k_gvh``). Rather than keep a second, hand-written map, the patient
is compiled once more with each parameter nudged in turn (one batch of ``1 + P`` patients): a
constant that moves depends on that parameter, and one that equals a parameter's value and
depends on nothing else is a copy of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from marrowsim.compile import compile_problem
from marrowsim.errors import InputError
from marrowsim.model.constants import CONSTANT_NAMES
from marrowsim.parameters import ParameterSet
from marrowsim.scenario import Scenario

NUDGE = 1e-6  # relative change of each parameter


@dataclass(frozen=True)
class ConstantSource:
    """Registry parameters a constant depends on (``copy_of``: the one it equals)."""

    parameters: tuple[str, ...]
    copy_of: str | None = None


def constant_sources(scenario: Scenario, parameters: ParameterSet) -> dict[str, ConstantSource]:
    """For each constant of ``scenario``'s patient, the parameters it is computed from.

    Constants set from the patient's covariates only (weight, blood volume) have no parameter.
    Returns an empty mapping if a nudged patient cannot be compiled (a parameter at a
    feasibility boundary); the export then names no sources.
    """
    names = list(parameters)
    base = np.array([parameters[n].value for n in names])
    nudged = np.tile(base, (len(names) + 1, 1))
    for i in range(len(names)):
        nudged[i + 1, i] = base[i] * (1 + NUDGE) if base[i] != 0 else NUDGE
    values = {n: nudged[:, i] for i, n in enumerate(names)}
    try:
        constants = compile_problem([scenario] * (len(names) + 1), parameters, values).constants
    except InputError:
        return {}
    moved = constants[1:] != constants[0]  # (parameter, constant)
    out = {}
    for j, cname in enumerate(CONSTANT_NAMES):
        deps = tuple(names[i] for i in np.flatnonzero(moved[:, j]))
        copy = deps[0] if len(deps) == 1 and constants[0, j] == base[names.index(deps[0])] else None
        out[cname] = ConstantSource(deps, copy)
    return out
