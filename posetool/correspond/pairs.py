"""Self-supervised training pairs from a single image (Rafi et al. 2020, Sec. 3).

A pair is made from one image with keypoint labels:

1. image 1 is a square window around one person (its size a random multiple ``context`` of the
   person's longer box side, its centre jittered), warped to ``size × size``;
2. image 2 is the *same source image* seen through a second window: image 1's window composed with
   a random similarity about the crop centre (scale, rotation, translation), then a photometric
   change (brightness, contrast, saturation, blur, noise). Warping from the source image, not from
   image 1, shows content that a moving camera would reveal;
3. the known transform gives ground-truth correspondences: the person's keypoints in image 1 are the
   queries, their images under the transform are the targets; a keypoint that the second window
   cuts off becomes an *absent* target (an all-zero map that still counts in the loss, so the network
   learns to answer "gone"); keypoints unlabelled or outside image 1 are not queried (weight 0);
4. targets are Gaussian maps (peak 1, σ in heatmap pixels) at 1/4 of the input size
   (:func:`posetool.pose2d.heatmaps.gaussian_targets`).

Two augmentations the paper names and the synth recipe leaves off (``PairConfig`` defaults): a
horizontal mirror of both windows (left and right keypoints swap places, so keypoint k stays the same
body part), and a **synthetic occluder** on image 2 — a rectangle of another part of the source image —
whose covered targets become absent, the case tracking meets when people cross.

Beyond the paper, :func:`make_frame_pair` makes a pair from two real frames t−k and t of a tracked
person: one window, placed around the person in frame t−k, cuts both frames (as ``posetool correspond
--region person`` does at inference), and the targets are the same track's keypoints in frame t.

All randomness comes from a ``numpy.random.Generator`` the caller seeds per sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from posetool.pose2d.crop import affine_points
from posetool.pose2d.heatmaps import gaussian_targets


@dataclass(frozen=True)
class PairConfig:
    """Pair-generation parameters.

    Attributes:
        size: side of the square network input (multiple of 32).
        context: range of window side / person's longer box side.
        jitter: window-centre jitter as a fraction of the window side.
        scale: range of the second window's zoom (>1 enlarges the content).
        rotation: maximum rotation of the second window, degrees.
        translation: maximum shift of the second window, fraction of ``size``.
        photometric: apply brightness/contrast/saturation/blur/noise changes to image 2.
        sigma: Gaussian target σ in heatmap pixels.
        stride: input pixels per heatmap pixel.
        flip: probability of mirroring both windows (left/right keypoints swapped with ``flip_index``).
        occluder: probability of a synthetic occluder on image 2.
        occluder_size: range of the occluder's sides, fraction of ``size``.
        cell_targets: Gaussian targets (unrounded) where the query's *feature cell centre* goes — the
            keypoint's place in image 2 minus the query's offset from its cell's centre — which is what
            the network can see (it correlates the nearest cell's patch) and what ``correspond``'s
            ``--query-offset`` undoes; False: at the keypoint, rounded to a cell (the authors').
    """

    size: int = 128
    context: tuple[float, float] = (1.6, 2.6)
    jitter: float = 0.1
    scale: tuple[float, float] = (0.8, 1.25)
    rotation: float = 20.0
    translation: float = 0.15
    photometric: bool = True
    sigma: float = 1.5
    stride: int = 4
    flip: float = 0.0
    occluder: float = 0.0
    occluder_size: tuple[float, float] = (0.15, 0.4)
    cell_targets: bool = False


@dataclass
class Pair:
    """One training pair.

    ``image_a``/``image_b`` (S, S, 3) uint8 BGR; ``queries`` (K, 2) input pixels of image 1;
    ``query_valid`` (K,) bool; ``targets`` (K, 2) input pixels in image 2; ``target_valid`` (K,)
    bool (query valid and the keypoint lands inside image 2); ``heatmaps`` (K, S/4, S/4) float32
    Gaussian targets (zero where absent); ``weights`` (K,) float32 (1 where the query is valid).
    """

    image_a: np.ndarray
    image_b: np.ndarray
    queries: np.ndarray
    query_valid: np.ndarray
    targets: np.ndarray
    target_valid: np.ndarray
    heatmaps: np.ndarray
    weights: np.ndarray


def window_matrix(center: np.ndarray, side: float, size: int) -> np.ndarray:
    """2×3 map from image pixels to a ``size × size`` input showing the square window (``center``, ``side``)."""
    k = size / float(side)
    c = (size - 1) * 0.5
    return np.array([[k, 0.0, c - k * center[0]], [0.0, k, c - k * center[1]]], dtype=np.float64)


def similarity_about_center(size: int, scale: float, rot_deg: float, tx: float, ty: float) -> np.ndarray:
    """2×3 map of input pixels: zoom ``scale`` and rotate ``rot_deg`` about the centre, then shift (tx, ty)."""
    c = (size - 1) * 0.5
    m = cv2.getRotationMatrix2D((c, c), rot_deg, scale)
    m[:, 2] += (tx, ty)
    return m


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """2×3 maps: ``outer ∘ inner``."""
    a = np.vstack([outer, [0.0, 0.0, 1.0]]) @ np.vstack([inner, [0.0, 0.0, 1.0]])
    return a[:2]


def person_window(joints: np.ndarray, bbox_xywh: np.ndarray | None) -> tuple[np.ndarray, float]:
    """Centre and longer side of a person from its box (``x, y, w, h``), else its labelled keypoints."""
    if bbox_xywh is not None and bbox_xywh[2] > 1 and bbox_xywh[3] > 1:
        x, y, w, h = (float(v) for v in bbox_xywh)
        return np.array([x + w / 2, y + h / 2]), max(w, h)
    vis = joints[:, 2] > 0
    pts = joints[vis, :2] if vis.any() else joints[:, :2]
    lo, hi = pts.min(0), pts.max(0)
    return (lo + hi) / 2, float(max(8.0, *(hi - lo)))


def photometric(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random brightness, contrast, saturation, optional blur and sensor noise (uint8 BGR in and out)."""
    img = image.astype(np.float32)
    alpha = rng.uniform(0.7, 1.3)  # contrast
    beta = rng.uniform(-30, 30)  # brightness
    img = (img - img.mean()) * alpha + img.mean() + beta
    sat = rng.uniform(0.7, 1.3)
    grey = img.mean(axis=2, keepdims=True)
    img = grey + (img - grey) * sat
    if rng.random() < 0.3:  # motion or defocus blur between frames
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    img = img + rng.normal(0.0, rng.uniform(0.0, 6.0), img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def mirror_matrix(size: int) -> np.ndarray:
    """2×3 horizontal mirror of a ``size × size`` input."""
    return np.array([[-1.0, 0.0, size - 1.0], [0.0, 1.0, 0.0]])


def _inside(p: np.ndarray, s: int) -> np.ndarray:
    return (p[:, 0] >= 0) & (p[:, 0] <= s - 1) & (p[:, 1] >= 0) & (p[:, 1] <= s - 1)


def occlude(image: np.ndarray, source: np.ndarray, points: np.ndarray, rng: np.random.Generator,
            size_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Paste a rectangle cut from a random place of ``source`` onto ``image`` (S, S, 3).

    Returns the occluded image and a (K,) mask of the ``points`` (K, 2) it covers.
    """
    s = image.shape[0]
    w, h = (int(round(v * s)) for v in rng.uniform(*size_range, 2))
    x0, y0 = int(rng.integers(0, s - w + 1)), int(rng.integers(0, s - h + 1))
    sh, sw = source.shape[:2]
    pw, ph = min(sw, max(w, int(w * rng.uniform(1.0, 3.0)))), min(sh, max(h, int(h * rng.uniform(1.0, 3.0))))
    sx, sy = int(rng.integers(0, sw - pw + 1)), int(rng.integers(0, sh - ph + 1))
    out = image.copy()
    out[y0:y0 + h, x0:x0 + w] = cv2.resize(source[sy:sy + ph, sx:sx + pw], (w, h), interpolation=cv2.INTER_AREA)
    covered = (points[:, 0] >= x0) & (points[:, 0] < x0 + w) & (points[:, 1] >= y0) & (points[:, 1] < y0 + h)
    return out, covered


def cell_offsets(points: np.ndarray, stride: int) -> np.ndarray:
    """(…, 2) points in input pixels → their offsets from the centre of their nearest feature cell (cell i
    ↔ input pixel stride·i: the cell :func:`posetool.nn.correspondence.correlate` takes for a query), in
    input pixels."""
    return points - np.floor(points / stride + 0.5) * stride


def _pair(image_a: np.ndarray, image_b: np.ndarray, source_b: np.ndarray, q: np.ndarray, tg: np.ndarray,
          qv: np.ndarray, cfg: PairConfig, rng: np.random.Generator) -> Pair:
    """Finish a pair: photometric change and occluder on image 2, absent targets, Gaussian maps."""
    s = int(cfg.size)
    if cfg.photometric:
        image_b = photometric(image_b, rng)
    tv = qv & _inside(tg, s)
    if cfg.occluder > 0 and rng.random() < cfg.occluder:
        image_b, covered = occlude(image_b, source_b, tg, rng, cfg.occluder_size)
        tv &= ~covered  # an occluded keypoint is absent from image 2 (its map is all zero)
    hm = s // cfg.stride
    centre = tg
    if cfg.cell_targets:  # the motion of the query's cell centre (a local translation carries both alike)
        centre = tg - cell_offsets(q, cfg.stride)
    heatmaps, _ = gaussian_targets(np.concatenate([centre, tv[:, None].astype(np.float64)], 1), (s, s), (hm, hm),
                                   cfg.sigma, unbiased=cfg.cell_targets)
    return Pair(image_a, image_b, q.astype(np.float32), qv, tg.astype(np.float32), tv, heatmaps,
                qv.astype(np.float32))


def _window(joints: np.ndarray, bbox_xywh: np.ndarray | None, cfg: PairConfig, rng: np.random.Generator,
            flip_index: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Image-1 window (2×3) around a person, mirrored with probability ``cfg.flip``, and the joints
    in the order the window shows them (left and right swapped when mirrored)."""
    s = int(cfg.size)
    center, long_side = person_window(joints, None if bbox_xywh is None else np.asarray(bbox_xywh, dtype=np.float64))
    side = long_side * rng.uniform(*cfg.context)
    center = center + rng.uniform(-cfg.jitter, cfg.jitter, 2) * side
    m1 = window_matrix(center, side, s)
    if cfg.flip > 0 and rng.random() < cfg.flip:
        if flip_index is None:
            raise ValueError("flip needs the skeleton's flip_index")
        return compose(mirror_matrix(s), m1), flip_index
    return m1, np.arange(len(joints))


def make_pair(image: np.ndarray, joints: np.ndarray, bbox_xywh: np.ndarray | None, cfg: PairConfig,
              rng: np.random.Generator, flip_index: np.ndarray | None = None) -> Pair:
    """A training pair around the person with ``joints`` (K, 3: x, y, visibility) in the BGR ``image``."""
    s = int(cfg.size)
    joints = np.asarray(joints, dtype=np.float64)
    m1, order = _window(joints, bbox_xywh, cfg, rng, flip_index)
    joints = joints[order]
    t = similarity_about_center(s, rng.uniform(*cfg.scale), rng.uniform(-cfg.rotation, cfg.rotation),
                                *(rng.uniform(-cfg.translation, cfg.translation, 2) * s))
    m2 = compose(t, m1)
    image_a = cv2.warpAffine(image, m1, (s, s), flags=cv2.INTER_LINEAR)
    image_b = cv2.warpAffine(image, m2, (s, s), flags=cv2.INTER_LINEAR)
    q = affine_points(joints[:, :2], m1)
    tg = affine_points(joints[:, :2], m2)
    qv = (joints[:, 2] > 0) & _inside(q, s)
    return _pair(image_a, image_b, image, q, tg, qv, cfg, rng)


def make_frame_pair(frame_a: np.ndarray, frame_b: np.ndarray, joints_a: np.ndarray, joints_b: np.ndarray,
                    bbox_a_xywh: np.ndarray | None, cfg: PairConfig, rng: np.random.Generator,
                    flip_index: np.ndarray | None = None) -> Pair:
    """A pair from two real frames of one tracked person: ``joints_a``/``joints_b`` (K, 3: x, y, label 0/1)
    in frames t−k and t. One window around the person in frame t−k cuts both frames (the scale, zoom and
    rotation of single-image pairs do not apply: the motion is the real one). A keypoint is queried
    where it is labelled in *both* frames — an unlabelled one in frame t may be hidden or merely
    unsure, so it is not trained on."""
    s = int(cfg.size)
    joints_a = np.asarray(joints_a, dtype=np.float64)
    joints_b = np.asarray(joints_b, dtype=np.float64)
    m, order = _window(joints_a, bbox_a_xywh, cfg, rng, flip_index)
    joints_a, joints_b = joints_a[order], joints_b[order]
    image_a = cv2.warpAffine(frame_a, m, (s, s), flags=cv2.INTER_LINEAR)
    image_b = cv2.warpAffine(frame_b, m, (s, s), flags=cv2.INTER_LINEAR)
    q = affine_points(joints_a[:, :2], m)
    tg = affine_points(joints_b[:, :2], m)
    qv = (joints_a[:, 2] > 0) & (joints_b[:, 2] > 0) & _inside(q, s)
    return _pair(image_a, image_b, frame_b, q, tg, qv, cfg, rng)
