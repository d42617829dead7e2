"""marrowsim: mechanistic simulation of hematopoietic stem cell transplantation.

Research and education software, not a medical device.
"""

from marrowsim.errors import InputError, MarrowsimError
from marrowsim.parameters import ParameterSet, default_parameters

__version__ = "0.1.0"

__all__ = ["InputError", "MarrowsimError", "ParameterSet", "__version__", "default_parameters"]
