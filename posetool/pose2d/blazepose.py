"""MediaPipe's BlazePose full landmark model on rotated regions, as MediaPipe's CPU graphs define it.

The network is MediaPipe's own ``pose_landmark_full.tflite`` converted to PyTorch on load
(:mod:`posetool.nn.blazepose`); everything around it follows the MediaPipe 0.10 graphs
``pose_landmark_by_roi_cpu.pbtxt`` and ``tensors_to_pose_landmarks_and_segmentation.pbtxt``:

1. landmark input: the region of interest (from the detector, :mod:`posetool.detect.blazepose`,
   or any box through :func:`posetool.detect.roi.roi_from_box`), a rotated square sampled to
   256×256 RGB (bilinear, replicated border), values in [0, 1];
2. 39 landmarks × (x, y, z, visibility, presence) in crop pixels → normalised, visibility and
   presence through a sigmoid, x/y refined from the 64×64 heatmap (7×7 window, sigmoid
   confidences ≥ 0.5), projected back through the rotated ROI; world landmarks (metres, hip
   origin) rotated by the ROI angle; the first 33 are the pose, mapped to coco17 with
   :func:`posetool.skeletons.map_keypoints`.

The ``pose2d`` stream stage around it is :mod:`posetool.pose2d.blazepose_stage`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.detect.roi import RotatedRect, crop_rotated, pad_roi, to_rgb
from posetool.hub.loader import LoadedModel
from posetool.skeletons import map_keypoints

LANDMARK_SIZE = 256
NUM_POSE_LANDMARKS = 33
NUM_ALL_LANDMARKS = 39
HEATMAP_KERNEL = 7


def refine_from_heatmap(xy: np.ndarray, heatmap: np.ndarray, kernel: int = HEATMAP_KERNEL,
                        min_confidence: float = 0.5) -> np.ndarray:
    """RefineLandmarksFromHeatmapCalculator.

    Args:
        xy: (N, L, 2) normalised landmark coordinates; heatmap: (N, h, w, L) logits.

    Returns:
        (N, L, 2): where the landmark's heatmap cell lies inside the map and the window's highest
        sigmoid confidence is ≥ ``min_confidence``, the confidence-weighted mean cell (col / w,
        row / h) of the ``kernel``² window (clipped at the edges); elsewhere the input.
    """
    n, hh, ww, nl = heatmap.shape
    off = (kernel - 1) // 2
    conf = 1.0 / (1.0 + np.exp(-heatmap.astype(np.float64)))
    # Zero confidence outside the map: equivalent to MediaPipe's clipped window.
    padded = np.pad(conf, ((0, 0), (off, off), (off, off), (0, 0)))
    col = np.trunc(xy[..., 0] * ww).astype(np.int64)  # C++ int conversion truncates toward zero
    row = np.trunc(xy[..., 1] * hh).astype(np.int64)
    inside = (col >= 0) & (col < ww) & (row >= 0) & (row < hh)
    col_c, row_c = np.clip(col, 0, ww - 1), np.clip(row, 0, hh - 1)
    d = np.arange(-off, off + 1)
    rows = row_c[..., None, None] + d[:, None]  # (N, L, k, 1)
    cols = col_c[..., None, None] + d[None, :]  # (N, L, 1, k)
    b = np.arange(n)[:, None, None, None]
    lm = np.arange(nl)[None, :, None, None]
    window = padded[b, rows + off, cols + off, lm]  # (N, L, k, k)
    total = window.sum(axis=(2, 3))
    peak = window.max(axis=(2, 3))
    safe = np.where(total > 0, total, 1.0)
    mean_col = (window * cols).sum(axis=(2, 3)) / safe
    mean_row = (window * rows).sum(axis=(2, 3)) / safe
    refine = inside & (peak >= min_confidence) & (total > 0)
    out = xy.astype(np.float64).copy()
    out[..., 0] = np.where(refine, mean_col / ww, out[..., 0])
    out[..., 1] = np.where(refine, mean_row / hh, out[..., 1])
    return out


def decode_landmarks(raw_landmarks: np.ndarray, heatmap: np.ndarray, raw_world: np.ndarray,
                     rois: list[RotatedRect], size: int = LANDMARK_SIZE) -> tuple[np.ndarray, np.ndarray]:
    """Landmark-model outputs of N crops → image landmarks and world landmarks.

    Args:
        raw_landmarks: (N, 195) model output 0 (39 × x, y, z, visibility, presence in crop pixels,
            logits for the last two); heatmap: (N, 64, 64, 39) output 3; raw_world: (N, 117) output 4.
        rois: the N regions the crops were sampled from (before letterbox padding).

    Returns:
        landmarks (N, 33, 5): x, y (image pixels), z (pixels, same scale as x, hip-relative depth),
        visibility, presence (probabilities); world (N, 33, 3): metres, rotated back into the image
        frame (x right, y down), origin between the hips.
    """
    n = raw_landmarks.shape[0]
    lm = raw_landmarks.reshape(n, NUM_ALL_LANDMARKS, 5).astype(np.float64)
    xy = lm[..., :2] / size
    z = lm[..., 2] / size
    vis = 1.0 / (1.0 + np.exp(-lm[..., 3]))
    pres = 1.0 / (1.0 + np.exp(-lm[..., 4]))
    xy = refine_from_heatmap(xy, heatmap)
    out = np.zeros((n, NUM_POSE_LANDMARKS, 5))
    world = raw_world.reshape(n, NUM_ALL_LANDMARKS, 3)[:, :NUM_POSE_LANDMARKS].astype(np.float64)
    world_out = world.copy()
    for i, roi in enumerate(rois):
        _, (left, top, right, bottom) = pad_roi(roi, size, size)
        sx, sy = 1.0 - left - right, 1.0 - top - bottom
        x = (xy[i, :NUM_POSE_LANDMARKS, 0] - left) / sx - 0.5
        y = (xy[i, :NUM_POSE_LANDMARKS, 1] - top) / sy - 0.5
        c, s = math.cos(roi.rotation), math.sin(roi.rotation)
        out[i, :, 0] = (c * x - s * y) * roi.width + roi.cx
        out[i, :, 1] = (s * x + c * y) * roi.height + roi.cy
        out[i, :, 2] = z[i, :NUM_POSE_LANDMARKS] / sx * roi.width
        out[i, :, 3] = vis[i, :NUM_POSE_LANDMARKS]
        out[i, :, 4] = pres[i, :NUM_POSE_LANDMARKS]
        world_out[i, :, 0] = c * world[i, :, 0] - s * world[i, :, 1]
        world_out[i, :, 1] = s * world[i, :, 0] + c * world[i, :, 1]
    return out, world_out


@dataclass
class LandmarkResult:
    """Landmarks of the people of one image.

    landmarks: (K, 33, 5) x, y, z (pixels), visibility, presence; world: (K, 33, 3) metres;
    score: (K,) pose presence (the model's flag, a probability; MediaPipe drops poses < 0.5);
    coco17: (K, 17, 3) x, y, confidence (= visibility); rois: the K regions.
    """

    landmarks: np.ndarray
    world: np.ndarray
    score: np.ndarray
    coco17: np.ndarray
    rois: list[RotatedRect]


class BlazePoseLandmarks:
    """MediaPipe's full pose landmark model on rotated regions of images, batched across crops.

    ``estimate(images, rois)``: ``rois[i]`` lists the :class:`RotatedRect` regions of
    ``images[i]`` (from :class:`posetool.detect.blazepose.BlazePoseDetector` or
    :func:`posetool.detect.roi.roi_from_box`); returns one :class:`LandmarkResult` per image.

    Args:
        module: the converted ``pose_landmark_full.tflite`` network (NCHW in, five outputs).
        device: where ``module`` lives.
        weights_sha256: provenance of the weights, recorded by the pose2d stage.
    """

    def __init__(self, module: Any, device: Any = "cpu", batch_size: int = 8,
                 weights_sha256: str | None = None) -> None:
        self.module = module
        self.device = device
        self.batch_size = batch_size
        self.weights_sha256 = weights_sha256
        self.runtime = "torch"

    @classmethod
    def from_loaded(cls, loaded: LoadedModel, batch_size: int = 8, runtime: str = "torch") -> BlazePoseLandmarks:
        """The runner of a model from :func:`posetool.hub.loader.load_model` (``blazepose_full``).

        ``runtime``: ``torch``, ``litert`` or ``auto`` (:func:`posetool.hub.litert.choose_runtime`):
        LiteRT on a CPU where installed (1.8× PyTorch's crops/s there, docs/blazepose.md).
        """
        from posetool.hub.litert import choose_runtime

        runner = cls(loaded.module, loaded.device, batch_size, loaded.weights_sha256)
        runner.runtime = choose_runtime(runtime, loaded.device)
        loaded.module.use_runtime(runner.runtime)
        return runner

    @staticmethod
    def preprocess(image_rgb: np.ndarray, roi: RotatedRect) -> np.ndarray:
        """The (256, 256, 3) float32 crop in [0, 1] of ``roi`` (letterboxed if not square)."""
        padded, _ = pad_roi(roi, LANDMARK_SIZE, LANDMARK_SIZE)
        crop = crop_rotated(image_rgb, padded, LANDMARK_SIZE, LANDMARK_SIZE, border_zero=False)
        return crop.astype(np.float32) * (1.0 / 255.0)

    def run_network(self, crops: np.ndarray) -> tuple[np.ndarray, ...]:
        """(B, 256, 256, 3) float32 → the five outputs (landmarks, flag, segmentation, heatmap, world)."""
        import torch

        x = torch.from_numpy(crops).to(self.device).permute(0, 3, 1, 2)
        with torch.inference_mode():
            outs = self.module(x)
        return tuple(o.float().cpu().numpy() for o in outs)

    def estimate(self, images: list[np.ndarray], rois: list[list[RotatedRect]],
                 bgr: bool = True) -> list[LandmarkResult]:
        """Landmarks of every region of every image, crops batched across images."""
        if len(images) != len(rois):
            raise ValueError(f"estimate: {len(images)} images but {len(rois)} ROI lists")
        jobs = [(i, roi) for i, rs in enumerate(rois) for roi in rs]
        rgb: dict[int, np.ndarray] = {}
        lms, worlds, scores = [], [], []
        for start in range(0, len(jobs), self.batch_size):
            chunk = jobs[start:start + self.batch_size]
            crops = []
            for i, roi in chunk:
                if i not in rgb:
                    rgb.clear()
                    rgb[i] = to_rgb(images[i], bgr)
                crops.append(self.preprocess(rgb[i], roi))
            raw, flag, _seg, heatmap, raw_world = self.run_network(np.stack(crops))
            lm, world = decode_landmarks(raw, heatmap, raw_world, [r for _, r in chunk])
            lms.append(lm)
            worlds.append(world)
            scores.append(flag.reshape(-1).astype(np.float64))
        all_lm = np.concatenate(lms) if lms else np.zeros((0, NUM_POSE_LANDMARKS, 5))
        all_world = np.concatenate(worlds) if worlds else np.zeros((0, NUM_POSE_LANDMARKS, 3))
        all_score = np.concatenate(scores) if scores else np.zeros(0)
        results, k = [], 0
        for rs in rois:
            sl = slice(k, k + len(rs))
            lm = all_lm[sl]
            coco = map_keypoints(lm[..., [0, 1, 3]], "blazepose33", "coco17") if len(rs) else np.zeros((0, 17, 3))
            results.append(LandmarkResult(lm, all_world[sl], all_score[sl], coco, list(rs)))
            k += len(rs)
        return results
