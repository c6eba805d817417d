"""posetool export: the files are read by the official tools of each format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_posetool

SEED = 11


@pytest.fixture(scope="module")
def synth_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "syn"
    res = run_posetool("synth", str(out), "--people", "3", "--frames", "12", "--seed", str(SEED), "--no-render", "-q")
    assert res.returncode == 0, res.stderr
    return out


def export(synth_dir: Path, fmt: str, out: Path, *extra: str) -> Path:
    res = run_posetool("export", str(synth_dir / "gt.jsonl"), "--to", fmt, "-o", str(out), "-q", *extra)
    assert res.returncode == 0, res.stderr
    return out


def test_coco_results_score_perfectly_in_pycocotools(synth_dir: Path, tmp_path: Path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    res = export(synth_dir, "coco", tmp_path / "res.json")
    gt = COCO(str(synth_dir / "gt_coco.json"))
    dt = gt.loadRes(str(res))
    ev = COCOeval(gt, dt, "keypoints")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    assert ev.stats[0] == pytest.approx(1.0)
    assert all("track_id" in r for r in json.loads(res.read_text()))


def test_mot_results_read_by_motmetrics(synth_dir: Path, tmp_path: Path):
    import motmetrics as mm

    res = export(synth_dir, "mot", tmp_path / "res.txt")
    gt = mm.io.loadtxt(str(synth_dir / "gt_mot.txt"), fmt="mot15-2D")
    ts = mm.io.loadtxt(str(res), fmt="mot15-2D")
    assert len(ts) == len(gt)
    np.testing.assert_allclose(ts[["X", "Y", "Width", "Height"]].to_numpy(), gt[["X", "Y", "Width", "Height"]].to_numpy(), atol=0.01)


def test_posetrack18_export_evaluates_to_100(synth_dir: Path, tmp_path: Path):
    seq = f"{SEED:06d}_mpii_synth"
    (tmp_path / "pred").mkdir()
    # poseval pairs prediction and GT files by name
    res = export(synth_dir, "posetrack18", tmp_path / "pred" / "gt_posetrack18.json", "--sequence", seq)
    data = json.loads(res.read_text())
    assert data["images"][0]["id"] == 10_000_000_000 + SEED * 10_000
    out = run_posetool("eval", "track", str(res), "--gt", str(synth_dir / "gt_posetrack18.json"), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["ap"]["total"] == pytest.approx(100.0) and result["mota"]["total"] == pytest.approx(100.0)
    bad = run_posetool("export", str(synth_dir / "gt.jsonl"), "--to", "posetrack18", "--sequence", "myvideo")
    assert bad.returncode == 2 and b"NNNNNN_mpii_name" in bad.stderr


def test_videopose3d_and_csv_exports(synth_dir: Path, tmp_path: Path):
    npz = export(synth_dir, "videopose3d", tmp_path / "data_2d_custom_synth.npz")
    data = np.load(npz, allow_pickle=True)
    meta = data["metadata"].item()
    pos = data["positions_2d"].item()
    assert meta["layout_name"] == "coco" and meta["num_joints"] == 17
    assert meta["keypoints_symmetry"] == [[1, 3, 5, 7, 9, 11, 13, 15], [2, 4, 6, 8, 10, 12, 14, 16]]
    video, seqs = next(iter(pos.items()))
    assert seqs["custom"][0].shape[1:] == (17, 2) and meta["video_metadata"][video] == {"w": 640, "h": 480}
    csv = export(synth_dir, "csv", tmp_path / "poses.csv")
    df = pd.read_csv(csv, header=[0, 1, 2, 3], index_col=0)
    assert df.columns.names == ["scorer", "individuals", "bodyparts", "coords"]
    assert len(df) == 12 and df.columns[0][2:] == ("nose", "x")
