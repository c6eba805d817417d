"""The MediaPipe BlazePose pipeline: anchors, weighted NMS, ROI geometry, and a real photograph."""

from __future__ import annotations

import math

import numpy as np
import pytest

from posetool.detect.blazepose import RawDetections, ssd_anchors, weighted_nms
from posetool.detect.roi import RotatedRect, crop_rotated, detection_roi, pad_roi
from posetool.pose2d.blazepose import decode_landmarks
from tests.test_blazepose_weights import blazepose_files  # noqa: F401  (session fixture)


def test_anchors_follow_the_pose_detection_options():
    a = ssd_anchors()
    assert a.shape == (2254, 4)
    # stride 8: 28x28 cells x 2 anchors, first cell centre (0.5/28); stride 16: 14x14x2; stride 32: 7x7x6.
    np.testing.assert_allclose(a[0], [0.5 / 28, 0.5 / 28, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[1], a[0])
    np.testing.assert_allclose(a[1568], [0.5 / 14, 0.5 / 14, 1, 1], rtol=1e-6)
    np.testing.assert_allclose(a[1960:1966, :2], [[0.5 / 7, 0.5 / 7]] * 6, rtol=1e-6)
    np.testing.assert_allclose(a[-1], [6.5 / 7, 6.5 / 7, 1, 1], rtol=1e-6)


def test_weighted_nms_averages_overlapping_boxes_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    kps = np.zeros((3, 4, 2))
    kps[:, 0] = [[5, 5], [6, 5], [55, 55]]
    out = weighted_nms(RawDetections(boxes, kps, np.array([0.9, 0.6, 0.7])), 0.3)
    assert len(out.scores) == 2
    np.testing.assert_allclose(out.scores, [0.9, 0.7])
    np.testing.assert_allclose(out.boxes[0], [0.6 / 1.5, 0, 10 + 0.6 / 1.5, 10])
    np.testing.assert_allclose(out.keypoints[0, 0], [5 + 0.6 / 1.5, 5])
    np.testing.assert_allclose(out.boxes[1], boxes[2])


def test_detection_roi_rotation_and_scale():
    # Upright person: scale point straight above the hips -> no rotation, side 2 * 100, ROI x1.25.
    body, roi = detection_roi(np.array([[100.0, 300.0], [100.0, 200.0], [0, 0], [0, 0]]))
    assert roi.rotation == pytest.approx(0.0) and body.width == pytest.approx(200.0)
    assert (roi.cx, roi.cy, roi.width) == pytest.approx((100.0, 300.0, 250.0))
    # Lying person, head to the right: rotation +90 degrees, so the crop's top edge faces the head.
    _, roi = detection_roi(np.array([[100.0, 300.0], [200.0, 300.0], [0, 0], [0, 0]]))
    assert roi.rotation == pytest.approx(math.pi / 2)
    top_left, top_right = roi.corners()[:2]
    assert (top_left[0] + top_right[0]) / 2 == pytest.approx(100.0 + 125.0)


def test_pad_roi_letterbox():
    padded, pad = pad_roi(RotatedRect(0, 0, 200.0, 100.0), 256, 256)
    assert (padded.width, padded.height) == (200.0, 200.0)
    assert pad == pytest.approx((0.0, 0.25, 0.0, 0.25))


@pytest.mark.parametrize("rotation", [0.0, 0.7, -2.0])
def test_crop_and_back_projection_are_inverse(rotation):
    """A bright dot sampled into the crop must project back onto itself (crop pixel -> image pixel)."""
    import cv2

    img = np.zeros((400, 500, 3), np.uint8)
    dot = (310.0, 170.0)
    cv2.circle(img, (int(dot[0]), int(dot[1])), 3, (255, 255, 255), -1)
    roi = RotatedRect(260.0, 200.0, 180.0, 180.0, rotation)
    crop = crop_rotated(img, roi, 256, 256, border_zero=False)[..., 0].astype(np.float64)
    ys, xs = np.nonzero(crop > 128)
    raw = np.zeros((1, 39, 5))
    # Pixel centres of the crop: MediaPipe's crop maps pixel index i to position i (corner aligned).
    raw[0, :, 0], raw[0, :, 1] = xs.mean(), ys.mean()
    lm, _ = decode_landmarks(raw.reshape(1, 195), np.full((1, 64, 64, 39), -50.0), np.zeros((1, 117)), [roi])
    np.testing.assert_allclose(lm[0, 0, :2], [dot[0] + 0.5, dot[1] + 0.5], atol=1.0)


# Hand-recorded from skimage.data.astronaut() (512x512) by eye: the visible joints of the
# half-length portrait, in pixels. Tolerance: 20 px for the face (under half the ~45 px distance
# between the eyes), 35 px for the shoulders (hidden under the bulky suit, so less precise).
ASTRONAUT = {"nose": (223, 127, 20), "left_eye": (247, 110, 20), "right_eye": (204, 104, 20),
             "left_shoulder": (310, 250, 35), "right_shoulder": (110, 240, 35)}


def test_astronaut_keypoints_land_on_the_person(blazepose_files):  # noqa: F811
    skdata = pytest.importorskip("skimage.data", reason="scikit-image (test extra) is not installed")
    import cv2

    from posetool.detect.blazepose import BlazePoseDetector
    from posetool.hub.loader import load_model
    from posetool.pose2d.blazepose import BlazePoseLandmarks
    from posetool.skeletons import COCO17

    bgr = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)
    detector = BlazePoseDetector.from_loaded(
        load_model("blazepose", task="detect", weights=blazepose_files["detector"], device="cpu"))
    dets = detector.detect([bgr, bgr[:, ::-1].copy()])
    assert [len(d) for d in dets] == [1, 1]
    det = dets[0][0]
    assert det.score > 0.5
    assert 100 < det.keypoints[2, 0] < 320 and 150 < det.keypoints[2, 1] < 330  # mid-shoulder on the torso
    landmarks = BlazePoseLandmarks.from_loaded(
        load_model("blazepose_full", task="pose2d", weights=blazepose_files["landmarks"], device="cpu"))
    res = landmarks.estimate(
        [bgr, bgr[:, ::-1].copy()], [[det.roi], [dets[1][0].roi]])
    assert res[0].landmarks.shape == (1, 33, 5) and res[0].world.shape == (1, 33, 3)
    assert res[0].coco17.shape == (1, 17, 3) and res[0].score[0] > 0.5
    kp = res[0].coco17[0]
    for name, (x, y, tol) in ASTRONAUT.items():
        j = COCO17.index(name)
        assert math.hypot(kp[j, 0] - x, kp[j, 1] - y) < tol, f"{name} at {kp[j, :2]}, expected ({x}, {y})"
        assert kp[j, 2] > 0.5, f"{name} should be visible"
    # The mirrored photo gives the mirrored pose (left and right swap).
    mirrored = res[1].coco17[0]
    for name in ("nose", "left_shoulder", "right_shoulder"):
        j = COCO17.index(name)
        other = COCO17.index(name.replace("left", "R").replace("right", "left").replace("R", "right"))
        assert abs((511 - mirrored[other, 0] + 1) - kp[j, 0]) < 15 and abs(mirrored[other, 1] - kp[j, 1]) < 15
    # World landmarks are metres around the hips: shoulders a plausible 0.25-0.6 m apart.
    w = res[0].world[0]
    assert 0.25 < np.linalg.norm(w[11] - w[12]) < 0.6
