"""Synth takes: the phase schedule follows tempo, tempo change and pauses; views and bodies vary."""

from __future__ import annotations

import numpy as np
import pytest

from posetool.errors import UsageError
from posetool.synth.actions import ACTIONS, get_action
from posetool.synth.takes import TakeConfig, Timing, build_take_world, phase_schedule


def test_phase_schedule_tempo_and_pauses():
    fps = 25.0
    plain, t = phase_schedule(Timing(2.0, 1.0, 0.0, 0.0, (), 0.0), fps)
    assert len(plain) == 51 and plain[0] == 0.0 and plain[-1] == 1.0
    np.testing.assert_allclose(plain, t / 2.0, atol=1e-9)  # constant speed: phase = time / duration
    # twice the speed at the end as at the start: the first half of the phase takes longer
    ramp, t = phase_schedule(Timing(2.0, 2.0, 0.0, 0.0, (), 0.0), fps)
    assert len(ramp) == 51 and np.interp(1.0, t, ramp) < 0.45
    held, t = phase_schedule(Timing(2.0, 1.0, 0.0, 0.0, ((0.5, 0.8), (0.25, 0.4)), 0.5), fps)
    assert len(held) == int(round((2.0 + 0.8 + 0.4 + 1.0) * fps)) + 1
    assert np.all(np.diff(held) >= 0)
    assert np.sum(np.isclose(held, 0.5)) == pytest.approx(0.8 * fps, abs=1.5)
    assert np.sum(np.isclose(held, 0.25)) == pytest.approx(0.4 * fps, abs=1.5)
    assert np.sum(held == 0.0) == pytest.approx(0.5 * fps, abs=1.5)  # lead-in: still before the movement


def test_takes_vary_bodies_speed_and_view():
    a = build_take_world(TakeConfig("squat", seed=1, tempo=1.0, tempo_change=1.0, pauses=(), view=0.0))
    fast = build_take_world(TakeConfig("squat", seed=1, tempo=2.0, tempo_change=1.0, pauses=(), view=0.0))
    side = build_take_world(TakeConfig("squat", seed=1, tempo=1.0, tempo_change=1.0, pauses=(), view=90.0))
    other = build_take_world(TakeConfig("squat", seed=2, tempo=1.0, tempo_change=1.0, pauses=(), view=0.0))
    assert abs(len(fast.phase[0]) - (len(a.phase[0]) - 1) / 2 - 1) <= 1
    # the same performer from the front and from the side: same 3D body, different camera
    np.testing.assert_allclose(a.joints_world, side.joints_world)
    assert not np.allclose(a.camera.R, side.camera.R)
    assert a.people[0].shape.height != other.people[0].shape.height
    # facing the camera: the performer's left shoulder is on the image's right (x larger)
    jc = a.joints_cam[0, 0]
    from posetool.synth.body import J
    assert jc[J["left_shoulder"], 0] > jc[J["right_shoulder"], 0]


def test_actions_have_their_key_poses_and_distinct_halves():
    for name, action in ACTIONS.items():
        assert action.key_phases[0] == 0.0 and action.key_phases[-1] == 1.0
        cls = action.phase_class(np.array([0.0, *action.key_phases[1:-1] + 1e-6, 1.0]))
        assert cls.tolist() == list(range(action.num_classes)) + [action.num_classes - 1], name
    world = build_take_world(TakeConfig("squat", seed=3, tempo=1.0, tempo_change=1.0, pauses=(), view=30.0))
    phase, dofs = world.phase[0], world.dofs[0]
    from posetool.synth.motion import D
    down, up = np.argmin(np.abs(phase - 0.3)), np.argmin(np.abs(phase - 0.7))
    # half-way down and half-way up bend the knees alike but hold the arms differently
    assert abs(dofs[down, D["l_sh_flex"]] - dofs[up, D["l_sh_flex"]]) > 20
    with pytest.raises(UsageError):
        get_action("cartwheel")
    with pytest.raises(UsageError):
        TakeConfig("squat", tempo=10).validate()
