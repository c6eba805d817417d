"""The ``correspond`` stage: keypoint correspondences from frame t−1 into frame t, written into frame t.

For each frame t whose previous stream frame is t−1, every instance i of frame t−1 with keypoints
is queried; frame t's record gets ``correspondences``: a list of entries

``{"source": i, "keypoints": K×3 [x, y, affinity] (frame-t pixels; null where i lacks the keypoint),
"at_instances": N×K}`` — each refined map read at the same keypoint of each instance j of frame t
(null where j lacks the keypoint, a row of nulls for an instance without keypoints) —

the contract :mod:`posetool.track.similarity` reads. The first frame, and a frame after a gap in
the stream, get an empty list. Memory: one frame of look-back (record, image, and in ``frame``
mode its features).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from posetool.correspond.infer import CorrespondenceEstimator
from posetool.errors import StreamError, VideoError
from posetool.stream import StreamReader, to_plain
from posetool.stream.encoding import points_array

Record = dict[str, Any]


def instance_keypoints(inst: Record) -> np.ndarray | None:
    """(K, 3) float array of an instance's keypoints (NaN for nulls), or None without keypoints."""
    kp = inst.get("keypoints")
    if not kp:
        return None
    return points_array(kp)


def frames_with_images(reader: StreamReader, video: Any) -> Iterator[tuple[Record, np.ndarray]]:
    """Pair each frame record with its video frame (frames must increase)."""
    frames = iter(video)
    current = None
    for rec in reader.frames():
        index = int(rec["frame"])
        while current is None or current.index < index:
            try:
                current = next(frames)
            except StopIteration:
                raise VideoError(f"{video.path}: video ended before stream frame {index}; pass the video the "
                                 "stream was made from (--video)") from None
        if current.index != index:
            raise StreamError(f"stream frame {index} comes after video frame {current.index}; frames must increase")
        yield rec, current.image


def query_people(rec: Record, min_confidence: float) -> tuple[list[int], list[np.ndarray], list[Any]]:
    """Instances of a frame to query: indices, keypoints (NaN where absent or ≤ ``min_confidence``), boxes."""
    idx, kps, boxes = [], [], []
    for i, inst in enumerate(rec.get("instances") or []):
        kp = instance_keypoints(inst)
        if kp is None:
            continue
        bad = ~np.isfinite(kp).all(1) | (np.nan_to_num(kp[:, 2], nan=0.0) <= min_confidence)
        kp = kp.copy()
        kp[bad] = np.nan
        if bad.all():
            continue
        idx.append(i)
        kps.append(kp)
        boxes.append(inst.get("bbox"))
    return idx, kps, boxes


def people_keypoints(rec: Record, k: int) -> np.ndarray:
    """(N, K, 3) keypoints of all instances of a frame (NaN rows for instances without keypoints)."""
    inst = rec.get("instances") or []
    out = np.full((len(inst), k, 3), np.nan)
    for j, x in enumerate(inst):
        kp = instance_keypoints(x)
        if kp is not None and len(kp) == k:
            out[j] = kp
    return out


def correspondence_entries(estimator: CorrespondenceEstimator, prev: Record, prev_image: np.ndarray, rec: Record,
                           image: np.ndarray, min_confidence: float = 0.0,
                           sources: list[int] | None = None) -> list[Record]:
    """The ``correspondences`` list of ``rec`` (frame t) for the instances of ``prev`` (frame t−1).

    ``sources`` restricts the queried instances of ``prev`` (default: all with keypoints).
    """
    idx, kps, boxes = query_people(prev, min_confidence)
    if sources is not None:
        keep = [n for n, i in enumerate(idx) if i in set(sources)]
        idx, kps, boxes = [idx[n] for n in keep], [kps[n] for n in keep], [boxes[n] for n in keep]
    if not idx:
        return []
    k = len(kps[0])
    people = people_keypoints(rec, k)
    results = estimator.correspond(prev_image, image, kps, boxes, people,
                                   frame_ids=(int(prev["frame"]), int(rec["frame"])))
    entries = []
    for i, res in zip(idx, results):
        at = [to_plain(np.round(res.at_instances[j], 4)) for j in range(len(people))]
        entries.append({"source": i, "keypoints": to_plain(np.round(res.keypoints, 3)), "at_instances": at})
    return entries


def correspond_frames(reader: StreamReader, video: Any, estimator: CorrespondenceEstimator,
                      min_confidence: float = 0.0, progress: Any = None) -> Iterator[Record]:
    """Frame records with ``correspondences`` added (see module docstring)."""
    prev: Record | None = None
    prev_image: np.ndarray | None = None
    for rec, image in frames_with_images(reader, video):
        if prev is not None and int(prev["frame"]) == int(rec["frame"]) - 1:
            rec["correspondences"] = correspondence_entries(estimator, prev, prev_image, rec, image, min_confidence)
        else:
            rec["correspondences"] = []
        prev, prev_image = rec, image
        if progress is not None:
            progress()
        yield rec
