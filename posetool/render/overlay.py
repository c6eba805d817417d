"""2D overlay of one frame record on its image.

Skeletons are coloured by track (with the id at the head), opacity follows keypoint confidence,
recovered or interpolated people are drawn with hollow joints and a dashed box, and recovered
keypoints of detected people get a white ring.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from posetool.errors import PosetoolError
from posetool.render.colors import track_color
from posetool.skeletons import Skeleton
from posetool.stream.encoding import points_array

# OpenCV draws at int32 pixel coordinates; this leaves room for the offsets added while drawing.
MAX_DRAWABLE = 1 << 30


@dataclass(frozen=True)
class OverlayStyle:
    """Drawing options: line width and joint radius in pixels, minimum confidence drawn, boxes."""

    thickness: int = 2
    radius: int = 4
    kp_thr: float = 0.05
    boxes: bool = False
    ids: bool = True


def check_drawable(instances: list[dict], where: str) -> None:
    """Refuse 2D coordinates OpenCV cannot draw, naming ``where`` (e.g. ``frame 3``), the instance and field.

    Coordinates are pixels; a value beyond ±:data:`MAX_DRAWABLE` is no pixel of any video, and
    would otherwise overflow inside OpenCV.
    """
    for i, inst in enumerate(instances):
        for field in ("bbox", "keypoints"):
            value = inst.get(field)
            if not value:
                continue
            xy = np.asarray(value, dtype=np.float64) if field == "bbox" else points_array(value)[:, :2]
            far = np.abs(np.nan_to_num(xy, nan=0.0)) > MAX_DRAWABLE
            if far.any():
                raise PosetoolError(
                    f"{where} instance {i}: field {field!r} holds {xy[far][0]:.3g}, beyond the ±{MAX_DRAWABLE} px "
                    f"OpenCV can draw; the stream's coordinates must be pixels of its video")


def _points(inst: dict, key: str = "keypoints") -> np.ndarray | None:
    kps = inst.get(key)
    if kps is None or len(kps) == 0:
        return None
    return points_array(kps)


def _dashed_rect(img: np.ndarray, p1: tuple[int, int], p2: tuple[int, int], color, thickness: int, dash: int = 8) -> None:
    (x1, y1), (x2, y2) = p1, p2
    for a, b in (((x1, y1), (x2, y1)), ((x2, y1), (x2, y2)), ((x2, y2), (x1, y2)), ((x1, y2), (x1, y1))):
        length = int(np.hypot(b[0] - a[0], b[1] - a[1]))
        for s in range(0, length, 2 * dash):
            t0, t1 = s / max(length, 1), min(s + dash, length) / max(length, 1)
            q0 = (int(a[0] + (b[0] - a[0]) * t0), int(a[1] + (b[1] - a[1]) * t0))
            q1 = (int(a[0] + (b[0] - a[0]) * t1), int(a[1] + (b[1] - a[1]) * t1))
            cv2.line(img, q0, q1, color, thickness, cv2.LINE_AA)


def draw_instances(image: np.ndarray, instances: list[dict], skeleton: Skeleton | None, style: OverlayStyle) -> np.ndarray:
    """Draw every instance onto a copy of ``image`` (BGR uint8) and return it."""
    out = image.copy()
    for inst in instances:
        color = track_color(inst.get("track_id"))
        synthetic = inst.get("origin") in ("recovered", "interpolated")
        kps = _points(inst)
        box = inst.get("bbox")
        if style.boxes and box is not None:
            p1, p2 = (int(box[0]), int(box[1])), (int(box[2]), int(box[3]))
            if synthetic:
                _dashed_rect(out, p1, p2, color, 1)
            else:
                cv2.rectangle(out, p1, p2, color, 1, cv2.LINE_AA)
        if kps is not None and skeleton is not None and len(kps) == skeleton.num_keypoints:
            _draw_skeleton(out, kps, skeleton, color, synthetic, set(inst.get("recovered_keypoints") or []), style)
        if style.ids and inst.get("track_id") is not None:
            anchor = None
            if kps is not None and np.isfinite(kps[:, :2]).all(axis=1).any():
                valid = kps[np.isfinite(kps[:, :2]).all(axis=1)]
                top = valid[np.argmin(valid[:, 1])]  # above the highest keypoint (the head)
                anchor = (int(top[0]) - 4, int(top[1]) - 10)
            elif box is not None:
                anchor = (int(box[0]), int(box[1]) - 6)
            if anchor is not None:
                label = f"{inst['track_id']}" + ("*" if synthetic else "")
                cv2.putText(out, label, anchor, cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
                cv2.putText(out, label, anchor, cv2.FONT_HERSHEY_SIMPLEX, 0.5, color, 1, cv2.LINE_AA)
    return out


def _draw_skeleton(out: np.ndarray, kps: np.ndarray, skeleton: Skeleton, color, synthetic: bool,
                   recovered: set[int], style: OverlayStyle) -> None:
    """Bones and joints with opacity = confidence, drawn inside the person's ROI only.

    An opacity mask is drawn part by part in increasing confidence (so overlaps keep the most
    confident part), then the person's colour is blended in once through it.
    """
    conf = np.nan_to_num(kps[:, 2], nan=0.0)
    ok = np.isfinite(kps[:, 0]) & np.isfinite(kps[:, 1]) & (conf >= style.kp_thr)
    if not ok.any():
        return
    h, w = out.shape[:2]
    pad = style.radius + style.thickness + 3
    x0, y0 = np.floor(kps[ok, :2].min(0)).astype(int) - pad
    x1, y1 = np.ceil(kps[ok, :2].max(0)).astype(int) + pad
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 <= x0 or y1 <= y0:
        return
    roi = out[y0:y1, x0:x1]
    pts = np.round(kps[:, :2] - [x0, y0]).astype(int)
    parts = [(float(min(conf[a], conf[b])), "bone", (a, b)) for a, b in skeleton.bones if ok[a] and ok[b]]
    parts += [(float(max(conf[k], 0.2)), "joint", k) for k in np.flatnonzero(ok)]
    mask = np.zeros(roi.shape[:2], np.float32)
    for alpha, kind, what in sorted(parts, key=lambda p: p[0]):
        if kind == "bone":
            a, b = what
            cv2.line(mask, tuple(pts[a]), tuple(pts[b]), alpha, style.thickness, cv2.LINE_8)
        else:
            cv2.circle(mask, tuple(pts[what]), style.radius, alpha, 1 if synthetic else -1, cv2.LINE_8)
    m = mask[..., None]
    roi[:] = np.round(roi * (1 - m) + np.asarray(color, np.float32) * m).astype(np.uint8)
    for k in recovered:
        if 0 <= k < len(ok) and ok[k]:
            cv2.circle(roi, tuple(pts[k]), style.radius + 2, (255, 255, 255), 1, cv2.LINE_AA)
