"""The command line shared by the calibration scripts (``python -m …validation.calibrate_*``).

``--write`` stores the fitted values in the shipped parameter files (only their ``value =`` lines,
atomically, :func:`marrowsim.parameters.writer.write_parameter_values`); ``--report-only`` skips
the fit and prints the targets as the current parameters reproduce them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping

from marrowsim.parameters import default_parameters
from marrowsim.parameters.writer import write_parameter_values


def calibration_main(
    argv: list[str] | None,
    *,
    description: str,
    calibrate: Callable[[], dict[str, float]],
    files: Mapping[str, str],
    report: Callable[[], Mapping[str, object]] | None = None,
) -> None:
    """Parse the arguments, fit, optionally write, then print the report (if there is one)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--write", action="store_true", help="store the fitted values")
    if report is not None:
        parser.add_argument("--report-only", action="store_true", help="only evaluate the targets")
    args = parser.parse_args(argv)
    if not getattr(args, "report_only", False):
        fitted = calibrate()
        if args.write:
            write_parameter_values(fitted, files)
            default_parameters.cache_clear()
    if report is not None:
        for key, value in report().items():
            print(f"{key}: {value}")
