"""Progress on stderr (never stdout), silent under ``--quiet``.

Three ways, chosen by where stderr and stdout go:

- stderr is a terminal and stdout is not a pipe (a lone stage, or the last stage of a pipe, or
  ``posetool run``): a rich progress bar, cleared when done;
- stderr is a terminal and stdout is a pipe (a stage in the middle of a pipe): nothing, so the
  stages of one pipe do not draw over each other; the last stage's bar shows the pipe's progress,
  since every frame passes through it;
- stderr is not a terminal (a log file, CI, a test): plain lines ``NAME: 120/200 frames (60 %),
  14.2 frames/s`` every ``POSETOOL_PROGRESS_INTERVAL`` seconds (default 10) and one closing line.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from posetool import console
from posetool.threads import is_fifo

DEFAULT_INTERVAL_S = 10.0


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass


class _RichBar:
    def __init__(self, progress: object, task: int) -> None:
        self._progress, self._task = progress, task

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)


class _PlainLines:
    """Periodic plain progress lines for a stderr that is not a terminal."""

    def __init__(self, description: str, total: int | None, interval: float) -> None:
        self.description, self.total, self.interval = description, total, interval
        self.done = 0
        self.start = self._last = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._print(now)

    def close(self) -> None:
        self._print(time.monotonic(), closing=True)

    def _print(self, now: float, closing: bool = False) -> None:
        elapsed = max(now - self.start, 1e-9)
        of = f"/{self.total}" if self.total else ""
        pct = f" ({100 * self.done / self.total:.0f} %)" if self.total else ""
        when = f" in {elapsed:.1f} s" if closing else ""
        console.info(f"{self.description}: {self.done}{of} frames{pct}{when}, {self.done / elapsed:.1f} frames/s")


def _interval() -> float:
    try:
        return max(0.0, float(os.environ.get("POSETOOL_PROGRESS_INTERVAL", DEFAULT_INTERVAL_S)))
    except ValueError:
        return DEFAULT_INTERVAL_S


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[_Silent | _RichBar | _PlainLines]:
    """Progress for ``total`` frames (unknown: ``None``); call ``bar.advance()`` per frame."""
    if console.is_quiet():
        yield _Silent()
        return
    if not console.stderr.is_terminal:
        lines = _PlainLines(description, total, _interval())
        yield lines
        lines.close()  # not reached when the stage fails: its error line stays the last word
        return
    if is_fifo(sys.stdout):
        yield _Silent()
        return
    from rich.progress import (
        BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn,
    )

    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
               TimeElapsedColumn(), TimeRemainingColumn()]
    # transient: the bar disappears when done, so a failing stage leaves only its one error line
    with Progress(*columns, console=console.stderr, transient=True) as progress:
        yield _RichBar(progress, progress.add_task(description, total=total or None))
