"""A side panel showing lifted 3D skeletons from a slowly rotating virtual camera.

Joints are root-relative metres in camera axes (x right, y down, z forward). Each skeleton is
placed at its ``root_3d`` when known (else spread left to right), rotated about the vertical axis
by an angle that advances with time, and projected with a pinhole camera (OpenCV ``projectPoints``).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from posetool.render.colors import track_color
from posetool.render.overlay import MAX_DRAWABLE
from posetool.skeletons import Skeleton
from posetool.stream.encoding import points_array


def _drawable(p: np.ndarray) -> np.ndarray:
    """Which projected points (N, 2) OpenCV can draw.

    A joint close to the virtual camera's plane projects arbitrarily far (or to NaN), and such a
    point, legitimate in 3D, would overflow OpenCV's int32 coordinates: it is left out instead.
    """
    return np.isfinite(p).all(axis=1) & (np.abs(np.nan_to_num(p)) <= MAX_DRAWABLE).all(axis=1)


def draw_panel(instances: list[dict], skeleton: Skeleton, size: tuple[int, int], t: float,
               degrees_per_second: float = 20.0) -> np.ndarray:
    """A (H, W, 3) BGR panel of ``size`` = (width, height) with every instance's ``keypoints_3d``."""
    w, h = size
    panel = np.full((h, w, 3), 24, np.uint8)
    people = [(i, points_array(i["keypoints_3d"]))
              for i in instances if i.get("keypoints_3d") is not None]
    cv2.putText(panel, "3D", (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (160, 160, 160), 1, cv2.LINE_AA)
    if not people:
        return panel
    roots = []
    for n, (inst, _) in enumerate(people):
        root = inst.get("root_3d")
        roots.append(np.asarray(root, float) if root is not None and None not in root else np.array([(n - (len(people) - 1) / 2) * 1.0, 0.0, 0.0]))
    centre = np.mean(roots, axis=0)
    angle = math.radians(t * degrees_per_second)
    rvec = np.array([0.25, angle, 0.0])  # a slight downward tilt, spinning about the vertical axis
    spread = max(2.0, float(np.ptp(np.array(roots)[:, [0, 2]], axis=0).max()) + 2.0) if len(roots) > 1 else 2.0
    tvec = np.array([0.0, 0.0, 1.6 * spread])
    f = 0.9 * min(w, h)
    k = np.array([[f, 0, w / 2], [0, f, h / 2], [0, 0, 1]], float)
    # ground grid under the people
    for g in np.linspace(-spread / 2, spread / 2, 5):
        for seg in (np.array([[g, 0.9, -spread / 2], [g, 0.9, spread / 2]]), np.array([[-spread / 2, 0.9, g], [spread / 2, 0.9, g]])):
            pts, _ = cv2.projectPoints(seg, rvec, tvec, k, None)
            p = pts.reshape(-1, 2)
            if _drawable(p).all():
                cv2.line(panel, tuple(p[0].astype(int)), tuple(p[1].astype(int)), (60, 60, 60), 1, cv2.LINE_AA)
    for (inst, joints), root in zip(people, roots):
        world = joints + (root - centre)
        ok = np.isfinite(world).all(axis=1)
        pts, _ = cv2.projectPoints(np.nan_to_num(world), rvec, tvec, k, None)
        p = pts.reshape(-1, 2)
        ok &= _drawable(p)
        color = track_color(inst.get("track_id"))
        for a, b in skeleton.bones:
            if ok[a] and ok[b]:
                cv2.line(panel, tuple(np.round(p[a]).astype(int)), tuple(np.round(p[b]).astype(int)), color, 2, cv2.LINE_AA)
        for j in np.flatnonzero(ok):
            cv2.circle(panel, tuple(np.round(p[j]).astype(int)), 3, color, -1, cv2.LINE_AA)
    return panel
