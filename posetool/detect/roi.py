"""Rotated regions of interest as MediaPipe's BlazePose graphs define them.

Shared by the BlazePose detector (:mod:`posetool.detect.blazepose`, which turns detections into
ROIs) and the landmark model (:mod:`posetool.pose2d.blazepose`, which samples and projects back
through them). Pure numpy geometry plus OpenCV sampling; no model code, so both sides import it
without importing each other.

Image coordinates are pixels with the origin at the top-left corner of the top-left pixel, as
MediaPipe's normalised coordinates times the image size.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# RectTransformationCalculator's scale for the full-body landmark ROI (pose_detection_to_roi.pbtxt).
ROI_SCALE = 1.25


@dataclass(frozen=True)
class RotatedRect:
    """A region of interest in image pixels: centre, size and rotation (radians, clockwise on screen)."""

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    def to_dict(self) -> dict:
        """The stream form (``blazepose_roi``): centre, size, rotation."""
        return {"center": [self.cx, self.cy], "size": [self.width, self.height], "rotation": self.rotation}

    def corners(self) -> np.ndarray:
        """(4, 2) corners: top-left, top-right, bottom-right, bottom-left of the unrotated rect, rotated."""
        c, s = math.cos(self.rotation), math.sin(self.rotation)
        half = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], dtype=np.float64) * [self.width / 2, self.height / 2]
        rot = np.array([[c, -s], [s, c]])
        return half @ rot.T + [self.cx, self.cy]


def normalize_radians(angle: float) -> float:
    """Wrap to [-pi, pi) as MediaPipe's NormalizeRadians."""
    return angle - 2 * math.pi * math.floor((angle + math.pi) / (2 * math.pi))


def pad_roi(roi: RotatedRect, out_w: int, out_h: int) -> tuple[RotatedRect, tuple[float, float, float, float]]:
    """Grow ``roi`` to the tensor's aspect ratio (ImageToTensor ``keep_aspect_ratio``).

    Returns the padded ROI and the letterbox padding (left, top, right, bottom) as fractions of
    the tensor.
    """
    tensor_ar = out_h / out_w
    roi_ar = roi.height / roi.width
    if tensor_ar > roi_ar:
        vertical = (1.0 - roi_ar / tensor_ar) / 2.0
        padded = RotatedRect(roi.cx, roi.cy, roi.width, roi.width * tensor_ar, roi.rotation)
        return padded, (0.0, vertical, 0.0, vertical)
    horizontal = (1.0 - tensor_ar / roi_ar) / 2.0
    padded = RotatedRect(roi.cx, roi.cy, roi.height / tensor_ar, roi.height, roi.rotation)
    return padded, (horizontal, 0.0, horizontal, 0.0)


def crop_rotated(image_rgb: np.ndarray, roi: RotatedRect, out_w: int, out_h: int, border_zero: bool) -> np.ndarray:
    """Sample ``roi`` of an (H, W, 3) uint8 image into (out_h, out_w, 3) uint8.

    As MediaPipe's OpenCV ImageToTensor converter: the rotated rect's corners (cv2.boxPoints) map
    to the output's corners by a perspective transform, bilinear sampling, zero or replicated border.
    """
    import cv2

    box = cv2.boxPoints(((roi.cx, roi.cy), (roi.width, roi.height), math.degrees(roi.rotation)))
    dst = np.array([[0, out_h], [0, 0], [out_w, 0], [out_w, out_h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(box.astype(np.float32), dst)
    border = cv2.BORDER_CONSTANT if border_zero else cv2.BORDER_REPLICATE
    return cv2.warpPerspective(image_rgb, matrix, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=border,
                               borderValue=(0, 0, 0))


def roi_from_box(box_xyxy: Sequence[float], scale: float = ROI_SCALE) -> RotatedRect:
    """An upright square ROI for a person box from any detector: the box's long side × ``scale``.

    MediaPipe derives its ROI from the detector's keypoints; this is posetool's equivalent for
    plain boxes (centre of the box, no rotation), with the same 1.25 margin.
    """
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    side = max(x2 - x1, y2 - y1) * scale
    return RotatedRect((x1 + x2) / 2, (y1 + y2) / 2, side, side, 0.0)


def detection_roi(keypoints_px: np.ndarray, scale: float = ROI_SCALE) -> tuple[RotatedRect, RotatedRect]:
    """AlignmentPointsRectsCalculator + RectTransformationCalculator for the full body.

    Args:
        keypoints_px: (4, 2) detector keypoints in image pixels (0 mid-hip, 1 full-body scale point).

    Returns:
        (body, roi): the square through the scale point (side 2·|kp1 − kp0|) and the landmark
        model's ROI (that side × ``scale``), both centred at the mid-hip and rotated so that the
        hip → scale-point direction points up in the crop.
    """
    (x0, y0), (x1, y1) = keypoints_px[0], keypoints_px[1]
    side = math.hypot(x1 - x0, y1 - y0) * 2.0
    rotation = normalize_radians(math.pi / 2 - math.atan2(-(y1 - y0), x1 - x0))
    body = RotatedRect(float(x0), float(y0), side, side, rotation)
    return body, RotatedRect(float(x0), float(y0), side * scale, side * scale, rotation)


def to_rgb(image: np.ndarray, bgr: bool) -> np.ndarray:
    """An (H, W, 3) uint8 RGB view of a grey, BGR (``bgr=True``, as OpenCV decodes) or RGB image."""
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
    return np.ascontiguousarray(image[..., ::-1]) if bgr else image


# MediaPipe's detector gives two keypoints per person: the hip centre and a point on the circle
# around the whole body ("Vitruvian man"), whose direction from the hips fixes the rotation and
# whose distance the scale. For a detector with COCO keypoints both are placed on the hip →
# shoulder axis: measured on 131 frames of Pose2Sim's demo clips (BlazePose's own ROI landmarks 33
# and 34 against MoveNet's hips and shoulders; scripts/calibrate_keypoint_roi.py), the hip centre lies
# 0.07 torso lengths below the COCO hip midpoint and the circle point 1.85 torso lengths above it
# (median; 10th-90th percentile of the ratio 1.69-2.25, angle within 12° for 90 % of the frames).
HIP_SHIFT = -0.07
BODY_RADIUS = 1.85
COCO_SHOULDERS, COCO_HIPS = (5, 6), (11, 12)


def keypoints_roi(keypoints: np.ndarray, min_confidence: float = 0.2,
                  scale: float = ROI_SCALE) -> RotatedRect | None:
    """MediaPipe's landmark ROI from coco17 keypoints (e.g. MoveNet's), or ``None`` without a torso.

    Args:
        keypoints: (17, 3) x, y, confidence in image pixels.

    The hip and shoulder midpoints (of the joints with confidence ≥ ``min_confidence``; at least
    one hip and one shoulder) give MediaPipe's two detector keypoints, hip centre
    ``H + HIP_SHIFT·(S − H)`` and scale point ``hip centre + BODY_RADIUS·(S − H)``, which
    :func:`detection_roi` turns into the rotated square as MediaPipe does.
    """
    kps = np.asarray(keypoints, dtype=np.float64)
    conf = np.nan_to_num(kps[:, 2], nan=0.0)
    hips = [i for i in COCO_HIPS if conf[i] >= min_confidence]
    shoulders = [i for i in COCO_SHOULDERS if conf[i] >= min_confidence]
    if not hips or not shoulders:
        return None
    h = kps[hips, :2].mean(axis=0)
    s = kps[shoulders, :2].mean(axis=0)
    torso = s - h
    if not np.isfinite(torso).all() or np.hypot(*torso) < 1.0:
        return None
    centre = h + HIP_SHIFT * torso
    return detection_roi(np.stack([centre, centre + BODY_RADIUS * torso]), scale)[1]
