"""One measurement in a fresh process, so that its peak memory is its own (``ru_maxrss``).

    python benchmarks/measure.py engine --patients 10000 --days 365 --seed 1
    python benchmarks/measure.py lsoda --patients 5 --days 365 --seed 1 --tolerance 1e-8
    python benchmarks/measure.py roadrunner --patients 5 --days 365 --seed 1 --tolerance 1e-8

Prints one JSON object: wall seconds of the work (imports, compilation of numba functions and of
the SBML model excluded and reported apart), peak resident memory of the process, and the
resident memory before the work.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

SCENARIO = "allo-pbsc-mac"
SOLVE_BATCH = 1000  # the cohort runner's batch (marrowsim.cohort.chunk.SOLVE_BATCH)


def _status_mb(field: str) -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    """Peak resident memory of this process. VmHWM, not ru_maxrss: Linux carries the parent's
    ru_maxrss over fork and exec, so a child would report at least its parent's peak."""
    peak = _status_mb("VmHWM")
    return peak if peak == peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def problem(patients: int, days: int, seed: int):
    """``patients`` recipients of the built-in allo-pbsc-mac transplant, parameters from the
    priors (between-patient variability), ``days`` after day 0."""
    from marrowsim import default_parameters, load_scenario
    from marrowsim.compile import compile_problem, sample_patient_values

    parameters = default_parameters()
    scenarios = [load_scenario(SCENARIO, days=days)] * patients
    values = sample_patient_values(scenarios, parameters, seed=seed)
    return compile_problem(scenarios, parameters, values)


def engine(patients: int, days: int, seed: int) -> dict:
    """Compile and solve in batches of SOLVE_BATCH and reduce each batch to outcomes (what a
    cohort chunk does, without the files): memory stays at one batch."""
    from marrowsim import default_parameters, load_scenario
    from marrowsim.compile import compile_problem, sample_patient_values
    from marrowsim.engine.solve import solve
    from marrowsim.model.observables import OB
    from marrowsim.outcomes import OUTCOME_INPUTS, compute_batch_outcomes

    parameters = default_parameters()
    template = load_scenario(SCENARIO, days=days)
    solve(compile_problem([template], parameters))  # load the compiled engine
    before = _rss_mb()
    start = time.perf_counter()
    scenarios = [template] * patients
    values = sample_patient_values(scenarios, parameters, seed=seed)
    steps = failures = 0
    for first in range(0, patients, SOLVE_BATCH):
        sl = slice(first, min(first + SOLVE_BATCH, patients))
        batch = compile_problem(scenarios[sl], parameters, {k: v[sl] for k, v in values.items()})
        result = solve(batch)
        series = {name: result.observables[:, :, OB[name]] for name in OUTCOME_INPUTS}
        n = sl.stop - sl.start
        compute_batch_outcomes(
            result.days,
            series,
            graft_source=["peripheral_blood"] * n,
            donor_relation=["matched_sibling"] * n,
        )
        steps += int(result.n_steps.sum())
        failures += int((result.status != 0).sum())
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "steps": steps, "failures": failures, "rss_before_mb": before}


def lsoda(patients: int, days: int, seed: int, tolerance: float) -> dict:
    import numpy as np
    from baseline import solve_ivp_loop

    prob = problem(patients, days, seed)
    solve_ivp_loop(prob, np.arange(1), method="LSODA", rtol=tolerance, atol=tolerance)
    before = _rss_mb()
    start = time.perf_counter()
    solve_ivp_loop(prob, np.arange(patients), method="LSODA", rtol=tolerance, atol=tolerance)
    return {"seconds": time.perf_counter() - start, "rss_before_mb": before}


def roadrunner(patients: int, days: int, seed: int, tolerance: float) -> dict:
    from marrowsim.export import build_sbml
    from marrowsim.export.roadrunner import MorningRunner

    prob = problem(patients, days, seed)
    start = time.perf_counter()
    runner = MorningRunner(build_sbml(prob, 0), rtol=tolerance, atol=tolerance)
    load = time.perf_counter() - start
    before = _rss_mb()
    start = time.perf_counter()
    runner.observables(prob, range(patients))
    return {"seconds": time.perf_counter() - start, "load_seconds": load, "rss_before_mb": before}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("engine", "lsoda", "roadrunner"))
    parser.add_argument("--patients", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tolerance", type=float, default=1e-8)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    if args.what == "engine":
        out = engine(args.patients, args.days, args.seed)
    else:
        fn = lsoda if args.what == "lsoda" else roadrunner
        out = fn(args.patients, args.days, args.seed, args.tolerance)
    out["peak_rss_mb"] = _peak_mb()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
