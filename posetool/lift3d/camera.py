"""Camera maths in VideoPose3D's conventions (``common/camera.py``, ``common/quaternion.py``).

- Screen normalisation maps x in [0, w] to [-1, 1] and scales y by the same factor, so the
  aspect ratio is kept: ``X / w * 2 - [1, h / w]``.
- Extrinsics are a unit quaternion ``(w, x, y, z)`` (camera orientation in the world) and a
  translation (camera centre in world coordinates, metres).
- Intrinsics for projection are a 9-vector in *normalised* units
  ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]`` (focal length ``f / w * 2``, centre normalised as a
  point), which is what :func:`intrinsics_vector` builds from pixel values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

# When a stream carries no intrinsics, semi-supervised back-projection assumes a pinhole camera
# with this horizontal field of view, the principal point at the image centre and no distortion.
# 60 degrees is a common webcam / phone main-camera value (focal length = 0.866 * width).
DEFAULT_HFOV_DEG = 60.0


def normalize_screen_coordinates(x: np.ndarray, w: float, h: float) -> np.ndarray:
    """Pixels (..., 2) -> normalised coordinates: x in [-1, 1], y scaled by the same factor."""
    x = np.asarray(x)
    if x.shape[-1] != 2:
        raise ValueError(f"normalize_screen_coordinates expects (..., 2), got {x.shape}")
    return x / w * 2 - np.array([1.0, h / w], dtype=x.dtype if x.dtype.kind == "f" else np.float64)


def image_coordinates(x: np.ndarray, w: float, h: float) -> np.ndarray:
    """Inverse of :func:`normalize_screen_coordinates`: normalised (..., 2) -> pixels."""
    x = np.asarray(x)
    if x.shape[-1] != 2:
        raise ValueError(f"image_coordinates expects (..., 2), got {x.shape}")
    return (x + np.array([1.0, h / w], dtype=x.dtype if x.dtype.kind == "f" else np.float64)) * w / 2


def qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v`` (..., 3) by unit quaternions ``q`` (..., 4) = (w, x, y, z)."""
    q = np.asarray(q, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    q = np.broadcast_to(q, v.shape[:-1] + (4,))
    u = q[..., 1:]
    uv = np.cross(u, v)
    uuv = np.cross(u, uv)
    return v + 2 * (q[..., :1] * uv + uuv)


def qinverse(q: np.ndarray) -> np.ndarray:
    """Inverse of a unit quaternion (w, x, y, z): negate the vector part."""
    q = np.array(q, dtype=np.float64, copy=True)
    q[..., 1:] *= -1
    return q


def world_to_camera(x: np.ndarray, r: Sequence[float] | np.ndarray, t: Sequence[float] | np.ndarray) -> np.ndarray:
    """World points (..., 3) -> camera coordinates, for orientation quaternion ``r`` and centre ``t``."""
    x = np.asarray(x, dtype=np.float64)
    return qrot(qinverse(np.asarray(r, dtype=np.float64)), x - np.asarray(t, dtype=np.float64))


def camera_to_world(x: np.ndarray, r: Sequence[float] | np.ndarray, t: Sequence[float] | np.ndarray) -> np.ndarray:
    """Camera coordinates (..., 3) -> world points (inverse of :func:`world_to_camera`)."""
    return qrot(np.asarray(r, dtype=np.float64), np.asarray(x, dtype=np.float64)) + np.asarray(t, dtype=np.float64)


def intrinsics_vector(
    width: float,
    height: float,
    focal: Sequence[float],
    center: Sequence[float] | None = None,
    radial: Sequence[float] = (0.0, 0.0, 0.0),
    tangential: Sequence[float] = (0.0, 0.0),
) -> np.ndarray:
    """Pixel intrinsics -> the normalised 9-vector ``[fx, fy, cx, cy, k1, k2, k3, p1, p2]``.

    ``focal`` is (fx, fy) in pixels, ``center`` the principal point in pixels (default: the
    image centre). Matches ``Human36mDataset``'s camera normalisation.
    """
    c = np.asarray(center if center is not None else (width / 2, height / 2), dtype=np.float64)
    f = np.asarray(focal, dtype=np.float64) / width * 2
    cn = normalize_screen_coordinates(c, width, height)
    return np.concatenate([f, cn, np.asarray(radial, dtype=np.float64), np.asarray(tangential, dtype=np.float64)]).astype(
        np.float32
    )


def default_intrinsics(width: float, height: float, hfov_deg: float = DEFAULT_HFOV_DEG) -> np.ndarray:
    """The assumed camera when none is known: pinhole, ``hfov_deg`` horizontal FOV, centred."""
    f = width / 2 / np.tan(np.radians(hfov_deg) / 2)
    return intrinsics_vector(width, height, (f, f))


def intrinsics_from_header(camera: dict | None, width: float, height: float) -> tuple[np.ndarray, bool]:
    """The 9-vector for a stream header's ``camera`` map; (vector, True if it came from the header).

    Accepts ``fx``/``fy``/``cx``/``cy`` (pixels), or ``focal_length`` [fx, fy] and ``center``
    [cx, cy], optional ``radial_distortion`` / ``tangential_distortion``; otherwise the default.
    """
    if isinstance(camera, dict):
        focal = camera.get("focal_length")
        if focal is None and camera.get("fx") is not None:
            focal = (camera["fx"], camera.get("fy", camera["fx"]))
        center = camera.get("center")
        if center is None and camera.get("cx") is not None:
            center = (camera["cx"], camera["cy"])
        if focal is not None:
            if np.isscalar(focal):
                focal = (focal, focal)
            return (
                intrinsics_vector(
                    width, height, focal, center,
                    camera.get("radial_distortion", (0.0, 0.0, 0.0)), camera.get("tangential_distortion", (0.0, 0.0)),
                ),
                True,
            )
    return default_intrinsics(width, height), False


def project_to_2d(x: torch.Tensor, camera_params: torch.Tensor) -> torch.Tensor:
    """Project camera-space points with the Human3.6M camera model (differentiable, batched).

    Args:
        x: (N, ..., 3) points in camera space (metres; z > 0).
        camera_params: (N, 9) normalised intrinsics (see module docstring).

    Returns:
        (N, ..., 2) normalised screen coordinates. x/z and y/z are clamped to [-1, 1] as in the
        official code, which keeps the distortion polynomial away from its unstable region.
    """
    if x.shape[-1] != 3 or camera_params.dim() != 2 or camera_params.shape[-1] != 9 or x.shape[0] != camera_params.shape[0]:
        raise ValueError(f"project_to_2d: expected x (N, ..., 3) and camera (N, 9), got {tuple(x.shape)}, {tuple(camera_params.shape)}")
    cam = camera_params.reshape(camera_params.shape[0], *([1] * (x.dim() - 2)), 9)
    f, c, k, p = cam[..., :2], cam[..., 2:4], cam[..., 4:7], cam[..., 7:]
    xx = torch.clamp(x[..., :2] / x[..., 2:], min=-1, max=1)
    r2 = torch.sum(xx**2, dim=-1, keepdim=True)
    radial = 1 + torch.sum(k * torch.cat((r2, r2**2, r2**3), dim=-1), dim=-1, keepdim=True)
    tan = torch.sum(p * xx, dim=-1, keepdim=True)
    return f * (xx * (radial + tan) + p * r2) + c


def project_to_2d_linear(x: torch.Tensor, camera_params: torch.Tensor) -> torch.Tensor:
    """Pinhole projection using only focal length and centre of ``camera_params`` (N, 9)."""
    if x.shape[-1] != 3 or camera_params.dim() != 2 or camera_params.shape[-1] != 9 or x.shape[0] != camera_params.shape[0]:
        raise ValueError(f"project_to_2d_linear: expected x (N, ..., 3) and camera (N, 9), got {tuple(x.shape)}, {tuple(camera_params.shape)}")
    cam = camera_params.reshape(camera_params.shape[0], *([1] * (x.dim() - 2)), 9)
    return cam[..., :2] * torch.clamp(x[..., :2] / x[..., 2:], min=-1, max=1) + cam[..., 2:4]
