"""OpenCV's built-in HOG + linear SVM people detector (Dalal & Triggs), usable on any machine.

The SVM margin of each window becomes a score in (0, 1) through the logistic function, so
``--score-thr 0.5`` equals OpenCV's default hit threshold of 0. Overlapping windows from the
image pyramid are merged by the shared greedy NMS (OpenCV's own grouping is turned off so the
score of each window survives).
"""

from __future__ import annotations

import cv2
import numpy as np

from posetool.detect.boxes import Detections
from posetool.video.sources import Frame


class HogDetector:
    """Multi-scale HOG people detector.

    Args:
        win_stride: sliding-window step in pixels.
        scale: pyramid scale step (> 1).
        upscale: resize factor applied to frames before detection (people smaller than the
            64×128 window need > 1).
    """

    name = "hog"
    default_score_thr = 0.5

    def __init__(self, win_stride: int = 8, scale: float = 1.05, upscale: float = 1.0) -> None:
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())
        self.win_stride = (win_stride, win_stride)
        self.scale = scale
        self.upscale = upscale

    def detect(self, frames: list[Frame]) -> list[Detections]:
        """Detect people in frames (BGR images (H, W, 3)); boxes in the images' pixel coordinates."""
        out = []
        for frame in frames:
            image = frame.image
            img = image if self.upscale == 1.0 else cv2.resize(image, None, fx=self.upscale, fy=self.upscale)
            rects, weights = self.hog.detectMultiScale(
                img, hitThreshold=0.0, winStride=self.win_stride, padding=(8, 8), scale=self.scale,
                groupThreshold=0,
            )
            if len(rects) == 0:
                out.append(Detections.empty())
                continue
            r = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / self.upscale
            boxes = np.concatenate([r[:, :2], r[:, :2] + r[:, 2:]], axis=1)
            margin = np.asarray(weights, dtype=np.float64).reshape(-1)
            out.append(Detections(boxes, 1.0 / (1.0 + np.exp(-margin))))
        return out
