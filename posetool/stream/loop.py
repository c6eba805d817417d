"""The skeleton of every stage: read a stream, add to each frame, write it on.

:func:`filter_stream` appends the stage's provenance entry to the header, passes each frame
through ``transform`` (which edits the record in place or returns a new one, keeping unknown
keys), and writes the end record. If the input breaks mid-way, the frames so far and an end
record with ``finished: false`` are written before the error propagates, so the output is a
valid stream up to the last complete frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from posetool.errors import PosetoolError
from posetool.stream.reader import StreamReader
from posetool.stream.writer import StreamWriter

Record = dict[str, Any]
_END_KEYS = ("type", "frames", "instances", "finished")


def carried_end_fields(end: Record | None) -> Record:
    """Fields of an upstream end record that a stage must pass on (all but the counts)."""
    return {k: v for k, v in (end or {}).items() if k not in _END_KEYS}


def write_frames(
    reader: StreamReader,
    writer: StreamWriter,
    frames: Iterable[Record],
) -> None:
    """Write ``frames`` (derived from ``reader``) and the end record; on error end the stream first."""
    try:
        for frame in frames:
            writer.write(frame)
    except PosetoolError:
        writer.write_end(finished=False, **carried_end_fields(reader.end))
        raise
    extra = carried_end_fields(reader.end)
    if reader.truncated:
        extra["input_truncated"] = True
    writer.write_end(finished=True, **extra)


def filter_stream(
    reader: StreamReader,
    writer: StreamWriter,
    stage: Record,
    transform: Callable[[Record], Record] | None = None,
    update_header: Callable[[Record], None] | None = None,
) -> None:
    """Run a frame-by-frame stage from ``reader`` to ``writer``.

    Args:
        stage: provenance entry (see :func:`posetool.stream.records.make_stage`), appended to
            ``header["stages"]``; ``None`` for pure conversions such as ``posetool cat``.
        transform: called with each frame record, returns the record to write.
        update_header: edits the header in place before it is written (e.g. ``skeleton_3d``).
    """
    header = reader.header
    if stage is not None:
        header.setdefault("stages", []).append(stage)
    if update_header is not None:
        update_header(header)
    writer.write(header)

    def frames() -> Iterator[Record]:
        for frame in reader.frames():
            yield transform(frame) if transform is not None else frame

    write_frames(reader, writer, frames())
