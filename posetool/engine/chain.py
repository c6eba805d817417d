"""Stages as :class:`Step` objects, and the two ways to run them: one stage (a CLI) or the chain (``run``).

Each stage is a :class:`Step`: ``start(header)`` loads its model, checks the stream and appends
its provenance (exactly what the stage's CLI does), and ``frames(records, video)`` transforms the
frame records lazily. Steps are chained as generators, so the chain works frame by frame in
bounded memory; the video is decoded once and shared through a :class:`~posetool.video.tee.FrameTee`.
Between steps every record is reduced to plain values (:func:`posetool.stream.to_plain`), so each
step sees exactly what it would read from a pipe: the output equals that of the piped stages.
Both runners write through the one loop, :func:`posetool.stream.write_stream`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from posetool.progress import progress_bar
from posetool.stream import StreamReader, StreamWriter, make_header, to_plain, write_stream
from posetool.video.sources import FrameSource
from posetool.video.tee import FrameTee

Record = dict[str, Any]


class Step(Protocol):
    """One stage. A source stage (``detect``) gets ``records=None`` and makes the frames from ``video``."""

    name: str

    def start(self, header: Record) -> None: ...

    def frames(self, records: Iterator[Record] | None, video: Any) -> Iterator[Record]: ...


@dataclass
class StageClock:
    """Time spent inside each stage's generator, upstream stages excluded."""

    inclusive: dict[str, float] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def wrap(self, name: str, records: Iterator[Record]) -> Iterator[Record]:
        """Time ``records`` as stage ``name`` (stages must be wrapped upstream first)."""
        self.order.append(name)
        self.inclusive.setdefault(name, 0.0)
        return self._timed(name, records)

    def _timed(self, name: str, records: Iterator[Record]) -> Iterator[Record]:
        while True:
            t0 = time.perf_counter()
            try:
                rec = next(records)
            except StopIteration:
                self.inclusive[name] += time.perf_counter() - t0
                return
            self.inclusive[name] += time.perf_counter() - t0
            yield rec

    def exclusive(self) -> dict[str, float]:
        out, upstream = {}, 0.0
        for name in self.order:
            out[name] = max(0.0, self.inclusive[name] - upstream)
            upstream = self.inclusive[name]
        return out


def run_chain(source: FrameSource, open_output: Callable[[], StreamWriter], steps: list[Step],
              on_frame: Callable[[], None] | None = None, clock: StageClock | None = None,
              frame_buffer: int = 96) -> Record:
    """Run ``steps`` on ``source`` and write the stream; ``steps[0]`` is the source stage (detect).

    Each ``start`` sees the header as the previous stages left it, as a piped stage would; all
    steps start (models loaded) before ``open_output()`` creates the output. Returns the header.
    """
    tee = FrameTee(source, frame_buffer)
    header = make_header(source.info(), None, stages=[])
    for step in steps:
        step.start(header)
    clock = clock or StageClock()
    records: Iterator[Record] | None = None
    for step in steps:
        plain = None if records is None else (to_plain(rec) for rec in records)  # what a pipe would carry
        records = clock.wrap(step.name, iter(step.frames(plain, tee)))
        if plain is None and on_frame is not None:
            # progress counts the source's frames: later stages may hold frames back (lift3d, track)
            records = _counted(records, on_frame)
    with open_output() as writer:
        write_stream(writer, header, records or iter(()), None)
    return header


def _counted(records: Iterator[Record], on_frame: Callable[[], None]) -> Iterator[Record]:
    for rec in records:
        on_frame()
        yield rec


def run_step(reader: StreamReader, open_output: Callable[[], StreamWriter], step: Step, video: Any = None,
             progress: bool = False) -> None:
    """One stage from a stream to a stream (what each stage's CLI does).

    The step starts on the header first (model loaded, stream checked), so a failure there
    creates no output; then ``open_output()`` gives the writer for the header, the step's frames
    and the end record (with progress on stderr when ``progress``, see :mod:`posetool.progress`).
    """
    header = reader.header
    step.start(header)
    with open_output() as writer:
        if not progress:
            write_stream(writer, header, step.frames(reader.frames(), video), reader)
            return
        with progress_bar(step.name, (header.get("source") or {}).get("frames") or None) as bar:
            # count frames read, not written: a stage that holds frames back (lift3d) still advances
            write_stream(writer, header, step.frames(_counted(reader.frames(), bar.advance), video), reader)
