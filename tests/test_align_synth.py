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


def _forward(world) -> np.ndarray:
    """The performer's forward direction on the ground (unit (3,) in world coordinates)."""
    from posetool.synth.body import J

    x = world.joints_world[0, 0]
    left = x[J["left_hip"]] - x[J["right_hip"]]
    fwd = np.cross(left * [1, 0, 1], [0.0, 1.0, 0.0])
    return fwd / np.linalg.norm(fwd)


def test_walk_is_one_gait_cycle_in_place_with_alternating_feet():
    from posetool.synth.body import J

    walk = get_action("walk")
    assert walk.key_names == ["right_heel_strike", "left_toe_off", "right_mid_stance", "left_heel_strike",
                              "right_toe_off", "left_mid_stance", "right_heel_strike_again"]
    np.testing.assert_array_equal(walk.key_phases, [0.0, 0.12, 0.3, 0.5, 0.62, 0.8, 1.0])
    phases = np.array([0.0, 0.119, 0.12, 0.299, 0.3, 0.499, 0.5, 0.619, 0.62, 0.799, 0.8, 1.0, np.nan])
    assert walk.phase_class(phases).tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, -1]
    for seed in (3, 4, 5):
        world = build_take_world(TakeConfig("walk", seed=seed))  # tempo, speed change and view sampled
        phase, x = world.phase[0], world.joints_world[0]
        assert phase[0] == 0.0 and phase[-1] > 0.95 and np.all(np.diff(phase) > 0)  # no pauses in a walk
        assert world.take["pauses"] == [] and [e["name"] for e in world.take["key_events"]] == walk.key_names
        fwd = _forward(world)
        pelvis = x[:, J["pelvis"]]
        assert np.ptp(pelvis[:, 0]) < 0.02 and np.ptp(pelvis[:, 2]) < 0.02  # in place: the root does not travel

        def ahead(p: float) -> float:  # right ankle's lead over the left's along the walking direction, m
            t = int(np.argmin(np.abs(phase - p)))
            return float((x[t, J["right_ankle"]] - x[t, J["left_ankle"]]) @ fwd)

        def lift(p: float) -> float:  # right foot's lowest point over the left's, m
            t = int(np.argmin(np.abs(phase - p)))
            low = [x[t, [J[f"{s}_heel"], J[f"{s}_toe"]], 1].min() for s in ("right", "left")]
            return float(low[0] - low[1])

        # right heel strike: right foot in front; left heel strike: left foot in front
        assert ahead(0.0) > 0.2 and ahead(1.0) > 0.2 and ahead(0.5) < -0.2, seed
        # right stance / left swing, then the other way round
        assert lift(0.25) < -0.005 and lift(0.75) > 0.005, seed
        # the stance foot is the lowest point (on the ground) through single support
        for p in np.linspace(0.16, 0.44, 8):
            assert lift(p) < 0.005 and lift(p + 0.5) > -0.005, (seed, p)


def test_walk_halves_mirror_each_other():
    from posetool.synth.actions import Amplitudes, action_dofs
    from posetool.synth.motion import DOF_NAMES, D, sample_style

    style = sample_style(np.random.default_rng(0), False)
    style.noise_amp[:] = 0.0  # no involuntary motion: the pure key poses
    phase = np.linspace(0.0, 0.5, 51)
    walk = get_action("walk")
    first, _ = action_dofs(walk, phase, phase, style, Amplitudes(depth=0.9, arms=1.0))
    second, _ = action_dofs(walk, phase + 0.5, phase, style, Amplitudes(depth=0.9, arms=1.0))
    for name in DOF_NAMES:
        if name.startswith("l_"):  # the left side half a cycle later does what the right did
            np.testing.assert_allclose(second[:, D[name]], first[:, D["r" + name[1:]]], atol=1e-9, err_msg=name)
            np.testing.assert_allclose(second[:, D["r" + name[1:]]], first[:, D[name]], atol=1e-9, err_msg=name)
    for name in ("lumbar_twist", "neck_twist", "lumbar_lat"):  # midline turns and bends reverse
        np.testing.assert_allclose(second[:, D[name]], -first[:, D[name]], atol=1e-9, err_msg=name)
    np.testing.assert_allclose(second[:, D["root_pitch"]], first[:, D["root_pitch"]], atol=1e-9)
    # the halves differ: the same phase of the two halves is not the same pose
    assert np.abs(second[:, D["r_hip_flex"]] - first[:, D["r_hip_flex"]]).max() > 25
    # phase 1 is phase 0 again, and the cycle runs smoothly through it
    h = 1e-4
    ends, _ = action_dofs(walk, np.array([0.0, h, 1 - h, 1.0]), np.zeros(4), style, Amplitudes())
    np.testing.assert_allclose(ends[0], ends[3], atol=1e-9)
    np.testing.assert_allclose(ends[1] - ends[0], ends[3] - ends[2], atol=2e-3)  # no kink (slopes of ~1e4 deg/phase)


def test_cli_lists_walk(tmp_path):
    from tests.conftest import run_posetool

    help_text = run_posetool("synth", "--help").stdout.decode()
    assert "walk" in help_text.split("--action", 1)[1].split("--tempo", 1)[0]
    bad = run_posetool("synth", str(tmp_path / "x"), "--action", "cartwheel")
    assert bad.returncode == 2 and "squat, jump, lunge, walk" in bad.stderr.decode()


def test_random_movements_are_fixed_per_index_and_differ_between_indices():
    from posetool.synth.actions import random_action

    a, again, b = get_action("random-12"), random_action(12), get_action("random-13")
    assert a is again and a.name == "random-12"
    assert a.key_phases[0] == 0.0 and a.key_phases[-1] == 1.0 and np.all(np.diff(a.key_phases) >= 0.1)
    # the same movement for two performers, a different movement for the same performer
    one = build_take_world(TakeConfig("random-12", seed=1, tempo=1.0, tempo_change=1.0, pauses=(), view=0.0))
    two = build_take_world(TakeConfig("random-12", seed=2, tempo=1.0, tempo_change=1.0, pauses=(), view=0.0))
    other = build_take_world(TakeConfig("random-13", seed=1, tempo=1.0, tempo_change=1.0, pauses=(), view=0.0))
    assert len(one.phase[0]) == len(two.phase[0]) != len(other.phase[0])  # duration is the movement's
    from posetool.synth.motion import LIMITS, DOF_NAMES
    lo, hi = np.array([LIMITS[n][0] for n in DOF_NAMES]), np.array([LIMITS[n][1] for n in DOF_NAMES])
    assert np.all(one.dofs >= lo) and np.all(one.dofs <= hi)
    # every key pose is reached: the joint angles at the key phases move by tens of degrees
    keys = [np.argmin(np.abs(one.phase[0] - p)) for p in a.key_phases]
    assert np.abs(np.diff(one.dofs[0, keys], axis=0)).max() > 20
    for bad in ("random-x", "random--1", "random-"):
        with pytest.raises(UsageError):
            get_action(bad)
