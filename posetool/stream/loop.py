"""The one read → write loop every stage, ``run`` and ``cat`` go through.

:func:`write_stream` writes the header, every frame record a stage produces, and the end record.
If the frames break mid-way (bad input, a video that ends early), the frames so far and an end
record with ``finished: false`` are written before the error propagates, so the output is a valid
stream up to the last complete frame. Fields of the upstream end record that are not counts are
carried on, and a truncated input is flagged in the end record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Protocol

from posetool.errors import OutputError, PosetoolError
from posetool.stream.writer import StreamWriter

Record = dict[str, Any]
_END_KEYS = ("type", "frames", "instances", "finished")


class Upstream(Protocol):
    """What the loop needs to know of the stream it reads (a :class:`StreamReader`), once read."""

    end: Record | None
    truncated: bool


def carried_end_fields(end: Record | None) -> Record:
    """Fields of an upstream end record that a stage must pass on (all but the counts)."""
    return {k: v for k, v in (end or {}).items() if k not in _END_KEYS}


def write_stream(writer: StreamWriter, header: Record, frames: Iterable[Record], upstream: Upstream | None = None,
                 on_frame: Callable[[], None] | None = None) -> None:
    """Write ``header``, ``frames`` and the end record to ``writer``.

    Args:
        upstream: the stream the frames derive from (``None`` for a source such as ``detect``);
            read after the frames are exhausted, for the fields its end record carries.
        on_frame: called after each frame record is written (progress).
    """
    writer.write(header)
    try:
        for frame in frames:
            writer.write(frame)
            if on_frame is not None:
                on_frame()
    except PosetoolError as exc:
        if not isinstance(exc, OutputError):  # an output that fails takes no end record either
            writer.write_end(finished=False, **carried_end_fields(upstream.end if upstream else None))
        raise
    extra = carried_end_fields(upstream.end if upstream else None)
    if upstream is not None and upstream.truncated:
        extra["input_truncated"] = True
    writer.write_end(finished=True, **extra)
