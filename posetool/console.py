"""The one place that writes human-facing text: logs, warnings and progress go to stderr.

stdout carries only records (or a command's report), so pipelines stay parseable. ``--quiet``
silences info and progress but never warnings or errors.
"""

from __future__ import annotations

from rich.console import Console

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
_quiet = False
_debug = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = bool(quiet)


def is_quiet() -> bool:
    return _quiet


def set_debug(debug: bool) -> None:
    """``--debug``: third-party chatter (pycocotools' progress) is shown on stderr too."""
    global _debug
    _debug = bool(debug)


def is_debug() -> bool:
    return _debug


def info(message: str) -> None:
    """An informational line on stderr (suppressed by ``--quiet``)."""
    if not _quiet:
        stderr.print(message, markup=False)


def warn(message: str) -> None:
    """A warning line on stderr (never suppressed)."""
    stderr.print(f"warning: {message}", style="yellow", markup=False)


def error(message: str) -> None:
    stderr.print(message, style="bold red", markup=False)
