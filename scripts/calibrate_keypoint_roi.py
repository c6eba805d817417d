"""Measure how MediaPipe's ROI points relate to MoveNet's hips and shoulders (posetool.detect.roi).

    python scripts/calibrate_keypoint_roi.py [--every 5]

On every ``--every``-th frame of Pose2Sim's eight demo clips (fetched into the cache), the BlazePose
detector gives MediaPipe's ROI of its best person and the landmark model, run on it, gives its own
ROI points: landmark 33 (hip centre) and 34 (the full-body circle point), which MediaPipe's
tracking uses exactly as the detector's keypoints 0 and 1. MoveNet (input 512) runs on the same
frame; its person nearest to landmark 33 (hips and shoulders confident) is paired with it. Printed:
|34 − 33| in MoveNet torso lengths |S − H| (S, H: shoulder and hip midpoints), the position of 33
along and across the torso axis, and the angle between 33 → 34 and H → S. Needs the BlazePose and
MoveNet weights.
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def roi_points(image_bgr: np.ndarray, detector, landmarks) -> np.ndarray | None:
    """(39, 2) image-pixel landmarks of the detector's best person (all 39, ROI points included)."""
    from posetool.detect.roi import pad_roi, to_rgb
    from posetool.pose2d.blazepose import LANDMARK_SIZE

    dets = detector.detect([image_bgr])[0]
    if not dets:
        return None
    roi = dets[0].roi
    raw, flag, _seg, _heat, _world = landmarks.run_network(landmarks.preprocess(to_rgb(image_bgr, True), roi)[None])
    if flag.reshape(-1)[0] < 0.5:
        return None
    xy = raw.reshape(39, 5)[:, :2] / LANDMARK_SIZE
    _, (left, top, right, bottom) = pad_roi(roi, LANDMARK_SIZE, LANDMARK_SIZE)
    x = (xy[:, 0] - left) / (1 - left - right) - 0.5
    y = (xy[:, 1] - top) / (1 - top - bottom) - 0.5
    c, s = math.cos(roi.rotation), math.sin(roi.rotation)
    return np.stack([(c * x - s * y) * roi.width + roi.cx, (s * x + c * y) * roi.height + roi.cy], axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--every", type=int, default=5)
    args = ap.parse_args()

    import cv2

    from posetool.data.real_videos import POSE2SIM_SHA256, fetch_pose2sim
    from posetool.detect.blazepose import BlazePoseDetector
    from posetool.detect.movenet import MoveNetDetector
    from posetool.hub.loader import load_model
    from posetool.pose2d.blazepose import BlazePoseLandmarks

    detector = BlazePoseDetector.from_loaded(load_model("blazepose", device="cpu"))
    landmarks = BlazePoseLandmarks.from_loaded(load_model("blazepose_full", device="cpu"))
    movenet = MoveNetDetector.from_loaded(load_model("movenet", device="cpu"), input_size=512)
    root = fetch_pose2sim()
    rows = []
    for rel in sorted(POSE2SIM_SHA256):
        cap = cv2.VideoCapture(str(root / rel))
        index = -1
        while True:
            ok, image = cap.read()
            if not ok:
                break
            index += 1
            if index % args.every:
                continue
            points = roi_points(image, detector, landmarks)
            if points is None:
                continue
            people = movenet.detect([image])[0]
            hips = people.keypoints[:, [11, 12], :2].mean(axis=1)
            shoulders = people.keypoints[:, [5, 6], :2].mean(axis=1)
            k = int(np.argmin(np.linalg.norm(hips - points[33], axis=1)))
            if people.scores[k] < 0.2 or people.keypoints[k, [5, 6, 11, 12], 2].min() < 0.3:
                continue
            rows.append(np.concatenate([hips[k], shoulders[k], points[33], points[34]]))
    r = np.asarray(rows)
    h, s, p33, p34 = r[:, 0:2], r[:, 2:4], r[:, 4:6], r[:, 6:8]
    torso = np.linalg.norm(s - h, axis=1)
    ratio = np.linalg.norm(p34 - p33, axis=1) / torso
    axis = (s - h) / torso[:, None]
    along = ((p33 - h) * axis).sum(axis=1) / torso
    across = ((p33 - h)[:, 0] * -axis[:, 1] + (p33 - h)[:, 1] * axis[:, 0]) / torso
    angle = np.degrees(np.arctan2(*(p34 - p33).T[::-1]) - np.arctan2(*(s - h).T[::-1]))
    angle = (angle + 180) % 360 - 180
    print(f"{len(r)} frames")
    print(f"|34 - 33| / torso: median {np.median(ratio):.3f}, 10th-90th percentile "
          f"{np.percentile(ratio, 10):.3f}-{np.percentile(ratio, 90):.3f}")
    print(f"33 - H in torso lengths: along the torso {np.median(along):+.3f}, across {np.median(across):+.3f}")
    print(f"angle(33 -> 34) - angle(H -> S): median {np.median(angle):+.1f} deg, 90 % within "
          f"{np.percentile(np.abs(angle), 90):.1f} deg")


if __name__ == "__main__":
    main()
