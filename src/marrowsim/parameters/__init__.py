"""Parameters with units and provenance; one TOML file per source."""

from marrowsim.parameters.parameter import Parameter, ParameterSet, Prior
from marrowsim.parameters.registry import default_parameters, parameter_files

__all__ = ["Parameter", "ParameterSet", "Prior", "default_parameters", "parameter_files"]
