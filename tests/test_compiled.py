"""model/compiled.py: what may be compiled without numba's reference counting.

A function compiled with ``compiled`` (``_nrt=False``) counts no references, so it must not
return an array: a caller that counts them would release a reference it never got. numba refuses
an allocation there when it compiles; a returned array it does not, so this test compiles the
engines afresh (a scalar and a lane solve of transplant patients) in a process with an
empty cache, where every callee's signatures are recorded, and looks at their return types.
Slow (~1-2 min of compilation): ``make test-slow``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

_PROBE = r"""
import importlib, json, pkgutil
from numba import types
from numba.core.registry import CPUDispatcher
import marrowsim.engine, marrowsim.model
from marrowsim import default_parameters, load_scenario
from marrowsim.compile import compile_problem, sample_patient_values
from marrowsim.engine.solve import solve

def holds_array(t):
    if isinstance(t, types.Array):
        return True
    if isinstance(t, types.BaseTuple):
        return any(holds_array(m) for m in t.types)
    return isinstance(t, types.Optional) and holds_array(t.type)

scenarios = [load_scenario("allo-pbsc-mac", days=20)] * 64
parameters = default_parameters()
values = sample_patient_values(scenarios, parameters, seed=3)
problem = compile_problem(scenarios, parameters, values)
solve(problem, lanes=True)
solve(problem.subset(slice(0, 4)), lanes=False)
checked, returning = 0, []
for package in (marrowsim.model, marrowsim.engine):
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(package.__name__ + "." + info.name)
        for name, value in vars(module).items():
            if not isinstance(value, CPUDispatcher) or value.targetoptions.get("_nrt", True):
                continue
            for signature in value.nopython_signatures:
                checked += 1
                if holds_array(signature.return_type):
                    returning.append(f"{module.__name__}.{name}{signature}")
print(json.dumps({"checked": checked, "returning": returning}))
"""


@pytest.mark.slow
def test_functions_without_reference_counting_return_no_arrays(tmp_path):
    env = {**os.environ, "MARROWSIM_CACHE_DIR": str(tmp_path)}
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["returning"] == []
    assert report["checked"] >= 30  # the engines' helpers were compiled and looked at
