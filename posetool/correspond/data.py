"""Training data for the correspondence network: single images with people's keypoints.

Three kinds of source, one sample list (:class:`posetool.data.coco_keypoints.KeypointDataset`):

- a ``posetool synth`` output folder or a COCO keypoints JSON (real COCO loads as it is) through
  :func:`posetool.data.coco_keypoints.open_keypoint_dataset`;
- a user's own video with a pose stream: ``STREAM`` (the video named in its header) or
  ``STREAM=VIDEO``. Every frame is a single image; each instance's keypoints whose confidence is at
  least ``min_confidence`` are the labels (the pose2d output serves as pseudo ground truth).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from posetool.data.coco_keypoints import KeypointDataset, KeypointSample, VideoFrames, open_keypoint_dataset
from posetool.errors import PosetoolError
from posetool.stream.encoding import points_array

STREAM_SUFFIXES = (".msgpack", ".jsonl", ".mpk")


def load_stream_keypoints(stream: str, video: str | None = None, min_confidence: float = 0.3,
                          min_keypoints: int = 4) -> KeypointDataset:
    """Frames of a video as single images, labelled with the keypoints of a pose stream."""
    from posetool.stream import StreamReader
    from posetool.video.sources import video_for_stream

    samples: list[KeypointSample] = []
    num_joints = 0
    with open(stream, "rb") as fh:
        reader = StreamReader(fh)
        header = reader.header
        for rec in reader.frames():
            for inst in rec.get("instances") or []:
                kp = inst.get("keypoints")
                if not kp:
                    continue
                arr = points_array(kp)
                num_joints = len(arr)
                ok = np.isfinite(arr).all(1) & (arr[:, 2] >= min_confidence)
                if ok.sum() < min_keypoints:
                    continue
                joints = np.zeros((len(arr), 3))
                joints[ok, :2] = arr[ok, :2]
                joints[ok, 2] = 1.0
                box = inst.get("bbox")
                if box is not None:
                    bbox = (float(box[0]), float(box[1]), float(box[2] - box[0]), float(box[3] - box[1]))
                else:
                    lo, hi = joints[ok, :2].min(0), joints[ok, :2].max(0)
                    bbox = (float(lo[0]), float(lo[1]), float(hi[0] - lo[0]), float(hi[1] - lo[1]))
                samples.append(KeypointSample(int(rec["frame"]), int(rec["frame"]), bbox, joints,
                                              bbox[2] * bbox[3]))
    if not samples:
        raise PosetoolError(f"{stream}: no instance with at least {min_keypoints} keypoints of confidence ≥ "
                            f"{min_confidence}; run posetool pose2d first")
    src = video_for_stream(header, video)
    path = getattr(src, "path", video or (header.get("source") or {}).get("path"))
    if hasattr(src, "close"):
        src.close()
    store = VideoFrames(path, sorted({s.key for s in samples}))
    return KeypointDataset(stream, Path(stream), samples, store, num_joints, sorted({s.image_id for s in samples}))


def open_correspondence_dataset(spec: str) -> KeypointDataset:
    """A training source: synth folder, COCO JSON (or ``ANN.json=IMAGES``), ``STREAM`` or ``STREAM=VIDEO``."""
    head, sep, tail = spec.partition("=")
    if head.endswith(STREAM_SUFFIXES):
        return load_stream_keypoints(head, tail if sep else None)
    return open_keypoint_dataset(spec)
