"""Scripted scenes (``posetool synth --scene``): motions chosen to test one tracking difficulty each.

The default scene ``mix`` is the random world of :mod:`posetool.synth.motion`. The others give
every person a script of *legs* and steer them through it frame by frame with the same
kinematics as the random agents (speed relaxes with a 0.45 s time constant, heading turns at a
bounded rate, the gait phase advances with speed, people keep 0.55 m apart):

- ``reenter``: each person walks out of the view sideways, stays out of sight for a while, and
  walks back in on the same side; stays of 0–3.5 s beyond the edge give absences of about
  1–5 s (walking out and back in adds 1–2 s).
- ``crossing``: people walk back and forth across the view at nearby depths, so their paths
  cross in the image and they occlude each other.
- ``turn``: people stand spread over the view and turn round on the spot (±180°) again and
  again, with short pauses: front/back and left/right ambiguity.
- ``run``: people run back and forth across the view (fast motion, large displacements).

A leg is ``("go", xz, action)`` (walk or run to a ground point), ``("wait", frames)`` (idle),
``("turn", radians)`` (turn on the spot), or ``("face", xz)`` (face a point at once: only used
out of view, where nobody sees it). The frames each leg took become the person's action plan
(:class:`~posetool.synth.motion.Segment`), so poses are composed as in the random world.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from posetool.synth.body import BodyShape
from posetool.synth.motion import AgentTracks, Region, Segment, Style, step_agent, wrap_angle

SCENES: tuple[str, ...] = ("mix", "reenter", "crossing", "turn", "run")

# Lateral distance (m) beyond the image edge at which a walking adult is wholly out of view:
# half a shoulder width plus an arm swing, with margin for the camera's tilt.
_OUT_OF_VIEW = 1.1
_ARRIVE = 0.35  # m: a "go" leg ends this close to its target
_MIN_SEP = 0.55  # m between people, as the random agents


@dataclass
class Leg:
    """One scripted instruction (see module docstring)."""

    kind: str  # go | wait | turn | face
    xz: np.ndarray | None = None
    action: str = "walk"
    frames: int = 0
    angle: float = 0.0


def _point(region: Region, depth: float, lateral: float) -> np.ndarray:
    """The ground point ``depth`` m ahead of the camera and ``lateral`` × the half-width of the view
    at that depth to the side (±1 is the image edge); ``lateral`` beyond ±1 is outside."""
    r = region  # a GroundRegion: origin, fwd, side, tan
    half = depth * r.tan  # type: ignore[attr-defined]
    return r.origin + depth * r.fwd + lateral * half * r.side  # type: ignore[attr-defined]


def _outside(region: Region, depth: float, side: float, extra: float) -> np.ndarray:
    """A ground point ``extra`` m beyond the image edge on ``side`` (±1) at ``depth``."""
    r = region
    half = depth * r.tan  # type: ignore[attr-defined]
    return r.origin + depth * r.fwd + side * (half + extra) * r.side  # type: ignore[attr-defined]


def _depth(rng: np.random.Generator, region: Region) -> float:
    r = region
    return float(r.near + 0.8 + (r.far - r.near - 1.5) * rng.random())  # type: ignore[attr-defined]


def script_people(rng: np.random.Generator, scene: str, n_people: int, region: Region, n_frames: int,
                  fps: float) -> tuple[list[np.ndarray], list[float], list[list[Leg]]]:
    """Start positions (x, z), start headings and leg scripts for ``n_people`` in ``scene``."""
    starts, headings, scripts = [], [], []
    r = region
    for i in range(n_people):
        depth = _depth(rng, region)
        legs: list[Leg] = []
        if scene == "reenter":
            side = float(rng.choice([-1.0, 1.0]))
            start = _point(region, depth, side * rng.uniform(0.0, 0.5))
            t_used = 0.0
            while t_used < n_frames / fps + 10:
                # out, a stay of 0–3.5 s beyond the edge (walking out and back adds 1–2 s), back in
                out = _outside(region, depth, side, _OUT_OF_VIEW)
                stay = float(rng.uniform(0.0, 3.5))
                inside = _point(region, depth, side * rng.uniform(0.1, 0.5))
                legs += [Leg("go", out), Leg("wait", frames=int(round(stay * fps))), Leg("face", inside),
                         Leg("go", inside), Leg("wait", frames=int(round(rng.uniform(0.3, 1.5) * fps)))]
                t_used += stay + 6.0
            heading = float(np.arctan2(*(_outside(region, depth, side, 0.0) - start)))
        elif scene == "crossing":
            # people start on alternating sides at depths within ~1.2 m of each other
            base = r.near + 1.5 + 0.35 * (r.far - r.near)  # type: ignore[attr-defined]
            depth = float(base + rng.uniform(-0.6, 0.6))
            side = 1.0 if i % 2 == 0 else -1.0
            start = _point(region, depth, side * rng.uniform(0.6, 0.85))
            for k in range(40):
                s = -side if k % 2 == 0 else side
                legs.append(Leg("go", _point(region, depth + rng.uniform(-0.3, 0.3), s * rng.uniform(0.6, 0.85))))
                legs.append(Leg("wait", frames=int(round(rng.uniform(0.0, 0.6) * fps))))
            heading = float(np.arctan2(*(_point(region, depth, -side) - start)))
        elif scene == "turn":
            lat = -0.7 + 1.4 * (i + 0.5) / max(1, n_people) + rng.uniform(-0.1, 0.1)
            start = _point(region, depth, lat)
            for _ in range(40):
                legs.append(Leg("wait", frames=int(round(rng.uniform(0.4, 1.5) * fps))))
                legs.append(Leg("turn", angle=float(rng.choice([-1.0, 1.0]) * rng.uniform(0.8, 1.0) * np.pi)))
            # face the camera, side-on or away at the start (uniform heading)
            heading = float(rng.uniform(-np.pi, np.pi))
        elif scene == "run":
            side = float(rng.choice([-1.0, 1.0]))
            start = _point(region, depth, side * rng.uniform(0.5, 0.9))
            for k in range(40):
                s = -side if k % 2 == 0 else side
                legs.append(Leg("go", _point(region, _depth(rng, region), s * rng.uniform(0.5, 0.9)), action="run"))
            heading = float(np.arctan2(*(_point(region, depth, -side) - start)))
        else:
            raise ValueError(f"unknown scripted scene {scene!r}")
        starts.append(start)
        headings.append(heading)
        scripts.append(legs)
    return starts, headings, scripts


def follow_scripts(starts: list[np.ndarray], headings: list[float], scripts: list[list[Leg]], styles: list[Style],
                   shapes: list[BodyShape], n_frames: int, fps: float) -> tuple[list[AgentTracks], list[list[Segment]]]:
    """Steer every person through their legs; (per-person root motion, per-person action plan).

    When a script runs out the person idles to the end.
    """
    p_count, dt = len(scripts), 1.0 / fps
    if p_count == 0:
        return [], []
    pos = np.array(starts, dtype=float).reshape(p_count, 2)
    heading = np.array(headings, dtype=float)
    speed = np.zeros(p_count)
    phase = np.zeros(p_count)
    leg = np.zeros(p_count, dtype=int)
    leg_t = np.zeros(p_count, dtype=int)  # frames spent in the current leg
    turn_target = heading.copy()
    xz = np.zeros((p_count, n_frames, 2))
    head_out = np.zeros((p_count, n_frames))
    speed_out = np.zeros((p_count, n_frames))
    gait_out = np.zeros((p_count, n_frames))
    phase_out = np.zeros((p_count, n_frames))
    action = np.full((p_count, n_frames), "idle", dtype=object)
    param = np.zeros((p_count, n_frames))
    for t in range(n_frames):
        for i in range(p_count):
            legs = scripts[i]
            # advance past finished legs (a face leg finishes at once)
            while leg[i] < len(legs):
                cur = legs[leg[i]]
                done = ((cur.kind == "go" and np.hypot(*(cur.xz - pos[i])) < _ARRIVE)
                        or (cur.kind == "wait" and leg_t[i] >= cur.frames)
                        or (cur.kind == "turn" and leg_t[i] > 0 and abs(wrap_angle(turn_target[i] - heading[i])) < 0.02)
                        or cur.kind == "face")
                if cur.kind == "face":
                    heading[i] = float(np.arctan2(*(cur.xz - pos[i])))
                if not done:
                    break
                leg[i] += 1
                leg_t[i] = 0
                if leg[i] < len(legs) and legs[leg[i]].kind == "turn":
                    turn_target[i] = heading[i] + legs[leg[i]].angle
            cur = legs[leg[i]] if leg[i] < len(legs) else Leg("wait", frames=n_frames)
            st = styles[i]
            if cur.kind == "go":
                target_v = st.walk_speed if cur.action == "walk" else st.run_speed
                desired = float(np.arctan2(*(cur.xz - pos[i])))
                max_turn = np.radians(140 if cur.action == "walk" else 90)
                act, prm = cur.action, 0.0
            elif cur.kind == "turn":
                target_v, desired, max_turn = 0.0, turn_target[i], np.radians(110)
                act, prm = "turn", cur.angle
            else:
                target_v, desired, max_turn = 0.0, heading[i], 0.0
                act, prm = "idle", 0.0
            gait = step_agent(i, heading, speed, pos, phase, target_v, desired, max_turn, shapes[i].leg_length, dt)
            leg_t[i] += 1
            action[i, t], param[i, t] = act, prm
            gait_out[i, t] = gait
        for a in range(p_count):  # keep people apart, as the random agents do
            for b in range(a + 1, p_count):
                d = pos[b] - pos[a]
                dist = float(np.hypot(*d))
                if dist < _MIN_SEP:
                    n = d / dist if dist > 1e-6 else np.array([1.0, 0.0])
                    pos[a] -= n * (_MIN_SEP - dist) / 2
                    pos[b] += n * (_MIN_SEP - dist) / 2
        xz[:, t], head_out[:, t], speed_out[:, t], phase_out[:, t] = pos, heading, speed, phase
    tracks, plans = [], []
    for i in range(p_count):
        plan = _plan_from_actions(action[i], param[i])
        seg_index = np.zeros(n_frames, dtype=int)
        for k, s in enumerate(plan):
            seg_index[s.start:s.end] = k
        plans.append(plan)
        tracks.append(AgentTracks(xz[i], head_out[i], speed_out[i], gait_out[i], phase_out[i], seg_index))
    return tracks, plans


def _plan_from_actions(action: np.ndarray, param: np.ndarray) -> list[Segment]:
    """Runs of equal (action, param) per frame → segments covering every frame."""
    plan: list[Segment] = []
    start = 0
    for t in range(1, len(action) + 1):
        if t == len(action) or action[t] != action[start] or param[t] != param[start]:
            plan.append(Segment(str(action[start]), start, t, float(param[start])))
            start = t
    return plan
