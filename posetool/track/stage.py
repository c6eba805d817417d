"""The ``track`` stage: a pose stream in, the same stream with ``track_id`` per instance out."""

from __future__ import annotations

from contextlib import nullcontext

from posetool.engine.chain import run_step
from posetool.engine.steps import TrackStep
from posetool.stream import StreamReader, StreamWriter
from posetool.track.tracker import TrackerOptions


def run_track(reader: StreamReader, writer: StreamWriter, options: TrackerOptions) -> None:
    """Track every frame of ``reader`` into the open ``writer`` (output delayed by the tracker's lag).

    If the input breaks mid-way, the frames still buffered are written before the end record.
    """
    run_step(reader, lambda: nullcontext(writer), TrackStep(options))
