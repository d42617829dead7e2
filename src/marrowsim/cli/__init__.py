"""Command-line interface: ``marrowsim COMMAND``.

Input errors (a :class:`marrowsim.errors.InputError`, a bad option) print one line on stderr and
exit with code 2; no traceback is shown for them.
"""

from __future__ import annotations

import sys

import click

# Command modules register themselves on ``app`` when imported.
from marrowsim.cli import clones as _clones  # noqa: F401
from marrowsim.cli import collect as _collect  # noqa: F401
from marrowsim.cli import hla as _hla  # noqa: F401
from marrowsim.cli import params as _params  # noqa: F401
from marrowsim.cli import protocol as _protocol  # noqa: F401
from marrowsim.cli import simulate as _simulate  # noqa: F401
from marrowsim.cli.app import app
from marrowsim.errors import DataNotFoundError, InputError, MarrowsimError

__all__ = ["app", "main"]


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"marrowsim: error: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``marrowsim`` script; returns (and exits with) the exit code."""
    try:
        rv = app(args=argv, prog_name="marrowsim", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except click.exceptions.NoArgsIsHelpError:
        code = 0
    except click.exceptions.UsageError as exc:
        code = _fail(" ".join(exc.format_message().split()), 2)
    except (click.exceptions.Abort, KeyboardInterrupt):
        code = _fail("interrupted", 130)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except (InputError, DataNotFoundError) as exc:
        code = _fail(" ".join(str(exc).split()), 2)
    except MarrowsimError as exc:
        code = _fail(" ".join(str(exc).split()), 1)
    if argv is None:
        sys.exit(code)
    return code
