"""What the embedder sees of a person: keypoints centred on the root and divided by the torso.

2D (``keypoints``, K x [x, y, confidence] in pixels): the root is the mid-hip of each frame
(the mean of the confident keypoints when a hip is missing); the scale is the median over the
whole track of the mid-shoulder to mid-hip distance, one number per track so that crouching,
which shortens the body, still shows as a change of shape. Keypoints that are missing (null,
confidence 0) become (0, 0, 0); the confidence stays an input, so the network learns how far to
trust a point. 3D (``keypoints_3d``, J x [x, y, z] in metres): centred on the pelvis, divided
by the track's median pelvis-thorax length and turned into the performer's own frame (left, up,
forward: :func:`facing_frame`, one rotation per track), so the camera's side and tilt drop out;
a fourth feature is 1 where the joint is known.

Layouts other than the model's are mapped first (:func:`posetool.skeletons.map_keypoints`, e.g.
BlazePose's 33 points to COCO's 17).
"""

from __future__ import annotations

import numpy as np

from posetool.errors import PosetoolError
from posetool.skeletons import get_skeleton, has_mapping, map_keypoints, map_points_3d

CLIP = 4.0  # torso lengths: farther is no body point, clip so one wild detection cannot dominate

# (root keypoints, upper-torso keypoints) per layout: the torso runs from their means.
_TORSO = {
    "coco17": (("left_hip", "right_hip"), ("left_shoulder", "right_shoulder")),
    "h36m17": (("pelvis",), ("thorax",)),
}


def to_layout(points: np.ndarray, src: str, dst: str, dims: int) -> np.ndarray:
    """(T, K_src, C) points in layout ``src`` -> (T, K_dst, C) in ``dst``; an error names both
    when no mapping exists."""
    if src == dst:
        return points
    if not has_mapping(src, dst):
        raise PosetoolError(f"keypoints in layout {src} cannot be mapped to the embedder's {dst}; "
                            f"use a stream in {dst} or an embedder trained on {src}")
    return map_keypoints(points, src, dst) if dims == 2 else map_points_3d(points, src, dst)


def _mean_of(points: np.ndarray, valid: np.ndarray, idx: list[int]) -> np.ndarray:
    """(T, C) mean of the keypoints ``idx`` where all of them are valid, NaN elsewhere."""
    ok = valid[:, idx].all(axis=1)
    out = points[:, idx].mean(axis=1)
    out[~ok] = np.nan
    return out


def _track_scale(coords: np.ndarray, valid: np.ndarray, root: np.ndarray, skeleton: str) -> float:
    """The track's median torso length, else the median spread of its keypoints, else 1."""
    sk = get_skeleton(skeleton)
    low, high = (_TORSO[skeleton][0], _TORSO[skeleton][1]) if skeleton in _TORSO else ((), ())
    if low:
        torso = np.linalg.norm(_mean_of(coords, valid, [sk.index(n) for n in high])
                               - _mean_of(coords, valid, [sk.index(n) for n in low]), axis=-1)
        torso = torso[np.isfinite(torso) & (torso > 0)]
        if len(torso):
            return float(np.median(torso))
    spread = np.sqrt(np.nanmean(np.where(valid[..., None], (coords - root[:, None]) ** 2, np.nan).sum(-1), axis=1))
    spread = spread[np.isfinite(spread) & (spread > 0)]
    return float(np.median(spread)) if len(spread) else 1.0


def _root(coords: np.ndarray, valid: np.ndarray, skeleton: str) -> np.ndarray:
    """(T, C) root of every frame: the layout's root keypoints, else the mean of the valid ones."""
    sk = get_skeleton(skeleton)
    low = [sk.index(n) for n in _TORSO[skeleton][0]] if skeleton in _TORSO else []
    root = _mean_of(coords, valid, low) if low else np.full((len(coords), coords.shape[-1]), np.nan)
    count = valid.sum(axis=1, keepdims=True)
    fallback = np.where(valid[..., None], coords, 0.0).sum(axis=1) / np.maximum(count, 1)
    fallback[count[:, 0] == 0] = np.nan
    return np.where(np.isfinite(root), root, fallback)


def facing_frame(rel: np.ndarray, valid: np.ndarray, skeleton: str) -> np.ndarray:
    """(3, 3) rotation whose rows are the track's left, up and forward directions.

    From (T, K, 3) root-centred 3D points: up is the mean direction from the root to the upper
    torso, left the mean left-hip minus right-hip vector made perpendicular to it, forward
    their cross product (a proper rotation: a mirror image stays a mirror image). One frame per
    track, so a camera's side and tilt are removed while the performer's own turning stays.
    Identity where the torso or the hips are never seen.
    """
    sk = get_skeleton(skeleton)
    if skeleton not in _TORSO or "left_hip" not in sk.keypoints or "right_hip" not in sk.keypoints:
        return np.eye(3)
    upper = _mean_of(rel, valid, [sk.index(n) for n in _TORSO[skeleton][1]])
    hips = np.where((valid[:, sk.index("left_hip")] & valid[:, sk.index("right_hip")])[:, None],
                    rel[:, sk.index("left_hip")] - rel[:, sk.index("right_hip")], np.nan)
    up_dirs = upper / np.linalg.norm(upper, axis=-1, keepdims=True)
    up_dirs, hips = up_dirs[np.isfinite(up_dirs).all(-1)], hips[np.isfinite(hips).all(-1)]
    if not len(up_dirs) or not len(hips):
        return np.eye(3)
    up = up_dirs.mean(axis=0)  # means, not medians: a coordinate-wise median is not rotation-equivariant
    up /= np.linalg.norm(up)
    left = hips.mean(axis=0)
    left = left - up * (left @ up)
    if np.linalg.norm(left) < 1e-9:
        return np.eye(3)
    left /= np.linalg.norm(left)
    return np.stack([left, up, np.cross(left, up)])


def normalise(points: np.ndarray, skeleton: str, dims: int) -> np.ndarray:
    """The embedder's input features of one track.

    Args:
        points: (T, K, 3): 2D x, y, confidence (pixels) or 3D x, y, z (metres); NaN where missing.
            Frames without the person are all NaN.
        skeleton: the layout of ``points`` (already the model's).
        dims: 2 or 3.

    Returns:
        (T, K, 3) float32 [x, y, confidence] in 2D, (T, K, 4) [x, y, z, valid] in 3D; missing
        points are zeros.
    """
    points = np.asarray(points, dtype=np.float64)
    coords = points[..., :dims]
    if dims == 2:
        conf = np.nan_to_num(points[..., 2], nan=0.0)
        valid = np.isfinite(coords).all(-1) & (conf > 0)
    else:
        valid = np.isfinite(coords).all(-1)
        conf = valid.astype(np.float64)
    coords = np.where(valid[..., None], coords, 0.0)
    root = _root(coords, valid, skeleton)
    scale = _track_scale(coords, valid, root, skeleton)
    rel = (coords - np.nan_to_num(root)[:, None]) / scale
    if dims == 3:
        rel = rel @ facing_frame(rel, valid, skeleton).T
    rel = np.clip(rel, -CLIP, CLIP)
    rel = np.where(valid[..., None], rel, 0.0)
    return np.concatenate([rel, np.clip(conf, 0, 1)[..., None] * valid[..., None]], -1).astype(np.float32)


def raw_features(points: np.ndarray, skeleton: str, dims: int) -> np.ndarray:
    """(T, K * dims) the normalised coordinates alone, flattened: the no-learning baseline's
    frame descriptor (missing points at the root)."""
    feats = normalise(points, skeleton, dims)
    return feats[..., :dims].reshape(len(feats), -1)
