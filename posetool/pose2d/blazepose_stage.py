"""``posetool pose2d --model blazepose_full``: MediaPipe's landmark model inside each box.

Each instance's region (first that applies):

1. the rotated ROI the BlazePose detector stored (``blazepose_roi``), as MediaPipe crops it;
2. for a box with coco17 ``keypoints`` (MoveNet's, or an earlier pose stage's), MediaPipe's ROI
   rebuilt from the hips and shoulders (:func:`~posetool.detect.roi.keypoints_roi`);
3. the box's upright square (:func:`~posetool.detect.roi.roi_from_box`).

Per instance the stage writes ``keypoints`` in coco17 (the stream's layout, confidence = landmark
visibility), ``keypoints_blazepose33`` (33 × x, y, visibility), ``world_landmarks`` (33 × 3
metres, hip-centred), ``score`` = pose presence and ``box_score``. As MediaPipe, a pose whose
presence is below ``min_presence`` is not used: an instance that came with keypoints (MoveNet's)
keeps them, marked ``"pose_source": "detector"``; one without is dropped. Crops are batched across
frames (up to ``frames_per_batch`` frames at a time).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from posetool.detect.roi import RotatedRect, keypoints_roi, roi_from_box
from posetool.engine.flush import flush_on_error
from posetool.pose2d.blazepose import BlazePoseLandmarks, LandmarkResult
from posetool.stream import to_plain
from posetool.video.align import frames_with_images

Record = dict[str, Any]


def _coco17(inst: Record) -> np.ndarray | None:
    """The instance's incoming keypoints as a (17, 3) float array (missing values NaN), if coco17."""
    kps = inst.get("keypoints")
    if not kps or len(kps) != 17:
        return None
    return np.asarray([[np.nan if v is None else float(v) for v in k[:3]] for k in kps], dtype=np.float64)


def instance_roi(inst: Record) -> tuple[RotatedRect, str]:
    """The landmark model's region for one instance and where it came from (see the module docstring)."""
    roi = inst.get("blazepose_roi")
    if roi:
        (cx, cy), (w, h) = roi["center"], roi["size"]
        return RotatedRect(cx, cy, w, h, roi.get("rotation", 0.0)), "detector"
    kps = _coco17(inst)
    if kps is not None:
        from_kps = keypoints_roi(kps)
        if from_kps is not None:
            return from_kps, "keypoints"
    return roi_from_box(inst["bbox"]), "box"


def apply_landmarks(rec: Record, people: list[int], result: LandmarkResult, min_presence: float) -> Record:
    """Write the landmarks of ``people`` (instance indices) into ``rec`` (in place; also returned)."""
    drop = set()
    for n, i in enumerate(people):
        inst = dict(rec["instances"][i])
        if result.score[n] < min_presence:
            if _coco17(inst) is None:
                drop.add(i)
            else:
                inst["pose_source"] = "detector"
                inst["pose_presence"] = round(float(result.score[n]), 4)
                rec["instances"][i] = inst
            continue
        lm = result.landmarks[n]
        inst["box_score"] = inst.get("score")
        inst["score"] = float(result.score[n])
        inst["keypoints"] = to_plain(np.round(result.coco17[n], 4))
        inst["keypoints_blazepose33"] = to_plain(np.round(lm[:, [0, 1, 3]], 4))
        inst["world_landmarks"] = to_plain(np.round(result.world[n], 5))
        rec["instances"][i] = inst
    rec["instances"] = [inst for i, inst in enumerate(rec["instances"]) if i not in drop]
    return rec


def blazepose_frames(records: Any, video: Any, landmarks: BlazePoseLandmarks, min_presence: float = 0.5,
                     frames_per_batch: int = 8) -> Iterator[Record]:
    """Frame records with BlazePose landmarks for every boxed instance (see module docstring).

    If the stream or the video breaks, the frames gathered so far are estimated and handed on
    before the error is raised (:func:`~posetool.engine.flush.flush_on_error`).
    """

    def estimate(chunk: list[tuple[Record, np.ndarray, list[int]]]) -> Iterator[Record]:
        rois = [[instance_roi(rec["instances"][i])[0] for i in people] for rec, _, people in chunk]
        results = landmarks.estimate([image for _, image, _ in chunk], rois)
        for (rec, _, people), result in zip(chunk, results):
            yield apply_landmarks(rec, people, result, min_presence) if people else rec

    def run(pairs: Iterator[tuple[Record, np.ndarray]]) -> Iterator[Record]:
        chunk: list[tuple[Record, np.ndarray, list[int]]] = []
        crops = 0
        for rec, image in pairs:
            people = [i for i, inst in enumerate(rec.get("instances") or []) if inst.get("bbox") is not None]
            chunk.append((rec, image, people))
            crops += len(people)
            if crops >= landmarks.batch_size or len(chunk) >= frames_per_batch:
                yield from estimate(chunk)
                chunk, crops = [], 0
        if chunk:
            yield from estimate(chunk)

    return flush_on_error(frames_with_images(records, video), run)
