"""Left/right labels along a track: undo a pose estimator's swapped labels by continuity of motion,
online (:class:`LeftRightHistory`, ``track --lr-repair``, below) or with a look-ahead
(:func:`consistent_labels`, ``track --lr-consistency offline``, at the end of the module).

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

from posetool.pose2d.flip import flip_permutation
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


# --- left/right consistency along a track (offline, fixed look-ahead) ------------------------------
# The repair above judges each new pose alone against the past. This decides the labels of a
# window of a track's poses together: a two-state (labels kept / flipped) Viterbi path per group,
# where flipping a pose costs ``cost`` and consecutive poses cost how far their points move, so a
# label that jumps to the other limb for a few frames and back is flipped to follow the motion,
# while labels the pose model keeps for long stretches are kept (the cost of flipping them grows
# with their length). The whole body goes first (a front/back confusion swaps every pair), then
# each limb group on the result.

MAX_LINK = 3  # poses further apart (frames) than this are not compared: the path restarts


def consistency_groups(skeleton: str) -> list[tuple[str, tuple[tuple[int, int], ...]]]:
    """The passes of :func:`flip_path`, in order: the whole body, then each limb group (faces are
    only flipped with the body: eyes and ears of a turned head carry no limb motion)."""
    groups = flip_groups(skeleton)
    body = tuple(pair for pairs in groups.values() for pair in pairs)
    return [("body", body)] + [(name, pairs) for name, pairs in groups.items() if name not in ("eyes", "ears")]


def confident_xy(kps: np.ndarray, kp_thr: float) -> np.ndarray:
    """(…, K, 2) x, y of (…, K, 3) poses, NaN where the confidence is ≤ ``kp_thr`` (absent)."""
    xy = np.array(kps[..., :2], dtype=np.float64)
    xy[~(np.nan_to_num(kps[..., 2], nan=0.0) > kp_thr)] = np.nan
    return xy


def flip_path(points: np.ndarray, heights: np.ndarray, frames: np.ndarray, pairs: tuple[tuple[int, int], ...],
              cost: float, anchor: tuple[int, np.ndarray] | None = None) -> np.ndarray:
    """The cheapest kept/flipped labelling of one group along a window of one track's poses.

    Args:
        points: (T, K, 2) the window's keypoints in frame order (NaN: absent).
        heights: (T,) the person's height in px per pose (the unit of the motion cost).
        frames: (T,) their frame numbers; poses more than ``MAX_LINK`` frames apart are not linked.
        pairs: the group's (left, right) index pairs.
        cost: the price of flipping one pose, in person heights of summed point motion.
        anchor: (frame, (K, 2) points) of the track's last decided pose before the window; its
            labelling is fixed, so the window's first pose is judged against it.

    Returns:
        (T,) bool: flip the pose's group.
    """
    idx = sorted({i for pair in pairs for i in pair})
    order = np.asarray(flip_permutation(points.shape[1], pairs))
    states = np.stack([points[:, idx], points[:, order[idx]]])  # (2, T, P, 2): labels kept, flipped
    scale = np.maximum(np.asarray(heights, dtype=np.float64), 1.0)

    def motion(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # (…, P, 2) pairs of poses → (…,) summed point motion
        return np.nansum(np.linalg.norm(a - b, axis=-1), axis=-1)

    unary = np.array([0.0, cost])
    total = unary.copy()
    if anchor is not None and frames[0] - anchor[0] <= MAX_LINK:
        total += np.array([motion(anchor[1][idx], states[s, 0]) for s in (0, 1)]) / scale[0]
    # step[q, s, t]: motion from pose t−1 labelled q to pose t labelled s, in person heights (0 where not linked)
    linked = np.diff(np.asarray(frames)) <= MAX_LINK
    step = np.stack([np.stack([motion(states[q, :-1], states[s, 1:]) for s in (0, 1)]) for q in (0, 1)])
    step = np.where(linked, step / scale[1:], 0.0)
    back = np.zeros((len(points), 2), dtype=np.int64)
    for t in range(1, len(points)):
        via = total[:, None] + step[:, :, t - 1]  # (q, s)
        back[t] = via.argmin(axis=0)
        total = via.min(axis=0) + unary
    path = np.zeros(len(points), dtype=bool)
    s = int(np.argmin(total))
    for t in range(len(points) - 1, -1, -1):
        path[t] = bool(s)
        s = back[t, s]
    return path


def consistent_labels(window: list[np.ndarray], heights: np.ndarray, frames: np.ndarray,
                      groups: list[tuple[str, tuple[tuple[int, int], ...]]], cost: float, kp_thr: float,
                      anchor: tuple[int, np.ndarray] | None = None) -> tuple[np.ndarray, list[str]]:
    """Labels of the first pose of a track's window, decided with the poses after it.

    Args:
        window: (K, 3) poses (x, y, confidence) of one track in frame order; the first is decided.
        heights, frames: (T,) per pose (see :func:`flip_path`).
        groups: from :func:`consistency_groups`, applied in order (each on the previous result).
        cost, anchor: see :func:`flip_path`.
        kp_thr: points with confidence ≤ this count as absent.

    Returns:
        (the first pose with its flipped groups' rows exchanged, the names of those groups).
    """
    poses = np.stack(window).astype(np.float64)  # (T, K, 3)
    xy = confident_xy(poses, kp_thr)
    flipped = []
    for name, pairs in groups:
        path = flip_path(xy, heights, frames, pairs, cost, anchor)
        order = np.asarray(flip_permutation(poses.shape[1], pairs))
        xy[path] = xy[path][:, order]  # later passes see the tentative labels of the whole window
        poses[path] = poses[path][:, order]
        if path[0]:
            flipped.append(name)
    return poses[0], flipped
