"""The stochastic clonal engine: ``simulate_clones(scenario, runs=..., seed=...)``.

Per-clone stochastic dynamics of the HSC and the three MPP stages, in cells (per-kg state x
weight), with the rates of the deterministic model (:mod:`marrowsim.model.regulation`). Hybrid
design: the blood counts that set the MPP demand gain come from the deterministic run of the same
scenario (recorded 8 times a day and on both sides of jumps, interpolated linearly in time; see
``engine/driving.py``), because the downstream pools hold 10^10–10^12 cells whose noise is
negligible; the niche occupancy comes from the stochastic HSCs themselves. Methods, reactions
and limits: ``docs/stochastic.md``.

>>> from marrowsim.engine.stochastic import simulate_clones
>>> result = simulate_clones("allo-pbsc-mac", runs=4, seed=1, days=20)  # doctest: +SKIP
>>> result.summary()  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import math
import operator
import warnings
from pathlib import Path

import numpy as np

from marrowsim.engine.clonal_kernel import METHOD_AUTO, METHOD_SSA, METHOD_TAU, simulate_runs
from marrowsim.engine.clonal_observables import (
    CLONAL_OBSERVABLE_NAMES,
    N_CLONAL_OBSERVABLES,
    Q_HSC_FRACTION,
    Q_OUTPUT_FRACTION,
)
from marrowsim.engine.clonal_result import ClonalResult
from marrowsim.engine.clonal_steps import N_TRACKED
from marrowsim.engine.events import EV_ADD_AUX, EV_ADD_CELLS, EV_MOVE_CELLS
from marrowsim.engine.problem import Problem
from marrowsim.errors import InputError, SolverError, lookup
from marrowsim.model import constants as K
from marrowsim.model import layout as L
from marrowsim.parameters import ParameterSet, default_parameters
from marrowsim.scenario import Scenario

METHODS = {"auto": METHOD_AUTO, "ssa": METHOD_SSA, "tau": METHOD_TAU}
DEFAULT_EPSILON = 0.03  # tau-leaping error control, the value Cao, Gillespie & Petzold 2006 use
MAX_CLONES = 2_000_000  # clone slots per run; beyond this, ask for barcoded groups
MAX_CLONE_BYTES = 2e9  # final clones kept for all runs


def simulate_clones(
    source: Scenario | str | Path | Problem,
    *,
    runs: int = 20,
    seed: int | None = None,
    days: int | None = None,
    method: str = "auto",
    parameters: ParameterSet | None = None,
    detection_threshold: float | None = None,
    barcode_limit: int | float | None = None,
    epsilon: float = DEFAULT_EPSILON,
    keep_clones: bool = True,
) -> ClonalResult:
    """Simulate the clones of one patient ``runs`` times; returns daily clone observables.

    ``source`` is a scenario (object, file or built-in name) or a compiled one-patient
    :class:`~marrowsim.engine.problem.Problem`. ``seed`` defaults to the scenario's seed (0 for a
    problem); run ``i`` uses the ``i``-th child of ``numpy.random.SeedSequence(seed)``, so a run
    does not depend on how many runs are asked for. ``days`` is the last simulated day.
    ``method``: ``"ssa"`` (exact Gillespie direct method), ``"tau"`` (tau-leaping clone by clone,
    exact for critical reactions and small clones) or ``"auto"`` (exact while few reactions are
    expected, tau-leaping otherwise). ``detection_threshold`` (fraction of the MPP output) and
    ``barcode_limit`` (most clones one seeding creates; above it, cells share barcoded groups;
    ``math.inf`` makes every cell its own clone) default to the parameter set's
    ``clone_detection_threshold`` and ``clone_barcode_limit``. ``epsilon`` bounds the relative
    change of any count within one leap. ``keep_clones=False`` drops the final cells of every
    clone (``final_counts``), which take 40 bytes per clone and run.
    """
    runs = _positive_int("runs", runs)
    if seed is not None:
        seed = _seed(seed)
    if days is not None:
        days = _positive_int("days", days)
    code = lookup("stochastic method", method, METHODS, case_insensitive=False)
    if not 0.0 < float(epsilon) < 1.0:
        raise InputError(f"epsilon must be in (0, 1), got {epsilon!r}")
    ps = parameters if parameters is not None else default_parameters()
    threshold = _threshold(detection_threshold, ps)
    limit = _barcode_limit(barcode_limit, ps)
    problem, name, default_seed = _problem(source, days, ps)
    seed = default_seed if seed is None else seed
    _check_supported(problem)

    det, psi_daily = _deterministic_run(problem, name)
    times, psi = _driving_signal(problem, name)
    c, cm = problem.constants[0], problem.class_modifiers[0]
    y0_cells = problem.y0[0, : L.N_CELL_STATES].reshape(L.N_CLASSES, L.N_COMPARTMENTS)
    y0_cells = np.ascontiguousarray(y0_cells[:, :N_TRACKED] * c[K.K_WEIGHT])
    n_events = int(problem.n_events[0])
    events = np.ascontiguousarray(problem.events[0, :n_events])
    slots = _clone_slots(y0_cells, events, c[K.K_WEIGHT], limit)
    n_clones = int(slots[:, 1].sum())
    if n_clones > MAX_CLONES:
        raise InputError(
            f"{n_clones} clones per run exceed {MAX_CLONES}; use a smaller barcode_limit "
            f"(got {barcode_limit!r})"
        )
    run_seeds = np.array(
        [s.generate_state(1, dtype=np.uint32)[0] for s in np.random.SeedSequence(seed).spawn(runs)],
        dtype=np.int64,
    )
    obs = np.zeros((runs, problem.n_days + 1, N_CLONAL_OBSERVABLES))
    kept = n_clones if keep_clones else 0
    if runs * kept * 40 > MAX_CLONE_BYTES:
        raise InputError(
            f"keeping {n_clones} clones of {runs} runs needs {runs * kept * 40 / 1e9:.1f} GB; "
            "pass keep_clones=False, fewer runs or a smaller barcode_limit"
        )
    counts = np.zeros((runs, kept, N_TRACKED), dtype=np.int64)
    klass = np.full((runs, kept), -1, dtype=np.int64)
    simulate_runs(
        run_seeds, code, y0_cells, c, cm, problem.t_start, problem.n_days, events, n_events,
        slots, times, psi, float(epsilon), threshold, n_clones, obs, counts, klass,
    )  # fmt: skip
    return ClonalResult(
        scenario_name=name,
        seed=seed,
        method=method,
        days=problem.days,
        data=_labelled(obs, _classes_present(slots, events)),
        run_seeds=run_seeds,
        clone_class=klass,
        final_counts=counts,
        demand_signal=psi_daily,
        deterministic=det,
        metadata={
            "weight_kg": float(c[K.K_WEIGHT]),
            "detection_threshold": threshold,
            "barcode_limit": limit,
            "epsilon": float(epsilon),
            "clone_slots": n_clones,
            "compartments": L.COMPARTMENT_NAMES[:N_TRACKED],
        },
    )


def _positive_int(option: str, value: object) -> int:
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InputError(f"{option} must be a positive integer, got {value!r}") from None
    if isinstance(value, bool) or number <= 0:
        raise InputError(f"{option} must be a positive integer, got {value!r}")
    return number


def _seed(value: object) -> int:
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InputError(f"seed must be a non-negative integer, got {value!r}") from None
    if isinstance(value, bool) or number < 0:
        raise InputError(f"seed must be a non-negative integer, got {value!r}")
    return number


def _threshold(value: float | None, ps: ParameterSet) -> float:
    v = ps.value("clone_detection_threshold") if value is None else float(value)
    if not 0.0 < v <= 1.0:
        raise InputError(f"detection_threshold must be in (0, 1], got {value!r}")
    return v


def _barcode_limit(value: int | float | None, ps: ParameterSet) -> float:
    v = ps.value("clone_barcode_limit") if value is None else value
    if isinstance(v, bool) or not (v == math.inf or (float(v).is_integer() and v >= 1)):
        raise InputError(f"barcode_limit must be a positive integer or math.inf, got {value!r}")
    return float(v)


def _problem(source, days: int | None, ps: ParameterSet) -> tuple[Problem, str, int]:
    if isinstance(source, Problem):
        if source.n_patients != 1:
            raise InputError(f"the stochastic engine takes one patient, got {source.n_patients}")
        if days is not None:
            source = dataclasses.replace(source, n_days=days - source.t_start)
        return source, "problem", 0
    from marrowsim.compile import compile_problem
    from marrowsim.scenario import load_scenario

    scenario = source if isinstance(source, Scenario) else load_scenario(source)
    if days is not None:
        scenario = scenario.with_overrides(days=days)
    return compile_problem([scenario], ps), scenario.name, scenario.seed


def _check_supported(problem: Problem) -> None:
    events = problem.events[0, : int(problem.n_events[0])]
    for ev in events:
        if int(ev[1]) == EV_MOVE_CELLS and 0 <= int(ev[4]) < N_TRACKED:
            raise InputError(
                f"event on day {ev[0]:g} moves only the {L.COMPARTMENT_NAMES[int(ev[4])]} cells "
                "between classes; the stochastic engine moves whole clones only"
            )
    c = problem.constants[0]
    atg = any(int(ev[1]) == EV_ADD_AUX and int(ev[2]) == L.AUX_ATG for ev in events)
    if c[K.K_K_HVG] > 0 or c[K.K_K_GVH] > 0 or atg:
        warnings.warn(
            "alloimmune and ATG kill of stem and progenitor cells is not in the stochastic engine "
            "yet: clones of the attacked class (donor under host-versus-graft, host under "
            "graft-versus-host) survive more than in the deterministic model",
            stacklevel=3,
        )


def _deterministic_run(problem: Problem, name: str):
    """Daily observables of the deterministic run (for comparison) and its morning psi."""
    from marrowsim.engine.solve import solve
    from marrowsim.model.observables import OB

    result = solve(problem)
    if int(result.status[0]) != 0:
        raise SolverError(f"{name}: deterministic run failed ({result.status_messages()[0]})")
    o = result.observables[0]
    psi = o[:, OB["demand_psi"]].copy()
    keep = ("hsc", "anc", "hb", "platelets", *(f"hsc_{k}" for k in L.CLASS_NAMES[:5]))
    return {k: o[:, OB[k]].copy() for k in keep}, psi


def _driving_signal(problem: Problem, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The demand signal psi of the deterministic run, sub-daily and on both sides of jumps."""
    from marrowsim.engine.driving import psi_trajectory

    times, psi, status = psi_trajectory(problem)
    if status != 0:
        raise SolverError(f"{name}: deterministic run for the driving signal failed")
    return times, psi


def _clone_slots(y0_cells: np.ndarray, events: np.ndarray, weight: float, limit: float):
    """(first slot, number of slots) for each initial class, then for each event."""
    sizes = []
    for k in range(L.N_CLASSES):
        if np.any(y0_cells[k] > 0):
            sizes.append(max(1, int(min(math.ceil(y0_cells[k, 0]), limit))))
        else:
            sizes.append(0)
    for ev in events:
        if int(ev[1]) == EV_ADD_CELLS and int(ev[3]) < N_TRACKED and ev[4] > 0:
            mean = ev[4] * weight
            most = math.ceil(mean + 8.0 * math.sqrt(mean) + 8.0)  # Poisson tail below 1e-12
            sizes.append(int(min(most, limit)))
        else:
            sizes.append(0)
    n = np.array(sizes, dtype=np.int64)
    return np.stack([np.concatenate([[0], np.cumsum(n)[:-1]]), n], axis=1)


def _classes_present(slots: np.ndarray, events: np.ndarray) -> list[int]:
    present = {k for k in range(L.N_CLASSES) if slots[k, 1] > 0}
    for e, ev in enumerate(events):
        if slots[L.N_CLASSES + e, 1] > 0:
            present.add(int(ev[2]))
        if int(ev[1]) == EV_MOVE_CELLS and int(ev[2]) in present:
            present.add(int(ev[3]))
    return sorted(present)


def _labelled(obs: np.ndarray, classes: list[int]) -> dict[str, np.ndarray]:
    keep = [i for i in range(Q_HSC_FRACTION)]
    keep += [Q_HSC_FRACTION + k for k in classes] + [Q_OUTPUT_FRACTION + k for k in classes]
    return {CLONAL_OBSERVABLE_NAMES[i]: obs[:, :, i] for i in keep}
