"""The default real chain (MoveNet → BlazePose landmarks → track → lift3d) on real video.

- On the ten hand-labelled vtest frames, `posetool run` poses ≥ 85 % of the considered people
  with ≥ 8 keypoints of confidence ≥ 0.5.
- On Pose2Sim's two-person clip the two people on the force plate keep one track each.
- Without pulled weights, `run` names every pull command at once and writes no output file.
- The BlazePose detector reports both of two people walking side by side (its full-body squares
  are no longer suppressed by the stage's generic box NMS).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from posetool.eval.labelled import pose_coverage
from posetool.stream import StreamReader
from tests.conftest import run_posetool
from tests.real_data import movenet_files, pose2sim_root, read_frames, vtest_video, write_folder  # noqa: F401
from tests.test_blazepose_weights import blazepose_files  # noqa: F401  (session fixture)
from tests.test_movenet_detect import labelled_folder


@pytest.fixture(scope="module")
def weights_home(movenet_files, blazepose_files, tmp_path_factory) -> Path:  # noqa: F811
    """A POSETOOL_HOME holding the three .tflite files (links to the verified copies)."""
    home = tmp_path_factory.mktemp("home")
    for src in (Path(movenet_files["path"]), blazepose_files["dir"] / "pose_detection.tflite",
                blazepose_files["dir"] / "pose_landmark_full.tflite"):
        (home / src.name).symlink_to(src.resolve())
    return home


def _run(home: Path, *args: str, timeout: float = 900):
    env_home = os.environ.get("POSETOOL_HOME")
    os.environ["POSETOOL_HOME"] = str(home)
    try:
        return run_posetool(*args, timeout=timeout)
    finally:
        if env_home is None:
            del os.environ["POSETOOL_HOME"]
        else:
            os.environ["POSETOOL_HOME"] = env_home


def test_real_chain_poses_the_labelled_people(weights_home, vtest_video, tmp_path):  # noqa: F811
    folder, labels = labelled_folder(vtest_video, tmp_path / "frames")
    out = tmp_path / "run.msgpack"
    proc = _run(weights_home, "run", str(folder), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    reader = StreamReader(str(out))
    assert [s["model"] for s in reader.header["stages"]][:2] == ["movenet", "blazepose_full"]
    cover = pose_coverage(list(reader.frames()), labels, min_keypoints=8, min_confidence=0.5)
    assert cover["fraction"] >= 0.85, cover


def test_two_people_keep_one_track_each(weights_home, pose2sim_root, tmp_path):  # noqa: F811
    video = str(pose2sim_root / "Demo_MultiPerson" / "videos" / "cam01.mp4")
    folder = write_folder(read_frames(video, list(range(0, 60, 3))), tmp_path / "clip")  # 1 s at 20 fps
    out = tmp_path / "run.msgpack"
    proc = _run(weights_home, "run", str(folder), "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr.decode()
    ids_of_two = []
    for rec in StreamReader(str(out)).frames():
        # The two people on the force plate are the two tallest boxes (the third stands far back).
        insts = sorted(rec["instances"], key=lambda i: i["bbox"][3] - i["bbox"][1], reverse=True)[:2]
        assert len(insts) == 2 and all(i.get("track_id") is not None for i in insts), rec["frame"]
        assert all(np.asarray(i["keypoints"])[:, 2].mean() > 0.5 for i in insts)
        ids_of_two.append(frozenset(i["track_id"] for i in insts))
    assert len(ids_of_two) == 20
    assert len(set(ids_of_two)) == 1, f"track ids changed: {ids_of_two}"


def test_missing_weights_name_the_pull_command(tmp_path, vtest_video):  # noqa: F811
    folder = write_folder(read_frames(vtest_video, [0]), tmp_path / "frames")
    out = tmp_path / "out.msgpack"
    proc = _run(tmp_path / "empty_home", "run", str(folder), "-o", str(out))
    assert proc.returncode == 1
    # Both real models are missing: one line names both pulls, before any output file is opened.
    assert b"run: posetool weights pull movenet && posetool weights pull blazepose_full" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_blazepose_detector_keeps_two_people_side_by_side(blazepose_files, pose2sim_root, tmp_path):  # noqa: F811
    video = str(pose2sim_root / "Demo_MultiPerson" / "videos" / "cam04.mp4")
    folder = write_folder(read_frames(video, list(range(8, 16))), tmp_path / "clip")
    counts = {}
    for label, extra in (("default", []), ("box nms", ["--nms-thr", "0.5"])):
        out = tmp_path / f"{label}.msgpack"
        proc = run_posetool("detect", str(folder), "--model", "blazepose", "--weights", blazepose_files["detector"],
                            "-o", str(out), "-q", *extra, timeout=300)
        assert proc.returncode == 0, proc.stderr.decode()
        counts[label] = [len(rec["instances"]) for rec in StreamReader(str(out)).frames()]
    assert counts["default"] == [2] * 8, counts
    assert sum(counts["box nms"]) < 16, "the generic box NMS used to drop the second person"
