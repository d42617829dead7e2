"""marrowsim: mechanistic simulation of hematopoietic stem cell transplantation.

Research and education software, not a medical device.
"""

from marrowsim import _numba_cache

_numba_cache.configure()

from marrowsim.errors import InputError, MarrowsimError  # noqa: E402
from marrowsim.parameters import ParameterSet, default_parameters  # noqa: E402
from marrowsim.scenario import Scenario, load_scenario  # noqa: E402
from marrowsim.simulation import Simulation  # noqa: E402
from marrowsim.solution import Solution  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "MarrowsimError",
    "ParameterSet",
    "Scenario",
    "Simulation",
    "Solution",
    "__version__",
    "default_parameters",
    "load_scenario",
]
