"""What every command shares: error handling, exit codes and stream I/O helpers.

:func:`command` wraps a command function so that
- a :class:`PosetoolError` prints one line ``posetool <cmd>: error: <message>`` and exits with
  its code (1 runtime, 2 usage); a traceback only with ``--debug`` (or ``POSETOOL_DEBUG=1``);
- a closed downstream pipe (``| head``) ends quietly with exit code 0;
- ``--quiet`` silences info and progress on stderr.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from posetool import console
from posetool.errors import PosetoolError

F = TypeVar("F", bound=Callable[..., Any])


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so interpreter shutdown does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def command(name: str) -> Callable[[F], F]:
    """Decorate a CLI function with posetool's error handling (see module docstring)."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            debug = bool(kwargs.get("debug")) or os.environ.get("POSETOOL_DEBUG") == "1"
            console.set_quiet(bool(kwargs.get("quiet")))
            try:
                return fn(*args, **kwargs)
            except typer.Exit:
                raise
            except BrokenPipeError:
                _silence_stdout()
                raise typer.Exit(0) from None
            except PosetoolError as exc:
                if debug:
                    raise
                console.error(f"posetool {name}: error: {exc}")
                raise typer.Exit(exc.exit_code) from None
            except KeyboardInterrupt:
                console.error(f"posetool {name}: interrupted")
                raise typer.Exit(130) from None
            except Exception as exc:  # a bug: say so in one line unless debugging
                if debug:
                    raise
                first = str(exc).splitlines()[0] if str(exc) else ""
                console.error(
                    f"posetool {name}: internal error: {type(exc).__name__}: {first} (rerun with --debug for the traceback)"
                )
                raise typer.Exit(1) from None

        return run  # type: ignore[return-value]

    return wrap


def open_reader(path: str, strict: bool = False):
    """A :class:`StreamReader` for a command's INPUT argument."""
    from posetool.stream import StreamReader

    return StreamReader(path, strict=strict)


def open_writer(path: str, fmt: Any):
    """A :class:`StreamWriter` for ``-o``/``--format``."""
    from posetool.stream import StreamWriter

    return StreamWriter(path, getattr(fmt, "value", fmt))


def not_available(stage: str, issue: int) -> None:
    """Stages whose implementation has not landed yet answer this (exit 1)."""
    from posetool.errors import NotAvailableError

    raise NotAvailableError(f"{stage} is not available yet in posetool (planned: issue #{issue})")
