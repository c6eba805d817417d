"""COCO keypoint files: ground-truth datasets and results lists (plain JSON, no pycocotools needed).

- :func:`read_coco_json` loads either kind with one clear error for unreadable files.
- :func:`check_keypoint_dataset` checks what pycocotools' keypoint evaluation reads from a
  ground-truth file (``images``, ``categories``, and per annotation ``image_id``,
  ``keypoints``, ``num_keypoints``, ``area``, ``bbox``), so a bad file fails with a message
  naming the annotation instead of a ``KeyError`` deep inside ``COCOeval``.
"""

from __future__ import annotations

import os
from typing import Any

from posetool.data.files import read_json
from posetool.errors import PosetoolError

_ANN_FIELDS = ("image_id", "keypoints", "num_keypoints", "area", "bbox")


def read_coco_json(path: str | os.PathLike[str]) -> Any:
    """The parsed JSON of a COCO dataset (a dict) or results file (a list)."""
    return read_json(path, "a COCO JSON file")


def check_keypoint_dataset(data: Any, where: str) -> dict[str, Any]:
    """Validate a COCO keypoints ground-truth dataset; returns it."""
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise PosetoolError(f"{where}: not a COCO dataset (needs 'images' and 'annotations')")
    if not any("keypoints" in c for c in data.get("categories") or []):
        raise PosetoolError(f"{where}: no category with a 'keypoints' list; not a COCO keypoints file")
    ids = {im.get("id") for im in data["images"]}
    for k, ann in enumerate(data["annotations"]):
        missing = [f for f in _ANN_FIELDS if f not in ann]
        if missing:
            raise PosetoolError(f"{where}: annotations[{k}] lacks {', '.join(missing)}")
        if ann["image_id"] not in ids:
            raise PosetoolError(f"{where}: annotations[{k}] refers to image {ann['image_id']!r}, which is not in images")
    return data


def keypoint_category(data: dict[str, Any]) -> dict[str, Any]:
    """The (first) category with keypoints: the person category."""
    return next(c for c in data["categories"] if "keypoints" in c)
