"""``posetool pose2d --model blazepose_full``: MediaPipe's landmark model inside each box.

Each instance's region is the rotated ROI the BlazePose detector stored (``blazepose_roi``), as
MediaPipe crops it, or, for boxes from any other detector, the box's square ROI
(:func:`~posetool.detect.roi.roi_from_box`). Per instance the stage writes ``keypoints``
in coco17 (the stream's layout, confidence = landmark visibility), ``keypoints_blazepose33``
(33 × x, y, visibility), ``world_landmarks`` (33 × 3 metres, hip-centred), ``score`` = pose
presence and ``box_score``. As MediaPipe, poses with presence below ``min_presence`` are dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from posetool.video.align import frames_with_images
from posetool.detect.roi import RotatedRect, roi_from_box
from posetool.pose2d.blazepose import BlazePoseLandmarks
from posetool.stream import to_plain

Record = dict[str, Any]


def _roi(inst: Record) -> RotatedRect:
    roi = inst.get("blazepose_roi")
    if roi:
        (cx, cy), (w, h) = roi["center"], roi["size"]
        return RotatedRect(cx, cy, w, h, roi.get("rotation", 0.0))
    return roi_from_box(inst["bbox"])


def blazepose_frames(records: Any, video: Any, landmarks: BlazePoseLandmarks, min_presence: float = 0.5) -> Iterator[Record]:
    """Frame records with BlazePose landmarks for every boxed instance (see module docstring)."""
    for rec, image in frames_with_images(records, video):
        people = [i for i, inst in enumerate(rec.get("instances") or []) if inst.get("bbox") is not None]
        if not people:
            yield rec
            continue
        result = landmarks.estimate([image], [[_roi(rec["instances"][i]) for i in people]])[0]
        drop = set()
        for n, i in enumerate(people):
            inst = dict(rec["instances"][i])
            if result.score[n] < min_presence:
                drop.add(i)
                continue
            lm = result.landmarks[n]
            inst["box_score"] = inst.get("score")
            inst["score"] = float(result.score[n])
            inst["keypoints"] = to_plain(np.round(result.coco17[n], 4))
            inst["keypoints_blazepose33"] = to_plain(np.round(lm[:, [0, 1, 3]], 4))
            inst["world_landmarks"] = to_plain(np.round(result.world[n], 5))
            rec["instances"][i] = inst
        rec["instances"] = [inst for i, inst in enumerate(rec["instances"]) if i not in drop]
        yield rec
