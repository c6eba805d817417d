"""Progress bars on stderr (never stdout), silent under ``--quiet``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from posetool import console


class _Bar:
    def __init__(self, progress: Progress | None, task: int | None) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[_Bar]:
    """A rich progress bar for ``total`` steps (unknown: ``None``); ``bar.advance()`` per step."""
    if console.is_quiet():
        yield _Bar(None, None)
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    # transient: the bar disappears when done, so a failing stage leaves only its one error line
    with Progress(*columns, console=console.stderr, transient=True) as progress:
        task = progress.add_task(description, total=total or None)
        yield _Bar(progress, task)
