"""The pose2d stage over a pose stream: boxes of each frame → keypoints, frame by frame.

Reads the frames of a detection stream (any stream whose instances carry ``bbox``), pulls the
matching video frames, runs :class:`~posetool.pose2d.estimator.TopDownEstimator` with crops batched
across people and frames, and writes each frame on as soon as its batch is done.

Per estimated instance: ``keypoints`` (K×3 x, y, confidence in pixels), ``score`` (rescored when
rescoring is on), ``box_score`` (the detector's score) and ``lr_doubt`` (per left/right pair of
the skeleton, in its ``flip_pairs`` order: how much the heatmaps also support the pair's labels
the other way round, 0–1; read by the tracker's left/right consistency). Instances suppressed by OKS-NMS or
below ``min_box_score`` are removed; instances without a ``bbox`` pass through untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool import console
from posetool.engine.flush import flush_on_error
from posetool.engine.presets import SYNTH
from posetool.pose2d.estimator import PoseResult, TopDownEstimator, TopDownOptions
from posetool.stream import make_stage, to_plain
from posetool.video.align import frames_with_images
from posetool.video.tee import frames_of

Record = dict[str, Any]


def _frame_boxes(rec: Record) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Indices of instances with a bbox, their boxes (N, 4) and scores (N,) (1.0 when absent)."""
    sel, boxes, scores = [], [], []
    for i, inst in enumerate(rec.get("instances") or []):
        if inst.get("bbox") is None:
            continue
        sel.append(i)
        boxes.append(inst["bbox"])
        s = inst.get("score")
        scores.append(1.0 if s is None else float(s))
    return sel, np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64)


def apply_result(rec: Record, sel: list[int], result: PoseResult) -> Record:
    """Write ``result`` into the frame record ``rec`` (in place; also returned)."""
    instances = list(rec.get("instances") or [])
    drop = {sel[i] for i in range(len(sel))}  # every boxed instance not kept below is dropped
    kept = set(result.keep)
    for n, idx in enumerate(result.indices):
        pos = sel[int(idx)]
        if n not in kept:
            continue
        drop.discard(pos)
        inst = dict(instances[pos])
        inst["keypoints"] = to_plain(np.round(result.keypoints[n], 4))
        inst["box_score"] = float(result.box_scores[n])
        inst["score"] = float(result.scores[n])
        if result.label_doubt is not None and result.label_doubt.shape[1]:
            inst["lr_doubt"] = to_plain(np.round(result.label_doubt[n], 3))
        instances[pos] = inst
    rec["instances"] = [inst for i, inst in enumerate(instances) if i not in drop]
    return rec


def pose_frames(records: Iterable[Record], video: Any, estimator: TopDownEstimator) -> Iterator[Record]:
    """``records`` with keypoints added (see module docstring); ``video`` gives their images.

    Crops are batched across frames, so if the stream or the video breaks, the frames of the
    batch so far are estimated and handed on before the error is raised (:func:`flush_on_error`).
    """

    def items(pairs: Iterator[tuple[Record, np.ndarray]]) -> Iterator[tuple[Any, np.ndarray, np.ndarray, np.ndarray]]:
        for rec, image in pairs:
            sel, boxes, scores = _frame_boxes(rec)
            yield (rec, sel), image, boxes, scores

    def estimate(pairs: Iterator[tuple[Record, np.ndarray]]) -> Iterator[Record]:
        for (rec, sel), result in estimator.estimate_many(items(pairs)):
            yield apply_result(rec, sel, result)

    return flush_on_error(frames_with_images(records, video), estimate)


@dataclass
class Pose2DStep:
    """Top-down keypoints in every box (a :class:`posetool.engine.chain.Step`)."""

    model: str = SYNTH.pose
    device: str = "auto"
    weights: str | None = None
    batch_size: int = 16
    options: Any = None  # TopDownOptions; default: the official test options
    runtime: str = "auto"  # torch, litert or auto for .tflite models (posetool.hub.litert)
    name: str = "pose2d"

    def start(self, header: Record) -> None:
        """Load the model, set the stream's skeleton to the model's and append the provenance entry."""
        from posetool.hub.registry import get_model_spec

        if self.model == "blazepose":  # the detector's name; its landmark model is blazepose_full
            self.model = "blazepose_full"
        spec = get_model_spec(self.model, task="pose2d")
        self.blazepose = spec.runner is not None  # a model with its own runner: BlazePose landmarks on ROIs
        if self.blazepose:
            from posetool.hub.loader import load_model

            loaded = load_model(self.model, task="pose2d", weights=self.weights, device=self.device)
            self.landmarks = spec.resolve_runner().from_loaded(loaded, batch_size=self.batch_size, runtime=self.runtime)
            skel, sha, params = "coco17", self.landmarks.weights_sha256, {"min_presence": 0.5, "batch_size": self.batch_size,
                                                                          "runtime": self.landmarks.runtime}
        else:
            from posetool.errors import UsageError
            from posetool.hub.loader import load_model

            if self.runtime == "litert":
                raise UsageError(f"--runtime litert applies to blazepose_full, not {self.model}")

            self.options = self.options or TopDownOptions()
            loaded = load_model(self.model, task="pose2d", weights=self.weights, device=self.device)
            self.estimator = TopDownEstimator.from_loaded(loaded, self.options, batch_size=self.batch_size)
            skel, sha = self.estimator.skeleton.name, loaded.weights_sha256
            params = {**self.estimator.options.as_params(), "batch_size": self.batch_size}  # decoding resolved
        if header.get("skeleton") not in (None, skel):
            console.warn(f"stream skeleton {header.get('skeleton')} is replaced by the model's {skel}")
        header["skeleton"] = skel
        header.setdefault("stages", []).append(make_stage("pose2d", model=self.model, weights_sha256=sha, params=params))

    def frames(self, records: Iterator[Record], video: Any) -> Iterator[Record]:
        if self.blazepose:
            from posetool.pose2d.blazepose_stage import blazepose_frames

            return blazepose_frames(records, frames_of(video), self.landmarks)
        return pose_frames(records, frames_of(video), self.estimator)
