"""The pinhole camera of a synthetic scene: intrinsics, pose, projection.

World frame: y up, the ground is y = 0. Camera frame (VideoPose3D's and the stream's): x right,
y down, z forward, metres. ``X_cam = R @ (X_world - C)``; pixels ``u = fx X/Z + cx``,
``v = fy Y/Z + cy`` with the origin at the top-left corner of the top-left pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from posetool.errors import UsageError


@dataclass(frozen=True)
class Camera:
    """Intrinsics in pixels, extrinsics as world→camera rotation ``R`` (3, 3) and centre ``C`` (3,)."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int
    R: np.ndarray
    C: np.ndarray
    pitch_deg: float
    yaw_deg: float

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points → (..., 3) camera coordinates."""
        return (points - self.C) @ self.R.T

    def project(self, points_cam: np.ndarray) -> np.ndarray:
        """(..., 3) camera points → (..., 2) pixels (no distortion)."""
        z = points_cam[..., 2]
        return np.stack([self.fx * points_cam[..., 0] / z + self.cx, self.fy * points_cam[..., 1] / z + self.cy], -1)

    def to_header(self) -> dict[str, Any]:
        """The stream header's ``camera`` map: intrinsics plus world pose (y-up world, ground y = 0)."""
        return {
            "fx": self.fx, "fy": self.fy, "cx": self.cx, "cy": self.cy,
            "width": self.width, "height": self.height,
            "R": self.R.tolist(), "C": self.C.tolist(),
            "height_m": float(self.C[1]), "pitch_deg": self.pitch_deg, "yaw_deg": self.yaw_deg,
        }


def look_rotation(yaw: float, pitch: float) -> np.ndarray:
    """World→camera rotation for a camera turned by ``yaw`` about world y and tilted down by ``pitch``."""
    f = np.array([np.sin(yaw) * np.cos(pitch), -np.sin(pitch), np.cos(yaw) * np.cos(pitch)])
    x = np.cross(f, [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(f, x)
    return np.stack([x, y, f])


_SPEC_KEYS = ("fx", "fy", "cx", "cy", "fov", "height", "pitch", "yaw")


def parse_camera_spec(spec: str) -> dict[str, float]:
    """``auto`` or comma-separated ``key=value`` (keys: fx, fy, cx, cy, fov [deg, horizontal],
    height [m], pitch [deg down], yaw [deg]); unspecified values are sampled."""
    spec = (spec or "auto").strip()
    if spec in ("", "auto"):
        return {}
    out: dict[str, float] = {}
    for item in spec.split(","):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in _SPEC_KEYS:
            raise UsageError(f"--camera: bad item {item!r}; use auto or key=value with keys {', '.join(_SPEC_KEYS)}")
        try:
            out[key] = float(value)
        except ValueError:
            raise UsageError(f"--camera: {key} must be a number, got {value!r}") from None
    if "height" in out and not 0.3 <= out["height"] <= 20:
        raise UsageError(f"--camera: height must be 0.3–20 m, got {out['height']}")
    if "pitch" in out and not -10 <= out["pitch"] <= 60:
        raise UsageError(f"--camera: pitch must be -10–60 degrees, got {out['pitch']}")
    for k in ("fx", "fy", "fov"):
        if k in out and out[k] <= 0:
            raise UsageError(f"--camera: {k} must be positive, got {out[k]}")
    return out


def sample_camera(rng: np.random.Generator, width: int, height: int, spec: dict[str, float]) -> Camera:
    """A camera 1–3 m above the ground looking slightly down; fov 45–75° unless ``spec`` fixes it.

    Every value is rounded (intrinsics to 0.01 px, angles to 0.01°) *before* it is used, so
    the stored camera reproduces the projections exactly.
    """
    fov = spec.get("fov", rng.uniform(45.0, 75.0))
    fx = float(round(spec.get("fx", (width / 2) / np.tan(np.radians(fov) / 2)), 2))
    fy = float(round(spec.get("fy", fx * rng.uniform(0.995, 1.005)), 2))
    cx = float(round(spec.get("cx", width / 2 + rng.uniform(-0.02, 0.02) * width), 2))
    cy = float(round(spec.get("cy", height / 2 + rng.uniform(-0.02, 0.02) * height), 2))
    cam_h = float(round(spec.get("height", rng.uniform(1.0, 3.0)), 3))
    pitch = float(round(spec.get("pitch", rng.uniform(2.0, 18.0)), 2))
    yaw = float(round(spec.get("yaw", rng.uniform(-180.0, 180.0)), 2))
    R = look_rotation(np.radians(yaw), np.radians(pitch))
    return Camera(fx, fy, cx, cy, width, height, R, np.array([0.0, cam_h, 0.0]), pitch, yaw)
