"""The whole chain in one process: ``posetool run``.

Each stage is a :class:`Step`: ``start(header)`` loads its model, checks the stream and appends
its provenance (exactly what the stage's CLI does), and ``frames(records, frames)`` transforms
the frame records lazily. Steps are chained as generators, so the chain works frame by frame
in bounded memory; the video is decoded once and shared through a :class:`FrameTee` that keeps
only the most recent frames. Between steps every record is reduced to plain values
(:func:`posetool.stream.to_plain`), so each step sees exactly what it would read from a pipe:
the output equals that of the same stages piped one by one.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from posetool.errors import PosetoolError
from posetool.stream import StreamWriter, make_header, to_plain
from posetool.video.sources import Frame, FrameSource

Record = dict[str, Any]


class FrameTee:
    """Shares one decoded video between several consumers, keeping the last ``keep`` frames."""

    def __init__(self, source: FrameSource, keep: int = 96) -> None:
        self.source = source
        self.path = source.path
        self._it = iter(source)
        self._cache: OrderedDict[int, Frame] = OrderedDict()
        self._last = -1
        self._done = False
        self.keep = keep

    def get(self, index: int) -> Frame | None:
        """Frame ``index`` (decoding up to it), or None past the end of the video."""
        while not self._done and self._last < index:
            try:
                frame = next(self._it)
            except StopIteration:
                self._done = True
                break
            self._cache[frame.index] = frame
            self._last = frame.index
            while len(self._cache) > self.keep:
                self._cache.popitem(last=False)
        if index in self._cache:
            return self._cache[index]
        if index <= self._last and self._cache and index < next(iter(self._cache)):
            raise PosetoolError(f"frame {index} left the shared frame buffer ({self.keep} frames); raise --frame-buffer")
        return None

    def view(self) -> "FrameView":
        return FrameView(self)


class FrameView:
    """An iterable over the tee's frames in order (what stages take as their ``video``)."""

    def __init__(self, tee: FrameTee) -> None:
        self.tee = tee
        self.path = tee.path

    def __iter__(self) -> Iterator[Frame]:
        index = 0
        while (frame := self.tee.get(index)) is not None:
            yield frame
            index += 1


@dataclass
class FeedReader:
    """A stand-in for :class:`~posetool.stream.StreamReader` over in-process records."""

    header: Record
    records: Iterable[Record]
    name: str = "pipeline"
    end: Record | None = None
    truncated: bool = False

    def frames(self) -> Iterator[Record]:
        yield from self.records


class Step(Protocol):
    """One stage of the in-process chain."""

    name: str

    def start(self, header: Record) -> None: ...

    def frames(self, records: Iterator[Record], video: FrameTee) -> Iterator[Record]: ...


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


def run_chain(source: FrameSource, writer: StreamWriter, detect: Any, steps: list[Step],
              progress: Callable[[], None] | None = None, clock: StageClock | None = None,
              frame_buffer: int = 96) -> Record:
    """Detect on ``source``, pass the records through ``steps`` and write the stream.

    Args:
        detect: an object with ``stage`` (provenance entry) and ``frames(video) -> records``.
        steps: the later stages, in order; each ``start`` sees the header as the previous
            stages left it, as a piped stage would.
    Returns:
        The header that was written.
    """
    tee = FrameTee(source, frame_buffer)
    header = make_header(source.info(), None, stages=[detect.stage])
    for step in steps:
        step.start(header)
    clock = clock or StageClock()
    records: Iterator[Record] = clock.wrap("detect", iter(detect.frames(tee.view())))
    for step in steps:
        plain = (to_plain(rec) for rec in records)  # what the step would read from a pipe
        records = clock.wrap(step.name, iter(step.frames(plain, tee)))
    writer.write(header)
    try:
        for rec in records:
            writer.write(rec)
            if progress is not None:
                progress()
    except PosetoolError:
        writer.write_end(finished=False)
        raise
    writer.write_end(finished=True)
    return header


def run_step(reader: Any, open_output: Callable[[], StreamWriter], step: Step, video: Any = None,
             progress: bool = False) -> None:
    """One stage from a stream to a stream (what each stage's CLI does).

    The step starts on the header first (model loaded, stream checked), so a failure there
    creates no output; then ``open_output()`` gives the writer for the header, the step's frames
    and the end record (with a progress bar on stderr when ``progress``).
    """
    from posetool.progress import progress_bar
    from posetool.stream import write_frames

    header = reader.header
    step.start(header)
    with open_output() as writer:
        writer.write(header)
        if not progress:
            write_frames(reader, writer, step.frames(reader.frames(), video))
            return
        with progress_bar(step.name, (header.get("source") or {}).get("frames") or None) as bar:
            def counted() -> Iterator[Record]:
                for rec in step.frames(reader.frames(), video):
                    bar.advance()
                    yield rec

            write_frames(reader, writer, counted())
