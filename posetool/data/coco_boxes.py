"""Person-box datasets for detector training: COCO-format JSON + images, or synth output folders.

Every non-crowd annotation of the person category counts (with or without keypoints), unlike
keypoint training. Boxes are ``[x1, y1, x2, y2]`` in image pixels. Images come from the same
stores as keypoint training (:mod:`posetool.data.coco_keypoints`): a folder, or the frames of a
synth ``video.mp4`` matched by :mod:`posetool.eval.frames`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from posetool.data.coco import read_coco_json
from posetool.data.coco_keypoints import FolderImages, VideoFrames, _coco_images_root
from posetool.errors import PosetoolError, UsageError


@dataclass
class BoxDataset:
    """Images with their person boxes: ``items`` are (image key, (N, 4) boxes, image id)."""

    name: str
    gt_path: Path
    items: list[tuple[Any, np.ndarray, Any]]
    images: Any

    def image(self, key: Any) -> np.ndarray:
        return self.images(key)


def _boxes_by_image(data: dict[str, Any]) -> dict[Any, np.ndarray]:
    cats = [c["id"] for c in data.get("categories") or [] if c.get("name", "person") == "person"] or [1]
    table: dict[Any, list[list[float]]] = defaultdict(list)
    for ann in data["annotations"]:
        if ann.get("iscrowd", 0) or ann.get("category_id", cats[0]) not in cats:
            continue
        x, y, w, h = (float(v) for v in ann["bbox"])
        if w > 1 and h > 1:
            table[ann["image_id"]].append([x, y, x + w, y + h])
    return {k: np.asarray(v, dtype=np.float64) for k, v in table.items()}


def open_box_dataset(spec: str) -> BoxDataset:
    """A synth output folder (``gt_coco.json`` + ``video.mp4``), a COCO JSON, or ``ANN.json=IMAGES_DIR``.

    Images without any person stay in the set (as negatives).
    """
    from posetool.eval.frames import frames_of_images

    images_root = None
    if "=" in spec and spec.split("=", 1)[0].endswith(".json"):
        spec, images_root = spec.split("=", 1)
    path = Path(spec)
    if path.is_dir():
        gt = path / "gt_coco.json"
        if not gt.is_file():
            raise UsageError(f"{spec}: folder has no gt_coco.json; pass a synth output folder or a COCO JSON")
    elif path.suffix == ".json":
        gt = path
    else:
        raise UsageError(f"{spec}: not a dataset; pass a synth output folder, a COCO JSON, or ANN.json=IMAGES_DIR")
    data = read_coco_json(gt)
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise PosetoolError(f"{gt}: not a COCO dataset (needs 'images' and 'annotations')")
    boxes = _boxes_by_image(data)
    video = next((path / n for n in ("video.mp4", "video.avi", "video.mkv") if path.is_dir() and (path / n).is_file()), None)
    if video is not None:
        key_of = frames_of_images(data["images"], str(gt))
        store: Any = VideoFrames(video, sorted(set(key_of.values())))
    else:
        key_of = {im["id"]: im["file_name"] for im in data["images"]}
        root = Path(images_root) if images_root else (path / "images" if path.is_dir() else _coco_images_root(gt, data))
        store = FolderImages(root)
    items = [(key_of[im["id"]], boxes.get(im["id"], np.zeros((0, 4))), im["id"]) for im in data["images"]]
    return BoxDataset(str(spec), gt, items, store)
