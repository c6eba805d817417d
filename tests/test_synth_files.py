"""posetool synth: every ground-truth file loads in its own ecosystem; runs are reproducible."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from posetool.stream import StreamReader
from posetool.synth import FILES, SynthConfig, generate
from tests.conftest import run_posetool
from posetool.synth.render import Renderer
from posetool.video.sources import open_video

CFG = SynthConfig(people=4, frames=16, width=320, height=240, seed=5)
GT_FILES = ("stream", "coco", "posetrack18", "mot", "videopose3d", "params")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return generate(str(tmp_path_factory.mktemp("synth_video")), CFG)


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def test_outdir_layout_and_stream_header(rendered):
    names = sorted(os.listdir(rendered.outdir))
    assert names == sorted(FILES[k] for k in ("video", *GT_FILES))
    header = StreamReader(rendered.paths["stream"]).header
    assert header["source"]["path"] == rendered.paths["video"]
    assert header["skeleton"] == "coco17" and header["skeleton_3d"] == "h36m17"
    assert {"fx", "fy", "cx", "cy", "width", "height"} <= set(header["camera"])
    assert header["stages"][0]["stage"] == "synth" and header["stages"][0]["params"]["seed"] == CFG.seed


def test_video_holds_the_rendered_frames(rendered):
    src = open_video(rendered.paths["video"])
    assert (src.width, src.height) == (CFG.width, CFG.height)
    frames = [f.image for f in src]
    assert len(frames) == CFG.frames
    ref = Renderer(rendered.sequence).render(0)  # deterministic: the same frame again
    mse = float(((frames[0].astype(float) - ref.astype(float)) ** 2).mean())
    assert 10 * np.log10(255 ** 2 / max(mse, 1e-9)) > 24  # lossy mp4, same picture


def test_coco_file_loads_and_scores_itself_perfectly(rendered):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    coco = COCO(rendered.paths["coco"])
    assert coco.loadCats(1)[0]["keypoints"][0] == "nose"
    img = coco.loadImgs(1)[0]
    assert img["file_name"] == "000000.jpg" and img["frame_index"] == 0
    anns = coco.loadAnns(coco.getAnnIds())
    assert anns and all(a["num_keypoints"] == sum(v > 0 for v in a["keypoints"][2::3]) for a in anns)
    for a in anns:  # unlabelled points are 0, 0, 0
        k = np.array(a["keypoints"]).reshape(17, 3)
        assert np.all(k[k[:, 2] == 0, :2] == 0)
        assert a["area"] > 0 or a["num_keypoints"] == 0
    dets = [{"image_id": a["image_id"], "category_id": 1, "keypoints": a["keypoints"], "score": 1.0} for a in anns
            if a["num_keypoints"] > 0]
    ev = COCOeval(coco, coco.loadRes(dets), "keypoints")
    ev.params.useSegm = None
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)


def test_mot_file_loads_in_motmetrics(rendered):
    import motmetrics as mm

    gt = mm.io.loadtxt(rendered.paths["mot"], fmt="mot15-2D")
    frames = list(StreamReader(rendered.paths["stream"]).frames())
    assert len(gt) == sum(len(f["instances"]) for f in frames)
    inst = frames[0]["instances"][0]
    row = gt.loc[(1, inst["track_id"])]
    assert row["X"] == pytest.approx(inst["bbox"][0], abs=0.01)  # loadtxt undoes the 1-based pixels
    assert row["Width"] == pytest.approx(inst["bbox"][2] - inst["bbox"][0], abs=0.01)
    assert gt["Visibility"].between(0, 1).all()
    # motmetrics' own iou_matrix needs np.asfarray (gone in NumPy 2); 1 - IoU is computed here.
    acc = mm.MOTAccumulator(auto_id=True)
    for _, rows in gt.groupby(level=0):
        b = rows[["X", "Y", "Width", "Height"]].to_numpy()
        lo, hi = np.maximum(b[:, None, :2], b[None, :, :2]), np.minimum((b[:, :2] + b[:, 2:])[:, None], (b[:, :2] + b[:, 2:])[None])
        inter = np.prod(np.clip(hi - lo, 0, None), -1)
        area = b[:, 2] * b[:, 3]
        dist = 1 - inter / (area[:, None] + area[None] - inter)
        ids = rows.index.get_level_values(1).tolist()
        acc.update(ids, ids, np.where(dist <= 0.5, dist, np.nan))
    summary = mm.metrics.create().compute(acc, metrics=["mota", "num_switches"])
    assert summary["mota"].iloc[0] == pytest.approx(1.0) and summary["num_switches"].iloc[0] == 0


def test_posetrack18_file_follows_poseval_rules(rendered):
    data = json.loads(_read(rendered.paths["posetrack18"]))
    cat = data["categories"]
    assert len(cat) == 1 and cat[0]["name"] == "person"
    for name in ("right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
                 "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "head_bottom", "nose",
                 "head_top"):
        assert name in cat[0]["keypoints"]
    assert cat[0]["keypoints"][1:3] == ["head_bottom", "head_top"]
    images = data["images"]
    assert len(images) == CFG.frames and all(im["nframes"] == CFG.frames for im in images)
    by_id = {}
    for k, im in enumerate(images):
        # poseval's posetrack18_fname2id: folder "NNNNNN_{mpii|bonn|mpiinew}_...", frame from the file name.
        folder = os.path.basename(os.path.dirname(im["file_name"]))
        seq, kind = folder.split("_")[:2]
        frame = int(os.path.basename(im["file_name"]).split(".")[0])
        assert frame == k and im["id"] == im["frame_id"]
        assert im["id"] == {"mpii": 1, "bonn": 2, "mpiinew": 3}[kind] * 10_000_000_000 + int(seq) * 10_000 + frame
        assert im["vid_id"] == seq
        by_id[im["id"]] = []
    for a in data["annotations"]:
        by_id[a["image_id"]].append(a["track_id"])
        k = np.array(a["keypoints"]).reshape(17, 3)
        assert np.all(k[3:5] == 0)  # ears are unused placeholders
        assert len(a["bbox_head"]) == 4 and a["bbox_head"][2] > 0 and a["bbox_head"][3] > 0
        assert 0 <= a["track_id"] < 10_000
    assert all(len(ids) == len(set(ids)) for ids in by_id.values())
    assert sum(map(len, by_id.values())) > 0


def test_same_seed_same_bytes_and_different_seeds_differ(rendered, tmp_path):
    again = generate(str(tmp_path / "again"), CFG, render=False)
    for kind in GT_FILES:
        a, b = _read(rendered.paths[kind]), _read(again.paths[kind])
        if kind == "stream":  # only the header's video path differs (no video without rendering)
            a, b = a.split(b"\n", 1)[1], b.split(b"\n", 1)[1]
        if kind == "params":
            continue  # names the files, which differ (no video)
        assert a == b, kind
    third = generate(str(tmp_path / "third"), CFG, render=False)
    assert all(_read(again.paths[k]) == _read(third.paths[k]) for k in GT_FILES)
    other = generate(str(tmp_path / "other"), SynthConfig(**{**CFG.to_dict(), "seed": CFG.seed + 1}), render=False)
    for kind in ("stream", "coco", "mot", "videopose3d"):
        assert _read(other.paths[kind]) != _read(again.paths[kind]), kind
    cam_a = json.loads(_read(again.paths["params"]))["camera"]
    cam_b = json.loads(_read(other.paths["params"]))["camera"]
    assert cam_a != cam_b
    bg_a = Renderer(again.sequence).background
    bg_b = Renderer(other.sequence).background
    assert np.abs(bg_a.astype(int) - bg_b.astype(int)).mean() > 5


def test_image_folder_names_match_coco(tmp_path):
    cfg = SynthConfig(people=1, frames=3, width=96, height=64, seed=2)
    res = generate(str(tmp_path), cfg, image_folder=True)
    assert sorted(os.listdir(res.paths["images"])) == ["000000.jpg", "000001.jpg", "000002.jpg"]
    coco = json.loads(_read(res.paths["coco"]))
    assert [im["file_name"] for im in coco["images"]] == ["000000.jpg", "000001.jpg", "000002.jpg"]
    assert cv2.imread(os.path.join(res.paths["images"], "000001.jpg")).shape == (64, 96, 3)


def test_cli_writes_ground_truth_and_rejects_bad_options(tmp_path):
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "posetool", "synth", str(out), "--people", "2", "--frames", "5", "--seed", "3",
           "--no-render", "--quiet", "--camera", "fov=60,height=1.5,pitch=8"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert sorted(os.listdir(out)) == sorted(FILES[k] for k in GT_FILES)
    cam = StreamReader(str(out / "gt.jsonl")).header["camera"]
    assert cam["fx"] == pytest.approx(320 / np.tan(np.radians(30)), abs=0.006)  # default width 640, fov 60°
    assert cam["height_m"] == 1.5 and cam["pitch_deg"] == 8
    bad = subprocess.run([sys.executable, "-m", "posetool", "synth", str(tmp_path / "x"), "--motion", "fly"],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("posetool synth: error: --motion")


def test_empty_world_writes_frames_without_people(tmp_path):
    """--people 0 is allowed (an empty scene, e.g. for false-positive checks): every frame, no instances."""
    out = tmp_path / "empty"
    subprocess.run([sys.executable, "-m", "posetool", "synth", str(out), "--people", "0", "--frames", "3",
                    "--no-render", "-q"], check=True)
    with open(out / "gt.jsonl", "rb") as fh:
        frames = list(StreamReader(fh).frames())
    assert [f["frame"] for f in frames] == [0, 1, 2]
    assert all(f["instances"] == [] for f in frames)


def test_people_come_into_view_and_a_world_that_hides_someone_warns(tmp_path):
    """Seed 4242 (3 people, 60 frames) once had all three outside the frame (two slivers at the
    edge); now everyone who starts outside walks in or starts just inside. A world where someone
    still never shows (seed 111: person 3 walks away out of view) is named on stderr with the count."""
    from posetool.synth import simulate

    seq = simulate(SynthConfig(seed=4242, people=3, frames=60))
    assert seq.present.any(axis=1).all() and seq.present.sum() >= 150
    res = run_posetool("synth", str(tmp_path / "s"), "--seed", "111", "--people", "3", "--frames", "60", "--no-render")
    assert res.returncode == 0
    assert b"1 of 3 people never come into view (track id(s) 3); 120 of 180 person-frames" in res.stderr, res.stderr
