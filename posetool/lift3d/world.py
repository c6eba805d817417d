"""A ground-plane world frame for lifted poses: camera height and tilt given, read or estimated.

The *world frame* (the same convention as ``posetool synth``'s world with yaw 0): y up, the ground
is y = 0, the origin on the ground right below the camera, z the camera's viewing direction
projected on the ground. The camera sits at ``C = (0, height, 0)``, pitched down by ``pitch``
and rolled by ``roll`` about its optical axis; camera coordinates (x right, y down, z forward)
are ``X_cam = R (X_world − C)`` with

    R = R_roll · [x; y; f],   f = (0, −sin p, cos p),   x = f × (0, 1, 0) / ‖·‖,   y = f × x,

``R_roll`` the rotation by ``roll`` about the camera z axis. The world's up direction in camera
coordinates is then ``u = (sin r cos p, −cos r cos p, −sin p)``.

When only lifted poses are known, :func:`ground_from_feet` fits the ground plane to the ankles:
a plane through the lower ankle of every person-frame (the foot bearing weight), refitted once
after keeping only those; its normal gives pitch and roll, its distance from the camera the
height (plus ``ANKLE_HEIGHT``, the ankle joint's height above the sole).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.errors import StreamError

# The ankle joint stands this high above the ground when the foot is flat (m): a typical adult's
# malleolus height; in posetool synth the lower ankle of a person sits 0.07–0.10 m up (median).
ANKLE_HEIGHT = 0.08
# h36m17 ankles ("RFoot", "LFoot").
H36M_ANKLES = (3, 6)


def world_rotation(pitch_deg: float, roll_deg: float = 0.0) -> np.ndarray:
    """(3, 3) world→camera rotation for a camera pitched down by ``pitch_deg`` and rolled by ``roll_deg``."""
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    f = np.array([0.0, -math.sin(p), math.cos(p)])
    x = np.cross(f, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(f, x)
    roll = np.array([[math.cos(r), -math.sin(r), 0.0], [math.sin(r), math.cos(r), 0.0], [0.0, 0.0, 1.0]])
    return roll @ np.stack([x, y, f])


@dataclass(frozen=True)
class WorldFrame:
    """A camera placed in the world frame: height (m), pitch and roll (degrees) and where they came from."""

    height: float
    pitch: float
    roll: float = 0.0
    source: str = "given"  # given | header | estimated

    @property
    def R(self) -> np.ndarray:
        return world_rotation(self.pitch, self.roll)

    @property
    def C(self) -> np.ndarray:
        return np.array([0.0, self.height, 0.0])

    def to_world(self, points_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera coordinates → (..., 3) world coordinates."""
        return np.asarray(points_cam, dtype=np.float64) @ self.R + self.C

    def to_header(self) -> dict[str, Any]:
        """The stream header's ``world`` map."""
        return {"frame": "ground: y up, ground y = 0, origin below the camera, z = view direction on the ground",
                "height_m": self.height, "pitch_deg": self.pitch, "roll_deg": self.roll, "source": self.source,
                "R": self.R.tolist(), "C": self.C.tolist()}


def world_from_header(header: dict[str, Any]) -> WorldFrame | None:
    """The camera's height and pitch from a header ``camera`` map (``height_m``, ``pitch_deg``), if it has them."""
    cam = header.get("camera")
    if not isinstance(cam, dict):
        return None
    h, p = cam.get("height_m"), cam.get("pitch_deg")
    if isinstance(h, (int, float)) and isinstance(p, (int, float)):
        r = cam.get("roll_deg", 0.0)
        return WorldFrame(float(h), float(p), float(r) if isinstance(r, (int, float)) else 0.0, "header")
    return None


def ground_from_feet(ankles: np.ndarray) -> WorldFrame:
    """Estimate the camera's height, pitch and roll from ankle positions in camera coordinates.

    Args:
        ankles: (N, 2, 3) both ankles of N person-frames, camera coordinates (m); NaN rows are skipped.

    Returns:
        the :class:`WorldFrame` (``source="estimated"``).
    """
    a = np.asarray(ankles, dtype=np.float64).reshape(-1, 2, 3)
    a = a[np.isfinite(a).all(axis=(1, 2))]
    if len(a) < 3:
        raise StreamError("cannot estimate the ground: fewer than 3 person-frames with both ankles in 3D "
                          "(the lifter needs a trajectory model: root_3d)")
    up, d = _plane(a.reshape(-1, 3))
    for _ in range(2):  # keep the foot bearing weight: the lower ankle along the current up direction
        heights = a @ up  # (N, 2)
        low = a[np.arange(len(a)), np.argmin(heights, axis=1)]
        up, d = _plane(low)
    pitch = math.degrees(math.asin(float(np.clip(-up[2], -1.0, 1.0))))
    roll = math.degrees(math.atan2(float(up[0]), float(-up[1])))
    return WorldFrame(float(d + ANKLE_HEIGHT), pitch, roll, "estimated")


def _plane(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Least-squares plane through (M, 3) points: (unit up normal u with u_y < 0, height d = −u · centroid)."""
    centre = points.mean(axis=0)
    _, _, vt = np.linalg.svd(points - centre, full_matrices=False)
    u = vt[-1]
    if u[1] > 0:  # up is towards −y in camera coordinates
        u = -u
    return u, float(-(u @ centre))


def add_world(records: Iterator[dict[str, Any]], world: WorldFrame) -> Iterator[dict[str, Any]]:
    """Add ``root_world`` and ``keypoints_world`` (m, world frame) to every instance with ``root_3d``.

    ``keypoints_world`` is ``keypoints_3d − keypoints_3d[0] + root_3d`` (root-relative pose placed at
    the root) in world coordinates.
    """
    for rec in records:
        for inst in rec.get("instances") or []:
            root, kps = inst.get("root_3d"), inst.get("keypoints_3d")
            if root is None or kps is None or any(v is None for v in root):
                continue
            rel = np.array([[np.nan if v is None else v for v in p] for p in kps], dtype=np.float64)
            cam = rel - rel[:1] + np.asarray(root, dtype=np.float64)
            inst["root_world"] = world.to_world(np.asarray(root, dtype=np.float64)).tolist()
            inst["keypoints_world"] = world.to_world(cam)
        yield rec
