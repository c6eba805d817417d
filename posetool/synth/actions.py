"""Single performances of an action, driven by a phase: 0 when the movement starts, 1 when it ends.

An :class:`Action` is a short list of key poses at fixed phases (its key events). A key pose holds
joint-angle changes from the performer's relaxed standing pose (degrees, with the sign conventions
of :mod:`posetool.synth.motion`), plus a vertical lift for jumps. Between key events every joint
follows a monotone piecewise cubic (PCHIP), so it never overshoots its key values and comes to
rest exactly at a key pose where that pose is an extreme (the bottom of a squat). In-between key
poses (``event=False``) shape a curve between two key events without being events themselves.

The first and second halves of every action differ on purpose (arms rise forward on the way down
and stay up on the way back, a jump swings the arms back before take-off and forward on landing),
as real movements do: a pose seen half-way down a squat then differs from the pose half-way up,
so the phase of a frame is defined by the body alone, not only by the direction of motion.

Phase classes are the intervals between consecutive key events (class k covers
``[key[k], key[k + 1])``, the last class includes phase 1); the paper's phase classification and
phase progression measures use them (:mod:`posetool.eval.align`).

``walk`` is one gait cycle walked in place (as on a treadmill: the root does not travel). Its two
halves are each other's mirror image, left for right, which is what tells them apart; it is
``cyclic``: every joint is interpolated through the key poses of the cycles before and after, so
phase 0 and phase 1 show the same pose and each half's key poses mirror the other's exactly (the
performer's small involuntary motion is the only asymmetry).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy.interpolate import PchipInterpolator

from posetool.errors import UsageError
from posetool.synth.motion import D, NUM_DOFS, Style, clip_to_limits, joint_noise, level_feet, standing_pose

# Which joint angles the per-take amplitudes scale: "legs" (depth of the movement) or "arms".
_LEG_PREFIXES = ("root_pitch", "lumbar_flex", "neck_flex", "l_hip", "r_hip", "l_knee", "r_knee")
_ARM_PREFIXES = ("l_sh", "r_sh", "l_elbow", "r_elbow")
_ANKLES = ("l_ankle", "r_ankle")


@dataclass(frozen=True)
class KeyPose:
    """The pose at one key event: ``phase`` in [0, 1], a ``name``, joint-angle changes ``dofs``
    (degrees, from standing; ankle entries are added after the feet are levelled) and ``lift``,
    the root's height above the ground as a fraction of the take's jump height. ``event=False``
    makes it an in-between pose: it shapes the motion but is no key event (no phase-class
    boundary, not in the take's ``key_events``)."""

    phase: float
    name: str
    dofs: dict[str, float] = field(default_factory=dict)
    lift: float = 0.0
    event: bool = True


@dataclass(frozen=True)
class Action:
    """One movement performed once.

    Attributes:
        name: what ``posetool synth --action`` takes.
        duration: seconds at tempo 1.
        keys: the key poses, phases increasing from 0 to 1 (key events and in-between poses).
        pause_windows: phase ranges where a performer may hold still (never mid-air).
        flat_feet: level the feet on the ground (off during a jump's flight by the ankle keys).
        depth_joints: the joint-name prefixes the performer's ``depth`` amplitude scales (see
            :class:`Amplitudes`); the rest keep their key values.
        cyclic: one cycle of a repeating movement (the pose at phase 1 is the pose at phase 0):
            joints are interpolated through the neighbouring cycles' keys too, so they do not
            stop at phases 0 and 1 unless those are extremes.
    """

    name: str
    duration: float
    keys: tuple[KeyPose, ...]
    pause_windows: tuple[tuple[float, float], ...]
    flat_feet: bool = True
    depth_joints: tuple[str, ...] = _LEG_PREFIXES
    cyclic: bool = False

    @property
    def events(self) -> tuple[KeyPose, ...]:
        """The key poses that are key events (all but the in-between poses)."""
        return tuple(k for k in self.keys if k.event)

    @property
    def key_phases(self) -> np.ndarray:
        """(E,) the phases of the key events."""
        return np.array([k.phase for k in self.events])

    @property
    def key_names(self) -> list[str]:
        return [k.name for k in self.events]

    @property
    def num_classes(self) -> int:
        """Number of phase classes: the intervals between key events."""
        return len(self.events) - 1

    def phase_class(self, phase: np.ndarray) -> np.ndarray:
        """(T,) int phase class of every phase in (T,) ``phase``; NaN phases get -1."""
        phase = np.asarray(phase, dtype=np.float64)
        cls = np.searchsorted(self.key_phases[1:-1], phase, side="right")
        return np.where(np.isnan(phase), -1, cls)


def _keys(*poses: KeyPose) -> tuple[KeyPose, ...]:
    phases = [p.phase for p in poses]
    if phases[0] != 0.0 or phases[-1] != 1.0 or np.any(np.diff(phases) <= 0):
        raise ValueError("key poses must start at phase 0, end at phase 1 and increase")
    if not (poses[0].event and poses[-1].event):
        raise ValueError("the key poses at phases 0 and 1 must be key events")
    return poses


def _both(**deltas: float) -> dict[str, float]:
    """The same change on the left and the right side: ``hip_flex=30`` -> l_hip_flex and r_hip_flex."""
    out: dict[str, float] = {}
    for name, value in deltas.items():
        if f"l_{name}" in D:
            out[f"l_{name}"] = out[f"r_{name}"] = value
        else:
            out[name] = value
    return out


# A gait cycle from right heel strike to the next (Perry's phases of normal walking): left toe-off
# ends the first double support, the right foot is flat under the body in mid-stance while the
# left swings past it, left heel strike starts the second double support, right toe-off ends it,
# the right foot swings past the left in the left's mid-stance. The second half is the first
# with left and right swapped. In-between poses (no key events) shape the curves between them:
# the swing knee's peak, for one, falls between toe-off and the other foot's mid-stance.
_GAIT_POSES = ((0.0, "right_heel_strike"), (0.06, ""), (0.12, "left_toe_off"), (0.2, ""),
               (0.3, "right_mid_stance"), (0.4, ""), (0.5, "left_heel_strike"), (0.56, ""),
               (0.62, "right_toe_off"), (0.7, ""), (0.8, "left_mid_stance"), (0.9, ""))


def _gait_cycle(right: dict[str, tuple[float, ...]], even: dict[str, tuple[float, ...]],
                odd: dict[str, tuple[float, ...]]) -> tuple[KeyPose, ...]:
    """Key poses of one gait cycle at the phases of :data:`_GAIT_POSES`, and phase 1 (the first
    pose again).

    Args:
        right: the right side's angles at the twelve poses (``hip_flex`` -> r_hip_flex); the left
            side does the same half a cycle later.
        even: midline angles at the first six poses, the same again half a cycle later.
        odd: midline angles at the first six poses (twists, side bends), negated half a cycle later.
    """
    half = len(_GAIT_POSES) // 2
    poses = []
    for i, (phase, name) in enumerate(_GAIT_POSES):
        dofs = {}
        for joint, values in right.items():
            dofs[f"r_{joint}"] = values[i]
            dofs[f"l_{joint}"] = values[(i + half) % len(_GAIT_POSES)]
        for joint, values in even.items():
            dofs[joint] = values[i % half]
        for joint, values in odd.items():
            dofs[joint] = values[i % half] * (1 if i < half else -1)
        poses.append(KeyPose(phase, name or f"in_between_{phase:g}", dofs, event=bool(name)))
    return _keys(*poses, KeyPose(1.0, "right_heel_strike_again", poses[0].dofs))


ACTIONS: dict[str, Action] = {
    # Down with the arms rising forward, up with the arms held forward, then the arms come down.
    "squat": Action("squat", 2.6, _keys(
        KeyPose(0.0, "start"),
        KeyPose(0.22, "arms_forward", _both(hip_flex=32, knee=38, root_pitch=7, lumbar_flex=4, sh_flex=40, elbow=5)),
        KeyPose(0.5, "bottom", _both(hip_flex=100, knee=120, root_pitch=22, lumbar_flex=12, neck_flex=-18,
                                     sh_flex=88, elbow=0, sh_abd=-8)),
        KeyPose(0.8, "standing_arms_up", _both(hip_flex=8, knee=10, root_pitch=2, sh_flex=92, sh_abd=-8)),
        KeyPose(1.0, "end", _both(sh_flex=0)),
    ), pause_windows=((0.3, 0.75),)),
    # Countermovement jump: arms swing back in the crouch, up through take-off and flight,
    # forward while landing, then down.
    "jump": Action("jump", 2.0, _keys(
        KeyPose(0.0, "start"),
        KeyPose(0.26, "crouch", _both(hip_flex=75, knee=100, root_pitch=25, sh_flex=-45, elbow=20)),
        KeyPose(0.4, "take_off", _both(hip_flex=0, knee=0, root_pitch=0, sh_flex=140, elbow=5, ankle=-25)),
        KeyPose(0.52, "apex", _both(hip_flex=12, knee=18, sh_flex=150, ankle=-22), lift=1.0),
        KeyPose(0.64, "landing", _both(hip_flex=20, knee=25, root_pitch=5, sh_flex=95, ankle=-8)),
        KeyPose(0.78, "absorb", _both(hip_flex=70, knee=90, root_pitch=22, sh_flex=70, elbow=10)),
        KeyPose(1.0, "end"),
    ), pause_windows=((0.2, 0.3), (0.74, 0.85))),
    # Forward lunge on the left leg; the arms rise forward on the way down and open sideways on
    # the way back.
    "lunge": Action("lunge", 3.0, _keys(
        KeyPose(0.0, "start"),
        KeyPose(0.24, "step", {"l_hip_flex": 50, "l_knee": 35, "r_hip_flex": -8, "r_knee": 10,
                               **_both(sh_flex=45)}),
        KeyPose(0.5, "bottom", {"l_hip_flex": 85, "l_knee": 90, "r_hip_flex": -15, "r_knee": 95,
                                "root_pitch": 4, **_both(sh_flex=90)}),
        KeyPose(0.76, "push_back", {"l_hip_flex": 45, "l_knee": 40, "r_hip_flex": -6, "r_knee": 25,
                                    **_both(sh_flex=10, sh_abd=80)}),
        KeyPose(1.0, "end"),
    ), pause_windows=((0.35, 0.65),)),
    # One gait cycle walked in place (Perry; Winter's normative sagittal angles). Changes from
    # standing (hip 3, knee 4, elbow 12 degrees, pelvis pitched ~1 forward, 2 more here): the
    # thigh goes from ~21 degrees forward of vertical at heel strike to ~-14 just before toe-off
    # (the clinical +30 / -10 hip flexion, which is measured against a pelvis tilted ~10 forward);
    # the knee 3 at heel strike, 18 in loading response, ~5 late in stance, 44 at toe-off, 62
    # early in swing. The ankle entries pitch the levelled foot (toes up > 0): 18 at heel strike,
    # flat from loading response through mid-stance, rolling onto the toes to -58 at toe-off,
    # -28 in mid-swing: anatomical ankle angles of about 0 at heel strike, -3 in loading
    # response, +3 to +13 through stance, -5 at toe-off (normal gait: -15; with this body's feet
    # the toes would stay on the ground) and +10 in swing. The swing foot clears the ground by
    # ~1-2 cm. Arms swing against the legs (shoulder -20 to +12, elbow 12 to 28), the thorax
    # turns a little with the forward arm, the head keeps looking ahead, and the trunk leans ~2
    # degrees over the stance leg. The performer's depth scales the step (hips, foot pitch), not
    # the knees, which would drag the swing foot. No pauses: a walker does not stop mid-stride.
    "walk": Action("walk", 1.1, _gait_cycle(
        right={"hip_flex": (21, 20, 18, 12, 4, -5, -13, -14, -9, 4, 20, 23),
               "knee": (-1, 8, 14, 11, 4, 1, 8, 22, 40, 58, 54, 16),
               "ankle": (18, 5, 0, 0, 0, -3, -12, -30, -58, -54, -28, 2),
               "sh_flex": (-20, -19, -16, -11, -3, 5, 12, 11.5, 10, 4, -6, -15),
               "elbow": (0, 0, 1, 3, 7, 12, 16, 16, 14, 10, 5, 1)},
        even={"root_pitch": (2, 2, 2, 2, 2, 2)},
        odd={"lumbar_twist": (-5, -4.8, -4, -2.5, 0, 3), "neck_twist": (5, 4.8, 4, 2.5, 0, -3),
             "lumbar_lat": (0, 0.8, 1.5, 2, 2, 1.2)},
    ), pause_windows=(), depth_joints=("l_hip", "r_hip", "l_ankle", "r_ankle"), cyclic=True),
}


RANDOM_PREFIX = "random-"


def _random_arm(rng: np.random.Generator) -> dict[str, float]:
    """One arm's angles anywhere in its usual range: reaching forward, sideways, overhead, behind."""
    return {"sh_flex": float(rng.uniform(-40, 170)), "sh_abd": float(rng.uniform(-10, 150)),
            "sh_twist": float(rng.uniform(-40, 40)), "elbow": float(rng.uniform(0, 130))}


def _random_legs(rng: np.random.Generator) -> dict[str, float]:
    """The legs and pelvis in one of the shapes whole-body movements take: standing, a squat, a
    forward lunge, a side lunge, one leg raised; the side is drawn."""
    side, other = ("l", "r") if rng.random() < 0.5 else ("r", "l")
    shape = rng.choice(["stand", "squat", "lunge", "side_lunge", "leg_raise"], p=[0.3, 0.2, 0.2, 0.15, 0.15])
    if shape == "squat":
        hip = float(rng.uniform(20, 110))
        return {**_both(hip_flex=hip, knee=hip * float(rng.uniform(1.0, 1.3))), "root_pitch": hip * 0.2}
    if shape == "lunge":
        front = float(rng.uniform(30, 90))
        return {f"{side}_hip_flex": front, f"{side}_knee": front * float(rng.uniform(0.7, 1.1)),
                f"{other}_hip_flex": -float(rng.uniform(0, 15)), f"{other}_knee": float(rng.uniform(10, 95))}
    if shape == "side_lunge":
        bend = float(rng.uniform(30, 90))
        return {f"{side}_hip_abd": float(rng.uniform(20, 40)), f"{side}_hip_flex": bend * 0.6, f"{side}_knee": bend,
                f"{other}_hip_abd": float(rng.uniform(10, 30)), "root_pitch": bend * 0.15}
    if shape == "leg_raise":
        return {f"{side}_hip_flex": float(rng.uniform(25, 90)), f"{side}_knee": float(rng.uniform(0, 90)),
                f"{side}_hip_abd": float(rng.uniform(-5, 30))}
    return {}


def _random_pose(rng: np.random.Generator) -> dict[str, float]:
    """A whole-body key pose: legs, trunk bend/side bend/twist, each arm (both the same in a third
    of poses, as in many exercises), the head following a little."""
    dofs = _random_legs(rng)
    if rng.random() < 0.5:
        dofs["lumbar_flex"] = float(rng.uniform(-10, 40))
    if rng.random() < 0.4:
        dofs["lumbar_lat"] = float(rng.uniform(-20, 20))
    if rng.random() < 0.4:
        dofs["lumbar_twist"] = float(rng.uniform(-25, 25))
    if rng.random() < 0.35:
        dofs.update(_both(**_random_arm(rng)))
    else:
        for side in ("l", "r"):
            if rng.random() < 0.7:
                dofs.update({f"{side}_{k}": v for k, v in _random_arm(rng).items()})
    dofs["neck_flex"] = float(rng.uniform(-15, 20))
    return dofs


@lru_cache(maxsize=4096)
def random_action(index: int) -> Action:
    """Movement ``index`` of a family of random whole-body movements (``--action random-N``).

    2-4 key poses at random phases between a start and an end pose, each drawn by
    :func:`_random_pose` (legs in a squat, lunge, side lunge or raised, trunk bends and twists,
    arms anywhere), joined as every action is (PCHIP per joint). The start and end are standing
    in most movements, a drawn pose otherwise (a take may start mid-movement, as a golf swing
    starts at address). The same index is the same movement; its takes vary as any action's
    (performer, amplitude, tempo, pauses, view). An embedder trained on many of them learns no
    single movement but the body itself, so it aligns movements it never saw (docs/align.md).
    """
    if index < 0:
        raise UsageError(f"--action {RANDOM_PREFIX}N: N must be non-negative, got {index}")
    rng = np.random.default_rng([index, 4309])
    duration = float(rng.uniform(1.2, 3.5))
    inner = int(rng.integers(2, 5))
    phases = np.sort(rng.uniform(0.12, 0.88, inner))
    while np.any(np.diff(np.concatenate([[0.0], phases, [1.0]])) < 0.1):  # key poses at least 0.1 apart
        phases = np.sort(rng.uniform(0.12, 0.88, inner))
    start = _random_pose(rng) if rng.random() < 0.3 else {}
    end = _random_pose(rng) if rng.random() < 0.3 else {}
    keys = [KeyPose(0.0, "start", start)]
    keys += [KeyPose(round(float(p), 4), f"key_{i + 1}", _random_pose(rng)) for i, p in enumerate(phases)]
    keys.append(KeyPose(1.0, "end", end))
    return Action(f"{RANDOM_PREFIX}{index}", round(duration, 3), _keys(*keys), pause_windows=((0.1, 0.9),),
                  depth_joints=_LEG_PREFIXES + ("root_roll",))


def get_action(name: str) -> Action:
    """Look an action up (a named one, or ``random-N``); the error lists the known ones."""
    if name.startswith(RANDOM_PREFIX):
        index = name[len(RANDOM_PREFIX):]
        if not index.isdigit():
            raise UsageError(f"--action {name!r}: random movements are random-N with N a non-negative integer")
        return random_action(int(index))
    try:
        return ACTIONS[name]
    except KeyError:
        raise UsageError(f"--action: unknown action {name!r}; known: {', '.join(ACTIONS)}, "
                         f"{RANDOM_PREFIX}N (random movement N)") from None


@dataclass(frozen=True)
class Amplitudes:
    """How one performer moves: ``depth`` scales the legs and trunk (of a walk: the hips and the
    feet's pitch, the length of the step), ``arms`` the arms, ``jump`` is the jump height in metres."""

    depth: float = 1.0
    arms: float = 1.0
    jump: float = 0.3


def _scale(name: str, action: Action, amp: Amplitudes) -> float:
    if name.startswith(_ARM_PREFIXES):
        return amp.arms
    if name.startswith(action.depth_joints):
        return amp.depth
    return 1.0


def action_dofs(action: Action, phase: np.ndarray, t: np.ndarray, st: Style,
                amp: Amplitudes) -> tuple[np.ndarray, np.ndarray]:
    """Joint angles and root lift of one performance.

    Args:
        phase: (T,) the phase of every frame, in [0, 1].
        t: (T,) the frame times in seconds (the performer's small involuntary motion follows time,
            so it goes on during a pause).

    Returns:
        dofs (T, NUM_DOFS) in degrees, clipped to the anatomical limits, and lift (T,) in metres.
    """
    kp = np.array([k.phase for k in action.keys])  # key events and in-between poses

    def interpolate(values: np.ndarray) -> np.ndarray:
        if not action.cyclic:
            return PchipInterpolator(kp, values)(phase)
        # through the cycles before and after too (the pose at phase 1 is the one at phase 0)
        return PchipInterpolator(np.concatenate([kp[:-1] - 1, kp[:-1], kp[:-1] + 1]), np.tile(values[:-1], 3))(phase)

    names = sorted({n for k in action.keys for n in k.dofs})
    pose = standing_pose(len(phase), st)
    ankles = np.zeros((len(phase), NUM_DOFS))
    for name in names:
        values = np.array([k.dofs.get(name, 0.0) for k in action.keys]) * _scale(name, action, amp)
        (ankles if name in _ANKLES else pose)[:, D[name]] += interpolate(values)
    if action.flat_feet:
        level_feet(pose)
    pose += ankles
    lift = interpolate(np.array([k.lift for k in action.keys])) * amp.jump
    dofs = clip_to_limits(pose + joint_noise(st, t))
    return dofs, np.maximum(lift, 0.0)
