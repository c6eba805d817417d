"""What every command shares: error handling, exit codes and stream I/O helpers.

:func:`command` wraps a command function so that
- a :class:`PosetoolError` prints one line ``posetool <cmd>: error: <message>`` and exits with
  its code (1 runtime, 2 usage); a traceback only with ``--debug`` (or ``POSETOOL_DEBUG=1``);
- a closed downstream pipe (``| head``) ends quietly with exit code 0;
- ``--quiet`` silences info and progress on stderr;
- an :class:`OptionError` about one of the command's own options becomes a usage error (exit 2)
  that names the flag instead of the library's parameter (``chunk`` -> ``--chunk``).
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import typer

from posetool import console
from posetool.cli import outputs
from posetool.errors import OptionError, PosetoolError, UsageError
from posetool.threads import configure_threads

F = TypeVar("F", bound=Callable[..., Any])

# The running command as typed after ``posetool`` (``pose2d``, ``eval pose``); set by :func:`command`.
_running = "STAGE"


def _flush_or_silence_stdout() -> None:
    """Before an error exit: flush what stdout buffers; if stdout cannot take it (a full disk behind
    it), silence it, so interpreter shutdown does not fail a second time (exit 120, a traceback line)."""
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        _silence_stdout()


def _silence_stdout() -> None:
    """After EPIPE, point stdout at /dev/null so interpreter shutdown does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _option_flags(fn: Callable[..., Any], renamed: Mapping[str, str]) -> dict[str, str]:
    """Library parameter name -> flag for every option of the command ``fn``.

    Flags are the parameter names with dashes (``min_length`` -> ``--min-length``); ``renamed``
    lists the flags that differ from the library's parameter (``similarity`` -> ``--track-similarity``).
    """
    flags = {p: "--" + p.replace("_", "-") for p in inspect.signature(fn).parameters}
    flags.update(renamed)
    return flags


def _call(fn: Callable[..., Any], args: tuple, kwargs: dict, flags: Mapping[str, str]) -> Any:
    """Call ``fn``; a bad value of one of its options becomes a :class:`UsageError` naming the flag."""
    try:
        return fn(*args, **kwargs)
    except OptionError as exc:
        flag = flags.get(exc.option)
        if flag is None:
            raise  # the value did not come from this command's flags: a bug or bad input data
        raise UsageError(exc.naming(flag)) from exc


def command(name: str, renamed: Mapping[str, str] | None = None, stage: bool = False) -> Callable[[F], F]:
    """Decorate a CLI function with posetool's error handling (see module docstring).

    ``renamed`` maps library parameter names to this command's flags where they differ. ``stage``:
    the command is a pipe stage, which takes its share of the cores when piped
    (:func:`posetool.threads.configure_threads`; every command honours ``POSETOOL_THREADS``).
    """

    def wrap(fn: F) -> F:
        flags = _option_flags(fn, renamed or {})

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            global _running
            _running = name
            debug = bool(kwargs.get("debug")) or os.environ.get("POSETOOL_DEBUG") == "1"
            console.set_quiet(bool(kwargs.get("quiet")))
            console.set_debug(debug)
            outputs.reset()
            try:
                configure_threads(stage)  # before the command imports torch or OpenCV
                return _call(fn, args, kwargs, flags)
            except typer.Exit:
                raise
            except BrokenPipeError:
                _silence_stdout()
                raise typer.Exit(0) from None
            except OSError as exc:  # the system refused (a full disk behind stdout, no permission): no bug
                if debug:
                    raise
                _silence_stdout()  # what stdout still buffers cannot be written either; exit without a second error
                console.error(f"posetool {name}: error: {system_error(exc)}")
                raise typer.Exit(1) from None
            except PosetoolError as exc:
                if debug:
                    raise
                _flush_or_silence_stdout()
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


def system_error(exc: OSError) -> str:
    """An OSError as the message of one error line: the file it names, if any, and the system's reason."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}" if exc.filename else reason


# What to pipe into a command (its upstream stages), for the error when stdin is a terminal.
_UPSTREAM = {
    "pose2d": "posetool detect VIDEO",
    "correspond": "posetool detect VIDEO | posetool pose2d",
    "recover": "posetool detect VIDEO | posetool pose2d | posetool correspond",
    "track": "posetool detect VIDEO | posetool pose2d",
    "lift3d": "posetool detect VIDEO | posetool pose2d | posetool track",
}


def check_stdin(path: str) -> None:
    """Refuse to wait on a terminal: INPUT ``-`` with stdin a tty is a usage error saying what to pipe in."""
    if path != "-" or not sys.stdin.isatty():
        return
    name = _running
    upstream = _UPSTREAM.get(name, "posetool detect VIDEO | posetool pose2d")
    raise UsageError(f"no input: pipe a pose stream in ({upstream} | posetool {name}) or give a stream file "
                     f"(posetool {name} poses.msgpack)")


def open_reader(path: str, strict: bool = False):
    """A :class:`StreamReader` for a command's INPUT argument (claimed, so no output overwrites it)."""
    from posetool.stream import StreamReader

    check_stdin(path)
    outputs.claim_input(path)
    return StreamReader(path, strict=strict)


def open_writer(path: str, fmt: Any):
    """A :class:`StreamWriter` for ``-o``/``--format``; refuses to overwrite one of the command's inputs."""
    from posetool.stream import StreamWriter

    outputs.check_output(path)
    return StreamWriter(path, getattr(fmt, "value", fmt))


def not_available(stage: str, issue: int) -> None:
    """Stages whose implementation has not landed yet answer this (exit 1)."""
    from posetool.errors import NotAvailableError

    raise NotAvailableError(f"{stage} is not available yet in posetool (planned: issue #{issue})")


def check_lr_weights(lr_weights: str | None, lr_consistency: str) -> None:
    """``--lr-weights`` (``track``, ``run``): only with ``--lr-consistency learned`` or ``auto`` (the track
    stage refuses it where ``auto`` turns out offline), and a file that exists."""
    if not lr_weights:
        return
    from pathlib import Path

    from posetool.errors import UsageError

    if lr_consistency not in ("learned", "auto"):
        raise UsageError(f"--lr-weights is for --lr-consistency learned (or auto), not {lr_consistency}")
    if not Path(lr_weights).expanduser().is_file():
        raise UsageError(f"--lr-weights {lr_weights}: no such file")
