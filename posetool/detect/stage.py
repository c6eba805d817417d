"""The ``detect`` stage: frames in, one frame record with boxes per frame out (the chain's source)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from posetool.detect.boxes import Detections, postprocess
from posetool.engine.flush import flush_on_error
from posetool.stream import make_frame, make_stage
from posetool.video.sources import Frame
from posetool.video.tee import frames_of


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


def detect_frames(frames: Iterable[Frame], detector: Detector, options: DetectOptions, width: int,
                  height: int) -> Iterator[dict[str, Any]]:
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


def detect_stage(detector: Detector, options: DetectOptions, model: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The provenance entry of a detect run."""
    return make_stage("detect", model=model, weights_sha256=getattr(detector, "weights_sha256", None), params={
        "score_thr": detector.default_score_thr if options.score_thr is None else options.score_thr,
        "nms_thr": options.nms_thr if options.nms_thr is not None else 1.0, "max_people": options.max_people,
        "every": options.every, **(extra or {}),
    })


@dataclass
class DetectStep:
    """The source of the chain: boxes per frame of the video (a :class:`posetool.engine.chain.Step`)."""

    model: str = "hog"
    device: str = "auto"
    weights: str | None = None
    gt: str | None = None
    score_thr: float | None = None
    nms_thr: float | None = None  # None: the backend's default_nms_thr (0.5 when it names none)
    max_people: int = 20
    every: int = 1
    batch_size: int = 8
    input_size: int | None = None  # network input (long side) for detectors that take one (movenet)
    runtime: str = "auto"  # torch, litert or auto for .tflite detectors (posetool.hub.litert)
    flip_test: bool | None = None  # CenterNet: average with a mirrored pass (None: the model's default)
    name: str = "detect"

    def start(self, header: dict[str, Any]) -> None:
        """Load the backend and append the provenance entry to the new stream's header.

        A backend that writes keypoints (MoveNet) sets the stream's skeleton.
        """
        from posetool.detect.backends import build_detector

        self.detector = build_detector(self.model, device=self.device, weights=self.weights, gt=self.gt,
                                       batch_size=self.batch_size, input_size=self.input_size,
                                       max_people=self.max_people, runtime=self.runtime, flip_test=self.flip_test)
        # A backend whose boxes are already free of duplicates and may overlap for neighbours
        # (BlazePose: full-body squares after MediaPipe's own NMS on face boxes) sets default_nms_thr None.
        nms_thr = self.nms_thr if self.nms_thr is not None else getattr(self.detector, "default_nms_thr", 0.5)
        self.options = DetectOptions(self.score_thr, None if nms_thr is None or nms_thr >= 1.0 else nms_thr,
                                     self.max_people, self.every, self.batch_size)
        extra = {"gt": self.gt} if self.gt else {}
        extra.update(getattr(self.detector, "params", None) or {})
        header.setdefault("stages", []).append(detect_stage(self.detector, self.options, self.model, extra or None))
        if getattr(self.detector, "skeleton", None):
            header["skeleton"] = self.detector.skeleton
        self.size = (int(header["source"]["width"]), int(header["source"]["height"]))

    def frames(self, records: Iterator[dict[str, Any]] | None, video: Any) -> Iterator[dict[str, Any]]:
        """Frame records made from ``video`` (``records`` is ``None``: detect is the source).

        A frame the video cannot give (a corrupt image) ends the batch early: the frames before it
        are detected and handed on, then the error is raised (:func:`flush_on_error`).
        """
        return flush_on_error(frames_of(video),
                              lambda frames: detect_frames(frames, self.detector, self.options, *self.size))
