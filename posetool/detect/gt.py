"""The ``gt`` oracle backend: boxes (and track ids) read from ground truth instead of detected.

Reads COCO keypoint/box JSON, PoseTrack18 JSON, MOTChallenge ``gt.txt`` and posetool streams
(e.g. ``posetool synth``'s ``gt.jsonl``). Frames are matched as ``posetool eval`` matches them
(:mod:`posetool.eval.frames`); MOT frame numbers are 1-based. Boxes with no size and MOT rows that
are not pedestrians to evaluate (``conf == 0``) are skipped.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict

import numpy as np

from posetool.detect.boxes import Detections
from posetool.errors import PosetoolError
from posetool.video.sources import Frame

Boxes = dict[int, list[tuple[list[float], int | None]]]  # frame → [(xyxy, track_id)]


def _add(table: Boxes, frame: int, xyxy: list[float], track_id: int | None) -> None:
    if xyxy[2] - xyxy[0] > 0 and xyxy[3] - xyxy[1] > 0:
        table[frame].append(([float(v) for v in xyxy], None if track_id is None else int(track_id)))


def _read_coco(data: dict, path: str) -> Boxes:
    from posetool.eval.frames import frames_of_images

    frame_of = frames_of_images(data.get("images", []), path)
    table: Boxes = defaultdict(list)
    for ann in data.get("annotations", []):
        if ann.get("iscrowd"):
            continue
        if ann.get("image_id") not in frame_of:
            raise PosetoolError(f"{path}: annotation {ann.get('id')!r} refers to unknown image {ann.get('image_id')!r}")
        x, y, w, h = ann["bbox"]
        _add(table, frame_of[ann["image_id"]], [x, y, x + w, y + h], ann.get("track_id"))
    return table


def _read_posetrack(path: str) -> Boxes:
    from posetool.data.posetrack import read_posetrack_json

    seq = read_posetrack_json(path)
    table: Boxes = defaultdict(list)
    for index, frame in enumerate(seq.frames):
        f = frame.frame_index if frame.frame_index is not None else index
        for person in frame.people:
            box = person.box
            if box is None:  # no box: the tight box of the annotated keypoints
                pts = person.keypoints[person.present, :2]
                if len(pts) == 0:
                    continue
                box = np.concatenate([pts.min(0), pts.max(0)])
            _add(table, f, list(box), person.track_id)
    return table


def _read_mot(path: str) -> Boxes:
    table: Boxes = defaultdict(list)
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.replace(" ", "").split(",")
            try:
                frame, tid, x, y, w, h = (float(v) for v in parts[:6])
                conf = float(parts[6]) if len(parts) > 6 else 1.0
            except ValueError:
                raise PosetoolError(f"{path}: line {n}: not a MOTChallenge row (frame,id,left,top,width,height,...)") from None
            if conf == 0:
                continue
            _add(table, int(frame) - 1, [x, y, x + w, y + h], int(tid))
    return table


def _read_stream(path: str) -> Boxes:
    from posetool.stream import StreamReader

    table: Boxes = defaultdict(list)
    for frame in StreamReader(path).frames():
        for inst in frame["instances"]:
            if inst.get("bbox") is not None:
                _add(table, frame["frame"], inst["bbox"], inst.get("track_id"))
    return table


def read_gt_boxes(path: str) -> Boxes:
    """Boxes per frame from a COCO/PoseTrack18 JSON, a MOT txt or a posetool stream."""
    if not path:
        raise PosetoolError("--model gt needs --gt PATH (COCO or PoseTrack18 JSON, MOT gt.txt, or a posetool stream)")
    if not os.path.isfile(path):
        raise PosetoolError(f"{path}: no such ground-truth file")
    if path.endswith(".txt"):
        return _read_mot(path)
    with open(path, "rb") as f:
        first = f.read(1)
    if first and (0x80 <= first[0] <= 0x8F or first[0] in (0xDE, 0xDF)):
        return _read_stream(path)
    try:
        with open(path) as f:
            data = json.load(f)
    except ValueError:
        return _read_stream(path)  # JSON Lines: the reader gives the precise error if it is not a stream
    if isinstance(data, dict) and data.get("type") == "header":
        return _read_stream(path)
    if isinstance(data, dict) and "images" in data and "annotations" in data:
        images = data.get("images") or [{}]
        posetrack = "vid_id" in images[0] or "is_labeled" in images[0] or any(
            "bbox_head" in a for a in data["annotations"][:10])
        return _read_posetrack(path) if posetrack else _read_coco(data, path)
    if isinstance(data, dict) and "annolist" in data:
        return _read_posetrack(path)
    raise PosetoolError(f"{path}: not a COCO or PoseTrack18 JSON (no images/annotations)")


class GtDetector:
    """Replays ground-truth boxes with score 1 and their track ids."""

    name = "gt"
    default_score_thr = 0.0

    def __init__(self, path: str) -> None:
        self.table = read_gt_boxes(path)

    def detect(self, frames: list[Frame]) -> list[Detections]:
        out = []
        for frame in frames:
            rows = self.table.get(frame.index, [])
            if not rows:
                out.append(Detections.empty())
                continue
            boxes = np.array([r[0] for r in rows], dtype=np.float64)
            ids = [r[1] for r in rows]
            track_ids = np.array(ids, dtype=np.int64) if all(i is not None for i in ids) else None
            out.append(Detections(boxes, np.ones(len(rows)), track_ids))
        return out
