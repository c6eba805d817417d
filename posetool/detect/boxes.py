"""Boxes of one frame and the box operations detection needs (IoU, greedy NMS, clipping)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Detections:
    """People found in one frame.

    Attributes:
        boxes: (N, 4) float64 ``[x1, y1, x2, y2]`` in pixels.
        scores: (N,) float64 in [0, 1].
        track_ids: (N,) int64 when the backend knows identities (ground truth), else ``None``.
        extras: per-box dicts merged into each instance record (e.g. BlazePose keypoints).
    """

    boxes: np.ndarray
    scores: np.ndarray
    track_ids: np.ndarray | None = None
    extras: list[dict] = field(default_factory=list)

    @staticmethod
    def empty() -> "Detections":
        return Detections(np.zeros((0, 4)), np.zeros(0))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, keep: np.ndarray) -> "Detections":
        """The subset at indices ``keep`` (in that order)."""
        keep = np.asarray(keep, dtype=np.int64)
        return Detections(
            self.boxes[keep], self.scores[keep],
            None if self.track_ids is None else self.track_ids[keep],
            [self.extras[i] for i in keep] if self.extras else [],
        )

    def to_instances(self) -> list[dict]:
        """Instance records for a frame."""
        out = []
        for i in range(len(self)):
            inst: dict = {"bbox": [float(v) for v in self.boxes[i]], "score": float(self.scores[i])}
            if self.track_ids is not None:
                inst["track_id"] = int(self.track_ids[i])
            if self.extras:
                inst.update(self.extras[i])
            out.append(inst)
        return out


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU between every box of ``a`` (N, 4) and ``b`` (M, 4), ``[x1, y1, x2, y2]``; returns (N, M)."""
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.clip(rb - lt, 0, None).prod(axis=2)
    area_a = np.clip(a[:, 2:] - a[:, :2], 0, None).prod(axis=1)
    area_b = np.clip(b[:, 2:] - b[:, :2], 0, None).prod(axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_thr: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices kept, highest score first.

    A box is suppressed when its IoU with an already kept box exceeds ``iou_thr``.
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    if len(order) == 0:
        return order
    iou = box_iou(boxes, boxes)
    keep: list[int] = []
    suppressed = np.zeros(len(order), dtype=bool)
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= iou[i] > iou_thr
    return np.asarray(keep, dtype=np.int64)


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Clip (N, 4) boxes to the image ``[0, width] × [0, height]``."""
    out = np.asarray(boxes, dtype=np.float64).copy()
    out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
    out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
    return out


def postprocess(dets: Detections, score_thr: float, nms_thr: float | None, max_people: int,
                width: int, height: int) -> Detections:
    """Threshold scores, clip to the image, drop empty boxes, NMS, keep the ``max_people`` best."""
    if len(dets) == 0:
        return dets
    dets = Detections(clip_boxes(dets.boxes, width, height), dets.scores, dets.track_ids, dets.extras)
    wh = dets.boxes[:, 2:] - dets.boxes[:, :2]
    ok = np.flatnonzero((dets.scores >= score_thr) & (wh > 1).all(axis=1))
    dets = dets.select(ok)
    keep = nms(dets.boxes, dets.scores, nms_thr) if nms_thr is not None else np.argsort(-dets.scores, kind="stable")
    return dets.select(keep[:max_people])
