"""Single performances of an action, driven by a phase: 0 when the movement starts, 1 when it ends.

An :class:`Action` is a short list of key poses at fixed phases (its key events). A key pose holds
joint-angle changes from the performer's relaxed standing pose (degrees, with the sign conventions
of :mod:`posetool.synth.motion`), plus a vertical lift for jumps. Between key events every joint
follows a monotone piecewise cubic (PCHIP), so it never overshoots its key values and comes to
rest exactly at a key pose where that pose is an extreme (the bottom of a squat).

The first and second halves of every action differ on purpose (arms rise forward on the way down
and stay up on the way back, a jump swings the arms back before take-off and forward on landing),
as real movements do: a pose seen half-way down a squat then differs from the pose half-way up,
so the phase of a frame is defined by the body alone, not only by the direction of motion.

Phase classes are the intervals between consecutive key events (class k covers
``[key[k], key[k + 1])``, the last class includes phase 1); the paper's phase classification and
phase progression measures use them (:mod:`posetool.eval.align`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
    the root's height above the ground as a fraction of the take's jump height."""

    phase: float
    name: str
    dofs: dict[str, float] = field(default_factory=dict)
    lift: float = 0.0


@dataclass(frozen=True)
class Action:
    """One movement performed once.

    Attributes:
        name: what ``posetool synth --action`` takes.
        duration: seconds at tempo 1.
        keys: the key poses, phases increasing from 0 to 1.
        pause_windows: phase ranges where a performer may hold still (never mid-air).
        flat_feet: level the feet on the ground (off during a jump's flight by the ankle keys).
    """

    name: str
    duration: float
    keys: tuple[KeyPose, ...]
    pause_windows: tuple[tuple[float, float], ...]
    flat_feet: bool = True

    @property
    def key_phases(self) -> np.ndarray:
        """(E,) the phases of the key events."""
        return np.array([k.phase for k in self.keys])

    @property
    def key_names(self) -> list[str]:
        return [k.name for k in self.keys]

    @property
    def num_classes(self) -> int:
        """Number of phase classes: the intervals between key events."""
        return len(self.keys) - 1

    def phase_class(self, phase: np.ndarray) -> np.ndarray:
        """(T,) int phase class of every phase in (T,) ``phase``; NaN phases get -1."""
        phase = np.asarray(phase, dtype=np.float64)
        cls = np.searchsorted(self.key_phases[1:-1], phase, side="right")
        return np.where(np.isnan(phase), -1, cls)


def _keys(*poses: KeyPose) -> tuple[KeyPose, ...]:
    phases = [p.phase for p in poses]
    if phases[0] != 0.0 or phases[-1] != 1.0 or np.any(np.diff(phases) <= 0):
        raise ValueError("key poses must start at phase 0, end at phase 1 and increase")
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
}


def get_action(name: str) -> Action:
    """Look an action up; the error lists the known ones."""
    try:
        return ACTIONS[name]
    except KeyError:
        raise UsageError(f"--action: unknown action {name!r}; known: {', '.join(ACTIONS)}") from None


@dataclass(frozen=True)
class Amplitudes:
    """How one performer moves: ``depth`` scales the legs and trunk, ``arms`` the arms, ``jump``
    is the jump height in metres."""

    depth: float = 1.0
    arms: float = 1.0
    jump: float = 0.3


def _scale(name: str, amp: Amplitudes) -> float:
    if name.startswith(_ARM_PREFIXES):
        return amp.arms
    if name.startswith(_LEG_PREFIXES):
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
    kp = action.key_phases
    names = sorted({n for k in action.keys for n in k.dofs})
    pose = standing_pose(len(phase), st)
    ankles = np.zeros((len(phase), NUM_DOFS))
    for name in names:
        values = np.array([k.dofs.get(name, 0.0) for k in action.keys]) * _scale(name, amp)
        curve = PchipInterpolator(kp, values)(phase)
        (ankles if name in _ANKLES else pose)[:, D[name]] += curve
    if action.flat_feet:
        level_feet(pose)
    pose += ankles
    lift = PchipInterpolator(kp, np.array([k.lift for k in action.keys]))(phase) * amp.jump
    dofs = clip_to_limits(pose + joint_noise(st, t))
    return dofs, np.maximum(lift, 0.0)
