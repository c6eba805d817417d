"""PoseTrack evaluation on hand-made sequences whose metrics are derived by hand below.

Geometry used throughout: every GT person has a head box of 30 × 40 px (diagonal 50), so the
head size is 0.6 × 50 = 30 px and a joint matches within 0.5 × 30 = 15 px. People stand 200 px
apart, so only a person's own prediction can ever match. A prediction offset by 3 px in x has
normalised distance 3 / 30 = 0.1 on every joint. All 15 PoseTrack joints are annotated, so
every per-joint value equals the total.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from posetool.data.posetrack import read_posetrack
from posetool.eval.posetrack import evaluate_posetrack, prepare_sequence
from tests.conftest import run_posetool

NAMES = ["nose", "head_bottom", "head_top", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
         "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
         "right_ankle"]
CATEGORIES = [{"id": 1, "name": "person", "supercategory": "person", "keypoints": NAMES}]


def body(x0: float) -> np.ndarray:
    """17 posetrack18 keypoints (ears zero = unannotated) of a person whose left edge is at x0."""
    rng = np.random.default_rng(int(x0))
    k = np.zeros((17, 3))
    k[:, 0] = x0 + rng.uniform(0, 60, 17)
    k[:, 1] = rng.uniform(50, 300, 17)
    k[:, 2] = 1
    k[3:5] = 0
    return k


def write_seq(path: Path, frames: list[list[dict]], gt: bool) -> Path:
    """frames[f] = list of {"track_id", "x0", "dx", "score"} people; writes PoseTrack18 JSON."""
    doc = {"images": [], "annotations": [], "categories": CATEGORIES}
    for f, people in enumerate(frames):
        iid = 10000000 + f
        doc["images"].append({"id": iid, "file_name": f"images/val/000001_mpii_test/{f:06d}.jpg", "is_labeled": True})
        for p in people:
            k = body(p["x0"])
            k[:, 0] += p.get("dx", 0.0) * (k[:, 2] > 0)
            ann = {"image_id": iid, "track_id": p["track_id"], "keypoints": k.ravel().tolist()}
            if gt:
                ann["bbox_head"] = [p["x0"], 10.0, 30.0, 40.0]
                ann["scores"] = []
            else:
                ann["scores"] = [p.get("score", 0.9)] * 17
            doc["annotations"].append(ann)
    path.write_text(json.dumps(doc))
    return path


def evaluate(tmp_path: Path, gt_frames: list[list[dict]], pr_frames: list[list[dict]], compat: bool = False):
    (tmp_path / "gt").mkdir(exist_ok=True)
    (tmp_path / "pr").mkdir(exist_ok=True)
    write_seq(tmp_path / "gt" / "seq.json", gt_frames, gt=True)
    write_seq(tmp_path / "pr" / "seq.json", pr_frames, gt=False)
    g, p = read_posetrack(tmp_path / "gt")[0], read_posetrack(tmp_path / "pr")[0]
    return evaluate_posetrack([prepare_sequence("seq", g.frames, p.frames)], compat=compat)


def assert_all(values: np.ndarray, expected: float) -> None:
    assert values.shape == (15,)
    np.testing.assert_allclose(values, expected, rtol=0, atol=1e-9)


def test_one_person_perfect(tmp_path):
    # One person, 3 frames, exact predictions: every joint is a TP and every frame a MATCH.
    gt = [[{"track_id": 1, "x0": 100}]] * 3
    for compat in (False, True):
        r = evaluate(tmp_path, gt, gt, compat)
        assert_all(r.ap, 100.0)
        assert_all(r.mota, 100.0)
        assert_all(r.motp, 100.0)
        assert_all(r.precision, 100.0)
        assert_all(r.recall, 100.0)
    # Default counts: 3 frames × 1 object per joint; compat drops the last frame (2 objects).
    assert_all(evaluate(tmp_path, gt, gt).counts["objects"], 3)
    assert_all(evaluate(tmp_path, gt, gt, True).counts["objects"], 2)


def test_one_swap(tmp_path):
    # GT: A (track 1, x0=100) and B (track 2, x0=300) in 3 frames. Predictions are 3 px off in
    # x (distance 0.1) and their ids swap after frame 0: frame 0 A→10, B→20; frames 1-2 A→20, B→10.
    gt = [[{"track_id": 1, "x0": 100}, {"track_id": 2, "x0": 300}]] * 3
    pr = [[{"track_id": 10, "x0": 100, "dx": 3}, {"track_id": 20, "x0": 300, "dx": 3}]] + [
        [{"track_id": 20, "x0": 100, "dx": 3}, {"track_id": 10, "x0": 300, "dx": 3}]
    ] * 2
    r = evaluate(tmp_path, gt, pr)
    # Per joint: frame 0 two MATCHes; frame 1 the old pairs are out of reach, Hungarian pairs
    # 1↔20 and 2↔10, both against their last match: 2 SWITCHes; frame 2 keeps them: 2 MATCHes.
    # objects 6, misses 0, FP 0, switches 2 → MOTA = 100 (1 − 2/6) = 66.67.
    assert_all(r.counts["switches"], 2)
    assert_all(r.mota, 100 * (1 - 2 / 6))
    # MOTP = 100 (1 − mean D) = 100 (1 − 0.1) = 90; every detection counts: precision = recall = 100.
    assert_all(r.motp, 90.0)
    assert_all(r.precision, 100.0)
    assert_all(r.recall, 100.0)
    assert_all(r.ap, 100.0)  # ids do not matter to AP: every joint is within reach of its GT
    c = evaluate(tmp_path, gt, pr, compat=True)
    # poseval never evaluates the last frame: objects 4, switches 2 → MOTA = 100 (1 − 2/4) = 50.
    assert_all(c.mota, 50.0)
    # poseval's MOTP sums D over motmetrics' whole event table. Frame 0: 2 RAW rows (the finite
    # pairs) + 2 MATCH rows = 4 × 0.1. Frame 1: 2 RAW + 2 SWITCH + 2 TRANSFER rows (hypotheses 20
    # and 10 were last matched to the other object) = 6 × 0.1. ΣD = 1.0 over 4 detections:
    # MOTP = 100 (1 − 1.0/4) = 75 instead of 90.
    assert_all(c.motp, 75.0)
    assert_all(c.ap, 100.0)


def test_one_missing_frame(tmp_path):
    # Two people over 4 frames, exact predictions, but frame 2 has no predictions at all.
    gt = [[{"track_id": 1, "x0": 100}, {"track_id": 2, "x0": 300}]] * 4
    pr = [gt[0], gt[0], [], gt[0]]
    r = evaluate(tmp_path, gt, pr)
    # Default: 8 objects per joint, the 2 in frame 2 are misses: MOTA = 100 (1 − 2/8) = 75,
    # precision 6/6 = 100, recall 6/8 = 75, MOTP 100 (D = 0).
    assert_all(r.mota, 75.0)
    assert_all(r.precision, 100.0)
    assert_all(r.recall, 75.0)
    assert_all(r.motp, 100.0)
    # AP: 6 TPs (same score) over 8 positives: precision 1 up to recall 0.75 → AP = 75.
    assert_all(r.ap, 75.0)
    c = evaluate(tmp_path, gt, pr, compat=True)
    # poseval: frames 0-2 only (last dropped); frame 2 is fed as 1 fake object + 1 fake hypothesis:
    # objects 2 + 2 + 1 = 5, misses 1, FP 1, detections 4 → MOTA = 100 (1 − 2/5) = 60,
    # precision = 4/5 = 80, recall = 4/5 = 80.
    assert_all(c.mota, 60.0)
    assert_all(c.precision, 80.0)
    assert_all(c.recall, 80.0)
    assert_all(c.ap, 75.0)  # AP has no quirks: it uses every labelled frame


def test_ap_ranking_with_a_false_positive(tmp_path):
    # One GT person, one frame; a far-away prediction (score 0.95) outranks the correct one (0.9).
    # Ranked labels: FP, TP → precision [0, 1/2], recall [0, 1]; the envelope gives AP = 1 × 0.5 = 50.
    gt = [[{"track_id": 1, "x0": 100}]]
    pr = [[{"track_id": 1, "x0": 100, "score": 0.9}, {"track_id": 2, "x0": 500, "score": 0.95}]]
    r = evaluate(tmp_path, gt, pr)
    assert_all(r.ap, 50.0)
    assert_all(r.ap_precision, 50.0)
    assert_all(r.ap_recall, 100.0)
    # MOT: 1 match, 1 FP over 1 object: MOTA = 0, precision 50.
    assert_all(r.mota, 0.0)
    assert_all(r.precision, 50.0)


def test_unlabelled_frames_and_ignore_regions(tmp_path):
    # Frame 1 has no GT people: it is skipped entirely (its predictions are not false positives).
    gt = [[{"track_id": 1, "x0": 100}], [], [{"track_id": 1, "x0": 100}]]
    pr = [[{"track_id": 1, "x0": 100}], [{"track_id": 5, "x0": 400}], [{"track_id": 1, "x0": 100}]]
    r = evaluate(tmp_path, gt, pr)
    assert r.frames == 2
    assert_all(r.mota, 100.0)
    assert_all(r.ap, 100.0)
    # An ignore region covering the whole image removes every keypoint of frame 0: GT and
    # prediction vanish there, leaving frame 2 only (still perfect).
    doc = json.loads((tmp_path / "gt" / "seq.json").read_text())
    doc["images"][0]["ignore_regions_x"] = [[0, 1000, 1000, 0]]
    doc["images"][0]["ignore_regions_y"] = [[0, 0, 1000, 1000]]
    (tmp_path / "gt" / "seq.json").write_text(json.dumps(doc))
    g, p = read_posetrack(tmp_path / "gt")[0], read_posetrack(tmp_path / "pr")[0]
    r2 = evaluate_posetrack([prepare_sequence("seq", g.frames, p.frames)])
    assert_all(r2.counts["objects"], 1)
    assert_all(r2.mota, 100.0)


def test_cli_json_table_and_errors(tmp_path):
    gt = [[{"track_id": 1, "x0": 100}, {"track_id": 2, "x0": 300}]] * 3
    pr = [[{"track_id": 10, "x0": 100, "dx": 3}, {"track_id": 20, "x0": 300, "dx": 3}]] + [
        [{"track_id": 20, "x0": 100, "dx": 3}, {"track_id": 10, "x0": 300, "dx": 3}]
    ] * 2
    (tmp_path / "gt").mkdir()
    (tmp_path / "pr").mkdir()
    write_seq(tmp_path / "gt" / "seq.json", gt, gt=True)
    write_seq(tmp_path / "pr" / "seq.json", pr, gt=False)
    out = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"), "--json")
    assert out.returncode == 0, out.stderr.decode()
    data = json.loads(out.stdout)
    assert data["mota"]["total"] == pytest.approx(100 * (1 - 2 / 6))
    assert data["table"]["columns"] == ["Head", "Shou", "Elb", "Wri", "Hip", "Knee", "Ankl", "Total"]
    compat = json.loads(run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"), "--json",
                                     "--poseval-compat").stdout)
    assert compat["motp"]["total"] == pytest.approx(75.0)
    table = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"))
    assert table.returncode == 0 and b"MOTA" in table.stdout and b"Head" in table.stdout
    # Mismatched inputs: a prediction file with one frame fewer.
    write_seq(tmp_path / "pr" / "seq.json", pr[:2], gt=False)
    bad = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"))
    assert bad.returncode == 1
    err = bad.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "2 images" in err and "3" in err
    # Missing head boxes in the GT.
    doc = json.loads((tmp_path / "gt" / "seq.json").read_text())
    for a in doc["annotations"]:
        del a["bbox_head"]
    (tmp_path / "gt" / "seq.json").write_text(json.dumps(doc))
    write_seq(tmp_path / "pr" / "seq.json", pr, gt=False)
    bad = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"))
    assert bad.returncode == 1 and b"head box" in bad.stderr


def test_stream_predictions_match_json(tmp_path):
    """A coco17 stream converted through map_keypoints, and a stream carrying keypoints_posetrack18,
    evaluate exactly like the equivalent PoseTrack JSON."""
    from posetool.skeletons import map_keypoints
    from posetool.stream import StreamWriter, make_end, make_frame, make_header

    gt = [[{"track_id": 1, "x0": 100}, {"track_id": 2, "x0": 300}]] * 3
    write_seq(tmp_path / "gt.json", gt, gt=True)
    stream = tmp_path / "pred.jsonl"
    with StreamWriter(str(stream), "jsonl") as w:
        w.write(make_header({"path": "v.mp4", "frames": 3}, "posetrack18"))
        for f in range(3):
            insts = []
            for tid, x0 in ((7, 100), (8, 300)):
                k = body(x0)
                k[:, 0] += 3
                k[:, 2] = 0.8
                k[3:5] = [0, 0, 0]
                insts.append({"track_id": tid, "keypoints": k.tolist()})
            w.write(make_frame(f, f / 25, insts))
        w.write(make_end(3, 6))
    g = read_posetrack(tmp_path / "gt.json")
    from posetool.eval.posetrack_inputs import load_track_inputs

    pairs = load_track_inputs(str(stream), str(tmp_path / "gt.json"))
    r = evaluate_posetrack([prepare_sequence(n, a, b) for n, a, b in pairs])
    assert_all(r.mota, 100.0)
    assert_all(r.motp, 90.0)
    assert_all(r.ap, 100.0)
    assert len(g[0].frames) == 3
    # coco17 stream: head_bottom/head_top are derived by the mapping; check that the mapping is used.
    coco = np.zeros((17, 3))
    coco[:, :2] = np.arange(34).reshape(17, 2)
    coco[:, 2] = 1
    mapped = map_keypoints(coco, "coco17", "posetrack18")
    from posetool.eval.posetrack_inputs import stream_instances_to_people

    people = stream_instances_to_people([{"track_id": 1, "keypoints": coco.tolist()}], "coco17", ground_truth=False, where="t")
    np.testing.assert_allclose(people[0].keypoints, mapped)
    people = stream_instances_to_people([{"track_id": 1, "keypoints": coco.tolist(), "keypoints_posetrack18": body(0).tolist()}],
                                        "coco17", ground_truth=False, where="t")
    np.testing.assert_allclose(people[0].keypoints[:, :2], body(0)[:, :2])


def test_kp_thr_drops_low_confidence_keypoints_before_ap_and_mota(tmp_path):
    """One GT person over 3 frames, predicted exactly (scores 0.9), plus a far-away false person
    (scores 0.3). Raw: 3 matches and 3 false positives over 3 objects → MOTA 0. With --kp-thr 0.5
    the false person's joints are all dropped → MOTA 100 (AP is 100 both ways: the false person
    ranks below the true one). A per-joint threshold (left_wrist 0.5, others 0) drops only the
    false person's left wrist: left wrist MOTA 100, every other joint 0, and the table's wrist column
    (the mean of both wrists) 50. The stream route equals exporting with the same threshold and
    evaluating the file; --poseval-compat without a threshold is unchanged."""
    from posetool.data.posetrack import drop_low_confidence, parse_kp_thresholds

    gt = [[{"track_id": 1, "x0": 100}]] * 3
    pr = [[{"track_id": 1, "x0": 100, "score": 0.9}, {"track_id": 2, "x0": 500, "score": 0.3}]] * 3
    (tmp_path / "gt").mkdir()
    (tmp_path / "pr").mkdir()
    write_seq(tmp_path / "gt" / "seq.json", gt, gt=True)
    write_seq(tmp_path / "pr" / "seq.json", pr, gt=False)
    g, p = read_posetrack(tmp_path / "gt")[0], read_posetrack(tmp_path / "pr")[0]

    def evaluate_at(text: str, compat: bool = False):
        cut = drop_low_confidence(p.frames, parse_kp_thresholds(text))
        return evaluate_posetrack([prepare_sequence("seq", g.frames, cut)], compat=compat).to_dict()

    raw, wrist = evaluate_at("0"), evaluate_at("left_wrist=0.5")
    assert raw["mota"]["total"] == pytest.approx(0.0) and raw["ap"]["total"] == pytest.approx(100.0)
    assert wrist["mota"]["left_wrist"] == pytest.approx(100.0) and wrist["mota"]["right_wrist"] == pytest.approx(0.0)
    wri = wrist["table"]["columns"].index("Wri")
    assert wrist["table"]["mota"][wri] == pytest.approx(50.0) and wrist["mota"]["nose"] == pytest.approx(0.0)
    assert evaluate_at("0", compat=True) == evaluate_posetrack([prepare_sequence("seq", g.frames, p.frames)],
                                                               compat=True).to_dict()
    with pytest.raises(ValueError, match="unknown joint 'elbow'"):
        parse_kp_thresholds("elbow=0.5")
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        parse_kp_thresholds("1.5")
    assert parse_kp_thresholds("0.4,head_top=0.2")[[0, 2]].tolist() == [0.4, 0.2]

    out = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"), "--json", "--kp-thr", "0.5")
    assert out.returncode == 0, out.stderr.decode()
    cut = json.loads(out.stdout)
    assert cut["mota"]["total"] == pytest.approx(100.0) and cut["ap"]["total"] == pytest.approx(100.0)
    assert cut["kp_thr"] == {name: 0.5 for name in NAMES}
    bad = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"), "--kp-thr", "elbow=0.5")
    assert bad.returncode == 2 and b"--kp-thr" in bad.stderr and b"elbow" in bad.stderr

    # stream predictions: --kp-thr on the stream equals eval of `export --to posetrack18 --kp-thr`
    from posetool.stream import StreamWriter, make_end, make_frame, make_header

    stream = tmp_path / "pred.jsonl"
    with StreamWriter(str(stream), "jsonl") as w:
        w.write(make_header({"path": "v.mp4", "frames": 3}, "posetrack18"))
        for f in range(3):
            insts = []
            for tid, x0, score in ((1, 100, 0.9), (2, 500, 0.3)):
                k = body(x0)
                k[:, 2] = score
                k[3:5] = 0
                insts.append({"track_id": tid, "keypoints": k.tolist()})
            w.write(make_frame(f, f / 25, insts))
        w.write(make_end(3, 6))
    gt_file = tmp_path / "gt" / "seq.json"
    (tmp_path / "exported").mkdir()
    exported = tmp_path / "exported" / "seq.json"  # poseval pairs sequences by file name
    res = run_posetool("export", str(stream), "--to", "posetrack18", "--sequence", "000001_mpii_test",
                       "--kp-thr", "0.5", "-o", str(exported))
    assert res.returncode == 0, res.stderr.decode()
    direct = run_posetool("eval", "track", str(stream), "--gt", str(gt_file), "--json", "--kp-thr", "0.5")
    assert direct.returncode == 0, direct.stderr.decode()
    from posetool.eval.posetrack_inputs import load_track_inputs

    (name, gframes, pframes), = load_track_inputs(str(exported), str(gt_file))
    via_file = evaluate_posetrack([prepare_sequence(name, gframes, pframes)]).to_dict()
    d = json.loads(direct.stdout)
    assert d["mota"] == via_file["mota"] and d["ap"] == via_file["ap"] and d["mota"]["total"] == pytest.approx(100.0)


def test_sweep_kp_thr_names_the_best_mota_threshold(tmp_path):
    """Two GT people over 3 frames: one predicted with scores 0.9, one with 0.45, and a false person
    at 0.3. Thresholds 0 / 0.4 / 0.5 keep 3 / 2 / 1 people per frame: MOTA 50 (3 false positives
    over 6 objects) / 100 / 50 (3 misses), so the sweep names 0.4; a tie goes to the lower value.
    The CLI prints the same rows, and refuses --kp-thr beside --sweep-kp-thr."""
    from posetool.eval.kp_sweep import best_kp_threshold, parse_threshold_grid, sweep_kp_thresholds

    gt = [[{"track_id": 1, "x0": 100}, {"track_id": 2, "x0": 300}]] * 3
    pr = [[{"track_id": 1, "x0": 100, "score": 0.9}, {"track_id": 2, "x0": 300, "score": 0.45},
           {"track_id": 3, "x0": 500, "score": 0.3}]] * 3
    (tmp_path / "gt").mkdir()
    (tmp_path / "pr").mkdir()
    write_seq(tmp_path / "gt" / "seq.json", gt, gt=True)
    write_seq(tmp_path / "pr" / "seq.json", pr, gt=False)
    g, p = read_posetrack(tmp_path / "gt")[0], read_posetrack(tmp_path / "pr")[0]
    rows = sweep_kp_thresholds([("seq", g.frames, p.frames)], [0.0, 0.4, 0.5])
    assert [round(r.mota, 9) for r in rows] == [50.0, 100.0, 50.0]
    assert [round(r.recall, 9) for r in rows] == [100.0, 100.0, 50.0]
    assert best_kp_threshold(rows) == 0.4
    assert best_kp_threshold(sweep_kp_thresholds([("seq", g.frames, p.frames)], [0.42, 0.35])) == 0.35
    assert parse_threshold_grid("0:0.9:0.1")[3] == 0.3 and len(parse_threshold_grid("0:0.9:0.1")) == 10
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        parse_threshold_grid("0,1.0")

    out = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"), "--json",
                       "--sweep-kp-thr", "0,0.4,0.5")
    assert out.returncode == 0, out.stderr.decode()
    d = json.loads(out.stdout)
    assert d["best_kp_thr"] == 0.4 and [r["mota"] for r in d["sweep"]] == pytest.approx([50.0, 100.0, 50.0])
    both = run_posetool("eval", "track", str(tmp_path / "pr"), "--gt", str(tmp_path / "gt"),
                        "--sweep-kp-thr", "0,0.4", "--kp-thr", "0.5")
    assert both.returncode == 2 and b"--sweep-kp-thr" in both.stderr and b"Traceback" not in both.stderr
