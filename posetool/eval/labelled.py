"""Detection and pose coverage on sparsely hand-labelled frames (a few frames of a long video).

The labels are a MOTChallenge txt file (1-based boxes) holding only the labelled frames; its
confidence column is the "consider" flag: 0 marks people labelled but too small or too hidden
to count (predictions matched to them are neither true nor false positives, missing them is no
miss), as MOTChallenge treats its ignored boxes. Only frames present in the labels are scored.

- :func:`box_scores`: precision and recall of predicted boxes at an IoU threshold (one-to-one
  matching maximising total IoU, pairs below the threshold excluded);
- :func:`pose_coverage`: the share of considered people whose matched prediction has at least
  ``min_keypoints`` keypoints with confidence ≥ ``min_confidence``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.detect.boxes import box_iou


@dataclass
class LabelledFrames:
    """Hand labels: per 0-based frame, boxes (N, 4) ``[x1, y1, x2, y2]`` (0-based pixels) and a
    (N,) bool ``consider`` flag."""

    boxes: dict[int, np.ndarray]
    consider: dict[int, np.ndarray]

    @classmethod
    def read(cls, path: str) -> LabelledFrames:
        """Read a MOTChallenge txt file of labelled frames (see the module docstring)."""
        from posetool.data.mot import read_mot_txt

        t = read_mot_txt(path)
        xywh = t.boxes_xywh0()
        boxes: dict[int, np.ndarray] = {}
        consider: dict[int, np.ndarray] = {}
        for f in np.unique(t.frames):
            sel = t.frames == f
            b = xywh[sel]
            boxes[int(f) - 1] = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
            consider[int(f) - 1] = t.conf[sel] > 0
        return cls(boxes, consider)

    @property
    def frames(self) -> list[int]:
        return sorted(self.boxes)


def _match(gt: np.ndarray, pred: np.ndarray, iou_thr: float) -> list[tuple[int, int]]:
    """One-to-one (gt, pred) pairs with IoU ≥ ``iou_thr`` maximising the summed IoU."""
    from scipy.optimize import linear_sum_assignment

    if len(gt) == 0 or len(pred) == 0:
        return []
    iou = box_iou(gt, pred)
    cost = np.where(iou >= iou_thr, -iou, 1.0)
    rows, cols = linear_sum_assignment(cost)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= iou_thr]


def _frames_of(records: Iterable[dict[str, Any]], wanted: set[int]) -> dict[int, list[dict[str, Any]]]:
    out = {}
    for rec in records:
        if rec.get("type", "frame") == "frame" and int(rec["frame"]) in wanted:
            out[int(rec["frame"])] = [i for i in rec.get("instances") or [] if i.get("bbox") is not None]
    return out


def _n_confident(inst: dict[str, Any], min_confidence: float) -> int:
    kps = inst.get("keypoints")
    if not kps:
        return 0
    conf = np.asarray([k[2] if k is not None and k[2] is not None else 0.0 for k in kps], dtype=np.float64)
    return int((conf >= min_confidence).sum())


def box_scores(records: Iterable[dict[str, Any]], labels: LabelledFrames, iou_thr: float = 0.5,
               min_score: float = 0.0, all_people: bool = False) -> dict[str, float]:
    """Precision and recall of the boxes of ``records`` (frame records) on the labelled frames.

    ``all_people`` counts the ignored (consider = 0) people like the others. Instances scoring
    below ``min_score`` are left out. Returns tp, fp, fn, precision, recall.
    """
    frames = _frames_of(records, set(labels.frames))
    tp = fp = fn = 0
    for f in labels.frames:
        preds = [i for i in frames.get(f, []) if float(i.get("score") or 0.0) >= min_score]
        pb = np.asarray([i["bbox"] for i in preds], dtype=np.float64).reshape(-1, 4)
        gb, keep = labels.boxes[f], labels.consider[f] | all_people
        pairs = _match(gb, pb, iou_thr)
        matched_gt = {g for g, _ in pairs}
        tp += sum(1 for g, _ in pairs if keep[g])
        fp += len(pb) - len(pairs)  # matches to ignored people count neither way
        fn += sum(1 for g in range(len(gb)) if keep[g] and g not in matched_gt)
    return {"tp": tp, "fp": fp, "fn": fn, "precision": tp / max(tp + fp, 1), "recall": tp / max(tp + fn, 1)}


def pose_coverage(records: Iterable[dict[str, Any]], labels: LabelledFrames, min_keypoints: int = 8,
                  min_confidence: float = 0.5, iou_thr: float = 0.5) -> dict[str, float]:
    """Share of the considered labelled people whose box is matched (IoU ≥ ``iou_thr``) by an
    instance with ≥ ``min_keypoints`` keypoints of confidence ≥ ``min_confidence``.

    Returns people, posed and the fraction ``posed / people``.
    """
    frames = _frames_of(records, set(labels.frames))
    people = posed = 0
    for f in labels.frames:
        preds = frames.get(f, [])
        pb = np.asarray([i["bbox"] for i in preds], dtype=np.float64).reshape(-1, 4)
        keep = labels.consider[f]
        people += int(keep.sum())
        for g, p in _match(labels.boxes[f], pb, iou_thr):
            if keep[g] and _n_confident(preds[p], min_confidence) >= min_keypoints:
                posed += 1
    return {"people": people, "posed": posed, "fraction": posed / max(people, 1)}
