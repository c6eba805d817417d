"""The ``track`` stage: a pose stream in, the same stream with ``track_id`` per instance out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict

from posetool.errors import PosetoolError
from posetool.stream import StreamReader, StreamWriter, make_stage, write_frames
from posetool.track.tracker import Tracker, TrackerOptions


def run_track(reader: StreamReader, writer: StreamWriter, options: TrackerOptions) -> None:
    """Track every frame of ``reader`` into ``writer`` (output delayed by the tracker's lag).

    If the input breaks mid-way, the frames still buffered are written before the end record.
    """
    header = reader.header
    tracker = Tracker(options, header.get("skeleton"))
    header.setdefault("stages", []).append(make_stage("track", model=None, params=asdict(options)))
    writer.write(header)

    def frames() -> Iterator[dict]:
        try:
            for frame in reader.frames():
                yield from tracker.push(frame)
        except PosetoolError:
            yield from tracker.flush()
            raise
        yield from tracker.flush()

    write_frames(reader, writer, frames())
