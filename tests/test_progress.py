"""Progress a person can follow (issue #18): plain lines off a terminal, one bar per pipe on a terminal."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from posetool import console, progress


def _stderr(monkeypatch: pytest.MonkeyPatch, terminal: bool) -> io.StringIO:
    text = io.StringIO()
    monkeypatch.setattr(console, "stderr", Console(file=text, force_terminal=terminal, width=80, highlight=False))
    return text


def test_plain_lines_when_stderr_is_no_terminal(monkeypatch: pytest.MonkeyPatch):
    text = _stderr(monkeypatch, terminal=False)
    monkeypatch.setenv("POSETOOL_PROGRESS_INTERVAL", "0")
    with progress.progress_bar("pose2d", 4) as bar:
        for _ in range(4):
            bar.advance()
    lines = text.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines[:4]] == [f"pose2d: {i}/4 frames ({25 * i} %)" for i in range(1, 5)]
    assert lines[-1].startswith("pose2d: 4/4 frames (100 %) in ") and lines[-1].endswith(" frames/s")
    assert "\x1b" not in text.getvalue()  # no terminal codes in a log


def test_plain_lines_wait_for_the_interval(monkeypatch: pytest.MonkeyPatch):
    text = _stderr(monkeypatch, terminal=False)
    monkeypatch.setenv("POSETOOL_PROGRESS_INTERVAL", "3600")
    with progress.progress_bar("track", None) as bar:
        for _ in range(50):
            bar.advance()
    assert text.getvalue().splitlines() == [text.getvalue().splitlines()[0]]  # only the closing line
    assert text.getvalue().startswith("track: 50 frames in ")


@pytest.mark.parametrize("stdout_is_pipe, expected", [(True, "_Silent"), (False, "_RichBar")])
def test_on_a_terminal_only_the_last_stage_of_a_pipe_draws(monkeypatch: pytest.MonkeyPatch, stdout_is_pipe: bool,
                                                           expected: str):
    _stderr(monkeypatch, terminal=True)
    monkeypatch.setattr(progress, "is_fifo", lambda stream: stdout_is_pipe)
    with progress.progress_bar("correspond", 3) as bar:
        assert type(bar).__name__ == expected
        bar.advance()


def test_quiet_means_no_progress(monkeypatch: pytest.MonkeyPatch):
    text = _stderr(monkeypatch, terminal=False)
    monkeypatch.setattr(console, "_quiet", True)
    with progress.progress_bar("lift3d", 2) as bar:
        bar.advance(2)
    assert text.getvalue() == ""
