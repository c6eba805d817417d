"""Keypoint layouts and the mappings between them.

A :class:`Skeleton` names the keypoints of a layout in order, its left/right flip pairs, its
bones (pairs of keypoint indices, used for drawing and bone-length losses), and, where the COCO
evaluator defines them, the per-keypoint OKS sigmas.

Mappings (:func:`map_keypoints`) convert K×3 arrays (x, y, confidence) or J×3 3D arrays between
layouts. Each output keypoint is a weighted sum of input keypoints; its confidence is the minimum
confidence of the inputs it uses, so a derived point is never more certain than its parts.

Sources: COCO keypoint names, skeleton and sigmas from pycocotools / the COCO annotation files;
H36M-17 joint order and parents from VideoPose3D ``common/h36m_dataset.py``; PoseTrack18 slots
from poseval (head_bottom and head_top sit in COCO's eye slots); BlazePose-33 from MediaPipe's
pose landmark model card.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from posetool.errors import PosetoolError


@dataclass(frozen=True)
class Skeleton:
    """A keypoint layout.

    Attributes:
        name: registry name, e.g. ``"coco17"``; this is what stream headers carry.
        keypoints: keypoint names in order.
        flip_pairs: (left, right) index pairs swapped by a horizontal flip.
        bones: (a, b) index pairs joined when drawing a skeleton.
        sigmas: COCO OKS sigmas per keypoint (already divided by 10), or ``None``.
        parents: parent index per keypoint for kinematic trees (-1 for the root), or ``None``.
    """

    name: str
    keypoints: tuple[str, ...]
    flip_pairs: tuple[tuple[int, int], ...]
    bones: tuple[tuple[int, int], ...]
    sigmas: tuple[float, ...] | None = None
    parents: tuple[int, ...] | None = None
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({n: i for i, n in enumerate(self.keypoints)})
        k = len(self.keypoints)
        for a, b in self.flip_pairs + self.bones:
            if not (0 <= a < k and 0 <= b < k):
                raise ValueError(f"skeleton {self.name}: pair ({a}, {b}) out of range 0..{k - 1}")
        if self.sigmas is not None and len(self.sigmas) != k:
            raise ValueError(f"skeleton {self.name}: {len(self.sigmas)} sigmas for {k} keypoints")

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def index(self, keypoint: str) -> int:
        """Index of a keypoint by name; raises ``KeyError`` naming the layout."""
        try:
            return self._index[keypoint]
        except KeyError:
            raise KeyError(f"skeleton {self.name} has no keypoint {keypoint!r}") from None

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array ``p`` such that ``flipped[i] = original[p[i]]`` swaps left and right."""
        perm = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm

    @property
    def left(self) -> list[int]:
        return [a for a, _ in self.flip_pairs]

    @property
    def right(self) -> list[int]:
        return [b for _, b in self.flip_pairs]

    def sigmas_array(self) -> np.ndarray:
        """OKS sigmas as a float64 array of shape (K,); raises if the layout has none."""
        if self.sigmas is None:
            raise PosetoolError(f"skeleton {self.name} has no OKS sigmas; use coco17 or posetrack18")
        return np.asarray(self.sigmas, dtype=np.float64)


_COCO_SIGMAS = tuple(
    s / 10.0
    for s in (0.26, 0.25, 0.25, 0.35, 0.35, 0.79, 0.79, 0.72, 0.72, 0.62, 0.62, 1.07, 1.07, 0.87, 0.87, 0.89, 0.89)
)

# COCO's own skeleton (person_keypoints annotations), converted from 1-based to 0-based.
_COCO_BONES = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
    (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)

COCO17 = Skeleton(
    name="coco17",
    keypoints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    bones=_COCO_BONES,
    sigmas=_COCO_SIGMAS,
)

# PoseTrack18 keeps COCO's 17 slots; slot 1 is head_bottom and slot 2 head_top, which are
# centre-line points and therefore not flipped. The ears are placeholders poseval ignores.
POSETRACK18 = Skeleton(
    name="posetrack18",
    keypoints=(
        "nose", "head_bottom", "head_top", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    flip_pairs=((3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    bones=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
        (6, 8), (7, 9), (8, 10), (0, 1), (0, 2), (1, 5), (1, 6),
    ),
    sigmas=_COCO_SIGMAS,
)

# Human3.6M 17 joints in VideoPose3D's order; bones follow the kinematic tree.
_H36M_PARENTS = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)
H36M17 = Skeleton(
    name="h36m17",
    keypoints=(
        "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "spine", "thorax", "neck_nose", "head_top",
        "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
    ),
    flip_pairs=((4, 1), (5, 2), (6, 3), (11, 14), (12, 15), (13, 16)),
    bones=tuple((p, j) for j, p in enumerate(_H36M_PARENTS) if p >= 0),
    parents=_H36M_PARENTS,
)

BLAZEPOSE33 = Skeleton(
    name="blazepose33",
    keypoints=(
        "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
        "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
        "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
        "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        "left_heel", "right_heel", "left_foot_index", "right_foot_index",
    ),
    flip_pairs=(
        (1, 4), (2, 5), (3, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16), (17, 18),
        (19, 20), (21, 22), (23, 24), (25, 26), (27, 28), (29, 30), (31, 32),
    ),
    bones=(
        (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10),
        (11, 12), (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19),
        (12, 14), (14, 16), (16, 18), (16, 20), (16, 22), (18, 20),
        (11, 23), (12, 24), (23, 24), (23, 25), (24, 26), (25, 27), (26, 28),
        (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32),
    ),
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (COCO17, POSETRACK18, H36M17, BLAZEPOSE33)}


def get_skeleton(name: str) -> Skeleton:
    """Look a layout up by name; the error lists the known names."""
    try:
        return SKELETONS[name]
    except KeyError:
        known = ", ".join(sorted(SKELETONS))
        raise PosetoolError(f"unknown skeleton {name!r}; known skeletons: {known}") from None


# --- mappings -------------------------------------------------------------------------------
# Each mapping is a list, one entry per output keypoint, of ((input index, weight), ...).

def _pick(indices: list[int]) -> list[tuple[tuple[int, float], ...]]:
    return [((i, 1.0),) for i in indices]


_C = COCO17.index
_MAPPINGS: dict[tuple[str, str], list[tuple[tuple[int, float], ...]]] = {
    # MediaPipe BlazePose has every COCO point; eyes are the eye centres (not inner/outer).
    ("blazepose33", "coco17"): _pick([0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]),
    # COCO has no neck or head top. head_bottom is the shoulder midpoint; head_top extrapolates
    # the neck→nose direction by half its length above the nose. Both are approximations that
    # PoseTrack evaluation of coco17 predictions needs; models trained on posetrack18 avoid them.
    ("coco17", "posetrack18"): [
        ((_C("nose"), 1.0),),
        ((_C("left_shoulder"), 0.5), (_C("right_shoulder"), 0.5)),
        ((_C("nose"), 1.5), (_C("left_shoulder"), -0.25), (_C("right_shoulder"), -0.25)),
        *_pick(list(range(3, 17))),
    ],
    # The common heuristic (as MotionBERT's coco2h36m) for feeding COCO detections to H36M tools.
    ("coco17", "h36m17"): [
        ((_C("left_hip"), 0.5), (_C("right_hip"), 0.5)),
        ((_C("right_hip"), 1.0),), ((_C("right_knee"), 1.0),), ((_C("right_ankle"), 1.0),),
        ((_C("left_hip"), 1.0),), ((_C("left_knee"), 1.0),), ((_C("left_ankle"), 1.0),),
        ((_C("left_hip"), 0.25), (_C("right_hip"), 0.25), (_C("left_shoulder"), 0.25), (_C("right_shoulder"), 0.25)),
        ((_C("left_shoulder"), 0.5), (_C("right_shoulder"), 0.5)),
        ((_C("nose"), 1.0),),
        ((_C("left_eye"), 0.5), (_C("right_eye"), 0.5)),
        ((_C("left_shoulder"), 1.0),), ((_C("left_elbow"), 1.0),), ((_C("left_wrist"), 1.0),),
        ((_C("right_shoulder"), 1.0),), ((_C("right_elbow"), 1.0),), ((_C("right_wrist"), 1.0),),
    ],
}


def has_mapping(src: str, dst: str) -> bool:
    """Whether :func:`map_keypoints` can convert ``src`` to ``dst``."""
    return src == dst or (src, dst) in _MAPPINGS


def mapping_matrix(src: str, dst: str) -> np.ndarray:
    """The (K_dst, K_src) linear map of coordinates from layout ``src`` to ``dst``."""
    s, d = get_skeleton(src), get_skeleton(dst)
    if src == dst:
        return np.eye(s.num_keypoints)
    if (src, dst) not in _MAPPINGS:
        raise PosetoolError(f"no keypoint mapping from {src} to {dst}")
    m = np.zeros((d.num_keypoints, s.num_keypoints))
    for out, terms in enumerate(_MAPPINGS[(src, dst)]):
        for i, w in terms:
            m[out, i] = w
    return m


def _linear_map(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``m`` applied to the point axis of (..., K_src, C) ``points``: (..., K_dst, C).

    An output value is NaN only if an input it uses is NaN. (A plain product would spread one
    missing input to every output, since the zero weights multiply it too: 0 * NaN = NaN.)
    """
    missing = np.isnan(points)
    out = np.einsum("oi,...ic->...oc", m, np.where(missing, 0.0, points))
    spread = np.einsum("oi,...ic->...oc", (m != 0).astype(np.float64), missing.astype(np.float64)) > 0
    out[spread] = np.nan
    return out


def map_keypoints(keypoints: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert 2D keypoints between layouts.

    Args:
        keypoints: (..., K_src, 3) as (x, y, confidence), or (..., K_src, 2) as (x, y).
        src, dst: layout names.

    Returns:
        (..., K_dst, 3) or (..., K_dst, 2): coordinates are weighted sums of the inputs; the
        confidence of an output point is the minimum over the inputs it uses. NaN propagates from
        the inputs an output uses, and only from them.
        For 3D joints (three coordinates, no confidence) use :func:`map_points_3d`.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    m = mapping_matrix(src, dst)
    if kp.shape[-2] != m.shape[1]:
        raise PosetoolError(f"keypoints have {kp.shape[-2]} points but layout {src} has {m.shape[1]}")
    coords = _linear_map(m, kp[..., :2] if kp.shape[-1] == 3 else kp)
    if kp.shape[-1] != 3:
        return coords
    conf = kp[..., 2]
    used = m != 0  # (K_dst, K_src)
    out_conf = np.where(used, conf[..., None, :], np.inf).min(axis=-1)
    return np.concatenate([coords, out_conf[..., None]], axis=-1)


def map_points_3d(points: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert (..., J_src, 3) 3D joints between layouts (all three columns are coordinates)."""
    pts = np.asarray(points, dtype=np.float64)
    m = mapping_matrix(src, dst)
    if pts.shape[-2] != m.shape[1]:
        raise PosetoolError(f"points have {pts.shape[-2]} joints but layout {src} has {m.shape[1]}")
    return _linear_map(m, pts)
