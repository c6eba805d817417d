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


FORMATS = ["coco", "posetrack18", "mot", "videopose3d", "csv"]


@pytest.fixture
def unplaced_stream(synth_dir: Path, tmp_path: Path) -> Path:
    """The synth GT with nose x missing and left-eye y missing (both confident) in frame 0, person 0."""
    from posetool.stream import read_stream
    from tests.conftest import write_records

    records = read_stream(str(synth_dir / "gt.jsonl"))
    inst = records[1]["instances"][0]
    inst.pop("keypoints_posetrack18", None)  # export maps the stream's coco17 keypoints
    inst["keypoints"][0] = [None, 138.1, 0.83]
    inst["keypoints"][1] = [61.0, None, 0.9]
    return write_records(tmp_path / "unplaced.jsonl", records, "jsonl")


def _first_person(results: list[dict], image_id: int, track_id: int) -> dict:
    return next(r for r in results if r["image_id"] == image_id and r.get("track_id") == track_id)


def test_a_keypoint_missing_a_coordinate_is_exported_absent(unplaced_stream: Path, tmp_path: Path):
    """Issue #19: ``[null, 138.1, 0.83]`` was exported to COCO as a confident point at x = 0."""
    from posetool.stream import read_stream

    tid = read_stream(str(unplaced_stream))[1]["instances"][0]["track_id"]
    out = run_posetool("export", str(unplaced_stream), "--to", "coco", "-o", str(tmp_path / "res.json"), "-q")
    assert out.returncode == 0, out.stderr
    coco = _first_person(json.loads((tmp_path / "res.json").read_text()), 1, tid)
    assert coco["keypoints"][:6] == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0] and coco["keypoints"][8] > 0
    out = run_posetool("export", str(unplaced_stream), "--to", "posetrack18", "-o", str(tmp_path / "pt.json"), "-q")
    assert out.returncode == 0, out.stderr
    pt = json.loads((tmp_path / "pt.json").read_text())
    ann = next(a for a in pt["annotations"] if a["image_id"] == pt["images"][0]["id"] and a["track_id"] == tid)
    # posetrack18 slot 0 is the nose; slot 1 (head_bottom) is made from other points and stays present
    assert ann["keypoints"][:3] == [0.0, 0.0, 0] and ann["scores"][0] == 0.0
    assert sum(v for v in ann["keypoints"][2::3]) >= 14, "one missing input must not blank every mapped joint"
    out = run_posetool("export", str(unplaced_stream), "--to", "csv", "-o", str(tmp_path / "p.csv"), "-q")
    assert out.returncode == 0, out.stderr
    df = pd.read_csv(tmp_path / "p.csv", header=[0, 1, 2, 3], index_col=0)
    row = df.xs(f"track{tid}", axis=1, level="individuals").droplevel("scorer", axis=1).iloc[0]
    assert row["nose"].isna().all() and row["left_eye"].isna().all() and row["right_eye"].notna().all()
    out = run_posetool("export", str(unplaced_stream), "--to", "videopose3d", "-o", str(tmp_path / "v.npz"), "-q")
    assert out.returncode == 0, out.stderr
    pos = np.load(tmp_path / "v.npz", allow_pickle=True)["positions_2d"].item()
    first = pos[next(v for v in pos if v.endswith(f"_track{tid}"))]["custom"][0][0]
    assert np.isnan(first[:2]).all() and np.isfinite(first[2:]).all()


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_output_that_cannot_be_written_is_one_clear_line(synth_dir: Path, tmp_path: Path, fmt: str):
    """Issue #19: ``export -o`` into a missing folder (and onto a full disk) died as an internal error."""
    stream = str(synth_dir / "gt.jsonl")
    missing = tmp_path / "no" / "such" / "out"
    out = run_posetool("export", stream, "--to", fmt, "-o", str(missing))
    err = out.stderr.decode().strip()
    assert out.returncode == 1 and err == f"posetool export: error: {missing}: output folder {missing.parent} does not exist"
    assert not missing.parent.exists()
    if Path("/dev/full").exists():
        full = run_posetool("export", stream, "--to", fmt, "-o", "/dev/full", "-q")
        assert full.returncode == 1
        assert full.stderr.decode().strip() == "posetool export: error: /dev/full: cannot write: No space left on device"


def test_export_refuses_to_overwrite_its_input(synth_dir: Path, tmp_path: Path):
    stream = tmp_path / "s.jsonl"
    stream.write_bytes((synth_dir / "gt.jsonl").read_bytes())
    out = run_posetool("export", str(stream), "--to", "csv", "-o", str(stream))
    assert out.returncode == 2 and b"the output is this command's input" in out.stderr
    assert stream.read_bytes() == (synth_dir / "gt.jsonl").read_bytes()
