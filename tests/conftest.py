"""Suite-wide test settings.

Hypothesis's wall-clock checks are switched off for the whole suite: its per-example deadline and
its ``too_slow`` health check time the machine, not the property. On a cold two-core CI machine
that is compiling numba kernels in the other test processes, a draw of plain strings once took
1.0 s and failed ``test_round_trip_property``. marrowsim's rule is that performance is measured by
benchmarks (``make bench``), not by timed tests; the properties themselves are unchanged.
"""

from hypothesis import HealthCheck, settings

settings.register_profile("marrowsim", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("marrowsim")
