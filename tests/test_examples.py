"""examples/*.sh run as a user runs them: on a tiny clip, exit 0, and write what they say (issue #18).

The scripts call ``posetool`` from PATH; here PATH starts with a wrapper that runs this
interpreter's posetool, so the test needs no installed console script. The real-video example
needs the BlazePose weights: they come from the shared ``blazepose_files`` fixture (the posetool
cache, or one download of the mediapipe wheel), so the script finds them and pulls nothing.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from posetool.stream import StreamReader
from tests.conftest import REPO, synth_clip
from tests.real_data import movenet_files  # noqa: F401  (session fixture)
from tests.test_blazepose_weights import blazepose_files  # noqa: F401  (session fixture)

EXAMPLES = REPO / "examples"
SCRIPTS = ("real_video.sh", "piped_cached.sh", "eval_tracker.sh", "train_lift3d.sh", "export_formats.sh")
FRAMES = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synth clip (2 people, 12 frames, 320x240) with its ground truth."""
    return synth_clip(tmp_path_factory.mktemp("examples") / "clip", 2, FRAMES, 320, 240)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment the scripts run in: ``posetool`` on PATH, an 80-column terminal width."""
    bin_dir = tmp_path_factory.mktemp("bin")
    wrapper = bin_dir / "posetool"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m posetool "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", COLUMNS="80", OMP_NUM_THREADS="1")


def run_example(name: str, *args: str, env: dict[str, str], cwd: Path, **extra: str) -> subprocess.CompletedProcess:
    """``bash examples/NAME ARGS`` in ``cwd``; fails the test with the script's stderr if it fails."""
    res = subprocess.run(["bash", str(EXAMPLES / name), *args], cwd=cwd, env=dict(env, **extra), capture_output=True,
                         text=True, timeout=600)
    assert res.returncode == 0, f"{name} exited {res.returncode}:\n{res.stderr[-3000:]}"
    return res


def frames_of(path: Path) -> list[dict]:
    """The frame records of a finished stream (fails on a truncated one)."""
    reader = StreamReader(str(path), strict=True)
    frames = list(reader.frames())
    assert reader.end is not None and reader.end["finished"], path
    return frames


# --- every script --------------------------------------------------------------------------------

def test_every_example_is_tested_and_strict():
    assert sorted(p.name for p in EXAMPLES.glob("*.sh")) == sorted(SCRIPTS)
    for name in SCRIPTS:
        path = EXAMPLES / name
        text = path.read_text()
        assert text.startswith("#!/usr/bin/env bash\n"), name
        assert "\nset -euo pipefail\n" in text, name
        assert f"#   examples/{name}" in text, f"{name}: no usage line"
        assert path.stat().st_mode & stat.S_IXUSR, f"{name} is not executable"


# --- one test per script -------------------------------------------------------------------------

def test_real_video(blazepose_files: dict, movenet_files: dict, clip: Path, env: dict[str, str],  # noqa: F811
                    tmp_path: Path):
    out = tmp_path / "real"
    home = tmp_path / "home"  # the real preset's three .tflite files, already fetched and verified
    home.mkdir()
    for src in (Path(movenet_files["path"]), Path(blazepose_files["detector"]), Path(blazepose_files["landmarks"])):
        (home / src.name).symlink_to(src.resolve())
    res = run_example("real_video.sh", str(clip / "video.mp4"), str(out), env=env, cwd=tmp_path,
                      POSETOOL_HOME=str(home))
    frames = frames_of(out / "poses.msgpack")
    assert [f["frame"] for f in frames] == list(range(FRAMES))
    assert any(inst.get("keypoints_3d") for f in frames for inst in f["instances"])
    assert (out / "overlay.mp4").stat().st_size > 0
    assert "pose stream" in res.stdout  # the inspect summary


def test_piped_cached_runs_each_stage_once(clip: Path, env: dict[str, str], tmp_path: Path):
    out = tmp_path / "piped"
    run_example("piped_cached.sh", str(clip / "video.mp4"), str(out), env=env, cwd=tmp_path)
    tag = "corr_0.5_oks_0.5"
    stages = ["1_boxes", "2_keypoints", "3_correspondences", "4_recovered", f"5_tracks_{tag}", f"6_lifted_{tag}"]
    for stage in stages:
        assert len(frames_of(out / f"{stage}.msgpack")) == FRAMES, stage
    assert not list(out.glob("*.part"))
    lifted = frames_of(out / f"6_lifted_{tag}.msgpack")
    assert any(inst.get("keypoints_3d") for f in lifted for inst in f["instances"])

    again = run_example("piped_cached.sh", str(clip / "video.mp4"), str(out), env=env, cwd=tmp_path)
    assert again.stderr.count("cached: ") == len(stages)

    other = run_example("piped_cached.sh", str(clip / "video.mp4"), str(out), env=env, cwd=tmp_path, SIMILARITY="oks")
    assert other.stderr.count("cached: ") == 4  # detect, pose2d, correspond, recover reused
    assert len(frames_of(out / "6_lifted_oks.msgpack")) == FRAMES


def test_eval_tracker(clip: Path, env: dict[str, str], tmp_path: Path):
    out = tmp_path / "eval"
    res = run_example("eval_tracker.sh", str(clip), str(out), env=env, cwd=tmp_path, SIMILARITIES="oks")
    mot = json.loads((out / "mot_oks.json").read_text())
    assert {"mota", "idf1", "num_switches"} <= set(mot["overall"])
    posetrack = json.loads((out / "posetrack_oks.json").read_text())
    assert posetrack, "empty PoseTrack result"
    assert "MOTA" in res.stdout and "IDF1" in res.stdout  # the tables


def test_train_lift3d(env: dict[str, str], tmp_path: Path):
    out = tmp_path / "train"
    res = run_example("train_lift3d.sh", str(out), env=env, cwd=tmp_path, FRAMES=str(FRAMES))
    assert (out / "run" / "model.safetensors").stat().st_size > 0
    assert len(frames_of(out / "lifted.msgpack")) == FRAMES
    assert "MPJPE" in res.stdout


def test_export_formats(clip: Path, env: dict[str, str], tmp_path: Path):
    out = tmp_path / "export"
    res = run_example("export_formats.sh", str(clip / "gt.jsonl"), str(out), env=env, cwd=tmp_path,
                      COCO_GT=str(clip / "gt_coco.json"))
    for name in ("coco_results.json", "posetrack18.json", "mot.txt", "videopose3d.npz", "keypoints.csv"):
        assert (out / name).stat().st_size > 0, name
    assert json.loads((out / "coco_results.json").read_text())[0]["image_id"] is not None
    assert "COCO keypoints" in res.stdout  # the exported results read back by eval pose
