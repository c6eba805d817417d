"""Motion: parametric actions driven by joint angles, and root trajectories on the ground plane.

Each person follows a schedule of action segments (walk, run, jump, squat, wave, turn, idle).
Their poses are cross-faded over 0.5 s. Locomotion is driven by an agent simulation
(:func:`simulate_agents`) that steers people towards waypoints, some outside the view (so they
enter and leave), with speed and heading that change smoothly. The gait phase advances with the
actual speed, so steps shrink when people slow down and stop.

Joint angles are in degrees (``DOF_NAMES``), clipped to anatomical limits (``LIMITS``) after
adding smooth per-person noise. :func:`local_rotations` turns them into the per-joint rotation
matrices that :func:`posetool.synth.body.forward_kinematics` takes.

Sign conventions (body frame x = left, y = up, z = forward): ``*_flex`` > 0 moves a limb
forward (spine: bends forward, neck/head: nods down); ``knee`` > 0 bends the shin backward;
``elbow`` > 0 bends the forearm forward; ``*_abd`` > 0 moves a limb away from the body;
``ankle`` > 0 is dorsiflexion (toes up).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from posetool.synth.body import NUM_JOINTS, BodyShape, J, rot_x, rot_y, rot_z

DOF_NAMES: tuple[str, ...] = (
    "root_pitch", "root_roll",
    "lumbar_flex", "lumbar_lat", "lumbar_twist",
    "thor_flex", "thor_lat", "thor_twist",
    "neck_flex", "neck_lat", "neck_twist",
    "head_flex", "head_lat", "head_twist",
    "l_sh_flex", "l_sh_abd", "l_sh_twist", "l_elbow",
    "r_sh_flex", "r_sh_abd", "r_sh_twist", "r_elbow",
    "l_hip_flex", "l_hip_abd", "l_hip_twist", "l_knee", "l_ankle",
    "r_hip_flex", "r_hip_abd", "r_hip_twist", "r_knee", "r_ankle",
)
D = {n: i for i, n in enumerate(DOF_NAMES)}
NUM_DOFS = len(DOF_NAMES)

# Anatomical ranges (degrees), roughly the AAOS normal ranges of motion, a little narrowed.
LIMITS: dict[str, tuple[float, float]] = {
    "root_pitch": (-15, 45), "root_roll": (-15, 15),
    "lumbar_flex": (-20, 50), "lumbar_lat": (-20, 20), "lumbar_twist": (-25, 25),
    "thor_flex": (-15, 30), "thor_lat": (-15, 15), "thor_twist": (-20, 20),
    "neck_flex": (-35, 45), "neck_lat": (-25, 25), "neck_twist": (-50, 50),
    "head_flex": (-20, 25), "head_lat": (-15, 15), "head_twist": (-25, 25),
    "l_sh_flex": (-50, 170), "l_sh_abd": (-10, 160), "l_sh_twist": (-60, 60), "l_elbow": (0, 145),
    "r_sh_flex": (-50, 170), "r_sh_abd": (-10, 160), "r_sh_twist": (-60, 60), "r_elbow": (0, 145),
    "l_hip_flex": (-25, 120), "l_hip_abd": (-15, 40), "l_hip_twist": (-30, 30), "l_knee": (0, 140),
    "l_ankle": (-45, 35),
    "r_hip_flex": (-25, 120), "r_hip_abd": (-15, 40), "r_hip_twist": (-30, 30), "r_knee": (0, 140),
    "r_ankle": (-45, 35),
}
_LO = np.array([LIMITS[n][0] for n in DOF_NAMES])
_HI = np.array([LIMITS[n][1] for n in DOF_NAMES])

MOTIONS: tuple[str, ...] = ("walk", "run", "jump", "squat", "wave", "turn", "idle")
LOCOMOTION = ("walk", "run")
_BLEND_S = 0.25  # half-width of the cross-fade between segments, seconds


class Region(Protocol):
    """Where people may go on the ground plane (world x, z)."""

    def sample(self, rng: np.random.Generator, inside: bool, margin: tuple[float, float] = (0.5, 2.5)) -> np.ndarray: ...

    def clamp(self, xz: np.ndarray) -> np.ndarray: ...

    def in_view(self, xz: np.ndarray) -> bool: ...

    def pull_into_view(self, xz: np.ndarray) -> np.ndarray: ...


@dataclass
class Segment:
    """One action from frame ``start`` (inclusive) to ``end`` (exclusive); ``param`` per action:
    turn: angle (radians); wave: side (+1 left, -1 right); jump: height (m); squat: period (s)."""

    action: str
    start: int
    end: int
    param: float = 0.0


@dataclass
class Style:
    """Per-person motion style: speeds, amplitudes and smooth joint-angle noise."""

    walk_speed: float
    run_speed: float
    arm_swing: float
    hip_amp: float
    knee_amp: float
    lean: float
    arm_abd: float
    noise_amp: np.ndarray  # (NUM_DOFS, 3) degrees
    noise_freq: np.ndarray  # (NUM_DOFS, 3) Hz
    noise_phase: np.ndarray  # (NUM_DOFS, 3) radians


def sample_style(rng: np.random.Generator, child: bool) -> Style:
    """A person's style; children walk a little slower and swing their arms more."""
    base = np.zeros(NUM_DOFS)
    for prefix, amp in (("root", 1.0), ("lumbar", 2.0), ("thor", 1.5), ("neck", 7.0), ("head", 3.0),
                        ("l_sh", 4.0), ("r_sh", 4.0), ("l_elbow", 5.0), ("r_elbow", 5.0),
                        ("l_hip", 1.5), ("r_hip", 1.5), ("l_knee", 2.0), ("r_knee", 2.0),
                        ("l_ankle", 1.5), ("r_ankle", 1.5)):
        for n in DOF_NAMES:
            if n.startswith(prefix):
                base[D[n]] = amp
    return Style(
        walk_speed=float(rng.uniform(0.9, 1.6) * (0.85 if child else 1.0)),
        run_speed=float(rng.uniform(2.3, 3.8) * (0.8 if child else 1.0)),
        arm_swing=float(rng.uniform(0.6, 1.4) * (1.2 if child else 1.0)),
        hip_amp=float(rng.uniform(0.85, 1.15)),
        knee_amp=float(rng.uniform(0.85, 1.15)),
        lean=float(rng.uniform(-2.0, 6.0)),
        arm_abd=float(rng.uniform(4.0, 14.0)),
        noise_amp=base[:, None] * rng.uniform(0.3, 1.0, (NUM_DOFS, 3)),
        noise_freq=rng.uniform(0.08, 0.7, (NUM_DOFS, 3)),
        noise_phase=rng.uniform(0, 2 * np.pi, (NUM_DOFS, 3)),
    )


def plan_segments(rng: np.random.Generator, motions: tuple[str, ...], n_frames: int, fps: float) -> list[Segment]:
    """A random schedule of actions covering ``n_frames``; locomotion lasts longer than gestures."""
    segs: list[Segment] = []
    start = 0
    prev = ""
    while start < n_frames:
        choices = [m for m in motions if m != prev] or list(motions)
        # Locomotion is what moves people through the scene: favour it in mixtures.
        weights = np.array([3.0 if m == "walk" else 1.5 if m == "run" else 1.0 for m in choices])
        action = str(choices[int(rng.choice(len(choices), p=weights / weights.sum()))])
        secs = rng.uniform(3.0, 7.0) if action in LOCOMOTION else rng.uniform(1.5, 4.0)
        length = max(2, int(round(secs * fps)))
        param = 0.0
        if action == "turn":
            param = float(rng.choice([-1, 1]) * rng.uniform(np.pi / 3, np.pi))
        elif action == "wave":
            param = float(rng.choice([-1.0, 1.0]))
        elif action == "jump":
            param = float(rng.uniform(0.15, 0.4))
        elif action == "squat":
            param = float(rng.uniform(1.6, 3.0))
        segs.append(Segment(action, start, min(start + length, n_frames), param))
        start += length
        prev = action
    return segs


@dataclass
class AgentTracks:
    """Per-frame root motion of one person (arrays of length T)."""

    xz: np.ndarray  # (T, 2) ground position, world x and z
    heading: np.ndarray  # (T,) yaw, radians (body forward = (sin, 0, cos) in world x, z)
    speed: np.ndarray  # (T,) m/s along the heading
    gait_speed: np.ndarray  # (T,) speed that drives stepping (includes turning on the spot)
    phase: np.ndarray  # (T,) gait phase of the left leg, radians
    segment: np.ndarray = field(default_factory=lambda: np.zeros(0, int))  # (T,) index into the plan


def wrap_angle(a: float) -> float:
    """``a`` (radians) wrapped into [−π, π)."""
    return (a + np.pi) % (2 * np.pi) - np.pi


def step_agent(i: int, heading: np.ndarray, speed: np.ndarray, pos: np.ndarray, phase: np.ndarray, target_v: float,
               desired: float, max_turn: float, leg_length: float, dt: float) -> float:
    """Advance agent ``i`` by one frame, in place: turn towards ``desired`` (at most ``max_turn`` rad/s),
    ease the speed towards ``target_v`` (time constant 0.45 s), move, and advance the gait phase by
    the stride the speed (or turning on the spot) gives. Returns the gait rate (m/s equivalent)."""
    dpsi = float(np.clip(wrap_angle(desired - heading[i]), -max_turn * dt, max_turn * dt))
    heading[i] += dpsi
    speed[i] += (target_v - speed[i]) * (1 - np.exp(-dt / 0.45))
    pos[i] += speed[i] * dt * np.array([np.sin(heading[i]), np.cos(heading[i])])
    gait = max(speed[i], abs(dpsi) / dt * 0.3)
    stride = leg_length * (1.1 + 0.45 * min(gait, 4.0))
    phase[i] += 2 * np.pi * dt * gait / stride
    return gait


def simulate_agents(rng: np.random.Generator, plans: list[list[Segment]], styles: list[Style],
                    shapes: list[BodyShape], region: Region, n_frames: int, fps: float) -> list[AgentTracks]:
    """Steer every person through the scene frame by frame (deterministic given ``rng``).

    People walk or run towards waypoints (80 % inside the view), stop for gestures, turn on the
    spot, and keep at least 0.55 m apart so they cross paths without walking through each other.
    """
    p_count, dt = len(plans), 1.0 / fps
    if p_count == 0:  # an empty world (synth --people 0): nobody to move
        return []
    # Most people start in view; the others just outside, so they walk in soon.
    pos = np.array([region.sample(rng, inside=bool(rng.random() < 0.85), margin=(0.3, 1.0)) for _ in range(p_count)],
                   dtype=float)
    goal = np.array([region.sample(rng, inside=bool(rng.random() < 0.8)) for _ in range(p_count)], dtype=float)
    # Someone who starts outside the view must come into it: a person whose plan starts standing
    # (gesture, turn, squat) starts just inside the edge instead, and a walker heads for a first goal
    # in view. No extra random draws, so worlds where everyone starts well placed stay as they were
    # (seed 4242, 3 people, 60 frames, had all three out of view before: issue #17).
    for i in range(p_count):
        if region.in_view(pos[i]):
            continue
        if plans[i][0].action not in LOCOMOTION:
            pos[i] = region.pull_into_view(pos[i])
        goal[i] = region.pull_into_view(goal[i])
    heading = np.array([float(np.arctan2(*(goal[i] - pos[i]))) + rng.uniform(-0.5, 0.5) for i in range(p_count)])
    speed = np.zeros(p_count)
    phase = rng.uniform(0, 2 * np.pi, p_count)
    turn_target = heading.copy()
    seg_idx = np.zeros(p_count, dtype=int)
    out = {k: np.zeros((p_count, n_frames) + s) for k, s in
           (("xz", (2,)), ("heading", ()), ("speed", ()), ("gait", ()), ("phase", ()))}
    segs_out = np.zeros((p_count, n_frames), dtype=int)
    for t in range(n_frames):
        for i in range(p_count):
            plan = plans[i]
            while plan[seg_idx[i]].end <= t:
                seg_idx[i] += 1
                if plan[seg_idx[i]].action == "turn":
                    turn_target[i] = heading[i] + plan[seg_idx[i]].param
            seg = plan[seg_idx[i]]
            if t == 0 and seg.action == "turn":
                turn_target[i] = heading[i] + seg.param
            st = styles[i]
            if seg.action in LOCOMOTION:
                target_v = st.walk_speed if seg.action == "walk" else st.run_speed
                if np.hypot(*(goal[i] - pos[i])) < 0.8:
                    goal[i] = region.sample(rng, inside=bool(rng.random() < 0.8))
                desired = float(np.arctan2(*(goal[i] - pos[i])))
                max_turn = np.radians(140 if seg.action == "walk" else 90)
            elif seg.action == "turn":
                target_v, desired, max_turn = 0.0, turn_target[i], np.radians(110)
            else:
                target_v, desired, max_turn = 0.0, heading[i], 0.0
            gait = step_agent(i, heading, speed, pos, phase, target_v, desired, max_turn, shapes[i].leg_length, dt)
            segs_out[i, t] = seg_idx[i]
            out["gait"][i, t] = gait
        # Keep people apart: push overlapping pairs away from each other along their separation.
        for a in range(p_count):
            for b in range(a + 1, p_count):
                d = pos[b] - pos[a]
                dist = float(np.hypot(*d))
                if dist < 0.55:
                    n = d / dist if dist > 1e-6 else np.array([1.0, 0.0])
                    push = (0.55 - dist) / 2
                    pos[a] -= n * push
                    pos[b] += n * push
        pos[:] = np.array([region.clamp(p) for p in pos])
        out["xz"][:, t] = pos
        out["heading"][:, t] = heading
        out["speed"][:, t] = speed
        out["phase"][:, t] = phase
    return [AgentTracks(out["xz"][i], out["heading"][i], out["speed"][i], out["gait"][i], out["phase"][i],
                        segs_out[i]) for i in range(p_count)]


# --- poses ------------------------------------------------------------------------------------

def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _standing(n: int, st: Style) -> np.ndarray:
    """(n, NUM_DOFS) relaxed standing pose."""
    pose = np.zeros((n, NUM_DOFS))
    pose[:, D["root_pitch"]] = st.lean * 0.5
    pose[:, D["l_sh_abd"]] = pose[:, D["r_sh_abd"]] = st.arm_abd
    pose[:, D["l_elbow"]] = pose[:, D["r_elbow"]] = 12
    pose[:, D["l_hip_abd"]] = pose[:, D["r_hip_abd"]] = 3
    pose[:, D["l_knee"]] = pose[:, D["r_knee"]] = 4
    pose[:, D["l_hip_flex"]] = pose[:, D["r_hip_flex"]] = 3
    return pose


def _flat_feet(pose: np.ndarray) -> None:
    """Set ankles so the feet stay level: toe-up angle = hip_flex - pitch - knee + ankle = 0."""
    for s in ("l", "r"):
        pose[:, D[f"{s}_ankle"]] = pose[:, D[f"{s}_knee"]] - pose[:, D[f"{s}_hip_flex"]] + pose[:, D["root_pitch"]]


def _static_pose(seg: Segment, t_rel: np.ndarray, st: Style) -> tuple[np.ndarray, np.ndarray]:
    """Pose (n, NUM_DOFS) and vertical root offset (n,) of a segment's non-gait part."""
    n = len(t_rel)
    pose = _standing(n, st)
    lift = np.zeros(n)
    tw = 2 * np.pi * t_rel
    if seg.action == "idle":
        pose[:, D["root_roll"]] += 2.0 * np.sin(tw * 0.22)
        pose[:, D["lumbar_lat"]] += 2.5 * np.sin(tw * 0.22 + 0.8)
        pose[:, D["l_knee"]] += 5 + 5 * np.sin(tw * 0.22)
        pose[:, D["neck_twist"]] += 22 * np.sin(tw * 0.13 + 1.0)
        pose[:, D["head_flex"]] += 6 * np.sin(tw * 0.17)
    elif seg.action == "run":
        pose[:, D["root_pitch"]] += 6
    elif seg.action == "squat":
        s = 0.5 - 0.5 * np.cos(tw / seg.param)
        pose[:, D["l_hip_flex"]] += 100 * s
        pose[:, D["r_hip_flex"]] += 100 * s
        pose[:, D["l_knee"]] += 120 * s
        pose[:, D["r_knee"]] += 120 * s
        pose[:, D["root_pitch"]] += 22 * s
        pose[:, D["lumbar_flex"]] += 12 * s
        pose[:, D["neck_flex"]] -= 18 * s
        pose[:, D["l_sh_flex"]] += 75 * s
        pose[:, D["r_sh_flex"]] += 75 * s
        pose[:, D["l_sh_abd"]] -= st.arm_abd * s
        pose[:, D["r_sh_abd"]] -= st.arm_abd * s
        _flat_feet(pose)
    elif seg.action == "jump":
        u = (t_rel / 1.4) % 1.0
        crouch = np.interp(u, [0, 0.3, 0.42, 0.72, 0.82, 1.0], [0, 1, 0, 0, 0.7, 0])
        flight = np.clip((u - 0.42) / 0.3, 0, 1)
        air = (u > 0.42) & (u < 0.72)
        for s in ("l", "r"):
            pose[:, D[f"{s}_hip_flex"]] += 75 * crouch
            pose[:, D[f"{s}_knee"]] += 100 * crouch
            pose[:, D[f"{s}_sh_flex"]] += -45 * crouch + 140 * np.sin(np.pi * flight) * air
            pose[:, D[f"{s}_elbow"]] += 20 * crouch
        pose[:, D["root_pitch"]] += 25 * crouch
        _flat_feet(pose)
        for s in ("l", "r"):
            pose[:, D[f"{s}_ankle"]] = np.where(air, -25 * np.sin(np.pi * flight), pose[:, D[f"{s}_ankle"]])
        lift = seg.param * 4 * flight * (1 - flight) * air
    elif seg.action == "wave":
        s = "l" if seg.param > 0 else "r"
        up = _smoothstep(t_rel / 0.5)
        pose[:, D[f"{s}_sh_abd"]] += up * (110 - st.arm_abd)
        pose[:, D[f"{s}_sh_flex"]] += up * 25
        pose[:, D[f"{s}_sh_twist"]] += up * (-40 + 18 * np.sin(tw * 1.8))
        pose[:, D[f"{s}_elbow"]] += up * (45 + 30 * np.sin(tw * 1.8 + 0.6))
        pose[:, D["neck_lat"]] += up * 6 * seg.param
    return pose, lift


def _gait(phase: np.ndarray, gait: np.ndarray, run_w: np.ndarray, st: Style) -> np.ndarray:
    """(n, NUM_DOFS) stepping deltas for walking (run_w = 0) through running (run_w = 1)."""
    n = len(phase)
    pose = np.zeros((n, NUM_DOFS))
    amp_w = np.clip(gait / st.walk_speed, 0, 1.15) * (1 - run_w)
    amp_r = np.clip(gait / st.run_speed, 0, 1.1) * run_w
    for s, ph in (("l", phase), ("r", phase + np.pi)):
        sin, arm = np.sin(ph), ("l" if s == "l" else "r")
        walk_knee = 6 + 58 * np.maximum(0, np.cos(ph + 0.5)) ** 2
        run_knee = 22 + 88 * np.maximum(0, np.cos(ph + 0.6)) ** 1.5
        pose[:, D[f"{s}_hip_flex"]] = st.hip_amp * (amp_w * (5 + 21 * sin) + amp_r * (18 + 36 * sin))
        pose[:, D[f"{s}_knee"]] = st.knee_amp * (amp_w * walk_knee + amp_r * run_knee)
        pose[:, D[f"{s}_ankle"]] = amp_w * 10 * np.cos(ph + 0.3) + amp_r * 14 * np.cos(ph + 0.3)
        pose[:, D[f"{arm}_sh_flex"]] = st.arm_swing * (amp_w * -18 * sin + amp_r * (10 - 36 * sin))
        pose[:, D[f"{arm}_elbow"]] = amp_w * (10 + 12 * np.maximum(0, -sin)) + amp_r * (75 + 12 * sin)
        pose[:, D[f"{arm}_sh_abd"]] = amp_r * 5
    pose[:, D["lumbar_twist"]] = -(amp_w * 5 + amp_r * 9) * np.sin(phase)
    pose[:, D["thor_twist"]] = (amp_w * 3 + amp_r * 5) * np.sin(phase)
    pose[:, D["root_roll"]] = (amp_w * 2.5 + amp_r * 2) * np.cos(phase)
    pose[:, D["root_pitch"]] = amp_w * 3 + amp_r * 8
    return pose


def compose_dofs(plan: list[Segment], tracks: AgentTracks, st: Style, n_frames: int,
                 fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Joint angles (T, NUM_DOFS) in degrees and the vertical root lift (T,) of one person."""
    t = np.arange(n_frames) / fps
    h = _BLEND_S
    total_w = np.zeros(n_frames)
    static = np.zeros((n_frames, NUM_DOFS))
    lift = np.zeros(n_frames)
    run_w = np.zeros(n_frames)
    for k, seg in enumerate(plan):
        s0, s1 = seg.start / fps, seg.end / fps
        w_in = np.ones(n_frames) if k == 0 else _smoothstep((t - s0 + h) / (2 * h))
        w_out = np.ones(n_frames) if k == len(plan) - 1 else _smoothstep((s1 + h - t) / (2 * h))
        w = w_in * w_out
        sel = w > 0
        if not sel.any():
            continue
        pose, up = _static_pose(seg, t[sel] - s0, st)
        static[sel] += w[sel, None] * pose
        lift[sel] += w[sel] * up
        total_w[sel] += w[sel]
        if seg.action == "run":
            run_w[sel] += w[sel]
    total_w = np.maximum(total_w, 1e-9)
    static /= total_w[:, None]
    lift /= total_w
    run_w = np.clip(run_w / total_w, 0, 1)
    dofs = static + _gait(tracks.phase, tracks.gait_speed, run_w, st)
    noise = (st.noise_amp[None] * np.sin(2 * np.pi * st.noise_freq[None] * t[:, None, None]
                                         + st.noise_phase[None])).sum(-1)
    dofs = np.clip(dofs + noise, _LO, _HI)
    return dofs, lift


def local_rotations(dofs: np.ndarray) -> np.ndarray:
    """(T, NUM_JOINTS, 3, 3) local joint rotations from joint angles (T, NUM_DOFS) in degrees."""
    a = np.radians(dofs)
    t = a.shape[0]
    rot = np.broadcast_to(np.eye(3), (t, NUM_JOINTS, 3, 3)).copy()

    def g(name: str) -> np.ndarray:
        return a[:, D[name]]

    rot[:, J["pelvis"]] = rot_z(g("root_roll")) @ rot_x(g("root_pitch"))
    for joint, pre in (("lumbar", "lumbar"), ("spine", "thor"), ("thorax", "neck"), ("neck", "head")):
        rot[:, J[joint]] = rot_y(g(f"{pre}_twist")) @ rot_z(g(f"{pre}_lat")) @ rot_x(g(f"{pre}_flex"))
    for side, s, sign in (("left", "l", 1.0), ("right", "r", -1.0)):
        rot[:, J[f"{side}_shoulder"]] = (rot_z(sign * g(f"{s}_sh_abd")) @ rot_x(-g(f"{s}_sh_flex"))
                                         @ rot_y(sign * g(f"{s}_sh_twist")))
        rot[:, J[f"{side}_elbow"]] = rot_x(-g(f"{s}_elbow"))
        rot[:, J[f"{side}_hip"]] = (rot_z(sign * g(f"{s}_hip_abd")) @ rot_x(-g(f"{s}_hip_flex"))
                                    @ rot_y(sign * g(f"{s}_hip_twist")))
        rot[:, J[f"{side}_knee"]] = rot_x(g(f"{s}_knee"))
        rot[:, J[f"{side}_ankle"]] = rot_x(-g(f"{s}_ankle"))
    return rot


# --- building blocks shared with single-action takes (posetool.synth.takes) ---------------------

def standing_pose(n: int, st: Style) -> np.ndarray:
    """(n, NUM_DOFS) the person's relaxed standing pose, degrees."""
    return _standing(n, st)


def level_feet(pose: np.ndarray) -> None:
    """Set the ankles of (n, NUM_DOFS) ``pose`` in place so both feet stay flat on the ground."""
    _flat_feet(pose)


def joint_noise(st: Style, t: np.ndarray) -> np.ndarray:
    """(T, NUM_DOFS) the person's smooth joint-angle noise at times ``t`` (T,) in seconds, degrees."""
    return (st.noise_amp[None] * np.sin(2 * np.pi * st.noise_freq[None] * t[:, None, None] + st.noise_phase[None])).sum(-1)


def clip_to_limits(dofs: np.ndarray) -> np.ndarray:
    """Joint angles (..., NUM_DOFS) clipped to the anatomical ranges of :data:`LIMITS`."""
    return np.clip(dofs, _LO, _HI)
