"""Backgrounds: a textured ground plane seen through the scene camera, a sky or wall above the
horizon, and clutter standing beyond where people walk (so it never occludes them).

Generated once per sequence (the camera is static); :func:`make_background` returns a BGR
image (H, W, 3) uint8.
"""

from __future__ import annotations

import cv2
import numpy as np

from posetool.synth.camera import Camera

KINDS = ("outdoor", "indoor", "abstract")


def _noise(rng: np.random.Generator, h: int, w: int, scale: int, amp: float) -> np.ndarray:
    """Smooth value noise (h, w) float32 in about [-amp, amp]: random grid upsampled."""
    small = rng.normal(0, 1, (max(2, h // scale), max(2, w // scale))).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC) * amp


def _ground_texture(rng: np.random.Generator, kind: str, size: int, metres: float) -> np.ndarray:
    """A (size, size, 3) texture covering ``metres`` × ``metres`` of ground."""
    px = size / metres
    if kind == "indoor":
        base = rng.uniform(60, 210, 3)
        tex = np.empty((size, size, 3), np.float32)
        tex[:] = base
        tile = rng.uniform(0.3, 1.2) * px
        if rng.random() < 0.5:  # tiles with grout lines
            alt = base * rng.uniform(0.75, 1.1)
            yy, xx = np.mgrid[0:size, 0:size]
            checker = ((xx // tile).astype(int) + (yy // tile).astype(int)) % 2 == 1
            tex[checker] = alt
            grout = ((xx % tile) < max(1.0, tile * 0.04)) | ((yy % tile) < max(1.0, tile * 0.04))
            tex[grout] *= 0.6
        else:  # wooden planks
            yy, xx = np.mgrid[0:size, 0:size]
            plank = (xx // (tile * 0.25)).astype(int)
            shade = rng.uniform(0.8, 1.15, plank.max() + 1)[plank]
            tex *= shade[..., None]
            tex += _noise(rng, size, size, 3, 10)[..., None]
    else:
        if kind == "outdoor" and rng.random() < 0.5:
            base = np.array([rng.uniform(30, 70), rng.uniform(90, 160), rng.uniform(40, 90)])  # grass
        else:
            base = np.full(3, rng.uniform(70, 150)) + rng.uniform(-15, 15, 3)  # asphalt / sand
        tex = np.empty((size, size, 3), np.float32)
        tex[:] = base
        tex += _noise(rng, size, size, 24, 18)[..., None]
        tex += _noise(rng, size, size, 4, 10)[..., None]
        tex += rng.normal(0, 8, (size, size, 1)).astype(np.float32)
        if rng.random() < 0.4:  # painted lines
            for _ in range(int(rng.integers(1, 4))):
                x = int(rng.uniform(0, size))
                cv2.line(tex, (x, 0), (int(x + rng.uniform(-size, size) * 0.3), size - 1),
                         tuple(float(v) for v in rng.uniform(170, 240, 3)), max(1, int(0.1 * px)))
    return np.clip(tex, 0, 255).astype(np.uint8)


def horizon_row(cam: Camera) -> float:
    """Image row of the horizon (ground directions at infinity), in pixels."""
    yaw = np.radians(cam.yaw_deg)
    d = cam.R @ np.array([np.sin(yaw), 0.0, np.cos(yaw)])
    return float(cam.fy * d[1] / d[2] + cam.cy)


def _ground_point(cam: Camera, dist: float, lateral: float) -> np.ndarray:
    yaw = np.radians(cam.yaw_deg)
    fwd, side = np.array([np.sin(yaw), 0, np.cos(yaw)]), np.array([np.cos(yaw), 0, -np.sin(yaw)])
    return np.array([cam.C[0], 0, cam.C[2]]) + dist * fwd + lateral * side


def make_background(rng: np.random.Generator, cam: Camera, clutter_from: float) -> np.ndarray:
    """Render the static background of a sequence.

    Args:
        rng: the sequence's generator (consumed in a fixed order).
        cam: the camera.
        clutter_from: ground distance (m) beyond which clutter may stand.
    """
    w, h = cam.width, cam.height
    kind = str(rng.choice(KINDS, p=[0.45, 0.4, 0.15]))
    img = np.zeros((h, w, 3), np.float32)
    hz = horizon_row(cam)
    rows = np.arange(h, dtype=np.float32)[:, None, None]
    # Above the horizon: sky, wall or abstract texture.
    top, bottom = rng.uniform(60, 250, 3), rng.uniform(60, 250, 3)
    if kind == "outdoor":
        top = np.array([rng.uniform(180, 250), rng.uniform(130, 200), rng.uniform(80, 140)])  # BGR sky blue
        bottom = np.clip(top + rng.uniform(10, 60), 0, 255)
    frac = np.clip(rows / max(hz, 1.0), 0, 1)
    img[:] = top * (1 - frac) + bottom * frac
    if kind != "outdoor":
        img += _noise(rng, h, w, int(rng.integers(2, 40)), float(rng.uniform(4, 25)))[..., None]
        if rng.random() < 0.5:
            period = int(rng.integers(6, 40))
            img[:, (np.arange(w) // period) % 2 == 1] *= rng.uniform(0.85, 0.97)
    # Ground plane: texture warped by the camera's ground homography (texture px → image px).
    size, metres = 1024, 48.0
    tex = _ground_texture(rng, kind, size, metres).astype(np.float32)
    tex = cv2.GaussianBlur(tex, (0, 0), 0.8)
    origin = _ground_point(cam, metres / 2 + 1.0, 0.0) - np.array([metres / 2, 0, metres / 2])
    s = metres / size
    A = cam.R @ np.stack([np.array([s, 0, 0]), np.array([0, 0, s]), origin - cam.C], 1)
    H = np.array([[1, 0, -0.5], [0, 1, -0.5], [0, 0, 1]]) @ cam.K @ A
    ground = cv2.warpPerspective(tex, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    # Haze: the ground fades to the horizon colour with distance.
    fade = np.clip((rows - hz) / max(h - hz, 1.0), 0, 1) ** 0.6
    haze = bottom * 0.7 + 60
    ground = ground * fade + haze * (1 - fade)
    below = rows > hz + 0.5
    img = np.where(below, ground, img)
    img = _clutter(rng, img, cam, kind, clutter_from)
    # Lighting: tint, brightness, vignetting, fixed-pattern noise.
    img *= rng.uniform(0.85, 1.15, 3).astype(np.float32) * rng.uniform(0.7, 1.2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2
    img *= (1 - rng.uniform(0.0, 0.5) * r2)[..., None]
    img += rng.normal(0, rng.uniform(0.5, 3.0), img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def _clutter(rng: np.random.Generator, img: np.ndarray, cam: Camera, kind: str, dist0: float) -> np.ndarray:
    """Objects standing on the ground farther away than anyone walks: trees, poles, boxes, walls."""
    tan = (cam.width / 2) / cam.fx
    n = int(rng.integers(3, 14))
    for _ in range(n):
        d = rng.uniform(dist0, dist0 + 25)
        lat = rng.uniform(-1.3, 1.3) * d * tan
        base = cam.world_to_camera(_ground_point(cam, d, lat))
        if base[2] <= 0.5:
            continue
        u, v = cam.project(base)
        px_per_m = cam.fx / base[2]
        color = tuple(float(c) for c in rng.uniform(20, 230, 3))
        shape = rng.integers(4)
        if shape == 0 or (kind == "outdoor" and shape == 1):  # tree: trunk + crown
            th, tw = rng.uniform(2, 6) * px_per_m, rng.uniform(0.15, 0.4) * px_per_m
            cv2.rectangle(img, (int(u - tw), int(v - th)), (int(u + tw), int(v)), (40.0, 60.0, 90.0), -1)
            crown = (float(rng.uniform(30, 80)), float(rng.uniform(90, 170)), float(rng.uniform(30, 90)))
            cv2.ellipse(img, (int(u), int(v - th)), (int(rng.uniform(1, 2.5) * px_per_m), int(rng.uniform(1.2, 3) * px_per_m)),
                        0, 0, 360, crown, -1)
        elif shape == 1:  # cabinet / box
            bw, bh = rng.uniform(0.5, 2.5) * px_per_m, rng.uniform(0.5, 2.2) * px_per_m
            cv2.rectangle(img, (int(u - bw / 2), int(v - bh)), (int(u + bw / 2), int(v)), color, -1)
            cv2.rectangle(img, (int(u - bw / 2), int(v - bh)), (int(u + bw / 2), int(v)),
                          tuple(c * 0.6 for c in color), max(1, int(px_per_m * 0.03)))
        elif shape == 2:  # pole or lamp
            ph = rng.uniform(2.5, 5) * px_per_m
            cv2.line(img, (int(u), int(v)), (int(u), int(v - ph)), color, max(1, int(0.12 * px_per_m)))
            cv2.circle(img, (int(u), int(v - ph)), max(2, int(0.25 * px_per_m)), (200.0, 230.0, 240.0), -1)
        else:  # wall segment / building with windows
            bw, bh = rng.uniform(2, 8) * px_per_m, rng.uniform(2, 7) * px_per_m
            x0, y0 = int(u - bw / 2), int(v - bh)
            cv2.rectangle(img, (x0, y0), (int(u + bw / 2), int(v)), color, -1)
            step = max(4, int(px_per_m * 1.2))
            for yy in range(y0 + step // 2, int(v) - step // 2, step):
                for xx in range(x0 + step // 3, int(u + bw / 2) - step // 3, step):
                    cv2.rectangle(img, (xx, yy), (xx + step // 3, yy + step // 3), tuple(c * 0.5 for c in color), -1)
    return img
