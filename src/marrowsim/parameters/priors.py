"""Draw per-patient parameter values from the priors in the registry (between-patient variability).

Each :class:`~marrowsim.parameters.Prior` describes how a parameter varies between people around
its cited value. A draw outside the parameter's ``bounds`` is redrawn (the prior is truncated to
the bounds, never clipped onto them). Draws are reproducible from ``seed``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from marrowsim.errors import InputError
from marrowsim.parameters.parameter import Parameter, ParameterSet

MAX_REDRAWS = 1000


def varying_parameters(parameters: ParameterSet) -> list[str]:
    """Names of the parameters whose prior is not ``fixed``, sorted."""
    return sorted(n for n, p in parameters.items() if p.prior.distribution != "fixed")


def _draw(p: Parameter, n: int, rng: np.random.Generator) -> np.ndarray:
    prior, value = p.prior, p.value
    kind = prior.distribution
    if kind == "fixed":
        return np.full(n, value)
    if kind == "lognormal":
        if value <= 0:
            raise InputError(f"parameter {p.name!r}: a lognormal prior needs a positive value")
        sigma = np.sqrt(np.log1p(prior.cv**2))
        return value * np.exp(sigma * rng.standard_normal(n))
    if kind == "normal":
        return value + prior.sd * rng.standard_normal(n)
    if kind == "uniform":
        if p.bounds is None:
            raise InputError(f"parameter {p.name!r}: a uniform prior needs bounds")
        return rng.uniform(p.bounds[0], p.bounds[1], n)
    if kind == "logitnormal":
        if not 0 < value < 1:
            raise InputError(f"parameter {p.name!r}: a logit-normal prior needs a value in (0, 1)")
        logit = np.log(value / (1 - value)) + prior.sd * rng.standard_normal(n)
        return 1.0 / (1.0 + np.exp(-logit))
    raise InputError(f"parameter {p.name!r}: unknown prior {kind!r}")  # guarded by Prior


def draw_parameter(p: Parameter, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` values of one parameter from its prior, truncated to its bounds."""
    out = _draw(p, n, rng)
    if p.bounds is None:
        return out
    lo, hi = p.bounds
    for _ in range(MAX_REDRAWS):
        outside = (out < lo) | (out > hi)
        if not outside.any():
            return out
        out[outside] = _draw(p, int(outside.sum()), rng)
    raise InputError(
        f"parameter {p.name!r}: its prior puts almost no mass inside bounds [{lo}, {hi}]"
    )


def sample_values(
    parameters: ParameterSet,
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    names: Iterable[str] | None = None,
) -> dict[str, np.ndarray]:
    """Per-patient values (arrays of length ``n``) of the parameters that vary between people.

    ``names`` restricts the draw to some parameters (default: every non-fixed prior). Parameters
    are drawn independently, in sorted order, so a seed always gives the same values.
    """
    if n < 1:
        raise InputError(f"number of patients must be at least 1, got {n}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    chosen = varying_parameters(parameters) if names is None else sorted(names)
    return {name: draw_parameter(parameters[name], n, rng) for name in chosen}
