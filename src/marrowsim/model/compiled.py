"""numba's options for every compiled function of the model and the engines, in one place.

``error_model="numpy"``: a floating-point division by zero gives ``inf`` or ``nan`` (IEEE 754)
instead of raising ``ZeroDivisionError``. With numba's default ("python") model every division
carries a test and a branch for that exception: removing them made the right-hand side ~13 %
and a 365-day transplant integration ~6 % faster, with bit-identical results (docs/cohorts.md §9).
It also makes a division by zero visible: the patient's state becomes non-finite and the integrator
stops that patient with ``STATUS_NOT_FINITE`` (its counts NaN; the others of the batch go on).
Under the default model the exception raised inside the engine's parallel loop was lost and the
patient came back "ok", with no steps and counts of zero (tests/test_engine_reference.py).

No reference counting (``_nrt=False``, :data:`compiled`): numba counts references to arrays with
atomic increments and decrements, and a compiled function increments every array argument on
entry and decrements it on exit. In the lane engine's per-lane helpers, called per lane and
step with up to 22 arrays, those atomic operations were ~19 % of a transplant integration
(docs/architecture.md §3). A function that allocates nothing and returns no array needs no
counts: the model's and the engines' inner functions are compiled without them. numba refuses to
compile an allocation there; a function that allocates is :data:`compiled_allocating`, and one
must never return an array (``tests/test_compiled.py`` checks every compiled signature).

``cache=True``: kernels are cached on disk (``marrowsim._numba_cache`` keys the directory).
"""

from __future__ import annotations

from numba import njit

compiled = njit(cache=True, error_model="numpy", _nrt=False)
"""Decorator of a compiled (nopython) model or engine function that works on arrays it is given:
it allocates none and returns none (see "No reference counting" above)."""

compiled_allocating = njit(cache=True, error_model="numpy")
"""Decorator of a compiled function that allocates arrays (numba's reference-counted runtime)."""

compiled_parallel = njit(parallel=True, cache=True, error_model="numpy", nogil=True)
"""Decorator of a compiled function whose ``prange`` loops run on numba's threads. It releases
the GIL while it runs, so that a Python thread can work meanwhile (``engine/memory.py`` maps the
result's pages in one). It may allocate."""


def compiled_as(signature, *, parallel: bool = False):
    """Decorator of a compiled function with an explicit numba ``signature``: needed where an
    argument is a compiled function passed by address (``types.FunctionType``), which numba caches
    only when the signature says so (``engine/lane_dopri.py``). A ``parallel`` one releases the GIL
    as :data:`compiled_parallel` does and may allocate; another is like :data:`compiled` (no
    reference counting, no allocation)."""
    return njit(
        signature, parallel=parallel, cache=True, error_model="numpy", nogil=parallel, _nrt=parallel
    )
