"""The ``recover`` stage: people and keypoints the detector missed, brought back from correspondences.

:class:`RecoverStep` sets the stage up as its CLI and ``posetool run`` both do: the pose model
that re-estimates recovered people inside their box and, when recovered people are re-queried,
the correspondence model (by default the one the upstream ``correspond`` stage ran, a network or
an optical-flow baseline) with the settings that stage recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from posetool.engine.presets import SYNTH
from posetool.recover.recoverer import Recoverer, RecoverOptions, recover_frames
from posetool.stream import make_stage
from posetool.video.align import frames_with_images
from posetool.video.tee import frames_of

Record = dict[str, Any]


def upstream_correspond(header: Record) -> Record:
    """The provenance entry of the last ``correspond`` stage in the stream ({} if none ran)."""
    return next((s for s in reversed(header.get("stages") or []) if s.get("stage") == "correspond"), {})


def upstream_correspond_params(header: Record) -> Record:
    """The parameters of the last ``correspond`` stage in the stream's provenance ({} if none ran)."""
    return upstream_correspond(header).get("params") or {}


def network_decoding(params: Record, corr_model: str, same_model: bool) -> dict[str, Any]:
    """How a re-querying network sees and decodes: the input size and decoding the upstream ``correspond``
    stage recorded, when recover re-queries with that stage's model (a stream written before the options
    existed records none: the defaults); nothing for another model or an optical-flow baseline."""
    from posetool.correspond.backends import is_flow

    if not same_model or is_flow(corr_model):
        return {}
    return {k: params[k] for k in ("decode", "blur_kernel", "query_offset", "input_size") if params.get(k) is not None}


def requery_model(header: Record) -> str:
    """The correspondence model recover re-queries with by default: the upstream stage's when it is
    a registered correspondence model (a network or lk/dis), else the synth preset's."""
    from posetool.hub.registry import list_models

    name = upstream_correspond(header).get("model")
    return name if name in {s.name for s in list_models("correspond")} else SYNTH.correspond


class LandmarksInBoxes:
    """A landmark model with its own runner (``blazepose_full``) behind the ``estimate(image, boxes,
    scores)`` of :class:`~posetool.pose2d.estimator.TopDownEstimator` that :class:`Recoverer` calls.

    Each box is cropped as ``posetool pose2d --model blazepose_full`` crops a plain box (its upright
    square × 1.25, :func:`posetool.detect.roi.roi_from_box`); as MediaPipe (and that stage), a pose
    whose presence is below ``min_presence`` is no pose: it is left out of the result's ``indices``.
    Keypoints are coco17 (confidence = landmark visibility).
    """

    def __init__(self, landmarks: Any, min_presence: float = 0.5) -> None:
        self.landmarks = landmarks
        self.min_presence = min_presence

    def estimate(self, image: Any, boxes: Any, box_scores: Any) -> Any:
        import numpy as np

        from posetool.detect.roi import roi_from_box
        from posetool.pose2d.estimator import PoseResult

        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        res = self.landmarks.estimate([image], [[roi_from_box(b) for b in boxes]])[0]
        ok = np.nonzero(res.score >= self.min_presence)[0]
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        return PoseResult(res.coco17[ok], res.score[ok], np.asarray(box_scores, dtype=np.float64).reshape(-1)[ok],
                          areas[ok], ok, list(range(len(ok))))


@dataclass
class RecoverStep:
    """Missed people and keypoints recovered from correspondences (a :class:`posetool.engine.chain.Step`)."""

    model: str = SYNTH.pose
    device: str = "auto"
    weights: str | None = None
    corr_model: str | None = None  # None: the upstream correspond stage's model (requery_model)
    corr_weights: str | None = None
    batch_size: int = 16
    options: RecoverOptions | None = None  # default: the authors' thresholds
    name: str = "recover"

    def start(self, header: Record) -> None:
        """Load the models and append the provenance entry."""
        from posetool.hub.loader import load_model
        from posetool.pose2d.estimator import TopDownEstimator, TopDownOptions
        from posetool.skeletons import get_skeleton

        opts = self.options or RecoverOptions()
        if self.model == "blazepose":  # the detector's name; its landmark model is blazepose_full
            self.model = "blazepose_full"
        loaded = load_model(self.model, task="pose2d", weights=self.weights, device=self.device)
        if loaded.spec.runner is not None:  # BlazePose landmarks: a model with its own runner
            runner = loaded.spec.resolve_runner().from_loaded(loaded, batch_size=self.batch_size)
            estimator: Any = LandmarksInBoxes(runner)
        else:
            # every box is estimated as given: no rescoring, no NMS inside the estimator (recover does its own)
            estimator = TopDownEstimator.from_loaded(loaded, TopDownOptions(rescore=False, oks_thre=1.0),
                                                     batch_size=self.batch_size)
        corr, corr_sha = None, None
        upstream_model = requery_model(header)
        corr_model = self.corr_model or upstream_model
        if opts.requery and opts.people:
            from posetool.correspond.backends import build_estimator

            params = upstream_correspond_params(header)
            same_model = corr_model == upstream_model  # then re-query with the upstream stage's window
            corr, corr_sha = build_estimator(corr_model, device=self.device, weights=self.corr_weights,
                                             region=params.get("region", "person"),
                                             context=params.get("context") if same_model else None,
                                             frame_size=int(params.get("frame_size", 512)),
                                             batch_size=self.batch_size, flow_params=params,
                                             **network_decoding(params, corr_model, same_model))
        own_skel = "coco17" if isinstance(estimator, LandmarksInBoxes) else loaded.spec.skeleton  # coco17 out
        skel = get_skeleton(header.get("skeleton") or own_skel or "coco17")
        self.recoverer = Recoverer(estimator, opts, corr, skel.sigmas_array() if skel.sigmas is not None else None)
        header.setdefault("stages", []).append(make_stage(
            "recover", model=self.model, weights_sha256=loaded.weights_sha256,
            params={**opts.as_params(), "corr_model": corr_model if corr else None,
                    "corr_weights_sha256": corr_sha, "batch_size": self.batch_size}))

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        return recover_frames(frames_with_images(records, frames_of(video)), self.recoverer)
