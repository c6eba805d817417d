"""Left/right repair along a track: undo a pose estimator's swapped labels by continuity of motion.

A top-down estimator sees one frame. When the legs cross in a side view, or a person faces
away, it often gives the left label to the right limb, and back again some frames later; and
in the frames where the two limbs cross its points are unreliable anyway. The limbs themselves
move smoothly *through* the crossing, so the labels after it are the ones that continue the
motion from before it.

For each *group* of left/right pairs (COCO-17: eyes, ears, shoulders, arms = elbows + wrists,
hips, legs = knees + ankles; other layouts: each flip pair alone) and each new pose of a track:

1. for each left/right pair the track keeps its points in the last ``fit`` (4) *clean* repaired
   frames within ``horizon`` (15) frames: frames where both points are present and at least
   ``min_sep`` × the person's height apart (side-on and crossing frames are not clean);
2. a straight line per point through those frames (least squares) gives the expected points now;
3. the group is flipped (left and right rows exchanged, confidences with them) when the flipped
   points' summed distance to the expected ones, over the group's pairs that have a history, is
   below ``ratio`` × the kept points'.

Lines fitted on the frames before the crossing carry the swinging foot past the planted one,
so the labels after the crossing are judged against where each limb was going.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from posetool.skeletons import get_skeleton

# COCO-17 groups: kinematic chains flip together (an elbow and its wrist are one arm).
_COCO17_GROUPS: dict[str, tuple[tuple[int, int], ...]] = {
    "eyes": ((1, 2),), "ears": ((3, 4),), "shoulders": ((5, 6),), "arms": ((7, 8), (9, 10)),
    "hips": ((11, 12),), "legs": ((13, 14), (15, 16)),
}


def flip_groups(skeleton: str) -> dict[str, tuple[tuple[int, int], ...]]:
    """Name → (left, right) index pairs that are judged together, for a keypoint layout."""
    if skeleton == "coco17":
        return _COCO17_GROUPS
    return {f"pair{a}_{b}": ((a, b),) for a, b in get_skeleton(skeleton).flip_pairs}


def pose_height(kps: np.ndarray, box: np.ndarray | None) -> float:
    """The person's height in px: the box height, else the vertical extent of the present keypoints."""
    if box is not None:
        return float(box[3] - box[1])
    y = kps[:, 1][np.isfinite(kps[:, 1])]
    return float(np.ptp(y)) if len(y) >= 2 else 0.0


def separated(pair: np.ndarray, height: float, min_sep: float) -> bool:
    """Whether a pair's (2, 2) points (NaN = absent) are both present and at least ``min_sep`` ×
    ``height`` apart: only then do its labels carry motion evidence (not side-on, not crossing)."""
    return bool(np.isfinite(pair).all() and np.linalg.norm(pair[0] - pair[1]) >= min_sep * height)


def extrapolate(frames: np.ndarray, points: np.ndarray, at: int) -> np.ndarray:
    """Least-squares straight line per point through (T,) frames and (T, P, 2) points, evaluated at ``at``."""
    t = frames.astype(np.float64) - at
    if len(t) == 1:
        return points[0]
    design = np.stack([np.ones_like(t), t], axis=1)
    coef, *_ = np.linalg.lstsq(design, points.reshape(len(t), -1), rcond=None)
    return coef[0].reshape(points.shape[1:])


def pair_costs(pair: np.ndarray, history: list[tuple[int, np.ndarray]], frame: int) -> tuple[float, float]:
    """(kept, flipped) summed distances of a pair's (2, 2) points to the straight-line continuation of
    its ``history`` ((frame, (2, 2)) clean repaired points); (0, 0) when it cannot be judged."""
    if not history or not np.isfinite(pair).all():
        return 0.0, 0.0
    expected = extrapolate(np.array([g for g, _ in history]), np.stack([p for _, p in history]), frame)
    keep = np.linalg.norm(pair - expected, axis=1).sum()
    flip = np.linalg.norm(pair[::-1] - expected, axis=1).sum()
    return float(keep), float(flip)


class LeftRightHistory:
    """One track's recent clean repaired points per left/right pair, and the repair of its next pose.

    Args:
        groups: from :func:`flip_groups`.
        kp_thr: points with confidence ≤ this count as absent.
        min_sep: pairs closer than this × person height are not clean (see :func:`separated`).
        ratio: a group flips when its flipped cost is below ``ratio`` × its kept cost.
        horizon: frames back that the clean history may reach.
        fit: clean frames (at most) that the straight line is fitted to.
    """

    def __init__(self, groups: dict[str, tuple[tuple[int, int], ...]], kp_thr: float, min_sep: float, ratio: float,
                 horizon: int = 15, fit: int = 4) -> None:
        self.groups = groups
        self.kp_thr, self.min_sep, self.ratio, self.horizon = kp_thr, min_sep, ratio, horizon
        self.clean: dict[tuple[int, int], deque[tuple[int, np.ndarray]]] = {
            pair: deque(maxlen=fit) for pairs in groups.values() for pair in pairs}

    def repair(self, kps: np.ndarray, box: np.ndarray | None, frame: int) -> list[str]:
        """Flip groups of ``kps`` ((K, 3), edited in place) whose labels break the track's motion, and
        record the clean pairs of the result. Returns the names of the groups flipped."""
        height = pose_height(kps, box)
        present = np.isfinite(kps[:, :2]).all(axis=1) & (np.nan_to_num(kps[:, 2], nan=0.0) > self.kp_thr)
        flipped = []
        for name, pairs in self.groups.items():
            keep = flip = 0.0
            for pair in pairs:
                pts = np.where(present[list(pair), None], kps[list(pair), :2], np.nan)
                hist = [(g, p) for g, p in self.clean[pair] if frame - g <= self.horizon]
                k, f = pair_costs(pts, hist, frame)
                keep, flip = keep + k, flip + f
            if flip < self.ratio * keep:
                for a, b in pairs:
                    kps[[a, b]] = kps[[b, a]]
                    present[[a, b]] = present[[b, a]]
                flipped.append(name)
            for pair in pairs:
                pts = np.where(present[list(pair), None], kps[list(pair), :2], np.nan)
                if separated(pts, height, self.min_sep):
                    self.clean[pair].append((frame, pts))
        return flipped
