"""`posetool detect --model movenet` on the hand-labelled vtest frames (tests/data/vtest_boxes.txt).

The ten labelled frames are written as an image folder (the video itself stays in the cache), the
CLI runs on it with its defaults, and the boxes are scored against our own labels: precision and
recall at IoU 0.5 over the people labelled as considered (docs/movenet.md has the figures for
every input size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from posetool.eval.labelled import LabelledFrames, box_scores
from posetool.stream import StreamReader
from tests.conftest import REPO, run_posetool
from tests.real_data import movenet_files, read_frames, vtest_video, write_folder  # noqa: F401

LABELS = REPO / "tests" / "data" / "vtest_boxes.txt"


def labelled_folder(video: str, folder: Path) -> tuple[Path, LabelledFrames]:
    """The labelled frames as ``folder/000.png``… and the labels renumbered to the folder's frames."""
    labels = LabelledFrames.read(str(LABELS))
    write_folder(read_frames(video, labels.frames), folder)
    renumber = {f: i for i, f in enumerate(labels.frames)}
    return folder, LabelledFrames({renumber[f]: b for f, b in labels.boxes.items()},
                                  {renumber[f]: c for f, c in labels.consider.items()})


@pytest.fixture(scope="module")
def detections(vtest_video, movenet_files, tmp_path_factory):  # noqa: F811
    tmp = tmp_path_factory.mktemp("movenet_detect")
    folder, labels = labelled_folder(vtest_video, tmp / "frames")
    out = tmp / "det.msgpack"
    proc = run_posetool("detect", str(folder), "--model", "movenet", "--weights", movenet_files["path"],
                        "-o", str(out), "-q", timeout=600)
    assert proc.returncode == 0, proc.stderr.decode()
    return out, labels


def test_labels_cover_ten_frames_spread_over_the_video():
    labels = LabelledFrames.read(str(LABELS))
    assert labels.frames == list(range(0, 800, 80))
    assert sum(len(b) for b in labels.boxes.values()) == 58
    assert sum(int(c.sum()) for c in labels.consider.values()) == 55


def test_boxes_reach_the_recall_and_precision_targets(detections):
    path, labels = detections
    records = list(StreamReader(str(path)).frames())
    scores = box_scores(records, labels, iou_thr=0.5)
    assert scores["recall"] >= 0.85, scores
    assert scores["precision"] >= 0.85, scores


def test_stream_carries_keypoints_and_provenance(detections):
    reader = StreamReader(str(detections[0]))
    header = reader.header
    assert header["skeleton"] == "coco17"
    stage = header["stages"][-1]
    assert stage["model"] == "movenet" and stage["params"]["input_size"] == 512
    insts = [i for rec in reader.frames() for i in rec["instances"]]
    assert insts and all(np.asarray(i["keypoints"]).shape == (17, 3) for i in insts)
    for inst in insts:  # keypoints lie in (or at the edge of) their box
        k = np.asarray(inst["keypoints"])[:, :2]
        x1, y1, x2, y2 = inst["bbox"]
        inside = (k[:, 0] >= x1 - 20) & (k[:, 0] <= x2 + 20) & (k[:, 1] >= y1 - 20) & (k[:, 1] <= y2 + 20)
        assert inside.mean() > 0.8


def test_input_size_is_refused_for_other_detectors(tmp_path):
    write_folder([np.zeros((64, 64, 3), np.uint8)], tmp_path / "frames")
    proc = run_posetool("detect", str(tmp_path / "frames"), "--model", "hog", "--input-size", "256", "-o", str(tmp_path / "x"))
    assert proc.returncode == 2
    assert b"--input-size applies to movenet" in proc.stderr
    assert not (tmp_path / "x").exists()
