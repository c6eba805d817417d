"""Training-time crops: the HRNet COCO augmentation recipe and heatmap targets for one person.

As ``JointsDataset.__getitem__`` (HRNet ``lib/dataset/JointsDataset.py``) does it:

1. half-body (p = 0.3 when more than 8 joints are visible): a box around the upper (ids 0–10)
   or lower body joints, aspect-fixed and ×1.5; the upper set is chosen when ``randn() < 0.5``
   (about 69 % of the time, an upstream quirk kept here);
2. scale × clip(N(0,1)·0.35 + 1, 0.65, 1.35); rotation clip(N(0,1)·45, −90, 90) with p = 0.6;
3. horizontal flip with p = 0.5: x → W − 1 − x, left/right joints swapped, centre mirrored;
4. affine crop to the input size; visible joints mapped into the crop; Gaussian targets (σ = 2
   at 64×48) with visibility weights.

The flip is folded into the crop's affine map instead of flipping the whole image, which samples
exactly the same pixels. Randomness comes from a ``numpy.random.Generator`` the caller seeds
per sample, so a sample's augmentation does not depend on worker count or resume point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from posetool.pose2d.crop import PIXEL_STD, get_affine_transform
from posetool.pose2d.heatmaps import gaussian_targets


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation parameters (HRNet COCO yaml values by default; ``train=False`` turns all off)."""

    train: bool = True
    scale_factor: float = 0.35
    rot_factor: float = 45.0
    rot_prob: float = 0.6
    flip: bool = True
    prob_half_body: float = 0.3
    num_joints_half_body: int = 8
    upper_body_ids: tuple[int, ...] = tuple(range(11))
    sigma: float = 2.0
    unbiased_targets: bool = False


def half_body_box(joints: np.ndarray, rng: np.random.Generator, aspect_ratio: float,
                  upper_ids: Sequence[int]) -> tuple[np.ndarray, np.ndarray] | None:
    """Centre/scale of a box around the upper or lower body's visible joints (×1.5), or None."""
    vis = joints[:, 2] > 0
    ids = np.arange(len(joints))
    upper_mask = np.isin(ids, upper_ids)
    upper = joints[vis & upper_mask, :2]
    lower = joints[vis & ~upper_mask, :2]
    if rng.standard_normal() < 0.5 and len(upper) > 2:
        selected = upper
    else:
        selected = lower if len(lower) > 2 else upper
    if len(selected) < 2:
        return None
    center = selected.mean(axis=0)
    w, h = selected.max(axis=0) - selected.min(axis=0)
    if w > aspect_ratio * h:
        h = w / aspect_ratio
    elif w < aspect_ratio * h:
        w = h * aspect_ratio
    return center, np.array([w, h]) / PIXEL_STD * 1.5


def make_example(
    image: np.ndarray,
    joints: np.ndarray,
    center: np.ndarray,
    scale: np.ndarray,
    input_size: tuple[int, int],
    heatmap_size: tuple[int, int],
    flip_pairs: Sequence[tuple[int, int]],
    cfg: AugmentConfig,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One training example.

    Args:
        image: BGR (H, W, 3); joints (K, 3) x, y, visibility in image pixels.
        center, scale: the person's box as from :func:`~posetool.pose2d.crop.box_to_center_scale`.
        input_size / heatmap_size: (width, height).
    Returns:
        crop (h, w, 3) uint8 BGR, target (K, hh, hw) float32, target_weight (K, 1) float32,
        joints in crop pixels (K, 3).
    """
    joints = np.array(joints, dtype=np.float64, copy=True)
    c = np.array(center, dtype=np.float64, copy=True)
    s = np.array(scale, dtype=np.float64, copy=True)
    r = 0.0
    flip = False
    if cfg.train:
        aspect = input_size[0] / input_size[1]
        if (joints[:, 2] > 0).sum() > cfg.num_joints_half_body and rng.random() < cfg.prob_half_body:
            half = half_body_box(joints, rng, aspect, cfg.upper_body_ids)
            if half is not None:
                c, s = half
        sf, rf = cfg.scale_factor, cfg.rot_factor
        s = s * np.clip(rng.standard_normal() * sf + 1, 1 - sf, 1 + sf)
        r = float(np.clip(rng.standard_normal() * rf, -rf * 2, rf * 2)) if rng.random() <= cfg.rot_prob else 0.0
        if cfg.flip and rng.random() <= 0.5:
            flip = True
            width = image.shape[1]
            joints[:, 0] = width - joints[:, 0] - 1
            for a, b in flip_pairs:
                joints[[a, b]] = joints[[b, a]]
            joints[:, :2] *= (joints[:, 2:3] > 0)  # upstream zeroes invisible joints here
            c[0] = width - c[0] - 1
    trans = get_affine_transform(c, s, r, input_size)
    if flip:  # sample the mirrored image: crop(x) = image(W − 1 − x', y') composed into one map
        mirror = np.array([[-1.0, 0.0, image.shape[1] - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
        warp = trans @ mirror
    else:
        warp = trans
    crop = cv2.warpAffine(image, warp, (int(input_size[0]), int(input_size[1])), flags=cv2.INTER_LINEAR)
    vis = joints[:, 2] > 0
    joints[vis, :2] = joints[vis, :2] @ trans[:, :2].T + trans[:, 2]
    target, weight = gaussian_targets(joints, input_size, heatmap_size, cfg.sigma, cfg.unbiased_targets)
    return crop, target, weight, joints
