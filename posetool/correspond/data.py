"""Training data for the correspondence network: single images with people's keypoints.

Three kinds of source, one sample list (:class:`posetool.data.coco_keypoints.KeypointDataset`):

- a ``posetool synth`` output folder or a COCO keypoints JSON (real COCO loads as it is) through
  :func:`posetool.data.coco_keypoints.open_keypoint_dataset`;
- a user's own video with a pose stream: ``STREAM`` (the video named in its header) or
  ``STREAM=VIDEO``. Every frame is a single image; each instance's keypoints whose confidence is at
  least ``min_confidence`` are the labels (the pose2d output serves as pseudo ground truth);
- unlabelled footage (a video or an image folder): the real chain labels it first
  (:mod:`posetool.correspond.pseudo`), then it is a stream as above.

A tracked stream also gives **frame pairs** (:class:`TrackedFootage`): a person in frame t−k and the
same track in frame t, beyond the paper's single images.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from posetool.data.coco_keypoints import KeypointDataset, KeypointSample, VideoFrames, open_keypoint_dataset
from posetool.errors import PosetoolError, UsageError
from posetool.stream.encoding import points_array

STREAM_SUFFIXES = (".msgpack", ".jsonl", ".mpk")
# Frames of footage are kept with their longer side at most this (a 1920×1080 frame at 960×540).
MAX_SIDE = 960


@dataclass
class TrackedFootage:
    """Real frame pairs of a tracked stream: for each labelled person-frame t, the frames t−k
    (1 ≤ k ≤ ``max_gap``) where the same track is labelled too.

    ``people[frame][track]`` is (joints (K, 3): x, y, label 0/1; box x, y, w, h); ``pairs`` lists
    (frame t, track, frames t−k); ``images`` reads a frame (shared with the single-image samples).
    """

    name: str
    people: dict[int, dict[Any, tuple[np.ndarray, tuple[float, float, float, float]]]]
    pairs: list[tuple[int, Any, tuple[int, ...]]]
    images: Any

    def image(self, key: int) -> np.ndarray:
        return self.images(key)


@dataclass
class Footage:
    """A labelled video: its people as single images and, when the stream is tracked, as frame pairs."""

    single: KeypointDataset
    tracked: TrackedFootage | None


def _scaled_joints(joints: np.ndarray, scale: float) -> np.ndarray:
    out = joints.copy()
    out[:, :2] *= scale
    return out


def _scaled_box(box: tuple[float, float, float, float], scale: float) -> tuple[float, float, float, float]:
    return (box[0] * scale, box[1] * scale, box[2] * scale, box[3] * scale)


def _scaled(sample: KeypointSample, scale: float) -> KeypointSample:
    return replace(sample, bbox=_scaled_box(sample.bbox, scale), joints=_scaled_joints(sample.joints, scale),
                   area=sample.area * scale * scale)


def load_stream_footage(stream: str, video: str | None = None, min_confidence: float = 0.3, min_keypoints: int = 4,
                        max_gap: int = 0, max_side: int | None = MAX_SIDE) -> Footage:
    """Frames of a video labelled with the keypoints of a pose stream (confidence ≥ ``min_confidence``).

    Every frame is a single image (the paper's pairs); with ``max_gap`` > 0 and a tracked stream,
    person-frames t−k → t of one track are frame pairs as well. Frames larger than ``max_side`` are
    kept downscaled, their labels with them (:class:`~posetool.data.coco_keypoints.VideoFrames`).
    """
    from posetool.stream import StreamReader
    from posetool.video.sources import video_for_stream

    samples: list[KeypointSample] = []
    people: dict[int, dict[Any, tuple[np.ndarray, tuple[float, float, float, float]]]] = {}
    num_joints = 0
    with open(stream, "rb") as fh:
        reader = StreamReader(fh)
        header = reader.header
        for rec in reader.frames():
            frame = int(rec["frame"])
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
                samples.append(KeypointSample(frame, frame, bbox, joints, bbox[2] * bbox[3]))
                # interpolated / recovered people are not measurements: no frame pairs from them
                if inst.get("track_id") is not None and inst.get("origin") in (None, "detected"):
                    people.setdefault(frame, {})[inst["track_id"]] = (joints, bbox)
    if not samples:
        raise PosetoolError(f"{stream}: no person with at least {min_keypoints} keypoints of confidence ≥ "
                            f"{min_confidence} (a stream needs pose2d's keypoints; footage, people the real "
                            f"chain finds)")
    src = video_for_stream(header, video)
    path = getattr(src, "path", video or (header.get("source") or {}).get("path"))
    if hasattr(src, "close"):
        src.close()
    store = VideoFrames(path, sorted({s.key for s in samples}), max_side=max_side)
    if store.scale != 1.0:  # the frames are kept downscaled: so are their labels
        samples = [_scaled(s, store.scale) for s in samples]
        people = {f: {t: (_scaled_joints(j, store.scale), _scaled_box(b, store.scale)) for t, (j, b) in p.items()}
                  for f, p in people.items()}
    single = KeypointDataset(stream, Path(stream), samples, store, num_joints, sorted({s.image_id for s in samples}))
    tracked = None
    if max_gap > 0:
        pairs = [(t, track, earlier) for t in sorted(people) for track in people[t]
                 if (earlier := tuple(t - k for k in range(1, max_gap + 1) if track in people.get(t - k, {})))]
        if pairs:
            tracked = TrackedFootage(stream, people, pairs, store)
    return Footage(single, tracked)


def load_stream_keypoints(stream: str, video: str | None = None, min_confidence: float = 0.3,
                          min_keypoints: int = 4) -> KeypointDataset:
    """Frames of a video as single images, labelled with the keypoints of a pose stream."""
    return load_stream_footage(stream, video, min_confidence, min_keypoints).single


def open_footage(spec: str, pseudo_cache: str | None = None, label_thr: float = 0.5, max_gap: int = 0,
                 device: str = "auto") -> Footage:
    """A training source. Labelled: synth folder, COCO JSON (or ``ANN.json=IMAGES``), ``STREAM`` or
    ``STREAM=VIDEO`` (keypoints ≥ 0.3); unlabelled: a video or image folder, labelled by the real chain
    (:mod:`posetool.correspond.pseudo`, cached in ``pseudo_cache``) with its keypoints ≥ ``label_thr``.
    Tracked streams also give frame pairs up to ``max_gap`` frames apart."""
    from posetool.correspond.pseudo import is_unlabelled_footage, pseudo_label

    head, sep, tail = spec.partition("=")
    if not Path(head).exists():
        raise UsageError(f"{head}: no such file or folder (training data: synth folders, COCO keypoint JSONs, "
                         f"pose streams, videos or image folders)")
    if head.endswith(STREAM_SUFFIXES):
        return load_stream_footage(head, tail if sep else None, max_gap=max_gap)
    if not sep and is_unlabelled_footage(spec):
        if pseudo_cache is None:
            raise UsageError(f"{spec}: unlabelled footage needs a folder for its pseudo-labels")
        stream = pseudo_label(spec, pseudo_cache, device)
        return load_stream_footage(str(stream), spec, min_confidence=label_thr, max_gap=max_gap)
    path = Path(head)
    if not sep and ((path.is_dir() and not (path / "gt_coco.json").exists()) or (path.is_file() and path.suffix != ".json")):
        what = "a folder without gt_coco.json or images" if path.is_dir() else "not a video, stream or COCO JSON"
        raise UsageError(f"{spec}: {what}; correspondence training takes synth folders, COCO keypoint JSONs "
                         f"(or ANN.json=IMAGES_DIR), pose streams (STREAM or STREAM=VIDEO), videos or image folders")
    return Footage(open_keypoint_dataset(spec), None)


def open_correspondence_dataset(spec: str) -> KeypointDataset:
    """A labelled training source as single images: synth folder, COCO JSON (or ``ANN.json=IMAGES``),
    ``STREAM`` or ``STREAM=VIDEO``."""
    return open_footage(spec).single
