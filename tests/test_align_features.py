"""The embedder's input features: 3D tracks are turned into the performer's own frame."""

from __future__ import annotations

import numpy as np

from posetool.align.features import facing_frame, normalise
from posetool.skeletons import get_skeleton
from posetool.synth.takes import TakeConfig, simulate_take


def _track_3d(seed: int = 4) -> np.ndarray:
    """(T, 17, 3) ground-truth h36m17 joints of a squat take, metres, camera frame."""
    seq = simulate_take(TakeConfig("squat", seed=seed, tempo=1.0, tempo_change=1.0, pauses=(), view=30.0))
    joints = seq.h36m17_3d()[0]
    return joints - joints[:, :1]


def _turn(points: np.ndarray, yaw_deg: float, tilt_deg: float) -> np.ndarray:
    a, b = np.radians(yaw_deg), np.radians(tilt_deg)
    yaw = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    tilt = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return points @ (tilt @ yaw).T


def test_3d_features_do_not_depend_on_the_camera():
    pts = _track_3d()
    base = normalise(pts, "h36m17", 3)
    for yaw, tilt in ((90, 0), (180, 10), (-120, -25)):
        np.testing.assert_allclose(normalise(_turn(pts, yaw, tilt), "h36m17", 3), base, atol=1e-5)
    # the performer's frame: up is +y (head above pelvis), left is +x (left hip at x > 0)
    sk = get_skeleton("h36m17")
    assert np.median(base[:, sk.index("head_top"), 1]) > 1.0
    assert np.all(base[:, sk.index("left_hip"), 0] > 0) and np.all(base[:, sk.index("right_hip"), 0] < 0)


def test_facing_frame_keeps_a_mirror_image_mirrored():
    pts = _track_3d()
    sk = get_skeleton("h36m17")
    rel = pts - pts[:, :1]
    valid = np.ones(pts.shape[:2], dtype=bool)
    rot = facing_frame(rel, valid, "h36m17")
    np.testing.assert_allclose(rot @ rot.T, np.eye(3), atol=1e-9)
    assert np.isclose(np.linalg.det(rot), 1.0)
    # a mirrored body (x negated, labels kept) is not turned back into the original
    mirrored = rel * [-1, 1, 1]
    assert not np.allclose(normalise(mirrored, "h36m17", 3), normalise(rel, "h36m17", 3), atol=1e-3)
    # no hips anywhere: nothing to turn by
    valid[:, [sk.index("left_hip"), sk.index("right_hip")]] = False
    np.testing.assert_array_equal(facing_frame(rel, valid, "h36m17"), np.eye(3))
