"""Ground truth of a synthetic sequence as arrays: keypoints, visibility, boxes, 3D joints.

:func:`simulate` builds the world and computes, for every person and frame, everything the
writers in :mod:`posetool.synth.export` need. No file is written and nothing is rendered.

Definitions (documented in docs/synth.md):
- visibility: 2 visible, 1 occluded (a nearer part is painted over the point, or an eye faces
  away), 0 outside the image (``0 <= x < W`` and ``0 <= y < H`` is inside).
- bbox: the union of the person's part outlines (amodal: occluded parts count), clipped to the
  image. A person whose clipped box is empty is not present in that frame, nor is one not wholly in
  front of the camera (a joint nearer than ``NEAR_Z`` along the optical axis, or a body ellipsoid whose
  outline is not an ellipse: a runner passing the camera or behind it), whose projection means nothing.
- area: estimated visible body area in pixels (what a COCO segment's area would be): 15 sample
  points per part, each carrying 1/15 of the part's area, counted when the point is inside the
  image, painted by that part, and not covered by a later part.
- visible_ratio: that visible area over the person's unoccluded area (own parts only, image
  borders ignored): MOTChallenge's visibility ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetool.synth.body import COCO17_JOINTS, H36M17_JOINTS, POSETRACK18_JOINTS, J
from posetool.synth.config import SynthConfig
from posetool.synth.parts import (
    ADJACENT,
    EYE_FACING_MIN,
    P_,
    VIS_JOINTS,
    VIS_POINTS,
    PartTracks,
    build_part_tracks,
    coverage,
    eye_facing,
    frame_parts,
    part_boxes,
    part_samples,
    top_part,
)
from posetool.synth.scene import World, build_world

_VIS_INDEX = {n: i for i, n in enumerate(VIS_POINTS)}
_COCO_VIS = np.arange(17)  # VIS_POINTS starts with the COCO-17 points in order
_PT18_VIS = np.array([_VIS_INDEX[n] for n in (
    "nose", "neck", "head_top", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle")])
_EYES = np.array([_VIS_INDEX["left_eye"], _VIS_INDEX["right_eye"]])
NEAR_Z = 0.1  # m: the camera's near plane; a person with a joint nearer than this is not in view


def in_front(world: World, tracks: PartTracks) -> np.ndarray:
    """(P, T) bool: the person is wholly in front of the camera, so that its projection is an image:
    every joint beyond ``NEAR_Z`` and every ellipsoid's outline a true ellipse (positive definite S)."""
    joints_ok = world.joints_cam[..., 2].min(-1) > NEAR_Z
    s = tracks.S[:, :, tracks.is_ellipse]  # (P, T, E, 2, 2)
    ellipse_ok = ((s[..., 0, 0] > 0) & (np.linalg.det(s) > 0)).all(-1)
    return joints_ok & ellipse_ok


@dataclass
class SynthSequence:
    """Ground truth of every person (P) in every frame (T).

    Attributes:
        world: the simulated world (camera, people, joints).
        parts: the projected body parts shared with the renderer.
        present: (P, T) bool, the person is (partly) inside the image.
        joints_2d: (P, T, NUM_JOINTS, 2) projections of every body joint, pixels.
        visibility: (P, T, 19) 0/1/2 for ``parts.VIS_POINTS`` (COCO-17, then head_bottom, head_top).
        bbox: (P, T, 4) [x1, y1, x2, y2] clipped body box; head_bbox: (P, T, 4) unclipped.
        area: (P, T) visible area estimate, px²; visible_ratio: (P, T) in [0, 1].
    """

    world: World
    parts: PartTracks
    present: np.ndarray
    joints_2d: np.ndarray
    visibility: np.ndarray
    bbox: np.ndarray
    head_bbox: np.ndarray
    area: np.ndarray
    visible_ratio: np.ndarray

    @property
    def camera(self):
        return self.world.camera

    def coco17(self) -> np.ndarray:
        """(P, T, 17, 3): x, y, confidence (1 inside the image, 0 outside)."""
        xy = self.joints_2d[:, :, COCO17_JOINTS]
        conf = (self.visibility[:, :, _COCO_VIS] > 0).astype(float)
        return np.concatenate([xy, conf[..., None]], -1)

    def coco17_visibility(self) -> np.ndarray:
        """(P, T, 17) COCO v flags: 0 outside, 1 occluded, 2 visible."""
        return self.visibility[:, :, _COCO_VIS]

    def posetrack18(self) -> np.ndarray:
        """(P, T, 17, 3) in PoseTrack18 slots: x, y, v with v = 1 labelled (inside the image) and
        ``0, 0, 0`` for points outside the image and for the unused ear slots."""
        xy = self.joints_2d[:, :, POSETRACK18_JOINTS]
        lab = self.visibility[:, :, _PT18_VIS] > 0
        lab[:, :, 3:5] = False
        return np.where(lab[..., None], np.concatenate([xy, np.ones_like(xy[..., :1])], -1), 0.0)

    def h36m17_3d(self) -> np.ndarray:
        """(P, T, 17, 3) H36M-17 joints in camera coordinates, metres (absolute)."""
        return self.world.joints_cam[:, :, H36M17_JOINTS]

    def root_3d(self) -> np.ndarray:
        """(P, T, 3) pelvis in camera coordinates, metres."""
        return self.world.joints_cam[:, :, J["pelvis"]]


def simulate(config: SynthConfig) -> SynthSequence:
    """Simulate the world of ``config`` and compute its ground truth (no rendering, no files)."""
    return ground_truth(build_world(config))


def ground_truth(world: World) -> SynthSequence:
    """The ground truth of a simulated world: visibility, boxes, areas (see the module docstring)."""
    config = world.config
    tracks = build_part_tracks(world)
    p, t = world.joints_cam.shape[:2]
    w, h = config.width, config.height
    joints_2d = world.camera.project(world.joints_cam)
    facing = eye_facing(world) if p else np.zeros((0, t, 2))
    present = np.zeros((p, t), dtype=bool)
    vis = np.zeros((p, t, len(VIS_POINTS)), dtype=np.int64)
    bbox = np.zeros((p, t, 4))
    area = np.zeros((p, t))
    ratio = np.zeros((p, t))
    head = P_["head"]
    hc, hS = tracks.center[:, :, head], tracks.S[:, :, head]
    half = np.sqrt(np.maximum(np.stack([hS[..., 0, 0], hS[..., 1, 1]], -1), 0))  # 0 where not in front
    head_bbox = np.concatenate([hc - half, hc + half], -1)
    front = in_front(world, tracks) if p else np.zeros((0, t), dtype=bool)
    for f in range(t):
        candidates = np.flatnonzero(front[:, f])
        if len(candidates) == 0:
            continue
        fp = frame_parts(tracks, f, candidates)
        boxes = part_boxes(fp)
        for i in candidates:
            own = boxes[fp.owner == i]
            box = np.array([own[:, 0].min(), own[:, 1].min(), own[:, 2].max(), own[:, 3].max()])
            box = np.clip(box, 0, [w, h, w, h])
            bbox[i, f] = box
            present[i, f] = box[2] > box[0] and box[3] > box[1]
        here = np.flatnonzero(present[:, f])
        if len(here) == 0:
            continue
        fp = frame_parts(tracks, f, here)
        # Keypoint visibility: which part is painted last over each point.
        pts = joints_2d[here, f][:, VIS_JOINTS].reshape(-1, 2)
        top = top_part(coverage(pts, fp)).reshape(len(here), -1)
        owner_top = np.where(top >= 0, fp.owner[np.maximum(top, 0)], -1)
        part_top = np.where(top >= 0, fp.part[np.maximum(top, 0)], -1)
        own_part = (owner_top == here[:, None]) & ADJACENT[np.arange(len(VIS_POINTS))[None], np.maximum(part_top, 0)]
        seen = (top < 0) | own_part
        seen[:, _EYES] &= facing[here, f] > EYE_FACING_MIN
        inside = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
        inside = inside.reshape(len(here), -1)
        vis[here, f] = np.where(inside, np.where(seen, 2, 1), 0)
        # Visible area: samples painted by their own part, inside the image.
        samples, share = part_samples(fp)
        flat = samples.reshape(-1, 2)
        cov = coverage(flat, fp)
        m = len(fp.owner)
        src = np.repeat(np.arange(m), samples.shape[1])
        top_all = top_part(cov)
        same_owner = fp.owner[None, :] == fp.owner[src][:, None]
        top_own = top_part(cov & same_owner)
        in_img = (flat[:, 0] >= 0) & (flat[:, 0] < w) & (flat[:, 1] >= 0) & (flat[:, 1] < h)
        wts = share[src]
        modal = np.bincount(fp.owner[src], wts * ((top_all == src) & in_img), minlength=p)
        amodal = np.bincount(fp.owner[src], wts * (top_own == src), minlength=p)
        area[here, f] = modal[here]
        ratio[here, f] = np.clip(modal[here] / np.maximum(amodal[here], 1e-9), 0, 1)
    return SynthSequence(world, tracks, present, joints_2d, vis, bbox, head_bbox, area, ratio)
