"""The synthetic human body: a kinematic skeleton, sampled proportions, forward kinematics.

Body frame (rest pose, metres): x = the person's left, y = up, z = forward (right-handed).
The rest pose stands upright with arms and legs hanging straight down; every joint's local
rotation is the identity in the rest pose, so offsets are simply rest-pose differences.

The skeleton covers the H36M-17 joints, the COCO-17 face points, PoseTrack's head_bottom and
head_top, plus helpers for rendering (head centre, hands, heels, toes, a virtual lumbar joint
so that the spine can bend independently of the hips).

Forward kinematics (:func:`forward_kinematics`): ``pos[j] = pos[parent] + G[parent] @ offset[j]``
and ``G[j] = G[parent] @ R[j]`` where ``R[j]`` is joint j's local rotation; so a joint's own
rotation moves its children, not itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name, parent
_JOINTS: tuple[tuple[str, str | None], ...] = (
    ("pelvis", None),
    ("lumbar", "pelvis"),
    ("spine", "lumbar"),
    ("thorax", "spine"),
    ("neck", "thorax"),  # PoseTrack head_bottom: the upper neck below the chin
    ("head", "neck"),  # centre of the head ellipsoid
    ("head_top", "head"),
    ("nose", "head"),
    ("nose_root", "head"),  # base of the nose (inside the head), for the nose volume
    ("left_eye", "head"),
    ("right_eye", "head"),
    ("left_ear", "head"),
    ("right_ear", "head"),
    ("mouth", "head"),
    ("left_shoulder", "spine"),
    ("left_elbow", "left_shoulder"),
    ("left_wrist", "left_elbow"),
    ("left_hand", "left_wrist"),
    ("right_shoulder", "spine"),
    ("right_elbow", "right_shoulder"),
    ("right_wrist", "right_elbow"),
    ("right_hand", "right_wrist"),
    ("left_hip", "pelvis"),
    ("left_knee", "left_hip"),
    ("left_ankle", "left_knee"),
    ("left_heel", "left_ankle"),
    ("left_toe", "left_ankle"),
    ("right_hip", "pelvis"),
    ("right_knee", "right_hip"),
    ("right_ankle", "right_knee"),
    ("right_heel", "right_ankle"),
    ("right_toe", "right_ankle"),
)

JOINT_NAMES: tuple[str, ...] = tuple(n for n, _ in _JOINTS)
J = {n: i for i, n in enumerate(JOINT_NAMES)}
PARENTS: tuple[int, ...] = tuple(-1 if p is None else J[p] for _, p in _JOINTS)
NUM_JOINTS = len(JOINT_NAMES)

# Output layouts as indices into the body joints.
COCO17_JOINTS = tuple(J[n] for n in (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
))
# H36M-17 in VideoPose3D order. Joint 9 ("Nose"/neck_nose) is the nose, joint 10 the head top.
H36M17_JOINTS = tuple(J[n] for n in (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "thorax", "nose", "head_top",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
))
# PoseTrack18 slots: COCO's, with head_bottom and head_top in the eye slots (ears unused).
POSETRACK18_JOINTS = tuple(J[n] for n in (
    "nose", "neck", "head_top", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
))


@dataclass(frozen=True)
class BodyShape:
    """Sampled proportions of one person (metres).

    ``offsets`` (NUM_JOINTS, 3) are rest-pose offsets from each joint's parent in the body frame;
    the radii give the limb volumes the renderer and the occlusion test share.
    """

    height: float
    child: bool
    offsets: np.ndarray
    leg_length: float
    radii: dict[str, float]
    head_axes: tuple[float, float, float]  # half width (x), half height (y), half depth (z)


def _proportions(child: bool) -> dict[str, float]:
    """Segment lengths as fractions of standing height (Drillis & Contini style tables).

    Children have relatively bigger heads and shorter legs.
    """
    if child:
        return dict(thigh=0.225, shank=0.225, ankle_h=0.040, spine1=0.135, spine2=0.145, neck=0.040,
                    head_c=0.062, head_hh=0.092, upper_arm=0.175, forearm=0.140, hand=0.070,
                    shoulder_w=0.235, hip_w=0.110, foot=0.150)
    return dict(thigh=0.245, shank=0.246, ankle_h=0.039, spine1=0.140, spine2=0.150, neck=0.045,
                head_c=0.052, head_hh=0.066, upper_arm=0.186, forearm=0.146, hand=0.060,
                shoulder_w=0.220, hip_w=0.100, foot=0.152)


def sample_shape(rng: np.random.Generator, child: bool | None = None) -> BodyShape:
    """Sample a person: adults 1.50–1.95 m, children 1.00–1.45 m; each segment varies ±6 %."""
    if child is None:
        child = bool(rng.random() < 0.15)
    height = float(rng.uniform(1.00, 1.45) if child else rng.uniform(1.50, 1.95))
    prop = _proportions(child)
    p = {k: v * height * float(rng.uniform(0.94, 1.06)) for k, v in prop.items()}
    build = float(rng.uniform(0.85, 1.25))  # slim … heavy
    s = height / 1.75

    # Head ellipsoid half-axes; face points sit inside it (the occlusion test relies on that).
    hw, hh, hd = 0.076 * (s ** 0.5), p["head_hh"], 0.095 * (s ** 0.5)
    off = np.zeros((NUM_JOINTS, 3))

    def put(name: str, x: float, y: float, z: float) -> None:
        off[J[name]] = (x, y, z)

    put("lumbar", 0, 0, 0)
    put("spine", 0, p["spine1"], -0.01 * s)
    put("thorax", 0, p["spine2"], 0.0)
    put("neck", 0, p["neck"], 0.012 * s)
    put("head", 0, p["head_c"], 0.015 * s)
    put("head_top", 0, 0.97 * hh, -0.012 * s)
    put("nose", 0, -0.10 * hh, hd + 0.012)  # the nose tip pokes out of the ellipsoid
    put("nose_root", 0, -0.05 * hh, 0.55 * hd)
    put("left_eye", 0.42 * hw, 0.18 * hh, 0.74 * hd)
    put("right_eye", -0.42 * hw, 0.18 * hh, 0.74 * hd)
    put("left_ear", 1.15 * hw, 0.0, -0.08 * hd)  # outside the head silhouette, on the side
    put("right_ear", -1.15 * hw, 0.0, -0.08 * hd)
    put("mouth", 0, -0.42 * hh, 0.80 * hd)
    for side, sign in (("left", 1.0), ("right", -1.0)):
        put(f"{side}_shoulder", sign * p["shoulder_w"] / 2 * 1.0, p["spine2"] - 0.025 * s, -0.01 * s)
        put(f"{side}_elbow", 0, -p["upper_arm"], 0)
        put(f"{side}_wrist", 0, -p["forearm"], 0)
        put(f"{side}_hand", 0, -p["hand"], 0.005)
        put(f"{side}_hip", sign * p["hip_w"] / 2 * 1.0 * (0.95 + 0.1 * (build - 1)), 0, 0)
        put(f"{side}_knee", 0, -p["thigh"], 0)
        put(f"{side}_ankle", 0, -p["shank"], 0)
        put(f"{side}_heel", 0, -p["ankle_h"], -0.045 * s)
        put(f"{side}_toe", 0, -p["ankle_h"] * 0.8, p["foot"] - 0.045 * s)

    radii = {
        "upper_arm": 0.046 * s * build, "forearm": 0.038 * s * build, "hand": 0.045 * s,
        "thigh": 0.078 * s * build, "shin": 0.054 * s * build, "foot": 0.038 * s,
        "neck": 0.048 * s * build ** 0.5, "nose": 0.017 * s ** 0.5, "ear": 0.022 * s ** 0.5,
        "chest_w": 0.80 * p["shoulder_w"] / 2 * build ** 0.5, "chest_h": 0.56 * p["spine2"] + 0.02,
        "chest_d": 0.105 * s * build, "belly_w": 0.135 * s * build, "belly_h": 0.55 * p["spine1"],
        "belly_d": 0.095 * s * build ** 1.3, "pelvis_w": (p["hip_w"] / 2 + 0.065 * s) * build ** 0.7,
        "pelvis_h": 0.105 * s, "pelvis_d": 0.100 * s * build,
    }
    leg = p["thigh"] + p["shank"] + p["ankle_h"]
    return BodyShape(height, child, off, leg, radii, (hw, hh, hd))


# --- rotations ------------------------------------------------------------------------------

def rot_x(a: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations about x by angles ``a`` (radians); +a turns +y towards +z."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)


def rot_y(a: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations about y; +a turns +z towards +x."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, z, s], -1), np.stack([z, o, z], -1), np.stack([-s, z, c], -1)], -2)


def rot_z(a: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations about z; +a turns +x towards +y."""
    c, s = np.cos(a), np.sin(a)
    o, z = np.ones_like(a), np.zeros_like(a)
    return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)


def forward_kinematics(shape: BodyShape, root_pos: np.ndarray, root_rot: np.ndarray,
                       local_rot: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Joint positions and global orientations.

    Args:
        shape: the person's proportions.
        root_pos: (T, 3) pelvis positions in world coordinates.
        root_rot: (T, 3, 3) pelvis orientation (body frame → world).
        local_rot: (T, NUM_JOINTS, 3, 3) local rotation of every joint (identity where unused).

    Returns:
        positions (T, NUM_JOINTS, 3) and global rotations (T, NUM_JOINTS, 3, 3).
    """
    t = root_pos.shape[0]
    pos = np.zeros((t, NUM_JOINTS, 3))
    glob = np.zeros((t, NUM_JOINTS, 3, 3))
    pos[:, 0] = root_pos
    glob[:, 0] = root_rot @ local_rot[:, 0]
    for j in range(1, NUM_JOINTS):
        p = PARENTS[j]
        pos[:, j] = pos[:, p] + glob[:, p] @ shape.offsets[j]
        glob[:, j] = glob[:, p] @ local_rot[:, j]
    return pos, glob
