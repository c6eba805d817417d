"""COCO-format keypoint datasets for top-down training and evaluation.

Two sources, one sample list:

- a COCO keypoints annotation JSON with its images folder (the real COCO layout loads as it is:
  ``ROOT/annotations/person_keypoints_train2017.json`` finds its images in ``ROOT/train2017``);
- a ``posetool synth`` output folder: ``gt_coco.json`` whose images are frames of ``video.mp4``
  (``frame_index`` / trailing number of ``file_name`` / ``id − 1``, see :mod:`posetool.eval.frames`),
  or files in ``images/`` when synth wrote an image folder.

Samples follow the official ``COCODataset._load_coco_keypoint_annotation_kernal``: crowd
annotations and annotations without labelled keypoints are skipped; boxes are sanitised to
``[x1, y1, x2 − x1, y2 − y1]`` with ``x2 = min(W − 1, x1 + max(0, w − 1))`` and dropped unless
their area is positive; visibility 2 counts as 1.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from posetool.data.coco import check_keypoint_dataset, keypoint_category, read_coco_json
from posetool.errors import PosetoolError, UsageError, VideoError


@dataclass(frozen=True)
class KeypointSample:
    """One person: ``image_id`` in ``gt_path``, image ``key`` for the store, clean ``bbox`` [x, y, w, h],
    ``joints`` (K, 3) x, y, visibility (0/1) and the annotation's ``area``."""

    image_id: Any
    key: Any
    bbox: tuple[float, float, float, float]
    joints: np.ndarray
    area: float


class FolderImages:
    """Images read from a folder by relative file name (EXIF orientation ignored, as upstream)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def __call__(self, key: str) -> np.ndarray:
        path = self.root / key
        image = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
        if image is None:
            raise VideoError(f"{path}: cannot read image (missing or not an image)")
        return image


class VideoFrames:
    """Frames of a video kept in memory as JPEG (quality 95) for random access during training.

    Only the frames in ``wanted`` are kept; a video of 100 frames at 640×480 costs ~6 MB. With
    ``max_side``, larger frames are kept downscaled (area interpolation) so that their longer side is
    ``max_side``: ``scale`` is the factor, and the caller scales its labels by it. Training windows
    shrink a person to ~128 px anyway, and decoding a 1920×1080 JPEG for every pair took longer
    than the network's step.
    """

    def __init__(self, path: str | os.PathLike[str], wanted: Sequence[int], quality: int = 95,
                 max_side: int | None = None) -> None:
        from posetool.video.sources import open_video

        self.path = str(path)
        self.scale = 1.0
        need = set(int(i) for i in wanted)
        self.frames: dict[int, bytes] = {}
        with open_video(self.path) as src:
            if max_side is not None and max(src.width, src.height) > max_side:
                self.scale = max_side / float(max(src.width, src.height))
            size = (round(src.width * self.scale), round(src.height * self.scale))
            for frame in src:
                if frame.index in need:
                    image = frame.image
                    if self.scale != 1.0:
                        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
                    if not ok:
                        raise VideoError(f"{self.path}: cannot re-encode frame {frame.index}")
                    self.frames[frame.index] = buf.tobytes()
        missing = sorted(need - set(self.frames))
        if missing:
            raise VideoError(f"{self.path}: video has no frame {missing[0]} that the annotations refer to")

    def __call__(self, key: int) -> np.ndarray:
        return cv2.imdecode(np.frombuffer(self.frames[key], np.uint8), cv2.IMREAD_COLOR)


@dataclass
class KeypointDataset:
    """Samples of one annotation file, the image reader for their ``key`` and the GT path
    (for COCO evaluation); ``name`` names the dataset in messages."""

    name: str
    gt_path: Path
    samples: list[KeypointSample]
    images: Any
    num_joints: int
    image_ids: list[Any]

    def image(self, key: Any) -> np.ndarray:
        return self.images(key)


def clean_samples(data: dict[str, Any], key_of: dict[Any, Any]) -> list[KeypointSample]:
    """The official per-annotation filtering and box sanitising (see module docstring)."""
    images = {im["id"]: im for im in data["images"]}
    out = []
    for ann in data["annotations"]:
        if ann.get("iscrowd", 0) or ann["image_id"] not in key_of:
            continue
        kps = np.asarray(ann.get("keypoints") or [], dtype=np.float64).reshape(-1, 3)
        if kps.size == 0 or kps.max() == 0:  # upstream: max(obj['keypoints']) == 0
            continue
        im = images[ann["image_id"]]
        width, height = float(im.get("width", 1e9)), float(im.get("height", 1e9))
        x, y, w, h = (float(v) for v in ann["bbox"])
        x1, y1 = max(0.0, x), max(0.0, y)
        x2 = min(width - 1, x1 + max(0.0, w - 1))
        y2 = min(height - 1, y1 + max(0.0, h - 1))
        if not (ann.get("area", 1) > 0 and x2 >= x1 and y2 >= y1):
            continue
        joints = kps.copy()
        joints[:, 2] = np.minimum(joints[:, 2], 1.0)
        out.append(KeypointSample(ann["image_id"], key_of[ann["image_id"]], (x1, y1, x2 - x1, y2 - y1), joints,
                                  float(ann.get("area", (x2 - x1) * (y2 - y1)))))
    return out


def _coco_images_root(ann_path: Path, data: dict[str, Any]) -> Path:
    """Where a COCO annotation file's images are: ``ROOT/<split>`` for ``ROOT/annotations/*_<split>.json``,
    else ``images/`` beside the file, else the file's folder."""
    stem = ann_path.stem
    split = stem.rsplit("_", 1)[-1]
    candidates = [ann_path.parent.parent / split, ann_path.parent.parent / "images" / split,
                  ann_path.parent / split, ann_path.parent / "images", ann_path.parent]
    first = data["images"][0]["file_name"] if data["images"] else None
    for c in candidates:
        if c.is_dir() and (first is None or (c / first).is_file()):
            return c
    raise PosetoolError(
        f"{ann_path}: cannot find its images (looked for {first!r} in {', '.join(str(c) for c in candidates[:3])}); "
        "use the COCO layout ROOT/annotations/*_SPLIT.json with images in ROOT/SPLIT"
    )


def load_coco_keypoints(ann_path: str | os.PathLike[str], images_root: str | os.PathLike[str] | None = None) -> KeypointDataset:
    """A COCO keypoints dataset (annotation JSON + images folder)."""
    path = Path(ann_path)
    data = check_keypoint_dataset(read_coco_json(path), str(path))
    root = Path(images_root) if images_root else _coco_images_root(path, data)
    key_of = {im["id"]: im["file_name"] for im in data["images"]}
    samples = clean_samples(data, key_of)
    joints = len(keypoint_category(data)["keypoints"])
    return KeypointDataset(str(path), path, samples, FolderImages(root), joints, [im["id"] for im in data["images"]])


def load_synth_keypoints(folder: str | os.PathLike[str]) -> KeypointDataset:
    """A ``posetool synth`` output folder: ``gt_coco.json`` + the frames of ``video.mp4``."""
    from posetool.eval.frames import frames_of_images

    folder = Path(folder)
    gt = folder / "gt_coco.json"
    data = check_keypoint_dataset(read_coco_json(gt), str(gt))
    video = next((folder / n for n in ("video.mp4", "video.avi", "video.mkv") if (folder / n).is_file()), None)
    if video is not None:
        samples = clean_samples(data, frames_of_images(data["images"], str(gt)))
        store: Any = VideoFrames(video, sorted({s.key for s in samples}))
    elif (folder / "images").is_dir():  # written with --image-folder
        samples = clean_samples(data, {im["id"]: im["file_name"] for im in data["images"]})
        store = FolderImages(folder / "images")
    else:
        raise PosetoolError(f"{folder}: synth folder has gt_coco.json but neither video.mp4 nor images/")
    joints = len(keypoint_category(data)["keypoints"])
    return KeypointDataset(str(folder), gt, samples, store, joints, [im["id"] for im in data["images"]])


def open_keypoint_dataset(spec: str) -> KeypointDataset:
    """Open a training/validation dataset argument.

    ``spec`` is a synth output folder (has ``gt_coco.json``), a COCO annotation JSON (images found
    by layout), or ``ANNOTATIONS.json=IMAGES_DIR``.
    """
    if "=" in spec and spec.split("=", 1)[0].endswith(".json"):
        ann, root = spec.split("=", 1)
        return load_coco_keypoints(ann, root)
    path = Path(spec)
    if path.is_dir():
        if (path / "gt_coco.json").is_file():
            return load_synth_keypoints(path)
        raise UsageError(f"{spec}: folder has no gt_coco.json; pass a synth output folder or a COCO annotation JSON")
    if path.suffix == ".json":
        return load_coco_keypoints(path)
    raise UsageError(f"{spec}: not a dataset; pass a synth output folder, a COCO annotation JSON, or ANN.json=IMAGES_DIR")
