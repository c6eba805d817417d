"""Which stream frame a ground-truth image is.

A posetool stream numbers its frames 0, 1, 2, … Ground-truth files (COCO, PoseTrack) list
images. The convention, checked in this order for each GT image:

1. the image has a ``frame_index`` field: that is its frame;
2. else its ``file_name`` ends in a number (``000012.jpg``, ``frame_12.png``,
   ``images/val/003418_mpii_test/000012.jpg``): that number is its frame;
3. else its integer ``id`` minus one (COCO ids usually start at 1).

``posetool synth`` writes all three consistently (id = frame + 1, ``{frame:06d}.jpg``,
``frame_index``), and PoseTrack's own file names follow rule 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from posetool.errors import PosetoolError

_TRAILING_NUMBER = re.compile(r"(\d+)\D*$")


def image_frame_index(image: dict[str, Any]) -> int | None:
    """The stream frame of a GT image record (keys ``frame_index``, ``file_name``, ``id``), or None."""
    if image.get("frame_index") is not None:
        return int(image["frame_index"])
    name = image.get("file_name")
    if name:
        stem = PurePosixPath(str(name).replace("\\", "/")).stem
        m = _TRAILING_NUMBER.search(stem)
        if m:
            return int(m.group(1))
    iid = image.get("id")
    if isinstance(iid, int) and not isinstance(iid, bool):
        return iid - 1
    return None


def frames_of_images(images: Iterable[dict[str, Any]], where: str) -> dict[Any, int]:
    """Map each GT image id to its stream frame; two images on one frame is an error."""
    out: dict[Any, int] = {}
    seen: dict[int, Any] = {}
    for im in images:
        f = image_frame_index(im)
        if f is None:
            raise PosetoolError(
                f"{where}: image {im.get('id')!r} has no frame_index, no number in its file_name and no integer id; "
                "cannot tell which stream frame it is"
            )
        if f in seen:
            raise PosetoolError(
                f"{where}: images {seen[f]!r} and {im.get('id')!r} both map to stream frame {f} "
                "(add a frame_index field to each image)"
            )
        seen[f] = im.get("id")
        out[im.get("id")] = f
    return out
