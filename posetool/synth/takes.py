"""Takes: one person performing one action once, filmed from a chosen side, with the exact phase
of every frame.

``posetool synth DIR --action squat`` writes a take. From one seed it samples the performer
(body, style, small involuntary motion), how they move (depth of the movement, arm amplitude,
jump height), the timing and the camera; options fix any of them:

- tempo: the speed against the action's nominal duration (``--tempo 1.5`` is 1.5x faster);
  sampled log-uniformly in [0.7, 1.4], so two takes differ in speed by up to 2x;
- tempo change: the speed at the end over the speed at the start (``--tempo-change``), the
  speed moving smoothly in between, plus a gentle sinusoidal wobble; sampled in [1/1.5, 1.5];
- pauses: the performer holds still at a phase for some seconds (``--pause 0.5:0.8``); sampled:
  none, one or two holds of 0.25-1 s inside the action's pause windows;
- view: the camera's azimuth around the performer in degrees (0: the performer faces the
  camera, 90: the camera sees their left side); sampled uniformly over the full circle, with
  camera height, tilt, field of view and distance sampled too;
- lead: seconds of standing still before the movement starts and after it ends (default 0).

The phase (:func:`phase_schedule`) maps time to the action's progress in [0, 1]: it is what the
alignment measures compare (``phase`` and ``phase_class`` on every instance of gt.jsonl).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from posetool.errors import UsageError
from posetool.synth.actions import Action, Amplitudes, action_dofs, get_action
from posetool.synth.appearance import sample_appearance
from posetool.synth.body import NUM_JOINTS, J, forward_kinematics, rot_y, sample_shape
from posetool.synth.camera import Camera, look_rotation
from posetool.synth.config import SynthConfig
from posetool.synth.groundtruth import SynthSequence, ground_truth
from posetool.synth.motion import MOTIONS, AgentTracks, Segment, local_rotations, sample_style
from posetool.synth.scene import ORIENT_JOINTS, Person, World

TEMPO_RANGE = (0.7, 1.4)
TEMPO_CHANGE_MAX = 1.5
PAUSE_SECONDS = (0.25, 1.0)
MAX_TEMPO = 4.0  # validation bounds: beyond them a take is either a blur or minutes long


@dataclass(frozen=True)
class TakeConfig:
    """Everything that determines a take; ``None`` values are sampled from ``seed``.

    Attributes:
        action: a name of :data:`posetool.synth.actions.ACTIONS`.
        tempo: speed factor against the action's nominal duration.
        tempo_change: speed at the end / speed at the start.
        pauses: ``(phase, seconds)`` holds; an empty tuple means none.
        view: camera azimuth around the performer, degrees (0: facing the camera).
        lead: seconds of standing still before and after the movement.
    """

    action: str
    seed: int = 0
    tempo: float | None = None
    tempo_change: float | None = None
    pauses: tuple[tuple[float, float], ...] | None = None
    view: float | None = None
    lead: float = 0.0
    fps: float = 25.0
    width: int = 640
    height: int = 480
    child_fraction: float = 0.15
    noise: float | None = None
    motion_blur: bool = False

    def validate(self) -> TakeConfig:
        """Raise :class:`UsageError` naming the first bad option; return self."""
        get_action(self.action)
        if self.tempo is not None and not 1 / MAX_TEMPO <= self.tempo <= MAX_TEMPO:
            raise UsageError(f"--tempo must be {1 / MAX_TEMPO:g}–{MAX_TEMPO:g}, got {self.tempo}")
        if self.tempo_change is not None and not 1 / MAX_TEMPO <= self.tempo_change <= MAX_TEMPO:
            raise UsageError(f"--tempo-change must be {1 / MAX_TEMPO:g}–{MAX_TEMPO:g}, got {self.tempo_change}")
        for phase, seconds in self.pauses or ():
            if not 0 <= phase <= 1 or not 0 < seconds <= 30:
                raise UsageError(f"--pause {phase}:{seconds}: the phase must be 0–1 and the hold 0–30 s")
        if not 0 <= self.lead <= 30:
            raise UsageError(f"--lead must be 0–30 s, got {self.lead}")
        if self.seed < 0:
            raise UsageError(f"--seed must be non-negative, got {self.seed}")
        self.base_config(1).validate()  # image size, fps, noise
        return self

    def base_config(self, frames: int) -> SynthConfig:
        """The :class:`SynthConfig` the scene writers and the renderer read (one person)."""
        motion = self.action if self.action in MOTIONS else "mix"
        return SynthConfig(people=1, frames=frames, width=self.width, height=self.height, fps=self.fps, seed=self.seed,
                           motion=motion, child_fraction=self.child_fraction, motion_blur=self.motion_blur,
                           noise=self.noise)


def parse_pause(text: str) -> tuple[float, float]:
    """``PHASE:SECONDS`` (e.g. ``0.5:0.8``) as a pair of floats."""
    try:
        phase, seconds = (float(v) for v in text.split(":"))
    except ValueError:
        raise UsageError(f"--pause must be PHASE:SECONDS, e.g. 0.5:0.8, got {text!r}") from None
    return phase, seconds


@dataclass(frozen=True)
class Timing:
    """How a take unfolds in time (resolved, nothing left to sample)."""

    duration: float  # seconds of movement without pauses
    tempo_change: float
    wobble: float  # relative amplitude of the speed's sinusoidal wobble
    wobble_phase: float  # radians
    pauses: tuple[tuple[float, float], ...]
    lead: float


def phase_schedule(timing: Timing, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """The phase of every frame and the frame times.

    The speed through the action (phase per second) is ``c**phase * (1 + w sin(2 pi phase + p))``
    up to a constant chosen so the movement lasts ``duration`` seconds; every pause inserts a
    flat stretch of phase.

    Returns:
        phase (T,) in [0, 1] and t (T,) seconds, ``T = round(total * fps) + 1``.
    """
    grid = np.linspace(0.0, 1.0, 2001)
    speed = timing.tempo_change ** grid * (1 + timing.wobble * np.sin(2 * np.pi * grid + timing.wobble_phase))
    dt = 1.0 / speed
    elapsed = np.concatenate([[0.0], np.cumsum((dt[1:] + dt[:-1]) / 2 * np.diff(grid))])
    elapsed *= timing.duration / elapsed[-1]
    times, phases = [timing.lead], [0.0]
    held = 0.0
    pauses = sorted(timing.pauses)
    for k in range(1, len(grid)):
        for phase, seconds in pauses:
            if grid[k - 1] < phase <= grid[k] or (phase == 0.0 and k == 1):
                at = timing.lead + held + float(np.interp(phase, grid, elapsed))
                times += [at, at + seconds]
                phases += [phase, phase]
                held += seconds
        times.append(timing.lead + held + elapsed[k])
        phases.append(grid[k])
    total = times[-1] + timing.lead
    t = np.arange(int(round(total * fps)) + 1) / fps
    order = np.argsort(np.asarray(times), kind="stable")  # pause points may tie with grid points
    phase = np.interp(t, np.asarray(times)[order], np.asarray(phases)[order], left=0.0, right=1.0)
    return phase, t


@dataclass
class TakeWorld(World):
    """A :class:`World` with one performer and their ``phase`` (P=1, T) and resolved ``take``
    parameters (what the stream header and synth.json record)."""

    phase: np.ndarray
    take: dict[str, Any]


def _take_camera(rng: np.random.Generator, cfg: TakeConfig, view_deg: float, heading: float,
                 body_height: float) -> Camera:
    """A camera at azimuth ``view_deg`` around a performer standing at the origin facing ``heading``."""
    fov = rng.uniform(45.0, 70.0)
    fx = float(round((cfg.width / 2) / np.tan(np.radians(fov) / 2), 2))
    fy = float(round(fx * rng.uniform(0.995, 1.005), 2))
    cx = float(round(cfg.width / 2 + rng.uniform(-0.02, 0.02) * cfg.width, 2))
    cy = float(round(cfg.height / 2 + rng.uniform(-0.02, 0.02) * cfg.height, 2))
    cam_h = float(round(rng.uniform(0.8, 2.2), 3))
    fill = rng.uniform(0.45, 0.62)  # standing height over image height
    dist = fy * body_height / (fill * cfg.height)
    around = heading + np.radians(view_deg)
    centre = np.array([dist * np.sin(around), cam_h, dist * np.cos(around)])
    target_h = 0.6 * body_height
    yaw = float(round(np.degrees(np.arctan2(-centre[0], -centre[2])), 2))
    pitch = float(round(np.degrees(np.arctan2(cam_h - target_h, dist)), 2))
    R = look_rotation(np.radians(yaw), np.radians(pitch))
    return Camera(fx, fy, cx, cy, cfg.width, cfg.height, R, centre, pitch, yaw)


def _sample_pauses(rng: np.random.Generator, action: Action) -> tuple[tuple[float, float], ...]:
    count = int(rng.choice(3, p=[0.35, 0.45, 0.2]))
    if not action.pause_windows:  # an action performed without holds (walk)
        return ()
    out = []
    for _ in range(count):
        lo, hi = action.pause_windows[int(rng.integers(len(action.pause_windows)))]
        out.append((round(float(rng.uniform(lo, hi)), 4), round(float(rng.uniform(*PAUSE_SECONDS)), 3)))
    return tuple(sorted(out))


def build_take_world(cfg: TakeConfig) -> TakeWorld:
    """Sample the performer, timing and camera of ``cfg`` (in a fixed order, so options that fix
    one value leave the others as the seed draws them) and pose the body frame by frame."""
    cfg.validate()
    action = get_action(cfg.action)
    rng = np.random.default_rng([cfg.seed, 2207])
    child = bool(rng.random() < cfg.child_fraction)
    shape = sample_shape(rng, child)
    style = sample_style(rng, child)
    appearance = sample_appearance(rng)
    amp = Amplitudes(depth=float(rng.uniform(0.75, 1.05)), arms=float(rng.uniform(0.8, 1.1)),
                     jump=float(rng.uniform(0.15, 0.4)))
    tempo = float(np.exp(rng.uniform(*np.log(TEMPO_RANGE))))
    change = float(np.exp(rng.uniform(-np.log(TEMPO_CHANGE_MAX), np.log(TEMPO_CHANGE_MAX))))
    wobble, wobble_phase = float(rng.uniform(0.0, 0.25)), float(rng.uniform(0, 2 * np.pi))
    pauses = _sample_pauses(rng, action)
    view = float(rng.uniform(-180.0, 180.0))
    heading = float(rng.uniform(-np.pi, np.pi))
    camera = _take_camera(rng, cfg, view if cfg.view is None else cfg.view, heading, shape.height)
    tempo = tempo if cfg.tempo is None else cfg.tempo
    change = change if cfg.tempo_change is None else cfg.tempo_change
    pauses = pauses if cfg.pauses is None else tuple(sorted(cfg.pauses))
    view = view if cfg.view is None else cfg.view
    timing = Timing(action.duration / tempo, change, wobble, wobble_phase, pauses, cfg.lead)

    phase, t = phase_schedule(timing, cfg.fps)
    frames = len(t)
    dofs, lift = action_dofs(action, phase, t, style, amp)
    root_rot = rot_y(np.full(frames, heading))
    pos, glob = forward_kinematics(shape, np.zeros((frames, 3)), root_rot, local_rotations(dofs))
    # Ground contact as in the mixed scenes: the lowest sole touches y = 0, plus the jump's lift.
    foot = [J["left_heel"], J["left_toe"], J["right_heel"], J["right_toe"]]
    sole = pos[:, foot, 1].min(axis=1) - 0.6 * shape.radii["foot"]
    pos[..., 1] += (lift - sole)[:, None]
    tracks = AgentTracks(np.zeros((frames, 2)), np.full(frames, heading), np.zeros(frames), np.zeros(frames),
                         np.zeros(frames), np.zeros(frames, int))
    person = Person(1, shape, style, appearance, [Segment(action.name, 0, frames)], tracks)
    take = {
        **asdict(cfg), "tempo": round(tempo, 6), "tempo_change": round(change, 6), "view": round(view, 4),
        "pauses": [list(p) for p in pauses], "duration_s": round(timing.duration, 6),
        "wobble": round(wobble, 6), "depth": round(amp.depth, 6), "arms": round(amp.arms, 6),
        "jump_m": round(amp.jump, 6), "key_events": [{"name": k.name, "phase": k.phase} for k in action.events],
    }
    joints = pos[None]
    assert joints.shape == (1, frames, NUM_JOINTS, 3)
    return TakeWorld(cfg.base_config(frames), camera, [person], joints, camera.world_to_camera(joints),
                     (camera.R @ glob[:, ORIENT_JOINTS])[None], dofs[None], phase[None], take)


def simulate_take(cfg: TakeConfig) -> SynthSequence:
    """The ground truth of a take (no rendering, no files); ``seq.world`` is a :class:`TakeWorld`."""
    return ground_truth(build_take_world(cfg))


def write_take(outdir: str, action: str, *, seed: int = 0, tempo: float | None = None,
               tempo_change: float | None = None, pauses: list[str] | None = None, view: float | None = None,
               lead: float = 0.0, fps: float = 25.0, width: int = 640, height: int = 480, children: float = 0.15,
               noise: float | None = None, motion_blur: bool = False, render: bool = True,
               image_folder: bool = False, ignored: dict[str, bool] | None = None) -> SynthSequence:
    """``posetool synth OUTDIR --action ...``: write a take's video and ground truth like any synth folder.

    ``pauses`` are ``PHASE:SECONDS`` texts (``["none"]``: no pause; ``None``: sampled). ``ignored``
    names scene options that were given but have no meaning for a take (a usage error).
    """
    from posetool import console
    from posetool.progress import progress_bar
    from posetool.synth import generate

    given = [flag for flag, on in (ignored or {}).items() if on]
    if given:
        raise UsageError(f"{given[0]} cannot be used with --action (a take is one performer, timed by its tempo)")
    parsed = None
    if pauses is not None:
        parsed = () if [p.strip().lower() for p in pauses] == ["none"] else tuple(parse_pause(p) for p in pauses)
    cfg = TakeConfig(action, seed=seed, tempo=tempo, tempo_change=tempo_change, pauses=parsed, view=view, lead=lead,
                     fps=fps, width=width, height=height, child_fraction=children, noise=noise,
                     motion_blur=motion_blur).validate()
    seq = simulate_take(cfg)
    frames = seq.world.config.frames
    with progress_bar("synth", frames) as bar:
        result = generate(outdir, seq.world.config, render=render, image_folder=image_folder,
                          progress=lambda n: bar.advance(), sequence=seq)
    take = seq.world.take
    console.info(f"posetool synth: {action} take, {frames} frames ({frames / fps:.2f} s), tempo {take['tempo']:.2f}, "
                 f"{len(take['pauses'])} pause(s), view {take['view']:.0f} deg -> {result.outdir}")
    return seq


def write_takes(outdir: str, action: str, count: int, *, seed: int = 0, **options) -> list[str]:
    """``posetool synth OUTDIR --action A --takes N``: ``count`` takes with seeds ``seed .. seed + count - 1``.

    One take is written into OUTDIR itself; several go into ``OUTDIR/{action}-s{seed:05d}`` (a folder
    of takes, which ``posetool train align`` and ``posetool eval align`` read whole). ``options``
    are those of :func:`write_take`. Returns the folders written.
    """
    import os

    from posetool import console

    if count == 1:
        write_take(outdir, action, seed=seed, **options)
        return [outdir]
    folders = [os.path.join(outdir, f"{action}-s{s:05d}") for s in range(seed, seed + count)]
    quiet = console.is_quiet()
    console.set_quiet(True)  # one line for the set, not one per take
    try:
        for folder, s in zip(folders, range(seed, seed + count)):
            write_take(folder, action, seed=s, **options)
    finally:
        console.set_quiet(quiet)
    console.info(f"posetool synth: {count} {action} takes (seeds {seed}–{seed + count - 1}) -> {outdir}")
    return folders
