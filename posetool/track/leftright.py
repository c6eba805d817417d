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

import itertools
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
# where flipping a pose has a price (``cost``, or the pose model's own doubt: :func:`doubt_prices`)
# and consecutive poses cost how far their motion departs from a smooth path, so a label that
# jumps to the other limb for a few frames and back is flipped to follow the motion, while labels
# the pose model keeps for long stretches are kept (the price of flipping them grows with their
# length). The whole body goes first (a front/back confusion swaps every pair), then each limb
# group on the result.
#
# The smoothness of a path is judged by its points' displacement (``order`` 1, the tracker's
# default) or by their *acceleration* (``order`` 2). Displacement cannot tell two limbs that pass each other
# (a leg swinging past the planted one, arms crossing) from two that touch and turn back: at the
# crossing both labellings move the points the same distance. The limb's velocity can: the
# swinging foot keeps going, so the labelling that continues each point's velocity through the
# crossing is the smooth one. Where a point's acceleration is not defined (absent in one of the
# three poses, or the first link of a run) its displacement stands in.

MAX_LINK = 3  # poses further apart (frames) than this are not compared: the path restarts
LR_ORDERS = (1, 2)


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


def _step_costs(states: np.ndarray, frames: np.ndarray, scale: np.ndarray, order: int) -> np.ndarray:
    """Cost of every labelling of every three consecutive poses, in person heights.

    Args:
        states: (2, N, P, 2) the group's points with labels kept (0) and flipped (1).
        frames: (N,) frame numbers; ``scale``: (N,) person heights.
        order: 1 (displacement) or 2 (acceleration, displacement where it is not defined).

    Returns:
        (2, 2, 2, N) cost[c, a, b, t] of poses t − 2, t − 1, t labelled c, a, b (0 where t − 1 and
        t are not linked, and at t = 0; at t = 1, and with ``order`` 1, it does not depend on c).
    """
    n = states.shape[1]
    gap = np.diff(frames.astype(np.float64))  # (N − 1,)
    linked = gap <= MAX_LINK
    out = np.zeros((2, 2, 2, n))
    # (N − 1, P) displacement into t per labelling (a, b) of t − 1 and t
    moves = {(a, b): np.linalg.norm(states[b, 1:] - states[a, :-1], axis=-1) for a, b in itertools.product((0, 1), repeat=2)}
    for c, a, b in itertools.product((0, 1), repeat=3):
        move = moves[a, b]
        per_point = move
        if order == 2 and n >= 3:
            v_in = (states[a, 1:-1] - states[c, :-2]) / gap[:-1, None, None]  # velocity into t − 1
            v_out = (states[b, 2:] - states[a, 1:-1]) / gap[1:, None, None]  # velocity into t
            accel = np.linalg.norm(v_out - v_in, axis=-1)  # (N − 2, P)
            accel = np.where(linked[:-1, None], accel, np.nan)  # t − 2 too far back: no velocity into t − 1
            per_point = move.copy()
            per_point[1:] = np.where(np.isfinite(accel), accel, move[1:])
        step = np.nansum(per_point, axis=-1) / scale[1:]
        out[c, a, b, 1:] = np.where(linked, step, 0.0)
    return out


def _viterbi(steps: np.ndarray, unary: np.ndarray) -> np.ndarray:
    """Cheapest labelling of N poses: ``steps`` (2, 2, 2, N) from :func:`_step_costs`, ``unary`` (N, 2)
    per pose and label. Returns (N,) bool (True: flipped)."""
    n = len(unary)
    if n == 1:
        return np.array([unary[0, 1] < unary[0, 0]])
    # total[a, b]: the cheapest path ending with pose t − 1 labelled a and pose t labelled b;
    # back[t, a, b]: its label c of pose t − 2
    total = unary[0][:, None] + steps[0, :, :, 1] + unary[1][None, :]
    back = np.zeros((n, 2, 2), dtype=np.int64)
    for t in range(2, n):
        via = total[:, :, None] + steps[:, :, :, t]  # (c, a, b)
        back[t] = via.argmin(axis=0)
        total = via.min(axis=0) + unary[t][None, :]
    a, b = (int(v) for v in np.unravel_index(int(np.argmin(total)), total.shape))
    path = np.zeros(n, dtype=bool)
    path[n - 1], path[n - 2] = bool(b), bool(a)
    for t in range(n - 1, 1, -1):
        c = int(back[t, a, b])
        path[t - 2] = bool(c)
        a, b = c, a
    return path


def flip_path(points: np.ndarray, heights: np.ndarray, frames: np.ndarray, pairs: tuple[tuple[int, int], ...],
              cost: float, anchors: list[tuple[int, np.ndarray, float]] | None = None, order: int = 1,
              unary: np.ndarray | None = None) -> np.ndarray:
    """The cheapest kept/flipped labelling of one group along a window of one track's poses.

    Args:
        points: (T, K, 2) the window's keypoints in frame order (NaN: absent).
        heights: (T,) the person's height in px per pose (the unit of the motion cost).
        frames: (T,) their frame numbers; poses more than ``MAX_LINK`` frames apart are not linked.
        pairs: the group's (left, right) index pairs.
        cost: the price of flipping one pose, in person heights of summed point motion.
        anchors: (frame, (K, 2) points, height) of the track's last decided poses before the
            window, oldest first (the last two are read); their labelling is fixed, so the window's
            first poses are judged against them.
        order: 2: a path's cost is its points' acceleration; 1: their displacement (module notes).
        unary: (T, 2) the price of each pose's labels kept and flipped, instead of (0, ``cost``)
            (:func:`doubt_prices`: the pose model's own evidence).

    Returns:
        (T,) bool: flip the pose's group.
    """
    if order not in LR_ORDERS:
        raise ValueError(f"order must be one of {LR_ORDERS}, got {order!r}")
    fixed = [a for a in (anchors or []) if a[0] < frames[0]][-2:]
    n_fixed = len(fixed)
    seq = np.concatenate([np.stack([p for _, p, _ in fixed]), points]) if fixed else points  # (N, K, 2)
    seq_frames = np.concatenate([[g for g, _, _ in fixed], frames]).astype(np.int64)
    scale = np.maximum(np.concatenate([[h for _, _, h in fixed], np.asarray(heights, dtype=np.float64)]), 1.0)
    idx = sorted({i for pair in pairs for i in pair})
    swap = np.asarray(flip_permutation(points.shape[1], pairs))
    states = np.stack([seq[:, idx], seq[:, swap[idx]]])  # (2, N, P, 2): labels kept, flipped
    prices = np.zeros((len(seq), 2))
    prices[:n_fixed, 1] = np.inf  # decided poses keep their labels
    prices[n_fixed:] = [0.0, cost] if unary is None else unary
    return _viterbi(_step_costs(states, seq_frames, scale, order), prices)[n_fixed:]


DOUBT_FLOOR = 0.01  # a doubt of 0 would make the model's labels infinitely certain


def doubt_prices(doubts: np.ndarray, exchanged: np.ndarray, weight: float) -> np.ndarray:
    """Prices of a group's labels kept and flipped from the pose model's doubts.

    Each pair's labels as the model gave them are free; the other way round costs
    ``weight`` × −ln(doubt) (doubt: :func:`~posetool.pose2d.heatmaps.label_doubt`, the heatmaps'
    support for the exchanged labels relative to the given ones), so a pair the model was sure of
    is expensive to exchange and one it could not tell apart costs almost nothing.

    Args:
        doubts: (T, P) the group's pairs' doubts per pose.
        exchanged: (T, P) bool: the pair's current labels are the model's the other way round (an
            earlier pass flipped it).
        weight: person heights of motion per unit of −ln(doubt).

    Returns:
        (T, 2) prices of keeping and flipping the current labels.
    """
    evidence = -np.log(np.clip(doubts, DOUBT_FLOOR, 1.0)) * weight  # (T, P)
    keep = np.where(exchanged, evidence, 0.0).sum(axis=1)
    flip = np.where(exchanged, 0.0, evidence).sum(axis=1)
    return np.stack([keep, flip], axis=1)


def consistent_labels(window: list[np.ndarray], heights: np.ndarray, frames: np.ndarray,
                      groups: list[tuple[str, tuple[tuple[int, int], ...]]], cost: float, kp_thr: float,
                      anchors: list[tuple[int, np.ndarray, float]] | None = None, order: int = 1,
                      doubts: np.ndarray | None = None, flip_pairs: tuple[tuple[int, int], ...] = (),
                      doubt_weight: float = 0.0) -> tuple[np.ndarray, list[str]]:
    """Labels of the first pose of a track's window, decided with the poses after it.

    Args:
        window: (K, 3) poses (x, y, confidence) of one track in frame order; the first is decided.
        heights, frames: (T,) per pose (see :func:`flip_path`).
        groups: from :func:`consistency_groups`, applied in order (each on the previous result).
        cost, anchors, order: see :func:`flip_path`.
        kp_thr: points with confidence ≤ this count as absent.
        doubts: (T, P) the pose model's doubt per pose and pair of ``flip_pairs`` (NaN: not given);
            with ``doubt_weight`` > 0 a limb group's labels are priced by :func:`doubt_prices` in
            the poses that have a doubt for each of its pairs, by ``cost`` in the others. The whole
            body's pass is always priced by ``cost``: it is there for front/back confusions, where
            the model is sure of the wrong labels (a person seen from the back given a front view's),
            so its doubt would hold them.

    Returns:
        (the first pose with its flipped groups' rows exchanged, the names of those groups).
    """
    poses = np.stack(window).astype(np.float64)  # (T, K, 3)
    xy = confident_xy(poses, kp_thr)
    use_doubts = doubts is not None and doubt_weight > 0
    exchanged = np.zeros((len(poses), len(flip_pairs)), dtype=bool)  # against the model's labels
    flipped = []
    for name, pairs in groups:
        unary = None
        if use_doubts and name != "body":
            cols = [flip_pairs.index(pair) for pair in pairs]
            known = np.isfinite(doubts[:, cols]).all(axis=1)
            unary = np.tile([0.0, cost], (len(poses), 1))
            unary[known] = doubt_prices(doubts[known][:, cols], exchanged[known][:, cols], doubt_weight)
        path = flip_path(xy, heights, frames, pairs, cost, anchors, order, unary)
        swap = np.asarray(flip_permutation(poses.shape[1], pairs))
        xy[path] = xy[path][:, swap]  # later passes see the tentative labels of the whole window
        poses[path] = poses[path][:, swap]
        if use_doubts:
            exchanged[np.ix_(path, [flip_pairs.index(pair) for pair in pairs])] ^= True
        if path[0]:
            flipped.append(name)
    return poses[0], flipped
