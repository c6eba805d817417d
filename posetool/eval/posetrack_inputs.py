"""Load and align the inputs of ``posetool eval track``.

Ground truth and predictions may each be PoseTrack JSON (a file, or a folder of one file per
sequence, 2018 or 2017 format) or a posetool stream. Pairs:

- JSON vs JSON: sequences pair by file name, frames by position (as poseval does); every GT
  sequence needs its prediction file and both must have the same number of images.
- stream vs JSON: the GT must be one sequence; each GT image is matched to a stream frame by
  :mod:`posetool.eval.frames`; a GT image beyond the stream's last frame is an error.
- stream vs stream: frames pair by frame index; the frame counts must agree.

Stream instances become PoseTrack people: keypoints come from ``keypoints_posetrack18`` when an
instance carries it, else from ``keypoints`` in the header's skeleton (``posetrack18`` as is,
``coco17`` through :func:`posetool.skeletons.map_keypoints`). A predicted keypoint is present
when its coordinates are not null (and not poseval's ``0, 0, 0`` placeholder); its score is the
third value. A GT keypoint is present when its third value (visibility) is > 0. GT head boxes
come from ``head_bbox`` ``[x1, y1, x2, y2]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from posetool.data.posetrack import (
    PoseTrackFrame,
    PoseTrackPerson,
    PoseTrackSequence,
    is_posetrack_json,
    read_posetrack,
)
from posetool.errors import PosetoolError
from posetool.eval.frames import image_frame_index
from posetool.skeletons import has_mapping, map_keypoints
from posetool.stream.encoding import points_array


def _as_points(value: Any, k: int, where: str) -> np.ndarray:
    a = points_array(value)
    if a.shape != (k, 3):
        raise PosetoolError(f"{where}: expected {k}×3 keypoints, got shape {a.shape}")
    return a


def stream_instances_to_people(
    instances: list[dict[str, Any]], skeleton: str | None, *, ground_truth: bool, where: str
) -> list[PoseTrackPerson]:
    """Convert the instances of one stream frame to PoseTrack people (posetrack18 slots)."""
    people: list[PoseTrackPerson] = []
    for k, inst in enumerate(instances):
        w = f"{where}, instance {k}"
        if inst.get("keypoints_posetrack18") is not None:
            kps = _as_points(inst["keypoints_posetrack18"], 17, w + " keypoints_posetrack18")
        elif inst.get("keypoints") is not None:
            if skeleton is None:
                raise PosetoolError(f"{w}: the stream header names no skeleton; cannot read its keypoints")
            if not has_mapping(skeleton, "posetrack18"):
                raise PosetoolError(
                    f"{w}: skeleton {skeleton!r} cannot be evaluated as PoseTrack (use coco17 or posetrack18 keypoints)"
                )
            raw = points_array(inst["keypoints"])
            kps = map_keypoints(raw, skeleton, "posetrack18") if skeleton != "posetrack18" else raw
        else:
            continue  # an instance without keypoints (a bare detection) is not a pose
        finite = np.isfinite(kps[:, 0]) & np.isfinite(kps[:, 1])
        if ground_truth:
            present = finite & (np.nan_to_num(kps[:, 2]) > 0)
        else:
            present = finite & ~((kps[:, 0] == 0) & (kps[:, 1] == 0) & (np.nan_to_num(kps[:, 2]) == 0))
        head = inst.get("head_bbox")
        tid = inst.get("track_id")
        people.append(PoseTrackPerson(
            track_id=None if tid is None else int(tid), keypoints=np.nan_to_num(kps), present=present,
            scores=None if ground_truth else np.nan_to_num(kps[:, 2], nan=0.0),
            head_box=None if head is None else np.asarray(head, dtype=np.float64),
            box=None if inst.get("bbox") is None else np.asarray(inst["bbox"], dtype=np.float64),
        ))
    return people


def read_stream_sequence(path: str, *, ground_truth: bool) -> PoseTrackSequence:
    """A pose stream as one PoseTrack sequence; frame i of the result is stream frame i."""
    from posetool.stream import StreamReader

    reader = StreamReader(path)
    skeleton = reader.header.get("skeleton")
    frames: list[PoseTrackFrame] = []
    for rec in reader.frames():
        f = int(rec["frame"])
        if f != len(frames):
            raise PosetoolError(f"{path}: frame {f} follows frame {len(frames) - 1}; streams must number frames 0, 1, 2, …")
        people = stream_instances_to_people(rec.get("instances") or [], skeleton, ground_truth=ground_truth,
                                            where=f"{path}: frame {f}")
        frames.append(PoseTrackFrame(file_name=f"{f:06d}", image_id=f, people=people, frame_index=f))
    return PoseTrackSequence(name=Path(path).name.split(".")[0], frames=frames, path=path)


def _frame_of(fr: PoseTrackFrame, position: int) -> int:
    f = image_frame_index({"frame_index": fr.frame_index, "file_name": fr.file_name, "id": fr.image_id})
    return position if f is None else f


def _by_stream_frames(json_seq: PoseTrackSequence, stream_seq: PoseTrackSequence, json_is_gt: bool) -> list[PoseTrackFrame]:
    """Stream frames reordered to follow the JSON sequence's images."""
    out = []
    n = len(stream_seq.frames)
    for pos, fr in enumerate(json_seq.frames):
        f = _frame_of(fr, pos)
        if not 0 <= f < n:
            who = "ground-truth" if json_is_gt else "prediction"
            raise PosetoolError(
                f"{json_seq.path}: {who} image {fr.file_name or fr.image_id!r} is frame {f}, "
                f"but {stream_seq.path} has {n} frames (0..{n - 1})"
            )
        out.append(stream_seq.frames[f])
    return out


def load_track_inputs(pred: str, gt: str) -> list[tuple[str, list[PoseTrackFrame], list[PoseTrackFrame]]]:
    """(sequence name, GT frames, prediction frames) for every sequence to evaluate."""
    gt_json, pr_json = is_posetrack_json(gt), is_posetrack_json(pred)
    gts = read_posetrack(gt) if gt_json else [read_stream_sequence(gt, ground_truth=True)]
    if not any(g.frames for g in gts):  # every metric would divide by zero and print as '–'
        raise PosetoolError(f"{gt}: the ground truth holds no frames; nothing to evaluate (check --gt)")
    prs = read_posetrack(pred) if pr_json else [read_stream_sequence(pred, ground_truth=False)]
    if gt_json and pr_json:
        by_name = {p.name: p for p in prs}
        out = []
        for g in gts:
            p = by_name.get(g.name)
            if p is None:
                raise PosetoolError(f"no prediction for ground-truth sequence {g.name} ({g.path}); expected {g.name}.json in {pred}")
            if len(p.frames) != len(g.frames):
                raise PosetoolError(
                    f"sequence {g.name}: {p.path} has {len(p.frames)} images but {g.path} has {len(g.frames)}"
                )
            out.append((g.name, g.frames, p.frames))
        return out
    if gt_json and len(gts) != 1:
        raise PosetoolError(f"{gt} holds {len(gts)} sequences but the predictions are one stream; pass one sequence file")
    if not pr_json and len(prs) != 1:
        raise PosetoolError(f"{pred} holds {len(prs)} sequences but the ground truth is one stream")
    g, p = gts[0], prs[0]
    if gt_json and not pr_json:
        return [(g.name, g.frames, _by_stream_frames(g, p, json_is_gt=True))]
    if pr_json and not gt_json:
        if len(prs) != 1:
            raise PosetoolError(f"{pred} holds {len(prs)} sequences but the ground truth is one stream")
        order = {_frame_of(fr, i): fr for i, fr in enumerate(p.frames)}
        return [(g.name, g.frames, [order.get(i, PoseTrackFrame(f"{i:06d}", i)) for i in range(len(g.frames))])]
    if len(p.frames) != len(g.frames):
        raise PosetoolError(f"{pred} has {len(p.frames)} frames but {gt} has {len(g.frames)}; evaluate streams of the same video")
    return [(g.name, g.frames, p.frames)]
