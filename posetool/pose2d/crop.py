"""Boxes → (centre, scale) and the affine maps between image pixels and network crops.

Follows the official top-down code (HRNet ``lib/utils/transforms.py``, ``COCODataset._xywh2cs``):

- a box is widened or heightened to the network input's aspect ratio, padded ×1.25 and its size
  expressed in units of ``pixel_std`` = 200 px (``scale`` = [w, h] / 200);
- the crop transform maps the centre to the middle of the output and ``scale[0]·200`` image pixels
  to the output width (only the width is used; the aspect fix above makes the height agree),
  rotated by ``rot`` degrees about the centre;
- predictions in heatmap pixels go back to the image with the inverse map computed for the
  heatmap size (``transform_preds``).

The official code solves the map from three point pairs with ``cv2.getAffineTransform``; the map
is a similarity, written here in closed form (float64), which agrees with it to float precision.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

PIXEL_STD = 200.0
BOX_PADDING = 1.25


def box_to_center_scale(
    boxes: np.ndarray,
    aspect_ratio: float,
    padding: float = BOX_PADDING,
    pixel_std: float = PIXEL_STD,
) -> tuple[np.ndarray, np.ndarray]:
    """Centre and scale of boxes, aspect-fixed and padded.

    Args:
        boxes: (N, 4) ``[x1, y1, x2, y2]`` pixels (a single (4,) box is accepted).
        aspect_ratio: network input width / height (192/256 = 0.75).
    Returns:
        centers (N, 2) pixels, scales (N, 2) in units of ``pixel_std``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    centers = np.stack([boxes[:, 0] + w * 0.5, boxes[:, 1] + h * 0.5], axis=1)
    # grow the short side so that w / h == aspect_ratio (the official _xywh2cs)
    wider = w > aspect_ratio * h
    h = np.where(wider, w / aspect_ratio, h)
    w = np.where(~wider & (w < aspect_ratio * h), h * aspect_ratio, w)
    scales = np.stack([w, h], axis=1) / pixel_std * padding
    return centers, scales


def xywh_to_xyxy(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) ``[x, y, w, h]`` → ``[x1, y1, x2, y2]``."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).copy()
    b[:, 2:] += b[:, :2]
    return b


def get_affine_transform(
    center: Sequence[float] | np.ndarray,
    scale: Sequence[float] | np.ndarray,
    rot: float,
    output_size: Sequence[int],
    inv: bool = False,
    pixel_std: float = PIXEL_STD,
) -> np.ndarray:
    """The 2×3 map from image pixels to an ``output_size`` = (width, height) crop (or back if ``inv``).

    ``center`` (2,) pixels, ``scale`` (2,) in ``pixel_std`` units, ``rot`` degrees (the image
    content turns by ``rot`` counter-clockwise in the crop's y-down frame, as in the official code).
    """
    src_w = float(np.asarray(scale, dtype=np.float64).reshape(-1)[0]) * pixel_std
    dst_w, dst_h = float(output_size[0]), float(output_size[1])
    if src_w <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    cx, cy = (float(v) for v in np.asarray(center, dtype=np.float64).reshape(2))
    theta = np.deg2rad(rot)
    cos, sin = np.cos(theta), np.sin(theta)
    # image point  c + R(rot)·v  ↦  crop point  d + (dst_w/src_w)·v  (R as in the official get_dir)
    k = dst_w / src_w
    dx, dy = dst_w * 0.5, dst_h * 0.5
    if not inv:
        a = k * np.array([[cos, sin], [-sin, cos]])  # k · R(rot)ᵀ
        t = np.array([dx, dy]) - a @ np.array([cx, cy])
    else:
        a = (1.0 / k) * np.array([[cos, -sin], [sin, cos]])
        t = np.array([cx, cy]) - a @ np.array([dx, dy])
    return np.concatenate([a, t[:, None]], axis=1)


def affine_points(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Apply a 2×3 map to (..., 2) points (extra trailing columns are kept untouched)."""
    pts = np.asarray(points, dtype=np.float64)
    out = pts.copy()
    out[..., :2] = pts[..., :2] @ matrix[:, :2].T + matrix[:, 2]
    return out


def crop_image(
    image: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    output_size: Sequence[int],
    rot: float = 0.0,
) -> np.ndarray:
    """Warp ``image`` (H, W, C) to the (height, width, C) network crop (bilinear, zero border)."""
    trans = get_affine_transform(center, scale, rot, output_size)
    return cv2.warpAffine(image, trans, (int(output_size[0]), int(output_size[1])), flags=cv2.INTER_LINEAR)


def heatmap_to_image(
    coords: np.ndarray,
    centers: np.ndarray,
    scales: np.ndarray,
    heatmap_size: Sequence[int],
    rotations: np.ndarray | None = None,
) -> np.ndarray:
    """Map (N, K, 2) heatmap coordinates back to image pixels (the official ``transform_preds``).

    ``heatmap_size`` is (width, height); ``rotations`` (N,) degrees (0 at test time).
    """
    coords = np.asarray(coords, dtype=np.float64)
    out = np.empty_like(coords)
    for n in range(coords.shape[0]):
        rot = 0.0 if rotations is None else float(rotations[n])
        trans = get_affine_transform(centers[n], scales[n], rot, heatmap_size, inv=True)
        out[n] = affine_points(coords[n], trans)
    return out

