"""The ``detect`` stage loop: frames in, one frame record with boxes per frame out."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from posetool.detect.boxes import Detections, postprocess
from posetool.errors import PosetoolError
from posetool.progress import progress_bar
from posetool.stream import StreamWriter, make_frame, make_header, make_stage
from posetool.video.sources import Frame, FrameSource


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


def detect_frames(frames: Iterable[Frame], detector: Detector, options: DetectOptions, width: int, height: int,
                  progress: Callable[[], None] | None = None) -> Iterator[dict[str, Any]]:
    """One frame record per frame of ``frames``, with the boxes ``detector`` finds.

    Frames skipped by ``every`` get an empty instance list and ``"skipped": true``.
    """
    score_thr = detector.default_score_thr if options.score_thr is None else options.score_thr
    for pending, run in _batches(iter(frames), options.every, options.batch_size):
        results = dict(zip((f.index for f in run), detector.detect(run) if run else []))
        for frame in pending:
            dets = results.get(frame.index)
            if dets is None:
                yield make_frame(frame.index, frame.t, [], skipped=True)
            else:
                dets = postprocess(dets, score_thr, options.nms_thr, options.max_people, width, height)
                yield make_frame(frame.index, frame.t, dets.to_instances())
            if progress is not None:
                progress()


def detect_stage(detector: Detector, options: DetectOptions, model: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance entry of a detect run."""
    return make_stage("detect", model=model, weights_sha256=getattr(detector, "weights_sha256", None), params={
        "score_thr": detector.default_score_thr if options.score_thr is None else options.score_thr,
        "nms_thr": options.nms_thr if options.nms_thr is not None else 1.0, "max_people": options.max_people,
        "every": options.every, **(extra or {}),
    })


def run_detect(source: FrameSource, writer: StreamWriter, detector: Detector, options: DetectOptions,
               stage: dict[str, Any]) -> None:
    """Detect people in every frame of ``source`` and write the stream to ``writer``.

    If decoding fails mid-way, the frames so far and an end record with ``finished: false`` are
    written first.
    """
    writer.write(make_header(source.info(), None, stages=[stage]))
    try:
        with progress_bar(f"detect ({detector.name})", source.frame_count or None) as bar:
            for record in detect_frames(source, detector, options, source.width, source.height, bar.advance):
                writer.write(record)
    except PosetoolError:
        writer.write_end(finished=False)
        raise
    writer.write_end(finished=True)
