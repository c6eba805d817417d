"""The ``detect`` stage loop: frames in, one frame record with boxes per frame out."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from posetool.detect.boxes import Detections, postprocess
from posetool.errors import PosetoolError
from posetool.progress import progress_bar
from posetool.stream import StreamWriter, make_frame, make_header
from posetool.video import Frame, FrameSource


class Detector(Protocol):
    """What every backend provides: batched detection on BGR frames."""

    name: str
    default_score_thr: float

    def detect(self, frames: list[Frame]) -> list[Detections]: ...


@dataclass(frozen=True)
class DetectOptions:
    """Post-processing shared by every backend (``None`` score threshold: the backend's default)."""

    score_thr: float | None = None
    nms_thr: float | None = 0.5
    max_people: int = 20
    every: int = 1
    batch_size: int = 8


def _batches(frames: Iterator[Frame], every: int, size: int) -> Iterator[tuple[list[Frame], list[Frame]]]:
    """Group frames into (all frames, frames to run) batches of at most ``size`` frames to run."""
    pending: list[Frame] = []
    run: list[Frame] = []
    for frame in frames:
        pending.append(frame)
        if frame.index % every == 0:
            run.append(frame)
        if len(run) >= size:
            yield pending, run
            pending, run = [], []
    if pending:
        yield pending, run


def run_detect(source: FrameSource, writer: StreamWriter, detector: Detector, options: DetectOptions,
               stage: dict[str, Any]) -> None:
    """Detect people in every frame of ``source`` and write the stream to ``writer``.

    Frames skipped by ``every`` get an empty instance list and ``"skipped": true``. If decoding
    fails mid-way, the frames so far and an end record with ``finished: false`` are written first.
    """
    score_thr = detector.default_score_thr if options.score_thr is None else options.score_thr
    writer.write(make_header(source.info(), None, stages=[stage]))
    try:
        with progress_bar(f"detect ({detector.name})", source.frame_count or None) as bar:
            for pending, run in _batches(iter(source), options.every, options.batch_size):
                results = dict(zip((f.index for f in run), detector.detect(run) if run else []))
                for frame in pending:
                    dets = results.get(frame.index)
                    if dets is None:
                        writer.write(make_frame(frame.index, frame.t, [], skipped=True))
                    else:
                        dets = postprocess(dets, score_thr, options.nms_thr, options.max_people, source.width, source.height)
                        writer.write(make_frame(frame.index, frame.t, dets.to_instances()))
                    bar.advance()
    except PosetoolError:
        writer.write_end(finished=False)
        raise
    writer.write_end(finished=True)
