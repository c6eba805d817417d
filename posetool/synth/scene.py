"""A synthetic world: a camera, a walkable ground region, people with shapes, styles and motion.

:func:`build_world` samples everything from one seed (in a fixed order, so a seed always gives
the same world) and runs the motion: the result holds every person's joints in world and
camera coordinates for every frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetool.synth.appearance import Appearance, sample_appearance
from posetool.synth.body import BodyShape, J, forward_kinematics, rot_y, sample_shape
from posetool.synth.camera import Camera, parse_camera_spec, sample_camera
from posetool.synth.config import SynthConfig
from posetool.synth.motion import (
    AgentTracks,
    Segment,
    Style,
    compose_dofs,
    local_rotations,
    plan_segments,
    sample_style,
    simulate_agents,
)

# Joints whose global orientation the renderer needs (ellipsoid parts and face normals).
ORIENT_JOINTS = (J["pelvis"], J["lumbar"], J["spine"], J["neck"])


class GroundRegion:
    """Where people walk: ground points 2.5–``far`` m in front of the camera.

    ``inside`` points are in the horizontal field of view (with a margin so bodies fit);
    outside points lie up to 2.5 m beyond its edges, so people walk in and out of the frame.
    """

    def __init__(self, camera: Camera, near: float = 2.5, far: float | None = None) -> None:
        self.cam = camera
        yaw = np.radians(camera.yaw_deg)
        self.fwd = np.array([np.sin(yaw), np.cos(yaw)])  # ground direction the camera faces (x, z)
        self.side = np.array([self.fwd[1], -self.fwd[0]])
        self.tan = (camera.width / 2) / camera.fx
        self.near = near
        # Far enough that adults shrink to ~80 px.
        self.far = far if far is not None else float(np.clip(camera.fy * 1.7 / 80.0, 6.0, 12.0))
        self.origin = np.array([camera.C[0], camera.C[2]])

    def sample(self, rng: np.random.Generator, inside: bool, margin: tuple[float, float] = (0.5, 2.5)) -> np.ndarray:
        d = self.near + 0.3 + (self.far - self.near - 0.3) * rng.random() ** 1.5  # favour nearer people
        half = d * self.tan
        if inside:
            lat = rng.uniform(-0.8, 0.8) * half
        else:
            lat = float(rng.choice([-1, 1])) * (half + rng.uniform(*margin))
        return self.origin + d * self.fwd + lat * self.side

    def _polar(self, xz: np.ndarray) -> tuple[float, float]:
        """(distance along the view direction, lateral offset) of a ground point, metres."""
        rel = xz - self.origin
        return float(rel @ self.fwd), float(rel @ self.side)

    def in_view(self, xz: np.ndarray) -> bool:
        """Whether a person standing at ``xz`` is inside the horizontal field of view (body centre)."""
        d, lat = self._polar(xz)
        return d >= self.near and abs(lat) <= 0.8 * d * self.tan

    def pull_into_view(self, xz: np.ndarray) -> np.ndarray:
        """The nearest ground point at the same distance whose person is in view (``inside`` sampling's band)."""
        d, lat = self._polar(xz)
        d = float(np.clip(d, self.near + 0.3, self.far))
        lim = 0.8 * d * self.tan
        return self.origin + d * self.fwd + float(np.clip(lat, -lim, lim)) * self.side

    def clamp(self, xz: np.ndarray) -> np.ndarray:
        rel = xz - self.origin
        d = float(np.clip(rel @ self.fwd, self.near, self.far + 1.0))
        lat = float(rel @ self.side)
        lim = d * self.tan + 3.0
        return self.origin + d * self.fwd + float(np.clip(lat, -lim, lim)) * self.side


@dataclass
class Person:
    """One synthetic person: identity, body, clothes and motion plan."""

    track_id: int
    shape: BodyShape
    style: Style
    appearance: Appearance
    plan: list[Segment]
    tracks: AgentTracks | None = None


@dataclass
class World:
    """A simulated sequence.

    Attributes:
        camera: the camera.
        people: the people (track ids 1..P).
        joints_world: (P, T, NUM_JOINTS, 3) body joints, world coordinates, metres.
        joints_cam: (P, T, NUM_JOINTS, 3) the same in camera coordinates.
        orient_cam: (P, T, 4, 3, 3) camera-frame orientation of pelvis, lumbar, spine and head
            (``ORIENT_JOINTS``): columns are the body's left, up and forward axes.
        dofs: (P, T, NUM_DOFS) joint angles in degrees.
    """

    config: SynthConfig
    camera: Camera
    people: list[Person]
    joints_world: np.ndarray
    joints_cam: np.ndarray
    orient_cam: np.ndarray
    dofs: np.ndarray


def build_world(config: SynthConfig) -> World:
    """Sample a camera and people from ``config.seed`` and simulate their motion."""
    config.validate()
    rng = np.random.default_rng(config.seed)
    camera = sample_camera(rng, config.width, config.height, parse_camera_spec(config.camera))
    region = GroundRegion(camera)
    motions = config.motions()
    people = []
    scripted = config.scene != "mix"
    for i in range(config.people):
        child = bool(rng.random() < config.child_fraction)
        shape = sample_shape(rng, child)
        style, look = sample_style(rng, child), sample_appearance(rng)
        # A scripted scene's plan comes from its script (below), not from the random schedule; the
        # random one is drawn after style and clothes, the order that keeps every seed's world.
        plan = [] if scripted else plan_segments(rng, motions, config.frames, config.fps)
        people.append(Person(i + 1, shape, style, look, plan))
    if scripted:
        from posetool.synth.scenes import follow_scripts, script_people

        starts, headings, scripts = script_people(rng, config.scene, len(people), region, config.frames, config.fps)
        tracks, plans = follow_scripts(starts, headings, scripts, [p.style for p in people], [p.shape for p in people],
                                       config.frames, config.fps)
        for person, plan in zip(people, plans):
            person.plan = plan
    else:
        tracks = simulate_agents(rng, [p.plan for p in people], [p.style for p in people],
                                 [p.shape for p in people], region, config.frames, config.fps)
    from posetool.synth.body import NUM_JOINTS
    from posetool.synth.motion import NUM_DOFS

    n, t = len(people), config.frames
    jw = np.zeros((n, t, NUM_JOINTS, 3))
    orient = np.zeros((n, t, len(ORIENT_JOINTS), 3, 3))
    dofs_all = np.zeros((n, t, NUM_DOFS))
    foot = [J["left_heel"], J["left_toe"], J["right_heel"], J["right_toe"]]
    for i, (person, tr) in enumerate(zip(people, tracks)):
        person.tracks = tr
        dofs, lift = compose_dofs(person.plan, tr, person.style, t, config.fps)
        local = local_rotations(dofs)
        root_rot = rot_y(tr.heading)
        root = np.stack([tr.xz[:, 0], np.zeros(t), tr.xz[:, 1]], -1)
        pos, glob = forward_kinematics(person.shape, root, root_rot, local)
        # Ground contact: the lowest sole touches y = 0 (plus the jump's lift).
        sole = pos[:, foot, 1].min(axis=1) - 0.6 * person.shape.radii["foot"]
        pos[..., 1] += (lift - sole)[:, None]
        jw[i], dofs_all[i] = pos, dofs
        orient[i] = camera.R @ glob[:, ORIENT_JOINTS]
    jc = camera.world_to_camera(jw)
    return World(config, camera, people, jw, jc, orient, dofs_all)
