"""Rendering with OpenCV: shaded body volumes painted far to near over a static background.

Each part's outline is filled exactly as :mod:`posetool.synth.parts` defines it (capsules as a
polygon plus two circles, ellipsoids as their silhouette ellipse), then shaded inside that
outline (a darker rim, a lit core offset towards the light, a highlight), with clothing patterns
and face details drawn inside the head. :func:`render_id_buffer` paints the same outlines in the
same order with part ids, which the tests use to check the occlusion ground truth.

OpenCV puts pixel centres on integer coordinates; our coordinates put them at +0.5, so every
point is shifted by -0.5 (and drawn with 4 fractional bits).
"""

from __future__ import annotations

import cv2
import numpy as np

from posetool.synth.appearance import Appearance
from posetool.synth.background import make_background
from posetool.synth.body import J
from posetool.synth.groundtruth import SynthSequence
from posetool.synth.parts import (
    EYE_FACING_MIN,
    NUM_PARTS,
    P_,
    FrameParts,
    ellipse_params,
    ellipsoid_silhouette,
    eye_facing,
    frame_parts,
)

_SHIFT = 4
_ONE = 1 << _SHIFT


def _fx(x: float) -> int:
    return int(round((x - 0.5) * _ONE))


def _pt(p: np.ndarray) -> tuple[int, int]:
    return _fx(p[0]), _fx(p[1])


# OpenCV's filled shapes also take pixels whose centres lie up to ~0.75 px outside the outline;
# drawing outlines this much smaller balances the raster around the exact outline.
RASTER_INSET = 0.35


def draw_outline(img: np.ndarray, fp: FrameParts, m: int, color) -> None:
    """Fill part ``m``'s outline (the exact shape the occlusion test uses) with ``color``."""
    if fp.is_ellipse[m]:
        major, minor, ang = ellipse_params(fp.S[m])
        major, minor = max(major - RASTER_INSET, 0.3), max(minor - RASTER_INSET, 0.3)
        cv2.ellipse(img, _pt(fp.center[m]), (int(round(major * _ONE)), int(round(minor * _ONE))), float(ang), 0, 360,
                    color, -1, cv2.LINE_8, _SHIFT)
        return
    p0, p1, r = fp.p0[m], fp.p1[m], max(float(fp.radius[m]) - RASTER_INSET, 0.3)
    d = p1 - p0
    length = float(np.hypot(d[0], d[1]))
    if length > 1e-3:
        n = np.array([-d[1], d[0]]) / length * r
        poly = np.array([p0 + n, p1 + n, p1 - n, p0 - n])
        cv2.fillConvexPoly(img, np.round((poly - 0.5) * _ONE).astype(np.int32), color, cv2.LINE_8, _SHIFT)
        cv2.circle(img, _pt(p1), int(round(r * _ONE)), color, -1, cv2.LINE_8, _SHIFT)
    cv2.circle(img, _pt(p0), int(round(r * _ONE)), color, -1, cv2.LINE_8, _SHIFT)


def render_id_buffer(seq: SynthSequence, t: int) -> np.ndarray:
    """(H, W) uint16 image: 0 background, else ``person_index * NUM_PARTS + part + 1`` of the
    part painted last at each pixel (same outlines and order as the renderer)."""
    cfg = seq.world.config
    ids = np.zeros((cfg.height, cfg.width), np.uint16)
    here = np.flatnonzero(seq.present[:, t])
    if len(here) == 0:
        return ids
    fp = frame_parts(seq.parts, t, here)
    for m in range(len(fp.owner)):
        draw_outline(ids, fp, m, int(fp.owner[m] * NUM_PARTS + fp.part[m] + 1))
    return ids


def _shade(c, k: float) -> tuple[float, float, float]:
    return (min(255.0, c[0] * k), min(255.0, c[1] * k), min(255.0, c[2] * k))


def _part_colors(app: Appearance) -> list[tuple[int, int, int]]:
    col = [app.skin] * NUM_PARTS
    shirt_lower = app.shirt2 if app.pattern == "twotone" else app.shirt
    for name, c in (("chest", app.shirt), ("belly", shirt_lower), ("pelvis", app.pants),
                    ("left_upper_arm", app.shirt), ("right_upper_arm", app.shirt),
                    ("left_thigh", app.pants), ("right_thigh", app.pants), ("left_foot", app.shoes),
                    ("right_foot", app.shoes), ("head", app.skin if app.bald else app.hair)):
        col[P_[name]] = c
    if app.long_sleeves:
        col[P_["left_forearm"]] = col[P_["right_forearm"]] = app.shirt
    if not app.shorts:
        col[P_["left_shin"]] = col[P_["right_shin"]] = app.pants
    return col


class Renderer:
    """Renders the frames of a :class:`SynthSequence` (deterministic given the seed)."""

    def __init__(self, seq: SynthSequence, noise: float | None = None, motion_blur: bool = False) -> None:
        self.seq = seq
        world = seq.world
        cfg = world.config
        # A separate generator so rendering choices never change the ground truth.
        rng = np.random.default_rng([cfg.seed, 7])
        from posetool.synth.scene import GroundRegion

        self.background = make_background(rng, world.camera, GroundRegion(world.camera).far + 2.0)
        ang = rng.uniform(-2.4, -0.7)  # light from above, left or right
        self.light = np.array([np.cos(ang), np.sin(ang)])
        sigma = float(rng.uniform(1.0, 4.0)) if noise is None else float(noise)
        self.noise_bank = []
        for _ in range(4):
            n = rng.normal(0, sigma, self.background.shape)
            self.noise_bank.append((np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)))
        self.flicker = 1 + rng.uniform(0, 0.04) * np.sin(2 * np.pi * rng.uniform(0.1, 1.0) * np.arange(cfg.frames) / cfg.fps
                                                         + rng.uniform(0, 6.3))
        self.motion_blur = motion_blur
        self._prev: np.ndarray | None = None
        self.colors = [_part_colors(p.appearance) for p in world.people]
        self.facing = eye_facing(world) if world.people else None
        self.face_dir = world.orient_cam[:, :, 3, :, 2] if world.people else None  # head forward axis
        self.shadow_ok = True

    def render(self, t: int) -> np.ndarray:
        """The BGR frame (H, W, 3) uint8 at index ``t``."""
        seq = self.seq
        img = self.background.copy()
        here = np.flatnonzero(seq.present[:, t])
        if len(here):
            self._shadows(img, t, here)
            fp = frame_parts(seq.parts, t, here)
            for m in range(len(fp.owner)):
                self._draw_part(img, fp, m, t)
        img = cv2.GaussianBlur(img, (3, 3), 0.7)
        if self.motion_blur:
            prev, self._prev = self._prev, img
            if prev is not None:
                img = cv2.addWeighted(img, 0.65, prev, 0.35, 0)
        f = float(self.flicker[t])
        if abs(f - 1) > 1e-3:
            img = cv2.convertScaleAbs(img, alpha=f)
        pos, neg = self.noise_bank[t % len(self.noise_bank)]
        img = cv2.subtract(cv2.add(img, pos), neg)
        return img

    def _shadows(self, img: np.ndarray, t: int, here: np.ndarray) -> None:
        """A soft dark ellipse on the ground under each person (behind everyone)."""
        cam = self.seq.world.camera
        for i in here:
            pelvis = self.seq.world.joints_world[i, t, J["pelvis"]]
            c = cam.world_to_camera(np.array([pelvis[0], 0.0, pelvis[2]]))[None]
            if c[0, 2] < 0.5:
                continue
            center, S = ellipsoid_silhouette(c, cam.R[None], np.array([0.35, 0.005, 0.3]), cam.K)
            major, minor, ang = ellipse_params(S[0])
            x0, y0 = int(center[0, 0] - major - 2), int(center[0, 1] - major - 2)
            x1, y1 = int(center[0, 0] + major + 3), int(center[0, 1] + major + 3)
            x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, img.shape[1]), min(y1, img.shape[0])
            if x1 <= x0 or y1 <= y0:
                continue
            roi = img[y0:y1, x0:x1]
            layer = roi.copy()
            cv2.ellipse(layer, (_fx(center[0, 0] - x0), _fx(center[0, 1] - y0)),
                        (int(major * _ONE), int(minor * _ONE)), float(ang), 0, 360, (0, 0, 0), -1, cv2.LINE_AA, _SHIFT)
            cv2.addWeighted(roi, 0.6, layer, 0.4, 0, dst=roi)

    def _draw_part(self, img: np.ndarray, fp: FrameParts, m: int, t: int) -> None:
        i, part = int(fp.owner[m]), int(fp.part[m])
        base = self.colors[i][part]
        draw_outline(img, fp, m, _shade(base, 0.55))
        light = self.light
        if fp.is_ellipse[m]:
            major, minor, ang = ellipse_params(fp.S[m])
            a = np.radians(ang)
            ax_u, ax_v = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
            # Offsets in the ellipse's own (normalised) coordinates keep layers inside the outline.
            lu, lv = light @ ax_u, light @ ax_v
            for scale, off, k in ((0.82, 0.12, 1.0), (0.42, 0.4, 1.25)):
                c = fp.center[m] + off * (lu * major * ax_u + lv * minor * ax_v)
                cv2.ellipse(img, _pt(c), (int(major * scale * _ONE), int(minor * scale * _ONE)), float(ang), 0, 360,
                            _shade(base, k), -1, cv2.LINE_8, _SHIFT)
            if part == P_["head"]:
                self._face(img, i, t)
            elif part in (P_["chest"], P_["belly"]):
                self._stripes(img, fp, m, i, t)
            return
        p0, p1, r = fp.p0[m], fp.p1[m], float(fp.radius[m])
        d = p1 - p0
        length = float(np.hypot(*d))
        perp = np.array([-d[1], d[0]]) / length if length > 1e-3 else -light
        side = 1.0 if perp @ light >= 0 else -1.0
        for width, off, k in ((0.75, 0.2, 1.0), (0.32, 0.45, 1.25)):
            if r * width < 0.7:
                continue
            o = perp * side * off * r
            cv2.line(img, _pt(p0 + o), _pt(p1 + o), _shade(base, k), max(1, int(2 * r * width)), cv2.LINE_8, _SHIFT)

    def _face(self, img: np.ndarray, i: int, t: int) -> None:
        """Skin face, eyes, brows and mouth inside the head outline, when the face is towards us."""
        world = self.seq.world
        app = world.people[i].appearance
        jc = world.joints_cam[i, t]
        head_o = world.orient_cam[i, t, 3]
        to_cam = -jc[J["head"]] / np.linalg.norm(jc[J["head"]])
        facing = float(self.face_dir[i, t] @ to_cam)
        if facing < -0.25 or app.bald and facing < 0:
            return
        hw, hh, hd = world.people[i].shape.head_axes
        cam = world.camera
        if not app.bald:
            # The face is a smaller ellipsoid inside the head one (contained in 3D, so its outline
            # is contained in the head's), shifted forward and down so hair frames it.
            c = jc[J["head"]] + head_o @ np.array([0.0, -0.02 * hh / 0.1, 0.02 * hd / 0.1])
            center, S = ellipsoid_silhouette(c[None], head_o[None], 0.72 * np.array([hw, hh, hd]), cam.K)
            major, minor, ang = ellipse_params(S[0])
            cv2.ellipse(img, _pt(center[0]), (int(major * _ONE), int(minor * _ONE)), float(ang), 0, 360,
                        _shade(app.skin, 1.05), -1, cv2.LINE_8, _SHIFT)
        px = cam.fx / jc[J["head"], 2]
        eye_r = max(0.6, 0.011 * px)
        face = self.facing[i, t]
        for e, name in enumerate(("left_eye", "right_eye")):
            if face[e] > EYE_FACING_MIN:
                p = cam.project(jc[J[name]])
                cv2.circle(img, _pt(p), int(eye_r * _ONE), (25, 25, 30), -1, cv2.LINE_8, _SHIFT)
                brow = cam.project(jc[J[name]] + head_o @ np.array([0.0, 0.022, 0.0]))
                left = head_o[:, 0] * 0.012
                a, b = cam.project(jc[J[name]] + head_o @ np.array([0.0, 0.022, 0.0]) + left), brow
                cv2.line(img, _pt(a), _pt(2 * b - a), _shade(app.hair, 0.8), max(1, int(0.006 * px)), cv2.LINE_8, _SHIFT)
        if facing > 0.3:
            mouth = jc[J["mouth"]]
            half = head_o[:, 0] * 0.018
            a, b = cam.project(mouth + half), cam.project(mouth - half)
            cv2.line(img, _pt(a), _pt(b), (60, 60, 150), max(1, int(0.008 * px)), cv2.LINE_8, _SHIFT)

    def _stripes(self, img: np.ndarray, fp: FrameParts, m: int, i: int, t: int) -> None:
        """Clothing stripes as chords of the torso outline (85 % of it), across or along the body."""
        app = self.seq.world.people[i].appearance
        if app.pattern not in ("hstripes", "vstripes"):
            return
        jc = self.seq.world.joints_cam[i, t]
        cam = self.seq.world.camera
        up = cam.project(jc[J["thorax"]]) - cam.project(jc[J["pelvis"]])
        n = float(np.hypot(*up))
        if n < 1e-6:
            return
        up /= n
        across = np.array([-up[1], up[0]])
        step_dir, line_dir = (up, across) if app.pattern == "hstripes" else (across, up)
        Si, c = fp.Sinv[m], fp.center[m]
        extent = 1.0 / np.sqrt(max(step_dir @ Si @ step_dir, 1e-12))
        a = line_dir @ Si @ line_dir
        k = app.stripes
        thick = max(1, int(extent / (2.5 * k)))
        for j in range(k):
            s = (-0.75 + 1.5 * (j + 0.5) / k) * extent
            o = s * step_dir
            b = o @ Si @ line_dir
            cc = o @ Si @ o - 0.85 ** 2
            disc = b * b - a * cc
            if disc <= 0:
                continue
            r = np.sqrt(disc)
            t0, t1 = (-b - r) / a, (-b + r) / a
            cv2.line(img, _pt(c + o + t0 * line_dir), _pt(c + o + t1 * line_dir), app.shirt2, thick, cv2.LINE_8, _SHIFT)


def draw_ground_truth(img: np.ndarray, seq: SynthSequence, t: int) -> np.ndarray:
    """A copy of ``img`` with frame ``t``'s ground truth: boxes, track ids, COCO skeletons
    (filled dots visible, hollow dots occluded, outside points not drawn) and head boxes."""
    from posetool.skeletons import COCO17

    out = img.copy()
    kp, vis = seq.coco17(), seq.coco17_visibility()
    palette = [(0, 215, 255), (255, 128, 0), (60, 220, 60), (255, 0, 255), (0, 0, 255), (255, 255, 0)]
    for i in np.flatnonzero(seq.present[:, t]):
        color = palette[i % len(palette)]
        x1, y1, x2, y2 = seq.bbox[i, t]
        cv2.rectangle(out, _pt((x1, y1)), _pt((x2, y2)), color, 1, cv2.LINE_AA, _SHIFT)
        hx1, hy1, hx2, hy2 = seq.head_bbox[i, t]
        cv2.rectangle(out, _pt((hx1, hy1)), _pt((hx2, hy2)), (255, 255, 255), 1, cv2.LINE_AA, _SHIFT)
        cv2.putText(out, str(seq.world.people[i].track_id), (int(x1) + 2, max(int(y1) - 3, 10)),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.45, color, 1, cv2.LINE_AA)
        pts, v = kp[i, t, :, :2], vis[i, t]
        for a, b in COCO17.bones:
            if v[a] > 0 and v[b] > 0:
                cv2.line(out, _pt(pts[a]), _pt(pts[b]), color, 2 if v[a] == 2 and v[b] == 2 else 1, cv2.LINE_AA, _SHIFT)
        for k in range(17):
            if v[k] == 2:
                cv2.circle(out, _pt(pts[k]), 3 * _ONE, (0, 0, 0), -1, cv2.LINE_AA, _SHIFT)
                cv2.circle(out, _pt(pts[k]), 2 * _ONE, color, -1, cv2.LINE_AA, _SHIFT)
            elif v[k] == 1:
                cv2.circle(out, _pt(pts[k]), 3 * _ONE, color, 1, cv2.LINE_AA, _SHIFT)
    return out
