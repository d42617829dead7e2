"""Command-line interface: ``marrowsim COMMAND``.

Input errors (a :class:`marrowsim.errors.InputError`, a bad option) print one line on stderr and
exit with code 2; no traceback is shown for them.
"""

from __future__ import annotations

import importlib
import sys

import typer

# Command modules register themselves on ``app`` when imported.
from marrowsim.cli import clones as _clones  # noqa: F401
from marrowsim.cli import cohort as _cohort  # noqa: F401
from marrowsim.cli import collect as _collect  # noqa: F401
from marrowsim.cli import export as _export  # noqa: F401
from marrowsim.cli import hla as _hla  # noqa: F401
from marrowsim.cli import params as _params  # noqa: F401
from marrowsim.cli import protocol as _protocol  # noqa: F401
from marrowsim.cli import simulate as _simulate  # noqa: F401
from marrowsim.cli import validate as _validate  # noqa: F401
from marrowsim.cli.app import app
from marrowsim.errors import DataNotFoundError, InputError, MarrowsimError

__all__ = ["app", "main"]


def _click_exceptions(name: str) -> tuple[type[BaseException], ...]:
    """The exception class ``name`` of the click that typer runs on (typer >= 0.2x vendors its
    own copy as ``typer._click``; older typer uses click itself): both where present."""
    found = []
    for module in ("typer._click.exceptions", "click.exceptions"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


_NO_ARGS = _click_exceptions("NoArgsIsHelpError")
_USAGE = _click_exceptions("UsageError")
_ABORT = (typer.Abort, KeyboardInterrupt, *_click_exceptions("Abort"))
_EXIT = (typer.Exit, *_click_exceptions("Exit"))


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"marrowsim: error: {message}\n")
    return code


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as one clear line on stderr (no source path or code line)."""
    sys.stderr.write(f"marrowsim: warning: {' '.join(str(message).split())}\n")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``marrowsim`` script; returns (and exits with) the exit code."""
    import warnings

    warnings.showwarning = _show_warning
    try:
        rv = app(args=argv, prog_name="marrowsim", standalone_mode=False)
        code = rv if isinstance(rv, int) else 0
    except _NO_ARGS:
        code = 0
    except _USAGE as exc:
        code = _fail(" ".join(exc.format_message().split()), 2)
    except _ABORT:
        code = _fail("interrupted", 130)
    except _EXIT as exc:
        code = exc.exit_code
    except (InputError, DataNotFoundError) as exc:
        code = _fail(" ".join(str(exc).split()), 2)
    except MarrowsimError as exc:
        code = _fail(" ".join(str(exc).split()), 1)
    if argv is None:
        sys.exit(code)
    return code
