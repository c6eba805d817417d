"""Heatmap targets and decoders.

Targets (HRNet ``JointsDataset.generate_target``): one unnormalised Gaussian (peak 1) per joint
in a window of 6σ+1 around the joint position divided by the feature stride and rounded to the
integer grid; a joint is weighted by its visibility and gets weight 0 when the window falls off
the map. ``unbiased=True`` centres the Gaussian on the exact sub-pixel position instead (DARK's
encoding).

Decoders work on (N, K, H, W) float arrays and return heatmap-pixel coordinates (N, K, 2) and
peak values (N, K):

- :func:`get_max_preds`: integer argmax (coordinates zeroed where the peak is ≤ 0);
- :func:`quarter_offset`: the official ``POST_PROCESS`` step, ¼ px towards the higher neighbour;
- :func:`local_mean`: the centre of mass of the 3×3 window around the argmax (sub-cell, for
  sharp probability maps such as correspondence maps);
- :func:`dark_refine`: DARK (Zhang et al., CVPR 2020): Gaussian blur rescaled to the original
  peak, log, one Newton step with the second-order Taylor expansion at the argmax.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np


def gaussian_targets(
    joints: np.ndarray,
    image_size: Sequence[int],
    heatmap_size: Sequence[int],
    sigma: float = 2.0,
    unbiased: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Heatmap targets for one instance.

    Args:
        joints: (K, 3) ``x, y, visibility`` in input-crop pixels (visibility 0 or > 0).
        image_size / heatmap_size: (width, height).
    Returns:
        target (K, H, W) float32, target_weight (K, 1) float32.
    """
    joints = np.asarray(joints, dtype=np.float64)
    k = joints.shape[0]
    w, h = int(heatmap_size[0]), int(heatmap_size[1])
    stride = np.array([image_size[0] / w, image_size[1] / h], dtype=np.float64)
    target = np.zeros((k, h, w), dtype=np.float32)
    weight = (joints[:, 2:3] > 0).astype(np.float32)
    tmp = sigma * 3
    xs = np.arange(w, dtype=np.float64)
    ys = np.arange(h, dtype=np.float64)[:, None]
    for j in range(k):
        if weight[j, 0] == 0:
            continue
        if unbiased:
            mu_x, mu_y = joints[j, 0] / stride[0], joints[j, 1] / stride[1]
        else:  # int() truncates toward zero exactly as the official code does
            mu_x, mu_y = int(joints[j, 0] / stride[0] + 0.5), int(joints[j, 1] / stride[1] + 0.5)
        ul = (int(mu_x - tmp), int(mu_y - tmp))
        br = (int(mu_x + tmp + 1), int(mu_y + tmp + 1))
        if ul[0] >= w or ul[1] >= h or br[0] < 0 or br[1] < 0:
            weight[j, 0] = 0
            continue
        g = np.exp(-((xs - mu_x) ** 2 + (ys - mu_y) ** 2) / (2 * sigma ** 2))
        if not unbiased:
            # the official target is the (6σ+1)² window only, zero outside it
            g[:, :max(0, ul[0])] = 0
            g[:, max(0, min(w, br[0])):] = 0
            g[:max(0, ul[1]), :] = 0
            g[max(0, min(h, br[1])):, :] = 0
        target[j] = g
    return target, weight


def get_max_preds(heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer argmax of (N, K, H, W) heatmaps → coords (N, K, 2) as (x, y), maxvals (N, K)."""
    hm = np.asarray(heatmaps)
    n, k, h, w = hm.shape
    flat = hm.reshape(n, k, h * w)
    idx = flat.argmax(axis=2)
    maxvals = np.take_along_axis(flat, idx[..., None], axis=2)[..., 0].astype(np.float64)
    coords = np.stack([idx % w, idx // w], axis=-1).astype(np.float64)
    coords *= (maxvals > 0)[..., None]
    return coords, maxvals


def label_doubt(heatmaps: np.ndarray, flip_pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """How much the heatmaps also support each left/right pair's labels the other way round.

    For a pair (l, r) with peaks at p_l and p_r: (H_l(p_r) + H_r(p_l)) / (H_l(p_l) + H_r(p_r)),
    clipped to [0, 1]: near 0 when each heatmap has one peak on its own limb, near 1 when both
    heatmaps have a peak on both limbs (the network could not tell them apart, e.g. legs passing
    each other in a side view). Used as the pose model's evidence by the tracker's left/right
    consistency (``track --lr-doubt``).

    Args:
        heatmaps: (N, K, H, W).
        flip_pairs: P (left, right) keypoint indices.

    Returns:
        (N, P) float64.
    """
    hm = np.asarray(heatmaps)
    coords, maxvals = get_max_preds(hm)
    ix = coords.astype(np.int64)  # integer peaks (x, y): the refinement moves them < 1 px
    n = np.arange(len(hm))
    out = np.zeros((len(hm), len(flip_pairs)))
    for j, (left, right) in enumerate(flip_pairs):
        other = hm[n, left, ix[:, right, 1], ix[:, right, 0]] + hm[n, right, ix[:, left, 1], ix[:, left, 0]]
        own = maxvals[:, left] + maxvals[:, right]
        out[:, j] = np.where(own > 0, np.clip(other / np.where(own > 0, own, 1.0), 0.0, 1.0), 1.0)
    return out


def quarter_offset(heatmaps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Shift integer peaks ¼ px toward the higher neighbour in x and y (official POST_PROCESS).

    Applied where ``1 < px < W-1`` and ``1 < py < H-1`` with ``p = floor(coord + 0.5)``.
    """
    hm = np.asarray(heatmaps, dtype=np.float64)
    n, k, h, w = hm.shape
    out = np.array(coords, dtype=np.float64, copy=True)
    px = np.floor(out[..., 0] + 0.5).astype(np.int64)
    py = np.floor(out[..., 1] + 0.5).astype(np.int64)
    ok = (px > 1) & (px < w - 1) & (py > 1) & (py < h - 1)
    pxc, pyc = np.clip(px, 1, w - 2), np.clip(py, 1, h - 2)
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    dx = hm[ni, ki, pyc, pxc + 1] - hm[ni, ki, pyc, pxc - 1]
    dy = hm[ni, ki, pyc + 1, pxc] - hm[ni, ki, pyc - 1, pxc]
    out[..., 0] += np.where(ok, np.sign(dx) * 0.25, 0.0)
    out[..., 1] += np.where(ok, np.sign(dy) * 0.25, 0.0)
    return out


def local_mean(maps: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Centre of mass of the 3×3 window of non-negative ``maps`` (N, K, H, W) around integer ``coords`` (N, K, 2).

    Cells off the map weigh nothing; an all-zero window keeps the integer position. On a map whose
    peak spans two or three cells this recovers the sub-cell position that the ¼-px step rounds.
    """
    hm = np.clip(np.asarray(maps, dtype=np.float64), 0.0, None)
    n, k = hm.shape[:2]
    cx = np.asarray(coords[..., 0]).astype(np.int64)
    cy = np.asarray(coords[..., 1]).astype(np.int64)
    padded = np.pad(hm, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")
    total = np.zeros((n, k))
    sx = np.zeros((n, k))
    sy = np.zeros((n, k))
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            v = padded[ni, ki, cy + dy + 1, cx + dx + 1]
            total += v
            sx += v * dx
            sy += v * dy
    safe = np.where(total > 0, total, 1.0)
    out = np.stack([cx + sx / safe, cy + sy / safe], -1).astype(np.float64)
    return out


def gaussian_blur(heatmaps: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK's modulation: blur each map (zero padding) and rescale it to its original maximum."""
    hm = np.array(heatmaps, dtype=np.float64, copy=True)
    n, k, h, w = hm.shape
    border = (kernel - 1) // 2
    maps = hm.reshape(n * k, h, w)
    # zero-pad so the blur sees zeros beyond the map, as DarkPose does
    padded = np.zeros((h + 2 * border, w + 2 * border, maps.shape[0]), dtype=np.float64)
    padded[border:border + h, border:border + w, :] = maps.transpose(1, 2, 0)
    blurred = np.empty_like(padded)
    for start in range(0, maps.shape[0], 512):  # OpenCV handles at most 512 channels per image
        chunk = np.ascontiguousarray(padded[..., start:start + 512])
        out = cv2.GaussianBlur(chunk, (kernel, kernel), 0)
        blurred[..., start:start + 512] = out.reshape(chunk.shape)
    result = blurred[border:border + h, border:border + w, :].transpose(2, 0, 1)
    orig_max = maps.reshape(maps.shape[0], -1).max(axis=1)
    new_max = result.reshape(result.shape[0], -1).max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(new_max != 0, orig_max / new_max, 0.0)
    result = result * factor[:, None, None]
    return result.reshape(n, k, h, w)


def dark_refine(heatmaps: np.ndarray, coords: np.ndarray, kernel: int = 11) -> np.ndarray:
    """DARK sub-pixel refinement of integer peaks ``coords`` (N, K, 2) on (N, K, H, W) heatmaps.

    μ = m − H⁻¹∇ on log(blurred heatmap), applied where ``1 < x < W-2`` and ``1 < y < H-2``
    and the Hessian is invertible. ``kernel`` 11 for σ = 2 targets, 17 for σ = 3.
    """
    hm = np.log(np.maximum(gaussian_blur(heatmaps, kernel), 1e-10))
    n, k, h, w = hm.shape
    out = np.array(coords, dtype=np.float64, copy=True)
    px = out[..., 0].astype(np.int64)
    py = out[..., 1].astype(np.int64)
    ok = (px > 1) & (px < w - 2) & (py > 1) & (py < h - 2)
    x, y = np.clip(px, 2, w - 3), np.clip(py, 2, h - 3)
    ni, ki = np.meshgrid(np.arange(n), np.arange(k), indexing="ij")

    def at(dy: int, dx: int) -> np.ndarray:
        return hm[ni, ki, y + dy, x + dx]

    gx = 0.5 * (at(0, 1) - at(0, -1))
    gy = 0.5 * (at(1, 0) - at(-1, 0))
    dxx = 0.25 * (at(0, 2) - 2 * at(0, 0) + at(0, -2))
    dyy = 0.25 * (at(2, 0) - 2 * at(0, 0) + at(-2, 0))
    dxy = 0.25 * (at(1, 1) - at(-1, 1) - at(1, -1) + at(-1, -1))
    det = dxx * dyy - dxy ** 2
    ok &= det != 0
    safe = np.where(ok, det, 1.0)
    # offset = −H⁻¹∇ with H⁻¹ = [[dyy, −dxy], [−dxy, dxx]] / det
    ox = -(dyy * gx - dxy * gy) / safe
    oy = -(-dxy * gx + dxx * gy) / safe
    out[..., 0] += np.where(ok, ox, 0.0)
    out[..., 1] += np.where(ok, oy, 0.0)
    return out


def decode_heatmaps(
    heatmaps: np.ndarray,
    method: str = "argmax",
    blur_kernel: int = 11,
) -> tuple[np.ndarray, np.ndarray]:
    """(N, K, H, W) → coords (N, K, 2) in heatmap pixels and maxvals (N, K).

    ``method``: ``"argmax"`` (argmax + quarter offset, the official default), ``"dark"``, or
    ``"plain"`` (integer argmax only, official ``POST_PROCESS: false``).
    """
    coords, maxvals = get_max_preds(heatmaps)
    if method == "argmax":
        coords = quarter_offset(heatmaps, coords)
    elif method == "dark":
        coords = dark_refine(heatmaps, coords, blur_kernel)
    elif method != "plain":
        raise ValueError(f"decode method must be argmax, dark or plain, got {method!r}")
    return coords, maxvals
