"""Helpers shared by the exporters: keypoint arrays in a wanted layout, output files."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from posetool.errors import OutputError, PosetoolError
from posetool.skeletons import has_mapping, map_keypoints
from posetool.stream.encoding import points_array


def keypoints_as(inst: dict, src: str | None, dst: str) -> np.ndarray | None:
    """An instance's keypoints (K, 3) in layout ``dst``, or None without keypoints.

    A keypoint is absent (a row of NaN) unless both its coordinates are known: a point with a
    missing x or y has no position, whatever its confidence, and every format writes an absent
    point as absent (COCO ``v = 0``), never as a confident point at 0. Instances that carry
    ``keypoints_<dst>`` (as synth ground truth carries ``keypoints_posetrack18``) use them as they are.
    """
    own = inst.get(f"keypoints_{dst}")
    kps = own if own is not None else inst.get("keypoints")
    if kps is None:
        return None
    arr = absent_where_unplaced(points_array(kps))
    if own is not None or src == dst:
        return arr
    if src is None or not has_mapping(src, dst):
        raise PosetoolError(f"stream skeleton {src!r} cannot be exported as {dst} keypoints (no mapping)")
    return absent_where_unplaced(map_keypoints(arr, src, dst))


def absent_where_unplaced(kps: np.ndarray) -> np.ndarray:
    """(K, 3) keypoints with every row whose x or y is missing set wholly to NaN (absent), as a new array."""
    out = np.array(kps, dtype=np.float64).reshape(-1, 3)
    out[~np.isfinite(out[:, :2]).all(axis=1)] = np.nan
    return out


@contextmanager
def output_file(path: str, binary: bool = False) -> Iterator[IO[Any]]:
    """The export's output (``-``: stdout), opened for writing; any failure to write it raises OutputError.

    A closed downstream pipe stays a :class:`BrokenPipeError`, which the CLI ends quietly on.
    """
    name = "stdout" if path == "-" else path
    try:
        if path == "-":
            out = sys.stdout.buffer if binary else sys.stdout
            yield out
            out.flush()
        else:
            with open(path, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8", "newline": ""})) as f:
                yield f
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{name}: cannot write: {exc.strerror or exc}") from None


def write_json(path: str, obj: Any) -> None:
    """Write JSON to ``path`` (``-``: stdout); NaN never appears (callers pass plain values)."""
    text = json.dumps(obj, allow_nan=False)
    with output_file(path) as out:
        out.write(text + "\n" if path == "-" else text)
