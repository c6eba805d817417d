"""Every stage as a :class:`posetool.engine.chain.Step`, set up exactly as its CLI sets it up.

``start(header)`` loads the model through the shared loader, checks the stream and appends the
stage's provenance entry; ``frames(records, video)`` runs the stage's own frame generator. The
CLI commands and ``posetool run`` build the same objects, so their records agree.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from posetool import console
from posetool.engine.chain import FeedReader, FrameTee, Record
from posetool.stream import make_stage

BLAZEPOSE_BUILDER = "posetool.detect.blazepose:build_module"


def _frames_of(video: Any) -> Any:
    """The frames a stage iterates: a view of the shared tee, or the video source itself."""
    return video.view() if isinstance(video, FrameTee) else video


@dataclass
class DetectStep:
    """The source of the chain: boxes per frame (see :mod:`posetool.detect.stage`)."""

    model: str = "hog"
    device: str = "auto"
    weights: str | None = None
    gt: str | None = None
    score_thr: float | None = None
    nms_thr: float = 0.5
    max_people: int = 20
    every: int = 1
    batch_size: int = 8
    name: str = "detect"

    def __post_init__(self) -> None:
        from posetool.detect.backends import build_detector
        from posetool.detect.stage import DetectOptions, detect_stage

        self.detector = build_detector(self.model, device=self.device, weights=self.weights, gt=self.gt,
                                       batch_size=self.batch_size)
        self.options = DetectOptions(self.score_thr, None if self.nms_thr >= 1.0 else self.nms_thr, self.max_people,
                                     self.every, self.batch_size)
        self.stage = detect_stage(self.detector, self.options, self.model, {"gt": self.gt} if self.gt else None)

    def frames(self, video: Any) -> Iterator[Record]:
        from posetool.detect.stage import detect_frames

        src = video.tee.source
        return detect_frames(video, self.detector, self.options, src.width, src.height)


@dataclass
class Pose2DStep:
    """Top-down keypoints in every box (see :mod:`posetool.pose2d.stage`)."""

    model: str = "simplebaseline_r18_synth"
    device: str = "auto"
    weights: str | None = None
    batch_size: int = 16
    options: Any = None  # TopDownOptions; default: the official test options
    name: str = "pose2d"

    def start(self, header: Record) -> None:
        from posetool.hub.registry import get_model_spec

        if self.model == "blazepose":  # the detector's name; its landmark model is blazepose_full
            self.model = "blazepose_full"
        self.blazepose = get_model_spec(self.model, task="pose2d").builder == BLAZEPOSE_BUILDER
        if self.blazepose:
            from posetool.detect.blazepose import BlazePoseLandmarks

            self.landmarks = BlazePoseLandmarks(device=self.device, weights=self.weights, batch_size=self.batch_size,
                                                model=self.model)
            skel, sha, params = "coco17", self.landmarks.weights_sha256, {"min_presence": 0.5, "batch_size": self.batch_size}
        else:
            from posetool.hub.loader import load_model
            from posetool.pose2d.estimator import TopDownEstimator, TopDownOptions

            self.options = self.options or TopDownOptions()
            loaded = load_model(self.model, task="pose2d", weights=self.weights, device=self.device)
            self.estimator = TopDownEstimator.from_loaded(loaded, self.options, batch_size=self.batch_size)
            skel, sha = self.estimator.skeleton.name, loaded.weights_sha256
            params = {**self.options.as_params(), "batch_size": self.batch_size}
        if header.get("skeleton") not in (None, skel):
            console.warn(f"stream skeleton {header.get('skeleton')} is replaced by the model's {skel}")
        header["skeleton"] = skel
        header.setdefault("stages", []).append(make_stage("pose2d", model=self.model, weights_sha256=sha, params=params))
        self.header = header

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        view = _frames_of(video)
        if self.blazepose:
            from posetool.pose2d.blazepose_stage import blazepose_frames

            return blazepose_frames(FeedReader(self.header, records), view, self.landmarks)
        from posetool.pose2d.stage import pose_frames

        return pose_frames(FeedReader(self.header, records), view, self.estimator)


@dataclass
class CorrespondStep:
    """Keypoint correspondences from frame t−1 into frame t (see :mod:`posetool.correspond.stage`)."""

    model: str = "correspond_r18_synth"
    device: str = "auto"
    weights: str | None = None
    region: str = "person"
    context: float = 2.0
    frame_size: int = 512
    min_confidence: float = 0.0
    batch_size: int = 16
    name: str = "correspond"

    def start(self, header: Record) -> None:
        from posetool.correspond.infer import CorrespondenceEstimator
        from posetool.hub.loader import load_model

        loaded = load_model(self.model, task="correspond", weights=self.weights, device=self.device)
        self.estimator = CorrespondenceEstimator.from_loaded(loaded, region=self.region, frame_size=self.frame_size,
                                                             context=self.context, batch_size=self.batch_size)
        params = {"region": self.region, "context": self.context, "frame_size": self.frame_size,
                  "min_confidence": self.min_confidence, "batch_size": self.batch_size}
        header.setdefault("stages", []).append(
            make_stage("correspond", model=self.model, weights_sha256=loaded.weights_sha256, params=params))
        self.header = header

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        from posetool.correspond.stage import correspond_frames

        return correspond_frames(FeedReader(self.header, records), _frames_of(video), self.estimator, self.min_confidence)


@dataclass
class RecoverStep:
    """Missed people and keypoints recovered from correspondences (see :mod:`posetool.recover.recoverer`)."""

    model: str = "simplebaseline_r18_synth"
    device: str = "auto"
    weights: str | None = None
    corr_model: str = "correspond_r18_synth"
    corr_weights: str | None = None
    batch_size: int = 16
    options: Any = None  # RecoverOptions; default: the authors' thresholds
    name: str = "recover"

    def start(self, header: Record) -> None:
        from posetool.hub.loader import load_model
        from posetool.pose2d.estimator import TopDownEstimator, TopDownOptions
        from posetool.skeletons import get_skeleton
        from posetool.recover.recoverer import Recoverer, RecoverOptions

        opts = self.options or RecoverOptions()
        loaded = load_model(self.model, task="pose2d", weights=self.weights, device=self.device)
        # every box is estimated as given: no rescoring, no NMS inside the estimator (recover does its own)
        estimator = TopDownEstimator.from_loaded(loaded, TopDownOptions(rescore=False, oks_thre=1.0),
                                                 batch_size=self.batch_size)
        corr, corr_sha = None, None
        if opts.requery and opts.people:
            from posetool.correspond.infer import CorrespondenceEstimator

            params = next((s.get("params") or {} for s in reversed(header.get("stages") or [])
                           if s.get("stage") == "correspond"), {})
            cl = load_model(self.corr_model, task="correspond", weights=self.corr_weights, device=self.device)
            corr = CorrespondenceEstimator.from_loaded(cl, region=params.get("region", "person"),
                                                       context=float(params.get("context", 2.0)),
                                                       frame_size=int(params.get("frame_size", 512)),
                                                       batch_size=self.batch_size)
            corr_sha = cl.weights_sha256
        skel = get_skeleton(header.get("skeleton") or loaded.spec.skeleton or "coco17")
        self.recoverer = Recoverer(estimator, opts, corr, skel.sigmas_array() if skel.sigmas is not None else None)
        header.setdefault("stages", []).append(make_stage(
            "recover", model=self.model, weights_sha256=loaded.weights_sha256,
            params={**opts.as_params(), "corr_model": self.corr_model if corr else None,
                    "corr_weights_sha256": corr_sha, "batch_size": self.batch_size}))
        self.header = header

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        from posetool.correspond.stage import frames_with_images
        from posetool.recover.recoverer import recover_frames

        return recover_frames(frames_with_images(FeedReader(self.header, records), _frames_of(video)), self.recoverer)


@dataclass
class TrackStep:
    """Track ids by assignment (see :mod:`posetool.track.tracker`)."""

    options: Any = None  # TrackerOptions
    name: str = "track"

    def start(self, header: Record) -> None:
        from dataclasses import asdict

        from posetool.track.tracker import Tracker, TrackerOptions

        self.options = self.options or TrackerOptions()
        self.tracker = Tracker(self.options, header.get("skeleton"))
        header.setdefault("stages", []).append(make_stage("track", model=None, params=asdict(self.options)))

    def frames(self, records: Iterator[Record], video: Any = None) -> Iterator[Record]:
        """Tracked frames; if the input breaks, the frames still buffered come out before the error."""
        from posetool.errors import PosetoolError

        try:
            for rec in records:
                yield from self.tracker.push(rec)
        except PosetoolError:
            yield from self.tracker.flush()
            raise
        yield from self.tracker.flush()


@dataclass
class LiftStep:
    """VideoPose3D per track (see :mod:`posetool.lift3d.stage`)."""

    model: str = "videopose3d_synth"
    device: str = "auto"
    weights: str | None = None
    causal: bool = False
    flip: bool = True
    chunk: int | None = None
    max_gap: int = 10
    name: str = "lift3d"

    def start(self, header: Record) -> None:
        from posetool.errors import UsageError
        from posetool.lift3d.infer import SequenceLifter
        from posetool.lift3d.model import load_lifter
        from posetool.lift3d.stage import LiftStage, check_input_skeleton, frame_size

        loaded = load_lifter(self.model, self.weights, self.device)
        model = loaded.model
        check_input_skeleton(header, model, loaded.name)
        if self.causal and not model.causal:
            raise UsageError(
                f"--causal needs a model trained with causal convolutions; {loaded.name} is not causal "
                "(use videopose3d_h36m_cpn_causal with its official weights, or posetool train lift3d --causal)")
        w, h = frame_size(header)
        n_chunk = self.chunk if self.chunk is not None else (1 if self.causal else 2048)
        seq = SequenceLifter(model, flip=self.flip, chunk=n_chunk, device=loaded.device)
        self.stage = LiftStage(seq, w, h, chunk=n_chunk, max_gap=self.max_gap)
        header.setdefault("stages", []).append(make_stage(
            "lift3d", model=loaded.name, weights_sha256=loaded.weights_sha256,
            params={"causal": model.causal, "flip": self.flip, "chunk": n_chunk, "max_gap": self.max_gap,
                    "receptive_field": model.receptive_field(), "trajectory": model.model_traj is not None}))
        header["skeleton_3d"] = model.out_skeleton

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        return self.stage.run(records)
