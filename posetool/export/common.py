"""Helpers shared by the exporters: keypoint arrays in a wanted layout, output files."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from posetool.errors import PosetoolError
from posetool.skeletons import has_mapping, map_keypoints
from posetool.stream.encoding import points_array


def keypoints_as(inst: dict, src: str | None, dst: str) -> np.ndarray | None:
    """An instance's keypoints (K, 3) in layout ``dst`` (NaN where missing), or None without keypoints.

    Instances that carry ``keypoints_<dst>`` (as synth ground truth carries
    ``keypoints_posetrack18``) use them as they are.
    """
    own = inst.get(f"keypoints_{dst}")
    kps = own if own is not None else inst.get("keypoints")
    if kps is None:
        return None
    arr = points_array(kps)
    if own is not None or src == dst:
        return arr
    if src is None or not has_mapping(src, dst):
        raise PosetoolError(f"stream skeleton {src!r} cannot be exported as {dst} keypoints (no mapping)")
    return map_keypoints(arr, src, dst)


def write_json(path: str, obj: Any) -> None:
    """Write JSON to ``path`` (``-``: stdout); NaN never appears (callers pass plain values)."""
    text = json.dumps(obj, allow_nan=False)
    if path == "-":
        import sys

        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
