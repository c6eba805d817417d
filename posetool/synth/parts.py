"""Body volumes in the image: the one geometry that rendering and ground truth share.

Every person is a set of parts: capsules (limbs, neck, nose, ears, hands, feet; a 2D capsule of
radius ``f r / z``) and ellipsoids (head, chest, belly, pelvis; their exact perspective
silhouette, an ellipse). Parts are painted far to near by the depth of their centre
(painter's algorithm over segments, across all people at once).

Occlusion follows the painting: a keypoint is *visible* when the last part painted over its
pixel is one of the parts it belongs to (``ADJACENT``), *occluded* otherwise, and *outside*
when it falls outside the image. Eyes are also occluded when they face away from the camera
(the head ellipsoid itself hides them). The renderer draws the same shapes in the same order,
so the rule can be checked against an id buffer (:func:`posetool.synth.render.render_id_buffer`).

Shapes: P people, T frames, N parts per person (``NUM_PARTS``), Q query points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetool.synth.body import J
from posetool.synth.scene import World

PART_NAMES: tuple[str, ...] = (
    "head", "nose", "left_ear", "right_ear", "neck", "chest", "belly", "pelvis",
    "left_upper_arm", "left_forearm", "left_hand", "right_upper_arm", "right_forearm", "right_hand",
    "left_thigh", "left_shin", "left_foot", "right_thigh", "right_shin", "right_foot",
)
P_ = {n: i for i, n in enumerate(PART_NAMES)}
NUM_PARTS = len(PART_NAMES)

# Capsules: part, joint a, joint b, radius key in BodyShape.radii.
CAPSULES: tuple[tuple[str, str, str, str], ...] = (
    ("nose", "nose_root", "nose", "nose"),
    ("left_ear", "left_ear", "left_ear", "ear"),
    ("right_ear", "right_ear", "right_ear", "ear"),
    ("neck", "thorax", "neck", "neck"),
    ("left_upper_arm", "left_shoulder", "left_elbow", "upper_arm"),
    ("left_forearm", "left_elbow", "left_wrist", "forearm"),
    ("left_hand", "left_hand", "left_hand", "hand"),
    ("right_upper_arm", "right_shoulder", "right_elbow", "upper_arm"),
    ("right_forearm", "right_elbow", "right_wrist", "forearm"),
    ("right_hand", "right_hand", "right_hand", "hand"),
    ("left_thigh", "left_hip", "left_knee", "thigh"),
    ("left_shin", "left_knee", "left_ankle", "shin"),
    ("left_foot", "left_heel", "left_toe", "foot"),
    ("right_thigh", "right_hip", "right_knee", "thigh"),
    ("right_shin", "right_knee", "right_ankle", "shin"),
    ("right_foot", "right_heel", "right_toe", "foot"),
)
# Ellipsoids: part, index into World.orient_cam, (centre joint, fraction towards joint 2, joint 2),
# half-axes keys (x, y, z) in radii (the head uses BodyShape.head_axes).
ELLIPSOIDS: tuple[tuple[str, int, tuple[str, float, str]], ...] = (
    ("head", 3, ("head", 0.0, "head")),
    ("chest", 2, ("spine", 0.55, "thorax")),
    ("belly", 1, ("pelvis", 0.55, "spine")),
    ("pelvis", 0, ("pelvis", 0.0, "pelvis")),
)
# Paint-order bias (metres added to the depth): the trunk sits behind limbs at the same depth,
# the head in front of the neck.
DEPTH_BIAS = np.zeros(NUM_PARTS)
DEPTH_BIAS[[P_["chest"], P_["belly"], P_["pelvis"], P_["neck"], P_["head"]]] = [0.03, 0.04, 0.05, 0.02, -0.02]

# Points whose visibility we decide: body joints, and the parts each belongs to.
VIS_POINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "neck", "head_top",
)
VIS_JOINTS = np.array([J[n] for n in VIS_POINTS])
_ADJ_NAMES: dict[str, tuple[str, ...]] = {
    "nose": ("nose",), "left_eye": ("head",), "right_eye": ("head",),
    "left_ear": ("left_ear",), "right_ear": ("right_ear",),
    "neck": ("neck", "head"), "head_top": ("head",),
}
for _s in ("left", "right"):
    _ADJ_NAMES.update({
        f"{_s}_shoulder": (f"{_s}_upper_arm",), f"{_s}_elbow": (f"{_s}_upper_arm", f"{_s}_forearm"),
        f"{_s}_wrist": (f"{_s}_forearm", f"{_s}_hand"), f"{_s}_hip": (f"{_s}_thigh", "pelvis", "belly"),
        f"{_s}_knee": (f"{_s}_thigh", f"{_s}_shin"), f"{_s}_ankle": (f"{_s}_shin", f"{_s}_foot"),
    })
ADJACENT = np.zeros((len(VIS_POINTS), NUM_PARTS), dtype=bool)
for _i, _n in enumerate(VIS_POINTS):
    for _p in _ADJ_NAMES[_n]:
        ADJACENT[_i, P_[_p]] = True

_EYE_NORMALS = np.array([[0.5, 0.15, 1.0], [-0.5, 0.15, 1.0]]) / np.linalg.norm([0.5, 0.15, 1.0])
EYE_FACING_MIN = 0.15  # cosine between an eye's outward normal and the direction to the camera

# Sample pattern for area estimates: 15 points per part, in a unit square (capsules: along, across)
# or the unit disc (ellipses).
_CAP_U = np.repeat([0.1, 0.3, 0.5, 0.7, 0.9], 3)
_CAP_V = np.tile([-0.6, 0.0, 0.6], 5)
_ang = np.linspace(0, 2 * np.pi, 8)[:7]
_ELL_UV = np.concatenate([[[0.0, 0.0]], 0.4 * np.stack([np.cos(_ang), np.sin(_ang)], -1),
                          0.8 * np.stack([np.cos(_ang + 0.45), np.sin(_ang + 0.45)], -1)])
SAMPLES_PER_PART = 15


@dataclass
class PartTracks:
    """Per-person, per-frame 2D parts (all arrays lead with (P, T, NUM_PARTS)).

    Capsule parts use ``p0``, ``p1``, ``radius`` (pixels); ellipse parts use ``center`` and ``S``
    (the silhouette is ``{x : (x - center)^T S^-1 (x - center) <= 1}``). ``is_ellipse`` marks
    which. ``depth`` is the paint depth (camera z of the part centre plus ``DEPTH_BIAS``).
    """

    is_ellipse: np.ndarray  # (NUM_PARTS,) bool
    p0: np.ndarray  # (P, T, N, 2)
    p1: np.ndarray  # (P, T, N, 2)
    radius: np.ndarray  # (P, T, N)
    center: np.ndarray  # (P, T, N, 2)
    S: np.ndarray  # (P, T, N, 2, 2)
    depth: np.ndarray  # (P, T, N)


def capsule_radius_px(r_px: np.ndarray) -> np.ndarray:
    """Radius as drawn (at least half a pixel); geometry and rendering both use this value."""
    return np.maximum(r_px, 0.5)


def build_part_tracks(world: World) -> PartTracks:
    """Project every person's parts for every frame (vectorised over people and frames)."""
    cam = world.camera
    jc = world.joints_cam
    p, t = jc.shape[:2]
    is_ell = np.zeros(NUM_PARTS, dtype=bool)
    p0 = np.zeros((p, t, NUM_PARTS, 2))
    p1 = np.zeros((p, t, NUM_PARTS, 2))
    radius = np.zeros((p, t, NUM_PARTS))
    center = np.zeros((p, t, NUM_PARTS, 2))
    S = np.broadcast_to(np.eye(2), (p, t, NUM_PARTS, 2, 2)).copy()
    depth = np.zeros((p, t, NUM_PARTS))
    K = cam.K
    for i, person in enumerate(world.people):
        radii = person.shape.radii
        for part, ja, jb, rkey in CAPSULES:
            k = P_[part]
            a, b = jc[i, :, J[ja]], jc[i, :, J[jb]]
            p0[i, :, k] = cam.project(a)
            p1[i, :, k] = cam.project(b)
            zmid = 0.5 * (a[:, 2] + b[:, 2])
            radius[i, :, k] = capsule_radius_px(cam.fx * radii[rkey] / zmid)
            depth[i, :, k] = zmid
        for part, oi, (j0, frac, j1) in ELLIPSOIDS:
            k = P_[part]
            is_ell[k] = True
            c = jc[i, :, J[j0]] + frac * (jc[i, :, J[j1]] - jc[i, :, J[j0]])
            if part == "head":
                axes = np.array(person.shape.head_axes)
            else:
                axes = np.array([radii[f"{part}_w"], radii[f"{part}_h"], radii[f"{part}_d"]])
            if part == "pelvis":  # the pelvis volume sits a little above the hip joints
                c = c + world.orient_cam[i, :, oi] @ np.array([0.0, 0.025, -0.005])
            center[i, :, k], S[i, :, k] = ellipsoid_silhouette(c, world.orient_cam[i, :, oi], axes, K)
            depth[i, :, k] = c[:, 2]
    depth += DEPTH_BIAS
    return PartTracks(is_ell, p0, p1, radius, center, S, depth)


def ellipsoid_silhouette(c: np.ndarray, orient: np.ndarray, axes: np.ndarray, K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact perspective outline of ellipsoids.

    The dual quadric of the ellipsoid ``{c + O diag(axes) u : |u| <= 1}`` is
    ``[[M - c c^T, -c], [-c^T, -1]]`` with ``M = O diag(axes^2) O^T``; projected by ``K[I|0]`` it
    gives the dual conic ``C* = K (M - c c^T) K^T`` of the outline. Scaled so that
    ``C*[2, 2] = -1`` it reads ``[[S - x0 x0^T, -x0], [-x0^T, -1]]``.

    Args:
        c: (T, 3) centres, camera coordinates. orient: (T, 3, 3). axes: (3,) half-axes.
        K: (3, 3) intrinsics.

    Returns:
        centres (T, 2) and shape matrices S (T, 2, 2) of the outline ellipses, pixels.
    """
    M = orient @ np.diag(axes ** 2) @ np.swapaxes(orient, -1, -2)
    dual = K @ (M - c[:, :, None] * c[:, None, :]) @ K.T
    n = dual / -dual[:, 2:3, 2:3]
    x0 = -n[:, :2, 2]
    S = n[:, :2, :2] + x0[:, :, None] * x0[:, None, :]
    return x0, S


def ellipse_params(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Semi-axes (major, minor) and the major axis angle (degrees) of (..., 2, 2) shape matrices."""
    a, b, c = S[..., 0, 0], S[..., 0, 1], S[..., 1, 1]
    mid, dev = (a + c) / 2, np.sqrt(((a - c) / 2) ** 2 + b ** 2)
    major, minor = np.sqrt(np.maximum(mid + dev, 1e-12)), np.sqrt(np.maximum(mid - dev, 1e-12))
    return major, minor, np.degrees(0.5 * np.arctan2(2 * b, a - c))


@dataclass
class FrameParts:
    """All parts of the people present in one frame, in paint order (far to near).

    Arrays have one row per part (M = people × NUM_PARTS): ``owner`` (person index), ``part``
    (index into PART_NAMES), the shape arrays of :class:`PartTracks`, and ``depth``.
    """

    owner: np.ndarray
    part: np.ndarray
    is_ellipse: np.ndarray
    p0: np.ndarray
    p1: np.ndarray
    radius: np.ndarray
    center: np.ndarray
    S: np.ndarray
    Sinv: np.ndarray
    depth: np.ndarray


def frame_parts(tracks: PartTracks, t: int, people: np.ndarray) -> FrameParts:
    """The parts of ``people`` (indices) at frame ``t``, sorted far to near (stable on ties)."""
    n = len(people)
    owner = np.repeat(people, NUM_PARTS)
    part = np.tile(np.arange(NUM_PARTS), n)
    depth = tracks.depth[people, t].reshape(-1)
    order = np.lexsort((owner * NUM_PARTS + part, -depth))  # far first; ties by person, part
    S = tracks.S[people, t].reshape(-1, 2, 2)[order]
    return FrameParts(
        owner=owner[order], part=part[order], is_ellipse=np.tile(tracks.is_ellipse, n)[order],
        p0=tracks.p0[people, t].reshape(-1, 2)[order], p1=tracks.p1[people, t].reshape(-1, 2)[order],
        radius=tracks.radius[people, t].reshape(-1)[order], center=tracks.center[people, t].reshape(-1, 2)[order],
        S=S, Sinv=np.linalg.inv(S), depth=depth[order],
    )


def coverage(points: np.ndarray, fp: FrameParts) -> np.ndarray:
    """(Q, M) bool: whether each part's outline contains each point (points (Q, 2), pixels)."""
    box = part_boxes(fp)
    x, y = points[:, 0:1], points[:, 1:2]
    # Cheap box test first; the exact test runs only on the (point, part) pairs that pass it.
    cand = (x >= box[:, 0]) & (x <= box[:, 2]) & (y >= box[:, 1]) & (y <= box[:, 3])
    qi, mi = np.nonzero(cand)
    px, py = points[qi, 0], points[qi, 1]
    # Capsules: distance to the segment.
    ax, ay = fp.p0[mi, 0], fp.p0[mi, 1]
    dx, dy = fp.p1[mi, 0] - ax, fp.p1[mi, 1] - ay
    u = np.clip(((px - ax) * dx + (py - ay) * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0, 1)
    ex, ey = px - ax - u * dx, py - ay - u * dy
    in_cap = ex * ex + ey * ey <= fp.radius[mi] ** 2
    # Ellipses: quadratic form with the inverse shape matrix.
    cx, cy = px - fp.center[mi, 0], py - fp.center[mi, 1]
    si = fp.Sinv[mi]
    in_ell = cx * cx * si[:, 0, 0] + 2 * cx * cy * si[:, 0, 1] + cy * cy * si[:, 1, 1] <= 1.0
    out = np.zeros(cand.shape, dtype=bool)
    out[qi, mi] = np.where(fp.is_ellipse[mi], in_ell, in_cap)
    return out


def top_part(cov: np.ndarray) -> np.ndarray:
    """(Q,) index of the last-painted part covering each point, -1 where none does."""
    m = cov.shape[1]
    last = m - 1 - np.argmax(cov[:, ::-1], axis=1)
    return np.where(cov.any(axis=1), last, -1)


def part_samples(fp: FrameParts) -> tuple[np.ndarray, np.ndarray]:
    """Sample points (M, 15, 2) spread over each part and each sample's share of the part's area (M,)."""
    d = fp.p1 - fp.p0
    length = np.sqrt((d ** 2).sum(-1))
    dirn = np.where(length[:, None] > 1e-9, d / np.maximum(length, 1e-9)[:, None], [1.0, 0.0])
    perp = np.stack([-dirn[:, 1], dirn[:, 0]], -1)
    cap = (fp.p0[:, None] + _CAP_U[None, :, None] * d[:, None]
           + (_CAP_V[None, :] * fp.radius[:, None])[..., None] * perp[:, None])
    Lc = np.linalg.cholesky(fp.S)
    ell = fp.center[:, None] + np.einsum("mij,sj->msi", Lc, _ELL_UV)
    cap_area = 2 * fp.radius * length + np.pi * fp.radius ** 2
    ell_area = np.pi * np.sqrt(np.maximum(np.linalg.det(fp.S), 0))
    pts = np.where(fp.is_ellipse[:, None, None], ell, cap)
    area = np.where(fp.is_ellipse, ell_area, cap_area) / SAMPLES_PER_PART
    return pts, area


def part_boxes(fp: FrameParts) -> np.ndarray:
    """(M, 4) axis-aligned extents [x1, y1, x2, y2] of every part outline."""
    lo_c = np.minimum(fp.p0, fp.p1) - fp.radius[:, None]
    hi_c = np.maximum(fp.p0, fp.p1) + fp.radius[:, None]
    half = np.sqrt(np.stack([fp.S[:, 0, 0], fp.S[:, 1, 1]], -1))
    lo = np.where(fp.is_ellipse[:, None], fp.center - half, lo_c)
    hi = np.where(fp.is_ellipse[:, None], fp.center + half, hi_c)
    return np.concatenate([lo, hi], -1)


def eye_facing(world: World) -> np.ndarray:
    """(P, T, 2) cosine between each eye's outward normal and the direction to the camera."""
    head_o = world.orient_cam[:, :, 3]  # (P, T, 3, 3)
    normals = np.einsum("ptij,ej->ptei", head_o, _EYE_NORMALS)
    eyes = world.joints_cam[:, :, [J["left_eye"], J["right_eye"]]]
    to_cam = -eyes / np.linalg.norm(eyes, axis=-1, keepdims=True)
    return (normals * to_cam).sum(-1)
